"""An action declares its arguments once (issue 24 item 2): sync_gate's `SyncGateArgs` is its spec,
its parser, its defaults (GatePolicy's), the plan JSON's gate keys, and what its role passes — so a new
argument written in one place only fails here."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.actions.base import ArgError, arg, arg_docs, args_spec, parse_args
from orchestrator.actions.registry import SPECS
from orchestrator.actions.sync_gate import ACTION, SyncGateArgs, parse
from orchestrator.spec.gate import GatePolicy

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "sync_gate"
NAMES = [f.name for f in fields(SyncGateArgs)]


def _role() -> tuple[dict[str, Any], dict[str, Any]]:
    """(the sync_gate step's arguments in the role, the role's defaults)."""
    yaml = YAML(typ="safe", pure=True)
    steps = yaml.load((ROLE / "steps.yml").read_text())
    step = next(s for s in steps if "sync_gate" in s)
    return dict(step["sync_gate"]), dict(yaml.load((ROLE / "defaults.yml").read_text()))


def test_the_spec_is_the_dataclass() -> None:
    assert ACTION.spec.allowed_args == set(NAMES) and SPECS["sync_gate"] == ACTION.spec
    assert ACTION.spec.required_args == {"max_slot_lag", "timeout_seconds"}
    assert all(doc and "\n" not in doc for doc in arg_docs(SyncGateArgs).values())


def test_the_role_passes_every_argument_from_a_role_default_equal_to_the_dataclass_default() -> None:
    step, defaults = _role()
    assert sorted(step) == sorted(NAMES), "the role's sync_gate step and SyncGateArgs name different arguments"
    rendered = {}
    for name, value in step.items():
        var = re.fullmatch(r"\{\{\s*([a-z_0-9]+)\s*\}\}", str(value))
        assert var, f"{name}: the role passes {value!r}, not one of its defaults"
        assert var.group(1) in defaults, f"{name}: {var.group(1)} is not in roles/sync_gate/defaults.yml"
        rendered[name] = defaults[var.group(1)]
    # parsed as a step's values are, the role's defaults are the dataclass's defaults: no setting has two
    # (the role's `sync_timeout_seconds: auto` is the dataclass's None)
    assert parse_args(SyncGateArgs, rendered) == SyncGateArgs()
    assert parse(rendered).policy == GatePolicy()


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


def test_the_docs_action_table_lists_the_arguments() -> None:
    text = (ROOT / "docs" / "playbooks.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `sync_gate` | gate |"))
    assert [a.strip() for a in row.split("|")[3].split(",")] == NAMES
