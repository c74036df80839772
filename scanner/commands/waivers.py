"""`cdgate waivers list`: every waiver with its owner, days left and what it matched."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import click

from scanner.commands._common import fail_closed


@click.group("waivers")
def waivers() -> None:
    """Review the waivers in gate.yaml."""


@waivers.command("list")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=str))
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False, path_type=Path), help="gate.yaml (default: the one in the single PATH).")
@click.option("--env", "environment", metavar="ENV", help="Environment to check PATH for.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Count days left from this date (default: today).")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"], case_sensitive=False), default="text", show_default=True)
@fail_closed
def list_waivers(
    paths: tuple[str, ...], profile_path: Path | None, environment: str | None, today: datetime.datetime | None, fmt: str
) -> None:
    """List the waivers: owner, expiry, days left and, when PATH is given, the findings each one matched.

    With PATH, the gate runs (as `cdgate check` would) so each waiver shows
    the resources it accepted in this run; a waiver that matched nothing says so.
    """
    from scanner.errors import ConfigError
    from scanner.profile import find_profile, load_profile

    profile_file = profile_path or find_profile(list(paths))
    if profile_file is None:
        raise ConfigError("no gate.yaml to read waivers from", hint="pass --profile gate.yaml or a directory holding one")
    profile = load_profile(profile_file)
    day = today.date() if today else datetime.date.today()
    matched: dict[int, list[str]] | None = None
    if paths:
        matched = _matched(paths, profile, environment, day)
    rows = [_row(i, w, day, matched) for i, w in enumerate(profile.waivers)]
    if fmt.lower() == "json":
        click.echo(json.dumps({"profile": str(profile_file), "max_days": profile.waiver_max_days, "waivers": rows}, indent=2))
        return
    if not rows:
        click.echo(f"{profile_file}: no waivers")
        return
    click.echo(f"{profile_file}: {len(rows)} waiver(s), at most {profile.waiver_max_days} days each")
    for row in rows:
        days = row["days_left"]
        left = f"expired {-days} day(s) ago" if days < 0 else f"{days} day(s) left"
        click.echo(f"\n[{row['index'] + 1}] {row['rule']} on {row['resource']} (line {row['line']})")
        click.echo(f"    owner {row['owner']} · expires {row['expires']} ({left})")
        click.echo(f"    reason: {row['reason']}")
        if row["matched"] is None:
            click.echo("    matched: run `cdgate waivers list PATH` to see what it matches")
        elif not row["matched"]:
            click.echo("    matched: nothing (CDG-WVR-003: delete it or correct its rule/resource)")
        else:
            click.echo(f"    matched {len(row['matched'])}: " + ", ".join(row["matched"][:5])
                       + (" …" if len(row["matched"]) > 5 else ""))


def _row(index: int, waiver: Any, today: datetime.date, matched: dict[int, list[str]] | None) -> dict[str, Any]:
    selector = waiver.resource
    resource = "every resource (scope: all)" if waiver.scope_all else f"{selector.kind}/{selector.namespace}/{selector.name}"
    return {
        "index": index,
        "rule": waiver.rule,
        "resource": resource,
        "environments": list(waiver.environments),
        "owner": waiver.owner,
        "reason": waiver.reason,
        "expires": waiver.expires.isoformat(),
        "days_left": (waiver.expires - today).days,
        "line": waiver.line,
        "matched": None if matched is None else matched.get(index, []),
    }


def _matched(paths: tuple[str, ...], profile: Any, environment: str | None, today: datetime.date) -> dict[int, list[str]]:
    """Waiver index -> `rule on Kind/ns/name` of each finding it matched in a run over `paths`."""
    from scanner.gates.pipeline import CheckRequest, run_check
    from scanner.repo_root import default_root

    verdict = run_check(
        CheckRequest(targets=paths, profile=profile, environment=environment, root=default_root(paths), today=today)
    )
    matched: dict[int, list[str]] = {}
    for finding in verdict.findings:
        if finding.waiver is not None and finding.waiver.index is not None:
            label = f"{finding.rule_id} on {finding.location.resource() or finding.location.path}"
            matched.setdefault(finding.waiver.index, []).append(label)
    return matched
