"""Issue 26's end-to-end crossings in the lab, one scenario per starting line: a fleet (2 relays and
a block producer) on 8.9.0 (legacy tracing, its book config) and one on 10.5.3 (the shipped config)
reach 11.0.1 with the default `upgrade-node` playbook and P2P intact. The plan says, before the run,
that every host replays its ledger from genesis (the 10.6 and 10.7 snapshot boundaries); each host's
own log then says the same (the lab node follows the catalogue's snapshot generations:
lab/ledger_db.py), and the report says the replay was the planned one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano.layouts import LAYOUTS
from tests.integration.helpers import journal_events, node_version, report_of, run_cli

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_NODE = str(ROOT / "playbooks" / "upgrade-node.yml")


@pytest.mark.parametrize("start", ["8.9.0", "10.5.3"])
def test_a_fleet_reaches_11_0_1_replaying_as_planned_with_p2p_intact(fresh_lab: Any, tmp_path: Path, capsys: Any,
                                                                     start: str) -> None:  # fmt: skip
    lab = fresh_lab(relays=2, producers=1, node_version=start, target_version="11.0.1", startup_seconds=2.0)
    lab.wait_in_sync()
    inv = str(lab.inventory_path)
    capsys.readouterr()
    assert run_cli("plan", "-i", inv, UPGRADE_NODE, "--json") == 2  # changes pending
    plan = {h["host"]: h for h in json.loads(capsys.readouterr().out)["hosts"]}
    for host, hp in plan.items():
        assert hp["crossing"]["replay"] == "from_genesis", (host, hp["crossing"])
        assert hp["crossing"]["estimate"] is True and hp["crossing"]["expected_downtime_seconds"] > 3600, hp["crossing"]

    rc = run_cli("run", "-i", inv, UPGRADE_NODE, "--yes", "--state-dir", str(tmp_path), "-e", "sync_soak_seconds=2")
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    report = report_of(tmp_path)
    for h in report["hosts"]:
        assert h["status"] == "upgraded", h
        assert h["detail"].endswith("the ledger replayed from genesis, as planned"), h["detail"]
    for host in plan:
        assert node_version(lab, host) == "11.0.1"
        phases = [e.phase for e in journal_events(tmp_path) if e.host == host]
        assert "ledger_backed_up" in phases and phases[-1] == "done", (host, phases)

    assert run_cli("facts", "-i", inv, "--json") == 0
    facts = {f["host"]: f for f in json.loads(capsys.readouterr().out)["hosts"]}
    for host, f in facts.items():
        assert (f["node_version"], f["topology_format"]) == ("11.0.1", "p2p"), f
        assert f["slot_lag"] is not None and f["slot_lag"] <= 20, (host, f["tip"])
        assert f["hot_peers"] is not None and f["hot_peers"] >= 1, (host, f)
    # the producer still talks to its own relays only: its local roots, no bootstrap or ledger peers
    layout = LAYOUTS[lab.host("bp1").layout]
    topo = json.loads(lab.exec("bp1", f"cat {layout.topology_path}").stdout)
    roots = {ap["address"] for group in topo["localRoots"] for ap in group["accessPoints"]}
    assert roots == {lab.host(r).address for r in ("relay1", "relay2")}, topo
    assert not topo.get("bootstrapPeers") and topo.get("useLedgerAfterSlot", -1) == -1, topo
