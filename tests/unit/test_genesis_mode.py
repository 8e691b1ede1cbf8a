"""Genesis mode as a role setting (issue 26 item 4): consensus_mode praos|genesis per group.

Real files: the shipped configs, topologies and peer snapshots of 10.5.3 … 11.0.1
(tests/fixtures/cardano-reference/), the node's own rules (node_rules), and the probe's section run
for real on a topology and snapshot written to a temporary directory.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.actions.base import ArgError, HostDraft, HostPlanError, PlanContext
from orchestrator.actions.convert_topology import ConvertTopology
from orchestrator.actions.install_peer_snapshot import InstallPeerSnapshot
from orchestrator.actions.set_consensus_mode import parse as parse_mode
from orchestrator.audit.run import audit_host
from orchestrator.cardano import node_rules, releases
from orchestrator.cardano.config import render_json
from orchestrator.cardano.consensus_mode import ConsensusMode, accepts_genesis, config_mode, snapshot_age_fatal
from orchestrator.cardano.layouts import IOG
from orchestrator.facts.model import HostFacts, PeerSnapshotFact
from orchestrator.facts.peer_snapshot import PeerSnapshotSection
from orchestrator.facts.record import Output
from orchestrator.load.inventory import InventoryError, load_inventory
from orchestrator.model import Host, Inventory, Role
from tests.unit.facts_builder import host_facts
from tests.unit.test_audit_rules import INV, NOW, P1, POLICY, R1, compliant

ROOT = Path(__file__).resolve().parents[2]
REPO = ROOT / "tests" / "fixtures" / "cardano-reference" / "cardano-node-repo"
BOOK = ROOT / "tests" / "fixtures" / "cardano-reference" / "book-play-environments"
TOPOLOGY = IOG.topology_path
CONFIG = IOG.config_path
SNAPSHOT = str(Path(TOPOLOGY).parent / "mainnet-peer-snapshot.json")

RELAY = Host("relay1", Role.RELAY, "203.0.113.11", IOG)
BP = Host("bp1", Role.BLOCK_PRODUCER, "203.0.113.21", IOG)
PASSIVE = Host("wallet1", Role.PASSIVE, "203.0.113.31", IOG)
PRIVATE = Host("wallet2", Role.PASSIVE, "203.0.113.32", IOG, vars={"passive_topology": "private"})
INVENTORY = Inventory("hosts.yml", (RELAY, BP, PASSIVE, PRIVATE),
                      {"relays": ("relay1",), "block_producers": ("bp1",), "passive_nodes": ("wallet1", "wallet2")})


def relay_topology(version: str) -> dict[str, Any]:
    """The shipped mainnet topology of `version`, with the relay's block producer as its local root."""
    top = json.loads((REPO / version / "mainnet-topology.json").read_text())
    top["localRoots"] = [{"accessPoints": [{"address": BP.address, "port": 3001}], "advertise": False,
                          "trustable": True, "valency": 1}]  # fmt: skip
    assert isinstance(top, dict)
    return top


def facts_on(version: str, host: Host = RELAY, topology: dict[str, Any] | None = None) -> HostFacts:
    return host_facts(host.name, node_version=version, releases=(version,),
                      config_text=(REPO / version / "mainnet-config.json").read_text(),
                      topology_text=render_json(topology or relay_topology(version)))  # fmt: skip


def planned(host: Host, facts: HostFacts, target: str, mode: str | None) -> HostDraft:
    """The p2p_topology role's FILES steps in their order, as the planner asks them."""
    draft = HostDraft(facts.node_version, target, switch_binary=target != facts.node_version)
    ctx = PlanContext(host, INVENTORY, facts, None)
    for op in (ConvertTopology(), InstallPeerSnapshot(), parse_mode({"mode": mode})):
        op.plan(ctx, draft)
    return draft


def written(draft: HostDraft, path: str) -> bytes:
    (change,) = [c for c in draft.files if c.path == path]
    return change.content


# ------------------------------------------------------------------ which releases, from the real files


@pytest.mark.parametrize("version", releases.known_versions(include_provisional=False))
def test_the_releases_that_read_consensus_mode_are_those_whose_shipped_config_has_it(version: str) -> None:
    shipped = REPO / version / "mainnet-config.json"
    if not shipped.exists():
        shipped = BOOK / version / "mainnet" / "config.json"
    has_key = "ConsensusMode" in json.loads(shipped.read_text())
    assert accepts_genesis(version) is has_key, version  # 8.x and 10.1.4 ship none; 10.5.3+ ship PraosMode


@pytest.mark.parametrize(("version", "network", "expected"), [
    ("10.5.3", "mainnet", ConsensusMode.PRAOS), ("11.0.1", "mainnet", ConsensusMode.PRAOS),
    ("10.5.3", "preprod", ConsensusMode.GENESIS), ("11.0.1", "preprod", ConsensusMode.GENESIS),
])  # fmt: skip
def test_the_shipped_configs_mode(version: str, network: str, expected: ConsensusMode) -> None:
    path = REPO / version / ("mainnet-config.json" if network == "mainnet" else "preprod/config.json")
    assert config_mode(json.loads(path.read_text()), version) is expected
    assert config_mode({"ConsensusMode": "GenesisMode"}, "10.1.4") is ConsensusMode.PRAOS  # not read there


@pytest.mark.parametrize(("version", "mode", "fatal"), [
    ("10.5.3", ConsensusMode.GENESIS, False),  # RUN @10.5.3: traced as not loaded
    ("10.6.4", ConsensusMode.PRAOS, False), ("10.6.4", ConsensusMode.GENESIS, True),  # RUN @10.6.4 L797-799
    ("10.7.1", ConsensusMode.PRAOS, True), ("11.0.1", ConsensusMode.PRAOS, True),  # RUN @11.0.1 L839-848
])  # fmt: skip
def test_when_an_old_snapshot_stops_the_node(version: str, mode: ConsensusMode, fatal: bool) -> None:
    assert snapshot_age_fatal(version, mode) is fatal


# ------------------------------------------------------------------ the plan


@pytest.mark.parametrize(("source", "target"), [("10.6.4", "10.6.4"), ("10.6.4", "11.0.1"), ("10.5.3", "10.7.1"),
                                                ("11.0.1", "11.0.1")])  # fmt: skip
def test_a_relay_switched_to_genesis_gets_the_pair_and_the_mode(source: str, target: str, tmp_path: Path) -> None:
    facts = facts_on(source)
    draft = planned(RELAY, facts, target, "genesis")
    config = json.loads(written(draft, CONFIG))
    before = json.loads(facts.config_text or "")
    assert config == {**before, "ConsensusMode": "GenesisMode"}  # that one key, nothing else
    top = json.loads(written(draft, TOPOLOGY))
    assert top["bootstrapPeers"] is None  # no reliance on bootstrap peers
    assert top["localRoots"] == relay_topology(source)["localRoots"]  # the operator's, kept
    assert top["useLedgerAfterSlot"] == relay_topology(source)["useLedgerAfterSlot"]  # kept: ledger peers on
    name = top["peerSnapshotFile"]
    snap_path = str(Path(TOPOLOGY).parent / name)
    snapshot = written(draft, snap_path)
    shipped = (REPO / target / "mainnet-peer-snapshot.json").read_bytes()
    assert snapshot == shipped  # the release's own file, versioned with the topology
    # the node's own rules on the result, written out as the host would have it
    (tmp_path / "topology.json").write_text(render_json(top))
    (tmp_path / name).write_bytes(snapshot)
    errors, _ = node_rules.check_topology(target, True, render_json(top))
    assert errors == ()
    assert node_rules.check_peer_snapshot(target, top, str(tmp_path), network_magic=764824073)[0] == ()
    fmt, slot, _ = node_rules.peer_snapshot_format(json.loads(snapshot))
    assert fmt in releases.lookup(target).peer_snapshot_formats and slot is not None
    assert slot >= top["useLedgerAfterSlot"]
    assert any("ConsensusMode: PraosMode -> GenesisMode" in r for r in draft.reasons)


def test_the_switch_is_idempotent() -> None:
    first = planned(RELAY, facts_on("11.0.1"), "11.0.1", "genesis")
    files = {c.path: c.content for c in first.files}
    snap = files[SNAPSHOT]
    fact = PeerSnapshotFact(SNAPSHOT, hashlib.sha256(snap).hexdigest(), len(snap), {})
    after = replace(facts_on("11.0.1"), config_text=files[CONFIG].decode(), topology_text=files[TOPOLOGY].decode(),
                    peer_snapshot=fact)  # fmt: skip
    second = planned(RELAY, after, "11.0.1", "genesis")
    assert second.files == [], [c.path for c in second.files]
    assert any("already GenesisMode" in d.reason for d in second.unchanged)


def test_unset_changes_nothing_and_praos_writes_only_the_key() -> None:
    preprod_like = facts_on("11.0.1")
    cfg = json.loads(preprod_like.config_text or "")
    cfg["ConsensusMode"] = "GenesisMode"
    facts = replace(preprod_like, config_text=render_json(cfg))
    assert planned(RELAY, facts, "11.0.1", None).files == []
    draft = planned(RELAY, facts, "11.0.1", "praos")
    assert [c.path for c in draft.files] == [CONFIG]
    assert json.loads(written(draft, CONFIG))["ConsensusMode"] == "PraosMode"


@pytest.mark.parametrize(("host", "target", "words"), [
    (BP, "11.0.1", "block producers stay on Praos with their local roots"),
    (PRIVATE, "11.0.1", "passive_topology private"),
    (RELAY, "10.1.4", "10.1.4 does not read ConsensusMode"),
])  # fmt: skip
def test_genesis_is_refused_where_it_cannot_hold(host: Host, target: str, words: str) -> None:
    source = "10.1.4" if target == "10.1.4" else "11.0.1"
    top = relay_topology("11.0.1") if source == "11.0.1" else None
    facts = facts_on(source, host, top) if source == "11.0.1" else host_facts(
        host.name, node_version="10.1.4", releases=("10.1.4",),
        config_text=(REPO / "10.1.4" / "mainnet-config.json").read_text(),
        topology_text=(REPO / "10.1.4" / "mainnet-topology.json").read_text())  # fmt: skip
    with pytest.raises(HostPlanError, match=words):
        planned(host, facts, target, "genesis")


def test_a_passive_ledger_node_gets_genesis_too() -> None:
    top = json.loads((REPO / "11.0.1" / "mainnet-topology.json").read_text())
    draft = planned(PASSIVE, facts_on("11.0.1", PASSIVE, top), "11.0.1", "genesis")
    assert json.loads(written(draft, CONFIG))["ConsensusMode"] == "GenesisMode"
    assert json.loads(written(draft, TOPOLOGY))["bootstrapPeers"] is None


@pytest.mark.parametrize(("value", "hint"), [("genesys", "genesis"), ("Praos", "praos"), ("fast", None)])
def test_a_wrong_value_is_refused_with_the_word_meant(value: str, hint: str | None) -> None:
    with pytest.raises(ArgError) as info:
        parse_mode({"mode": value})
    assert ("did you mean" in str(info.value)) is (hint is not None)
    if hint:
        assert f"did you mean '{hint}'" in str(info.value)
    assert parse_mode({"mode": ""}).mode is None and parse_mode({"mode": "genesis"}).mode is ConsensusMode.GENESIS


# ------------------------------------------------------------------ the inventory


def inventory_file(tmp: Path, where: str) -> Path:
    relays: dict[str, Any] = {"hosts": {"relay1": {"ansible_host": "203.0.113.11"}}}
    bps: dict[str, Any] = {"hosts": {"bp1": {"ansible_host": "203.0.113.21"}}}
    (relays if where == "relays" else bps)["vars"] = {"consensus_mode": "genesis"}
    data = {"all": {"vars": {"layout": "iog", "cardano_network": "mainnet"},
                    "children": {"relays": relays, "block_producers": bps}}}  # fmt: skip
    path = tmp / "hosts.yml"
    with path.open("w") as f:
        YAML().dump(data, f)
    return path


def test_genesis_for_the_relays_group_is_read_and_for_the_producers_refused_at_its_line(tmp_path: Path) -> None:
    inv = load_inventory(inventory_file(tmp_path, "relays"))
    assert {h.name: h.vars.get("consensus_mode") for h in inv.hosts} == {"relay1": "genesis", "bp1": None}
    with pytest.raises(InventoryError) as info:
        load_inventory(inventory_file(tmp_path, "block_producers"))
    text = str(info.value)
    lines = (tmp_path / "hosts.yml").read_text().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if "consensus_mode" in t)
    assert text.startswith(f"{tmp_path / 'hosts.yml'}:{line}:") and "block producers stay on Praos" in text


def test_a_typo_of_the_setting_name_and_value_in_the_inventory(tmp_path: Path) -> None:
    path = inventory_file(tmp_path, "relays")
    path.write_text(path.read_text().replace("consensus_mode: genesis", "consensus_mod: genesis"))
    with pytest.raises(InventoryError, match="did you mean 'consensus_mode'"):
        load_inventory(path)
    path.write_text(path.read_text().replace("consensus_mod: genesis", "consensus_mode: genesys"))
    with pytest.raises(InventoryError, match="did you mean 'genesis'"):
        load_inventory(path)


# ------------------------------------------------------------------ the fact, probed for real


def probe_section(tmp: Path, topology: dict[str, Any], files: dict[str, bytes]) -> Any:
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    (tmp / "topology.json").write_text(render_json(topology))
    host = Host("relay1", Role.RELAY, "127.0.0.1", IOG.with_overrides({"topology_path": str(tmp / "topology.json")}))
    section = PeerSnapshotSection()
    done = subprocess.run(["sh", "-c", section.command(host)], capture_output=True, text=True, check=False)
    return section.parse(Output(host, done.stdout + done.stderr, done.returncode))


def test_the_probe_reads_the_snapshot_the_topology_names(tmp_path: Path) -> None:
    shipped = (REPO / "11.0.1" / "mainnet-peer-snapshot.json").read_bytes()
    top = json.loads((REPO / "11.0.1" / "mainnet-topology.json").read_text())
    fact = probe_section(tmp_path, top, {"mainnet-peer-snapshot.json": shipped}).fields["peer_snapshot"]
    assert fact.path == str(tmp_path / "mainnet-peer-snapshot.json") and fact.size == len(shipped)
    assert fact.sha256 == hashlib.sha256(shipped).hexdigest() and "bigLedgerPools" not in fact.header
    assert node_rules.peer_snapshot_format(dict(fact.header))[:2] == (releases.PeerSnapshotFormat.V23, 185831188)
    missing = probe_section(tmp_path / "..", {**top, "peerSnapshotFile": "nope.json"}, {}).fields["peer_snapshot"]
    assert missing.sha256 is None and missing.error
    del top["peerSnapshotFile"]
    assert probe_section(tmp_path, top, {}).fields["peer_snapshot"] is None


# ------------------------------------------------------------------ the audit's rules for the pair


def audited(version: str, mode: str, snapshot_of: str | None, topology_from: str | None = None,
            network_magic: int | None = None) -> dict[str, Any]:  # fmt: skip
    """R1 on `version` with the shipped topology of `topology_from`, config ConsensusMode `mode`, and
    the shipped snapshot of `snapshot_of` (None: the file is missing)."""
    top = relay_topology(topology_from or version)
    top["peerSnapshotFile"] = "mainnet-peer-snapshot.json"
    cfg = json.loads((REPO / version / "mainnet-config.json").read_text())
    cfg["ConsensusMode"] = mode
    path = str(Path(R1.layout.topology_path).parent / "mainnet-peer-snapshot.json")
    fact = PeerSnapshotFact(path, None, None, None, "No such file or directory")
    if snapshot_of is not None:
        data = json.loads((REPO / snapshot_of / "mainnet-peer-snapshot.json").read_text())
        if network_magic is not None:
            data["NetworkMagic"] = network_magic
        header = {k: v for k, v in data.items() if k != "bigLedgerPools"}
        fact = PeerSnapshotFact(path, "ab" * 32, 1000, header)
    pin = {"version": version, "url": "https://example.invalid/x.tar.gz", "sha256": "a" * 64}
    host = Host(R1.name, R1.role, R1.address, R1.layout, vars={"node_release": pin})
    facts = replace(compliant(R1), node_version=version, config_text=render_json(cfg), topology_text=render_json(top),
                    peer_snapshot=fact)  # fmt: skip
    return {f.rule: f for f in audit_host(host, facts, INV, POLICY, NOW) if f.rule.startswith("peer-snapshot")}


def failed(findings: dict[str, Any]) -> set[str]:
    return {r for r, f in findings.items() if f.failed}


@pytest.mark.parametrize(("case", "args", "expected"), [
    ("the shipped pair, genesis", ("11.0.1", "GenesisMode", "11.0.1"), set()),
    ("the shipped pair, praos", ("10.6.4", "PraosMode", "10.6.4"), set()),
    ("snapshot missing", ("11.0.1", "GenesisMode", None), {"peer-snapshot-present"}),
    ("10.6.4's v2 file on 11.0.1", ("11.0.1", "PraosMode", "10.6.4", "10.6.4"), {"peer-snapshot-format"}),
    ("10.7.1's snapshot with 11.0.1's topology", ("11.0.1", "GenesisMode", "10.7.1"), {"peer-snapshot-age"}),
    ("another network's snapshot", ("11.0.1", "GenesisMode", "11.0.1", None, 1), {"peer-snapshot-format"}),
])  # fmt: skip
def test_the_audit_judges_the_pair(case: str, args: tuple[Any, ...], expected: set[str]) -> None:
    findings = audited(*args)
    assert set(findings) == {"peer-snapshot-present", "peer-snapshot-format", "peer-snapshot-age"}
    assert failed(findings) == expected, {r: f.message for r, f in findings.items()}


def test_the_age_rule_says_whether_the_release_stops() -> None:
    stops = audited("11.0.1", "PraosMode", "10.7.1")["peer-snapshot-age"]
    assert "185500763" in stops.message and "11.0.1 stops at start" in stops.message
    ignored = audited("10.6.4", "PraosMode", "10.5.3", "10.6.4")  # v1 on 10.6.4: format and age, Praos
    assert "the node ignores it" in ignored["peer-snapshot-age"].message
    genesis = audited("10.6.4", "GenesisMode", "10.5.3", "10.6.4")
    assert "10.6.4 stops at start" in genesis["peer-snapshot-age"].message  # RUN @10.6.4 L797-799


def test_a_genesis_node_without_a_snapshot_fails_presence() -> None:
    top = relay_topology("11.0.1")
    del top["peerSnapshotFile"]
    cfg = json.loads((REPO / "11.0.1" / "mainnet-config.json").read_text())
    cfg["ConsensusMode"] = "GenesisMode"
    facts = replace(compliant(R1), node_version="11.0.1", config_text=render_json(cfg), topology_text=render_json(top))
    found = {f.rule: f for f in audit_host(R1, facts, INV, POLICY, NOW)}
    assert found["peer-snapshot-present"].failed and "Genesis mode without a peerSnapshotFile" in found[
        "peer-snapshot-present"].message
    cfg["ConsensusMode"] = "PraosMode"
    facts = replace(facts, config_text=render_json(cfg))
    assert not {f.rule: f for f in audit_host(R1, facts, INV, POLICY, NOW)}["peer-snapshot-present"].failed


def test_a_topology_slot_newer_than_the_release_s_snapshot_is_refused_in_genesis_mode() -> None:
    top = relay_topology("11.0.1")
    top["useLedgerAfterSlot"] = 190_000_000  # past 11.0.1's snapshot (185831188): LedgerPeerSnapshotTooOld
    with pytest.raises(HostPlanError, match="older than the topology's useLedgerAfterSlot 190000000"):
        planned(RELAY, facts_on("11.0.1", RELAY, top), "11.0.1", "genesis")


@pytest.mark.parametrize(("mode", "change", "fails"), [
    ("PraosMode", {}, False),  # 10.6.4's kept values on 11.0.1: the operator's, a valid ledger form
    ("GenesisMode", {"bootstrapPeers": None}, False),  # Genesis: no bootstrap peers is the form
    ("PraosMode", {"bootstrapPeers": None}, True),
    ("GenesisMode", {}, True),  # bootstrap peers a Genesis node drops
    ("PraosMode", {"useLedgerAfterSlot": -1}, True),  # no ledger peers: not the ledger form
])  # fmt: skip
def test_a_passive_ledger_node_s_form_after_an_upgrade_and_in_genesis(mode: str, change: dict[str, Any],
                                                                      fails: bool) -> None:  # fmt: skip
    pin = {"version": "11.0.1", "url": "https://example.invalid/x.tar.gz", "sha256": "a" * 64}
    host = Host(P1.name, P1.role, P1.address, P1.layout, vars={"node_release": pin})
    top = {**json.loads((REPO / "10.6.4" / "mainnet-topology.json").read_text()), **change}
    cfg = {**json.loads((REPO / "11.0.1" / "mainnet-config.json").read_text()), "ConsensusMode": mode}
    facts = replace(compliant(P1), node_version="11.0.1", config_text=render_json(cfg), topology_text=render_json(top))
    found = {f.rule: f for f in audit_host(host, facts, INV, POLICY, NOW)}["passive-topology-form"]
    assert found.failed is fails, found.message
