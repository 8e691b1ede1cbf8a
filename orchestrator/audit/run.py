"""The audit itself: every enabled rule that applies to a host yields exactly one Finding for it.

When the host could not be probed the other rules are reported as skipped, so an unreachable host
is never silently left out. Pure: facts in, an AuditReport out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from orchestrator.audit.checks import RULES, RULES_BY_ID, Context, host_slot_lag
from orchestrator.audit.findings import REACHABLE, AuditReport, Finding, HostAudit
from orchestrator.audit.policy import Policy
from orchestrator.audit.registry import graded
from orchestrator.facts.probe import HostFacts
from orchestrator.model import Host, Inventory


def audit_host(host: Host, facts: HostFacts, inventory: Inventory, policy: Policy, now: float,
               out_of_rotation: Mapping[str, str] | None = None, for_release: str | None = None,
               fleet_facts: Mapping[str, HostFacts] | None = None) -> list[Finding]:  # fmt: skip
    """One finding per enabled rule that applies to the host, in RULES order. out_of_rotation: host →
    why a run's journal says it is drained (roll/journal.out_of_rotation_in). for_release: the
    readiness report for that release (`audit --for-release`): host-reachable and the readiness
    rules only; without it, every other rule. fleet_facts: every audited host's facts (a pool's rule
    reads the other hosts of the pool); default this host's only."""
    rules = [r for r in RULES if r.applies(host) and policy.enabled(r)
             and (r.id == REACHABLE or r.readiness == (for_release is not None))]  # fmt: skip
    reach = RULES_BY_ID[REACHABLE]
    findings: list[Finding] = []
    if not facts.reachable or facts.error is not None:
        why = facts.error or "unreachable"
        message = f"unreachable: {why}" if not facts.reachable else why
        findings.append(Finding(host.name, REACHABLE, policy.severity(reach), False, message))
        for rule in rules:
            if rule.id != REACHABLE:
                findings.append(Finding(host.name, rule.id, policy.severity(rule), False,
                                        "not checked: the host could not be probed", skipped=True))  # fmt: skip
        return findings
    ctx = Context(host, facts, inventory, policy, now, MappingProxyType(dict(out_of_rotation or {})), for_release,
                  MappingProxyType(dict(fleet_facts or {host.name: facts})))  # fmt: skip
    for rule in rules:
        severity = policy.severity(rule)
        if rule.id == REACHABLE:
            passed, message, detail = True, f"probed ({facts.hostname or host.address})", ""
        else:
            passed, message, detail, severity = graded(rule.check(ctx), severity)  # type: ignore[misc]
        findings.append(Finding(host.name, rule.id, severity, passed, message, detail))
    return findings


def audit(
    inventory: Inventory,
    facts: Mapping[str, HostFacts],
    policy: Policy,
    now: float,
    hosts: Sequence[Host] | None = None,
    out_of_rotation: Mapping[str, str] | None = None,
    for_release: str | None = None,
) -> AuditReport:
    """Audit the given hosts (default: every inventory host); a host without facts is unreachable.
    for_release: the readiness report for that catalogued release instead (audit --for-release)."""
    chosen = inventory.hosts if hosts is None else tuple(hosts)
    audits = []
    for host in chosen:
        f = facts.get(host.name) or HostFacts(host.name, reachable=False, error="not probed", network=host.network)
        findings = audit_host(host, f, inventory, policy, now, out_of_rotation, for_release, facts)
        lag = host_slot_lag(f, now, policy) if f.reachable else None
        audits.append(HostAudit(host.name, host.role.value, f.reachable and f.error is None, lag, tuple(findings),
                                node_version=f.node_version if f.reachable else None,
                                kes_periods_left=f.remaining_kes_periods if f.reachable and host.is_producer else None))
    return AuditReport(inventory.source, policy, now, tuple(audits), for_release=for_release)
