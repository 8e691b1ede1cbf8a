"""A node's role in the estate and a passive node's peering form: the vocabulary the node's own rules
(topology, config, migrations) are written in, so it lives with them; `orchestrator.model` re-exports it
for the inventory, plans and runs (cardano is the leaf: it imports nothing of the rest, issue 24).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A host's place in the estate. A passive node (an exchange's, a wallet provider's, an explorer's)
    neither produces blocks nor relays for a pool: it feeds wallets, db-sync or submit-api."""

    RELAY = "relay"
    BLOCK_PRODUCER = "block_producer"
    PASSIVE = "passive"
    HELPER = "helper"  # not a node: a host hooks run on (delegate_to), e.g. a load balancer


class PassiveTopology(StrEnum):
    """How a passive node finds peers (the two forms of the node's P2P topology a non-pool node uses).

    LEDGER: the network's bootstrap peers and ledger peers, like a relay, but nothing advertised.
    PRIVATE: only the local roots the operator lists, useLedgerAfterSlot -1 (never ledger peers),
    no bootstrap peers (absent: Genesis Lite off). Source: cardano-node 8.9.0
    src/Cardano/Node/Configuration/TopologyP2P.hs (useLedgerAfterSlot < 0 = never; bootstrapPeers
    absent/null = off); docs/cardano-8.9.0-p2p.md §1.
    """

    LEDGER = "ledger"
    PRIVATE = "private"
