"""`cdgate profile schema|validate` and `cdgate init`: gate.yaml for people and their editors."""

from __future__ import annotations

import datetime
from pathlib import Path

import click

from scanner.commands._common import fail_closed


@click.group("profile")
def profile() -> None:
    """Work with gate.yaml: print its JSON Schema, validate a file."""


@profile.command("schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the schema to this file (atomically) instead of stdout.")
@fail_closed
def schema(output: Path | None) -> None:
    """Print gate.yaml's JSON Schema (the text of schemas/gate.schema.json)."""
    from scanner.profile_schema import schema_text

    if output is None:
        click.echo(schema_text(), nl=False)
        return
    from scanner.report.atomic import atomic_write_text

    atomic_write_text(output, schema_text())
    click.echo(f"cdgate: wrote the gate.yaml schema to {output}", err=True)


@profile.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Judge waiver lengths as of this date (default: today).")
@fail_closed
def validate(file: Path, today: datetime.datetime | None) -> None:
    """Check FILE as `cdgate check` would: schema, rule ids, waivers. Exit 0 valid, 2 not."""
    from scanner.catalog import load_catalog
    from scanner.gates.waivers import check_governance
    from scanner.profile import load_profile

    loaded = load_profile(file)
    check_governance(loaded, load_catalog(), today.date() if today else datetime.date.today())
    environments = ", ".join(sorted(loaded.environments)) or "none"
    click.echo(
        f"{file}: valid (profile {loaded.name}, fails on {loaded.fail_on.value}, "
        f"{len(loaded.waivers)} waiver(s), environments: {environments})"
    )


@click.command("init")
@click.argument("directory", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing gate.yaml.")
@fail_closed
def init(directory: Path, force: bool) -> None:
    """Write a commented starter gate.yaml for the repository in DIRECTORY.

    It names the charts, Kustomize targets and environments it finds, and
    writes a copy of the JSON Schema to .cdgate/ for editors.
    """
    from scanner.errors import ConfigError
    from scanner.profile import load_profile
    from scanner.profile_schema import schema_text
    from scanner.report.atomic import atomic_write_text
    from scanner.starter_profile import SCHEMA_COPY, detect_layout, starter_profile

    target = directory / "gate.yaml"
    if target.exists() and not force:
        raise ConfigError("gate.yaml already exists", path=str(target), hint="pass --force to overwrite it")
    layout = detect_layout(directory.resolve())
    text = starter_profile(directory.resolve().name, layout)
    atomic_write_text(target, text)
    atomic_write_text(directory / SCHEMA_COPY, schema_text())
    load_profile(target)  # what init writes is always a valid profile
    click.echo(
        f"cdgate: wrote {target} ({len(layout.charts)} chart(s), {len(layout.kustomizations)} Kustomize target(s), "
        f"environments: {', '.join(layout.environments) or 'none'}) and {directory / SCHEMA_COPY}"
    )
    click.echo(f"next: cdgate check {directory}" + (f" --env {layout.environments[0]}" if layout.environments else ""))
