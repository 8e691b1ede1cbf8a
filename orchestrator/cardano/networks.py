"""Per-network constants of cardano-node 8.9.0 (source: book environments, see docs/domain).

Expected-slot formulas come from the genesis start times; preprod's Byron/Shelley split is
UNCONFIRMED from a primary source (community tools' figures), as the domain notes say. Magic and epoch
lengths are the shelley-genesis.json values (`networkMagic`, `epochLength`) in cardano/data/8.9.0/.
Stdlib only: the lab's simulated node bundles this module (lab/releases.py walks its imports).
"""

from __future__ import annotations

from dataclasses import dataclass

# mainnet's protocol magic (shelley-genesis.json `networkMagic`); cardano-cli takes `--mainnet` for it.
MAINNET_MAGIC = 764824073
# Byron epochs: 10k slots (k = 2160) of 20 s each (byron-genesis.json `protocolConsts.k`, `slotDuration`).
BYRON_EPOCH_SLOTS = 21600
BYRON_SLOT_SECONDS = 20


@dataclass(frozen=True)
class AccessPoint:
    address: str
    port: int


@dataclass(frozen=True)
class Network:
    name: str
    magic: int | None  # None for mainnet (`--mainnet`)
    bootstrap_peers: tuple[AccessPoint, ...]
    use_ledger_after_slot: int
    # expected slot = shelley_slot_offset + (unix_now - shelley_start_unix)
    shelley_start_unix: int
    shelley_slot_offset: int
    epoch_length: int  # slots per Shelley-era epoch (1 s slots): shelley-genesis.json `epochLength`
    # Well-known public relay names that a legacy topology points at; replaced by bootstrap peers.
    public_relay_suffixes: tuple[str, ...]
    # Where a release ships one (10.5+), the peer snapshot its topology names (cardano/shipped_topology.py).
    peer_snapshot_file: str | None = None
    # Where bootstrap_peers / use_ledger_after_slot come from, as the plan and `topology convert` say it.
    values_from: str = "the 8.9.0 book environment (cardano/networks.py)"

    def expected_slot(self, unix_now: float) -> int:
        """The slot a node in sync would be at, from the wall clock."""
        return self.shelley_slot_offset + int(unix_now - self.shelley_start_unix)

    @property
    def system_start_unix(self) -> int:
        """Unix time of slot 0: the Shelley start less the Byron era's 20 s slots."""
        return self.shelley_start_unix - self.shelley_slot_offset * BYRON_SLOT_SECONDS

    def slot_start_unix(self, slot: int) -> int:
        """Unix time (seconds) at which `slot` begins: 20 s slots before Shelley, 1 s slots after."""
        if slot < self.shelley_slot_offset:
            return self.system_start_unix + slot * BYRON_SLOT_SECONDS
        return self.shelley_start_unix + (slot - self.shelley_slot_offset)

    def epoch_of(self, slot: int) -> tuple[int, int, int]:
        """(epoch, slot in epoch, slots to the epoch's end), as `cardano-cli query tip` reports them."""
        byron = self.shelley_slot_offset
        if slot < byron:
            epoch, into = divmod(slot, BYRON_EPOCH_SLOTS)
            return epoch, into, BYRON_EPOCH_SLOTS - into
        shelley_epoch, into = divmod(slot - byron, self.epoch_length)
        return byron // BYRON_EPOCH_SLOTS + shelley_epoch, into, self.epoch_length - into

    @property
    def protocol_magic(self) -> int:
        """The magic the node's handshake and local protocols carry (mainnet's too, unlike `magic`)."""
        return MAINNET_MAGIC if self.magic is None else self.magic


PUBLIC_RELAY_NAMES = (
    "relays-new.cardano-mainnet.iohk.io",
    "backbone.cardano-mainnet.iohk.io",
    "backbone.cardano.iog.io",
    "backbone.mainnet.emurgornd.com",
    "preprod-node.play.dev.cardano.org",
    "preview-node.play.dev.cardano.org",
    "preprod-node.world.dev.cardano.org",
    "preview-node.world.dev.cardano.org",
    "relays-new.cardano-testnet.iohkdev.io",
)

NETWORKS: dict[str, Network] = {
    "mainnet": Network(
        name="mainnet",
        magic=None,
        bootstrap_peers=(
            AccessPoint("backbone.cardano.iog.io", 3001),
            AccessPoint("backbone.mainnet.emurgornd.com", 3001),
        ),
        use_ledger_after_slot=116812831,
        shelley_start_unix=1596059091,
        shelley_slot_offset=4492800,
        epoch_length=432000,
        public_relay_suffixes=PUBLIC_RELAY_NAMES,
    ),
    "preprod": Network(
        name="preprod",
        magic=1,
        bootstrap_peers=(AccessPoint("preprod-node.play.dev.cardano.org", 3001),),
        use_ledger_after_slot=52358331,
        shelley_start_unix=1655769600,
        shelley_slot_offset=86400,
        epoch_length=432000,
        public_relay_suffixes=PUBLIC_RELAY_NAMES,
    ),
    "preview": Network(
        name="preview",
        magic=2,
        bootstrap_peers=(AccessPoint("preview-node.play.dev.cardano.org", 3001),),
        use_ledger_after_slot=41385503,
        shelley_start_unix=1666656000,
        shelley_slot_offset=0,
        epoch_length=86400,
        public_relay_suffixes=PUBLIC_RELAY_NAMES,
    ),
}


def network(name: str) -> Network:
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; expected one of {', '.join(NETWORKS)}") from None


def is_public_relay(address: str) -> bool:
    """A well-known public relay name (relays-new.*, backbone.*, *-node.play.dev.cardano.org)."""
    name = address.lower().rstrip(".")
    return name in PUBLIC_RELAY_NAMES or name.startswith(("relays-new.", "backbone."))
