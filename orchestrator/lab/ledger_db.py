"""The lab node's `<db>/ledger/`: ledger snapshots in the on-disk generation of the node's release,
and what a node does with the snapshots it finds when it opens the Ledger DB.

The lab models the boundaries the product must cross (issue 26 item 6): a release that finds no
snapshot it can read replays the chain from genesis (longer than its ordinary start), so a rollback
that does not restore the old `db/ledger/` pays that replay too — and one that restores it starts
as usual. The rules are the node's, as the boundaries doc §d collects them:

- Layouts (OC `Storage/LedgerDB/Snapshots.hs`; CHANGELOG 1.0.0.0): ≤10.3 a file `<slot>`;
  10.4-10.6 a directory `<slot>/` with `state`, `tables/` and `meta`
  (`{"backend": "utxohd-mem", "checksum": N}`); 10.7+ `tables` is a file and `meta` also holds
  `tablesCodecVersion`. The generation of each release is the catalogue's
  (`NodeRelease.ledger_snapshot_format`, cardano/releases/), which the product's crossing plan reads
  too — one record, two readers.
- Opening (OC `Storage/LedgerDB/API.hs` @0.26.0.1 L564-594, @3.0.1.0 L631-666): snapshots are
  tried newest first; a missing `meta` and (10.7+) a legacy file are skipped with an
  `InvalidSnapshot` trace; any other failure deletes the snapshot when its name has no suffix, then
  the next is tried; with none left the node replays from genesis.
- 10.4 and 10.6 share a layout and differ in the serialisation of `state` ("a change in
  serialization … can only be done via a replay", migrating.mdx L164-176): the lab writes its
  generation into `state` so that a reader of the other generation fails to decode it, as the real
  decoder does.
- A node keeps two snapshots on disk (the LedgerDB's default `onDiskNumSnapshots`, OC
  `Storage/LedgerDB/Snapshots.hs` `defaultDiskPolicy`), deleting older ones when it writes a new one.

A lab that was provisioned but never started has no `ledger/` directory: the lab's provisioning
stands for a synced host, so the first open writes the release's own snapshot (said, not hidden:
`Opening.provisioned`). A `ledger/` that exists, even empty, is judged by the rules above.

Stdlib only: this module ships inside the lab's release tarballs (lab/releases.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field

from orchestrator.cardano import releases
from orchestrator.cardano.releases.record import LedgerSnapshotFormat

LEDGER_DIR = "ledger"
KEEP_SNAPSHOTS = 2  # defaultDiskPolicy: onDiskNumSnapshots = 2
STATE_PREFIX = "lab-ledger-state "  # + the generation's name: what the lab's decoder checks
_NAME = re.compile(r"^(\d+)(?:_(\S+))?$")  # <slot>[_suffix] (DiskSnapshot dsNumber, dsSuffix)


def generation(version: str) -> LedgerSnapshotFormat:
    """The snapshot generation `version` reads and writes (its catalogue record)."""
    return releases.lookup(version).ledger_snapshot_format


@dataclass(frozen=True)
class Snapshot:
    """One entry of `<db>/ledger/` as the node names it: slot and optional suffix."""

    path: str
    slot: int
    suffix: str | None


@dataclass
class Opening:
    """What opening the Ledger DB found: the snapshot it replays from (None: genesis), the ones it
    skipped and deleted (name, reason), and whether the lab's provisioning wrote the first one."""

    snapshot: Snapshot | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    provisioned: bool = False


def ledger_dir(database: str) -> str:
    return os.path.join(database, LEDGER_DIR)


def snapshots(database: str) -> list[Snapshot]:
    """The snapshots in `<db>/ledger/`, newest first (other names are not snapshots: ignored)."""
    root = ledger_dir(database)
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        m = _NAME.match(name)
        if m:
            found.append(Snapshot(os.path.join(root, name), int(m.group(1)), m.group(2)))
    return sorted(found, key=lambda s: (s.slot, s.suffix or ""), reverse=True)


def written_generation(snap: Snapshot) -> LedgerSnapshotFormat | str:
    """The generation a snapshot on disk was written in, or why it cannot be read (a text)."""
    if os.path.isfile(snap.path):
        return LedgerSnapshotFormat.LEGACY_FILE
    if not os.path.isfile(os.path.join(snap.path, "meta")):
        return "missing meta"
    try:
        with open(os.path.join(snap.path, "state"), encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        return f"unreadable state: {exc.strerror}"
    if not text.startswith(STATE_PREFIX):
        return "state does not decode"
    try:
        return LedgerSnapshotFormat[text.removeprefix(STATE_PREFIX).strip()]
    except KeyError:
        return "state does not decode"


def _verdict(reader: LedgerSnapshotFormat, snap: Snapshot) -> tuple[str, str] | None:
    """None: `reader` replays from it; else (skip|delete, reason) by API.hs's rules."""
    written = written_generation(snap)
    if written == reader:
        return None
    if written == "missing meta" and reader >= LedgerSnapshotFormat.UTXOHD_10_4:
        return "skip", "missing meta"
    if written == LedgerSnapshotFormat.LEGACY_FILE and reader >= LedgerSnapshotFormat.UTXOHD_10_7:
        return "skip", "a legacy snapshot (convert it with snapshot-converter)"
    reason = (f"written by a {written.name} node: expected change in the serialization format, which currently "
              "requires a chain replay") if isinstance(written, LedgerSnapshotFormat) else str(written)  # fmt: skip
    return ("delete" if snap.suffix is None else "skip"), reason


def open_ledger(database: str, version: str, slot: int, immutable_tip: int | None = None) -> Opening:
    """Open `<db>/ledger/` as `version` does: the newest snapshot it reads, deleting or skipping the
    others on the way. `slot`: where the lab's provisioning puts the first snapshot of a host that
    never started. `immutable_tip` (lab/immutable_db.py; None: no immutable/ yet): a snapshot ahead
    of it is not used — the node replays the immutable blocks after a snapshot's point and fails
    one whose point it does not hold with `InitFailureTooRecent` ("ahead of the tip of the immutable
    chain", OC `Storage/LedgerDB/Snapshots.hs` SnapshotFailure), a failure like any other."""
    reader = generation(version)
    root = ledger_dir(database)
    opening = Opening()
    if not os.path.isdir(root):
        write_snapshot(database, version, slot)
        opening.provisioned = True
    for snap in snapshots(database):
        verdict = _verdict(reader, snap)
        if verdict is None and immutable_tip is not None and snap.slot > immutable_tip:
            verdict = ("delete" if snap.suffix is None else "skip"), f"too recent (ahead of the immutable tip {immutable_tip})"
        if verdict is None:
            opening.snapshot = snap
            return opening
        action, reason = verdict
        name = os.path.basename(snap.path)
        if action == "delete":
            _remove(snap.path)
            opening.deleted.append((name, reason))
        else:
            opening.skipped.append((name, reason))
    return opening


def write_snapshot(database: str, version: str, slot: int) -> str:
    """Write `version`'s snapshot at `slot` (atomically: a temporary name, then a rename), then keep
    only the newest KEEP_SNAPSHOTS of this generation's unsuffixed snapshots. The path written."""
    gen = generation(version)
    root = ledger_dir(database)
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, str(slot))
    tmp = os.path.join(root, f".{slot}.tmp")
    write_entry(tmp, gen, slot)
    _remove(final)
    os.rename(tmp, final)
    own = [s for s in snapshots(database) if s.suffix is None and written_generation(s) == gen]
    for old in own[KEEP_SNAPSHOTS:]:
        _remove(old.path)
    return final


def write_entry(path: str, gen: LedgerSnapshotFormat, slot: int) -> None:
    """Write one snapshot of generation `gen` at `path` (whatever was there is replaced): a file for
    the legacy layout, else the UTxO-HD directory (`state`, `tables`, `meta`)."""
    _remove(path)
    state = f"{STATE_PREFIX}{gen.name}\n"
    if gen is LedgerSnapshotFormat.LEGACY_FILE:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(state)
        return
    os.makedirs(path)
    with open(os.path.join(path, "state"), "w", encoding="utf-8") as handle:
        handle.write(state)
    meta: dict[str, object] = {"backend": "utxohd-mem", "checksum": slot % 4294967296}
    if gen >= LedgerSnapshotFormat.UTXOHD_10_7:
        meta["tablesCodecVersion"] = 1
        open(os.path.join(path, "tables"), "w").close()  # noqa: SIM115 - an empty file
    else:
        os.makedirs(os.path.join(path, "tables"))
        open(os.path.join(path, "tables", "tvar"), "w").close()  # noqa: SIM115 - an empty file
    with open(os.path.join(path, "meta"), "w", encoding="utf-8") as handle:
        json.dump(meta, handle)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
