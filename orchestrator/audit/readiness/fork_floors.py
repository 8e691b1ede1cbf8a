"""`release-fork-floors`: does the host's running node follow the chain past the network's current
hard fork, and past the next one?

A node older than a fork's floor cannot follow the chain once the fork is enacted (boundaries doc
§e). The forks, their floors and mainnet dates are the catalogue's (cardano/releases/forks.py, each
with its source): Plomin (PV 10.0, 10.1.4, 2025-01-29) is the current one, van Rossem (PV 11.0,
11.0.1, mainnet date UNCONFIRMED) the next one. "Current" and "next" are read against the audit's
clock; a fork whose date the catalogue does not confirm counts as next. `min-version` checks the
newest floor in every audit; this rule reports both forks, with their dates, in the readiness
report for V, and says when V itself is below the next floor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from orchestrator.audit.findings import FORK_FLOORS_RULE, Severity
from orchestrator.audit.readiness import probe_why, target
from orchestrator.audit.registry import READINESS, Result, rule
from orchestrator.cardano.releases import at_least, forks

if TYPE_CHECKING:
    from orchestrator.audit.checks import Context


def _below(word: str, fork: forks.HardFork) -> str:
    """"11.0.1, the floor of the next hard fork, van Rossem (PV 11.0, mainnet date not confirmed)"."""
    when = f"on mainnet {fork.mainnet_date}" if fork.mainnet_date else "mainnet date not confirmed"
    consequence = ": it cannot follow the chain past it" if word == "current" else ""
    return f"{fork.floor}, the floor of the {word} hard fork, {fork.name} (PV {fork.protocol_version}, {when}){consequence}"


@rule(FORK_FLOORS_RULE, "the running node is at least the floor of the network's current and next hard fork "
      "(release catalogue, with the mainnet date where known)", Severity.ERROR, category=READINESS)  # fmt: skip
def check(c: Context) -> Result:
    v = target(c)
    if c.host.network not in forks.NETWORKS:
        return False, f"no hard forks catalogued for network {c.host.network}", ""
    today = datetime.fromtimestamp(c.now, UTC).date().isoformat()
    current, upcoming = forks.current_and_next(today)
    judged = [(word, f) for word, f in (("current", current), ("next", upcoming)) if f is not None]
    running = c.facts.node_version
    if running is None:
        return False, f"cardano-node version unknown ({probe_why(c, 'binary', 'node_version')})", ""
    try:
        below = [(word, f) for word, f in judged if not at_least(running, f.floor)]
    except ValueError:
        return False, f"cardano-node reports {running!r}, not a version x.y.z to compare with the floors", ""
    lines = [f"{word}: {forks.describe(f)}: {running} is {'below' if (word, f) in below else 'at or above'} {f.floor}"
             for word, f in judged]  # fmt: skip
    if upcoming is not None and not at_least(v.version, upcoming.floor):
        lines.append(f"{v.version} itself is below the next fork's floor {upcoming.floor}: it does not prepare the "
                     f"host for {upcoming.name}")  # fmt: skip
    detail = "\n".join(lines)
    if below:
        what = "; ".join(_below(word, f) for word, f in below)
        return False, f"cardano-node {running} is below {what}: upgrade it (to {v.version} or newer)", detail
    names = ", ".join(f"{f.name} {f.floor}" for _, f in judged) or "none catalogued"
    return True, f"cardano-node {running} meets the floors of the current and next hard fork ({names})", detail
