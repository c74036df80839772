"""`gate.yaml`: the one profile that decides what "passes" means.

The same file is read in CI and by the admission webhook. It is validated
against `PROFILE_SCHEMA`; an error names the file and the line of the
offending key. `Profile.for_environment` applies the per-environment
overrides (prod is usually stricter), so the rest of cdgate sees one flat
profile.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jsonschema

from scanner.errors import ConfigError, yaml_error_details
from scanner.findings import Finding, Severity
from scanner.merging import deep_merge
from scanner.profile_schema import PROFILE_SCHEMA

PROFILE_FILENAMES = ("gate.yaml", "gate.yml", ".cdgate.yaml")
WAIVER_WARNING_DAYS = 14
DEFAULT_WAIVER_MAX_DAYS = 180


@dataclass(frozen=True)
class RuleOverride:
    severity: Severity | None = None
    disabled: bool = False


@dataclass(frozen=True)
class ResourceSelector:
    """Globs over a resource's identity; `*` matches anything, even absent."""

    kind: str = "*"
    namespace: str = "*"
    name: str = "*"

    def matches(self, kind: str | None, namespace: str | None, name: str | None) -> bool:
        return all(
            fnmatch.fnmatchcase(value or "", pattern)
            for value, pattern in ((kind, self.kind), (namespace, self.namespace), (name, self.name))
        )


@dataclass(frozen=True)
class Waiver:
    """An accepted risk: one rule (glob) on matching resources, until a date."""

    rule: str
    reason: str
    owner: str
    expires: dt.date
    resource: ResourceSelector = ResourceSelector()
    environments: tuple[str, ...] = ()
    line: int | None = None  # in gate.yaml, for findings about the waiver
    scope_all: bool = False  # `scope: all`: every resource, said out loud
    source: Path | None = None  # the file it came from when not gate.yaml (a .trivyignore.yaml)

    def matches(self, finding: Finding, environment: str | None) -> bool:
        if self.environments and (environment or finding.scope) not in self.environments:
            return False
        loc = finding.location
        return fnmatch.fnmatchcase(finding.rule_id, self.rule) and self.resource.matches(
            loc.kind, loc.namespace, loc.name
        )

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def expiring_soon(self, today: dt.date) -> bool:
        return not self.expired(today) and (self.expires - today).days <= WAIVER_WARNING_DAYS


@dataclass(frozen=True)
class RegoSettings:
    bundled: bool = True
    policies: tuple[Path, ...] = ()
    data: tuple[Path, ...] = ()
    namespaces: tuple[str, ...] = ("main", "cdgate")
    params: dict[str, Any] = field(default_factory=dict)
    engine: str = "regorus"  # or "opa-server": decisions from a remote OPA's Data API
    url: str | None = None  # the OPA server, for engine opa-server
    token_env: str | None = None  # environment variable holding its bearer token
    timeout_s: float = 10.0  # total deadline of one decision, retries included
    retries: int = 2
    ca_file: Path | None = None  # CA bundle for the server's TLS certificate
    combine: bool = False  # conftest --combine: team packages see every document at once


@dataclass(frozen=True)
class KyvernoSettings:
    bundled: bool = False
    policies: tuple[Path, ...] = ()
    audit_fails: bool = True  # Audit-mode failures still fail the merge gate


@dataclass(frozen=True)
class GatekeeperSettings:
    """`gatekeeper:` in gate.yaml: template/constraint files, synced kinds, external data."""

    policies: tuple[Path, ...] = ()
    sync: tuple[tuple[str, str, str], ...] = ()  # (group, version, kind) put into data.inventory
    external_data: dict[str, dict[str, Any]] = field(default_factory=dict)  # provider -> key -> value
    k8s_native_validation: bool = True  # templates carrying K8sNativeValidation (CEL) run it, as Gatekeeper does


@dataclass(frozen=True)
class CelSettings:
    """`cel:` in gate.yaml: CEL policy files, params objects and data for Kyverno's CEL libraries."""

    policies: tuple[Path, ...] = ()
    params: tuple[Path, ...] = ()  # files with params objects for ValidatingAdmissionPolicy bindings
    data: tuple[Path, ...] = ()  # cli.kyverno.io Context files for resource.Get / image.GetMetadata


@dataclass(frozen=True)
class InputSettings:
    max_file_bytes: int = 5 * 1024 * 1024
    values: tuple[Path, ...] = ()
    set_values: tuple[str, ...] = ()
    allow_empty: bool = False  # a target yielding no resource is a notice instead of exit 2
    include_test_hooks: bool = False  # evaluate Helm `helm.sh/hook: test` resources (Argo CD skips them)
    default_namespace: str | None = None  # for documents with no namespace and no Argo CD destination


@dataclass(frozen=True)
class EnvironmentOverride:
    fail_on: Severity | None = None
    rules: dict[str, RuleOverride] = field(default_factory=dict)
    rego_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    """A validated gate.yaml (or the built-in default)."""

    name: str = "default"
    path: Path | None = None
    digest: str = ""  # sha256 of the file's bytes, recorded in attestations
    fail_on: Severity = Severity.HIGH
    gates: dict[str, dict[str, Any]] = field(default_factory=lambda: {"manifest": {"enabled": True}})
    rego: RegoSettings = RegoSettings()
    kyverno: KyvernoSettings = KyvernoSettings()
    gatekeeper: GatekeeperSettings = GatekeeperSettings()
    cel: CelSettings = CelSettings()
    inputs: InputSettings = InputSettings()
    rules: dict[str, RuleOverride] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()
    waiver_max_days: int = DEFAULT_WAIVER_MAX_DAYS
    environments: dict[str, EnvironmentOverride] = field(default_factory=dict)
    promotion: tuple[str, ...] = ()  # environments in promotion order (dev, staging, prod)
    environment: str | None = None  # set by for_environment
    # line in gate.yaml of every rule key: "rules.<id>", "environments.<env>.rules.<id>"
    rule_lines: dict[str, int] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)  # the `webhook:` section, read by scanner.webhook.settings

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def gate_enabled(self, gate: str) -> bool:
        config = self.gates.get(gate)
        if config is None:
            return False
        return bool(config.get("enabled", True))

    def for_environment(self, environment: str | None) -> Profile:
        """This profile with `environments.<env>` applied on top."""
        override = self.environments.get(environment or "")
        if override is None:
            return replace(self, environment=environment)
        return replace(
            self,
            environment=environment,
            fail_on=override.fail_on or self.fail_on,
            rules={**self.rules, **override.rules},
            rego=replace(self.rego, params=deep_merge(self.rego.params, override.rego_params)),
        )

    def with_fail_on(self, fail_on: Severity) -> Profile:
        """This profile failing at `fail_on` in every environment (`--fail-on` beats `environments.<env>.fail_on`)."""
        return replace(self, fail_on=fail_on, environments={k: replace(v, fail_on=None) for k, v in self.environments.items()})

    def policy_paths(self) -> tuple[Path, ...]:
        """Every team policy, data and params path the profile names, for every engine.

        The policy bundle digest and the merge gate's export of a ref read this
        one list, so a new engine's files count in both once they are added here.
        """
        return (
            *self.rego.policies,
            *self.rego.data,
            *self.kyverno.policies,
            *self.gatekeeper.policies,
            *self.cel.policies,
            *self.cel.params,
            *self.cel.data,
        )

    def rule_override(self, rule_id: str) -> RuleOverride:
        """Exact id first, then the first glob that matches (`kyverno:*`)."""
        if rule_id in self.rules:
            return self.rules[rule_id]
        for pattern, override in self.rules.items():
            if fnmatch.fnmatchcase(rule_id, pattern):
                return override
        return RuleOverride()


def find_profile(targets: list[str]) -> Path | None:
    """gate.yaml beside a single directory target, if there is one."""
    if len(targets) != 1 or not Path(targets[0]).is_dir():
        return None
    for name in PROFILE_FILENAMES:
        candidate = Path(targets[0]) / name
        if candidate.is_file():
            return candidate
    return None


def load_profile(path: str | Path | None) -> Profile:
    """Load and validate gate.yaml; None gives the built-in default profile."""
    if path is None:
        return Profile()
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
        text = raw_bytes.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("profile not found", path=str(path), hint="pass --profile PATH to a gate.yaml") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"profile is not UTF-8 (byte {exc.start})", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read profile: {exc.strerror}", path=str(path)) from None
    tree = _parse_yaml(text, path)
    data = _plain(tree)
    if data is None:
        data = {}
    validator = jsonschema.Draft202012Validator(PROFILE_SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        err = errors[0]
        line, column = _position(tree, _error_path(err))
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(
            f"invalid profile at {where}: {err.message}",
            path=str(path),
            line=line,
            column=column,
            hint="see the gate.yaml reference in README.md",
        )
    return _build(data, tree, path, hashlib.sha256(raw_bytes).hexdigest())


def _parse_yaml(text: str, path: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except YAMLError as exc:
        problem, line, column = yaml_error_details(exc)
        raise ConfigError(f"profile is not valid YAML: {problem}", path=str(path), line=line, column=column) from None


def _plain(node: Any) -> Any:
    """ruamel's round-trip objects as plain dicts/lists/str (dates as ISO strings)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, (dt.date, dt.datetime)):
        return node.isoformat()[:10]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)


def _error_path(err: Any) -> list[Any]:
    """Where a schema error is: for an unknown key, the key itself, not the mapping holding it."""
    path = list(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        known = set((err.schema or {}).get("properties") or {})
        unknown = [key for key in err.instance if key not in known]
        if unknown:
            path.append(unknown[0])
    return path


def _position(tree: Any, path: list[Any]) -> tuple[int | None, int | None]:
    """1-based line/column of the deepest key on `path` that exists in the file."""
    node, line, column = tree, None, None
    for part in path:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, dict) and part in node:
                if lc is not None:
                    line, column = lc.key(part)
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                if lc is not None:
                    line, column = lc.item(part)
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    if line is None or column is None:
        return (1, 1) if tree is not None else (None, None)
    return line + 1, column + 1


def _paths(values: list[str], base: Path) -> tuple[Path, ...]:
    return tuple((base / v) if not Path(v).is_absolute() else Path(v) for v in values)


def _overrides(raw: dict[str, Any]) -> dict[str, RuleOverride]:
    return {
        rule: RuleOverride(
            severity=Severity.parse(o["severity"]) if "severity" in o else None,
            disabled=bool(o.get("disabled", False)),
        )
        for rule, o in raw.items()
    }


def _build(data: dict[str, Any], tree: Any, path: Path, digest: str) -> Profile:
    base = path.parent
    rego = data.get("rego", {})
    kyverno = data.get("kyverno", {})
    gatekeeper = data.get("gatekeeper", {})
    cel = data.get("cel", {})
    inputs = data.get("inputs", {})
    raw_waivers = data.get("waivers", [])
    waiver_path: list[Any] = ["waivers"]
    max_days = data.get("waiver_policy", {}).get("max_days", DEFAULT_WAIVER_MAX_DAYS)
    if isinstance(raw_waivers, dict):
        max_days = raw_waivers.get("max_days", max_days)
        raw_waivers = raw_waivers.get("items", [])
        waiver_path.append("items")
    waivers = []
    for i, w in enumerate(raw_waivers):
        line, _ = _position(tree, [*waiver_path, i])
        try:
            expires = dt.date.fromisoformat(w["expires"])
        except ValueError:
            raise ConfigError(f"waiver expires is not a date: {w['expires']!r}", path=str(path), line=line) from None
        if "resource" not in w and w.get("scope") != "all":
            raise ConfigError(
                f"waiver for {w['rule']} names no resource",
                path=str(path),
                line=line,
                hint="add resource: {kind, namespace, name} globs, or `scope: all` to waive it on every resource",
            )
        res = w.get("resource", {})
        waivers.append(
            Waiver(
                rule=w["rule"],
                reason=w["reason"],
                owner=w["owner"],
                expires=expires,
                resource=ResourceSelector(res.get("kind", "*"), res.get("namespace", "*"), res.get("name", "*")),
                environments=tuple(w.get("environments", ())),
                line=line,
                scope_all=w.get("scope") == "all",
            )
        )
    rule_lines: dict[str, int] = {}
    for key in data.get("rules", {}):
        rule_lines[f"rules.{key}"] = _position(tree, ["rules", key])[0] or 1
    for env, override in data.get("environments", {}).items():
        for key in override.get("rules", {}):
            rule_lines[f"environments.{env}.rules.{key}"] = _position(tree, ["environments", env, "rules", key])[0] or 1
    gates = data.get("gates") or {"manifest": {"enabled": True}}
    return Profile(
        name=data.get("name", path.stem),
        path=path,
        digest=digest,
        fail_on=Severity.parse(data.get("fail_on", "high")),
        gates=gates,
        rego=RegoSettings(
            bundled=rego.get("bundled", True),
            policies=_paths(rego.get("policies", []), base),
            data=_paths(rego.get("data", []), base),
            namespaces=tuple(rego.get("namespaces", ("main", "cdgate"))),
            params=rego.get("params", {}),
            engine=rego.get("engine", "regorus"),
            url=rego.get("url"),
            token_env=rego.get("token_env"),
            timeout_s=float(rego.get("timeout_s", 10.0)),
            retries=int(rego.get("retries", 2)),
            ca_file=_paths([rego["ca_file"]], base)[0] if rego.get("ca_file") else None,
            combine=rego.get("combine", False),
        ),
        kyverno=KyvernoSettings(
            bundled=kyverno.get("bundled", False),
            policies=_paths(kyverno.get("policies", []), base),
            audit_fails=kyverno.get("audit_fails", True),
        ),
        gatekeeper=GatekeeperSettings(
            policies=_paths(gatekeeper.get("policies", []), base),
            sync=tuple((s.get("group", ""), s.get("version", ""), s["kind"]) for s in gatekeeper.get("sync", [])),
            external_data=gatekeeper.get("external_data", {}),
            k8s_native_validation=bool(gatekeeper.get("k8s_native_validation", True)),
        ),
        cel=CelSettings(
            policies=_paths(cel.get("policies", []), base),
            params=_paths(cel.get("params", []), base),
            data=_paths(cel.get("data", []), base),
        ),
        inputs=InputSettings(
            max_file_bytes=inputs.get("max_file_bytes", 5 * 1024 * 1024),
            values=_paths(inputs.get("values", []), base),
            set_values=tuple(inputs.get("set", [])),
            allow_empty=inputs.get("allow_empty", False),
            include_test_hooks=inputs.get("include_test_hooks", False),
            default_namespace=inputs.get("default_namespace"),
        ),
        rules=_overrides(data.get("rules", {})),
        waivers=tuple(waivers),
        waiver_max_days=max_days,
        rule_lines=rule_lines,
        webhook=data.get("webhook", {}),
        environments={
            name: EnvironmentOverride(
                fail_on=Severity.parse(e["fail_on"]) if "fail_on" in e else None,
                rules=_overrides(e.get("rules", {})),
                rego_params=e.get("rego", {}).get("params", {}),
            )
            for name, e in data.get("environments", {}).items()
        },
        promotion=tuple(data.get("promotion", ())),
    )
