"""Supply chain: cosign-compatible keys, signatures and attestations, and an OCI client.

No cosign binary runs here, so cdgate speaks cosign's formats itself:

- `reference`: image references (`registry/repo:tag@digest`, docker.io defaults).
- `auth`, `oci`: the OCI distribution API over httpx, and OCI layout directories.
- `keys`: cosign's encrypted key files (scrypt + nacl secretbox + PKCS#8 P-256).
- `dsse`, `intoto`: DSSE envelopes (PAE) and in-toto statements and predicates.
- `bundle`, `rekor`: Sigstore bundles (v0.1-v0.3) and Rekor signed entry timestamps.
- `simplesigning`, `cosign`: image signatures and attestations as cosign stores them,
  under the legacy `sha256-<hex>.sig`/`.att` tags and as OCI 1.1 referrers.
- `blob`: `sign-blob` / `verify-blob` (signature files and bundles).
- `conditions`: Rego conditions on attestation predicates.
- `workload_images`: every image a Kubernetes document would run, and where.

Everything verifies the bytes it was given, never a re-serialisation of them.
"""
