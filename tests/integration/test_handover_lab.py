"""`cardano-fleet handover` against a real lab pool (2 relays, bp1 and bp1-standby on 10.6.4), over SSH.

First with the `forging_update_error` fault on the standby: its enabling SIGHUP is answered with
BlockForgingUpdateError, so the command stops (exit 1) with bp1 forging again, and says so. Then,
the fault cleared, with a leader slot on bp1 a few seconds ahead (the lab's schedule file, read
through `-e leader_schedule`): the gap waits for it, forging moves to the standby (exit 0). The lab's
per-slot forging records show no slot forged by both hosts; the pool keys are never opened (their aged
atimes hold). The command upgrades nothing, so neither does this test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.lab import forging
from orchestrator.lab.faults import set_fault
from orchestrator.lab.leader_slots import SCHEDULE_PATH
from orchestrator.lab.provision import layout_of
from orchestrator.lab.state import LabState
from orchestrator.roll.handover import DISABLED_SUFFIX
from orchestrator.roll.journal import Journal
from tests.integration.conftest import Lab, LabPool, standby_pool

POOL = ("bp1", "bp1-standby")
SCHEDULE = json.dumps({"leader_schedule": {"source": "file", "path": SCHEDULE_PATH}})


def _record(lab: Lab, name: str) -> set[int]:
    db = layout_of(lab.state.host(name)).db_path
    out = lab.exec(name, f"cat {db}/{forging.RECORD_FILE} 2>/dev/null || true").stdout
    return {int(line) for line in out.split() if line.isdigit()}


def _keys(lab: Lab, name: str) -> dict[str, str]:
    """Each key file's atime, by its own name (a renamed-away file counts as itself: rename keeps atime)."""
    keys = layout_of(lab.state.host(name)).keys_dir
    out = lab.exec(name, f"stat -c '%n %X' {keys}/*").stdout
    return {path.removesuffix(DISABLED_SUFFIX): atime for path, atime in (line.split() for line in out.splitlines())}


def pool_lab(fresh_lab: LabPool, name: str) -> tuple[Path, LabState, Lab, dict[str, dict[str, str]]]:
    """conftest.standby_pool (2 relays, bp1 and bp1-standby on 10.6.4, 11.0.1 pinned, in sync, keys
    aged), with its dir, state, handle and the pool keys' atimes."""
    lab, lab_dir = standby_pool(fresh_lab, name)
    return Path(lab_dir), lab.state, lab, {host: _keys(lab, host) for host in POOL}


def _report(state: Path) -> dict[str, object]:
    [run] = [d for d in sorted((state / "runs").iterdir())]
    return dict(json.loads((run / "report.json").read_text()))


@pytest.mark.usefixtures("lab_only")
def test_the_handover_command_stops_on_the_original_then_moves_forging_to_the_standby(
        fresh_lab: LabPool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    lab_dir, state, lab, atimes = pool_lab(fresh_lab, "handover")
    inv = str(lab.inventory_path)

    # 1. The standby answers its enabling SIGHUP with BlockForgingUpdateError: stop, bp1 forges.
    set_fault(state, "bp1-standby", forging.FAULT)
    first = tmp_path / "first"
    code = main(["handover", "-i", inv, "--producer", "bp1", "--yes", "--state-dir", str(first)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "STOPPED (stopped): bp1 forges" in out and "BlockForgingUpdateError" in out, out
    report = _report(first)
    assert report["ending"] == "stopped" and report["forger"] == "bp1"
    assert _record(lab, "bp1-standby") == set()  # the standby never forged
    stopped_bp = _record(lab, "bp1")

    # 2. The fault cleared, a leader slot 5 s ahead on bp1: the gap waits for it (and its settle time).
    set_fault(state, "bp1-standby", "clear")
    assert main(["lab", "leader-slots", "bp1", "--in", "5", "--dir", str(lab_dir)]) == 0
    second = tmp_path / "second"
    code = main(["handover", "-i", inv, "--producer", "bp1", "--yes", "--state-dir", str(second), "-e", SCHEDULE])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "DONE (handed_over): bp1-standby forges" in out and "choose_gap: waiting until" in out, out
    assert "bp1 is the idle standby (no upgrade: handover only)" in out, out
    report = _report(second)
    assert report["ending"] == "handed_over" and report["forger"] == "bp1-standby"
    [run] = list((second / "runs").iterdir())
    steps = [e.data["step"] for e in Journal.read(run / "journal.jsonl") if e.phase.value == "handover_step"]
    assert steps[-1] == "upgrade_old_as_standby" and "prove_stopped" in steps and "recover" not in steps

    bp, sb = _record(lab, "bp1"), _record(lab, "bp1-standby")
    assert sb and not bp & sb  # never one slot forged by both
    assert max(bp) < min(sb)  # bp1 stopped before the standby started
    assert bp > stopped_bp  # bp1 forged on between the two handovers
    [leader] = [row["slotNumber"] for row in json.loads(lab.exec("bp1", f"cat {SCHEDULE_PATH}").stdout)]
    assert leader in bp and max(bp) >= leader + 5  # it forged the leader slot, then the gap opened after its settle
    assert {name: _keys(lab, name) for name in POOL} == atimes
    assert all(len(files) == 3 for files in atimes.values())
