"""CEL policies on cel-expr-python: ValidatingAdmissionPolicy, Kyverno's CEL kinds, Gatekeeper's CEL.

The modules split the work: `program` compiles and evaluates one expression
under a cost budget; `library` and `values` add the Kubernetes and Kyverno
functions; `checks` runs matchConditions, variables and validations;
`matching` and `request` describe the admission request; `vap` is
ValidatingAdmissionPolicy with its bindings; `engine` is the gate's "cel"
engine; `k8s_native` serves Gatekeeper's K8sNativeValidation. Nothing here
imports cel-expr-python until an expression is compiled (see docs/cel.md).
"""
