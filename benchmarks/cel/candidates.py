"""Measure the CEL libraries from PyPI on Kubernetes-style expressions (docs/cel.md).

Run in a venv that has all three: common-expression-language==0.10.0 cel-python==0.5.0
cel-expr-python==0.1.3, as `python benchmarks/cel/candidates.py rust|cpp|celpy`.
"""
import time, json, sys
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "x"}},
       "spec": {"containers": [{"name": "a", "image": "nginx:1", "securityContext": {"privileged": False}},
                               {"name": "b", "image": "busybox"},
                               {"name": "c", "image": "r/x@sha256:1", "securityContext": {"runAsNonRoot": True}}]}}
CASES = [
 ("all+optional", "object.spec.containers.all(c, c.?securityContext.?privileged.orValue(false) == false)", True),
 ("has", "has(object.spec.initContainers)", False),
 ("has-true", "has(object.metadata.labels)", True),
 ("exists", "object.spec.containers.exists(c, c.name == 'b')", True),
 ("exists_one", "object.spec.containers.exists_one(c, c.name == 'b')", True),
 ("map", "object.spec.containers.map(c, c.name)", ["a", "b", "c"]),
 ("filter", "object.spec.containers.filter(c, has(c.securityContext)).size()", 2),
 ("map3", "object.spec.containers.map(c, has(c.securityContext), c.name)", ["a", "c"]),
 ("ternary+concat", "(object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : [])).size()", 3),
 ("opt-index", "object.metadata.?labels[?'app'].orValue('none')", "x"),
 ("opt-missing", "object.metadata.?annotations[?'app'].orValue('none')", "none"),
 ("opt-hasValue", "object.spec.?hostNetwork.hasValue()", False),
 ("in-map", "'app' in object.metadata.labels", True),
 ("split", "'a,b,c'.split(',')", ["a", "b", "c"]),
 ("lowerAscii", "'ABC'.lowerAscii()", "abc"),
 ("matches", "object.spec.containers[0].image.matches('^nginx:[0-9]+$')", True),
 ("format", "'%s has %d'.format(['x', 2])", "x has 2"),
 ("startsWith", "'abc'.startsWith('ab')", True),
 ("contains-str", "'abc'.contains('bc')", True),
 ("replace", "'a-b'.replace('-', '_')", "a_b"),
 ("join", "['a','b'].join(',')", "a,b"),
 ("indexOf", "'abc'.indexOf('c')", 2),
 ("substring", "'abcdef'.substring(2, 4)", "cd"),
 ("trim", "' a '.trim()", "a"),
 ("sets.contains", "sets.contains([1,2,3], [1,2])", True),
 ("sets.intersects", "sets.intersects([1,2,3], [5,2])", True),
 ("k8s isSorted", "[1,2,3].isSorted()", True),
 ("k8s sum", "[1,2,3].sum()", 6),
 ("k8s indexOf list", "[1,2,3].indexOf(2)", 1),
 ("int/string", "string(int('5') + 1)", "6"),
 ("size-map", "size(object.metadata.labels)", 1),
 ("type-error", "1 + 'a'", "ERROR"),
 ("no-such-key", "object.spec.nothing == 1", "ERROR"),
 ("unknown-func", "object.frobnicate()", "ERROR"),
 ("syntax", "object.spec.(", "ERROR"),
 ("dyn-eq-int-double", "1 == 1.0", True),
 ("cross-type-eq", "object.spec.containers[0].name == 1", False),
 ("int-overflow", "9223372036854775807 + 1", "ERROR"),
 ("double-div", "3.0/2.0", 1.5),
 ("string-compare", "'a' < 'b'", True),
 ("bool-logic-err-absorb", "true || (1/0 == 1)", True),
 ("timestamp", "timestamp('2024-01-01T00:00:00Z') < timestamp('2025-01-01T00:00:00Z')", True),
 ("duration", "duration('1h') > duration('30m')", True),
 ("optional.of", "optional.of(1).value()", 1),
 ("optional.none", "optional.none().orValue(5)", 5),
 ("map-literal-opt", "{'a': 1}.?b.orValue(2)", 2),
 ("list-index-opt", "[1,2][?5].orValue(0)", 0),
 ("uint", "1u + 2u", 3),
 ("transformList? (cel-go ext)", "[1,2].transformList(i, v, v*2)", [2,4]),
 ("exists in nested", "object.spec.containers.exists(c, c.?securityContext.?runAsNonRoot.orValue(false))", True),
]

def run_celrust():
    import cel
    from cel.stdlib import add_stdlib_to_context
    res = {}
    progs = {}
    for name, expr, want in CASES:
        try:
            p = cel.compile(expr)
            ctx = cel.Context({"object": POD})
            add_stdlib_to_context(ctx)
            got = p.execute(ctx)
            progs[name] = p
        except Exception as e:
            got = "ERROR:" + type(e).__name__ + ":" + str(e)[:80]
        res[name] = got
    return res

def run_cpp():
    from cel_expr_python import cel
    from cel_expr_python.ext import ext_strings, ext_optional
    env = cel.NewEnv(variables={"object": cel.Type.DYN}, extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()])
    res = {}
    for name, expr, want in CASES:
        try:
            e = env.compile(expr)
            v = e.eval(data={"object": POD})
            got = v.plain_value()
            if v.type() == cel.Type.ERROR:
                got = "ERROR:" + str(got)[:80]
        except Exception as e:
            got = "ERROR:" + type(e).__name__ + ":" + str(e)[:80]
        res[name] = got
    return res

def run_celpy():
    import celpy
    env = celpy.Environment()
    res = {}
    for name, expr, want in CASES:
        try:
            ast = env.compile(expr)
            prg = env.program(ast)
            got = prg.evaluate({"object": celpy.json_to_cel(POD)})
            if isinstance(got, Exception): got = "ERROR:" + str(got)[:80]
        except Exception as e:
            got = "ERROR:" + type(e).__name__ + ":" + str(e)[:80]
        res[name] = got
    return res

def score(res):
    ok = 0
    rows = []
    for name, expr, want in CASES:
        got = res[name]
        if want == "ERROR":
            good = isinstance(got, str) and got.startswith("ERROR")
        else:
            try:
                good = (got == want) and not (isinstance(got, str) and got.startswith("ERROR"))
                if isinstance(want, bool): good = good and isinstance(got, bool) or got is want
            except Exception:
                good = False
        ok += bool(good)
        rows.append((name, good, repr(got)[:90]))
    return ok, rows

if __name__ == "__main__":
    which = sys.argv[1]
    res = {"rust": run_celrust, "cpp": run_cpp, "celpy": run_celpy}[which]()
    ok, rows = score(res)
    for r in rows:
        if not r[1]: print("  FAIL", r[0], r[2])
    print(which, ok, "/", len(CASES))
