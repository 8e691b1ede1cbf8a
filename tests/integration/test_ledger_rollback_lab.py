"""Issue 26 item 2's proof in the lab: a relay crossing the 10.7 ledger-snapshot boundary
(10.6.4 → 11.0.1) crashes on the new release and is rolled back. With the run's copy of db/ledger
restored, the 10.6.4 node starts from its own snapshot, in its ordinary start time; with that copy
gone, it finds only 11.0.1's snapshots, deletes them (it cannot read them) and replays from genesis —
so the test can fail. Both read from the host's own node log and the start's length.

The rule that a release cannot read another generation's snapshots is the catalogue's, checked
against the product's crossing plan for every catalogued pair in tests/unit/test_lab_ledger_db.py;
this is the lab showing that the run's backup and restore make the difference."""

from __future__ import annotations

import shlex
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano.layouts import LAYOUTS
from tests.integration.helpers import SERVICES, journal_events, last_start, node_version, report_of, run_cli, set_fault

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_NODE = str(ROOT / "playbooks" / "upgrade-node.yml")
GENESIS_SECONDS = 12.0  # the lab's replay from genesis for this test (CARDANO_LAB_GENESIS_REPLAY_SECONDS)


def _crash_and_roll_back(lab: Any, host: str, state: Path, delete_backup: bool) -> None:
    set_fault(lab, host, "dies_after", "--seconds", "4", "--version", "11.0.1")
    db = LAYOUTS[lab.host(host).layout].db_path
    stop = threading.Event()

    def delete_the_runs_copy() -> None:  # once the run's copy exists (complete: it is renamed into place)
        while not stop.is_set():
            done = lab.exec(host, f"ls -d {shlex.quote(db)}/ledger.bak-* 2>/dev/null && rm -rf {shlex.quote(db)}/ledger.bak-*")
            if done.returncode == 0 and done.stdout.strip():
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=delete_the_runs_copy, daemon=True)
    if delete_backup:
        watcher.start()
    try:
        rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE_NODE, "--yes", "--state-dir", str(state),
                     "--limit", host, "-e", "sync_soak_seconds=10", "-e", "sync_stall_seconds=60")  # fmt: skip
    finally:
        stop.set()
    assert rc == 1
    assert node_version(lab, host) == "10.6.4"
    assert report_of(state)["hosts"][0]["status"] == "rolled_back", report_of(state)


@pytest.mark.parametrize("delete_backup", [False, True], ids=["backup-restored", "backup-deleted"])
def test_a_rollback_across_the_10_7_boundary_starts_from_the_restored_snapshot(
    fresh_lab: Any, tmp_path: Path, monkeypatch: Any, delete_backup: bool
) -> None:
    lab = fresh_lab(relays=2, producers=0, node_version="10.6.4", target_version="11.0.1", startup_seconds=2.0)
    lab.wait_in_sync()
    for h in ("relay1",):  # the node's genesis replay for this test
        unit = SERVICES[lab.host(h).layout]
        lab.exec(h, f"sed -i 's/^Environment=CARDANO_LAB_STARTUP_SECONDS=.*/&\\nEnvironment="
                    f"CARDANO_LAB_GENESIS_REPLAY_SECONDS={GENESIS_SECONDS:g}/' /etc/systemd/system/{unit}")  # fmt: skip
    _crash_and_roll_back(lab, "relay1", tmp_path, delete_backup)
    phases = [e.phase for e in journal_events(tmp_path) if e.host == "relay1"]
    assert "ledger_backed_up" in phases, phases
    log, seconds = last_start(lab, "relay1")
    print(f"relay1's start after the rollback ({'copy deleted' if delete_backup else 'copy restored'}): {seconds:.1f} s")
    if delete_backup:
        assert "ledger_not_restored" in phases, phases
        assert "Replaying ledger from genesis" in log and "Invalid snapshot" in log, log[:2000]
        assert seconds >= GENESIS_SECONDS
    else:
        assert "ledger_restored" in phases, phases
        assert "Replaying ledger from snapshot" in log and "Replaying ledger from genesis" not in log, log[:2000]
        assert seconds < GENESIS_SECONDS
