"""The planner and the playbook compiler on plain data: no SSH, real cardano files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.cardano.layouts import GUILD, IOG
from orchestrator.facts.model import HostFacts
from orchestrator.load.playbook import PlaybookError
from orchestrator.load.runspec import compile_run
from orchestrator.model import Host, Inventory, Role
from orchestrator.plan import ReleasePin, make_plan, plan_host
from orchestrator.report.plan_json import plan_as_json
from tests.unit.facts_builder import host_facts
from tests.unit.playbooks import read_playbook

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "orchestrator" / "cardano" / "data"
RELEASE = ReleasePin("8.9.0", "http://198.18.0.1:8080/cardano-node-8.9.0-linux.tar.gz", "ab" * 32)


def legacy_config() -> str:
    cfg = json.loads((DATA / "8.7.3" / "mainnet" / "config.json").read_text())
    cfg["EnableP2P"] = False
    return json.dumps(cfg, indent=2) + "\n"


def inventory() -> Inventory:
    hosts = (
        Host("relay1", Role.RELAY, "203.0.113.11", GUILD),
        Host("relay2", Role.RELAY, "203.0.113.12", IOG),
        Host("bp1", Role.BLOCK_PRODUCER, "203.0.113.21", IOG),
    )
    return Inventory("hosts.yml", hosts, {"relays": ("relay1", "relay2"), "block_producers": ("bp1",)})


def legacy_topology_for(name: str) -> str:
    producers = {
        "relay1": [{"addr": "203.0.113.21", "port": 3001, "valency": 1}, {"addr": "203.0.113.12", "port": 3001,
                   "valency": 1}, {"addr": "relays-new.cardano-mainnet.iohk.io", "port": 3001, "valency": 2}],
        "relay2": [{"addr": "203.0.113.21", "port": 3001, "valency": 1}, {"addr": "203.0.113.11", "port": 6000,
                   "valency": 1}, {"addr": "friend.example", "port": 3001, "valency": 1}],
        "bp1": [{"addr": "203.0.113.11", "port": 6000, "valency": 1}, {"addr": "203.0.113.12", "port": 3001,
                "valency": 1}],
    }[name]
    return json.dumps({"Producers": producers}, indent=2) + "\n"


def timed(name: str, last_start_seconds: float | None) -> HostFacts:
    """`legacy_facts` whose node's newest complete start took `last_start_seconds`."""
    return replace(legacy_facts(name), startups=host_facts(last_start_seconds=last_start_seconds).startups)


def legacy_facts(name: str) -> HostFacts:
    return host_facts(config_text=legacy_config(), topology_text=legacy_topology_for(name))


@pytest.mark.parametrize(
    ("facts", "action", "switch", "stage", "error_part"),
    [
        (host_facts(reachable=False, error="connection refused"), "none", False, False, "unreachable: connection refused"),
        (host_facts(config_text=None, topology_text="{}"), "none", False, False, "config.json missing"),
        (host_facts(config_text="{not json", topology_text="{}"), "none", False, False, "config.json"),
        (host_facts(config_text=legacy_config(), topology_text="[1, 2]"), "none", False, False, "topology"),
    ],
)
def test_hosts_that_cannot_be_planned_carry_the_reason(facts, action, switch, stage, error_part):
    hp = plan_host(inventory().host("relay1"), inventory(), facts, RELEASE)
    assert hp.error is not None and error_part in hp.error
    assert (hp.action, hp.switch_binary, hp.stage_release, hp.changed) == (action, switch, stage, False)


def test_legacy_relay_gets_binary_config_genesis_and_topology_with_restart():
    inv = inventory()
    hp = plan_host(inv.host("relay2"), inv, legacy_facts("relay2"), RELEASE)
    assert hp.error is None and hp.changed
    assert hp.switch_binary and hp.stage_release and hp.action == "restart"
    assert [c.path for c in hp.files] == [
        "/opt/cardano/config/config.json", "/opt/cardano/config/conway-genesis.json", "/opt/cardano/config/topology.json",
    ]
    topo = json.loads(hp.files[2].content)
    own = topo["localRoots"][0]
    assert {(p["address"], p["port"]) for p in own["accessPoints"]} == {("203.0.113.21", 3001), ("203.0.113.11", 6000)}
    assert own["advertise"] is False
    assert any(p["address"] == "friend.example" for g in topo["localRoots"][1:] for p in g["accessPoints"])
    assert "-  \"Producers\": [" in hp.files[2].diff.diff


def test_producer_topology_lists_exactly_its_relays_and_no_public_peers():
    inv = inventory()
    hp = plan_host(inv.host("bp1"), inv, legacy_facts("bp1"), RELEASE)
    topo = json.loads(next(c for c in hp.files if c.path.endswith("topology.json")).content)
    points = {(p["address"], p["port"]) for g in topo["localRoots"] for p in g["accessPoints"]}
    assert points == {("203.0.113.11", 6000), ("203.0.113.12", 3001)}
    assert topo["useLedgerAfterSlot"] == -1 and "bootstrapPeers" not in topo


def test_applied_plan_is_idempotent_and_says_why_nothing_changes():
    inv = inventory()
    first = plan_host(inv.host("relay1"), inv, legacy_facts("relay1"), RELEASE)
    written = {c.path: c.content.decode() for c in first.files}
    after = host_facts(node_version="8.9.0", releases=("8.7.3", "8.9.0"),
                      config_text=written["/opt/cardano/cnode/files/config.json"],
                      topology_text=written["/opt/cardano/cnode/files/topology.json"])
    second = plan_host(inv.host("relay1"), inv, after, RELEASE)
    assert not second.changed and second.action == "none" and second.files == ()
    assert "nothing to do" in second.reasons[0] and "already P2P" in second.reasons[0]


def test_topology_only_change_on_a_p2p_node_is_a_reload():
    inv = inventory()
    first = plan_host(inv.host("relay1"), inv, legacy_facts("relay1"), RELEASE)
    written = {c.path: c.content.decode() for c in first.files}
    drifted = json.loads(written["/opt/cardano/cnode/files/topology.json"])
    drifted["localRoots"][0]["accessPoints"].pop()
    facts = host_facts(node_version="8.9.0", releases=("8.9.0",), config_text=written["/opt/cardano/cnode/files/config.json"],
                      topology_text=json.dumps(drifted, indent=2) + "\n")
    hp = plan_host(inv.host("relay1"), inv, facts, RELEASE)
    assert hp.action == "reload" and not hp.switch_binary
    assert [c.path for c in hp.files] == ["/opt/cardano/cnode/files/topology.json"]


def test_plan_json_has_a_stable_shape():
    inv = inventory()
    plan = make_plan(inv, inv.hosts, {h.name: legacy_facts(h.name) for h in inv.hosts}, RELEASE,
                     [["relay1"], ["relay2"], ["bp1"]])
    data = plan_as_json(plan)
    assert data["pending"] == 3
    assert [(h["host"], h["batch"], h["action"]) for h in data["hosts"]] == [
        ("relay1", 1, "restart"), ("relay2", 2, "restart"), ("bp1", 3, "restart"),
    ]
    assert set(data["hosts"][0]) >= {"current_version", "target_version", "files", "reasons", "error"}


def test_compiled_upgrade_playbook_batches_relays_then_producers():
    inv = inventory()
    pinned = Inventory(inv.source, tuple(_with_release(h) for h in inv.hosts), inv.groups)
    spec = compile_run(read_playbook(ROOT / "playbooks" / "upgrade-8.9.0.yml"), pinned)
    assert [s.name for s in spec.stages] == ["relays", "passive_nodes", "block_producers"]
    assert spec.batches == (("relay1",), ("relay2",), ("bp1",))
    assert spec.release is not None and spec.release.sha256 == "cd" * 32
    programs = {name: [type(p.operation).__name__ for p in program] for name, program in spec.programs.items()}
    assert set(programs) == {"relay1", "relay2", "bp1"}
    assert programs["relay1"] == ["StageRelease", "HookStep", "HookStep", "StageRelease", "InstallRelease", "MigrateConfig",
                                  "ConvertTopology", "InstallPeerSnapshot", "SetConsensusMode", "RestartNode",
                                  "SyncGate"]  # stage, then relays
    assert programs["bp1"][1] == "StageRelease"  # a block producer is never drained
    assert spec.stages[0].max_fail_percentage == 0 and spec.stages[0].min_healthy_relays == 1


def test_a_release_without_sha256_is_refused_unless_explicitly_allowed():
    inv = inventory()
    unpinned = Inventory(inv.source, tuple(_with_release(h, sha=None) for h in inv.hosts), inv.groups)
    playbook = read_playbook(ROOT / "playbooks" / "upgrade-8.9.0.yml")
    with pytest.raises(PlaybookError, match="no pinned sha256") as err:
        compile_run(playbook, unpinned)
    assert "stage.yml" in str(err.value)  # names the step's file and line
    spec = compile_run(playbook, unpinned, allow_unpinned=True)
    assert spec.release is not None and spec.release.sha256 is None
    assert any("NOT pinned" in w for w in spec.warnings)


def _with_release(host: Host, sha: str | None = "cd" * 32) -> Host:
    from dataclasses import replace
    from types import MappingProxyType

    release = {"version": "8.9.0", "url": "http://198.18.0.1:8080/cardano-node-8.9.0-linux.tar.gz", "source": "download"}
    if sha:
        release["sha256"] = sha
    return replace(host, vars=MappingProxyType({"node_release": release}))


@pytest.mark.parametrize(
    ("starts", "per_host", "total"),
    [
        ({"relay1": 150.0, "relay2": 40.0, "bp1": 60.0}, {"relay1": 150.0, "relay2": 40.0, "bp1": 60.0}, 250.0),
        ({"relay1": 150.0, "relay2": None, "bp1": 60.0}, {"relay1": 150.0, "relay2": None, "bp1": 60.0}, None),
    ],
)
def test_expected_downtime_per_host_and_for_the_rollout(starts, per_host, total):
    """Each host's expected downtime is its last measured start; the rollout's is the sum over its
    batches of the slowest host (one host per batch here; producers last); unknown stays unknown."""
    inv = inventory()
    facts = {h.name: timed(h.name, starts[h.name]) for h in inv.hosts}
    plan = make_plan(inv, inv.hosts, facts, RELEASE, [["relay1"], ["relay2"], ["bp1"]])
    assert {hp.host.name: hp.expected_downtime for hp in plan.hosts} == per_host
    assert plan.expected_duration == total
    assert plan_as_json(plan)["expected_duration_seconds"] == total


def test_a_batch_waits_for_its_slowest_host():
    inv = inventory()
    starts = {"relay1": 150.0, "relay2": 40.0, "bp1": 60.0}
    facts = {h.name: timed(h.name, starts[h.name]) for h in inv.hosts}
    plan = make_plan(inv, inv.hosts, facts, RELEASE, [["relay1", "relay2"], ["bp1"]])
    assert plan.expected_duration == 210.0


@pytest.mark.parametrize(
    ("extra", "stall", "interval", "timeout"),
    [
        ({}, 300.0, 10.0, None),  # the role's defaults: 300 s, 10 s, auto (from each host's last start)
        ({"sync_stall_seconds": 45, "sync_poll_seconds": 3, "sync_timeout_seconds": 600}, 45.0, 3.0, 600.0),
        ({"sync_stall_seconds": 900, "sync_timeout_seconds": 600}, 600.0, 10.0, 600.0),  # a stall fits the cap
    ],
)
def test_sync_gate_role_settings_reach_the_gate_policy(extra, stall, interval, timeout):
    inv = inventory()
    pinned = Inventory(inv.source, tuple(_with_release(h) for h in inv.hosts), inv.groups)
    spec = compile_run(read_playbook(ROOT / "playbooks" / "upgrade-8.9.0.yml"), pinned, extra_vars=extra)
    assert (spec.gate.stall_timeout, spec.gate.interval, spec.gate.overall_timeout) == (stall, interval, timeout)
