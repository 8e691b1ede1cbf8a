"""Issue 26 item 2's conversion half in the lab: a relay crossing 10.1.4 -> 10.5.3 (the catalogue's
CONVERT hop, Legacy -> UTxO-HD). The plan says the run converts with 10.5.3's snapshot-converter;
with the converter failing (lab fault `converter_fails`) the host is rolled back and the 10.1.4 node
starts from its restored Legacy snapshot; without the fault the run converts and the 10.5.3 node's
own log shows its start from the converted snapshot, not from genesis (the lab node replays from
genesis whenever it finds no snapshot of its generation: lab/ledger_db.py, so the test can fail).
The converter is the lab's stand-in shipped in the lab's 10.5.3 tarball (lab/converter_standin.py);
the command line it accepts is the release's (tests/unit/test_convert_snapshot.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import SERVICES, journal_events, last_start, node_version, report_of, run_cli, set_fault

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_NODE = str(ROOT / "playbooks" / "upgrade-node.yml")
GENESIS_SECONDS = 12.0  # the lab's replay from genesis for this test (CARDANO_LAB_GENESIS_REPLAY_SECONDS)


def _run(lab: Any, state: Path) -> int:
    return run_cli("run", "-i", str(lab.inventory_path), UPGRADE_NODE, "--yes", "--state-dir", str(state),
                   "--limit", "relay1", "-e", "sync_soak_seconds=3")  # fmt: skip


def test_10_1_4_to_10_5_3_converts_and_a_failing_converter_rolls_back_to_the_kept_ledger(
    fresh_lab: Any, tmp_path: Path, capsys: Any
) -> None:
    lab = fresh_lab(relays=2, producers=0, node_version="10.1.4", target_version="10.5.3", startup_seconds=2.0)
    lab.wait_in_sync()
    unit = SERVICES[lab.host("relay1").layout]
    lab.exec("relay1", f"sed -i 's/^Environment=CARDANO_LAB_STARTUP_SECONDS=.*/&\\nEnvironment="
                       f"CARDANO_LAB_GENESIS_REPLAY_SECONDS={GENESIS_SECONDS:g}/' /etc/systemd/system/{unit}")  # fmt: skip
    capsys.readouterr()
    assert run_cli("plan", "-i", str(lab.inventory_path), UPGRADE_NODE, "--limit", "relay1", "--json") == 2
    crossing = json.loads(capsys.readouterr().out)["hosts"][0]["crossing"]
    assert crossing["replay"] == "from_snapshot" and crossing["converter"]["release"] == "10.5.3", crossing
    assert "converted with 10.5.3's snapshot-converter" in crossing["why"], crossing
    assert crossing["expected_downtime_seconds"] is not None and crossing["expected_downtime_seconds"] < 600

    # 1. the converter fails: rolled back, the kept Legacy snapshot restored, the old node starts from it
    set_fault(lab, "relay1", "converter_fails", "--version", "10.5.3")
    failed = tmp_path / "failed"
    assert _run(lab, failed) == 1
    assert node_version(lab, "relay1") == "10.1.4"
    assert report_of(failed)["hosts"][0]["status"] == "rolled_back", report_of(failed)
    phases = [e.phase for e in journal_events(failed) if e.host == "relay1"]
    assert phases.index("ledger_backed_up") < phases.index("convert_failed") < phases.index("ledger_restored"), phases
    assert "restarted" not in phases[: phases.index("convert_failed")]  # 10.5.3 never ran
    log, seconds = last_start(lab, "relay1")
    print(f"relay1's start after the failed conversion's rollback: {seconds:.1f} s")
    assert "Replaying ledger from snapshot" in log and "Replaying ledger from genesis" not in log, log[:2000]
    assert seconds < GENESIS_SECONDS

    # 2. the converter works: converted, and 10.5.3 starts from the converted snapshot
    set_fault(lab, "relay1", "clear")
    done = tmp_path / "done"
    assert _run(lab, done) == 0, report_of(done)
    assert node_version(lab, "relay1") == "10.5.3"
    events = [e for e in journal_events(done) if e.host == "relay1"]
    (converted,) = [e for e in events if e.phase == "converted"]
    print(f"relay1: snapshot {converted.data['snapshot']} converted in {converted.data['seconds']} s")
    host = report_of(done)["hosts"][0]
    assert host["status"] == "upgraded" and "converted with 10.5.3's snapshot-converter" in host["detail"], host
    log, seconds = last_start(lab, "relay1")
    print(f"relay1's first 10.5.3 start, from the converted snapshot: {seconds:.1f} s")
    assert "Replaying ledger from snapshot" in log and "Replaying ledger from genesis" not in log, log[:2000]
    assert "Invalid snapshot" not in log, log[:2000]  # the converted snapshot was read, nothing skipped or deleted
    assert seconds < GENESIS_SECONDS

    # 3. the same crossing with `ledger_conversion: replay` (here -e): no conversion, the node replays from
    #    genesis — what the conversion saved relay1 (so the assertions above can fail)
    replayed = tmp_path / "replayed"
    assert run_cli("run", "-i", str(lab.inventory_path), UPGRADE_NODE, "--yes", "--state-dir", str(replayed),
                   "--limit", "relay2", "-e", "sync_soak_seconds=3", "-e", "ledger_conversion=replay") == 0  # fmt: skip
    phases = [e.phase for e in journal_events(replayed) if e.host == "relay2"]
    assert "ledger_backed_up" in phases and "converted" not in phases, phases
    log, seconds = last_start(lab, "relay2")
    print(f"relay2's first 10.5.3 start without the conversion: {seconds:.1f} s")
    assert "Replaying ledger from genesis" in log, log[:2000]
