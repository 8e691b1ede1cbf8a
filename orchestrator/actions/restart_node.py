"""restart_node: how a host's change reaches the running node — restart, reload (SIGHUP) or nothing.

mode auto: a restart when the binary or config.json changes; SIGHUP when only topology.json changed
on a node already running P2P (8.9.0 re-reads its topology on SIGHUP; a non-P2P node does not);
nothing when nothing changed. mode restart: always a restart when something changed. mode reload:
SIGHUP only — a host whose change needs a restart is refused with the reason, never half-applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.actions.base import Action, HostDraft, HostPlanError, PlanContext, Slot, choice, spec
from orchestrator.cardano import health, node_yaml
from orchestrator.model import PlanAction

MODES = ("auto", "restart", "reload")


def p2p_enabled(config_text: str | None) -> bool:
    try:
        data = node_yaml.loads(config_text or "")  # the node reads config.json as YAML
    except ValueError:
        return False
    return health.enable_p2p(data) is True


@dataclass(frozen=True)
class RestartNode:
    mode: str = "auto"

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        if not draft.changes_files_or_binary:
            draft.action = PlanAction.NONE
            return
        topology = ctx.host.layout.topology_path
        needs_restart = draft.switch_binary or any(c.path != topology for c in draft.files)
        sighup_reads_it = p2p_enabled(ctx.facts.config_text)
        if self.mode == "reload":
            if needs_restart:
                what = "a binary switch" if draft.switch_binary else "a config.json change"
                raise HostPlanError(f"restart_mode reload cannot apply {what}: the node re-reads only topology.json "
                                    "on SIGHUP; use restart_mode auto or restart")  # fmt: skip
            if not sighup_reads_it:
                raise HostPlanError("restart_mode reload: this node does not run P2P, so SIGHUP would not re-read "
                                    "its topology; use restart_mode auto or restart")  # fmt: skip
            draft.action = PlanAction.RELOAD
            draft.reasons.append("topology only, restart_mode reload: SIGHUP, no restart")
        elif self.mode == "restart" or needs_restart or not sighup_reads_it:
            draft.action = PlanAction.RESTART
            if self.mode == "restart" and not needs_restart and sighup_reads_it:
                draft.reasons.append("topology only, but restart_mode restart: a full restart")
        else:
            draft.action = PlanAction.RELOAD
            draft.reasons.append("topology only, P2P already on: SIGHUP, no restart")


def parse(args: Mapping[str, Any]) -> RestartNode:
    return RestartNode(choice(args, "mode", MODES, "auto"))


ACTION = Action(
    spec("restart_node", [], ["mode"], disruptive=True,
         doc="mode auto|restart|reload: auto sends SIGHUP when only the topology changed on a P2P node"),
    Slot.APPLY,
    parse,
)  # fmt: skip
