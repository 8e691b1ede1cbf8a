"""upgrade-node's handover mode against a real lab pool (2 relays, bp1 forging and bp1-standby idle, both
on 10.6.4), over SSH: `run` upgrades the relays, then the pool to 11.0.1 with the handover — the standby
upgraded with its credential files away, forging moved to it between leader slots, bp1 upgraded as the
new standby. The lab's per-slot forging records show no slot forged by both and the leader slot forged;
the pool keys are never opened (their aged atimes hold). Then, the standby forging, a run whose
handover meets a SIGHUP answered with BlockForgingUpdateError stops with the standby forging again."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.lab import forging
from orchestrator.lab.faults import set_fault
from orchestrator.lab.leader_slots import SCHEDULE_PATH
from orchestrator.roll.journal import Journal
from tests.integration.conftest import LabPool
from tests.integration.test_current_releases_lab import _drop_a_local_root
from tests.integration.test_handover_lab import POOL, SCHEDULE, _keys, _record, pool_lab

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_NODE = str(ROOT / "playbooks" / "upgrade-node.yml")
SOAK = "sync_soak_seconds=5"


@pytest.mark.usefixtures("lab_only")
def test_run_upgrades_a_pool_with_a_standby_through_the_handover(
        fresh_lab: LabPool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    lab_dir, state, lab, atimes = pool_lab(fresh_lab, "pool")
    inv, runs = str(lab.inventory_path), tmp_path / "state"

    assert main(["run", "-i", inv, UPGRADE_NODE, "--yes", "--state-dir", str(runs), "--limit", "relays",
                 "-e", SOAK]) == 0, capsys.readouterr().out  # fmt: skip
    capsys.readouterr()
    # A leader slot of the pool a few seconds ahead, in the schedule file both producers read.
    assert main(["lab", "leader-slots", "bp1", "--in", "8", "--dir", str(lab_dir)]) == 0
    schedule = lab.exec("bp1", f"cat {SCHEDULE_PATH}").stdout
    copied = lab.exec("bp1-standby", f"mkdir -p $(dirname {SCHEDULE_PATH}) && cat > {SCHEDULE_PATH} <<'EOF'\n"
                                     f"{schedule}\nEOF")  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    code = main(["run", "-i", inv, UPGRADE_NODE, "--yes", "--state-dir", str(runs), "--limit", ",".join(POOL),
                 "-e", SOAK, "-e", SCHEDULE])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out

    # both producers on 11.0.1, the standby forges, bp1 is the idle standby with its files away
    assert main(["facts", "-i", inv, "--limit", ",".join(POOL), "--json"]) == 0
    got = {f["host"]: f for f in json.loads(capsys.readouterr().out)["hosts"]}
    assert {n: got[n]["node_version"] for n in POOL} == dict.fromkeys(POOL, "11.0.1")
    [run] = sorted(d for d in (runs / "runs").iterdir())[-1:]
    events = Journal.read(run / "journal.jsonl")
    steps = [e.data["step"] for e in events if e.phase.value == "handover_step"]
    assert steps[-1] == "upgrade_old_as_standby" and "prove_forging" in steps and "recover" not in steps, steps
    ended = [e for e in events if e.phase.value == "handover_ended"]
    assert [e.data["ending"] for e in ended] == ["handed_over"] and ended[0].data["forger"] == "bp1-standby"
    report = json.loads((run / "report.json").read_text())
    assert "bp1 is the upgraded standby" in json.dumps(report), report

    # the per-slot forging records: never a slot forged by both; the leader slot forged; the standby last
    bp, sb = _record(lab, "bp1"), _record(lab, "bp1-standby")
    assert sb and not bp & sb
    assert max(bp) < min(sb)
    [leader] = [row["slotNumber"] for row in json.loads(schedule)]
    assert leader in bp | sb
    # the standby forges now: its record grows; bp1's does not
    time.sleep(3)
    assert max(_record(lab, "bp1-standby")) > max(sb) and _record(lab, "bp1") == bp
    assert {name: _keys(lab, name) for name in POOL} == atimes

    # 2. The forger (now the standby) has a change to make, and bp1 answers its enabling SIGHUP with
    # BlockForgingUpdateError: the handover stops, forging is recovered on the standby, which is not
    # upgraded (not restarted), and the run says so (exit 1).
    _drop_a_local_root(lab, "bp1-standby")
    set_fault(state, "bp1", forging.FAULT)
    code = main(["run", "-i", inv, UPGRADE_NODE, "--yes", "--state-dir", str(runs), "--limit", ",".join(POOL),
                 "-e", SOAK])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1, out
    [run] = sorted(d for d in (runs / "runs").iterdir())[-1:]
    ended = [e for e in Journal.read(run / "journal.jsonl") if e.phase.value == "handover_ended"]
    assert [(e.data["ending"], e.data["forger"]) for e in ended] == [("stopped", "bp1-standby")], ended
    assert "BlockForgingUpdateError" in ended[0].data["reason"]
    report = json.dumps(json.loads((run / "report.json").read_text()))
    assert "not upgraded: handover stopped: bp1-standby forges" in report, report
    time.sleep(3)
    bp2, sb2 = _record(lab, "bp1"), _record(lab, "bp1-standby")
    assert bp2 == bp and not bp2 & sb2 and max(sb2) > max(sb) + 2  # bp1 never forged; the standby forges again
    assert {name: _keys(lab, name) for name in POOL} == atimes
