"""Every setting the roles and playbooks document changes the plan (or the run), and reaches the steps
through every layer with the documented precedence; a setting that was removed is refused with file:line.

The plans come from the real playbooks and roles, a real inventory file and real cardano files (the
8.7.3 mainnet config, a legacy topology with a peer its operator picked by hand); only the facts are
plain data.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.facts.model import HostFacts
from orchestrator.load.inventory import load_inventory, parse_extra_vars
from orchestrator.load.playbook import PlaybookError, load_playbook
from orchestrator.load.runspec import compile_run
from orchestrator.model import PlanAction
from orchestrator.plan import Plan, make_plan
from orchestrator.report.plan_json import plan_as_json
from tests.unit.facts_builder import host_facts
from tests.unit.playbooks import read_playbook

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "orchestrator" / "cardano" / "data"
UPGRADE = ROOT / "playbooks" / "upgrade-8.9.0.yml"
EXCHANGE = ROOT / "playbooks" / "upgrade-exchange.yml"
ENABLE_P2P = ROOT / "playbooks" / "enable-p2p.yml"
PIN = {"version": "8.9.0", "url": "http://198.18.0.1:8080/cardano-node-8.9.0-linux.tar.gz", "sha256": "ab" * 32}
FRIEND = "relay.friendpool.example"
TOPOLOGY = "/opt/cardano/config/topology.json"
CONFIG = "/opt/cardano/config/config.json"
RELAY9 = {"accessPoints": [{"address": "relay9.example.com", "port": 3001}], "valency": 1}


def legacy_facts(host: str) -> HostFacts:
    cfg = json.loads((DATA / "8.7.3" / "mainnet" / "config.json").read_text())
    cfg["EnableP2P"] = False
    own = {"relay1": ["203.0.113.12", "203.0.113.21"], "relay2": ["203.0.113.11", "203.0.113.21"],
           "bp1": ["203.0.113.11", "203.0.113.12"], "wallet1": ["203.0.113.11"]}[host]  # fmt: skip
    producers = [{"addr": a, "port": 3001, "valency": 1} for a in own]
    if host != "bp1":
        producers += [{"addr": "backbone.cardano.iog.io", "port": 3001, "valency": 2},
                      {"addr": FRIEND, "port": 3001, "valency": 1}]  # fmt: skip
    return host_facts(host, config_text=json.dumps(cfg, indent=2) + "\n",
                 topology_text=json.dumps({"Producers": producers}, indent=2) + "\n")  # fmt: skip


def write_inventory(tmp: Path, relays_vars: dict[str, Any] | None = None,
                    relay1_vars: dict[str, Any] | None = None, bp1_vars: dict[str, Any] | None = None) -> Path:  # fmt: skip
    data = {
        "all": {
            "vars": {"layout": "iog", "cardano_network": "mainnet", "node_release": PIN},
            "children": {
                "relays": {"vars": relays_vars or {}, "hosts": {
                    "relay1": {"ansible_host": "203.0.113.11", **(relay1_vars or {})},
                    "relay2": {"ansible_host": "203.0.113.12"}}},
                "block_producers": {"hosts": {"bp1": {"ansible_host": "203.0.113.21", **(bp1_vars or {})}}},
                "passive_nodes": {"hosts": {"wallet1": {"ansible_host": "203.0.113.31"}}},
                "balancers": {"vars": {"cardano_role": "helper"}, "hosts": {"lb1": {"ansible_host": "203.0.113.41"}}},
            },
        }
    }  # fmt: skip
    path = tmp / "hosts.yml"
    with path.open("w") as f:
        YAML().dump(data, f)
    return path


def write_playbook(tmp: Path, source: Path = UPGRADE, play_vars: dict[str, Any] | None = None,
                   stage_vars: dict[str, Any] | None = None, role_vars: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """The shipped playbook with vars set at the playbook, the relays stage, or its p2p_topology role entry."""
    yaml = YAML(typ="rt")
    data = yaml.load(source.read_text())
    relays = next(s for s in data["stages"] if s["name"] == "relays")
    if play_vars:
        data["vars"] = play_vars
    if stage_vars:
        relays["vars"] = stage_vars
    if role_vars:
        relays["roles"] = [{"role": r, "vars": role_vars} if r == "p2p_topology" else r for r in relays["roles"]]
    path = tmp / source.name
    with path.open("w") as f:
        yaml.dump(data, f)
    return path


def plan_of(tmp: Path, extra: dict[str, Any] | None = None, *, playbook: Path = UPGRADE,
            facts: dict[str, HostFacts] | None = None, **inventory_vars: Any) -> Plan:  # fmt: skip
    inventory = load_inventory(write_inventory(tmp, **inventory_vars), extra_vars=extra)
    book = read_playbook(playbook, roles_dir=ROOT / "roles")
    spec = compile_run(book, inventory, extra_vars=extra)
    facts = facts or {h.name: legacy_facts(h.name) for h in inventory.hosts}
    return make_plan(inventory, spec.hosts, facts, spec.release, spec.batches, spec.programs)


def written(plan: Plan, host: str, path: str) -> dict[str, Any]:
    hp = plan.host(host)
    assert hp.error is None, hp.error
    change = next((c for c in hp.files if c.path == path), None)
    assert change is not None, f"{host}: {path} unchanged ({[d.reason for d in hp.unchanged]})"
    data: dict[str, Any] = json.loads(change.content)
    return data


def addresses(topology: dict[str, Any]) -> set[str]:
    return {p["address"] for g in topology["localRoots"] for p in g["accessPoints"]}


def after_upgrade(tmp: Path) -> dict[str, HostFacts]:
    """Each host as the default upgrade leaves it: 8.9.0, P2P config and topology written."""
    plan = plan_of(tmp)
    out = {}
    for hp in plan.hosts:
        files = {c.path: c.content.decode() for c in hp.files}
        out[hp.host.name] = host_facts(hp.host.name, node_version="8.9.0", config_text=files[CONFIG],
                                       topology_text=files[TOPOLOGY], releases=("8.7.3", "8.9.0"))
    return out


def drifted(facts: dict[str, HostFacts], host: str) -> dict[str, HostFacts]:
    """One host's topology lost an access point of its own group (a topology-only change on a P2P node)."""
    topo = json.loads(facts[host].topology_text or "")
    topo["localRoots"][0]["accessPoints"] = topo["localRoots"][0]["accessPoints"][:1]
    topo["localRoots"][0]["valency"] = 1
    return {**facts, host: replace(facts[host], topology_text=json.dumps(topo, indent=2) + "\n")}


# ---- the table: setting (as -e) → what differs in the plan, against the same plan without it ----------

SCHEDULE = {"source": "file", "path": "/var/lib/pool/schedule.json"}
SETTINGS = [
    ("keep_manual_peers", {"keep_manual_peers": False},
     lambda p: FRIEND not in addresses(written(p, "relay1", TOPOLOGY))),
    ("extra_local_roots", {"extra_local_roots": [RELAY9]},
     lambda p: {"relay9.example.com"} <= addresses(written(p, "relay1", TOPOLOGY)) & addresses(written(p, "bp1", TOPOLOGY))),
    ("bootstrap_peers", {"bootstrap_peers": [{"address": "bootstrap.example.com", "port": 3001}]},
     lambda p: written(p, "relay1", TOPOLOGY)["bootstrapPeers"] == [{"address": "bootstrap.example.com", "port": 3001}]
     and "bootstrapPeers" not in written(p, "bp1", TOPOLOGY)),
    ("use_ledger_after_slot", {"use_ledger_after_slot": 123},
     lambda p: written(p, "relay1", TOPOLOGY)["useLedgerAfterSlot"] == 123
     and written(p, "bp1", TOPOLOGY)["useLedgerAfterSlot"] == -1),
    ("passive_topology", {"passive_topology": "private"},
     lambda p: written(p, "wallet1", TOPOLOGY)["useLedgerAfterSlot"] == -1
     and "bootstrapPeers" not in written(p, "wallet1", TOPOLOGY) and "bootstrapPeers" in written(p, "relay1", TOPOLOGY)),
    ("consensus_mode", {"consensus_mode": "genesis"},  # the upgrade's 8.9.0 reads no ConsensusMode; a BP stays Praos
     lambda p: "8.9.0 does not read ConsensusMode" in (p.host("relay1").error or "")
     and "block producers stay on Praos" in (p.host("bp1").error or "")),
    ("peer_sharing", {"peer_sharing": True},
     lambda p: written(p, "relay1", CONFIG).get("PeerSharing") is True and written(p, "bp1", CONFIG)["PeerSharing"] is False),
    ("sync_min_hot_peers", {"sync_min_hot_peers": 3},
     lambda p: {h["gate"]["min_hot_peers"] for h in plan_as_json(p)["hosts"]} == {3}),
    ("sync_max_slot_lag", {"sync_max_slot_lag": 5},
     lambda p: {h["gate"]["max_slot_lag"] for h in plan_as_json(p)["hosts"]} == {5}),
    ("sync_soak_seconds", {"sync_soak_seconds": 5},
     lambda p: {h["gate"]["soak_seconds"] for h in plan_as_json(p)["hosts"]} == {5}),
    ("sync_max_clock_skew_seconds", {"sync_max_clock_skew_seconds": 120},
     lambda p: {h["gate"]["max_clock_skew_seconds"] for h in plan_as_json(p)["hosts"]} == {120}),
    ("restart_mode", {"restart_mode": "reload"},
     lambda p: all("restart_mode reload cannot apply a binary switch" in (h.error or "") for h in p.hosts)),
    ("node_release", {"node_release": {**PIN, "version": "10.1.4"}},
     lambda p: {h.target_version for h in p.hosts} == {"10.1.4"}),
    ("leader_schedule", {"leader_schedule": SCHEDULE},  # the fake facts hold no schedule: the plan says so
     lambda p: "leader schedule (file /var/lib/pool/schedule.json) could not be read" in (p.host("bp1").error or "")),
    ("leader_margin_seconds", {"leader_margin_seconds": 300}, lambda p: leader(p)["margin_seconds"] == 300),
    ("leader_settle_seconds", {"leader_settle_seconds": 5}, lambda p: leader(p)["settle_seconds"] == 5),
    ("leader_max_wait_seconds", {"leader_max_wait_seconds": 60}, lambda p: leader(p)["max_wait_seconds"] == 60),
    ("kes_refuse_restart_periods", {"kes_refuse_restart_periods": 10},
     lambda p: leader(p)["kes"]["refuse_restart_periods"] == 10),
]  # fmt: skip


def leader(plan: Plan) -> dict[str, Any]:
    """bp1's restart guard as `plan --json` shows it (relays have none)."""
    doc = plan_as_json(plan)
    assert all(h["leader"] is None for h in doc["hosts"] if h["role"] == "relay")
    found: dict[str, Any] = next(h["leader"] for h in doc["hosts"] if h["host"] == "bp1")
    return found


@pytest.fixture(scope="module")
def default_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Plan]:
    """The plans without any setting, made once for the tests that compare a setting's plan with them."""
    return {
        "upgrade": plan_of(tmp_path_factory.mktemp("default-upgrade")),
        "exchange": plan_of(tmp_path_factory.mktemp("default-exchange"), HOOK_BASE, playbook=EXCHANGE),
    }


@pytest.mark.parametrize(("setting", "extra", "differs"), SETTINGS, ids=[s[0] for s in SETTINGS])
def test_each_setting_changes_the_plan(
    tmp_path: Path, setting: str, extra: dict[str, Any], differs: Any, default_plans: dict[str, Plan]
) -> None:
    assert not differs(default_plans["upgrade"]), f"{setting}: the default plan already shows the difference"
    assert differs(plan_of(tmp_path, extra)), f"{setting}: -e {extra} changed nothing"


def hooks(plan: Plan, host: str) -> list[dict[str, Any]]:
    return next(h["hooks"] for h in plan_as_json(plan)["hosts"] if h["host"] == host)  # type: ignore[no-any-return]


# The traffic role's settings, through the exchange playbook: each one changes the hooks of the plan.
HOOK_BASE = {"drain_command": "disable {{ inventory_hostname }}", "return_command": "enable {{ inventory_hostname }}"}
HOOK_SETTINGS = [
    ("drain_command", {}, lambda p: [h["kind"] for h in hooks(p, "wallet1")] == ["drain", "return"]),
    ("drain_delegate_to", {"drain_delegate_to": "lb1"}, lambda p: hooks(p, "wallet1")[0]["on"] == "lb1"),
    ("drain_timeout_seconds", {"drain_timeout_seconds": 30}, lambda p: hooks(p, "wallet1")[0]["timeout_seconds"] == 30),
    ("return_delegate_to", {"return_delegate_to": "lb1"}, lambda p: hooks(p, "wallet1")[1]["on"] == "lb1"),
    ("return_timeout_seconds", {"return_timeout_seconds": 9}, lambda p: hooks(p, "wallet1")[1]["timeout_seconds"] == 9),
]  # fmt: skip


@pytest.mark.parametrize(("setting", "extra", "differs"), HOOK_SETTINGS, ids=[s[0] for s in HOOK_SETTINGS])
def test_each_hook_setting_changes_the_plan(
    tmp_path: Path, setting: str, extra: dict[str, Any], differs: Any, default_plans: dict[str, Plan]
) -> None:
    base = plan_of(tmp_path, playbook=EXCHANGE) if setting == "drain_command" else default_plans["exchange"]
    assert not differs(base), f"{setting}: the default plan already shows it"
    assert differs(plan_of(tmp_path, {**HOOK_BASE, **extra}, playbook=EXCHANGE)), f"{setting}: -e {extra} changed nothing"


def test_the_issue_example_changes_the_relay_topologies(tmp_path: Path) -> None:
    """`plan -e '{"extra_local_roots": [...], "keep_manual_peers": false, "restart_mode": "restart"}'`."""
    extra = parse_extra_vars([json.dumps({"extra_local_roots": [RELAY9], "keep_manual_peers": False,
                                          "restart_mode": "restart"})])  # fmt: skip
    before, after = plan_of(tmp_path), plan_of(tmp_path, extra)
    assert plan_as_json(before) != plan_as_json(after)
    for relay in ("relay1", "relay2"):
        assert FRIEND in addresses(written(before, relay, TOPOLOGY))
        peers = addresses(written(after, relay, TOPOLOGY))
        assert "relay9.example.com" in peers and FRIEND not in peers
    assert all(h.action is PlanAction.RESTART for h in after.hosts)


def test_restart_mode_decides_how_a_topology_only_change_is_applied(tmp_path: Path) -> None:
    facts = drifted(after_upgrade(tmp_path), "relay2")
    actions = {}
    for mode in ("auto", "restart", "reload"):
        plan = plan_of(tmp_path, {"restart_mode": mode}, playbook=ENABLE_P2P, facts=facts)
        actions[mode] = plan.host("relay2").action
        assert plan.host("relay1").action is PlanAction.NONE  # nothing changed: no restart, whatever the mode
    assert actions == {"auto": PlanAction.RELOAD, "restart": PlanAction.RESTART, "reload": PlanAction.RELOAD}


def test_restart_mode_reload_refuses_a_change_that_needs_a_restart(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {"restart_mode": "reload"}, playbook=ENABLE_P2P, facts={
        n: replace(f, node_version="8.9.0", releases=("8.9.0",)) for n, f in after_upgrade(tmp_path).items()
        if n != "relay1"} | {"relay1": replace(legacy_facts("relay1"), node_version="8.9.0")})  # fmt: skip
    assert "restart_mode reload cannot apply a config.json change" in (plan.host("relay1").error or "")


# ---- precedence: role defaults < inventory group vars < host vars < playbook vars < stage vars
#      < role params < -e, each layer seen through keep_manual_peers on relay1 -------------------------

LAYERS = [
    ("role default (true)", {}, True),
    ("inventory group vars", {"relays_vars": {"keep_manual_peers": False}}, False),
    ("inventory host vars", {"relays_vars": {"keep_manual_peers": False}, "relay1_vars": {"keep_manual_peers": True}},
     True),
    ("playbook vars", {"relay1_vars": {"keep_manual_peers": True}, "play_vars": {"keep_manual_peers": False}}, False),
    ("stage vars", {"play_vars": {"keep_manual_peers": False}, "stage_vars": {"keep_manual_peers": True}}, True),
    ("role params", {"stage_vars": {"keep_manual_peers": True}, "role_vars": {"keep_manual_peers": False}}, False),
    ("-e", {"role_vars": {"keep_manual_peers": False}, "extra": {"keep_manual_peers": "true"}}, True),
]  # fmt: skip


@pytest.mark.parametrize(("layer", "setup", "kept"), LAYERS, ids=[x[0] for x in LAYERS])
def test_precedence_of_every_layer(tmp_path: Path, layer: str, setup: dict[str, Any], kept: bool) -> None:
    playbook = UPGRADE
    if {"play_vars", "stage_vars", "role_vars"} & set(setup):
        playbook = write_playbook(tmp_path, play_vars=setup.get("play_vars"), stage_vars=setup.get("stage_vars"),
                                  role_vars=setup.get("role_vars"))  # fmt: skip
    inventory_vars = {k: v for k, v in setup.items() if k in ("relays_vars", "relay1_vars")}
    plan = plan_of(tmp_path, setup.get("extra"), playbook=playbook, **inventory_vars)
    assert (FRIEND in addresses(written(plan, "relay1", TOPOLOGY))) is kept, layer


# ---- bad values and removed settings: refused before any SSH, at the step's file:line ----------------

@pytest.mark.parametrize(("extra", "message"), [
    ({"keep_manual_peers": "maybe"}, "convert_topology: keep_manual_peers must be true or false, not 'maybe'"),
    ({"extra_local_roots": [{"accessPoints": [{"address": "relay9.example.com"}], "valency": 1}]},
     'convert_topology: extra_local_roots[0].accessPoints[0]: missing key "port"'),
    ({"extra_local_roots": "relay9.example.com"},
     "convert_topology: expected a list of localRoots groups, found str"),
    ({"restart_mode": "bounce"}, "restart_node: mode must be one of auto, restart, reload, not 'bounce'"),
    ({"sync_min_hot_peers": -1}, "sync_gate: min_hot_peers must be a whole number ≥ 0, not -1"),
    ({"peer_sharing": "sometimes"}, "migrate_config: peer_sharing must be true or false, not 'sometimes'"),
    ({"leader_margin_seconds": "two minutes"}, "restart_node: leader_margin_seconds must be a number ≥ 0"),
    ({"kes_refuse_restart_periods": -1}, "restart_node: kes_refuse_restart_periods must be a whole number ≥ 0, not -1"),
])  # fmt: skip
def test_a_bad_value_is_refused_where_the_operator_wrote_it(tmp_path: Path, extra: dict[str, Any],
                                                            message: str) -> None:
    """Issue 29: the action's own verdict, but at the operator's source (`-e` here), never the role's file."""
    from orchestrator.load.inventory import InventoryError

    with pytest.raises(InventoryError) as caught:
        plan_of(tmp_path, extra)
    action, why = message.split(": ", 1)
    name = next(iter(extra))
    assert caught.value.path == "-e"
    assert caught.value.message.startswith(f"'{name}' (read as {action}."), caught.value.message
    assert why in caught.value.message


def test_a_playbook_variable_nothing_reads_is_refused_at_its_line(tmp_path: Path) -> None:
    """enable-p2p used to set `config_version: running`, which nothing read; now the loader says so."""
    playbook = tmp_path / "enable.yml"
    playbook.write_text(ENABLE_P2P.read_text().replace("min_healthy_relays: 1\n",
                                                       "min_healthy_relays: 1\nvars:\n  config_version: running\n", 1))
    with pytest.raises(PlaybookError) as caught:
        load_playbook(playbook, roles_dir=ROOT / "roles")
    assert (caught.value.path, caught.value.line, caught.value.column) == (str(playbook), 11, 3)
    assert caught.value.message == "variable 'config_version' is set but nothing in this playbook or its roles reads it"


@pytest.mark.parametrize(("steps", "line", "column", "message"), [
    ("- migrate_config: {to_version: 8.9.0}\n", 1, 20, "unknown argument 'to_version' for 'migrate_config'"),
    ("- migrate_config: {genesis: false}\n", 1, 20, "unknown argument 'genesis' for 'migrate_config'"),
    ("- restart_node: {stop_timeout_seconds: 30}\n", 1, 18, "unknown argument 'stop_timeout_seconds' for 'restart_node'"),
    ("- reload_node: {}\n", 1, 3, "unknown action 'reload_node'"),
])  # fmt: skip
def test_removed_arguments_are_refused_with_file_line(tmp_path: Path, steps: str, line: int, column: int,
                                                      message: str) -> None:  # fmt: skip
    (tmp_path / "roles" / "mine").mkdir(parents=True)
    (tmp_path / "roles" / "mine" / "steps.yml").write_text(steps)
    (tmp_path / "play.yml").write_text("name: p\nhosts: relays\nserial: 1\nroles: [mine]\n")
    with pytest.raises(PlaybookError) as caught:
        load_playbook(tmp_path / "play.yml")
    assert caught.value.path.endswith("roles/mine/steps.yml")
    assert (caught.value.line, caught.value.column) == (line, column)
    assert caught.value.message.startswith(message), caught.value.message


@pytest.mark.parametrize("layer", ["inventory", "playbook", "extra"])
def test_leader_schedule_from_any_layer_reaches_the_probe(tmp_path: Path, layer: str) -> None:
    """The facts record reads the schedule the producer's restart_node step renders (workflow.probe_hosts)."""
    from orchestrator.workflow import probe_hosts

    extra = {"leader_schedule": SCHEDULE} if layer == "extra" else None
    inventory = load_inventory(write_inventory(tmp_path, **({"bp1_vars": {"leader_schedule": SCHEDULE}}
                                                            if layer == "inventory" else {})), extra_vars=extra)  # fmt: skip
    playbook = write_playbook(tmp_path, play_vars={"leader_schedule": SCHEDULE}) if layer == "playbook" else UPGRADE
    spec = compile_run(read_playbook(playbook, roles_dir=ROOT / "roles"), inventory, extra_vars=extra)
    bp1 = next(h for h in probe_hosts(spec) if h.name == "bp1")
    assert bp1.vars["leader_schedule"] == SCHEDULE
    from orchestrator.facts.probe import build_probe

    assert "/var/lib/pool/schedule.json" in build_probe(bp1)


def test_a_bad_leader_schedule_in_a_playbook_is_refused_at_its_line(tmp_path: Path) -> None:
    """Issue 29: at the playbook's own line (its vars), not at the role's step."""
    playbook = write_playbook(tmp_path, play_vars={"leader_schedule": {"source": "sqlite", "path": "/b.db"}})
    with pytest.raises(PlaybookError) as caught:
        compile_run(read_playbook(playbook, roles_dir=ROOT / "roles"), load_inventory(write_inventory(tmp_path)))
    assert caught.value.path == str(playbook)
    assert "leader_schedule: unknown source 'sqlite'" in caught.value.message


# ---- a deprecated setting name (issue 29): read as its new name from every source, with a warning at
#      the operator's file:line:col; both names together are refused as given twice ---------------------

OLD_KES, NEW_KES = "kes_min_periods", "kes_refuse_restart_periods"


@pytest.mark.parametrize("layer", ["inventory host vars", "playbook vars", "-e"])
def test_the_old_kes_name_is_read_as_the_new_one_with_a_warning(tmp_path: Path, layer: str) -> None:
    inventory_vars: dict[str, Any] = {"bp1_vars": {OLD_KES: 10}} if layer == "inventory host vars" else {}
    extra = {OLD_KES: 10} if layer == "-e" else None
    playbook = write_playbook(tmp_path, play_vars={OLD_KES: 10}) if layer == "playbook vars" else UPGRADE
    inventory = load_inventory(write_inventory(tmp_path, **inventory_vars), extra_vars=extra)
    book = load_playbook(playbook, roles_dir=ROOT / "roles")
    spec = compile_run(book, inventory, extra_vars=extra)
    said = [w for w in spec.warnings if f"'{OLD_KES}' is deprecated: it is now '{NEW_KES}'" in w]
    assert len(said) == 1, spec.warnings
    where = {"inventory host vars": str(tmp_path / "hosts.yml"), "playbook vars": str(playbook), "-e": "-e"}[layer]
    assert said[0].startswith(f"{where}:"), said
    facts = {h.name: legacy_facts(h.name) for h in inventory.hosts}
    plan = make_plan(inventory, spec.hosts, facts, spec.release, spec.batches, spec.programs)
    assert leader(plan)["kes"]["refuse_restart_periods"] == 10


def test_both_kes_names_in_one_place_are_refused_as_given_twice(tmp_path: Path) -> None:
    from orchestrator.load.inventory import InventoryError

    with pytest.raises(InventoryError, match=f"'{NEW_KES}' is given twice"):
        load_inventory(write_inventory(tmp_path, bp1_vars={NEW_KES: 4, OLD_KES: 5}))
    with pytest.raises(InventoryError, match=f"'{NEW_KES}' is given twice"):
        load_inventory(write_inventory(tmp_path), extra_vars={NEW_KES: 4, OLD_KES: 5})
    with pytest.raises(PlaybookError, match=f"'{NEW_KES}' is given twice") as caught:
        load_playbook(write_playbook(tmp_path, role_vars={NEW_KES: 4, OLD_KES: 5}), roles_dir=ROOT / "roles")
    assert caught.value.line > 1
