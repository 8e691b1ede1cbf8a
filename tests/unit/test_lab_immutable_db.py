"""The lab node's immutable chunks (lab/immutable_db.py) and the rule that a ledger snapshot ahead of
the immutable tip is not used (lab/ledger_db.py open_ledger; OC InitFailureTooRecent)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.lab import immutable_db, ledger_db
from orchestrator.lab.immutable_db import CHUNK_SLOTS

TIP = 180 * CHUNK_SLOTS + 5_000  # inside chunk 180


def _chunks(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((db / "immutable").iterdir())}


def test_two_hosts_on_one_chain_hold_identical_completed_chunks(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    immutable_db.grow(str(a), "mainnet", TIP)
    immutable_db.grow(str(b), "mainnet", TIP + 3_000)  # further along: its newest chunk differs
    ca, cb = _chunks(a), _chunks(b)
    assert sorted(ca) == sorted(cb) and len(ca) == 3 * immutable_db.WINDOW_CHUNKS
    assert all(ca[n] == cb[n] for n in ca if not n.startswith("00180"))
    assert ca["00180.chunk"] != cb["00180.chunk"]
    assert immutable_db.tip(str(a)) == TIP // 1000 * 1000 and immutable_db.tip(str(b)) == (TIP + 3_000) // 1000 * 1000


def test_growth_appends_to_the_newest_chunk_and_starts_the_next(tmp_path: Path) -> None:
    db = tmp_path / "db"
    immutable_db.grow(str(db), "mainnet", TIP)
    before = _chunks(db)
    immutable_db.grow(str(db), "mainnet", 181 * CHUNK_SLOTS + 10)
    after = _chunks(db)
    assert after["00179.chunk"] == before["00179.chunk"]
    assert after["00180.chunk"].startswith(before["00180.chunk"]) and after["00180.chunk"] != before["00180.chunk"]
    assert "00181.chunk" in after and "00177.chunk" not in after  # the window moved on
    assert immutable_db.tip(str(tmp_path / "none")) is None


def test_a_snapshot_ahead_of_the_immutable_tip_is_not_used(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    ledger_db.write_snapshot(db, "11.0.1", 1000)
    ledger_db.write_snapshot(db, "11.0.1", 9000)
    opening = ledger_db.open_ledger(db, "11.0.1", 0, immutable_tip=5000)
    assert opening.snapshot is not None and opening.snapshot.slot == 1000
    assert opening.deleted and opening.deleted[0][0] == "9000" and "too recent" in opening.deleted[0][1]
    ledger_db.write_snapshot(db, "11.0.1", 9000)
    assert ledger_db.open_ledger(db, "11.0.1", 0, immutable_tip=9000).snapshot.slot == 9000  # type: ignore[union-attr]
    alone = str(tmp_path / "alone")
    ledger_db.write_snapshot(alone, "11.0.1", 9000)
    assert ledger_db.open_ledger(alone, "11.0.1", 0, immutable_tip=100).snapshot is None  # replays from genesis
