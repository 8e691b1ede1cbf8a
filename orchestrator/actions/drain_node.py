"""drain_node: a command that takes the host out of rotation before anything on it is touched.

Exchanges run their nodes behind load balancers and feed db-sync or submit-api from them: before a
node stops, the balancer should stop sending it work (haproxy's runtime API: `set server
BACKEND/SERVER state drain`), and after its gate passes it should get work again (return_node).
The command runs on the host itself or, with `delegate_to`, on another inventory host (the
balancer), with `timeout_seconds`. A failing drain leaves the host untouched and counts as a failed
host. An empty command (the role's default) adds nothing.

The arguments (drain_node's and return_node's alike) are declared once, in `HookArgs`.
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
    RunDraft,
    RunRuleError,
    Slot,
    arg,
    args_spec,
    number,
    parse_args,
)
from orchestrator.model import Hook, Host, Inventory
from orchestrator.patterns.suggest import did_you_mean


def _positive_seconds(args: Mapping[str, Any], key: str, default: float) -> float:
    seconds = number(args, key, default)
    if seconds <= 0:
        raise ArgError(f"{key} must be more than 0, not {args.get(key)!r}")
    return seconds


@dataclass(frozen=True)
class HookArgs:
    """drain_node's and return_node's arguments, declared once (actions/base.py `arg`)."""

    command: str = arg("", "run with sh -c; empty (the role's default): no hook", required=True)
    delegate_to: str = arg("", "the inventory host it runs on, e.g. the load balancer (empty: the host itself)")
    timeout_seconds: float = arg(120.0, "killed after this many seconds (more than 0)", parse=_positive_seconds)


@dataclass(frozen=True)
class HookStep(Operation):
    """A drain_node or return_node step as rendered for one host."""

    kind: str  # "drain" or "return"
    args: HookArgs = HookArgs()

    @property
    def hook_kind(self) -> str:
        return self.kind

    def hook(self, host: Host, inventory: Inventory) -> Hook | None:
        """The command for `host` and where it runs; None without a command."""
        if not self.args.command:
            return None
        on = host
        if self.args.delegate_to:
            try:
                on = inventory.host(self.args.delegate_to)
            except KeyError:  # check_run refuses this at the step's line first
                raise HostPlanError(f"{self.kind} hook: delegate_to '{self.args.delegate_to}' is not an inventory "
                                    "host") from None  # fmt: skip
        return Hook(self.kind, self.args.command, on, self.args.timeout_seconds)

    def check_run(self, run: RunDraft, host: Host) -> None:
        """A delegate_to that names no inventory host is refused before any SSH, with the closest name."""
        delegate = self.args.delegate_to
        if delegate and delegate not in run.host_names:
            hint = did_you_mean(delegate, sorted(run.host_names))
            tail = f" — did you mean '{hint}'?" if hint else ""
            raise RunRuleError(f"{self.kind}_node: delegate_to '{delegate}' (for {host.name}) is not a host of the "
                               f"inventory{tail}")  # fmt: skip

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        hook = self.hook(ctx.host, ctx.inventory)
        if self.kind == "drain":
            draft.drain = hook
        else:
            draft.return_hook = hook


def hook_action(kind: str, doc: str) -> Action:
    """drain_node's or return_node's Action: same arguments, same slot, its own kind."""
    return Action(args_spec(HookArgs, f"{kind}_node", doc=doc), Slot.HOOKS,
                  lambda args: HookStep(kind, parse_args(HookArgs, args)))  # fmt: skip


ACTION = hook_action("drain", "before the host is touched, run command (sh -c) on it or on delegate_to (an inventory "
                              "host, e.g. the load balancer), killed after timeout_seconds; a failure leaves the host "
                              "untouched")  # fmt: skip
