"""`make demo` / `make demo-current`: which releases the rehearsal boots, pins and upgrades with."""

from __future__ import annotations

from pathlib import Path

from orchestrator import demo
from orchestrator.cardano.releases import FROM_VERSION, TARGET_VERSION
from orchestrator.lab.releases import LAB_VERSIONS

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_demo_is_the_seed_s_boundary_with_lab_up_s_own_defaults() -> None:
    chosen = demo.rehearsal({})
    assert chosen == demo.Rehearsal(FROM_VERSION, TARGET_VERSION, str(ROOT / "playbooks" / "upgrade-8.9.0.yml"))
    assert chosen.lab_args == []


def test_demo_current_boots_10_6_4_pins_11_0_1_and_runs_the_default_upgrade_playbook() -> None:
    chosen = demo.rehearsal({"DEMO_FROM": "10.6.4", "DEMO_TO": "11.0.1"})
    assert isinstance(chosen, demo.Rehearsal)
    assert chosen.playbook == str(ROOT / "playbooks" / "upgrade-node.yml") and Path(chosen.playbook).is_file()
    assert chosen.lab_args == ["--node-version", "10.6.4", "--target-version", "11.0.1"]
    makefile = (ROOT / "Makefile").read_text()
    assert "demo-current: DEMO_FROM ?= 10.6.4" in makefile and "demo-current: DEMO_TO ?= 11.0.1" in makefile


def test_a_demo_the_lab_cannot_rehearse_is_refused_before_anything_starts() -> None:
    booted = ", ".join(LAB_VERSIONS)
    assert "10.6.4" in booted and "11.0.1" in booted
    assert demo.rehearsal({"DEMO_FROM": "10.6.4", "DEMO_TO": "12.0.0"}) == f"DEMO_TO=12.0.0: the lab boots {booted}"
    assert demo.rehearsal({"DEMO_FROM": "11.0.1", "DEMO_TO": "10.6.4"}) == (
        "DEMO_TO=10.6.4 is not newer than DEMO_FROM=11.0.1: the demo rehearses an upgrade")
    assert demo.rehearsal({"DEMO_FROM": "9.9.9"}) == f"DEMO_FROM=9.9.9: the lab boots {booted}"
