"""Topology conversion across the real release boundaries (issue 26b, an operator trial's finding):
a topology already in the P2P form 8.9.0+ reads is kept, values and all; a conversion takes the
network-wide values from the TARGET release's shipped topology; every changed value is listed.

Real files: the shipped topologies of 8.9.0, 10.5.3, 10.6.4, 11.0.1 (and 10.1.4, 10.7.1) from
tests/fixtures/cardano-reference/ (IntersectMBO/cardano-node `configuration/cardano/` at the tag),
the 8.7.3 Producers file, and the realworld topologyUpdater case. Expected values are read here from
the reference files, independently of orchestrator/cardano/data/.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator.audit.run import audit_host
from orchestrator.cardano import node_rules
from orchestrator.cardano.config import render_json
from orchestrator.cardano.layouts import IOG
from orchestrator.cardano.networks import NETWORKS, AccessPoint
from orchestrator.cardano.shipped_topology import NoShippedTopology, release_network
from orchestrator.cardano.topology import desired_topology, parse_topology, settled, topology_changes
from orchestrator.facts.model import HostFacts
from orchestrator.model import Host, Inventory, Role
from orchestrator.plan import Plan, ReleasePin, make_plan
from tests.unit.facts_builder import host_facts
from tests.unit.test_audit_rules import INV, NOW, POLICY, R1, compliant

ROOT = Path(__file__).resolve().parents[2]
REPO = ROOT / "tests" / "fixtures" / "cardano-reference" / "cardano-node-repo"
BOOK = ROOT / "tests" / "fixtures" / "cardano-reference" / "book-play-environments"
REALWORLD = ROOT / "tests" / "fixtures" / "realworld-cases"
TARGETS = ("8.9.0", "10.1.4", "10.5.3", "10.6.4", "10.7.1", "11.0.1")
SOURCES = ("8.9.0", "10.5.3", "10.6.4", "11.0.1")  # the releases the issue names
ORDER = {v: i for i, v in enumerate(TARGETS)}
BP = AccessPoint("203.0.113.10", 6000)
RELAY2 = AccessPoint("203.0.113.12", 6000)
FRIEND = {"address": "198.51.100.7", "port": 3001}


def shipped(version: str, network: str = "mainnet") -> dict[str, Any]:
    path = REPO / version / ("mainnet-topology.json" if network == "mainnet" else f"{network}/topology.json")
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def with_own_peers(top: dict[str, Any], trustable: bool = True) -> dict[str, Any]:
    """The shipped file as an operator runs it: its BP and sibling relay as a trustable local root."""
    out = copy.deepcopy(top)
    out["localRoots"] = [{"accessPoints": [{"address": BP.address, "port": BP.port},
                                           {"address": RELAY2.address, "port": RELAY2.port}],
                          "advertise": False, "trustable": trustable, "valency": 2}]  # fmt: skip
    return out


@pytest.mark.parametrize("version", [*TARGETS, "8.7.3"])
@pytest.mark.parametrize("network", ["mainnet", "preprod"])
def test_release_network_is_the_release_s_own_shipped_topology(version: str, network: str) -> None:
    if version in ("8.9.0", "8.7.3") or (network == "preprod" and not (REPO / version / "preprod").exists()):
        base = BOOK / version / network / "topology.json"
    else:
        base = REPO / version / ("mainnet-topology.json" if network == "mainnet" else "preprod/topology.json")
    ref = json.loads(base.read_text())
    net = release_network(version, network)
    if version == "8.7.3":
        assert net.bootstrap_peers == ()  # 8.7.3 does not read bootstrapPeers (its file has none)
    else:
        assert [(p.address, p.port) for p in net.bootstrap_peers] == [
            (p["address"], p["port"]) for p in ref["bootstrapPeers"]
        ]
    assert net.use_ledger_after_slot == ref["useLedgerAfterSlot"]
    assert net.peer_snapshot_file == ref.get("peerSnapshotFile")
    assert version in net.values_from


def test_the_8_9_0_table_is_8_9_0_s_shipped_topology() -> None:
    for name, table in NETWORKS.items():
        net = release_network("8.9.0", name)
        assert (net.bootstrap_peers, net.use_ledger_after_slot) == (table.bootstrap_peers, table.use_ledger_after_slot)


def test_a_release_without_a_shipped_file_for_the_network_is_said_not_guessed() -> None:
    with pytest.raises(NoShippedTopology, match="no 11.0.1 topology for preview"):
        release_network("11.0.1", "preview")
    legacy = json.loads((REPO / "8.7.3" / "mainnet-topology.json").read_text())
    with pytest.raises(NoShippedTopology):
        desired_topology(legacy, Role.RELAY, [], NETWORKS["preview"], set(),
                         missing_values=NoShippedTopology("11.0.1", "preview"))  # fmt: skip
    # ... unless the operator gives both values
    out = desired_topology(legacy, Role.RELAY, [], NETWORKS["preview"], set(), bootstrap_peers=[AccessPoint("b.example", 1)],
                           use_ledger_after_slot=5, missing_values=NoShippedTopology("11.0.1", "preview"))  # fmt: skip
    assert out["bootstrapPeers"] == [{"address": "b.example", "port": 1}] and out["useLedgerAfterSlot"] == 5


# ------------------------------------------------------------------ already P2P: kept


UPGRADES = [(s, t) for s in SOURCES for t in TARGETS if ORDER[t] >= ORDER[s]]  # never a downgrade


@pytest.mark.parametrize(("source", "target"), UPGRADES)
@pytest.mark.parametrize("role", [Role.RELAY, Role.PASSIVE])
def test_a_shipped_p2p_topology_is_kept_as_it_is_for_every_later_target(source: str, target: str, role: Role) -> None:
    current = shipped(source) if role is Role.PASSIVE else with_own_peers(shipped(source))
    own = [] if role is Role.PASSIVE else [BP, RELAY2]
    out = desired_topology(current, role, own, release_network(target, "mainnet"), {BP.address, RELAY2.address})
    assert out == current, topology_changes(current, out)
    assert settled(parse_topology(current))
    assert topology_changes(current, out) == []
    # the shipped bootstrap peer 8.9's table lacks survives, and the slot stays the source's own
    if source != "8.9.0":
        assert {"address": "backbone.mainnet.cardanofoundation.org", "port": 3001} in out["bootstrapPeers"]
    assert out["useLedgerAfterSlot"] == shipped(source)["useLedgerAfterSlot"]
    assert node_rules.check_topology(target, True, render_json(out))[0] == ()


@pytest.mark.parametrize("trustable", [True, False])
def test_the_operator_trial_10_6_4_to_11_0_1_keeps_trust_and_values(trustable: bool) -> None:
    current = with_own_peers(shipped("10.6.4"), trustable)
    current["localRoots"].append({"accessPoints": [FRIEND], "advertise": True, "trustable": True, "hotValency": 1,
                                  "warmValency": 2})  # fmt: skip
    out = desired_topology(current, Role.RELAY, [BP, RELAY2], release_network("11.0.1", "mainnet"),
                           {BP.address, RELAY2.address})  # fmt: skip
    assert out == current
    assert out["localRoots"][0]["trustable"] is trustable and out["localRoots"][1]["trustable"] is True
    assert out["peerSnapshotFile"] == "mainnet-peer-snapshot.json" and out["useLedgerAfterSlot"] == 177724800


def test_a_new_own_host_is_added_and_the_hand_picked_peers_sharing_its_group_keep_their_trust() -> None:
    current = shipped("10.6.4")
    current["localRoots"] = [{"accessPoints": [{"address": BP.address, "port": BP.port}, FRIEND],
                              "advertise": False, "trustable": True, "valency": 2}]  # fmt: skip
    out = desired_topology(current, Role.RELAY, [BP, RELAY2], release_network("11.0.1", "mainnet"),
                           {BP.address, RELAY2.address})  # fmt: skip
    own, friend = out["localRoots"]
    assert [p["address"] for p in own["accessPoints"]] == [BP.address, RELAY2.address] and own["trustable"] is True
    assert friend["accessPoints"] == [FRIEND] and friend["trustable"] is True  # was: silently made untrustable
    # the network-wide values are the file's own (settled), not 11.0.1's nor 8.9.0's
    assert out["bootstrapPeers"] == current["bootstrapPeers"] and out["useLedgerAfterSlot"] == 177724800
    changes = topology_changes(current, out)
    assert any(c.startswith("localRoots[0].accessPoints: ") for c in changes)
    assert "localRoots[0].trustable" not in " ".join(changes)
    assert not any(c.startswith(("bootstrapPeers", "useLedgerAfterSlot", "peerSnapshotFile")) for c in changes)


def test_a_block_producer_s_settled_file_loses_only_what_the_role_forbids() -> None:
    current = shipped("11.0.1")
    current["localRoots"] = [{"accessPoints": [{"address": "203.0.113.11", "port": 6000}], "advertise": False,
                              "trustable": True, "valency": 1}]  # fmt: skip
    relay = AccessPoint("203.0.113.11", 6000)
    out = desired_topology(current, Role.BLOCK_PRODUCER, [relay], release_network("11.0.1", "mainnet"), {relay.address})
    assert "bootstrapPeers" not in out and out["useLedgerAfterSlot"] == -1
    assert out["localRoots"] == current["localRoots"]
    changes = topology_changes(current, out)
    assert "useLedgerAfterSlot: 185500763 -> -1" in changes
    assert any(c.startswith("bootstrapPeers: [backbone.cardano.iog.io:3001") and c.endswith("-> (absent)") for c in changes)


# ------------------------------------------------------------------ conversion: the target's values


LEGACY_INPUTS = {
    "8.7.3 Producers": REPO / "8.7.3" / "mainnet-topology.json",
    "8.7.3 book P2P (public relays, no bootstrapPeers)": BOOK / "8.7.3" / "mainnet" / "topology.json",
    "topologyUpdater (realworld)": REALWORLD / "topologyupdater-generated-peers" / "topology.json",
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", sorted(LEGACY_INPUTS))
def test_a_conversion_takes_the_target_release_s_network_values(name: str, target: str) -> None:
    current = json.loads(LEGACY_INPUTS[name].read_text())
    ref = shipped(target) if target != "8.9.0" else json.loads((BOOK / "8.9.0" / "mainnet" / "topology.json").read_text())
    notes: list[str] = []
    out = desired_topology(current, Role.RELAY, [BP], release_network(target, "mainnet"), {BP.address}, notes=notes)
    assert out["bootstrapPeers"] == ref["bootstrapPeers"]
    assert out["useLedgerAfterSlot"] == ref["useLedgerAfterSlot"]
    assert out.get("peerSnapshotFile") == ref.get("peerSnapshotFile")  # the pair, where the release ships one
    assert node_rules.check_topology(target, True, render_json(out)) == ((), ())
    changes = topology_changes(current, out)
    assert f"useLedgerAfterSlot: {current.get('useLedgerAfterSlot', '(absent)')} -> {ref['useLedgerAfterSlot']}" in changes
    if "Producers" in current:
        assert changes[0].startswith("Producers -> localRoots/publicRoots")
    # idempotent: the result is settled, and kept as it is the next time
    assert desired_topology(out, Role.RELAY, [BP], release_network(target, "mainnet"), {BP.address}) == out


def test_the_topologyupdater_case_says_what_it_does_not_carry_over() -> None:
    current = json.loads(LEGACY_INPUTS["topologyUpdater (realworld)"].read_text())
    notes: list[str] = []
    out = desired_topology(current, Role.RELAY, [BP], release_network("11.0.1", "mainnet"), {BP.address}, notes=notes)
    assert any("not carried over" in n and "topologyUpdater" in n for n in notes)
    assert any("backbone.mainnet.cardanofoundation.org:3001" in n for n in notes)  # 11.0.1's, not 8.9.0's
    assert any("useLedgerAfterSlot 185500763" in n for n in notes)
    changes = topology_changes(current, out)
    assert any(c.startswith("resultcode: ") and c.endswith("-> (absent)") for c in changes)


def test_topology_convert_keeps_the_shipped_10_6_4_file_byte_for_byte(capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.cli import main

    src = REPO / "10.6.4" / "mainnet-topology.json"
    assert main(["topology", "convert", str(src), "--role", "relay", "--network", "mainnet", "--to", "11.0.1"]) == 0
    captured = capsys.readouterr()
    assert captured.out == src.read_text()
    assert "# already P2P in 11.0.1's form for this role: kept as it is" in captured.err
    assert "useLedgerAfterSlot 177724800 (ships 185500763)" in captured.err
    assert "changed:" not in captured.err


def test_topology_convert_lists_what_it_did_not_carry_over(capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.cli import main

    src = REALWORLD / "topologyupdater-generated-peers" / "topology.json"
    assert main(["topology", "convert", str(src), "--role", "relay", "--network", "mainnet", "--to", "10.6.4"]) == 0
    err = capsys.readouterr().err
    assert "not carried over" in err and "changed: useLedgerAfterSlot: (absent) -> 177724800" in err
    assert 'changed: resultcode: "201" -> (absent)' in err


# ------------------------------------------------------------------ the plan


def facts(version: str, topology: dict[str, Any]) -> HostFacts:
    return host_facts("relay1", node_version=version, releases=(version,), last_start_seconds=30.0,
                      config_text=(REPO / version / "mainnet-config.json").read_text(),
                      topology_text=render_json(topology))  # fmt: skip


def plan_of(target: str, f: HostFacts) -> Plan:
    hosts = (Host("relay1", Role.RELAY, "203.0.113.11", IOG), Host("bp1", Role.BLOCK_PRODUCER, BP.address, IOG))
    inv = Inventory("hosts.yml", hosts, {"relays": ("relay1",), "block_producers": ("bp1",)})
    pin = ReleasePin(target, f"http://198.18.0.1:8080/cardano-node-{target}-linux-amd64.tar.gz", "ab" * 32)
    return make_plan(inv, hosts[:1], {"relay1": f}, pin, [["relay1"]])


def test_the_plan_keeps_a_settled_topology_and_says_why() -> None:
    top = shipped("10.6.4")
    top["localRoots"] = [{"accessPoints": [{"address": BP.address, "port": 3001}], "advertise": False,
                          "trustable": True, "valency": 1}]  # fmt: skip
    hp = plan_of("11.0.1", facts("10.6.4", top)).host("relay1")
    assert hp.error is None
    assert not any(c.path.endswith("topology.json") for c in hp.files)
    why = next(d.reason for d in hp.unchanged if d.path.endswith("topology.json"))
    assert why.startswith("already P2P in 11.0.1 form for the host's role and peers: kept as it is")
    assert "useLedgerAfterSlot 177724800 (ships 185500763)" in why


def test_the_plan_lists_each_topology_change_with_the_target_s_values() -> None:
    legacy = json.loads((REPO / "8.9.0" / "mainnet-topology.json").read_text())  # 8.9.0's P2P: 2 bootstrap peers
    del legacy["bootstrapPeers"]  # an 8.7-era P2P file: not settled
    hp = plan_of("10.6.4", facts("10.5.3", legacy)).host("relay1")
    assert hp.error is None, hp.error
    lines = [r for r in hp.reasons if r.startswith("topology: ")]
    assert "topology: useLedgerAfterSlot: 116812831 -> 177724800" in lines
    assert ("topology: bootstrapPeers: (absent) -> [backbone.cardano.iog.io:3001, "
            "backbone.mainnet.cardanofoundation.org:3001, backbone.mainnet.emurgornd.com:3001]") in lines
    assert 'topology: peerSnapshotFile: (absent) -> "mainnet-peer-snapshot.json"' in lines
    # the pair: the release's snapshot is written where the new topology points
    assert any(c.path.endswith("/mainnet-peer-snapshot.json") for c in hp.files)


def test_the_plan_refuses_a_kept_topology_the_target_would_not_start() -> None:
    top = shipped("10.6.4")
    top["bootstrapPeers"] = []  # and no trustable local root: fatal on every release (TOP @10.1.4 L226)
    top["localRoots"] = [{"accessPoints": [{"address": BP.address, "port": 3001}], "advertise": False,
                          "trustable": False, "valency": 1}]  # fmt: skip
    hp = plan_of("11.0.1", facts("10.6.4", top)).host("relay1")
    assert hp.error is not None and "11.0.1 would refuse the topology (kept from the file" in hp.error
    assert "trustable" in hp.error


# ------------------------------------------------------------------ the audit's defaults


@pytest.mark.parametrize("version", ["10.6.4", "11.0.1"])
def test_the_audit_judges_a_relay_s_defaults_by_its_release_s_shipped_topology(version: str) -> None:
    pin = {"version": version, "url": "https://example.invalid/x.tar.gz", "sha256": "a" * 64}
    host = Host(R1.name, R1.role, R1.address, R1.layout, vars={"node_release": pin})
    top = shipped(version)
    top["localRoots"] = json.loads(compliant(R1).topology_text or "{}")["localRoots"]
    f = replace(compliant(R1), node_version=version, topology_text=render_json(top))
    by_rule = {x.rule: x for x in audit_host(host, f, INV, POLICY, NOW)}
    # 8.9.0's table would call the shipped third bootstrap peer and the release's slot wrong
    assert not by_rule["relay-bootstrap-peers"].failed, by_rule["relay-bootstrap-peers"]
    assert not by_rule["relay-ledger-peers"].failed, by_rule["relay-ledger-peers"]
    old = replace(f, topology_text=(REPO / "8.9.0" / "mainnet-topology.json").read_text())
    by_rule = {x.rule: x for x in audit_host(host, old, INV, POLICY, NOW)}
    assert by_rule["relay-ledger-peers"].failed and str(shipped(version)["useLedgerAfterSlot"]) in by_rule[
        "relay-ledger-peers"].message
