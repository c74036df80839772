"""`cdgate merge-gate`: evaluate what a pull request changes, block only on what it introduces.

1. Resolve base and head; the base tree is their merge base (what the pull
   request started from); list the changed files.
2. Load the profile from the head tree (or the base's with `--profile-from
   base`, or `--profile`) and plan the scope:
   the units (service x environment) the change reaches (`scope`).
3. Export only the files those units need from both commits into a temporary
   directory (read from git objects; the working tree is never touched).
4. Per environment: render each unit at base and head; take the cacheable
   gates' findings from the cache or evaluate them; run the other gates
   (signature) over head's documents; check the promotion order; apply the
   profile (waivers, overrides) through `scanner.gates.pipeline.fold_verdict`.
5. Mark every head finding new or unchanged against base, collect the absent
   ones, and return a `MergeVerdict` that fails only on new findings at or
   above each environment's threshold (`block_unchanged`: on all of them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from scanner.catalog import BUNDLED_RULES_DIR, Catalog, load_catalog
from scanner.errors import ConfigError
from scanner.findings import Finding, GateResult, Severity, Verdict, fails_gate, finding_sort_key
from scanner.gates.base import Gate, GateContext
from scanner.gates.pipeline import INPUT_GATE, fold_verdict, run_gates
from scanner.gates.registry import GATE_FACTORIES, gate_factory
from scanner.gates.results import finding_from_raw, raw_from_problem
from scanner.inputs.document import Document
from scanner.merge.cache import ResultCache, unit_key
from scanner.merge.classify import IMAGE_GATES, UNCHANGED, Identity, baseline_state, classify, image_use_identities
from scanner.merge.git import Repository, TreeEntry
from scanner.merge.promotion import GATE as PROMOTION_GATE
from scanner.merge.promotion import check_promotion, previous_environment
from scanner.merge.scope import RepoFiles, Scope, Unit, export_paths, plan_scope
from scanner.policy_bundle import policy_bundle_digest
from scanner.profile import PROFILE_FILENAMES, Profile, load_profile

#: Gates whose findings depend only on the rendered documents, the policies and the profile.
CACHEABLE_GATES = ("manifest",)


@dataclass
class MergeRequest:
    """What `cdgate merge-gate` was asked to do."""

    repo: Path
    base: str
    head: str
    environments: Sequence[str] = ()
    profile_path: Path | None = None  # a trusted gate.yaml outside the repository; default: the one at profile_from
    profile_from: str = "head"  # head or base: whose gate.yaml and policies judge the change
    fail_on: Severity | None = None
    block_unchanged: bool = False  # --all
    cache_dir: Path | None = None
    today: dt.date = field(default_factory=dt.date.today)
    catalog: Catalog | None = None
    on_stage: Callable[[str], None] | None = None


@dataclass
class MergeVerdict(Verdict):
    """A verdict that fails on new findings only (unless `block_unchanged`), per environment threshold."""

    fail_on_by_scope: dict[str, Severity] = field(default_factory=dict)
    block_unchanged: bool = False
    absent: list[Finding] = field(default_factory=list)
    base_commit: str = ""
    head_commit: str = ""
    changed_files: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    cache_hits: int = 0
    cache_misses: int = 0

    def fails(self, finding: Finding) -> bool:
        threshold = self.fail_on_by_scope.get(finding.scope or "", self.fail_on)
        if not fails_gate(finding, threshold):
            return False
        return self.block_unchanged or baseline_state(finding) != UNCHANGED


@dataclass
class _Side:
    """One commit's rendering of the units of one environment."""

    documents: dict[Unit, list[Document]] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)

    @property
    def all_documents(self) -> list[Document]:
        return [d for docs in self.documents.values() for d in docs]


def run_merge_gate(request: MergeRequest) -> MergeVerdict:
    started = time.perf_counter()
    stage = request.on_stage or (lambda _name: None)
    catalog = request.catalog or load_catalog()
    repo = Repository(request.repo)
    head = repo.resolve(request.head)
    base = repo.merge_base(repo.resolve(request.base), head)
    changed = repo.changed_files(base, head)
    head_tree, base_tree = repo.tree(head), repo.tree(base)
    head_files, base_files = RepoFiles(head_tree), RepoFiles(base_tree)
    cache = ResultCache(request.cache_dir) if request.cache_dir else None

    with tempfile.TemporaryDirectory(prefix="cdgate-merge-") as temp:
        head_root, base_root = Path(temp, "head"), Path(temp, "base")
        if request.profile_from not in ("head", "base"):
            raise ConfigError(f"profile_from must be head or base, not {request.profile_from!r}")
        from_base = request.profile_from == "base"
        profile_root = Path(temp, "profile") if from_base else head_root
        profile, profile_paths = _load_profile(
            request, repo, base_tree if from_base else head_tree, base_files if from_base else head_files, profile_root
        )
        stage(f"{len(changed)} changed file(s) between {base[:12]} and {head[:12]}")
        scope = plan_scope(changed, [head_files, base_files], request.environments, profile_paths)
        previous = {env: previous_environment(profile.promotion, env) for env in scope.environments}
        repo.export(head_tree, export_paths(scope, head_files, profile_paths, previous), head_root)
        repo.export(base_tree, export_paths(scope, base_files, (), previous), base_root)

        key_context = {
            "bundle": policy_bundle_digest(profile),
            "profile": profile.digest,
            "catalog": _catalog_digest(),
            "cdgate": _version(),
        }
        verdicts: list[tuple[Verdict, Verdict, set[tuple[str | None, ...]]]] = []
        for env in scope.environments:
            units = scope.units_for(env)
            if not units:
                continue
            stage(f"evaluating {len(units)} unit(s) for environment {env or '(none)'}")
            evaluator = _EnvironmentRun(profile.for_environment(env), catalog, cache, key_context, request.today, profile_root)
            head_side = _render(units, head_files, head_root, env, evaluator.profile, catalog)
            base_side = _render(units, base_files, base_root, env, evaluator.profile, catalog)
            if not profile.inputs.allow_empty:
                head_side.problems.extend(_emptied_units(head_side, base_side, catalog, head_root))
            base_images = image_use_identities(base_side.all_documents)
            # Gates that run at head only (signature) look at documents with an image the change brings,
            # unless unchanged findings block too (--all): then at every document.
            introduced = None if request.block_unchanged else base_images
            base_gates = evaluator.evaluate(base_side, base_root, head_only_gates=False)
            head_gates = evaluator.evaluate(head_side, head_root, head_only_gates=True, known_images=introduced)
            before = previous.get(env)
            if before is not None and env is not None:
                upstream = _render([u.in_environment(before) for u in units], base_files, base_root, before, evaluator.profile, catalog)
                raw = check_promotion(env, before, head_side.all_documents, base_side.all_documents, upstream.all_documents, base[:12])
                head_gates.append(
                    GateResult(PROMOTION_GATE, [finding_from_raw(r, catalog, PROMOTION_GATE, env) for r in raw], documents=len(head_side.all_documents))
                )
            # One profile judges both sides: its own findings (waivers) point into the tree it came from.
            head_verdict = fold_verdict(head_gates, evaluator.context(head_side.all_documents, profile_root), documents=len(head_side.all_documents))
            base_verdict = fold_verdict(base_gates, evaluator.context(base_side.all_documents, profile_root))
            verdicts.append((head_verdict, base_verdict, base_images))

    return _combine(verdicts, profile, scope, request, base, head, changed, cache, started)


def _load_profile(
    request: MergeRequest, repo: Repository, tree: dict[str, TreeEntry], files: RepoFiles, root: Path
) -> tuple[Profile, list[str]]:
    """The profile in force (from `tree`, written under `root`) and the repo paths that, when changed, reach everything."""
    if request.profile_path is not None:
        profile = load_profile(request.profile_path)
        in_repo: list[str] = []
    else:
        name = next((n for n in PROFILE_FILENAMES if files.exists(n)), None)
        if name is None:
            profile, in_repo = load_profile(None), []
        else:
            repo.export(tree, [name], root)
            profile = load_profile(root / name)
            in_repo = [name]
            for path in (*profile.policy_paths(), *profile.inputs.values):
                try:
                    relative = path.resolve().relative_to(root.resolve()).as_posix()
                except ValueError:
                    continue  # outside the repository: not exported, read where it is
                in_repo.append(relative)
            in_repo.extend(_named_files(profile.gates, posixpath.dirname(name), files))
            repo.export(tree, [p for p in in_repo if files.exists(p)], root)
    if request.fail_on is not None:
        profile = profile.with_fail_on(request.fail_on)
    return profile, in_repo


def _named_files(config: object, profile_dir: str, files: RepoFiles) -> list[str]:
    """Repo files a gate's settings name (trusted keys, trusted roots): the gates read them from the tree."""
    if isinstance(config, dict):
        return [p for value in config.values() for p in _named_files(value, profile_dir, files)]
    if isinstance(config, list):
        return [p for value in config for p in _named_files(value, profile_dir, files)]
    if isinstance(config, str) and "\n" not in config and len(config) < 1024:
        candidate = posixpath.normpath(posixpath.join(profile_dir, config))
        if not candidate.startswith("..") and files.exists(candidate):
            return [candidate]
    return []


def _render(units: Sequence[Unit], files: RepoFiles, root: Path, env: str | None, profile: Profile, catalog: Catalog) -> _Side:
    from scanner.inputs.loader import LoadOptions, load_targets

    side = _Side()
    options = LoadOptions(
        root=root,
        environment=env,
        set_values=tuple(profile.inputs.set_values),
        values_files=tuple(profile.inputs.values),
        max_file_bytes=profile.inputs.max_file_bytes,
        # a unit with nothing to check is judged against base (`_emptied_units`), not refused alone
        allow_empty=True,
        include_test_hooks=profile.inputs.include_test_hooks,
        default_namespace=profile.inputs.default_namespace,
    )
    for unit in units:
        if not files.exists(unit.target):
            continue  # added or deleted by the change: nothing on this side
        loaded = load_targets([root / unit.target], options)
        side.documents[unit] = list(loaded.documents)
        side.problems.extend(finding_from_raw(raw_from_problem(p), catalog, INPUT_GATE) for p in loaded.problems)
    return side


def _emptied_units(head: _Side, base: _Side, catalog: Catalog, head_root: Path) -> list[Finding]:
    """Units the change leaves with nothing to check: at head no resource, at base some (or no unit at all).

    A unit empty at both refs (a folder of non-resource YAML such as a version
    registry) is not the change's doing and stays a notice; a chart the change
    empties, or a new unit that renders nothing, is an error: nothing checked
    is never a pass.
    """
    from scanner.inputs.emptiness import nothing_checked

    found: list[Finding] = []
    for unit, documents in head.documents.items():
        if any(d.is_resource for d in documents):
            continue
        before = base.documents.get(unit)
        if before is not None and not any(d.is_resource for d in before):
            continue
        problem = nothing_checked(head_root / unit.target, unit.target, "target", allow_empty=False)
        problem.message += " (it had resources at the base ref)" if before is not None else " (a new unit)"
        found.append(finding_from_raw(raw_from_problem(problem), catalog, INPUT_GATE))
    return found


class _EnvironmentRun:
    """The gates of one environment, made on first need, with the cache in front of the cacheable ones."""

    def __init__(
        self,
        profile: Profile,
        catalog: Catalog,
        cache: ResultCache | None,
        key_context: dict[str, str],
        today: dt.date,
        policy_root: Path,
    ) -> None:
        self.profile = profile
        self.policy_root = policy_root  # the tree the profile came from (head, or base with --profile-from base): its policies
        self.catalog = catalog
        self.cache = cache
        self.key_context = {**key_context, "environment": profile.environment or ""}
        self.today = today
        self._gates: dict[str, Gate] = {}

    def gate(self, name: str) -> Gate:
        """The gate, made (policies compiled) on first use, against the profile's tree for both sides."""
        if name not in self._gates:
            self._gates[name] = gate_factory(name)(self.profile, self.policy_root)
        return self._gates[name]

    def context(self, documents: Sequence[Document], root: Path) -> GateContext:
        return GateContext(documents=documents, profile=self.profile, catalog=self.catalog, root=root, today=self.today, whole_scope=False)

    def evaluate(
        self, side: _Side, root: Path, *, head_only_gates: bool, known_images: set[Identity] | None = None
    ) -> list[GateResult]:
        """Every enabled gate over one side; with `known_images`, image gates skip documents using only those."""
        results = [GateResult(INPUT_GATE, list(side.problems), documents=len(side.all_documents))]
        for name in GATE_FACTORIES:
            if not self.profile.gate_enabled(name):
                continue
            if name in CACHEABLE_GATES:
                results.append(self._cached_gate(name, side, root))
            elif head_only_gates:
                documents = side.all_documents
                if known_images is not None and name in IMAGE_GATES:
                    documents = [d for d in documents if not image_use_identities([d]) <= known_images]
                if documents:
                    results.extend(run_gates([self.gate(name)], self.context(documents, root)))
                else:
                    results.append(GateResult(name, skipped="the change brings no new image reference"))
        return results

    def _cached_gate(self, name: str, side: _Side, root: Path) -> GateResult:
        merged = GateResult(name)
        for documents in side.documents.values():
            key = unit_key(documents, {**self.key_context, "gate": name})
            findings = self.cache.get(key) if self.cache else None
            if findings is None:
                (result,) = run_gates([self.gate(name)], self.context(documents, root))
                findings = result.findings
                if self.cache:
                    self.cache.put(key, findings)
            merged.findings.extend(findings)
            merged.documents += len(documents)
        return merged


def _combine(
    verdicts: list[tuple[Verdict, Verdict, set[tuple[str | None, ...]]]],
    profile: Profile,
    scope: Scope,
    request: MergeRequest,
    base: str,
    head: str,
    changed: list[str],
    cache: ResultCache | None,
    started: float,
) -> MergeVerdict:
    gates: dict[str, GateResult] = {}
    absent: list[Finding] = []
    notices: list[str] = []
    for head_verdict, base_verdict, base_images in verdicts:
        absent.extend(classify(head_verdict.findings, base_verdict.findings, base_images))
        for result in head_verdict.gates:
            merged = gates.setdefault(result.name, GateResult(result.name, skipped=result.skipped))
            merged.findings.extend(result.findings)
            merged.documents += result.documents
            if result.skipped is None:
                merged.skipped = None
        notices.extend(n for n in head_verdict.notices if n not in notices)
    for result in gates.values():  # one copy of what every environment reports alike (waivers)
        unique = {(f.fingerprint, f.message, f.location.path, f.location.start_line): f for f in result.findings}
        result.findings = sorted(unique.values(), key=finding_sort_key)
    if not scope.units:
        notices.append("no deployable change: the pull request changes no rendered service, environment or manifest")
    if cache is not None and cache.stats.ignored:
        notices.append(f"cache: ignored {len(cache.stats.ignored)} corrupt or foreign entr(y/ies): {'; '.join(cache.stats.ignored[:3])}")
    environments = [e for e in scope.environments if e is not None]
    return MergeVerdict(
        gates=list(gates.values()),
        fail_on=profile.fail_on,
        profile_name=profile.name,
        environment=", ".join(environments) or None,
        targets=tuple(sorted({u.target for u in scope.units})),
        notices=notices,
        duration_s=time.perf_counter() - started,
        documents=sum(h.documents for h, _, _ in verdicts),
        fail_on_by_scope={e: profile.for_environment(e).fail_on for e in environments},
        block_unchanged=request.block_unchanged,
        absent=sorted(absent, key=finding_sort_key),
        base_commit=base,
        head_commit=head,
        changed_files=changed,
        units=[f"{u.target}@{u.environment}" if u.environment else u.target for u in sorted(scope.units)],
        cache_hits=cache.stats.hits if cache else 0,
        cache_misses=cache.stats.misses if cache else 0,
    )


def _catalog_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(BUNDLED_RULES_DIR.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _version() -> str:
    from scanner import __version__

    return __version__
