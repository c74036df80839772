"""ConstraintTemplates: reading them, and compiling each one's Rego once.

A template (`templates.gatekeeper.sh/v1`, `v1beta1` or `v1alpha1`) declares a
constraint kind, the schema of its parameters and, for the
`admission.k8s.gatekeeper.sh` target, Rego that defines `violation` plus
`libs` packages. The Rego sits either directly on the target (`rego`,
`libs`) or in `code` under `engine: Rego` (the form templates with CEL use).
Rego is v0 unless the source says `version: v1`, as in Gatekeeper.
A template may carry `K8sNativeValidation` (CEL) code too, or only that;
`native.py` compiles and runs it, and `native.choose_engine` decides which
of the two Gatekeeper would run.

Each template gets its own regorus engine (template Rego and its libs only),
because two templates may ship different `lib.*` packages of the same name.
Engines are bound to their thread, so a `CompiledTemplate` keeps the sources
and builds engines on demand; `check_compiles` builds one right away so a
broken template stops the run before any input is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from scanner.engines.gatekeeper.builtins import builtins_called
from scanner.engines.gatekeeper.native import CEL_ENGINE, REGO_ENGINE, NativeSource
from scanner.engines.gatekeeper.rego_compat import regorus_compatible
from scanner.engines.per_thread import reraise_interrupts
from scanner.engines.rego_errors import parse_regorus_error
from scanner.errors import PolicyError
from scanner.inputs.document import Document

TARGET = "admission.k8s.gatekeeper.sh"
TEMPLATE_API_GROUP = "templates.gatekeeper.sh"

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.MULTILINE)
_VIOLATION_HEAD = re.compile(r"^violation\b", re.MULTILINE)
_EXTERNAL_DATA = re.compile(r"\bexternal_data\s*\(")


@dataclass(frozen=True)
class RegoModule:
    """One Rego text of a template, and where its first line sits in the YAML file."""

    name: str  # shown in regorus errors: "<template file>#rego" or "#libs[i]"
    text: str
    first_line: int  # YAML line of the text's line 1


@dataclass(frozen=True)
class ConstraintTemplate:
    """A parsed ConstraintTemplate whose Rego can be compiled."""

    name: str
    kind: str  # the constraint kind it creates
    path: str
    line: int
    package: str  # "" when the template has no Rego
    rego: RegoModule | None
    libs: tuple[RegoModule, ...]
    rego_v1: bool
    schema: Mapping[str, Any] | None
    uses_external_data: bool
    title: str | None = None
    native: NativeSource | None = None  # the K8sNativeValidation (CEL) code, if any
    engines: tuple[str, ...] = (REGO_ENGINE,)  # the engines the template carries

    @property
    def modules(self) -> tuple[RegoModule, ...]:
        return (self.rego, *self.libs) if self.rego is not None else ()

    @property
    def violation_rule(self) -> str:
        return f"data.{self.package}.violation"

    def yaml_line(self, module_name: str | None, rego_line: int | None) -> int:
        """The line in the template file of line `rego_line` of module `module_name`."""
        for module in self.modules:
            if module.name == module_name and rego_line is not None:
                return module.first_line + rego_line - 1
        return self.line


def is_template(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and obj.get("kind") == "ConstraintTemplate"
        and str(obj.get("apiVersion", "")).startswith(TEMPLATE_API_GROUP + "/")
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text_line(doc: Document, path: tuple[str | int, ...]) -> int:
    """Line where a block scalar's text starts: the line after its key (`rego: |`)."""
    return doc.line_for(path) + 1


def parse_template(doc: Document) -> ConstraintTemplate:
    """A `ConstraintTemplate` from a document; PolicyError (file, line, what to do) if malformed."""
    obj = doc.obj
    meta = _mapping(obj.get("metadata"))
    name = str(meta.get("name") or "")
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    crd = ((spec.get("crd") or {}).get("spec") or {}) if isinstance(spec.get("crd"), dict) else {}
    kind = str(((crd.get("names") or {}).get("kind")) or "")

    def fail(message: str, field: tuple[str | int, ...] = (), hint: str | None = None) -> PolicyError:
        return PolicyError(f"ConstraintTemplate {name or '?'}: {message}", path=doc.path, line=doc.line_for(field), hint=hint)

    if not name:
        raise fail("metadata.name is missing", ("metadata",))
    if not kind:
        raise fail("spec.crd.spec.names.kind is missing", ("spec", "crd"), "name the constraint kind this template creates")
    if name != kind.lower():
        raise fail(
            f"metadata.name must be the lowercase of the kind {kind!r} (Gatekeeper rejects it otherwise)",
            ("metadata", "name"),
            f"rename it to {kind.lower()!r}",
        )
    targets = spec.get("targets")
    if not isinstance(targets, list) or len(targets) != 1 or not isinstance(targets[0], dict):
        raise fail("spec.targets must hold exactly one target", ("spec", "targets"))
    target = targets[0]
    if target.get("target") != TARGET:
        raise fail(f"target must be {TARGET!r}, not {target.get('target')!r}", ("spec", "targets", 0, "target"))
    native = _native_source(doc, target)
    source, source_path = _rego_source(target)
    if source is None:
        if native is None:
            raise fail(
                "the target has no code: neither Rego (`rego:` or `code: [{engine: Rego}]`) nor K8sNativeValidation",
                ("spec", "targets", 0),
            )
        return _template(doc, name, kind, crd, meta, native=native)
    rego_text = source.get("rego")
    if not isinstance(rego_text, str) or not rego_text.strip():
        raise fail("the Rego source is empty", (*source_path, "rego"))
    package_match = _PACKAGE.search(rego_text)
    if not package_match:
        raise fail("the Rego has no package", (*source_path, "rego"))
    if not _VIOLATION_HEAD.search(rego_text):
        raise fail("the Rego defines no `violation` rule", (*source_path, "rego"), "Gatekeeper reads violation[{\"msg\": ...}]")
    libs_raw = source.get("libs") or []
    if not isinstance(libs_raw, list) or not all(isinstance(t, str) for t in libs_raw):
        raise fail("libs must be a list of Rego texts", (*source_path, "libs"))
    rego = RegoModule(f"{doc.path}#rego", rego_text, _text_line(doc, (*source_path, "rego")))
    libs = tuple(
        RegoModule(f"{doc.path}#libs[{i}]", text, _text_line(doc, (*source_path, "libs", i)))
        for i, text in enumerate(libs_raw)
    )
    version = str(source.get("version") or target.get("version") or "v0")
    return _template(
        doc, name, kind, crd, meta, native=native, package=package_match.group(1), rego=rego, libs=libs,
        rego_v1=version == "v1", uses_external_data=any(_EXTERNAL_DATA.search(m.text) for m in (rego, *libs)),
    )


def _template(doc: Document, name: str, kind: str, crd: Mapping[str, Any], meta: Mapping[str, Any], *,
              native: NativeSource | None, package: str = "", rego: RegoModule | None = None,
              libs: tuple[RegoModule, ...] = (), rego_v1: bool = False, uses_external_data: bool = False) -> ConstraintTemplate:
    validation = _mapping(crd.get("validation"))
    schema = validation.get("openAPIV3Schema") if isinstance(validation.get("openAPIV3Schema"), dict) else None
    annotations = _mapping(meta.get("annotations"))
    engines = tuple(e for e in (CEL_ENGINE if native is not None else "", REGO_ENGINE if rego is not None else "") if e)
    return ConstraintTemplate(
        name=name,
        kind=kind,
        path=doc.path,
        line=doc.start_line,
        package=package,
        rego=rego,
        libs=libs,
        rego_v1=rego_v1,
        schema=schema,
        uses_external_data=uses_external_data,
        title=str(annotations.get("metadata.gatekeeper.sh/title")) if annotations.get("metadata.gatekeeper.sh/title") else None,
        native=native,
        engines=engines,
    )


def _native_source(doc: Document, target: Mapping[str, Any]) -> NativeSource | None:
    """The target's K8sNativeValidation source (the first, as Gatekeeper takes), with its expressions' lines."""
    for i, code in enumerate(target.get("code") or []):
        if not isinstance(code, dict) or code.get("engine") != CEL_ENGINE:
            continue
        base: tuple[str | int, ...] = ("spec", "targets", 0, "code", i, "source")
        source = code.get("source")
        if not isinstance(source, dict):
            raise PolicyError(
                f"ConstraintTemplate {doc.name or '?'}: the K8sNativeValidation code has no source mapping",
                path=doc.path, line=doc.line_for(base[:-1]),
            )
        lines: dict[tuple[str | int, ...], int] = {}
        for key, value in source.items():
            lines[(key,)] = doc.line_for((*base, key))
            for j, item in enumerate(value if isinstance(value, list) else []):
                for field_name in item if isinstance(item, dict) else ():
                    lines[(key, j, field_name)] = doc.line_for((*base, key, j, field_name))
        return NativeSource(source, doc.path, doc.line_for(base), lines)
    return None


def _rego_source(target: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, tuple[str | int, ...]]:
    """The Rego source of a target and its JSON path in the template."""
    base: tuple[str | int, ...] = ("spec", "targets", 0)
    if isinstance(target.get("rego"), str):
        return target, base
    for i, code in enumerate(target.get("code") or []):
        if isinstance(code, dict) and code.get("engine") == "Rego" and isinstance(code.get("source"), dict):
            return code["source"], (*base, "code", i, "source")
    return None, base


ExternalData = Callable[[Any], Any]


def build_engine(template: ConstraintTemplate, external_data: ExternalData) -> Any:
    """A fresh regorus engine holding the template's Rego and libs.

    `external_data` answers Gatekeeper's `external_data` builtin; it and
    OPA's builtins regorus lacks (`builtins.py`) are registered only for
    templates that call them. Raises PolicyError with the
    template file and the YAML line of a Rego syntax or compile error.
    """
    import regorus

    engine = regorus.Engine()
    engine.set_rego_v0(not template.rego_v1)
    engine.add_data({"inventory": {}})
    if template.uses_external_data:
        engine.add_extension("external_data", 1, external_data)
    for name, (arity, function) in builtins_called([m.text for m in template.modules]).items():
        engine.add_extension(name, arity, function)
    for module in template.modules:
        try:
            engine.add_policy(module.name, module.text if template.rego_v1 else regorus_compatible(module.text))
        except BaseException as exc:  # pyo3 panics are BaseExceptions
            reraise_interrupts(exc)
            raise _compile_error(template, exc, module.name) from None
    return engine


def check_compiles(template: ConstraintTemplate, external_data: ExternalData) -> Any:
    """Build an engine and evaluate `violation` once on an empty review, so errors surface now."""
    engine = build_engine(template, external_data)
    try:
        engine.set_input({"review": {"object": {}}, "parameters": {}})
        engine.eval_rule_as_json(template.violation_rule)
    except BaseException as exc:
        reraise_interrupts(exc)
        report = parse_regorus_error(exc)
        if report.path and report.line is not None and "#" in report.path:
            raise _compile_error(template, exc, report.path) from None
        # an evaluation error on an empty object is not a compile error: evaluation reports it per document
    return engine


def _compile_error(template: ConstraintTemplate, exc: BaseException, module_name: str) -> PolicyError:
    report = parse_regorus_error(exc)
    where = report.path or module_name
    line = template.yaml_line(where, report.line)
    part = where.rsplit("#", 1)[-1] if "#" in where else "rego"
    return PolicyError(
        f"ConstraintTemplate {template.name}: {part} does not compile: {report.message}",
        path=template.path,
        line=line,
        hint="fix the Rego (templates are Rego v0 unless the source says version: v1)",
    )
