"""Kyverno's custom JMESPath functions, on top of the standard library.

Kyverno extends JMESPath with string, regex, arithmetic (numbers, quantities
and durations), encoding, time, YAML/JSON and x509 helpers. The names and
argument orders follow Kyverno's documentation so library policies run
unchanged.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import posixpath
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from jmespath import exceptions as jexc
from jmespath import functions

from scanner.engines.kyverno import wildcard
from scanner.engines.kyverno.quantities import parse_duration, parse_quantity

_REGEX_MAX = 2048


class KyvernoFunctionError(Exception):
    """A custom function was called with values it cannot handle."""


_REGEX_SECONDS = 0.5


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> Any:
    """Compile with the `regex` module when present: it can stop a
    backtracking blow-up (Go's RE2 never backtracks; Python's `re` would hang)."""
    if len(pattern) > _REGEX_MAX:
        raise KyvernoFunctionError(f"regular expression longer than {_REGEX_MAX} characters")
    try:
        import regex

        return _TimedRegex(regex.compile(pattern))
    except ImportError:
        return _TimedRegex(re.compile(pattern))
    except Exception as exc:  # noqa: BLE001 - regex.error and re.error
        raise KyvernoFunctionError(f"invalid regular expression {pattern!r}: {exc}") from exc


class _TimedRegex:
    """A compiled pattern whose search and sub stop after `_REGEX_SECONDS`."""

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled
        self.timed = type(compiled).__module__.startswith("regex") or "regex" in type(compiled).__module__

    def _call(self, method: str, *args: Any) -> Any:
        func = getattr(self.compiled, method)
        try:
            if self.timed:
                return func(*args, timeout=_REGEX_SECONDS)
            return func(*args)
        except TimeoutError as exc:
            raise KyvernoFunctionError(f"regular expression ran longer than {_REGEX_SECONDS}s") from exc

    def search(self, text: str) -> Any:
        return self._call("search", text)

    def sub(self, repl: Any, text: str) -> str:
        return str(self._call("sub", repl, text))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _operand(value: Any) -> tuple[str, Decimal]:
    """Classify an arithmetic operand: number, quantity or duration."""
    if isinstance(value, bool):
        raise KyvernoFunctionError(f"invalid operand {value!r}")
    if isinstance(value, (int, float)):
        return "number", Decimal(str(value))
    if isinstance(value, str):
        q = parse_quantity(value)
        if q is not None:
            return "quantity", q
        d = parse_duration(value)
        if d is not None:
            return "duration", d
    raise KyvernoFunctionError(f"invalid operand {value!r}: expected a number, quantity or duration")


def _format_quantity(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    for suffix, scale in (("m", Decimal("1e-3")), ("u", Decimal("1e-6")), ("n", Decimal("1e-9"))):
        scaled = value / scale
        if scaled == scaled.to_integral_value():
            return f"{int(scaled)}{suffix}"
    return str(value)


def _format_duration(seconds: Decimal) -> str:
    total = float(seconds)
    if total == 0:
        return "0s"
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    out = sign
    if hours:
        out += f"{int(hours)}h"
    if hours or minutes:
        out += f"{int(minutes)}m"
    out += (f"{secs:g}" if secs != int(secs) else f"{int(secs)}") + "s"
    return out


def _arith(a: Any, b: Any, op: str) -> Any:
    kind_a, x = _operand(a)
    kind_b, y = _operand(b)
    if op in ("add", "subtract"):
        if kind_a != kind_b:
            raise KyvernoFunctionError(f"{op}: operands of different types ({kind_a}, {kind_b})")
        r = x + y if op == "add" else x - y
        if kind_a == "number":
            return _number(r)
        return _format_quantity(r) if kind_a == "quantity" else _format_duration(r)
    if op == "multiply":
        if kind_a != "number" and kind_b != "number":
            raise KyvernoFunctionError("multiply: one operand must be a number")
        r = x * y
        kind = kind_b if kind_a == "number" else kind_a
        if kind == "number":
            return _number(r)
        return _format_quantity(r) if kind == "quantity" else _format_duration(r)
    if op in ("divide", "modulo"):
        if y == 0:
            raise KyvernoFunctionError(f"{op}: division by zero")
        if op == "divide":
            if kind_b == "number":
                r = x / y
                if kind_a == "number":
                    return float(r) if r != r.to_integral_value() else _number(r)
                return _format_quantity(r) if kind_a == "quantity" else _format_duration(r)
            if kind_a != kind_b:
                raise KyvernoFunctionError("divide: operands of different types")
            return float(x / y) if (x / y) != (x / y).to_integral_value() else _number(x / y)
        if kind_a != kind_b:
            raise KyvernoFunctionError("modulo: operands of different types")
        r = x % y
        if kind_a == "number":
            if r != r.to_integral_value():
                raise KyvernoFunctionError("modulo: operands must be integers")
            return _number(r)
        return _format_quantity(r) if kind_a == "quantity" else _format_duration(r)
    raise KyvernoFunctionError(op)


def _parse_time(text: str) -> datetime:
    text = text.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise KyvernoFunctionError(f"cannot parse time {text!r}") from exc


def _x509(pem: str) -> dict[str, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    import warnings

    data = pem.encode() if isinstance(pem, str) else pem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. non-positive serials in test certificates
        return _x509_parse(data, x509, rsa, ec)


def _x509_parse(data: bytes, x509: Any, rsa: Any, ec: Any) -> dict[str, Any]:
    try:
        if b"-----BEGIN" in data:
            if b"CERTIFICATE REQUEST" in data:
                csr = x509.load_pem_x509_csr(data)
                return {"Subject": _name(csr.subject), "PublicKey": _pubkey(csr.public_key(), rsa, ec)}
            cert = x509.load_pem_x509_certificate(data)
        else:
            raise ValueError("not PEM")
    except ValueError as exc:
        raise KyvernoFunctionError(f"x509_decode: {exc}") from exc
    return {
        "Subject": _name(cert.subject),
        "Issuer": _name(cert.issuer),
        "SerialNumber": cert.serial_number,
        "NotBefore": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "NotAfter": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": cert.version.value + 1,
        "PublicKey": _pubkey(cert.public_key(), rsa, ec),
        "IsCA": _is_ca(cert),
    }


def _is_ca(cert: Any) -> bool:
    from cryptography import x509

    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _name(name: Any) -> dict[str, Any]:
    from cryptography.x509.oid import NameOID

    def values(oid: Any) -> list[str] | None:
        got = [a.value for a in name.get_attributes_for_oid(oid)]
        return got or None

    cn = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return {
        "CommonName": cn[0].value if cn else "",
        "Country": values(NameOID.COUNTRY_NAME),
        "Organization": values(NameOID.ORGANIZATION_NAME),
        "OrganizationalUnit": values(NameOID.ORGANIZATIONAL_UNIT_NAME),
        "Locality": values(NameOID.LOCALITY_NAME),
        "Province": values(NameOID.STATE_OR_PROVINCE_NAME),
    }


def _pubkey(key: Any, rsa: Any, ec: Any) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {"N": str(numbers.n), "E": numbers.e}
    if isinstance(key, ec.EllipticCurvePublicKey):
        numbers = key.public_numbers()
        return {"Curve": {"Name": key.curve.name}, "X": str(numbers.x), "Y": str(numbers.y)}
    return {}


class KyvernoFunctions(functions.Functions):
    """Standard JMESPath functions plus Kyverno's."""

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_compare(self, a: str, b: str) -> int:
        return (a > b) - (a < b)

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_equal_fold(self, a: str, b: str) -> bool:
        return a.casefold() == b.casefold()

    @functions.signature({"types": ["string"]}, {"types": ["string"]}, {"types": ["string"]}, {"types": ["number"]})
    def _func_replace(self, s: str, old: str, new: str, n: int) -> str:
        return s.replace(old, new, int(n)) if n >= 0 else s.replace(old, new)

    @functions.signature({"types": ["string"]}, {"types": ["string"]}, {"types": ["string"]})
    def _func_replace_all(self, s: str, old: str, new: str) -> str:
        return s.replace(old, new)

    @functions.signature({"types": ["string"]})
    def _func_to_upper(self, s: str) -> str:
        return s.upper()

    @functions.signature({"types": ["string"]})
    def _func_to_lower(self, s: str) -> str:
        return s.lower()

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_trim(self, s: str, cutset: str) -> str:
        return s.strip(cutset)

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_trim_prefix(self, s: str, prefix: str) -> str:
        return s[len(prefix):] if prefix and s.startswith(prefix) else s

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_split(self, s: str, sep: str) -> list[str]:
        if sep == "":
            return list(s)
        return s.split(sep)

    @functions.signature({"types": ["string"]}, {"types": ["string", "number"]}, {"types": ["string", "number"]})
    def _func_regex_replace_all(self, regex: str, src: Any, repl: Any) -> str:
        go_repl = re.sub(r"\$\{?(\w+)\}?", lambda m: f"\\g<{m.group(1)}>", _text(repl))
        return str(_regex(regex).sub(go_repl, _text(src)))

    @functions.signature({"types": ["string"]}, {"types": ["string", "number"]}, {"types": ["string", "number"]})
    def _func_regex_replace_all_literal(self, regex: str, src: Any, repl: Any) -> str:
        literal = _text(repl)
        return str(_regex(regex).sub(lambda _m: literal, _text(src)))

    @functions.signature({"types": ["string"]}, {"types": ["string", "number"]})
    def _func_regex_match(self, regex: str, src: Any) -> bool:
        return _regex(regex).search(_text(src)) is not None

    @functions.signature({"types": ["string"]}, {"types": ["string", "number"]})
    def _func_pattern_match(self, pattern: str, src: Any) -> bool:
        return wildcard.match(pattern, _text(src))

    @functions.signature({"types": ["object"]}, {"types": ["object"]})
    def _func_label_match(self, selector: dict[str, Any], labels: dict[str, Any]) -> bool:
        return all(labels.get(k) == v for k, v in selector.items())

    @functions.signature({"types": ["string"]})
    def _func_to_boolean(self, s: str) -> bool:
        low = s.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        raise KyvernoFunctionError(f"to_boolean: cannot convert {s!r}")

    @functions.signature({"types": ["number", "string"]}, {"types": ["number", "string"]})
    def _func_add(self, a: Any, b: Any) -> Any:
        return _arith(a, b, "add")

    @functions.signature({"types": ["number", "string"]}, {"types": ["number", "string"]})
    def _func_subtract(self, a: Any, b: Any) -> Any:
        return _arith(a, b, "subtract")

    @functions.signature({"types": ["number", "string"]}, {"types": ["number", "string"]})
    def _func_multiply(self, a: Any, b: Any) -> Any:
        return _arith(a, b, "multiply")

    @functions.signature({"types": ["number", "string"]}, {"types": ["number", "string"]})
    def _func_divide(self, a: Any, b: Any) -> Any:
        return _arith(a, b, "divide")

    @functions.signature({"types": ["number", "string"]}, {"types": ["number", "string"]})
    def _func_modulo(self, a: Any, b: Any) -> Any:
        return _arith(a, b, "modulo")

    @functions.signature({"types": ["array"]})
    def _func_sum(self, items: list[Any]) -> Any:
        if not items:
            raise KyvernoFunctionError("sum: empty array")
        total = items[0]
        for item in items[1:]:
            total = _arith(total, item, "add")
        return total

    @functions.signature({"types": ["number"]}, {"types": ["number"]})
    def _func_round(self, x: float, digits: float) -> Any:
        return _number(Decimal(str(round(x, int(digits)))))

    @functions.signature({"types": ["string"]})
    def _func_base64_decode(self, s: str) -> str:
        try:
            return base64.b64decode(s, validate=False).decode("utf-8", "replace")
        except (ValueError, TypeError) as exc:
            raise KyvernoFunctionError(f"base64_decode: {exc}") from exc

    @functions.signature({"types": ["string"]})
    def _func_base64_encode(self, s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    @functions.signature({"types": ["string"]})
    def _func_path_canonicalize(self, s: str) -> str:
        if s == "":
            return "."
        cleaned = posixpath.normpath(s)
        if cleaned.startswith("//"):
            cleaned = "/" + cleaned.lstrip("/")
        return cleaned

    @functions.signature({"types": ["string"]}, {"types": ["number"]})
    def _func_truncate(self, s: str, n: float) -> str:
        return s[: max(int(n), 0)]

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_semver_compare(self, version: str, constraint: str) -> bool:
        from scanner.engines.kyverno.semver import satisfies

        return satisfies(version, constraint)

    @functions.signature({"types": ["string"]})
    def _func_parse_json(self, s: str) -> Any:
        try:
            return json.loads(s)
        except ValueError as exc:
            raise KyvernoFunctionError(f"parse_json: {exc}") from exc

    @functions.signature({"types": ["string"]})
    def _func_parse_yaml(self, s: str) -> Any:
        from scanner.engines.kyverno.yamlio import load_one

        try:
            return load_one(s)
        except Exception as exc:  # noqa: BLE001 - any YAML error is the user's input
            raise KyvernoFunctionError(f"parse_yaml: {exc}") from exc

    @functions.signature({"types": ["object", "array"]}, {"types": ["string"]}, {"types": ["string"]})
    def _func_items(self, obj: Any, key_name: str, value_name: str) -> list[dict[str, Any]]:
        if isinstance(obj, dict):
            return [{key_name: k, value_name: obj[k]} for k in sorted(obj)]
        return [{key_name: i, value_name: v} for i, v in enumerate(obj)]

    @functions.signature({"types": ["array"]}, {"types": ["array"]})
    def _func_object_from_lists(self, keys: list[Any], vals: list[Any]) -> dict[str, Any]:
        return {str(k): (vals[i] if i < len(vals) else None) for i, k in enumerate(keys)}

    @functions.signature({"types": ["object", "array"]}, {"types": ["string", "number"]})
    def _func_lookup(self, obj: Any, key: Any) -> Any:
        if isinstance(obj, dict):
            return obj.get(key) if isinstance(key, str) else None
        if isinstance(key, (int, float)) and not isinstance(key, bool) and float(key).is_integer():
            idx = int(key)
            return obj[idx] if 0 <= idx < len(obj) else None
        raise KyvernoFunctionError("lookup: array index must be an integer")

    @functions.signature({"types": ["string"]})
    def _func_x509_decode(self, pem: str) -> dict[str, Any]:
        return _x509(pem)

    @functions.signature({"types": ["string"]})
    def _func_sha256(self, s: str) -> str:
        return hashlib.sha256(s.encode()).hexdigest()

    @functions.signature()
    def _func_time_now(self) -> str:
        return datetime.now().astimezone().isoformat(timespec="seconds")

    @functions.signature()
    def _func_time_now_utc(self) -> str:
        return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    @functions.signature({"types": ["string"]}, {"types": ["string"]}, {"types": ["string"]})
    def _func_time_since(self, _layout: str, t1: str, t2: str) -> str:
        start = _parse_time(t1)
        end = _parse_time(t2) if t2 else datetime.now(timezone.utc)
        return _format_duration(Decimal(str((end - start).total_seconds())))

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_time_add(self, t: str, duration: str) -> str:
        seconds = parse_duration(duration)
        if seconds is None:
            raise KyvernoFunctionError(f"time_add: invalid duration {duration!r}")
        out = _parse_time(t) + timedelta(seconds=float(seconds))
        return out.isoformat().replace("+00:00", "Z")

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_time_before(self, a: str, b: str) -> bool:
        return _parse_time(a) < _parse_time(b)

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_time_after(self, a: str, b: str) -> bool:
        return _parse_time(a) > _parse_time(b)

    @functions.signature({"types": ["string"]}, {"types": ["string"]}, {"types": ["string"]})
    def _func_time_between(self, t: str, start: str, end: str) -> bool:
        return _parse_time(start) < _parse_time(t) < _parse_time(end)

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_time_diff(self, a: str, b: str) -> str:
        return _format_duration(Decimal(str((_parse_time(b) - _parse_time(a)).total_seconds())))

    @functions.signature({"types": ["string"]})
    def _func_time_utc(self, t: str) -> str:
        return _parse_time(t).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    @functions.signature({"types": ["string"]})
    def _func_image_normalize(self, image: str) -> str:
        from scanner.engines.kyverno.images import parse_image

        info = parse_image(image)
        if info is None:
            raise KyvernoFunctionError(f"image_normalize: invalid image {image!r}")
        return str(info["reference"])

    @functions.signature({"types": ["string"]})
    def _func_is_external_url(self, s: str) -> bool:
        from urllib.parse import urlparse

        host = urlparse(s).hostname or ""
        return bool(host) and host not in ("localhost", "127.0.0.1", "::1") and not host.endswith(".svc")


FUNCTIONS = KyvernoFunctions()
JMESPATH_ERRORS = (jexc.JMESPathError, KyvernoFunctionError)
