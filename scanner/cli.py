"""The `cdgate` command: a click group whose commands load lazily.

Each command lives in `scanner/commands/<module>.py` and is a thin shell over
the library. Loading them on demand keeps `cdgate --help` fast: nothing heavy
(regorus, checkov, helm, cryptography) is imported until a command runs.
"""

from __future__ import annotations

import importlib

import click

from scanner import __version__

# command name -> "module:attribute" under scanner.commands
COMMANDS: dict[str, str] = {
    "check": "check:check",
    "merge-gate": "merge:merge_gate",
    "policy": "policy:policy",
    "rules": "rules:rules",
    "kyverno": "kyverno:kyverno",
    "waivers": "waivers:waivers",
    "profile": "profile:profile",
    "init": "profile:init",
    "gatekeeper": "gatekeeper:gatekeeper",
    "generate-key-pair": "cosign:generate_key_pair",
    "sign-blob": "cosign:sign_blob",
    "verify-blob": "cosign:verify_blob",
    "sign": "cosign:sign",
    "verify": "cosign:verify",
    "attest": "cosign:attest",
    "verify-attestation": "cosign:verify_attestation",
    "scan": "scan:scan",
    "sbom": "scan:sbom",
    "vulndb": "scan:vulndb",
    "build-gate": "build_gate:build_gate",
    "webhook": "webhook:webhook",
}

SHORT_HELP: dict[str, str] = {
    "check": "Run the gate on CD repo paths and print the verdict.",
    "merge-gate": "Judge a CD-repo pull request by the findings it introduces.",
    "policy": "Work with Rego policies (policy test).",
    "rules": "List and show the rule catalogue.",
    "kyverno": "Run Kyverno policies and Kyverno CLI test suites.",
    "waivers": "List waivers: owner, days left, what each matched.",
    "profile": "Print gate.yaml's JSON Schema; validate a gate.yaml.",
    "init": "Write a commented starter gate.yaml for this repository.",
    "gatekeeper": "Run Gatekeeper templates and constraints, and gator suites.",
    "generate-key-pair": "Write a cosign-compatible key pair.",
    "sign-blob": "Sign a file with a cosign key.",
    "verify-blob": "Verify a file's cosign signature or bundle.",
    "sign": "Sign an image in a registry or OCI layout.",
    "verify": "Verify an image's signatures.",
    "attest": "Attach a signed in-toto attestation to an image.",
    "verify-attestation": "Verify an image's attestations.",
    "scan": "Scan an image, files, secrets or IaC (Trivy, Checkov; offline).",
    "sbom": "Write a CycloneDX or SPDX SBOM of a directory or image.",
    "vulndb": "Build a Trivy vulnerability database offline.",
    "build-gate": "Scan, decide, and sign and attest an image (the build gate).",
    "webhook": "Serve the validating admission webhook (webhook serve).",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(f"scanner.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"scanner.commands.{module_name}":
                return None
            raise
        command: click.Command = getattr(module, attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from a table so `--help` does not import every command.
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cdgate")
def main() -> None:
    """cdgate: the policy and compliance gate for GitOps CD repositories.

    Exit codes: 0 every gate passed, 1 a gate failed, 2 cdgate could not
    evaluate (bad input, bad config, engine error).
    """
