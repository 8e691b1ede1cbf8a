"""A new action needs its own module and nothing else (issue 24 item 2): the action below is declared
here, in this one file, as a module of orchestrator/actions/ would declare it — its arguments once, in
a frozen dataclass, and what the rest of the tool asks of it as methods of `Operation`. The loader,
the run compiler, the planner, `--resume`'s gate and return hook, and the probe's variables then
handle it without a line of theirs naming it; and no module outside orchestrator/actions/ tests
whether an operation is a particular action's (the AST check at the end)."""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.actions.base import (
    Action,
    HostDraft,
    Operation,
    PlanContext,
    RunDraft,
    RunRuleError,
    Slot,
    arg,
    args_spec,
    parse_args,
)
from orchestrator.actions.registry import ACTIONS, SPECS
from orchestrator.load.inventory import load_inventory
from orchestrator.load.playbook import PlaybookError, load_playbook
from orchestrator.load.runspec import RunSpec, compile_run
from orchestrator.model import Hook, Host, Inventory
from orchestrator.plan import plan_host
from orchestrator.roll.resume import gate_for, return_hook_for
from orchestrator.spec.gate import GatePolicy
from orchestrator.workflow import probe_hosts
from tests.unit.facts_builder import host_facts
from tests.unit.test_settings import write_inventory

ROOT = Path(__file__).resolve().parents[2]


# ---- the whole new action, as its module would hold it ------------------------------------------


@dataclass(frozen=True)
class WarmCacheArgs:
    soak_seconds: float = arg(5.0, "in sync must hold this long after the cache is warm")
    via: str = arg("", "the inventory host that warms it", required=True)


@dataclass(frozen=True)
class WarmCache(Operation):
    args: WarmCacheArgs

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        draft.reasons.append(f"cache warmed via {self.args.via}")

    def check_run(self, run: RunDraft, host: Host) -> None:
        if self.args.via not in run.host_names:
            raise RunRuleError(f"warm_cache: via '{self.args.via}' (for {host.name}) is not an inventory host")

    def gate_policy(self) -> GatePolicy:
        return GatePolicy(soak_seconds=self.args.soak_seconds)

    @property
    def hook_kind(self) -> str:
        return "return"

    def hook(self, host: Host, inventory: Inventory) -> Hook:
        return Hook("return", f"warm {host.name}", inventory.host(self.args.via), 30.0)

    def probe_vars(self) -> Mapping[str, Any]:
        return {"warm_via": self.args.via}


WARM_CACHE = Action(args_spec(WarmCacheArgs, "warm_cache", doc="warm a cache"), Slot.HOOKS,
                    lambda args: WarmCache(parse_args(WarmCacheArgs, args)))  # fmt: skip


# ---- the rest of the tool, unchanged -------------------------------------------------------------


def _compile(tmp_path: Path, via: str) -> tuple[RunSpec, Inventory]:
    (tmp_path / "roles" / "warm").mkdir(parents=True)
    (tmp_path / "roles" / "warm" / "steps.yml").write_text(f"- warm_cache: {{soak_seconds: 7, via: {via}}}\n")
    play = tmp_path / "play.yml"
    play.write_text(textwrap.dedent("""\
        name: warm
        stages:
          - name: relays
            hosts: relays
            serial: 1
            roles: [warm]
        """))
    playbook = load_playbook(play, actions={**SPECS, "warm_cache": WARM_CACHE.spec})
    inventory = load_inventory(write_inventory(tmp_path))
    return compile_run(playbook, inventory, actions={**ACTIONS, "warm_cache": WARM_CACHE}), inventory


def test_a_new_action_reaches_every_stage_through_its_own_module(tmp_path: Path) -> None:
    spec, inventory = _compile(tmp_path, "lb1")
    relay1 = inventory.host("relay1")
    assert [type(p.operation) for p in spec.programs["relay1"]] == [WarmCache]
    assert spec.gate == GatePolicy(soak_seconds=7.0)  # the run's gate (runspec)
    assert gate_for(spec.programs, relay1, GatePolicy()) == GatePolicy(soak_seconds=7.0)  # --resume's gate
    hook = return_hook_for(spec.programs, relay1, inventory)  # --resume's return hook
    assert hook is not None and (hook.command, hook.on.name) == ("warm relay1", "lb1")
    probed = next(h for h in probe_hosts(spec) if h.name == "relay1")  # the probe's variables
    assert probed.vars["warm_via"] == "lb1"
    hp = plan_host(relay1, inventory, host_facts("relay1", config_text="{}", topology_text="{}"), None,
                   spec.programs["relay1"])  # fmt: skip
    assert hp.error is None and "cache warmed via lb1" in hp.reasons


def test_a_new_actions_run_wide_rule_is_refused_at_its_step(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError) as caught:
        _compile(tmp_path, "lb9")
    assert caught.value.message == "warm_cache: via 'lb9' (for relay1) is not an inventory host"
    assert caught.value.path.endswith("roles/warm/steps.yml") and caught.value.line == 1


# ---- and no module outside actions/ asks which action an operation is ---------------------------


def _operation_classes() -> set[str]:
    """The names of every class in orchestrator/actions/ that subclasses Operation."""
    names: set[str] = set()
    for path in (ROOT / "orchestrator" / "actions").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", None) == "Operation" for b in node.bases):
                names.add(node.name)
    return names


def special_cases(root: Path, classes: set[str]) -> list[str]:
    """`file:line` of every isinstance()/issubclass() outside root/actions naming one of `classes`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] == "actions":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("isinstance", "issubclass") and len(node.args) == 2):  # fmt: skip
                named = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                named |= {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}
                if named & classes:
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_isinstance_on_a_particular_action_outside_actions() -> None:
    classes = _operation_classes()
    assert {"SyncGate", "RestartNode", "HookStep", "StageRelease", "InstallRelease", "ConvertTopology",
            "MigrateConfig"} <= classes  # fmt: skip
    assert special_cases(ROOT / "orchestrator", classes) == []


def test_the_check_finds_a_special_case(tmp_path: Path) -> None:
    (tmp_path / "actions").mkdir()
    (tmp_path / "actions" / "x.py").write_text("isinstance(op, SyncGate)\n")  # inside actions/: its own business
    (tmp_path / "plan.py").write_text("if isinstance(op, (base.HookStep, int)):\n    pass\n")
    assert special_cases(tmp_path, {"SyncGate", "HookStep"}) == ["plan.py:1"]


def test_resume_runs_the_same_return_hook_as_the_planner_the_last_step_winning(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from orchestrator.actions.drain_node import HookArgs, HookStep

    inventory = load_inventory(write_inventory(tmp_path))
    relay1 = inventory.host("relay1")
    steps = [SimpleNamespace(operation=HookStep("return", HookArgs(command=c, delegate_to="lb1"))) for c in ("a", "b")]
    hook = return_hook_for({"relay1": steps}, relay1, inventory)
    assert hook is not None and hook.command == "b"  # the planner: each step sets the host's hook in turn
