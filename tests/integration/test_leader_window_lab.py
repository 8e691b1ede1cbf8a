"""Issue 14 on a lab fleet: a block producer is restarted only between its leader slots, left
untouched when no window opens, and refused when its KES is about to expire (the audit flags it).

One fleet (2 relays, 2 producers): the relays are upgraded first, then each producer case runs
with `--limit`. Timings are the lab's seconds; the same logic is proven in fake time in
tests/unit/test_engine.py.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.lab.leader_slots import BLOCKLOG_PATH, SCHEDULE_PATH
from orchestrator.roll.journal import Journal
from tests.integration.helpers import report_of, set_fault, statuses

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
UPGRADE = str(ROOT / "playbooks" / "upgrade-8.9.0.yml")
BLOCKLOG = json.dumps({"leader_schedule": {"source": "blocklog", "path": BLOCKLOG_PATH}})
FILE = json.dumps({"leader_schedule": {"source": "file", "path": SCHEDULE_PATH}})
BIN = {"guild": "/opt/cardano/cnode/bin", "iog": "/opt/cardano/bin"}
KEYS = {"guild": "/opt/cardano/cnode/priv/pool", "iog": "/opt/cardano/keys"}


def journal(state: Path) -> list:
    return Journal.read(sorted((state / "runs").iterdir())[-1] / "journal.jsonl")


def link(lab, host: str) -> str:
    target = lab.exec(host, f"readlink {BIN[lab.host(host).layout]}").stdout.strip()
    assert target, host
    return target


def leader_slots(lab, host: str, *offsets: float) -> list[float]:
    args = [a for o in offsets for a in ("--in", str(o))]
    assert main(["lab", "leader-slots", host, *args, "--dir", str(lab.dir)]) == 0
    rows = json.loads(lab.exec(host, f"cat {SCHEDULE_PATH}").stdout)
    return [datetime.fromisoformat(r["slotTime"].replace("Z", "+00:00")).timestamp() for r in rows]


@pytest.fixture(scope="module")
def fleet(lab_factory, tmp_path_factory):
    lab = lab_factory(relays=2, producers=2)
    lab.wait_in_sync()
    state = tmp_path_factory.mktemp("relays")
    assert main(["run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--limit", "relays",
                 "--state-dir", str(state)]) == 0  # fmt: skip
    for host in ("bp1", "bp2"):  # an old atime: relatime would update it if anything read a key
        assert lab.exec(host, f"touch -a -d '3 days ago' {KEYS[lab.host(host).layout]}/*").returncode == 0
    return lab


def test_kes_close_to_expiry_refuses_the_restart_and_the_audit_flags_it(fleet, tmp_path):
    set_fault(fleet, "bp2", "kes_low", "--periods", "2")
    try:
        before = link(fleet, "bp2")
        rc = main(["run", "-i", str(fleet.inventory_path), UPGRADE, "--yes", "--limit", "bp2",
                   "--state-dir", str(tmp_path / "run")])  # fmt: skip
        assert rc != 0
        out = report_of(tmp_path / "run")
        assert statuses(out)["bp2"] == "refused"
        detail = next(h["detail"] for h in out["hosts"] if h["host"] == "bp2")
        assert "KES expires in 2 period(s)" in detail and "threshold of 3" in detail
        assert link(fleet, "bp2") == before  # untouched
        audit = tmp_path / "audit.json"
        main(["audit", "-i", str(fleet.inventory_path), "--limit", "bp2", "--format", "json", "-o", str(audit)])
        findings = [f for h in json.loads(audit.read_text())["hosts"] for f in h["findings"]
                    if f["rule"] == "kes-expiry"]  # fmt: skip
        assert findings and not findings[0]["passed"] and "2 period(s)" in findings[0]["message"]
    finally:
        set_fault(fleet, "bp2", "clear")


def test_packed_leader_slots_leave_the_producer_untouched(fleet, tmp_path):
    leader_slots(fleet, "bp2", *range(5, 200, 20))  # a slot every 20 s: never 2 min clear
    before = link(fleet, "bp2")
    started = time.time()
    rc = main(["run", "-i", str(fleet.inventory_path), UPGRADE, "--yes", "--limit", "bp2", "-e", FILE,
               "-e", "leader_max_wait_seconds=30", "--state-dir", str(tmp_path)])  # fmt: skip
    assert rc != 0 and time.time() - started < 60
    out = report_of(tmp_path)
    detail = next(h["detail"] for h in out["hosts"] if h["host"] == "bp2")
    assert statuses(out)["bp2"] == "deferred" and "leave no window of" in detail
    assert link(fleet, "bp2") == before and "8.7.3" in before


def test_plan_and_facts_show_the_window_and_kes_per_producer(fleet, capsys):
    leader_slots(fleet, "bp1", 40, 3600)
    capsys.readouterr()
    assert main(["plan", "-i", str(fleet.inventory_path), UPGRADE, "--limit", "bp1", "-e", BLOCKLOG]) == 2
    out = capsys.readouterr().out
    assert "restart window: next leader slot at" in out and "window closed now: waiting" in out and "52 KES period(s) left" in out
    assert main(["plan", "-i", str(fleet.inventory_path), UPGRADE, "--limit", "bp1"]) == 2
    assert "no leader schedule: a restart may cost a block" in capsys.readouterr().out
    assert main(["facts", "-i", str(fleet.inventory_path), "--limit", "bp1", "--json", "-e", BLOCKLOG]) == 0
    doc = json.loads(capsys.readouterr().out)
    bp1 = doc[0] if isinstance(doc, list) else doc["hosts"][0]
    assert bp1["remaining_kes_periods"] == 52 and bp1["leader_schedule"]["read"] is True
    assert bp1["leader_schedule"]["next_slot_time"] is not None
    assert bp1["ssh"] == {"connections": 1, "commands": 1}  # the schedule came with every other fact


def test_a_leader_slot_seconds_ahead_is_waited_out_and_a_far_one_is_not(fleet, tmp_path, capsys):
    """Default margin (120 s): a slot 20 s ahead blocks bp1's restart until it has passed plus a
    3-s settle; bp2, whose next slot is an hour away, restarts at once."""
    slot_at = leader_slots(fleet, "bp1", 20, 3600)[0]
    rc = main(["run", "-i", str(fleet.inventory_path), UPGRADE, "--yes", "--limit", "bp1", "-e", BLOCKLOG,
               "-e", "leader_settle_seconds=3", "--state-dir", str(tmp_path / "bp1")])  # fmt: skip
    assert rc == 0
    events = journal(tmp_path / "bp1")
    wait = next(e for e in events if e.host == "bp1" and e.phase == "leader_wait")
    backed_up = next(e for e in events if e.host == "bp1" and e.phase == "backed_up")
    restarted = next(e for e in events if e.host == "bp1" and e.phase == "restarted")
    assert backed_up.at >= slot_at + 3 and restarted.at > slot_at + 3  # nothing touched before the slot
    assert "for the leader slot at" in wait.data["reason"]
    output = capsys.readouterr().out
    assert "bp1: waiting for its restart window" in output and "leader_wait" in output
    assert str(int(slot_at)) not in (tmp_path / "bp1").joinpath("runs").rglob("journal.jsonl").__next__().read_text()

    leader_slots(fleet, "bp2", 3600)
    started = time.time()
    assert main(["run", "-i", str(fleet.inventory_path), UPGRADE, "--yes", "--limit", "bp2", "-e", BLOCKLOG,
                 "--state-dir", str(tmp_path / "bp2")]) == 0  # fmt: skip
    events = journal(tmp_path / "bp2")
    assert not [e for e in events if e.phase == "leader_wait"]
    assert next(e for e in events if e.host == "bp2" and e.phase == "restarted").at - started < 30
    # the pool keys were never read (atime unchanged since the fixture aged them)
    for host in ("bp1", "bp2"):
        ages = fleet.exec(host, f"stat -c %X {KEYS[fleet.host(host).layout]}/*").stdout.split()
        assert ages and all(time.time() - int(a) > 2 * 86400 for a in ages)
