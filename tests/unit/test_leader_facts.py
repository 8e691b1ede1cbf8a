"""The leader schedule as the tool reads it: the `leader_schedule` variable at load, the facts
record's command run for real (sqlite read-only, the cli's JSON, an operator's command), and what
`plan` shows per block producer. The slots themselves never leave memory."""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from orchestrator.cardano.layouts import IOG
from orchestrator.cardano.leader_schedule import LeaderSlot, slot_time
from orchestrator.cardano.networks import network
from orchestrator.facts.model import HostFacts
from orchestrator.facts.probe import build_probe, parse_probe
from orchestrator.facts.record import REGISTRY, Output
from orchestrator.lab.leader_slots import BLOCKLOG_SCHEMA, cli_json, schedule_rows
from orchestrator.load.inventory import InventoryError, load_inventory
from orchestrator.model import Host, Role
from orchestrator.report.facts_json import facts_to_json
from orchestrator.spec.window import LeaderGuard, WindowSettings, build_guard

RECORD = REGISTRY["leader_schedule"]
MAINNET = network("mainnet")


def producer(setting: Any, role: Role = Role.BLOCK_PRODUCER) -> Host:
    return Host("bp1", role, "203.0.113.21", IOG, vars=MappingProxyType({"leader_schedule": setting}))


def run_record(host: Host) -> Output:
    """The record's command as the probe runs it (sh, its own subshell), here on this machine."""
    proc = subprocess.run(["sh", "-c", f"( {RECORD.command(host)} ) 2>&1"], capture_output=True, text=True, timeout=30)
    return Output(host, proc.stdout.strip("\n"), proc.returncode)


def blocklog(tmp_path: Path, offsets: list[float], now: float) -> Path:
    db = tmp_path / "blocklog.db"
    con = sqlite3.connect(db)
    con.execute(BLOCKLOG_SCHEMA)
    rows = schedule_rows("mainnet", offsets, now)
    con.executemany("INSERT INTO blocklog (slot, at, epoch, slot_in_epoch, status) VALUES (?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    return db


def test_blocklog_is_read_read_only_and_only_recent_and_future_slots_come_back(tmp_path: Path) -> None:
    now = time.time()
    db = blocklog(tmp_path, [-90000, -600, 45, 3600], now)
    before = db.stat().st_mtime_ns, sorted(p.name for p in tmp_path.iterdir())
    host = producer({"source": "blocklog", "path": str(db)})
    parsed = RECORD.parse(run_record(host))
    slots = parsed.fields["leader_schedule"]
    assert [math.ceil(s.at - now) for s in slots] == [-600, 45, 3600]  # the day-old slot stays on the host
    assert all(s.at == slot_time(MAINNET, s.slot) for s in slots)
    assert (db.stat().st_mtime_ns, sorted(p.name for p in tmp_path.iterdir())) == before  # no write, no journal


def test_the_cli_json_file_is_read_and_a_non_schedule_file_is_refused_unread(tmp_path: Path) -> None:
    now = time.time()
    path = tmp_path / "schedule.json"
    rows = schedule_rows("mainnet", [30, 900], now)
    path.write_text(cli_json(rows))
    parsed = RECORD.parse(run_record(producer({"source": "file", "path": str(path)})))
    assert [s.slot for s in parsed.fields["leader_schedule"]] == [r[0] for r in rows]
    assert all(-1 < s.at - now - o <= 0 for s, o in zip(parsed.fields["leader_schedule"], (30, 900), strict=True))
    secret = tmp_path / "vrf.json"
    secret.write_text('{"type": "VrfSigningKey_PraosVRF", "cborHex": "5840deadbeef"}')
    parsed = RECORD.parse(run_record(producer({"source": "file", "path": str(secret)})))
    error = parsed.fields["leader_schedule_error"]
    assert "not a JSON list" in error and "deadbeef" not in error


def test_a_path_under_the_keys_dir_is_never_opened() -> None:
    host = producer({"source": "file", "path": "/opt/cardano/keys/schedule.json"})
    assert "python3" not in RECORD.command(host)
    parsed = RECORD.parse(run_record(host))
    assert "under the keys dir /opt/cardano/keys" in parsed.fields["leader_schedule_error"]


@pytest.mark.parametrize(("command", "outcome"), [
    ("printf '[{\"slotNumber\": 120000000, \"slotTime\": \"2024-03-27T19:04:51Z\"}]'", "slots"),
    ("printf '[{\"slotNumber\": 120000000, \"error\": \"PastHorizon\"}]'", "slots"),  # the cli's untimed entry
    ("echo 'Killed' >&2; exit 137", "leader_schedule command: exit 137"),
    ("echo '{\"oops\": 1}'", "expected a JSON list"),
])  # fmt: skip
def test_an_operator_command_prints_the_cli_json(command: str, outcome: str) -> None:
    parsed = RECORD.parse(run_record(producer({"source": "command", "command": command})))
    if outcome == "slots":
        assert parsed.fields["leader_schedule"] == (LeaderSlot(slot_time(MAINNET, 120000000), 120000000),)
    else:
        assert outcome in parsed.fields["leader_schedule_error"]


def test_the_record_runs_only_on_producers_that_configure_it() -> None:
    setting = {"source": "file", "path": "/var/lib/pool/schedule.json"}
    assert RECORD.applies(producer(setting))
    assert not RECORD.applies(producer(setting, Role.RELAY))
    assert not RECORD.applies(replace(producer(setting), vars=MappingProxyType({})))
    assert "leader_schedule" in build_probe(producer(setting))
    assert "schedule.json" not in build_probe(replace(producer(setting), role=Role.RELAY))


def test_facts_json_says_when_the_next_slot_is_never_the_schedule() -> None:
    now = 1_700_000_000.0
    slots = (LeaderSlot(now + 60, 1), LeaderSlot(now + 7000, 2))
    facts = HostFacts(host="bp1", reachable=True, leader_schedule=slots)
    doc = facts_to_json(facts, now)["leader_schedule"]
    assert doc == {"read": True, "error": None,
                   "next_slot_time": datetime.fromtimestamp(now + 60, tz=UTC).isoformat()}  # fmt: skip
    assert "7000" not in repr(facts) and str(now + 7000) not in json.dumps(facts_to_json(facts, now))


def test_a_probe_section_cut_short_is_a_schedule_error() -> None:
    host = producer({"source": "file", "path": "/var/lib/pool/schedule.json"})
    facts = parse_probe(host, "@@cf-begin leader_schedule@@\n[", {"leader_schedule"})
    assert facts.leader_schedule is None and facts.leader_schedule_error == "output cut short"


# ---- the variable, at load ------------------------------------------------------------------------

INVENTORY = """\
all:
  children:
    relays:
      hosts:
        relay1: {{ansible_host: 203.0.113.11}}
    block_producers:
      hosts:
        bp1:
          ansible_host: 203.0.113.21
          leader_schedule: {value}
  vars:
    layout: iog
    cardano_network: mainnet
"""


@pytest.mark.parametrize(("value", "message"), [
    ("{source: blocklg, path: /var/lib/b.db}", "unknown source 'blocklg'; expected one of blocklog, file, command"),
    ("{source: blocklog}", "(source blocklog) needs 'path'"),
    ("{source: file, path: schedule.json}", "path must be absolute"),
    ("{source: command}", "(source command) needs 'command'"),
    ("{source: file, path: /a.json, command: x}", "takes only 'path', not 'command'"),
    ("{source: file, path: /opt/cardano/keys/vrf.skey}", "names a key or certificate file"),
    ("/var/lib/b.db", "must be a mapping"),
])  # fmt: skip
def test_a_bad_leader_schedule_names_file_and_line(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY.format(value=value))
    with pytest.raises(InventoryError) as err:
        load_inventory(path)
    assert str(err.value).startswith(f"{path}:10:28:") and message in str(err.value)


def test_extra_vars_set_it_too_and_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY.format(value="{source: file, path: /var/lib/pool/schedule.json}"))
    inv = load_inventory(path, {"leader_schedule": {"source": "blocklog", "path": "/var/lib/b.db"}})
    assert inv.host("bp1").vars["leader_schedule"]["source"] == "blocklog"
    with pytest.raises(InventoryError, match="-e.*unknown source 'sqlite'"):
        load_inventory(path, {"leader_schedule": {"source": "sqlite", "path": "/b.db"}})


# ---- the guard `plan` shows ------------------------------------------------------------------------


def guard(offsets: tuple[float, ...] | None, downtime: float | None = 60.0, kes: int | None = 40) -> LeaderGuard:
    slots = () if offsets is None else tuple(LeaderSlot(1_700_000_000 + o, 10 + int(o)) for o in offsets)
    return build_guard(WindowSettings(), source=None if offsets is None else "file /var/lib/pool/schedule.json",
                       slots=slots, remaining_kes_periods=kes, downtime_seconds=downtime)  # fmt: skip


def test_plan_summary_per_producer() -> None:
    now = 1_700_000_000.0
    assert guard(None).summary(now).startswith("no leader schedule: a restart may cost a block; expected downtime ~60 s")
    text = guard((90, 5000)).summary(now)
    assert "next leader slot at 2023-11-14 22:14:50 UTC (in 90 s)" in text
    assert "window closed now: waiting 120 s for the leader slot at 2023-11-14 22:14:50 UTC to pass" in text
    assert "40 KES period(s) left" in text
    assert "window open now" in guard((5000,)).summary(now)
    deferred = guard(tuple(range(60, 8000, 150))).summary(now)
    assert "no window: the run would leave it untouched (next leader slots from" in deferred
    assert "the run would refuse it: KES expires in 2 period(s)" in guard((5000,), kes=2).summary(now)
    assert "expected downtime unknown (assuming 10 min)" in guard((5000,), downtime=None).summary(now)
    doc = guard((90, 5000)).as_json(now)
    assert doc["window"] == "wait" and doc["expected_downtime_seconds"] == 60 and doc["kes"]["remaining_periods"] == 40
    assert "5000" not in json.dumps(doc) and "1700005000" not in json.dumps(doc)


# ---- the lab's side: the schedule it writes, the KES it exports -----------------------------------


def test_lab_schedule_rows_are_slot_starts_in_guild_and_cli_form() -> None:
    now = 1_711_566_291.4  # mainnet slot 120000000 starts at 1711566291
    rows = schedule_rows("mainnet", [60, -5], now)
    assert [r[0] for r in rows] == [120000000 - 5, 120000000 + 60]
    assert rows[1][1] == "2024-03-27T19:05:51+00:00" and rows[1][4] == "leader"
    assert rows[1][2] == 208 + (120000060 - 4492800) // 432000  # epoch, as cncli stores it
    doc = json.loads(cli_json(rows))
    assert doc[1] == {"slotNumber": 120000060, "slotTime": "2024-03-27T19:05:51Z"}


def test_lab_kes_low_fault_is_read_from_the_faults_file(tmp_path: Path) -> None:
    from orchestrator.lab.simnode import load_faults

    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"kes_low": {"version": None, "periods": 2}}))
    assert load_faults("8.9.0", str(path)).kes_periods_left == 2
    path.write_text(json.dumps({"kes_low": {"version": "8.7.3", "periods": 2}}))
    assert load_faults("8.9.0", str(path)).kes_periods_left is None
