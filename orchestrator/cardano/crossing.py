"""What moving one host from its running release to the run's target costs: the catalogue's hops,
what the new node does with the ledger snapshots it finds (a normal start, a replay from a converted
snapshot, or a replay from genesis), the downtime to expect, and the disk the rollback's ledger
backup needs against the free space of the node's database filesystem.

Facts, with their sources:
- The hops and the ledger consequence of each are the release catalogue's (cardano/releases/:
  `path`, `Hop.ledger`, each record's `ledger_snapshot_format` and `converter`).
- A node that cannot read its snapshots skips or deletes them and, with none left, logs
  `ReplayFromGenesis` (boundaries doc §d, "What a node does with unreadable snapshots": OC
  Storage/LedgerDB/API.hs @0.26.0.1 L564-594, @3.0.1.0 L631-666). A run swaps the binary once, from
  the running release to the target, so a path with any REPLAY hop, or a CONVERT hop this run does
  not convert, replays from genesis exactly once.
- The same holds the other way: the old binary cannot read the new snapshots, so a rollback across
  a snapshot boundary replays from genesis unless the pre-upgrade `db/ledger/` is restored (§d
  "Consequence"; §f "Back up … db/ledger/ (check disk first)").
- Replay durations are not measured on the host (it has never replayed this crossing): they are the
  mainnet figures operators reported, collected in /work/shared/docs/cardano-runtime-signals-10x.md
  §5 ("Mainnet durations reported") and summed up in issue 26 as "reports of 8-10 h from genesis".
  They are shown as an estimate, as a range, and only for mainnet; no source reports a testnet's.

Everything here is pure: the planner passes the facts (cardano/releases/ is stdlib-only too).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from orchestrator.cardano import releases
from orchestrator.cardano.releases import Hop, LedgerCrossing, NodeRelease

HOUR = 3600.0


class Replay(enum.Enum):
    """What the target node does with the ledger state it finds when it first starts."""

    NONE = "no replay"  # it reads the snapshots: a normal start (a short replay from its newest snapshot)
    FROM_SNAPSHOT = "replay from a converted snapshot"  # after snapshot-converter: a normal start
    FROM_GENESIS = "replay from genesis"  # every snapshot unreadable: the whole chain again (hours)


@dataclass(frozen=True)
class ReportedReplay:
    """A replay duration operators reported, with where (the figure is theirs, not ours)."""

    network: str
    low_seconds: float
    high_seconds: float
    source: str


# cardano-wallet PR #5102 (2026-02, 10.2.1 -> 10.5.3): "~8h genesis replay"; cardano-graphql#894
# (9.1.0): ~10 h. Both mainnet, both as collected in cardano-runtime-signals-10x.md §5.
GENESIS_REPLAY_REPORTS: tuple[ReportedReplay, ...] = (
    ReportedReplay("mainnet", 8 * HOUR, 10 * HOUR,
                   "mainnet genesis replays reported at ~8 h (cardano-wallet PR #5102, 10.2.1 -> 10.5.3) and ~10 h "
                   "(cardano-graphql#894, 9.1.0), per cardano-runtime-signals-10x.md §5"),
)  # fmt: skip


@dataclass(frozen=True)
class Downtime:
    """Expected seconds the node will not serve, and what the figure rests on.

    `seconds` is the figure a budget uses: the host's own last start when it does not replay, else
    the upper end of the reported range (`low_seconds` is its lower end). None: unknown, never a
    guess. `estimate`: True when the figure is not this host's own measurement."""

    seconds: float | None
    basis: str
    estimate: bool
    low_seconds: float | None = None
    converting: bool = False  # seconds: the normal start after a conversion, whose own time is unknown


@dataclass(frozen=True)
class DiskHeadroom:
    """The disk the crossing needs on the node's database filesystem against what is free (bytes).

    needed: the pre-upgrade `db/ledger/` kept for a rollback that must not replay from genesis (its
    size as `du` measures it: a copy costs that much, and hard links keep the old snapshots' blocks
    while the new node writes its own beside them); 0 when the crossing keeps the snapshot format.
    None: unknown (the facts did not read it)."""

    needed_bytes: int | None
    free_bytes: int | None
    ledger_bytes: int | None
    basis: str

    @property
    def enough(self) -> bool | None:
        """Whether the free space covers the need; None when either is unknown."""
        if self.needed_bytes == 0:
            return True
        if self.needed_bytes is None or self.free_bytes is None:
            return None
        return self.free_bytes >= self.needed_bytes

    @property
    def shortfall(self) -> str | None:
        """The plan's error line when there is not enough room, with the numbers; else None."""
        if self.enough is not False:
            return None
        assert self.needed_bytes is not None and self.free_bytes is not None
        return (f"not enough disk for the crossing: {gib(self.needed_bytes)} needed ({self.basis}), "
                f"{gib(self.free_bytes)} free on the database filesystem")  # fmt: skip


@dataclass(frozen=True)
class Crossing:
    """One host's move from `source` (its running release) to `target`.

    `refusal`: why the crossing will not be made (a downgrade, a release the catalogue does not
    know, a provisional target); the other fields are then empty. `ledger`/`replay` are None when the
    running release was not read (the cost cannot be told)."""

    source: str | None
    target: str
    hops: tuple[Hop, ...] = ()
    ledger: LedgerCrossing | None = None
    replay: Replay | None = None
    why: str = ""  # why that replay, in the catalogue's terms
    converter: NodeRelease | None = None  # whose snapshot-converter avoids the replay (a CONVERT hop)
    rollback: str = ""  # what a rollback to `source` does with the ledger
    downtime: Downtime = Downtime(None, "", False)
    disk: DiskHeadroom = DiskHeadroom(None, None, None, "")
    refusal: str | None = None

    @property
    def path_text(self) -> str:
        """Every release the catalogue passes through: "8.9.0 -> 10.1.4 -> 10.5.3"."""
        if not self.hops:
            return f"{self.source} -> {self.target}" if self.source else f"? -> {self.target}"
        return " -> ".join([self.hops[0].source.version, *(h.target.version for h in self.hops)])

    @property
    def replays(self) -> bool:
        """The restart replays the chain from genesis (hours). A converted snapshot is not a replay: the
        converter runs before the restart (actions/convert_snapshot.py) and the node then starts from
        its snapshot as usual (migrating.mdx L150-200)."""
        return self.replay is Replay.FROM_GENESIS

    @property
    def converts(self) -> bool:
        """The run converts the snapshots with `converter`'s snapshot-converter before the restart."""
        return self.replay is Replay.FROM_SNAPSHOT and self.converter is not None

    def start_seconds(self, last_start_seconds: float | None) -> float | None:
        """Seconds the node's next start is expected to take, for the gate's automatic cap: the
        replay's estimate when the crossing replays (None when no source reports one), else the
        host's own last start (a converted snapshot too: the conversion ends before the restart). A
        rollback across the same boundary replays too (`rollback`), so the
        rollback's gate gets the same budget."""
        return self.downtime.seconds if self.replays else last_start_seconds

    @property
    def summary(self) -> str:
        """The short form for the plan table: "no replay", "replay from genesis, est. 8-10 h", ..."""
        if self.refusal is not None:
            return "refused"
        if self.replay is None:
            return "unknown"
        if self.replay is Replay.NONE:
            return "no replay"
        if self.converts:
            assert self.converter is not None
            return f"converted with {self.converter.version}'s snapshot-converter, then {downtime_text(self.downtime)}"
        text = self.replay.value
        if self.converter is not None and self.replay is Replay.FROM_GENESIS:
            text = f"{text} (or convert with {self.converter.version}'s snapshot-converter)"
        return f"{text}, {downtime_text(self.downtime)}"


def gib(n: int) -> str:
    """Bytes as GiB with one decimal (what df -h users read)."""
    return f"{n / 1024**3:.1f} GiB"


def _hours(seconds: float) -> str:
    return f"{seconds / HOUR:g} h"


def downtime_text(d: Downtime) -> str:
    """The downtime in the plan's words: "est. 8-10 h", "~42s (its last start)", "unknown"."""
    if d.converting:
        start = "unknown" if d.seconds is None else f"~{round(d.seconds)}s"
        return f"a normal start ({start}, its last) after the conversion (its time unknown)"
    if d.seconds is None:
        return "est. unknown" if d.estimate else "unknown"
    if d.estimate:
        low = d.low_seconds if d.low_seconds is not None else d.seconds
        span = _hours(d.seconds) if low == d.seconds else f"{low / HOUR:g}-{_hours(d.seconds)}"
        return f"est. {span}"
    return f"~{round(d.seconds)}s (its last start)"


def _refused(source: str | None, target: str, why: str) -> Crossing:
    return Crossing(source, target, refusal=why)


def _genesis_replay(network: str) -> Downtime:
    report = next((r for r in GENESIS_REPLAY_REPORTS if r.network == network), None)
    if report is None:
        known = ", ".join(sorted({r.network for r in GENESIS_REPLAY_REPORTS}))
        return Downtime(None, f"estimate unknown: no replay time is reported for {network} (the sources report "
                              f"{known} only); budget hours", estimate=True)  # fmt: skip
    return Downtime(report.high_seconds, f"an estimate, not measured on this host: {report.source}",
                    estimate=True, low_seconds=report.low_seconds)  # fmt: skip


def _own_start(last_start_seconds: float | None) -> Downtime:
    if last_start_seconds is None:
        return Downtime(None, "unknown: no complete start in the node's own log", estimate=False)
    return Downtime(last_start_seconds, "its last start (ChainDB opening to socket, from the node's own log)", False)


def _disk(ledger: LedgerCrossing, free_bytes: int | None, ledger_bytes: int | None) -> DiskHeadroom:
    if ledger is LedgerCrossing.NONE:
        return DiskHeadroom(0, free_bytes, ledger_bytes, "the snapshot format does not change: no ledger backup")
    basis = "room for a copy of db/ledger, the backup a rollback needs not to replay from genesis"
    if ledger_bytes is None:
        return DiskHeadroom(None, free_bytes, None, f"{basis}; its size was not read")
    if ledger_bytes == 0:  # the probe found no db/ledger (or an empty one) at the layout's db_path
        return DiskHeadroom(0, free_bytes, 0, "NO db/ledger found at the host's db_path: nothing to keep, so a "
                                              "rollback would replay from genesis (is db_path right?)")  # fmt: skip
    return DiskHeadroom(ledger_bytes, free_bytes, ledger_bytes, basis)


def _converting_hop(hops: tuple[Hop, ...]) -> Hop | None:
    """The CONVERT hop when it is the worst of the path (a later REPLAY makes a conversion useless)."""
    worst = max((h.ledger for h in hops), default=LedgerCrossing.NONE)
    if worst is not LedgerCrossing.CONVERT:
        return None
    return next(h for h in hops if h.ledger is LedgerCrossing.CONVERT)


def cross(
    source: str | None,
    target: str,
    *,
    network: str,
    last_start_seconds: float | None = None,
    free_bytes: int | None = None,
    ledger_bytes: int | None = None,
    converts: bool = False,
) -> Crossing:
    """The crossing of a host running `source` (None: not read) to `target`.

    network: the host's network (replay reports are per network). last_start_seconds: its newest
    complete start, from its own log. free_bytes / ledger_bytes: free space of the database
    filesystem and the size of `db/ledger/` (facts). converts: the run converts the snapshot with
    the target's snapshot-converter where the catalogue allows it (actions/convert_snapshot.py; the
    plan passes `ledger_conversion` from the inventory, "convert" by default).
    """
    if not releases.is_catalogued(target):
        return _refused(source, target, f"target cardano-node {target} is not in the release catalogue "
                                        f"(known: {', '.join(releases.known_versions())})")  # fmt: skip
    record = releases.lookup(target)
    if record.provisional:
        return _refused(source, target, f"target cardano-node {target} is provisional: its ledger-snapshot facts come "
                                        f"from {record.source_ref}, not a release tag, so the crossing's replay "
                                        "cannot be told; pin a tagged release")  # fmt: skip
    if source is None:
        return Crossing(None, target, why="the running release was not read: whether the node replays is unknown",
                        downtime=Downtime(None, "unknown: the running release was not read", False),
                        disk=DiskHeadroom(None, free_bytes, ledger_bytes, "unknown: the running release was not read"))
    if not releases.is_catalogued(source):
        return _refused(source, target, f"runs cardano-node {source}, a release the catalogue does not know: "
                                        "its ledger snapshots cannot be judged")  # fmt: skip
    if releases.is_older(target, source):
        why = f"downgrade from {source} to {target} refused: {target} is older (this tool never downgrades)"
        if releases.forces_replay(source, target):
            why += f"; {target} cannot read {source}'s ledger snapshots and would replay from genesis"
        return _refused(source, target, why)
    hops = releases.path(source, target)
    ledger = max((h.ledger for h in hops), default=LedgerCrossing.NONE)
    disk = _disk(ledger, free_bytes, ledger_bytes)
    if ledger is LedgerCrossing.NONE:
        why = (f"{target} reads {source}'s ledger snapshots (same format, {record.ledger_snapshot_format.name})"
               if hops else "same release")
        return Crossing(source, target, hops, ledger, Replay.NONE, why,
                        rollback=f"a rollback to {source} reads the same snapshots",
                        downtime=_own_start(last_start_seconds), disk=disk)  # fmt: skip
    worst = next(h for h in hops if h.ledger is ledger)
    rollback = (f"a rollback to {source} would replay from genesis as well ({source} cannot read {target}'s "
                "snapshots): the run keeps db/ledger before the restart (a copy, with the node stopped) and a "
                "rollback restores it")  # fmt: skip
    converting = _converting_hop(hops)
    if converting is not None:
        converter = converting.target
        tool = f"{converter.version}'s snapshot-converter ({converter.converter})"
        if converts:
            own = _own_start(last_start_seconds)
            return Crossing(source, target, hops, ledger, Replay.FROM_SNAPSHOT,
                            f"{converting}: the snapshot format changes; converted with {tool} before the restart, "
                            "so the node starts from the converted snapshot, not from genesis", converter, rollback,
                            Downtime(own.seconds, "no source reports a conversion's time (a Legacy snapshot read and "
                                                  f"written once, not a replay); then {own.basis}", estimate=True,
                                     converting=True), disk)  # fmt: skip
        return Crossing(source, target, hops, ledger, Replay.FROM_GENESIS,
                        f"{converting}: {converter.version} cannot read {converting.source.version}'s snapshots "
                        f"({converting.source.ledger_snapshot_format.name} -> "
                        f"{converting.target.ledger_snapshot_format.name}); converting them with {tool} avoids "
                        "the replay, and this run does not convert",
                        converter, rollback, _genesis_replay(network), disk)  # fmt: skip
    crossed = ", ".join(f"{h} ({h.ledger.name.lower()})" for h in hops if h.ledger is not LedgerCrossing.NONE)
    formats = f"{worst.source.ledger_snapshot_format.name} -> {worst.target.ledger_snapshot_format.name}"
    return Crossing(source, target, hops, ledger, Replay.FROM_GENESIS,
                    f"snapshot boundaries crossed: {crossed}; at {worst} the ledger serialisation changes ({formats}): "
                    f"{worst.target.sources['ledger_snapshot_format']}; no converter avoids it",
                    None, rollback, _genesis_replay(network), disk)  # fmt: skip
