"""Audit rule one-forger-per-pool: exactly one host of each pool forges (issue 27).

A pool is a block producer and its standby (the standby's `standby_for` names it; load/inventory.py).
Nothing in the node stops two producers with the same credentials forging at once — two blocks for
one slot from one pool — and the cardano-node wiki leaves avoiding it to the operator
(runtime-signals doc §4, "Two forgers"); a pool where none forges misses every leader slot. Both
are critical. Who forges is the `forging` fact (facts/forging.py, cardano/forging.py's rules): the
leadership-check counter rising between two samples proves forging; `forging_enabled` reading 1
without it is only a claim (it reads 1 during a replay, Run.hs L277-282), so a host that claims it
beside a proven forger is counted as a second forger in waiting.

The rule is judged on every host of the pool (each gets the pool's verdict). On a standby that is
idle while its producer forges, one thing more: credential files present and no
`--start-as-non-producing-node` on its command line mean that its next restart (an upgrade, a
reboot) starts it forging beside the producer — a warning, with the reason.
"""

from __future__ import annotations

from typing import Any

from orchestrator.audit.findings import Severity
from orchestrator.audit.registry import Applies, Graded, Result, rule
from orchestrator.cardano.forging import Forging
from orchestrator.facts.model import ForgingFact, HostFacts
from orchestrator.model import Host, Inventory

ID = "one-forger-per-pool"


def pool_of(host: Host, inventory: Inventory) -> tuple[Host, Host | None]:
    """(producer, its standby or None) of the pool `host` belongs to (a producer or a standby)."""
    producer = host
    if host.standby_for is not None:
        producer = next((h for h in inventory.hosts if h.name == host.standby_for), host)
    standby = next((h for h in inventory.hosts if h.standby_for == producer.name), None)
    return producer, standby


def _state(facts: HostFacts | None) -> tuple[Forging, ForgingFact | None, str]:
    """The host's forging, its fact, and why it is unknown (when it is)."""
    if facts is None:
        return Forging.UNKNOWN, None, "not audited (left out by --limit?)"
    if not facts.reachable or facts.error is not None:
        return Forging.UNKNOWN, None, facts.error or "unreachable"
    f = facts.forging
    if f is None:
        return Forging.UNKNOWN, None, facts.probe_errors.get("forging", "its forging was not probed")
    return f.state, f, f.note or "nothing exported"


def _evidence(name: str, state: Forging, f: ForgingFact | None) -> str:
    if f is None or state is Forging.UNKNOWN:
        return f"{name}: {state.label}"
    if state is Forging.ON:
        return f"{name} forges (leadership checks {f.checks_before} → {f.checks_after} in {f.interval_seconds:g} s)"
    if state is Forging.ENABLED:
        return f"{name}: forging_enabled 1, no leadership check rising in {f.interval_seconds:g} s"
    return f"{name}: not forging" + ("" if f.running else " (node not running)")


@rule(ID, "each pool (a producer and its standby) has exactly one host forging: never two, never none",
      Severity.CRITICAL, Applies.BLOCK_PRODUCER, "forging")  # fmt: skip
def check(c: Any) -> Result | Graded:
    producer, standby = pool_of(c.host, c.inventory)
    members = [producer] if standby is None else [producer, standby]
    seen = {h.name: _state(c.fleet_facts.get(h.name)) for h in members}
    evidence = "; ".join(_evidence(n, s, f) for n, (s, f, _) in seen.items())
    pool = f"pool of {producer.name}"
    on = [n for n, (s, _, _) in seen.items() if s is Forging.ON]
    claims = [n for n, (s, _, _) in seen.items() if s is Forging.ENABLED]
    unknown = [f"{n} ({why})" for n, (s, _, why) in seen.items() if s is Forging.UNKNOWN]
    if len(on) >= 2:
        return False, (f"{pool}: {' and '.join(on)} both forge: two blocks per leader slot from one pool; disable "
                       "one now (rename its credential files away, SIGHUP it)"), evidence  # fmt: skip
    if on and claims:
        return False, (f"{pool}: {on[0]} forges and {', '.join(claims)} reports forging_enabled 1: a second forger "
                       "as soon as its replay ends; disable it"), evidence  # fmt: skip
    if len(claims) >= 2:
        return False, f"{pool}: {' and '.join(claims)} both report forging_enabled 1 (none proven yet)", evidence
    if unknown:
        if on:
            return False, f"{pool}: {on[0]} forges; cannot tell about {', '.join(unknown)}", evidence, Severity.ERROR
        return False, f"{pool}: cannot tell who forges: {', '.join(unknown)}", evidence, Severity.ERROR
    if not on:
        if claims:
            f = seen[claims[0]][1]
            if f is not None and (f.checks_before is None or f.checks_after is None):
                return False, (f"{pool}: {claims[0]} reports forging_enabled 1 but exports no leadership-check "
                               "counter: its forging cannot be proven"), evidence, Severity.WARNING  # fmt: skip
            return False, (f"{pool}: no host forges: {claims[0]} reports forging_enabled 1 but did no leadership "
                           "check (replaying?): every leader slot is missed until it does"), evidence  # fmt: skip
        return False, f"{pool}: no host forges: every leader slot is missed", evidence
    if standby is not None and c.host.name == standby.name:
        f = seen[standby.name][1]
        if f is not None and f.credentials_present and not f.non_producing:
            return False, (f"{pool}: {on[0]} forges, but {standby.name}'s credential files are present and it was not "
                           f"started with --start-as-non-producing-node: its next restart forges beside {on[0]}; "
                           "rename them away (the handover does) or add the flag"), evidence, Severity.WARNING  # fmt: skip
    idle = [n for n in seen if n not in on]
    return True, f"{pool}: {on[0]} forges" + (f", {idle[0]} idle" if idle else ""), evidence


RULE = check
