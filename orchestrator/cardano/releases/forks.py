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
