"""The audit's rules: what a rule is, the `rule` decorator that makes a check function into one, and
`index`, which builds the table by id.

A rule is an id, a description, the roles it applies to, a default severity and a category; its
check is the function the decorator wraps. Nothing is registered as a side effect of importing a
module (issue 24): `checks.RULES` lists every rule explicitly, in report order. Adding a rule is one
decorated function in `checks` (or a module of its own, imported there: orchestrator/audit/readiness/),
its name in that list, and a line in docs/audit.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from orchestrator.audit.findings import Severity
from orchestrator.model import Host

Result = tuple[bool, str, str]  # passed, message, detail
# A result whose finding is at most this severity (one rule, several outcomes: one-forger-per-pool's
# critical two-forgers and its warning about a standby that could forge after a restart).
Graded = tuple[bool, str, str, Severity]
Check = Callable[[Any], Result | Graded]  # takes the checks' context (checks.Context)


class Applies(StrEnum):
    ALL = "all"
    RELAY = "relay"
    BLOCK_PRODUCER = "block_producer"
    PASSIVE = "passive"


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severity: Severity
    applies_to: Applies = Applies.ALL
    category: str = "node"
    check: Check | None = None  # None only for host-reachable, decided before any check runs

    @property
    def readiness(self) -> bool:
        """A readiness rule (category `readiness`): run by `audit --for-release V` only, and then
        only these (with host-reachable); they judge the host against release V, not its pin."""
        return self.category == READINESS

    def applies(self, host: Host) -> bool:
        if self.applies_to is Applies.ALL:
            return True
        return self.applies_to.value == host.role.value  # a relay's rules never judge a passive node

    def __call__(self, ctx: Any) -> Result | Graded:
        """Run the check (a decorated check function is still called as one)."""
        if self.check is None:
            raise TypeError(f"audit rule {self.id!r} has no check: it is decided before any check runs")
        return self.check(ctx)


E, W = Severity.ERROR, Severity.WARNING
READINESS = "readiness"  # the category of the rules `audit --for-release V` runs (orchestrator/audit/readiness/)
RELAY, BP = Applies.RELAY, Applies.BLOCK_PRODUCER


def index(rules: Iterable[Rule]) -> Mapping[str, Rule]:
    """The rules by id, in the given order; raises ValueError on a duplicate id (two checks must never
    share one)."""
    by_id: dict[str, Rule] = {}
    for r in rules:
        if r.id in by_id:
            raise ValueError(f"audit rule {r.id!r} listed twice")
        by_id[r.id] = r
    return MappingProxyType(by_id)


def rule(
    rule_id: str, description: str, severity: Severity, applies_to: Applies = Applies.ALL, category: str = "node"
) -> Callable[[Check], Rule]:
    """Make the decorated check function the check of a new rule (listed in checks.RULES)."""

    def wrap(check: Check) -> Rule:
        return Rule(rule_id, description, severity, applies_to, category, check)

    return wrap


def graded(result: Result | Graded, severity: Severity) -> tuple[bool, str, str, Severity]:
    """A check's result with its finding's severity: the rule's (as the policy sets it), lowered to the
    result's own cap where it gives one (never raised above what the policy says)."""
    if len(result) == 4:
        passed, message, detail, cap = result
        return passed, message, detail, cap if cap.rank < severity.rank else severity
    passed, message, detail = result
    return passed, message, detail, severity
