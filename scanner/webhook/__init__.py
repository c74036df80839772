"""The validating admission webhook: the same gates, waivers and rule ids as CI, inside the cluster.

`review` parses and answers AdmissionReview v1; `decision` runs the gates
over one object; `app` is the ASGI app; `server` runs it on uvicorn with TLS;
`settings` reads gate.yaml's `webhook:` section; `sigcache`, `namespaces`,
`tls`, `metrics`, `jsonlog` and `policy_report` are its helpers.
"""
