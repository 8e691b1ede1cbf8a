"""The restart window from a leader schedule, and the schedule parsers, on plain data (no clock)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from orchestrator.cardano.health import ParseError
from orchestrator.cardano.leader_schedule import (
    KesVerdict,
    LeaderSlot,
    WindowVerdict,
    kes_check,
    next_leader_slot,
    parse_blocklog_rows,
    parse_cli_schedule,
    restart_window,
    slot_time,
)
from orchestrator.cardano.networks import network

# Slot → time on each public network (Shelley genesis systemStart + era boundary):
# mainnet slot 4492800 is the first Shelley slot (epoch 208), 2020-07-29T21:44:51Z, and every mainnet
# epoch (432000 slots) starts 5 days after the one before at 21:44:51 UTC; preprod's Shelley era starts
# after 4 Byron epochs of 21600 20-s slots; preview has no Byron slots and 1-day epochs.
SLOT_TIMES = [
    ("mainnet", 4492800, "2020-07-29T21:44:51+00:00"),
    ("mainnet", 4492800 + (460 - 208) * 432000, "2024-01-10T21:44:51+00:00"),  # epoch 460
    ("preprod", 86400, "2022-06-21T00:00:00+00:00"),
    ("preview", 0, "2022-10-25T00:00:00+00:00"),
    ("preview", 475 * 86400, "2024-02-12T00:00:00+00:00"),  # epoch 475
]


@pytest.mark.parametrize(("net", "slot", "iso"), SLOT_TIMES)
def test_slot_time_per_network(net: str, slot: int, iso: str) -> None:
    from datetime import datetime

    assert slot_time(network(net), slot) == datetime.fromisoformat(iso).timestamp()
    assert network(net).expected_slot(slot_time(network(net), slot)) == slot  # the inverse


# A real-shaped `cardano-cli query leadership-schedule --output-json` (cardano-cli 8.20) on preview.
CLI_JSON = json.dumps(
    [
        {"slotNumber": 41040100, "slotTime": "2024-02-12T00:01:40Z"},
        {"slotNumber": 41040007, "slotTime": "2024-02-12T00:00:07Z"},
    ],
    indent=4,
)


def test_cli_schedule_sorted_and_timed() -> None:
    slots = parse_cli_schedule(CLI_JSON)
    assert [s.slot for s in slots] == [41040007, 41040100]
    assert [s.at for s in slots] == [slot_time(network("preview"), s.slot) for s in slots]


def test_cli_schedule_without_times_uses_the_network() -> None:
    slots = parse_cli_schedule('[{"slotNumber": 41385503}]', network("preview"))
    assert slots == (LeaderSlot(slot_time(network("preview"), 41385503), 41385503),)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{", "not JSON"),
        ('{"slotNumber": 1}', "JSON list"),
        ('[{"slot": 1}]', "entry 0"),
        ('[{"slotNumber": 1, "slotTime": "yesterday"}]', "ISO-8601"),
        ('[{"slotNumber": 1, "slotTime": "2024-02-14T12:00:00"}]', "time zone"),
        ('[{"slotNumber": 1}]', "no network"),
    ],
)
def test_cli_schedule_refusals(text: str, fragment: str) -> None:
    with pytest.raises(ParseError, match=fragment):
        parse_cli_schedule(text)


def _blocklog(tmp_path: Path, rows: list[tuple[int, str, str]]) -> Path:
    """A blocklog.db with guild-operators' cncli.sh schema (createBlocklogDB)."""
    db = tmp_path / "blocklog.db"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE blocklog (id INTEGER PRIMARY KEY AUTOINCREMENT, slot INTEGER NOT NULL UNIQUE, "
        "at TEXT NOT NULL UNIQUE, epoch INTEGER NOT NULL, block INTEGER NOT NULL DEFAULT 0, "
        "slot_in_epoch INTEGER NOT NULL DEFAULT 0, hash TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL "
        "DEFAULT 0, status TEXT NOT NULL)"
    )
    con.executemany("INSERT INTO blocklog (slot, at, epoch, status) VALUES (?, ?, 500, ?)", rows)
    con.commit()
    con.close()
    return db


def test_blocklog_rows_from_a_real_shaped_db(tmp_path: Path) -> None:
    db = _blocklog(
        tmp_path,
        [
            (113356900, "2024-01-10T21:46:31+00:00", "adopted"),
            (113357000, "2024-01-10T21:48:11+00:00", "leader"),
        ],
    )
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    text = "\n".join(f"{slot}|{at}" for slot, at in con.execute("SELECT slot, at FROM blocklog ORDER BY slot"))
    slots = parse_blocklog_rows(text)
    assert [s.slot for s in slots] == [113356900, 113357000]
    assert [s.at for s in slots] == [slot_time(network("mainnet"), s.slot) for s in slots]  # `at` = slot start


@pytest.mark.parametrize("line", ["x|2024-01-23T22:01:31+00:00", "116812900", "1|not a time"])
def test_blocklog_row_refusals(line: str) -> None:
    with pytest.raises(ParseError, match="blocklog row 1"):
        parse_blocklog_rows(line)


NOW = 1_700_000_000.0
WINDOW = {"downtime_seconds": 150.0, "margin_seconds": 120.0, "settle_seconds": 30.0, "max_wait_seconds": 3600.0}


def slots_at(*offsets: float) -> list[LeaderSlot]:
    return [LeaderSlot(NOW + o, 1000 + int(o)) for o in offsets]


def test_no_slot_near_opens_at_once() -> None:
    w = restart_window(slots_at(400), NOW, **WINDOW)
    assert w.verdict is WindowVerdict.OPEN and w.start == NOW and w.next_slot == slots_at(400)[0]


def test_no_schedule_at_all_is_open() -> None:
    assert restart_window([], NOW, **WINDOW).verdict is WindowVerdict.OPEN


def test_slot_90s_ahead_waits_until_it_passed_plus_settle() -> None:
    w = restart_window(slots_at(90, 2000), NOW, **WINDOW)
    assert w.verdict is WindowVerdict.WAIT and w.start == NOW + 90 + 30
    assert w.next_slot == slots_at(2000)[0]
    assert "waiting 120 s" in w.reason


def test_exactly_enough_room_is_open() -> None:
    assert restart_window(slots_at(270), NOW, **WINDOW).verdict is WindowVerdict.OPEN
    assert restart_window(slots_at(269), NOW, **WINDOW).verdict is WindowVerdict.WAIT


def test_a_slot_just_past_is_given_its_settle_time() -> None:
    w = restart_window(slots_at(-10), NOW, **WINDOW)
    assert w.verdict is WindowVerdict.WAIT and w.start == NOW + 20


def test_a_slot_close_behind_the_first_is_rechecked() -> None:
    # 90 s ahead, then 250 s ahead: after the first (+30 s settle = 120), only 130 s to the second.
    w = restart_window(slots_at(90, 250, 5000), NOW, **WINDOW)
    assert w.verdict is WindowVerdict.WAIT and w.start == NOW + 250 + 30


def test_packed_slots_defer_the_producer() -> None:
    packed = slots_at(*range(60, 4000, 200))  # a slot every 200 s: never 270 s clear
    w = restart_window(packed, NOW, **WINDOW)
    assert w.verdict is WindowVerdict.DEFERRED and w.start is None
    assert "no window of 4.5 min within 60 min" in w.reason
    assert str(packed[1].slot) not in w.reason  # the decision, not the schedule


def test_next_leader_slot() -> None:
    assert next_leader_slot(slots_at(-5, 7, 3), NOW) == slots_at(3)[0]
    assert next_leader_slot(slots_at(-5), NOW) is None


@pytest.mark.parametrize(
    ("remaining", "threshold", "verdict"),
    [(None, 2, KesVerdict.UNKNOWN), (0, 2, KesVerdict.EXPIRING), (2, 2, KesVerdict.EXPIRING), (3, 2, KesVerdict.OK)],
)
def test_kes_check(remaining: int | None, threshold: int, verdict: KesVerdict) -> None:
    check = kes_check(remaining, threshold)
    assert check.verdict is verdict
    if verdict is KesVerdict.EXPIRING:
        assert f"{remaining} period(s)" in check.reason and f"threshold of {threshold}" in check.reason


def test_a_deferral_for_a_replay_says_no_gap_will_fit_and_what_avoids_it() -> None:
    """Operator trial: a producer crossing a replaying boundary (est. 10 h on mainnet) was deferred
    with "no window of 602.0 min within 60 min" and no way forward; the units are now one style."""
    from orchestrator.cardano.leader_schedule import restart_window, span_text

    slots = [LeaderSlot(1_000.0 + 3_600.0 * i, 0) for i in range(12)]
    w = restart_window(slots, 0.0, downtime_seconds=36_000.0, margin_seconds=120.0, settle_seconds=60.0,
                       max_wait_seconds=3_600.0)  # fmt: skip
    assert w.verdict is WindowVerdict.DEFERRED
    assert "leave no window of 10 h within 60 min" in w.reason
    assert "a ledger replay" in w.reason and "standby producer" in w.reason and "docs/handover.md" in w.reason
    short = restart_window(slots, 0.0, downtime_seconds=3_500.0, margin_seconds=120.0, settle_seconds=60.0,
                           max_wait_seconds=600.0)  # fmt: skip
    assert short.verdict is WindowVerdict.DEFERRED and "ledger replay" not in short.reason
    assert [span_text(s) for s in (45, 270, 3600, 36_000, 36_120)] == ["45 s", "4.5 min", "60 min", "10 h", "10 h"]
