"""Hard forks and the node release each one requires (boundaries doc §e): the compliance floors.

A node older than a fork's floor cannot follow the chain after the fork. The floor is the same
release on every public network (the forks reach preview and preprod first, on earlier dates).
"""

from __future__ import annotations

from dataclasses import dataclass

NETWORKS: tuple[str, ...] = ("mainnet", "preprod", "preview")


@dataclass(frozen=True)
class HardFork:
    name: str
    protocol_version: str  # the major.minor protocol version the fork enacts
    floor: str  # the oldest catalogued node release that follows the chain past it
    mainnet_date: str | None  # ISO date; None: not confirmed
    source: str


HARD_FORKS: tuple[HardFork, ...] = (
    HardFork("Chang", "9.0", "9.1.0", "2024-09-01", "cardanoupgrades.docs.intersectmbo.org chang-upgrade-1-overview"),
    HardFork("Plomin", "10.0", "10.1.4", "2025-01-29", "cardanoproject.blog 2025-01-29; 10.1.4 release notes"),
    HardFork("van Rossem", "11.0", "11.0.1", None, "11.0.1 release notes: first release to support the PV11 hard fork"),
)


def current_and_next(today: str) -> tuple[HardFork | None, HardFork | None]:
    """The newest catalogued fork enacted on mainnet by `today` (ISO date) and the oldest one not
    yet (a future date, or a date the sources do not confirm: van Rossem's is UNCONFIRMED, so it
    counts as next until the catalogue records its date). Either may be None."""
    done = [f for f in HARD_FORKS if f.mainnet_date is not None and f.mainnet_date <= today]
    pending = [f for f in HARD_FORKS if f.mainnet_date is None or f.mainnet_date > today]
    return (done[-1] if done else None), (pending[0] if pending else None)


def fork_with_floor(floor: str) -> HardFork | None:
    """The catalogued fork whose floor is `floor` (the newest such), for naming it beside the version."""
    found = [f for f in HARD_FORKS if f.floor == floor]
    return found[-1] if found else None


def describe(fork: HardFork) -> str:
    """"van Rossem (PV 11.0, floor 11.0.1, mainnet date not confirmed)"."""
    when = f"on mainnet {fork.mainnet_date}" if fork.mainnet_date else "mainnet date not confirmed"
    return f"{fork.name} (PV {fork.protocol_version}, floor {fork.floor}, {when})"


def chain_era(version: str) -> str:
    """The era `cardano-cli query tip` names on a public network today for a node of `version`:
    Conway since the Chang hard fork (it started the Conway era, mainnet epoch 507, 2024-09-01;
    cardanoupgrades.docs.intersectmbo.org chang-upgrade-1-overview) for a node at or above its floor;
    an older node cannot follow the chain past the fork and stays in Babbage. Plomin (protocol 10.0)
    stayed in Conway; van Rossem (11.0) is taken to stay in Conway too (UNCONFIRMED: no source in the
    snapshot names its era; cardano-cli 11.0.0.0's `dijkstra` group has node commands only)."""
    from orchestrator.cardano.releases.catalogue import at_least

    chang = next(f for f in HARD_FORKS if f.name == "Chang")
    return "Conway" if at_least(version, chang.floor) else "Babbage"
