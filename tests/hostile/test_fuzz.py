"""Fuzzing the parsers a pull request feeds: YAML, JSON, cosign keys, Sigstore bundles.

Each parser may only answer with documents or with cdgate's own error for
bad input (`InputProblemError`, `KeyFileError`, `VerificationFailed`); any
other exception would surface as an internal error. Inputs are seeds from
`corpus/` (hostile shapes found earlier) mutated by hypothesis, plus random
text; hypothesis keeps what it finds in `hypothesis-db/`, both in the repo.
The number of examples is small so the suite stays fast; set
`CDGATE_FUZZ_EXAMPLES=2000` for a longer run (1,500 per parser found nothing).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from scanner.errors import CdgateError
from scanner.supplychain.errors import VerificationFailed

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
FUZZ = settings(
    max_examples=int(os.environ.get("CDGATE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    database=DirectoryBasedExampleDatabase(str(HERE / "hypothesis-db")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _seeds(kind: str) -> list[bytes]:
    seeds = sorted((CORPUS / kind).iterdir())
    assert seeds, f"no seeds in corpus/{kind}"
    return [p.read_bytes() for p in seeds]


def _mutated(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """A seed with a few bytes replaced, inserted or cut, or random bytes."""

    def mutate(seed: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
        data = bytearray(seed)
        for position, cut, insert in edits:
            at = position % (len(data) + 1)
            data[at : at + cut] = insert
        return bytes(data)

    edit = st.tuples(st.integers(0, 1 << 20), st.integers(0, 8), st.binary(max_size=8))
    from_seed = st.builds(mutate, st.sampled_from(seeds), st.lists(edit, max_size=6))
    return st.one_of(from_seed, st.binary(max_size=512))


def _only_clean_errors(parse: Callable[[bytes], object], data: bytes, allowed: tuple[type[BaseException], ...]) -> None:
    try:
        parse(data)
    except allowed:
        pass


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


@FUZZ
@given(_mutated(_seeds("yaml")))
def test_yaml_parser_answers_documents_or_an_input_problem(data: bytes) -> None:
    from scanner.inputs.lists import expand_lists
    from scanner.inputs.yamlpos import load_yaml_documents

    _only_clean_errors(lambda d: expand_lists(load_yaml_documents(_text(d), "f.yaml")), data, (CdgateError,))


@FUZZ
@given(_mutated(_seeds("json")))
def test_json_parser_answers_a_document_or_an_input_problem(data: bytes) -> None:
    from scanner.inputs.jsonpos import load_json_document

    _only_clean_errors(lambda d: load_json_document(_text(d), "f.json"), data, (CdgateError,))


@FUZZ
@given(_mutated(_seeds("key")))
def test_key_parsers_answer_a_key_or_a_key_file_error(data: bytes) -> None:
    from scanner.supplychain.keys import decrypt_private_key, load_public_key

    _only_clean_errors(lambda d: decrypt_private_key(d, b"pw", path="k.key"), data, (CdgateError,))
    _only_clean_errors(lambda d: load_public_key(d, path="k.pub"), data, (CdgateError,))


@FUZZ
@given(_mutated(_seeds("bundle")))
def test_bundle_parser_answers_a_bundle_or_malformed_evidence(data: bytes) -> None:
    from scanner.supplychain.bundle import parse_bundle

    _only_clean_errors(parse_bundle, data, (VerificationFailed,))


def test_corpus_seeds_each_reach_their_parser() -> None:
    """The seeds are what the fuzzing starts from; each must exist and be non-trivial."""
    counts = {kind: len(_seeds(kind)) for kind in ("yaml", "json", "key", "bundle")}
    assert all(n >= 2 for n in counts.values()), counts
