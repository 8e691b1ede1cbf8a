"""The audit's rules: each one registered together with its check by the `rule` decorator.

A rule is an id, a description, the roles it applies to, a default severity and a category; its
check is the function the decorator wraps. Adding a rule is one decorated function in `checks`
(and a line in docs/audit.md); the registry keeps definition order, which is report order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from orchestrator.audit.findings import Severity
from orchestrator.model import Host

Result = tuple[bool, str, str]  # passed, message, detail
Check = Callable[[Any], Result]  # takes the checks' context (checks.Context)


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

    def applies(self, host: Host) -> bool:
        if self.applies_to is Applies.ALL:
            return True
        return self.applies_to.value == host.role.value  # a relay's rules never judge a passive node


E, W = Severity.ERROR, Severity.WARNING
RELAY, BP = Applies.RELAY, Applies.BLOCK_PRODUCER


RULES: list[Rule] = []
RULES_BY_ID: dict[str, Rule] = {}


def register(new: Rule) -> Rule:
    """Add a rule; raises ValueError on a duplicate id (two checks must never share one)."""
    if new.id in RULES_BY_ID:
        raise ValueError(f"audit rule {new.id!r} registered twice")
    RULES.append(new)
    RULES_BY_ID[new.id] = new
    return new


def rule(
    rule_id: str, description: str, severity: Severity, applies_to: Applies = Applies.ALL, category: str = "node"
) -> Callable[[Check], Check]:
    """Register the decorated function as the check of a new rule."""

    def wrap(check: Check) -> Check:
        register(Rule(rule_id, description, severity, applies_to, category, check))
        return check

    return wrap
