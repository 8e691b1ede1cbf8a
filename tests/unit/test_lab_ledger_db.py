"""The lab node's db/ledger (lab/ledger_db.py): snapshots in each release's generation and what a
release does with the ones it finds (OC API.hs rules, boundaries doc §d) — and that the lab and the
product's crossing plan (cardano/crossing.py) agree on every catalogued upgrade, since both read
the one catalogue record (the lab may not be the only oracle of a rule the product wrote)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from orchestrator.cardano import releases
from orchestrator.cardano.crossing import Replay, cross
from orchestrator.cardano.releases.record import LedgerSnapshotFormat
from orchestrator.lab import ledger_db

TAGGED = [v for v in releases.known_versions() if not releases.lookup(v).provisional]


def _db(tmp_path: Path, writer: str, slot: int = 1000) -> str:
    db = str(tmp_path / "db")
    ledger_db.write_snapshot(db, writer, slot)
    return db


@pytest.mark.parametrize(("writer", "reader", "replays_from", "action"), [
    ("8.9.0", "8.9.0", 1000, None),
    ("10.6.4", "10.6.4", 1000, None),
    ("11.0.1", "11.0.1", 1000, None),
    ("10.7.1", "11.0.1", 1000, None),  # same generation (UTXOHD_10_7): no replay
    ("8.9.0", "10.5.3", None, "deleted"),  # a legacy file read by a 10.4/10.5 node: decode fails, deleted
    ("8.9.0", "11.0.1", None, "skipped"),  # 10.7+: a legacy file is skipped, kept
    ("10.5.3", "10.6.4", None, "deleted"),  # same layout, serialisation changed
    ("10.6.4", "11.0.1", None, "deleted"),
    ("11.0.1", "10.6.4", None, "deleted"),  # a rollback that did not restore db/ledger
    ("10.6.4", "8.9.0", None, "deleted"),
])  # fmt: skip
def test_a_release_replays_from_its_own_generation_only(
    tmp_path: Path, writer: str, reader: str, replays_from: int | None, action: str | None
) -> None:
    db = _db(tmp_path, writer)
    opening = ledger_db.open_ledger(db, reader, slot=5)
    assert (opening.snapshot.slot if opening.snapshot else None) == replays_from
    assert not opening.provisioned
    left = sorted(p.name for p in (tmp_path / "db" / "ledger").iterdir())
    if action == "deleted":
        assert [n for n, _ in opening.deleted] == ["1000"] and left == []
        assert "requires a chain replay" in opening.deleted[0][1]
    elif action == "skipped":
        assert [n for n, _ in opening.skipped] == ["1000"] and left == ["1000"]
    else:
        assert not opening.deleted and not opening.skipped and left == ["1000"]


def test_layouts_follow_the_generation(tmp_path: Path) -> None:
    """≤10.3 a file; 10.4-10.6 a directory with state, tables/ and meta; 10.7+ tables is a file and
    meta holds tablesCodecVersion (boundaries doc §d, OC Snapshots.hs)."""
    legacy = Path(ledger_db.write_snapshot(str(tmp_path / "a"), "8.9.0", 7))
    assert legacy.is_file()
    mem = Path(ledger_db.write_snapshot(str(tmp_path / "b"), "10.6.4", 7))
    assert (mem / "tables").is_dir() and json.loads((mem / "meta").read_text()) == {"backend": "utxohd-mem",
                                                                                     "checksum": 7}
    new = Path(ledger_db.write_snapshot(str(tmp_path / "c"), "11.0.1", 7))
    assert (new / "tables").is_file() and json.loads((new / "meta").read_text())["tablesCodecVersion"] == 1


def test_newest_readable_first_suffixed_never_deleted_missing_meta_skipped(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    ledger_db.write_snapshot(db, "10.6.4", 100)
    root = Path(db) / "ledger"
    (root / "300").mkdir()  # newest, but no meta: skipped
    ledger_db.write_snapshot(str(tmp_path / "other"), "11.0.1", 200)
    (tmp_path / "other" / "ledger" / "200").rename(root / "200_pre-upgrade")  # a suffixed foreign one
    opening = ledger_db.open_ledger(db, "10.6.4", slot=5)
    assert opening.snapshot is not None and opening.snapshot.slot == 100
    assert opening.skipped == [("300", "missing meta"), ("200_pre-upgrade", opening.skipped[1][1])]
    assert sorted(p.name for p in root.iterdir()) == ["100", "200_pre-upgrade", "300"]


def test_two_snapshots_are_kept(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    for slot in (10, 20, 30):
        ledger_db.write_snapshot(db, "11.0.1", slot)
    assert sorted(p.name for p in (Path(db) / "ledger").iterdir()) == ["20", "30"]


def test_a_host_that_never_started_gets_its_releases_snapshot_and_says_so(tmp_path: Path) -> None:
    opening = ledger_db.open_ledger(str(tmp_path / "db"), "10.6.4", slot=42)
    assert opening.provisioned and opening.snapshot is not None and opening.snapshot.slot == 42
    (tmp_path / "empty" / "ledger").mkdir(parents=True)  # a ledger/ that exists, empty: genesis
    assert ledger_db.open_ledger(str(tmp_path / "empty"), "10.6.4", slot=42).snapshot is None


@pytest.mark.parametrize(("source", "target"),
                         [p for p in itertools.combinations(TAGGED, 2) if releases.is_older(p[0], p[1])])
def test_the_lab_and_the_crossing_plan_agree_on_every_catalogued_upgrade(tmp_path: Path, source: str,
                                                                         target: str) -> None:
    """The plan says "replay from genesis" exactly where the lab's node finds nothing to replay from."""
    planned = cross(source, target, network="preprod")
    lab = ledger_db.open_ledger(_db(tmp_path, source), target, slot=5)
    assert (planned.replay is Replay.FROM_GENESIS) == (lab.snapshot is None), (planned.why, lab)
    same = releases.lookup(source).ledger_snapshot_format == releases.lookup(target).ledger_snapshot_format
    assert same == (lab.snapshot is not None)


def test_every_generation_is_written_by_some_catalogued_release() -> None:
    written = {ledger_db.generation(v) for v in TAGGED}
    assert written == set(LedgerSnapshotFormat)
