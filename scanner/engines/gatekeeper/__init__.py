"""Gatekeeper ConstraintTemplates and Constraints on regorus (`docs/gatekeeper.md`).

`client` compiles templates and constraints and reviews objects;
`engine` is the manifest gate's `PolicyEngine`; `verify` runs gator suites.
"""
