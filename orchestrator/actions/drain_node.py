"""drain_node: a command that takes the host out of rotation before anything on it is touched.

Exchanges run their nodes behind load balancers and feed db-sync or submit-api from them: before a
node stops, the balancer should stop sending it work (haproxy's runtime API: `set server
BACKEND/SERVER state drain`), and after its gate passes it should get work again (return_node).
The command runs on the host itself or, with `delegate_to`, on another inventory host (the
balancer), with `timeout_seconds`. A failing drain leaves the host untouched and counts as a failed
host. An empty command (the role's default) adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.actions.base import (
    Action,
    ArgError,
    HostDraft,
    HostPlanError,
    Operation,
    PlanContext,
    Slot,
    number,
    spec,
    text,
)
from orchestrator.model import Hook, Host, Inventory

DEFAULT_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class HookStep(Operation):
    """drain_node's and return_node's typed arguments."""

    kind: str  # "drain" or "return"
    command: str
    delegate_to: str  # "": the host itself
    timeout: float

    def hook(self, host: Host, inventory: Inventory) -> Hook | None:
        """The command for `host` and where it runs; None without a command."""
        if not self.command:
            return None
        on = host
        if self.delegate_to:
            try:
                on = inventory.host(self.delegate_to)
            except KeyError:  # compile_run refuses this at the step's line first
                raise HostPlanError(f"{self.kind} hook: delegate_to '{self.delegate_to}' is not an inventory host") from None
        return Hook(self.kind, self.command, on, self.timeout)

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        hook = self.hook(ctx.host, ctx.inventory)
        if self.kind == "drain":
            draft.drain = hook
        else:
            draft.return_hook = hook


def parse_hook(kind: str, args: Mapping[str, Any]) -> HookStep:
    timeout = number(args, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if timeout <= 0:
        raise ArgError(f"timeout_seconds must be more than 0, not {args.get('timeout_seconds')!r}")
    return HookStep(kind, text(args, "command"), text(args, "delegate_to"), timeout)


def hook_action(kind: str, doc: str) -> Action:
    """drain_node's or return_node's Action: same arguments, same slot, its own kind."""
    return Action(spec(f"{kind}_node", ["command"], ["delegate_to", "timeout_seconds"], doc=doc), Slot.HOOKS,
                  lambda args: parse_hook(kind, args))  # fmt: skip


ACTION = hook_action("drain", "before the host is touched, run command (sh -c) on it or on delegate_to (an inventory "
                              "host, e.g. the load balancer), killed after timeout_seconds; a failure leaves the host "
                              "untouched")  # fmt: skip
