"""restart_node: how a host's change reaches the running node — restart, reload (SIGHUP) or nothing.

mode auto: a restart when the binary or config.json changes; SIGHUP when only topology.json changed
on a node already running P2P (8.9.0 re-reads its topology on SIGHUP; a non-P2P node does not);
nothing when nothing changed. mode restart: always a restart when something changed. mode reload:
SIGHUP only — a host whose change needs a restart is refused with the reason, never half-applied.

On a block producer it also builds the restart guard (orchestrator/spec/window.py): the leader
schedule the probe read (the `leader_schedule` variable), the host's last measured start, the
remaining KES periods, and this step's window settings (leader_margin_seconds,
leader_settle_seconds, leader_max_wait_seconds, kes_refuse_restart_periods). A schedule that is configured
but could not be read stops the producer's plan: restarting blind is what the setting exists to
prevent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from orchestrator.actions.base import (
    Action,
    ArgError,
    HostDraft,
    HostPlanError,
    Operation,
    PlanContext,
    Slot,
    arg,
    args_spec,
    parse_args,
)
from orchestrator.cardano import health, node_yaml, releases
from orchestrator.cardano.crossing import cross
from orchestrator.cardano.leader_schedule import check_schedule_setting
from orchestrator.model import PlanAction
from orchestrator.spec import window as leader_window
from orchestrator.spec.window import WindowSettings

MODES = ("auto", "restart", "reload")


def p2p_enabled(config_text: str | None, version: str | None = None) -> bool:
    """Whether the node runs P2P with this config.json under `version`: the release catalogue says
    what an absent or false EnableP2P means for it (false up to 10.5, ignored from 10.6). A version
    the catalogue does not know (or None: not read) leaves the config's own flag to decide."""
    try:
        data = node_yaml.loads(config_text or "")  # the node reads config.json as YAML
    except ValueError:
        return False
    if version is not None and releases.is_catalogued(version) and isinstance(data, dict):
        return releases.p2p_mode(version, data)
    return health.enable_p2p(data) is True


Schedule = tuple[tuple[str, str], ...]  # a leader_schedule mapping, sorted, hashable


def _schedule(args: Mapping[str, Any], key: str, default: Schedule | None) -> Schedule | None:
    schedule = args.get(key, default)
    if schedule is None:
        return None
    why = check_schedule_setting(schedule)
    if why is not None:
        raise ArgError(why)
    return tuple(sorted((str(k), str(v)) for k, v in schedule.items()))


_WINDOW = WindowSettings()


@dataclass(frozen=True)
class RestartNodeArgs:
    """restart_node's arguments, declared once (actions/base.py `arg`); the window's defaults are
    WindowSettings' (spec/window.py); `window` names the WindowSettings field each one sets."""

    mode: str = arg("auto", "auto: SIGHUP when only the topology changed on a P2P node; restart; reload",
                    choices=MODES)
    leader_schedule: Schedule | None = arg(None, "where a producer's leader schedule is kept (None: not "
                                           "configured)", parse=_schedule)
    leader_margin_seconds: float = arg(_WINDOW.margin_seconds, "the node must be back this long before its "
                                       "next leader slot", window="margin_seconds")
    leader_settle_seconds: float = arg(_WINDOW.settle_seconds, "after a leader slot, wait this long",
                                       window="settle_seconds")
    leader_max_wait_seconds: float = arg(_WINDOW.max_wait_seconds, "no window within this long: the producer "
                                         "is deferred", window="max_wait_seconds")
    kes_refuse_restart_periods: int = arg(_WINDOW.kes_refuse_restart_periods, "refuse a restart at or below "
                                          "this many KES periods left", window="kes_refuse_restart_periods")  # fmt: skip

    def window(self) -> WindowSettings:
        return WindowSettings(**{f.metadata["window"]: getattr(self, f.name) for f in fields(self)
                                 if "window" in f.metadata})  # fmt: skip


_ARGS = RestartNodeArgs()


@dataclass(frozen=True)
class RestartNode(Operation):
    mode: str = _ARGS.mode
    window: WindowSettings = WindowSettings()  # a producer's restart window (spec/window.py)
    schedule: Schedule | None = None  # leader_schedule, as rendered for this host

    @property
    def schedule_setting(self) -> dict[str, str] | None:
        """The `leader_schedule` mapping the facts record reads (None: not configured)."""
        return None if self.schedule is None else dict(self.schedule)

    def probe_vars(self) -> Mapping[str, Any]:
        """The probe reads the producer's schedule where this step says it is kept (None: nowhere)."""
        return {"leader_schedule": self.schedule_setting}

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        self.decide(ctx, draft)
        if ctx.host.is_producer and draft.action is PlanAction.RESTART:
            # a SIGHUP keeps the node forging: no window needed
            draft.leader = self.guard(ctx, draft.target_version if draft.switch_binary else None)

    def decide(self, ctx: PlanContext, draft: HostDraft) -> None:
        if not draft.changes_files_or_binary:
            draft.action = PlanAction.NONE
            return
        topology = ctx.host.layout.topology_path
        needs_restart = draft.switch_binary or any(c.path != topology for c in draft.files)
        sighup_reads_it = p2p_enabled(ctx.facts.config_text, ctx.facts.node_version)
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


    def guard(self, ctx: PlanContext, target_version: str | None = None) -> leader_window.LeaderGuard:
        """The producer's restart guard from its facts. The window must hold the whole restart: its
        last start, or — when the switch to `target_version` replays the ledger (cardano/crossing.py) —
        the replay's estimate (hours on mainnet: such a producer is deferred with that reason rather
        than restarted into its leader slots)."""
        facts = ctx.facts
        downtime = facts.last_start_seconds
        if target_version is not None:
            crossing = cross(facts.node_version, target_version, network=ctx.host.network,
                             last_start_seconds=facts.last_start_seconds)  # fmt: skip
            if crossing.replays:
                downtime = crossing.start_seconds(facts.last_start_seconds)
        setting = self.schedule_setting
        source = None
        slots = facts.leader_schedule
        if setting is not None:
            source = f"{setting['source']} {setting.get('path') or ''}".strip()
            error = facts.leader_schedule_error
            if error is not None or slots is None:
                raise HostPlanError(f"leader schedule ({source}) could not be read: {error or 'not probed'}; "
                                    "a block producer is not restarted blind when its schedule is configured")  # fmt: skip
        return leader_window.build_guard(
            self.window, source=source, slots=tuple(slots or ()),
            remaining_kes_periods=facts.remaining_kes_periods,
            downtime_seconds=downtime,
        )  # fmt: skip


def parse(args: Mapping[str, Any]) -> RestartNode:
    a = parse_args(RestartNodeArgs, args)
    return RestartNode(a.mode, a.window(), a.leader_schedule)


ACTION = Action(
    args_spec(RestartNodeArgs, "restart_node", disruptive=True,
              doc="mode auto|restart|reload: auto sends SIGHUP when only the topology changed on a P2P node; on a "
                  "block producer a restart waits for a window between leader slots (leader_margin_seconds, "
                  "leader_settle_seconds, leader_max_wait_seconds) and is refused at or below "
                  "kes_refuse_restart_periods KES periods left"),
    Slot.APPLY,
    parse,
    probe_vars=frozenset({"leader_schedule"}),
)  # fmt: skip
