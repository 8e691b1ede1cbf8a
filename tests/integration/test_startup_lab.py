"""Issue 13: nodes that take minutes to start. The lab's node replays its ledger in the real log
formats; the gate tells "replaying 42%" from "syncing" from "in sync", and a stall from slowness.

Every fleet here gets a short start, so that this module stays a small share of the suite's time;
the realistic (mainnet-like) 150 s starts, 8.9.0's among them, are in test_current_releases_lab.py
(three runs at once).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from orchestrator.lab.hosts import lab_down
from tests.integration.helpers import (
    PATHS,
    SERVICES,
    UPGRADE,
    journal_events,
    node_version,
    report_of,
    run_cli,
    set_fault,
    statuses,
)

pytestmark = pytest.mark.lab


def node_phases(state_dir, host: str) -> list[str]:
    return [e.data["now"] for e in journal_events(state_dir) if e.host == host and e.phase == "node_phase"]


def test_facts_read_each_start_from_the_log_its_scribes_name_and_plan_shows_downtime(lab, capsys):
    """guild: JSON to logs/node0.json (its config's FileSK scribe); iog: text to stdout, read back
    with `journalctl -u`. Both give the last start's length; `plan` turns it into expected downtime."""
    lab.wait_in_sync()
    assert run_cli("facts", "-i", str(lab.inventory_path), "--json") == 0
    facts = {f["host"]: f for f in json.loads(capsys.readouterr().out)["hosts"]}
    sources = set()
    for h in lab.hosts:
        st = facts[h.name]["startup"]
        config = json.loads(lab.exec(h.name, f"cat {PATHS[h.layout][0]}/config.json").stdout)
        to_file = ["FileSK", "/opt/cardano/cnode/logs/node0.json"] in config.get("defaultScribes", [])
        want = "file:/opt/cardano/cnode/logs/node0.json" if to_file else f"journal:{SERVICES[h.layout]}"
        assert st["source"] == want, (h.name, st)
        sources.add(want.split(":")[0])
        assert st["phase"] == "socket up"
        assert 1.0 <= st["last_start_seconds"] <= 10.0, st  # the fixture's 2 s start, read from the node's log
        assert set(st["last_start_phases"]) == {"opening chain db", "validating chunks", "replaying ledger",
                                                "initial chain selection"}  # fmt: skip
    assert sources == {"file", "journal"}  # both kinds of scribe are exercised
    journal = lab.exec("relay2", "journalctl -u cardano-node -o cat --no-pager -n 400").stdout
    assert "Replayed block: slot " in journal and "LocalSocketUp" in journal
    assert run_cli("plan", "-i", str(lab.inventory_path), UPGRADE, "--json") == 2
    plan = json.loads(capsys.readouterr().out)
    per_host = {h["host"]: h["expected_downtime_seconds"] for h in plan["hosts"]}
    assert all(1.0 <= v <= 10.0 for v in per_host.values()), per_host
    # batches one after another, each as long as its slowest host (the upgrade playbook: 1, 50%, producers)
    assert plan["expected_duration_seconds"] == pytest.approx(sum(
        max(per_host[n] for n in batch) for batch in ([h["host"] for h in plan["hosts"] if h["batch"] == b]
                                                      for b in sorted({h["batch"] for h in plan["hosts"]}))
    ))  # fmt: skip


@pytest.fixture(scope="module")
def medium(lab_factory):
    """A 6 s start: long enough for several replay lines, short enough for the suite."""
    lab = lab_factory(relays=3, producers=0, startup_seconds=6.0)
    lab.wait_in_sync()
    return lab


def test_replay_that_stalls_is_rolled_back_after_stall_seconds_naming_phase_and_percent(medium, tmp_path):
    lab = medium
    set_fault(lab, "relay1", "replay_stalls", "--percent", "37", "--version", "8.9.0")
    try:
        rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path),
                     "--limit", "relay1", "-e", "sync_stall_seconds=10")  # fmt: skip
        assert rc == 1
        assert node_version(lab, "relay1") == "8.7.3"
        report = report_of(tmp_path)
        assert statuses(report) == {"relay1": "rolled_back"}
        failed = [e for e in journal_events(tmp_path) if e.host == "relay1" and e.phase == "failed"]
        assert failed[0].data["reason"].startswith("gate: no replay progress for 1"), failed[0].data
        assert " s at 37% (replaying ledger 37%)" in failed[0].data["reason"]
    finally:
        set_fault(lab, "relay1", "clear")


def test_dirty_shutdown_longer_start_is_waited_for_and_upgraded(medium, tmp_path):
    """relay2 (iog, TimeoutStopSec=30) ignores SIGTERM for 40 s: systemd kills it; its 8.9.0 start
    finds no clean-shutdown marker and validates every chunk, which takes several ordinary starts."""
    lab = medium
    assert lab.host("relay2").layout == "iog"
    set_fault(lab, "relay2", "ignore_stop", "--seconds", "40", "--version", "8.7.3")  # read at the stop request
    try:
        rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path),
                     "--limit", "relay2")  # fmt: skip
        assert rc == 0
        assert node_version(lab, "relay2") == "8.9.0"
        host = report_of(tmp_path)["hosts"][0]
        assert host["status"] == "upgraded" and host["downtime"] >= 30 + 24, host  # killed at 30 s; 4 x 6 s
        assert host["phases"]["validating chunks"] >= 20, host
        journal = lab.exec("relay2", "journalctl -u cardano-node -o cat --no-pager -n 2000").stdout
        assert "cardano-node.service: State 'stop-sigterm' timed out. Killing." in journal
        after_kill = journal.rsplit("Killing.", 1)[1]
        assert "Validating chunk no. 0 out of " in after_kill  # every chunk: the real node's sign of it
        detail = [e.data["detail"] for e in journal_events(tmp_path) if e.host == "relay2" and e.phase == "node_phase"]
        assert any("the last shutdown was not clean" in d for d in detail), detail
    finally:
        set_fault(lab, "relay2", "clear")


def test_lab_up_then_run_at_once_upgrades_the_fleet(lab_factory, tmp_path):
    """`lab up` returns only when every node is in sync, so `run` can follow it at once."""
    lab_dir = tmp_path / "cli-lab"
    subnet = lab_factory.free_subnet(lab_dir)
    cli = [sys.executable, "-m", "orchestrator"]
    try:
        argv = ["lab", "up", "--dir", str(lab_dir), "--subnet", str(subnet), "--relays", "2", "--producers", "1",
                "--startup-seconds", "3"]  # fmt: skip
        up = subprocess.run([*cli, *argv], capture_output=True, text=True, timeout=180)
        assert up.returncode == 0, up.stderr
        inventory = up.stdout.strip().splitlines()[-1]
        run = subprocess.run([*cli, "run", "-i", inventory, UPGRADE, "--yes", "--state-dir", str(tmp_path / "s")],
                             capture_output=True, text=True, timeout=600)  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        facts = subprocess.run([*cli, "facts", "-i", inventory, "--json"], capture_output=True, text=True, timeout=120)
        assert {f["host"]: f["node_version"] for f in json.loads(facts.stdout)["hosts"]} == {
            "relay1": "8.9.0", "relay2": "8.9.0", "bp1": "8.9.0"}  # fmt: skip
    finally:
        lab_down(lab_dir)
