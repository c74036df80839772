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
    source = render_html(mixed_verdict(with_error=True))
    page = _parse(source)
    tag_names = [t for t, _ in page.tags]
    assert "link" not in tag_names and "img" not in tag_names and "iframe" not in tag_names
    assert "style" in tag_names and tag_names.count("script") == 1  # one inline script: the filter
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        if "href" in attrs:
            assert attrs["href"].startswith("https://"), attrs["href"]
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "connect-src" not in csp  # no request can leave the page


def test_hostile_text_is_shown_as_text():
    source = render_html(mixed_verdict())
    assert "<script>alert(1)" not in source and "<b>temporarily</b>" not in source
    page = _parse(source)
    text = "".join(page.text)
    assert HOSTILE_MESSAGE in text  # readable, exactly as the policy said it
    assert "debug pod needs host PID | <b>temporarily</b>" in text
    texts = [a.get("data-text", "") for t, a in page.tags if t == "article"]
    assert any('<script>alert(1)</script>' in value for value in texts)  # an attribute value, escaped in the source


def test_javascript_help_uri_is_not_a_link():
    evil = finding(help_uri="javascript:alert(document.cookie)")
    page = render_html(Verdict(gates=[GateResult("manifest", [evil], 1)], fail_on=Severity.HIGH))
    assert "javascript:" not in page


def test_findings_grouped_by_service_and_environment_with_help_links():
    page = _parse(render_html(mixed_verdict()))
    groups = [(a["data-service"], a["data-environment"]) for t, a in page.tags if t == "section" and "data-group" in a]
    assert groups == [("plain", "prod"), ("service-b", "prod")]
    cards = [a for t, a in page.tags if t == "article"]
    blocking_cards = [a for a in cards if a["data-blocking"] == "true"]
    # in the blocking zone and in their group: critical K8S-001, high K8S-002, high K8S-004 (expired waiver)
    assert sorted(a["data-rule"] for a in blocking_cards) == sorted(["CDG-K8S-001", "CDG-K8S-002", "CDG-K8S-004"] * 2)
    hrefs = [a.get("href") for t, a in page.tags if t == "a"]
    assert "https://cdgate.example/rules/CDG-K8S-002" in hrefs
    options = [a.get("value") for t, a in page.tags if t == "option"]
    assert {"critical", "high", "medium", "low", "info", "manifest", "service-b", "prod", "CDG-K8S-010"} <= set(options)


def test_summary_shows_verdict_and_waivers_with_days_left():
    import datetime as dt

    source = render_html(mixed_verdict(), today=dt.date(2099, 1, 21))
    text = "".join(_parse(source).text)
    assert 'class="status failed"' in source
    assert "exit code 1" in text
    assert "Waivers (2)" in text and "platform-team" in text and "net-team" in text
    assert "10 day(s) left" in text  # 2099-01-31, flagged as expiring soon
    assert "expired 28875 day(s) ago" in text
    assert '<tr class="expired">' in source and '<tr class="expiring">' in source
    assert "skipped: no registry configured" in text


def test_findings_the_change_fixed_are_listed():
    from dataclasses import replace

    from scanner.merge.run import MergeVerdict

    base = mixed_verdict()
    gone = replace(finding("CDG-K8S-070", Severity.CRITICAL, "Secret committed in plain text"), properties={"cdgate/baselineState": "absent"})
    verdict = MergeVerdict(gates=base.gates, fail_on=base.fail_on, absent=[gone])
    text = "".join(_parse(render_html(verdict)).text)
    assert "Fixed by this change (1)" in text and "Secret committed in plain text" in text
    assert "Fixed by this change" not in render_html(base)
