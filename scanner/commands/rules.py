"""`cdgate rules list` and `cdgate rules show ID`: read the rule catalogue."""

from __future__ import annotations

import json
from pathlib import Path

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from scanner.catalog import Catalog, Rule

from scanner.commands._common import fail_closed
from scanner.errors import ConfigError


@click.group("rules")
def rules() -> None:
    """List and show the rule catalogue."""


_catalog_option = click.option(
    "--catalog",
    "catalog_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Catalogue directory (default: cdgate's bundled rules/).",
)


def _load(catalog_dir: Path | None) -> Catalog:
    from scanner.catalog import BUNDLED_RULES_DIR, load_catalog

    directory = catalog_dir or BUNDLED_RULES_DIR
    if not directory.is_dir():
        raise ConfigError("rule catalogue directory not found", path=str(directory))
    return load_catalog(directory)


def compliance_summary(rule: Rule) -> str:
    """`PSS restricted; CIS 5.2.5; NSA pod-security` for tables."""
    parts = []
    if pss := rule.compliance.get("pss"):
        parts.append(f"PSS {pss}")
    if cis := rule.compliance.get("cis"):
        parts.append("CIS " + ", ".join(cis))
    if nsa := rule.compliance.get("nsa"):
        parts.append("NSA " + ", ".join(nsa))
    return "; ".join(parts)


def rule_as_dict(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity.value,
        "engine": rule.engine,
        "policy": rule.policy,
        "description": rule.description,
        "remediation": rule.remediation,
        "help_uri": rule.help_uri,
        "compliance": rule.compliance,
        "tags": list(rule.tags),
    }


@rules.command("list")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--severity", metavar="SEV[,SEV]", help="Only rules of these severities (comma list, any case), e.g. high,critical.")
@_catalog_option
@fail_closed
def list_rules(fmt: str, severity: str | None, catalog_dir: Path | None) -> None:
    """List every rule: id, severity, title and compliance mapping."""
    from scanner.gates.filters import parse_severity_list

    catalog = _load(catalog_dir)
    selected = list(catalog)
    if severity is not None:
        wanted = parse_severity_list(severity)
        selected = [r for r in selected if r.severity in wanted]
    if fmt == "json":
        click.echo(json.dumps([rule_as_dict(r) for r in selected], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    table = Table(title=f"cdgate rules ({len(selected)})", show_lines=False)
    for column in ("ID", "Severity", "Title", "Compliance"):
        table.add_column(column, overflow="fold")
    for rule in selected:
        table.add_row(rule.id, rule.severity.value, rule.title, compliance_summary(rule))
    console.print(table)


@rules.command("show")
@click.argument("rule_id")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_catalog_option
@fail_closed
def show_rule(rule_id: str, fmt: str, catalog_dir: Path | None) -> None:
    """Show every field of one rule."""
    catalog = _load(catalog_dir)
    rule = catalog.get(rule_id.strip().upper())
    if rule is None:
        raise ConfigError(f"unknown rule id {rule_id!r}", hint="run `cdgate rules list` to see the ids")
    if fmt == "json":
        click.echo(json.dumps(rule_as_dict(rule), indent=2))
        return
    rows = [
        ("ID", rule.id),
        ("Title", rule.title),
        ("Severity", rule.severity.value),
        ("Engine", rule.engine),
        ("Policy", rule.policy or "-"),
        ("Help", rule.help_uri),
        ("PSS level", rule.compliance.get("pss") or "-"),
        ("CIS Kubernetes Benchmark", ", ".join(rule.compliance.get("cis", [])) or "-"),
        ("NSA/CISA hardening guide", ", ".join(rule.compliance.get("nsa", [])) or "-"),
        ("Tags", ", ".join(rule.tags)),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        click.echo(f"{name.ljust(width)}  {value}")
    click.echo("")
    click.echo("Description:")
    click.echo(_indent(rule.description))
    click.echo("")
    click.echo("Remediation:")
    click.echo(_indent(rule.remediation))


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.strip().splitlines())
