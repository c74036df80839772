"""Bounds on one evaluation, so a pathological policy cannot hang the gate.

Every recursive step (pattern nodes, foreach elements, JMESPath calls)
charges the budget; past its deadline or step cap it raises
`EvaluationLimit`, which the engine turns into an error result naming the
policy and rule (fail closed, never a pass).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

DEFAULT_SECONDS = 2.0
DEFAULT_STEPS = 2_000_000
MAX_DEPTH = 200


class EvaluationLimit(Exception):
    """The evaluation ran past its time, step or depth bound."""


@dataclass
class Budget:
    seconds: float = DEFAULT_SECONDS
    steps: int = DEFAULT_STEPS
    deadline: float = field(default=0.0)
    used: int = 0

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def charge(self, amount: int = 1) -> None:
        self.used += amount
        if self.used > self.steps:
            raise EvaluationLimit(f"evaluation exceeded {self.steps} steps")
        if self.used & 0x3FF == 0 and time.monotonic() > self.deadline:
            raise EvaluationLimit(f"evaluation exceeded {self.seconds:g}s")


MAX_RESOURCE_NODES = 200_000


def resource_problem(obj: object, limit: int = MAX_RESOURCE_NODES) -> str | None:
    """Why a resource cannot be evaluated safely, or None.

    YAML aliases can make a document cyclic or exponentially large when
    expanded (a "billion laughs"); JMESPath would loop or exhaust memory on
    it. Counting the nodes as a tree catches both before any rule runs.
    """
    stack = [obj]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > limit:
            return f"resource is cyclic or larger than {limit} nodes; it is not evaluated (fail closed)"
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None
