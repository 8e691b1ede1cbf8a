"""Issue 26 item 4 in the lab: two relays switched to Genesis mode by a group setting, the block
producer untouched (one scenario). The rules themselves are tested on the real reference files in
tests/unit/test_genesis_mode.py; here the run writes them over SSH, the nodes restart on them and
come back in sync, and the audit's pair rules read them back from the hosts.

The lab node does not model ledger-peer discovery from the snapshot (its peers are the addresses
its topology lists, and the snapshot's relays are real mainnet hosts that must never be dialled): a
local root named like a public relay, which the lab resolves to its chain source, stands in for the
big ledger peers a real Genesis node finds.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.cardano.layouts import LAYOUTS
from tests.integration.helpers import journal_events, report_of, run_cli

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_NODE = str(ROOT / "playbooks" / "upgrade-node.yml")
SHIPPED = ROOT / "orchestrator" / "cardano" / "data" / "11.0.1" / "mainnet"
STAND_IN = [{"accessPoints": [{"address": "backbone.cardano.iog.io", "port": 3001}], "advertise": False,
             "trustable": True, "valency": 1}]  # fmt: skip


def set_group_var(inventory: Path, group: str, name: str, value: Any) -> None:
    yaml = YAML(typ="rt")
    data = yaml.load(inventory.read_text())
    groups = data["all"]["children"]
    groups[group].setdefault("vars", {})[name] = value
    with inventory.open("w") as f:
        yaml.dump(data, f)


def files_of(lab: Any, host: str) -> tuple[str, str]:
    layout = LAYOUTS[lab.host(host).layout]
    return layout.config_path, layout.topology_path


def read_json(lab: Any, host: str, path: str) -> Any:
    return json.loads(lab.exec(host, f"cat {path}").stdout)


def digests(lab: Any, host: str) -> str:
    return str(lab.exec(host, "sha256sum " + " ".join(files_of(lab, host))).stdout)


def test_two_relays_switch_to_genesis_and_the_producer_stays_on_praos(fresh_lab: Any, tmp_path: Path,
                                                                       capsys: Any) -> None:  # fmt: skip
    lab = fresh_lab(relays=2, producers=1, node_version="11.0.1", target_version="11.0.1", startup_seconds=3.0)
    lab.wait_in_sync()
    set_group_var(lab.inventory_path, "relays", "consensus_mode", "genesis")
    set_group_var(lab.inventory_path, "relays", "extra_local_roots", STAND_IN)
    producer_before = digests(lab, "bp1")
    topology_before = read_json(lab, "relay1", files_of(lab, "relay1")[1])

    rc = run_cli("plan", "-i", str(lab.inventory_path), UPGRADE_NODE)
    plan_text = capsys.readouterr().out
    assert rc == 2, plan_text  # changes pending
    assert "ConsensusMode: PraosMode -> GenesisMode (consensus_mode genesis)" in plan_text, plan_text
    assert "Genesis mode: no bootstrap peers, ledger peers on" in plan_text, plan_text

    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE_NODE, "--yes", "--state-dir", str(tmp_path),
                 "-e", "sync_soak_seconds=3")  # fmt: skip
    assert rc == 0, report_of(tmp_path)
    shipped_snapshot = (SHIPPED / "mainnet-peer-snapshot.json").read_bytes()
    for relay in ("relay1", "relay2"):
        config_path, topology_path = files_of(lab, relay)
        assert read_json(lab, relay, config_path)["ConsensusMode"] == "GenesisMode"
        topology = read_json(lab, relay, topology_path)
        assert topology["bootstrapPeers"] is None  # no reliance on bootstrap peers
        assert topology["useLedgerAfterSlot"] == topology_before["useLedgerAfterSlot"]  # the operator's, kept
        assert STAND_IN[0] in topology["localRoots"]  # extra_local_roots, beside the operator's own group
        beside = str(Path(topology_path).parent / topology["peerSnapshotFile"])
        snapshot = lab.exec(relay, f"sha256sum {beside}").stdout.split()[0]
        assert snapshot == hashlib.sha256(shipped_snapshot).hexdigest()  # the release's own, beside it
        done = [e.phase for e in journal_events(tmp_path) if e.host == relay]
        assert "files_written" in done and done[-1] == "done", done
    # the producer: in the run, planned, nothing changed on it
    assert digests(lab, "bp1") == producer_before
    bp_phases = [e.phase for e in journal_events(tmp_path) if e.host == "bp1"]
    assert "files_written" not in bp_phases and "restarted" not in bp_phases, bp_phases
    assert read_json(lab, "bp1", files_of(lab, "bp1")[0])["ConsensusMode"] == "PraosMode"

    # the audit reads the pair back from the hosts (facts' peer_snapshot section over SSH)
    out = tmp_path / "audit.json"
    run_cli("audit", "-i", str(lab.inventory_path), "--format", "json", "-o", str(out))
    report = json.loads(out.read_text())
    pair = {(h["host"], f["rule"]): f for h in report["hosts"] for f in h["findings"]
            if f["rule"].startswith("peer-snapshot")}  # fmt: skip
    for relay in ("relay1", "relay2"):
        for rule in ("peer-snapshot-present", "peer-snapshot-format", "peer-snapshot-age"):
            assert pair[(relay, rule)]["passed"], pair[(relay, rule)]
    assert '"NodeToClientVersion": 23' in pair[("relay1", "peer-snapshot-format")]["message"]
    assert "185831188 >= useLedgerAfterSlot" in pair[("relay1", "peer-snapshot-age")]["message"]
