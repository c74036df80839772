"""The Kubernetes and Kyverno CEL function libraries, declared for cel-expr-python.

cel-expr-python (cel-cpp) brings the CEL standard library, the strings
extension (split, lowerAscii, format, ...), optional types, math and
encoders. Kubernetes adds libraries of its own; the ones declared here are:

- lists: `isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`, plus
  `flatten`, `distinct`, `slice`, `sort` (cel-go's lists extension)
- sets: `sets.contains`, `sets.equivalent`, `sets.intersects`
- regex: `find`, `findAll`
- quantity, url, ip, cidr, semver (values as tagged maps, see `values.py`)
- Kyverno's `resource`, `image`, `globalContext`, `http` (offline data, see
  `external.py`), `time.now()` and `parseServiceAccount`
- Kubernetes' `authorizer` chain, declared so policies load; every call is
  an error, since permission checks need a live API server

A function that fails raises; cel-cpp turns the exception into a CEL error
value that the evaluation reports with the policy and expression.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from scanner.engines.cel import external
from scanner.engines.cel import values as v
from scanner.engines.cel.values import CelValueError

# Variables that name a Kyverno library rather than data; their value is a marker map.
LIBRARY_VARIABLES = ("resource", "image", "globalContext", "http", "time")


def _key(item: Any) -> Any:
    """A comparison key that keeps CEL's types apart (true != 1)."""
    return (type(item).__name__, item)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else bool(a == b)


def _is_sorted(items: list[Any]) -> bool:
    try:
        return all(items[i] <= items[i + 1] for i in range(len(items) - 1))
    except TypeError:
        raise CelValueError("isSorted needs a list of comparable values") from None


def _sum(items: list[Any]) -> Any:
    if not items:
        return 0
    total = items[0]
    for item in items[1:]:
        if type(item) is not type(total):
            raise CelValueError("sum needs a list of one numeric type")
        total = total + item
    return total


def _extreme(items: list[Any], pick: Callable[[list[Any]], Any]) -> Any:
    if not items:
        raise CelValueError("min/max of an empty list")
    try:
        return pick(items)
    except TypeError:
        raise CelValueError("min/max needs a list of comparable values") from None


def _index_of(items: list[Any], wanted: Any) -> int:
    for index, item in enumerate(items):
        if _same(item, wanted):
            return index
    return -1


def _last_index_of(items: list[Any], wanted: Any) -> int:
    for index in range(len(items) - 1, -1, -1):
        if _same(items[index], wanted):
            return index
    return -1


def _flatten(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out.extend(item if isinstance(item, list) else [item])
    return out


def _distinct(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not any(_same(item, seen) for seen in out):
            out.append(item)
    return out


def _slice(items: list[Any], start: int, end: int) -> list[Any]:
    if start < 0 or end < start or end > len(items):
        raise CelValueError(f"cannot slice({start}, {end}) a list of size {len(items)}")
    return items[start:end]


def _sort(items: list[Any]) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:
        raise CelValueError("sort needs a list of comparable values") from None


def _sets_contains(items: list[Any], wanted: list[Any]) -> bool:
    return all(any(_same(w, i) for i in items) for w in wanted)


def _sets_equivalent(a: list[Any], b: list[Any]) -> bool:
    return _sets_contains(a, b) and _sets_contains(b, a)


def _sets_intersects(a: list[Any], b: list[Any]) -> bool:
    return any(any(_same(x, y) for y in b) for x in a)


_REGEX_SECONDS = 0.5  # per call: CEL's RE2 never backtracks, Python's `re` can take minutes


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> Any:
    """`pattern` compiled with the `regex` module, whose calls take a timeout."""
    import regex

    try:
        return regex.compile(pattern)
    except regex.error as exc:
        raise CelValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def _find(text: str, pattern: str) -> str:
    try:
        match = _regex(pattern).search(text, timeout=_REGEX_SECONDS)
    except TimeoutError:
        raise CelValueError(f"regular expression {pattern!r} ran longer than {_REGEX_SECONDS}s") from None
    return str(match.group(0)) if match else ""


def _find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    try:
        found = [str(m.group(0)) for m in _regex(pattern).finditer(text, timeout=_REGEX_SECONDS)]
    except TimeoutError:
        raise CelValueError(f"regular expression {pattern!r} ran longer than {_REGEX_SECONDS}s") from None
    return found if limit < 0 else found[:limit]


# ---- quantity / url / ip / cidr / semver members --------------------------------


def _is_quantity(text: str) -> bool:
    try:
        v.make_quantity(text)
    except CelValueError:
        return False
    return True


def _quantity_is_integer(q: Any) -> bool:
    value = v.quantity_value(q)
    return value == value.to_integral_value() and abs(value) < 2**63


def _quantity_as_integer(q: Any) -> int:
    if not _quantity_is_integer(q):
        raise CelValueError("cannot convert value to integer")
    return int(v.quantity_value(q))


def _quantity_add(q: Any, other: Any) -> dict[str, str]:
    right = Decimal(other) if isinstance(other, int) else v.quantity_value(other)
    return v.decimal_to_quantity(v.quantity_value(q) + right)


def _quantity_sub(q: Any, other: Any) -> dict[str, str]:
    right = Decimal(other) if isinstance(other, int) else v.quantity_value(other)
    return v.decimal_to_quantity(v.quantity_value(q) - right)


def _sign(q: Any) -> int:
    value = v.quantity_value(q)
    return (value > 0) - (value < 0)


def _check_text(make: Callable[[str], Any]) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            make(text)
        except CelValueError:
            return False
        return True

    return check


def _url_host(u: Any) -> str:
    netloc = v.url_parts(u).netloc.rsplit("@", 1)[-1]
    return netloc


def _url_hostname(u: Any) -> str:
    host = _url_host(u)
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.split(":", 1)[0]


def _url_port(u: Any) -> str:
    host = _url_host(u)
    if host.startswith("["):
        rest = host.split("]", 1)[1] if "]" in host else ""
        return rest[1:] if rest.startswith(":") else ""
    return host.split(":", 1)[1] if ":" in host else ""


def _url_query(u: Any) -> dict[str, list[str]]:
    import urllib.parse

    return {k: list(vals) for k, vals in urllib.parse.parse_qs(v.url_parts(u).query, keep_blank_values=True).items()}


def _ip_or_cidr_ip(value: Any) -> dict[str, str]:
    return {v.IP: str(v.cidr_address(value))}


def _cidr_contains_ip(c: Any, address: Any) -> bool:
    ip = ipaddress.ip_address(address) if isinstance(address, str) else v.ip_value(address)
    return ip in v.cidr_value(c)


def _cidr_contains_cidr(c: Any, other: Any) -> bool:
    inner = ipaddress.ip_network(other, strict=False) if isinstance(other, str) else v.cidr_value(other)
    outer = v.cidr_value(c)
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _cidr_masked(c: Any) -> dict[str, str]:
    return {v.CIDR: str(v.cidr_value(c))}


def _semver_part(index: int) -> Callable[[Any], int]:
    def part(s: Any) -> int:
        major, minor, patch = v.semver_key(s)[:3]
        return (major, minor, patch)[index]

    return part


# ---- Kyverno data libraries --------------------------------------------------------


def _resource_get(_lib: Any, api_version: str, resource: str, namespace: str, name: str) -> dict[str, Any]:
    return external.current().get(api_version, resource, namespace, name)


def _resource_list(_lib: Any, api_version: str, resource: str, namespace: str) -> dict[str, Any]:
    return external.current().list_of(api_version, resource, namespace)


def _image_metadata(_lib: Any, reference: str) -> dict[str, Any]:
    return external.current().image_metadata(reference)


def _global_get(_lib: Any, name: str, projection: str) -> Any:
    return external.current().global_entry(name, projection)


def _http_get(_lib: Any, url: str) -> dict[str, Any]:
    return external.current().http_response("GET", url)


def _http_post(_lib: Any, url: str, _body: Any, _headers: Any = None) -> dict[str, Any]:
    return external.current().http_response("POST", url)


def _now(_lib: Any) -> Any:
    """Kyverno's `time.now()`: the current time (UTC)."""
    import datetime

    return datetime.datetime.now(datetime.timezone.utc)


def _authorizer_offline(*_args: Any) -> Any:
    raise CelValueError("authorizer: permission checks need a live API server; cdgate cannot evaluate them offline")


def _parse_service_account(username: str) -> dict[str, str]:
    parts = username.split(":")
    namespace, name = (parts[2], parts[3]) if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] else ("", "")
    return {"Namespace": namespace, "Name": name, "namespace": namespace, "name": name}


def declarations() -> list[Any]:
    """The `cel.FunctionDecl`s of every library above (imports cel-expr-python)."""
    from cel_expr_python import cel  # type: ignore[import-untyped]

    D, S, I, B = cel.Type.DYN, cel.Type.STRING, cel.Type.INT, cel.Type.BOOL
    L = cel.Type.List(D)
    M = cel.Type.Map(S, D)

    def fn(name: str, *overloads: tuple[str, Any, Sequence[Any], bool, Callable[..., Any]]) -> Any:
        return cel.FunctionDecl(name, [
            cel.Overload(oid, ret, list(params), is_member=member, impl=impl) for oid, ret, params, member, impl in overloads
        ])

    return [
        # lists
        fn("isSorted", ("cdg_list_is_sorted", B, [L], True, _is_sorted)),
        fn("sum", ("cdg_list_sum", D, [L], True, _sum)),
        fn("min", ("cdg_list_min", D, [L], True, lambda items: _extreme(items, min))),
        fn("max", ("cdg_list_max", D, [L], True, lambda items: _extreme(items, max))),
        fn("indexOf", ("cdg_list_index_of", I, [L, D], True, _index_of)),
        fn("lastIndexOf", ("cdg_list_last_index_of", I, [L, D], True, _last_index_of)),
        fn("flatten", ("cdg_list_flatten", L, [L], True, _flatten)),
        fn("distinct", ("cdg_list_distinct", L, [L], True, _distinct)),
        fn("slice", ("cdg_list_slice", L, [L, I, I], True, _slice)),
        fn("sort", ("cdg_list_sort", L, [L], True, _sort)),
        # sets
        fn("sets.contains", ("cdg_sets_contains", B, [L, L], False, _sets_contains)),
        fn("sets.equivalent", ("cdg_sets_equivalent", B, [L, L], False, _sets_equivalent)),
        fn("sets.intersects", ("cdg_sets_intersects", B, [L, L], False, _sets_intersects)),
        # regex
        fn("find", ("cdg_string_find", S, [S, S], True, _find)),
        fn("findAll", ("cdg_string_find_all", cel.Type.List(S), [S, S], True, _find_all),
           ("cdg_string_find_all_n", cel.Type.List(S), [S, S, I], True, _find_all)),
        # quantity
        fn("quantity", ("cdg_quantity", D, [S], False, v.make_quantity)),
        fn("isQuantity", ("cdg_is_quantity", B, [S], False, _is_quantity)),
        fn("isInteger", ("cdg_quantity_is_integer", B, [D], True, _quantity_is_integer)),
        fn("asInteger", ("cdg_quantity_as_integer", I, [D], True, _quantity_as_integer)),
        fn("asApproximateFloat", ("cdg_quantity_as_float", cel.Type.DOUBLE, [D], True,
                                  lambda q: float(v.quantity_value(q)))),
        fn("sign", ("cdg_quantity_sign", I, [D], True, _sign)),
        fn("add", ("cdg_quantity_add", D, [D, D], True, _quantity_add)),
        fn("sub", ("cdg_quantity_sub", D, [D, D], True, _quantity_sub)),
        fn("compareTo", ("cdg_compare_to", I, [D, D], True, v.compare)),
        fn("isGreaterThan", ("cdg_is_greater_than", B, [D, D], True, lambda a, b: v.compare(a, b) > 0)),
        fn("isLessThan", ("cdg_is_less_than", B, [D, D], True, lambda a, b: v.compare(a, b) < 0)),
        # url
        fn("url", ("cdg_url", D, [S], False, v.make_url)),
        fn("isURL", ("cdg_is_url", B, [S], False, _check_text(v.make_url))),
        fn("getScheme", ("cdg_url_scheme", S, [D], True, lambda u: v.url_parts(u).scheme)),
        fn("getHost", ("cdg_url_host", S, [D], True, _url_host)),
        fn("getHostname", ("cdg_url_hostname", S, [D], True, _url_hostname)),
        fn("getPort", ("cdg_url_port", S, [D], True, _url_port)),
        fn("getEscapedPath", ("cdg_url_path", S, [D], True, lambda u: v.url_parts(u).path)),
        fn("getQuery", ("cdg_url_query", M, [D], True, _url_query)),
        # ip / cidr
        fn("ip", ("cdg_ip", D, [S], False, v.make_ip), ("cdg_cidr_ip", D, [D], True, _ip_or_cidr_ip)),
        fn("isIP", ("cdg_is_ip", B, [S], False, _check_text(v.make_ip))),
        fn("family", ("cdg_ip_family", I, [D], True, lambda a: v.ip_value(a).version)),
        fn("isUnspecified", ("cdg_ip_unspecified", B, [D], True, lambda a: v.ip_value(a).is_unspecified)),
        fn("isLoopback", ("cdg_ip_loopback", B, [D], True, lambda a: v.ip_value(a).is_loopback)),
        fn("isLinkLocalMulticast", ("cdg_ip_ll_multicast", B, [D], True,
                                    lambda a: v.ip_value(a).is_multicast and v.ip_value(a).is_link_local)),
        fn("isLinkLocalUnicast", ("cdg_ip_ll_unicast", B, [D], True,
                                  lambda a: v.ip_value(a).is_link_local and not v.ip_value(a).is_multicast)),
        fn("isGlobalUnicast", ("cdg_ip_global_unicast", B, [D], True,
                               lambda a: not (v.ip_value(a).is_multicast or v.ip_value(a).is_loopback
                                              or v.ip_value(a).is_link_local or v.ip_value(a).is_unspecified))),
        fn("cidr", ("cdg_cidr", D, [S], False, v.make_cidr)),
        fn("isCIDR", ("cdg_is_cidr", B, [S], False, _check_text(v.make_cidr))),
        fn("containsIP", ("cdg_cidr_contains_ip", B, [D, D], True, _cidr_contains_ip)),
        fn("containsCIDR", ("cdg_cidr_contains_cidr", B, [D, D], True, _cidr_contains_cidr)),
        fn("prefixLength", ("cdg_cidr_prefix", I, [D], True, lambda c: v.cidr_value(c).prefixlen)),
        fn("masked", ("cdg_cidr_masked", D, [D], True, _cidr_masked)),
        # semver
        fn("semver", ("cdg_semver", D, [S], False, v.make_semver)),
        fn("isSemver", ("cdg_is_semver", B, [S], False, _check_text(v.make_semver))),
        fn("major", ("cdg_semver_major", I, [D], True, _semver_part(0))),
        fn("minor", ("cdg_semver_minor", I, [D], True, _semver_part(1))),
        fn("patch", ("cdg_semver_patch", I, [D], True, _semver_part(2))),
        # Kyverno
        fn("Get", ("cdg_resource_get", D, [D, S, S, S, S], True, _resource_get),
           ("cdg_global_get", D, [D, S, S], True, _global_get),
           ("cdg_http_get", D, [D, S], True, _http_get)),
        fn("get", ("cdg_resource_get_lower", D, [D, S, S, S, S], True, _resource_get)),
        fn("List", ("cdg_resource_list", D, [D, S, S, S], True, _resource_list)),
        fn("list", ("cdg_resource_list_lower", D, [D, S, S, S], True, _resource_list)),
        fn("GetMetadata", ("cdg_image_metadata", D, [D, S], True, _image_metadata)),
        fn("Post", ("cdg_http_post", D, [D, S, D], True, _http_post),
           ("cdg_http_post_headers", D, [D, S, D, D], True, _http_post)),
        fn("now", ("cdg_time_now", cel.Type.TIMESTAMP, [D], True, _now)),
        # Kubernetes' authorizer library: declared so policies load, every call is an offline error
        fn("group", ("cdg_authz_group", D, [D, S], True, _authorizer_offline)),
        fn("serviceAccount", ("cdg_authz_sa", D, [D, S, S], True, _authorizer_offline)),
        fn("path", ("cdg_authz_path", D, [D, S], True, _authorizer_offline)),
        fn("requestResource", ("cdg_authz_request_resource", D, [D], True, _authorizer_offline)),
        fn("resource", ("cdg_authz_resource", D, [D, S], True, _authorizer_offline)),
        fn("subresource", ("cdg_authz_subresource", D, [D, S], True, _authorizer_offline)),
        fn("namespace", ("cdg_authz_namespace", D, [D, S], True, _authorizer_offline)),
        fn("name", ("cdg_authz_name", D, [D, S], True, _authorizer_offline)),
        fn("check", ("cdg_authz_check", D, [D, S], True, _authorizer_offline)),
        fn("allowed", ("cdg_authz_allowed", B, [D], True, _authorizer_offline)),
        fn("reason", ("cdg_authz_reason", S, [D], True, _authorizer_offline)),
        fn("errored", ("cdg_authz_errored", B, [D], True, _authorizer_offline)),
        fn("parseServiceAccount", ("cdg_parse_sa", M, [S], False, _parse_service_account)),
    ]
