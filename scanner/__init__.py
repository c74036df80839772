"""cdgate: the policy and compliance gate in front of GitOps CD repositories."""

__version__ = "0.1.0"
