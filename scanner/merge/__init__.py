"""The merge gate: judge a CD-repo pull request by what it changes (`cdgate merge-gate`).

`git` reads refs and exports trees, `scope` decides which services and
environments a change reaches, `cache` keeps evaluated units across runs,
`promotion` checks that images move through the environments in order,
`classify` marks findings new, unchanged or absent against the base, and
`run` ties them together into a `MergeVerdict`.
"""
