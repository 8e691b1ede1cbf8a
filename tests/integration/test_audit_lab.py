"""`cardano-fleet audit` against real lab hosts: a legacy fleet, an upgraded one, and hand-broken hosts."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano.releases import TARGET_VERSION
from orchestrator.cli import main

pytestmark = pytest.mark.lab

# Lab hosts share this machine's disk: a low floor keeps free-disk about the rule, not the CI runner.
# The lab boots the seed's 8.x releases only (10.x/11.x is a later issue), so its floor is pinned to
# the release it upgrades to; the default (the catalogue's hard-fork floor) is a unit test.
POLICY = f"min_free_disk_bytes: 1048576\nmin_version: \"{TARGET_VERSION}\"\n"
SYNC_RULES = {"node-in-sync", "node-advancing", "hot-peers"}


def _audit(inventory: Path, tmp_path: Path, name: str) -> tuple[int, dict[str, Any]]:
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    out = tmp_path / f"{name}.json"
    code = main(["audit", "-i", str(inventory), "--policy", str(policy), "--format", "json", "-o", str(out)])
    return code, json.loads(out.read_text())


def _failed(doc: dict[str, Any]) -> dict[str, set[str]]:
    return {h["host"]: {f["rule"] for f in h["findings"] if f["status"] == "fail"} for h in doc["hosts"]}


def _audit_when_synced(inventory: Path, tmp_path: Path, name: str, timeout: float = 120) -> tuple[int, dict[str, Any]]:
    """A freshly booted or restarted lab node catches up within seconds: wait for that, not longer."""
    deadline = time.monotonic() + timeout
    while True:
        code, doc = _audit(inventory, tmp_path, name)
        syncing = any(rules & SYNC_RULES for rules in _failed(doc).values())
        if not syncing or time.monotonic() > deadline:
            return code, doc
        time.sleep(3)


def test_legacy_fleet_fails_the_expected_rules(lab: Any, tmp_path: Path) -> None:
    code, doc = _audit_when_synced(lab.inventory_path, tmp_path, "legacy")
    assert code == 1
    failed = _failed(doc)
    versions = {"node-version", "cli-version", "min-version", "drift"}
    relay_defaults = {"relay-bootstrap-peers", "relay-ledger-peers"}
    not_p2p = {"p2p-enabled", "topology-p2p-format"}
    # relay1, relay2: non-P2P with a legacy topology; relay3: P2P already, with 8.7.3-era peers
    root = {"node-user"}  # the lab's units run the node as root (no User= other than root): read from the unit
    assert failed["relay1"] == versions | relay_defaults | not_p2p | root
    assert failed["relay2"] == versions | relay_defaults | not_p2p | root
    assert failed["relay3"] == versions | relay_defaults | root
    # bp1: legacy but wired right (its Producers are its relays, PeerSharingDisabled, keys 0600)
    assert failed["bp1"] == versions | not_p2p | root
    user = next(f for h in doc["hosts"] if h["host"] == "relay1" for f in h["findings"] if f["rule"] == "node-user")
    assert "runs cardano-node as root" in user["message"]
    drift = next(f for h in doc["hosts"] if h["host"] == "relay1" for f in h["findings"] if f["rule"] == "drift")
    assert '+  "EnableP2P": true' in drift["detail"]
    assert all(h["reachable"] for h in doc["hosts"])


def test_upgraded_fleet_passes_then_broken_hosts_yield_exactly_their_findings(
    lab_factory: Any, tmp_path: Path
) -> None:
    fleet = lab_factory(relays=3, producers=1)
    inventory = fleet.inventory_path
    _audit_when_synced(inventory, tmp_path, "before")  # the run wants healthy relays to start from
    state = tmp_path / "state"
    run_code = main(["run", "-i", str(inventory), "playbooks/upgrade-8.9.0.yml", "--yes", "--state-dir", str(state)])
    assert run_code == 0, "the upgrade run failed; the audit part of this test needs an upgraded fleet"

    code, doc = _audit_when_synced(inventory, tmp_path, "upgraded")
    assert _failed(doc) == {"relay1": {"node-user"}, "relay2": {"node-user"}, "relay3": {"node-user"}, "bp1": {"node-user"}}
    assert code == 0 and doc["compliant"] is True

    edit = (
        "python3 -c \"import json,sys; p=sys.argv[1]; d=json.load(open(p)); {change}; "
        "open(p,'w').write(json.dumps(d,indent=2)+'\\n')\" {path}"
    )
    # relay1 advertises its local roots, the block producer among them
    r = fleet.exec("relay1", edit.format(change="d['localRoots'][0]['advertise']=True",
                                         path="/opt/cardano/cnode/files/topology.json"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    # bp1: a Conway genesis hash that is not the file's, and a world-readable KES key
    r = fleet.exec("bp1", edit.format(change="d['ConwayGenesisHash']='00'*32", path="/opt/cardano/config/config.json"))
    assert r.returncode == 0, r.stderr
    assert fleet.exec("bp1", "chmod 0644 /opt/cardano/keys/kes.skey").returncode == 0
    # relay2: node stopped
    assert fleet.exec("relay2", "systemctl stop cardano-node.service").returncode == 0
    # relay3: unreachable (its sshd gone: that ends the host, fine on a fleet of our own)
    fleet.exec("relay3", "pkill -f 'sshd: /usr/sbin/sshd'")

    code, doc = _audit(inventory, tmp_path, "broken")
    assert _failed(doc) == {
        "relay1": {"relay-bp-not-advertised", "drift", "node-user"},
        "relay2": {"service-active", "node-in-sync", "node-advancing", "hot-peers", "node-user"},
        "relay3": {"host-reachable"},
        "bp1": {"conway-genesis-hash", "drift", "key-permissions", "node-user"},
    }
    assert code == 2  # an unreachable host makes the audit incomplete, which wins over findings
    relay3 = next(h for h in doc["hosts"] if h["host"] == "relay3")
    assert relay3["reachable"] is False
    assert {f["status"] for f in relay3["findings"] if f["rule"] != "host-reachable"} == {"skip"}
    bp1 = next(h for h in doc["hosts"] if h["host"] == "bp1")
    bp_keys = next(f for f in bp1["findings"] if f["rule"] == "key-permissions")
    assert "/opt/cardano/keys/kes.skey (0644)" in bp_keys["message"]

    prom = tmp_path / "audit.prom"
    code = main(["audit", "-i", str(inventory), "--policy", str(tmp_path / "policy.yml"), "--format", "prometheus",
                 "-o", str(prom)])  # fmt: skip
    assert code == 2
    text = prom.read_text()
    fleet = f'fleet="{inventory}"'  # every sample names the inventory audited (default: the -i path)
    assert f'cardano_fleet_host_reachable{{{fleet},host="relay3"}} 0' in text
    assert f'cardano_fleet_check{{{fleet},host="bp1",rule="key-permissions",severity="error"}} 0' in text
    assert 'reason="incomplete: unreachable or not probed: relay3"' in text
