"""HTML: one self-contained page, everything escaped, findings grouped by severity."""

from __future__ import annotations

from html.parser import HTMLParser

from report_verdicts import HOSTILE_MESSAGE, finding, mixed_verdict

from scanner.findings import GateResult, Severity, Verdict
from scanner.report.html import render_html


class _Collector(HTMLParser):
    """Records tags, attributes and text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_h2:
            self.headings.append(data)


def _parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    collector.close()
    return collector


def test_page_is_self_contained():
    page = _parse(render_html(mixed_verdict(with_error=True)))
    tag_names = {t for t, _ in page.tags}
    assert "script" not in tag_names and "link" not in tag_names and "img" not in tag_names
    assert "style" in tag_names
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        if "href" in attrs:
            assert attrs["href"].startswith("https://"), attrs["href"]
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)


def test_hostile_text_is_shown_as_text():
    source = render_html(mixed_verdict())
    assert "<script>" not in source and "<b>temporarily</b>" not in source
    page = _parse(source)
    text = "".join(page.text)
    assert HOSTILE_MESSAGE in text  # readable, exactly as the policy said it
    assert "debug pod needs host PID | <b>temporarily</b>" in text


def test_javascript_help_uri_is_not_a_link():
    evil = finding(help_uri="javascript:alert(document.cookie)")
    page = render_html(Verdict(gates=[GateResult("manifest", [evil], 1)], fail_on=Severity.HIGH))
    assert "javascript:" not in page


def test_findings_grouped_by_severity_with_help_links():
    page = _parse(render_html(mixed_verdict()))
    severity_headings = [h for h in page.headings if h.split(" ")[0] in {"Critical", "High", "Medium", "Low", "Info"}]
    assert severity_headings == ["Critical (1)", "High (2)", "Medium (2)", "Low (1)", "Info (1)"]
    hrefs = [a.get("href") for t, a in page.tags if t == "a"]
    assert "https://cdgate.example/rules/CDG-K8S-002" in hrefs


def test_summary_shows_verdict_and_waivers():
    source = render_html(mixed_verdict())
    text = "".join(_parse(source).text)
    assert 'class="status failed"' in source
    assert "exit code 1" in text
    assert "Waivers (2)" in text and "platform-team" in text and "net-team" in text
    assert "skipped: no registry configured" in text
