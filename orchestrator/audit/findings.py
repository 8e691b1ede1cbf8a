"""What an audit found: severities, findings per host, and the report with its exit code.

Plain values only (renderers in orchestrator/report/ read them); the checks live in `checks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.audit.policy import Policy

REACHABLE = "host-reachable"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    # Above error: the pool may lose or duplicate blocks now (one-forger-per-pool: two forgers or none).
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2, "critical": 3}[self.value]


FORK_FLOORS_RULE = "release-fork-floors"  # audit/readiness/fork_floors.py: the running node's floors


@dataclass(frozen=True)
class Finding:
    host: str
    rule: str
    severity: Severity
    passed: bool
    message: str
    detail: str = ""  # more text (a diff for `drift`, the node's error text, ...)
    skipped: bool = False  # not evaluated: the host could not be probed

    @property
    def failed(self) -> bool:
        return not self.passed and not self.skipped


@dataclass(frozen=True)
class HostAudit:
    host: str
    role: str
    reachable: bool
    slot_lag: int | None
    findings: tuple[Finding, ...]
    node_version: str | None = None  # what `cardano-node --version` said (None: unknown)
    kes_periods_left: int | None = None  # a producer's remainingKESPeriods metric (None: not exported)


@dataclass(frozen=True)
class AuditReport:
    source: str  # the inventory
    policy: Policy
    timestamp: float
    hosts: tuple[HostAudit, ...]
    error: str | None = None  # the audit did not run: why (inventory, vault password, policy, arguments)
    duration: float | None = None  # seconds the audit took (load, probe, checks)
    fleet: str = ""  # the label that tells two audited inventories apart (--fleet, default the -i path)
    for_release: str | None = None  # a readiness report for this release (audit --for-release V)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for h in self.hosts for f in h.findings)

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.failed)

    @property
    def failing(self) -> tuple[Finding, ...]:
        """Failures at or above the policy's fail_on severity."""
        bar = self.policy.fail_on.rank
        return tuple(f for f in self.failures if f.severity.rank >= bar)

    @property
    def unreachable(self) -> tuple[str, ...]:
        return tuple(f.host for f in self.findings if f.rule == REACHABLE and not f.passed)

    @property
    def exit_code(self) -> int:
        """2: the audit did not run, or a host could not be audited (unreachable/probe failed); 1: failing
        findings; 0: compliant."""
        if self.error is not None or self.unreachable:
            return 2
        return 1 if self.failing else 0

    @property
    def compliant(self) -> bool:
        return self.exit_code == 0

    @property
    def reason(self) -> str:
        """One line: why the exit code is what it is (for machine outputs and alerts)."""
        if self.error is not None:
            return f"not run: {self.error}"
        if self.unreachable:
            return "incomplete: unreachable or not probed: " + ", ".join(self.unreachable)
        if self.failing:
            hosts = ", ".join(sorted({f.host for f in self.failing}))
            if self.for_release is not None:
                return f"not ready for {self.for_release}: {len(self.failing)} failing check(s) on {hosts}"
            return f"{len(self.failing)} failing finding(s) on {hosts}"
        return f"ready for {self.for_release}" if self.for_release is not None else "compliant"

    def host_ready(self, host: HostAudit) -> bool:
        """A host passes the readiness report: reachable, and no failing check at or above fail_on."""
        bar = self.policy.fail_on.rank
        return host.reachable and not any(f.failed and f.severity.rank >= bar for f in host.findings)

    def host_can_take(self, host: HostAudit) -> bool:
        """A host not ready only because its RUNNING node is below a fork's floor: every other check
        for V passes, so upgrading it to V is what makes it ready (operator trial: a report that says
        NOT READY for every host of a fleet that has not upgraded yet must also say which can)."""
        bar = self.policy.fail_on.rank
        blocking = [f for f in host.findings if f.failed and f.severity.rank >= bar]
        return host.reachable and bool(blocking) and all(f.rule == FORK_FLOORS_RULE for f in blocking)
