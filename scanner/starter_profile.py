"""`cdgate init`: a commented starter gate.yaml for the repository in front of it.

It looks at the layout the loader understands (Helm charts, Kustomize
targets and their overlays, `environments/<env>/`) and writes a profile that
names what it found, with every choice explained in a comment. The result
is validated like any gate.yaml before it is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# Where `cdgate init` puts a copy of the JSON Schema, relative to gate.yaml, so
# editors validate offline; `cdgate profile schema -o` refreshes it.
SCHEMA_COPY = ".cdgate/gate.schema.json"
_SKIPPED = {"node_modules", "__pycache__", "vendor"}
_STRICT_ENVIRONMENTS = ("prod", "production", "live")


@dataclass
class RepoLayout:
    """What `cdgate init` found under a directory (paths relative to it)."""

    charts: list[str] = field(default_factory=list)
    kustomizations: list[str] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)
    rego_dirs: list[str] = field(default_factory=list)
    kyverno_dirs: list[str] = field(default_factory=list)


def detect_layout(root: Path, max_dirs: int = 5000) -> RepoLayout:
    """Walk `root` (hidden folders skipped, at most `max_dirs` folders) and note what is there."""
    layout = RepoLayout()
    environments: set[str] = set()
    seen = 0
    for folder, subdirs, files in os.walk(root):
        seen += 1
        if seen > max_dirs:
            break
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and d not in _SKIPPED)
        here = Path(folder)
        relative = here.relative_to(root).as_posix()
        if "Chart.yaml" in files:
            layout.charts.append(relative)
            subdirs[:] = []  # a chart's templates are not more targets
            continue
        if {"kustomization.yaml", "kustomization.yml", "Kustomization"} & set(files):
            app = _kustomize_app(relative)
            if app not in layout.kustomizations:
                layout.kustomizations.append(app)
        if here.name in ("environments", "overlays"):
            environments.update(subdirs)
        if any(f.endswith(".rego") and not f.endswith("_test.rego") for f in files):
            layout.rego_dirs.append(relative)
        if here.name == "kyverno" and any(f.endswith((".yaml", ".yml")) for f in files):
            layout.kyverno_dirs.append(relative)
    layout.environments = sorted(environments)
    return layout


def _kustomize_app(relative: str) -> str:
    """`app/overlays/prod` and `app/base` are one Kustomize target: `app`."""
    app = relative.split("/overlays/")[0]
    if app == "overlays" or app.startswith("overlays/"):
        return "."
    return app.removesuffix("/base") if app != "base" else "."


def starter_profile(name: str, layout: RepoLayout) -> str:
    """The commented gate.yaml text for `layout`."""
    lines = [
        f"# yaml-language-server: $schema={SCHEMA_COPY}",
        "# cdgate profile: what passes in CI and in the cluster. Reference: README.md, \"gate.yaml reference\".",
        "version: 1",
        f"name: {_quote(name)}",
        "fail_on: high                     # findings at or above this severity fail the gate",
        "",
        "# What cdgate found here (cdgate check . renders all of it):",
        *_found("Helm charts (rendered in process, values layered per environment)", layout.charts),
        *_found("Kustomize targets (overlays/<env> when present)", layout.kustomizations),
        *_found("environments", layout.environments),
        "",
        "gates:",
        "  manifest: {enabled: true}       # Rego + Kyverno over the rendered documents",
        "  # signature:                    # images digest-pinned and signed (docs/supply-chain.md)",
        "  #   trusted_keys: [keys/cosign.pub]",
        "",
        "rego:",
        "  bundled: true                   # cdgate's own policies (cdgate rules list)",
    ]
    if layout.rego_dirs:
        lines.append(f"  policies: [{', '.join(_quote(d) for d in layout.rego_dirs)}]   # your Rego (conftest conventions)")
    else:
        lines.append("  # policies: [policy]          # your Rego (conftest conventions)")
    if layout.kyverno_dirs:
        lines += ["", "kyverno:", f"  policies: [{', '.join(_quote(d) for d in layout.kyverno_dirs)}]"]
    strict = [e for e in layout.environments if e.lower() in _STRICT_ENVIRONMENTS]
    if layout.environments:
        lines += ["", "environments:                     # applied on top for `cdgate check . --env NAME`"]
        for env in layout.environments:
            if env in strict:
                lines += [f"  {_quote(env)}:", "    fail_on: medium                # stricter where it matters"]
            else:
                lines += [f"  {_quote(env)}: {{}}"]
    lines += [
        "",
        "# Waivers: an accepted risk on named resources, with a reason, an owner and",
        "# an end date (at most max_days from today). `cdgate waivers list .` reviews them.",
        "waivers:",
        "  max_days: 180",
        "  items: []",
        "  # - rule: CDG-K8S-002",
        "  #   resource: {kind: Deployment, namespace: payments, name: service-b}",
        "  #   reason: needs the node network until the VPC peering lands",
        "  #   owner: team@example.com",
        "  #   expires: \"2027-03-31\"",
        "",
    ]
    return "\n".join(lines)


def _found(what: str, items: list[str]) -> list[str]:
    if not items:
        return [f"#   {what}: none"]
    shown = ", ".join(i or "." for i in items[:10]) + (f" (+{len(items) - 10} more)" if len(items) > 10 else "")
    return [f"#   {what}: {shown}"]


def _quote(text: str) -> str:
    """A YAML scalar that stays a string (quoted when plain would not)."""
    import json

    plain = text.replace("-", "").replace("_", "").replace("/", "").replace(".", "")
    return text if plain.isalnum() and not text[0].isdigit() else json.dumps(text)
