"""return_node: a command that puts the host back into rotation after its gate passed (or after its
rollback put it back in sync): the other half of drain_node, with the same arguments. A failing
return is reported loudly and stops the rollout: the host runs, in sync, but gets no work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.actions.base import Action, Slot, spec
from orchestrator.actions.drain_node import HookStep, parse_hook


def parse(args: Mapping[str, Any]) -> HookStep:
    return parse_hook("return", args)


ACTION = Action(
    spec("return_node", ["command"], ["delegate_to", "timeout_seconds"],
         doc="after the gate passed (or after a rollback back in sync), run command (sh -c) on the host or on "
             "delegate_to, killed after timeout_seconds; a failure stops the rollout"),
    Slot.HOOKS,
    parse,
)  # fmt: skip
