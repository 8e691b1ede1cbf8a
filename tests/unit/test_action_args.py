"""An action declares its arguments once (issue 24 item 2): sync_gate's `SyncGateArgs` is its spec,
its parser, its defaults (GatePolicy's), the plan JSON's gate keys, and what its role passes — so a new
argument written in one place only fails here. restart_node's `RestartNodeArgs` likewise (its window's
defaults are WindowSettings'), and every other action's argument dataclass (`DECLARED`)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.actions.base import ArgError, RunDraft, RunRuleError, arg, arg_docs, args_spec, parse_args
from orchestrator.actions.convert_topology import ConvertTopology
from orchestrator.actions.convert_topology import parse as parse_topology
from orchestrator.actions.drain_node import HookArgs, HookStep
from orchestrator.actions.install_release import InstallRelease
from orchestrator.actions.migrate_config import MigrateConfig
from orchestrator.actions.registry import ACTIONS, SPECS
from orchestrator.actions.restart_node import RestartNode, RestartNodeArgs
from orchestrator.actions.restart_node import parse as parse_restart
from orchestrator.actions.stage_release import OMITTED, StageRelease, StageReleaseArgs, prepare_vars
from orchestrator.actions.sync_gate import ACTION, SyncGateArgs, parse
from orchestrator.cardano.layouts import IOG
from orchestrator.model import Host, PassiveTopology, Role
from orchestrator.spec.gate import GatePolicy

ROOT = Path(__file__).resolve().parents[2]
NAMES = [f.name for f in fields(SyncGateArgs)]
relay = Host("relay1", Role.RELAY, "198.18.0.11", IOG)
# Each action with arguments → its argument dataclass (the one place they are declared).
DECLARED: dict[str, type[Any]] = {
    "sync_gate": SyncGateArgs,
    "restart_node": RestartNodeArgs,
    "convert_topology": ConvertTopology,
    "drain_node": HookArgs,
    "return_node": HookArgs,
    "install_release": InstallRelease,
    "migrate_config": MigrateConfig,
    "stage_release": StageReleaseArgs,
}
# The actions whose bundled role passes each argument from a role default of its own.
FROM_ROLE_DEFAULTS = ["sync_gate", "restart_node", "convert_topology", "drain_node", "return_node", "migrate_config"]


def _role(action: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the action's step arguments in the bundled role that runs it, the role's defaults)."""
    yaml = YAML(typ="safe", pure=True)
    for role in sorted((ROOT / "roles").iterdir()):
        step = next((s for s in yaml.load((role / "steps.yml").read_text()) if action in s), None)
        if step is not None:
            return dict(step[action]), dict(yaml.load((role / "defaults.yml").read_text()))
    raise AssertionError(f"no bundled role runs {action}")


def test_the_spec_is_the_dataclass() -> None:
    assert ACTION.spec.allowed_args == set(NAMES) and SPECS["sync_gate"] == ACTION.spec
    assert ACTION.spec.required_args == {"max_slot_lag", "timeout_seconds"}
    assert all(doc and "\n" not in doc for doc in arg_docs(SyncGateArgs).values())
    assert SPECS["restart_node"].allowed_args == {f.name for f in fields(RestartNodeArgs)}
    assert SPECS["restart_node"].required_args == set() and SPECS["restart_node"].disruptive


@pytest.mark.parametrize("action", sorted(DECLARED))
def test_the_registry_spec_is_the_dataclass(action: str) -> None:
    spec = SPECS[action]
    assert spec == args_spec(DECLARED[action], action, disruptive=spec.disruptive, doc=spec.doc)
    assert all(doc and "\n" not in doc for doc in arg_docs(DECLARED[action]).values())


@pytest.mark.parametrize("action", sorted(DECLARED))
def test_the_parsed_empty_step_is_the_dataclass_default(action: str) -> None:
    """An argument the step leaves out takes the dataclass's default, whatever the action builds from it
    (or, when a required argument's default is no value, it is named: the loader refuses its absence first)."""
    try:
        got = parse_args(DECLARED[action], {})
    except ArgError as e:
        assert str(e).split()[0] in SPECS[action].required_args
    else:
        assert got == DECLARED[action]()


@pytest.mark.parametrize("action", FROM_ROLE_DEFAULTS)
def test_the_role_passes_every_argument_from_a_role_default_equal_to_the_dataclass_default(action: str) -> None:
    cls = DECLARED[action]
    step, defaults = _role(action)
    assert sorted(step) == sorted(f.name for f in fields(cls)), f"the role's {action} step and {cls.__name__} differ"
    rendered = {}
    for name, value in step.items():
        var = re.fullmatch(r"\{\{\s*([a-z_0-9]+)\s*\}\}", str(value))
        assert var, f"{name}: the role passes {value!r}, not one of its defaults"
        assert var.group(1) in defaults, f"{name}: {var.group(1)} is not in the role's defaults.yml"
        rendered[name] = defaults[var.group(1)]
    # parsed as a step's values are, the role's defaults are the dataclass's defaults: no setting has two
    # (the role's `sync_timeout_seconds: auto` is SyncGateArgs' None, `leader_schedule: null` RestartNodeArgs')
    assert parse_args(cls, rendered) == cls()


def test_the_parsed_role_defaults_are_the_plan_time_defaults() -> None:
    step, defaults = _role("sync_gate")
    assert parse({k: defaults[v.strip("{} ")] for k, v in step.items()}).policy == GatePolicy()
    step, defaults = _role("restart_node")
    assert parse_restart({k: defaults[v.strip("{} ")] for k, v in step.items()}) == RestartNode()


def test_each_default_is_gate_policys() -> None:
    assert SyncGateArgs().policy() == GatePolicy()
    assert SyncGateArgs.of(GatePolicy()) == SyncGateArgs()


def test_the_policy_keeps_every_argument() -> None:
    args = SyncGateArgs(max_slot_lag=7, min_hot_peers=3, timeout_seconds=900.0, stall_seconds=120.0,
                        poll_seconds=4.0, soak_seconds=11.0, max_clock_skew_seconds=2.5)
    assert SyncGateArgs.of(args.policy()) == args
    assert len({getattr(args, n) for n in NAMES}) == len(NAMES)  # distinct values: no two swapped unnoticed
    # a fixed cap bounds the stall limit, as before
    assert SyncGateArgs(timeout_seconds=60.0).policy().stall_timeout == 60.0


def test_plan_json_names_the_gate_settings_as_the_arguments() -> None:
    assert list(asdict(SyncGateArgs.of(GatePolicy())).keys()) == NAMES
    golden = (ROOT / "tests" / "fixtures" / "report" / "plan.json").read_text()
    assert all(f'"{name}"' in golden for name in NAMES)


@pytest.mark.parametrize(("args", "message"), [
    ({"max_slot_lag": -1}, "max_slot_lag must be a whole number ≥ 0, not -1"),
    ({"max_slot_lag": 2.5}, "max_slot_lag must be a whole number ≥ 0, not 2.5"),
    ({"poll_seconds": "often"}, "poll_seconds must be a number ≥ 0, not 'often'"),
    ({"timeout_seconds": "soon"}, "timeout_seconds must be a number ≥ 0, not 'soon'"),
    ({"min_hot_peers": True}, "min_hot_peers must be a whole number ≥ 0, not True"),
])  # fmt: skip
def test_a_bad_argument_is_named(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgError, match=re.escape(message)):
        parse(args)


def test_strings_from_the_command_line_parse_and_auto_means_per_host() -> None:
    got = parse_args(SyncGateArgs, {"max_slot_lag": "5", "timeout_seconds": "AUTO", "soak_seconds": "0"})
    assert (got.max_slot_lag, got.timeout_seconds, got.soak_seconds) == (5, None, 0.0)
    assert parse_args(SyncGateArgs, {"timeout_seconds": 90}).timeout_seconds == 90.0


@dataclass(frozen=True)
class _Other:
    """The helper is not sync_gate's: booleans, strings and a lower bound, for the actions that follow."""

    enabled: bool = arg(False, "on or off", required=True)
    label: str = arg("x", "a name")
    count: int = arg(1, "at least one", minimum=1)


def test_the_helper_serves_other_actions() -> None:
    spec = args_spec(_Other, "other", disruptive=True, doc="d")
    assert (spec.required_args, spec.optional_args, spec.disruptive) == ({"enabled"}, {"label", "count"}, True)
    assert parse_args(_Other, {"enabled": "yes", "label": " y "}) == _Other(True, "y", 1)
    with pytest.raises(ArgError, match="count must be a whole number ≥ 1, not 0"):
        parse_args(_Other, {"count": 0})
    with pytest.raises(ArgError, match="enabled must be true or false"):
        parse_args(_Other, {"enabled": "maybe"})


@pytest.mark.parametrize("action", sorted(DECLARED))
def test_the_docs_action_table_lists_the_arguments(action: str) -> None:
    text = (ROOT / "docs" / "playbooks.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith(f"| `{action}` |"))
    assert [a.strip() for a in row.split("|")[3].split(",")] == [f.name for f in fields(DECLARED[action])]


def test_restart_node_arguments_reach_its_operation() -> None:
    op = parse_restart({"mode": " reload ", "leader_margin_seconds": "5", "leader_settle_seconds": 6,
                        "leader_max_wait_seconds": 7, "kes_refuse_restart_periods": "8",
                        "leader_schedule": {"source": "file", "path": "/var/lib/pool/schedule.json"}})  # fmt: skip
    assert op.mode == "reload"
    assert (op.window.margin_seconds, op.window.settle_seconds, op.window.max_wait_seconds,
            op.window.kes_refuse_restart_periods) == (5.0, 6.0, 7.0, 8)  # fmt: skip
    assert op.schedule_setting == {"source": "file", "path": "/var/lib/pool/schedule.json"}
    with pytest.raises(ArgError, match="mode must be one of auto, restart, reload, not 'sometimes'"):
        parse_restart({"mode": "sometimes"})


def test_convert_topology_arguments_reach_its_operation() -> None:
    op = parse_topology({"keep_manual_peers": "no", "use_ledger_after_slot": "-1", "passive_topology": " private ",
                         "bootstrap_peers": [{"address": "b.example.com", "port": 3001}],
                         "extra_local_roots": [{"accessPoints": [{"address": "r9.example.com", "port": 3001}],
                                                "valency": 1}]})  # fmt: skip
    assert (op.keep_manual_peers, op.use_ledger_after_slot, op.passive_topology) == (False, -1, PassiveTopology.PRIVATE)
    assert [(p.address, p.port) for p in op.bootstrap_peers or ()] == [("b.example.com", 3001)]
    assert [p.address for g in op.extra_local_roots for p in g.access_points] == ["r9.example.com"]
    # a role's unset variable (null, or "" from -e) is the network's value, not an error
    assert parse_topology({"bootstrap_peers": "", "use_ledger_after_slot": None}) == ConvertTopology()


@pytest.mark.parametrize(("args", "message"), [
    ({"passive_topology": "hidden"}, "passive_topology must be one of ledger, private, not 'hidden'"),
    ({"use_ledger_after_slot": -2}, "use_ledger_after_slot must be a whole number ≥ -1, not -2"),
    ({"keep_manual_peers": "sometimes"}, "keep_manual_peers must be true or false, not 'sometimes'"),
    ({"bootstrap_peers": [{"address": "b.example.com"}]}, 'bootstrap_peers: $.bootstrapPeers[0]: missing key "port"'),
    ({"extra_local_roots": [{"accessPoints": [{"address": "r9"}], "valency": 1}]},
     'extra_local_roots[0].accessPoints[0]: missing key "port"'),
])  # fmt: skip
def test_a_bad_convert_topology_argument_is_named(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgError, match=re.escape(message)):
        parse_topology(args)


def _hook_op(action: str, args: dict[str, Any]) -> HookStep:
    op = ACTIONS[action].parse(args)
    assert isinstance(op, HookStep)
    return op


@pytest.mark.parametrize(("action", "kind"), [("drain_node", "drain"), ("return_node", "return")])
def test_hook_arguments_reach_its_operation(action: str, kind: str) -> None:
    op = _hook_op(action, {"command": " echo drain ", "delegate_to": " lb1 ", "timeout_seconds": "30"})
    assert (op.hook_kind, op.args) == (kind, HookArgs("echo drain", "lb1", 30.0))
    assert _hook_op(action, {"command": None, "delegate_to": None}).args == HookArgs()  # the role's nulls
    with pytest.raises(ArgError, match=re.escape("timeout_seconds must be more than 0, not 0")):
        ACTIONS[action].parse({"command": "x", "timeout_seconds": 0})
    with pytest.raises(ArgError, match=re.escape("timeout_seconds must be a number ≥ 0, not 'soon'")):
        ACTIONS[action].parse({"command": "x", "timeout_seconds": "soon"})


def test_a_hook_delegated_to_no_inventory_host_breaks_a_run_wide_rule() -> None:
    op = _hook_op("return_node", {"command": "x", "delegate_to": "lb2"})
    op.check_run(RunDraft(frozenset({"relay1", "lb2"})), relay)  # any inventory host or helper is fine
    with pytest.raises(RunRuleError, match=re.escape("return_node: delegate_to 'lb2' (for relay1) is not a host "
                                                     "of the inventory — did you mean 'lb1'?")):  # fmt: skip
        op.check_run(RunDraft(frozenset({"relay1", "lb1"})), relay)


def test_install_release_names_the_release_it_installs() -> None:
    op = ACTIONS["install_release"].parse({"version": " 10.6.4 "})
    assert op == InstallRelease("10.6.4") and op.installs() == "10.6.4"
    for empty in ("", None, "  "):
        with pytest.raises(ArgError, match="version must be a release version such as 8.9.0"):
            ACTIONS["install_release"].parse({"version": empty})
    assert all(ACTIONS[a].parse({}).installs() is None for a in ("convert_topology", "migrate_config", "restart_node"))


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("no", False), (True, True), ("on", True)])
def test_migrate_config_peer_sharing_unset_keeps_the_relays_choice(value: Any, expected: bool | None) -> None:
    assert ACTIONS["migrate_config"].parse({"peer_sharing": value}) == MigrateConfig(expected)


def test_migrate_config_names_a_bad_peer_sharing() -> None:
    with pytest.raises(ArgError, match=re.escape("peer_sharing must be true or false, not 'maybe'")):
        ACTIONS["migrate_config"].parse({"peer_sharing": "maybe"})


def test_each_file_action_names_the_file_it_reads() -> None:
    assert ACTIONS["migrate_config"].parse({}).reads(relay) == relay.layout.config_path
    assert ACTIONS["convert_topology"].parse({}).reads(relay) == relay.layout.topology_path
    assert ACTIONS["restart_node"].parse({}).reads(relay) is None


def _node_release_role() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(every step of roles/node_release, its stage file's too; the role's node_release default)."""
    yaml = YAML(typ="safe", pure=True)
    role = ROOT / "roles" / "node_release"
    steps = [*yaml.load((role / "steps.yml").read_text()), *yaml.load((role / "stage.yml").read_text())]
    return steps, dict(yaml.load((role / "defaults.yml").read_text())["node_release"])


def test_the_release_role_passes_each_pin_key_under_its_own_name() -> None:
    steps, pinned = _node_release_role()
    names = [f.name for f in fields(StageReleaseArgs)]
    staged = [s["stage_release"] for s in steps if "stage_release" in s]
    assert len(staged) == 2 and all(list(a) == names for a in staged)
    assert all(a[n] == f"{{{{ node_release.{n} }}}}" for a in staged for n in names)
    installed = [s["install_release"] for s in steps if "install_release" in s]
    assert installed == [{"version": "{{ node_release.version }}"}]
    # the role's default pin leaves out only keys whose absence has a documented meaning, and gives
    # any of those it sets the dataclass's default (no setting with two defaults)
    assert set(pinned) | set(OMITTED) == set(names)
    assert all(pinned.get(k, v) == v for k, v in OMITTED.items())
    variables: dict[str, Any] = {"node_release": pinned}
    prepare_vars(variables)
    pin = ACTIONS["stage_release"].parse(variables["node_release"])
    assert isinstance(pin, StageRelease)
    assert (pin.pin.version, pin.pin.sha256, pin.pin.source) == ("8.9.0", None, "download")


def test_a_pin_that_leaves_keys_out_gets_their_defaults_not_undefined() -> None:
    variables: dict[str, Any] = {"node_release": {"version": "8.9.0", "url": "file:///r.tgz", "source": "push"}}
    prepare_vars(variables)
    assert variables["node_release"] == {"version": "8.9.0", "url": "file:///r.tgz", "sha256": "", "source": "push"}
    assert OMITTED == {"sha256": "", "source": "download"}


@pytest.mark.parametrize(("args", "message"), [
    ({"url": "x"}, "node_release needs 'version' as a string"),
    ({"version": "8.9.0", "sha256": "abc"}, "node_release 'sha256' must be 64 hexadecimal digits"),
    ({"version": "8.9.0", "source": "carrier pigeon"}, "node_release 'source' must be one of download, push"),
    ({"version": ["8.9.0"]}, "version must be a string, not ['8.9.0']"),
])  # fmt: skip
def test_a_bad_stage_release_argument_is_named_as_the_inventory_pin_would_be(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgError, match=re.escape(message)):
        ACTIONS["stage_release"].parse(args)


def test_one_run_installs_one_release() -> None:
    first = ACTIONS["stage_release"].parse({"version": "8.9.0", "url": "file:///a.tgz"})
    other = ACTIONS["stage_release"].parse({"version": "10.6.4", "url": "file:///b.tgz"})
    run = RunDraft(frozenset({"relay1"}))
    first.check_run(run, relay)
    first.check_run(run, relay)  # the same pin again: fine
    assert isinstance(first, StageRelease) and run.release == first.pin
    with pytest.raises(RunRuleError, match=r"^relay1 pins release .*10\.6\.4.* but others pin .*8\.9\.0.*; one run "
                                           "installs one release$"):  # fmt: skip
        other.check_run(run, relay)


def test_two_pins_in_one_run_are_refused_at_the_step_before_any_ssh(tmp_path: Path) -> None:
    from orchestrator.load.inventory import load_inventory
    from orchestrator.load.playbook import PlaybookError
    from orchestrator.load.runspec import compile_run
    from tests.unit.playbooks import read_playbook
    from tests.unit.test_settings import PIN, UPGRADE, write_inventory

    inventory = load_inventory(write_inventory(tmp_path, bp1_vars={"node_release": {**PIN, "sha256": "cd" * 32}}))
    with pytest.raises(PlaybookError) as caught:
        compile_run(read_playbook(UPGRADE, roles_dir=ROOT / "roles"), inventory)
    assert caught.value.message.endswith("one run installs one release")
    assert caught.value.path.endswith("stage.yml") and caught.value.line > 0
