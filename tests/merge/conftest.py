"""The merge-gate tests use the supply-chain fixtures: a real registry and test keys."""

from supplychain.conftest import other_key, registry, registry_options, signing_key  # noqa: F401
