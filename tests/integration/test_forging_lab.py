"""Which producer forges, as `facts` and `audit` show it, against a real lab pool over SSH (2 relays,
bp1 and bp1-standby on 10.6.4; the standby started `--start-as-non-producing-node` with its
credentials present, as the lab provisions it).

First: bp1 forges (its leadership checks rise between the fact's two samples), the standby does not,
and `one-forger-per-pool` passes on both. Then the standby is sent a SIGHUP — the node's own
mechanism: it re-reads the credential files its command line names, finds them, and starts forging
(lab/forging.py, after cardano-node Run.hs updateBlockForging) — and the rule is critical on both
hosts: two forgers in one pool. The pool keys are never opened (their aged atimes hold)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.lab import forging
from orchestrator.lab.provision import layout_of
from tests.integration.conftest import Lab, LabPool, standby_pool

POOL = ("bp1", "bp1-standby")
RULE = "one-forger-per-pool"


def _facts(inv: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["facts", "-i", inv, "--json", "-l", ",".join(POOL)]) == 0
    doc = json.loads(capsys.readouterr().out)
    return {h["host"]: h["forging"] for h in doc["hosts"]}


def _audit(inv: str, out: Path) -> dict[str, dict[str, Any]]:
    main(["audit", "-i", inv, "--format", "json", "-o", str(out)])
    doc = json.loads(out.read_text())
    return {h["host"]: f for h in doc["hosts"] for f in h["findings"] if f["rule"] == RULE}


def _atimes(lab: Lab, name: str) -> str:
    return lab.exec(name, f"stat -c '%n %X' {layout_of(lab.state.host(name)).keys_dir}/*").stdout


@pytest.mark.usefixtures("lab_only")
def test_facts_and_audit_show_one_forger_then_two_after_the_standby_is_enabled(
        fresh_lab: LabPool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    lab, _ = standby_pool(fresh_lab, "forging")
    state = lab.state
    atimes = {name: _atimes(lab, name) for name in POOL}
    inv = str(lab.inventory_path)

    # 1. one forger: bp1 proven (checks rising), the standby idle, non-producing, its files present
    seen = _facts(inv, capsys)
    assert seen["bp1"]["state"] == "on", seen
    assert seen["bp1"]["leadership_checks"]["after"] > seen["bp1"]["leadership_checks"]["before"]
    standby = seen["bp1-standby"]
    assert standby["state"] == "off" and standby["non_producing"] and standby["credentials_present"], standby
    assert len(standby["credentials"]) == 3
    found = _audit(inv, tmp_path / "one.json")
    assert found["bp1"]["status"] == "pass" and found["bp1"]["message"] == "pool of bp1: bp1 forges, bp1-standby idle"
    assert found["bp1-standby"]["status"] == "pass", found

    # 2. the standby re-reads its credentials on SIGHUP and forges beside bp1: critical on both hosts
    unit = layout_of(state.host("bp1-standby")).service_name
    lab.exec("bp1-standby", f"kill -HUP $(systemctl show -p MainPID --value {unit})")
    deadline = time.monotonic() + 30
    record = layout_of(state.host("bp1-standby")).db_path + "/" + forging.RECORD_FILE
    while time.monotonic() < deadline and lab.exec("bp1-standby", f"test -s {record}").returncode != 0:
        time.sleep(0.5)
    seen = _facts(inv, capsys)
    assert seen["bp1"]["state"] == "on" and seen["bp1-standby"]["state"] == "on", seen
    found = _audit(inv, tmp_path / "two.json")
    for name in POOL:
        f = found[name]
        assert f["status"] == "fail" and f["severity"] == "critical", f
        assert "bp1 and bp1-standby both forge" in f["message"]
    assert {name: _atimes(lab, name) for name in POOL} == atimes
