"""Rich renderings of plans, live rollouts and run summaries. Only this package and cli print."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from orchestrator.actions import seed_db
from orchestrator.cardano.crossing import Crossing, Replay, downtime_text, gib
from orchestrator.model import HostStatus, Phase, PlanAction
from orchestrator.plan import HostPlan, Plan
from orchestrator.report.terminal import data, data_str, keep_headers, make_console, one_line, utc_stamp
from orchestrator.roll.engine import RolloutResult
from orchestrator.roll.events import (
    WHY_PHASES,
    ConnectionChanged,
    Countdown,
    Event,
    GateSeen,
    NodePhaseSeen,
    Paused,
    Replanned,
    why,
)
from orchestrator.roll.gates import fmt_duration

__all__ = ["make_console", "print_plan", "print_summary", "LiveRollout", "plan_table", "summary_table", "utc_stamp"]

STATUS_STYLE = {
    HostStatus.UPGRADED: "green", HostStatus.UNCHANGED: "dim", HostStatus.ROLLED_BACK: "yellow",
    HostStatus.FAILED: "bold red", HostStatus.SKIPPED: "magenta", HostStatus.UNTOUCHED: "cyan",
    HostStatus.DEFERRED: "yellow", HostStatus.REFUSED: "bold yellow",
}  # fmt: skip


def plan_table(plan: Plan) -> Table:
    table = Table(title=f"Plan: {len(plan.pending)} of {len(plan.hosts)} host(s) change", title_justify="left")
    for col in ("batch", "host", "role", "version", "files changing", "action", "expected downtime"):
        table.add_column(col, overflow="fold")
    for hp in sorted(plan.hosts, key=lambda h: (h.batch or 999, h.host.name)):
        if hp.error:
            table.add_row(str(hp.batch or "-"), data(hp.host.name), hp.host.role.value, data(hp.current_version or "?"),
                          "", data(hp.live_state or "error", "bold red"), "")  # fmt: skip
            continue
        version = hp.current_version or "?"
        if hp.switch_binary:
            version = f"{version} → {hp.target_version}"
        files = ", ".join(c.path.rsplit("/", 1)[-1] for c in hp.files) or "-"
        hooks = [f"{k.kind} on {k.on.name}" for k in (hp.drain, hp.return_hook) if k is not None and hp.changed]
        if hooks:
            files += f" ({'; '.join(hooks)})"
        style = {PlanAction.RESTART: "yellow", PlanAction.RELOAD: "green"}.get(hp.action, "dim")
        action = Text("refused (KES)", "bold yellow") if hp.refusal else Text(hp.action, style)
        table.add_row(str(hp.batch or "-"), data(hp.host.name), hp.host.role.value, data(version), data(files), action,
                      data(_host_downtime(hp)))  # fmt: skip
    return keep_headers(table)


def _host_downtime(hp: HostPlan) -> str:
    """The downtime cell: a replay's estimate with its kind ("est. 8-10 h, replay from genesis"),
    else the host's own last start."""
    if hp.replays and hp.changed and hp.action == PlanAction.RESTART:
        assert hp.crossing is not None and hp.crossing.replay is not None
        return f"{downtime_text(hp.crossing.downtime)}, {hp.crossing.replay.value}"
    if hp.converts and hp.changed and hp.action == PlanAction.RESTART:  # actions/convert_snapshot.py
        return f"{_downtime_text(hp.expected_downtime, hp.last_start_seconds)} after the snapshot conversion"
    return _downtime_text(hp.expected_downtime, hp.last_start_seconds)


def crossing_lines(c: Crossing) -> list[str]:
    """What the plan says under a host about its crossing: the ledger, the rollback, the estimate's
    basis and the disk. One line when nothing replays."""
    if c.refusal is not None:
        return []  # the host's error line says it
    if c.replay is None:
        return [f"ledger: {c.why}"]
    if c.replay is Replay.NONE:
        return [f"ledger: no replay ({c.why})"]
    lines = [f"ledger: {c.replay.value} — {c.why}", c.rollback,
             f"expected downtime {downtime_text(c.downtime)}: {c.downtime.basis}"]  # fmt: skip
    disk = c.disk
    if disk.needed_bytes is None or disk.free_bytes is None:
        free = "unknown" if disk.free_bytes is None else gib(disk.free_bytes)
        lines.append(f"disk: headroom unknown ({disk.basis}; free {free})")
    else:
        lines.append(f"disk: {gib(disk.needed_bytes)} needed ({disk.basis}), {gib(disk.free_bytes)} free")
    return lines


def _downtime_text(expected: float | None, last_start: float | None) -> str:
    if expected is None:
        return "unknown (no complete start in its log)"
    if expected == 0:
        return "none"
    return f"~{fmt_duration(expected)} (its last start)" if last_start is not None else f"~{fmt_duration(expected)}"


# A skew below this is the probe's own noise (`date +%s` is whole seconds): not worth a line.
CLOCK_NOTE_SECONDS = 2.0


def print_plan(console: Console, plan: Plan, diff: bool = False) -> None:
    console.print(plan_table(plan), crop=False)
    if plan.pending:
        total = plan.expected_duration
        basis = "host's last start" + (", or its ledger replay's estimate" if plan.estimated else "")
        figure = "unknown" if total is None else ("est. " if plan.estimated else "~") + fmt_duration(total)
        console.print(
            "Expected restart time of the rollout (batches one after another, each as long as its slowest "
            f"{basis}): {figure}", highlight=False,
        )  # fmt: skip
        for estimate in seed_db.role_estimates(plan.pending):
            console.print(f"  {estimate.line()}", highlight=False, soft_wrap=True)
    now = time.time()
    in_handover = {name: h for h in plan.handovers for name in (h.producer, h.standby)}
    for hp in plan.hosts:
        if hp.error:
            console.print(Text.assemble(data(f"{hp.host.name}: ", "bold"), data(hp.error, "red")), soft_wrap=True)
            continue
        leader = hp.leader.summary(now) if hp.leader is not None and hp.changed else None
        crossing = crossing_lines(hp.crossing) if hp.crossing is not None and hp.changed else []
        if not hp.reasons and leader is None and not hp.refusal and not crossing:  # no empty "relay1:" heading
            continue
        console.print(data(f"{hp.host.name}:", "bold"))
        if hp.refusal:  # first: the run will not apply what the reasons below describe
            console.print(data(f"  - {hp.refusal}", "bold yellow"), soft_wrap=True)
        for reason in [*hp.reasons, *crossing]:  # prose: a log viewer or terminal wraps it, never a hard break mid-sentence
            console.print(data(f"  - {reason}"), soft_wrap=True)
        pool = in_handover.get(hp.host.name)
        if leader is not None and pool is not None:  # the handover below, not a wait for a window
            console.print(data(f"  - restart window: not waited for: it restarts while the other host of its pool "
                               f"forges (handover below); with `run --no-handover`: {leader}"), soft_wrap=True)  # fmt: skip
        elif leader is not None:
            console.print(data(f"  - restart window: {leader}"), soft_wrap=True)
        if hp.clock_skew is not None and abs(hp.clock_skew) >= CLOCK_NOTE_SECONDS:
            console.print(f"  - its clock is {hp.clock_skew:+.0f} s off the control machine's (slot lags are measured "
                          "against its own clock)", highlight=False, soft_wrap=True)  # fmt: skip
    for line in handover_lines(plan):
        console.print(data(line, "bold" if not line.startswith(" ") else ""), soft_wrap=True)
    if diff:
        for hp in plan.hosts:
            for change in hp.files:
                console.print(data(f"--- {hp.host.name}: {change.path} ({change.diff.reason})", "bold"), soft_wrap=True)
                console.print(Syntax(data_str(change.diff.diff), "diff", theme="ansi_dark", background_color="default"))


def _phase_words(text: str) -> str:
    """The words of a gate state before its first figure ("replaying ledger" of "replaying ledger 10%")."""
    return re.split(r"\d", text, maxsplit=1)[0].strip()


def handover_lines(plan: Plan) -> list[str]:
    """Each pool's handover (plan.PlannedHandover): its steps in order, then the forging gap it predicts."""
    lines: list[str] = []
    for h in plan.handovers:
        lines.append(f"handover {h.producer} → {h.standby} (the producer keeps forging until its standby takes over):")
        lines.append(f"  order: the pool is one turn in the producers' batches: {h.standby} is upgraded first, "
                     f"{h.producer} last, whatever the batch order above")  # fmt: skip
        lines += [f"  {i}. {step} [{host}]: {does}" for i, (step, host, does) in enumerate(h.steps, 1)]
        missed = ("0 leader slots missed if all goes well (the gap falls between two leader slots, "
                  f"from {h.schedule})" if h.expected_missed_leader_slots == 0 else "leader slots missed: unknown")  # fmt: skip
        lines.append(f"  forging gap: {missed}; budget {h.gap_budget_seconds:.0f} s without a forger at most")
        lines += [f"  - {note}" for note in h.notes]
    return lines


class LiveRollout:
    """A live per-host view: phase, batch and gate progress (slot lag shrinking)."""

    def __init__(self, console: Console, plan: Plan, clock: Callable[[], float] = time.time) -> None:
        self.console = console
        self.clock = clock  # wall clock, seconds since the epoch: the timestamps of the log lines
        self.rows: dict[str, dict[str, Any]] = {
            hp.host.name: {"batch": hp.batch, "role": hp.host.role.value, "phase": "waiting" if hp.changed else "-",
                           "gate": "", "since": None}
            for hp in plan.hosts
        }  # fmt: skip
        self.lines: list[str] = []
        # A terminal gets a live table; a CI log or cron mail gets one line per event and the table once,
        # at the end (a Live display there only prints its last frame, without a final newline).
        self.live = (
            Live(self._render(), console=console, refresh_per_second=4, transient=False)
            if console.is_terminal
            else None
        )

    def __enter__(self) -> LiveRollout:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._render())
            self.live.__exit__(None, None, None)
        else:
            self.console.print(self._render(), crop=False)

    def _log(self, text: str, always: bool = False) -> None:
        """A progress line. Off a terminal (CI log, cron mail, `| cat`) it starts with a UTC ISO-8601
        timestamp: a run that waits for a leader window can cross midnight, and the log's reader may be
        in another time zone. On a terminal the live table shows progress; `always` lines still print.
        """
        if self.live is None:
            self.console.print(data(one_line(f"{utc_stamp(self.clock())} {text}")), soft_wrap=True)
        elif always:
            self.console.print(data(text), soft_wrap=True)

    def on_event(self, event: Event) -> None:
        """Each event by its typed payload (roll/events.py): a row of the live table, a progress line."""
        if event.host == "*":
            if event.phase == Phase.PAUSED:
                self.lines.append(f"{event.phase}: {Paused.of(event).reason}")
                self._log(self.lines[-1])
        elif event.phase == Phase.GATE_SAMPLE:
            row = self.rows.get(event.host)
            if row is not None:
                seen = GateSeen.of(event)
                waiting = seen.waiting_for
                said = waiting.split(": ", 1)[-1] if waiting else ""  # "node starting: <what the state says>"
                # the same phase said twice (its figures sampled a moment apart) is said once
                same = said in seen.state or (_phase_words(said) or None) == _phase_words(seen.state)
                row["gate"] = seen.state + (f" — {waiting}" if waiting and not same else "")
                step, prev = seen.progress_step, row.get("step")
                row["step"] = step
                # a line per 10% within a startup phase (phase changes print their own, below)
                if step is not None and prev is not None and step != prev and step.split(":")[0] == prev.split(":")[0]:
                    self._log(f"{event.host}: {seen.state}", always=True)
        elif event.phase == Phase.WINDOW_COUNTDOWN:
            row = self.rows.get(event.host)
            if row is not None:
                countdown = Countdown.of(event)
                left = countdown.seconds_left
                row["gate"] = f"leader slot: restart in {fmt_duration(left)} (at {countdown.until})"
                # a CI log gets a line every 10 s of the wait, a terminal the live row
                last = row.get("countdown_logged")
                if last is None or last - left >= 10:
                    row["countdown_logged"] = left
                    self._log(f"{event.host}: waiting for its restart window: {fmt_duration(left)} left")
        elif event.phase == Phase.NODE_PHASE:
            row = self.rows.get(event.host)
            if row is not None:
                self._log(f"{event.host}: {NodePhaseSeen.of(event).detail}", always=True)
        elif event.phase in (Phase.CONNECTION_LOST, Phase.RECONNECTED):
            change = ConnectionChanged.of(event)
            what = "connection lost" if change.lost else "reconnected"
            self.lines.append(f"{event.host}: {what} during the {change.during}"
                              + (f": {change.detail}" if change.detail else ""))  # fmt: skip
            self._log(self.lines[-1])
        elif event.phase in (Phase.HANDOVER_STEP, Phase.FORGERS_SEEN, Phase.HANDOVER_ENDED):
            self._on_handover(event)
        elif event.phase == Phase.REPLANNED:
            # the operator approved another diff: show the one that will be written instead
            replanned = Replanned.of(event)
            self.lines.append(f"{event.host}: {replanned.reason}")
            self._log(f"{event.host}: {replanned.reason}; the new diff:", always=True)
            for diff in replanned.diffs.values():
                self.console.print(data(diff))
        else:
            row = self.rows.get(event.host)
            if row is not None:
                row["phase"] = event.phase
                row["since"] = row["since"] or time.monotonic()
                said = str(event.data.get("detail", ""))
                if event.phase in WHY_PHASES:
                    self.lines.append(f"{event.host}: {event.phase}: {why(event)}")
                    self._log(self.lines[-1])
                elif event.phase == Phase.STAGED and "sha256sums: not verified" in said:
                    # the release's sums file could not be checked (roll/remote.py): staged on the pin alone
                    self.lines.append(f"{event.host}: staged; {said.split('sha256sums: ', 1)[1]}")
                    self._log(self.lines[-1], always=True)
                else:
                    gate = f" ({row['gate']})" if event.phase == Phase.GATE_PASSED and row["gate"] else ""
                    self._log(f"{event.host}: {event.phase}{gate}")
        if self.live is not None:
            self.live.update(self._render())

    def _on_handover(self, event: Event) -> None:
        """A pool's forging handover (roll/handover_events.py), on the original producer's row: each
        step with the hosts it acts on, the forgers seen when they change, and the ending naming the
        host that forges (also kept for the summary)."""
        from orchestrator.roll.handover_events import ForgersSeen, HandoverEnded, HandoverStepped

        row = self.rows.get(event.host)
        if event.phase == Phase.HANDOVER_STEP:
            step = HandoverStepped.of(event)
            text = f"handover {step.step} (forging on {step.active}, standby {step.standby})"
            if row is not None:
                row["phase"], row["gate"] = Phase.HANDOVER_STEP, text
            self._log(f"{event.host}: {text}" + (f": {step.detail}" if step.detail else ""))
        elif event.phase == Phase.FORGERS_SEEN:
            seen = ForgersSeen.of(event)
            now = f"{seen.active} {seen.active_forging}, {seen.standby} {seen.standby_forging}"
            if row is not None and row.get("forgers") != now:
                row["forgers"] = now
                self._log(f"{event.host}: forging seen ({seen.during}): {now}")
        else:
            ended = HandoverEnded.of(event)
            gap = f", forging gap {ended.gap_seconds:.1f} s" if ended.gap_seconds is not None else ""
            who = f"{ended.forger} forges" if ended.forger else "no host proven forging"
            self.lines.append(f"{event.host}: handover {ended.ending}: {who}{gap}; {ended.reason}")
            self._log(self.lines[-1], always=True)

    def _render(self) -> Group:
        table = Table(title="Rollout", title_justify="left")
        for col in ("batch", "host", "role", "phase", "gate"):
            table.add_column(col)
        for name, row in self.rows.items():
            style = "green" if row["phase"] == Phase.DONE else "red" if "fail" in row["phase"] else ""
            table.add_row(str(row["batch"] or "-"), data(name), row["role"], data(row["phase"], style), data(row["gate"]))
        return Group(keep_headers(table), *(data(one_line(line), "yellow") for line in self.lines[-6:]))


def summary_table(result: RolloutResult) -> Table:
    table = Table(title=f"Run {result.run_id}: {'OK' if result.ok else 'NOT OK'}", title_justify="left")
    for col in ("host", "role", "batch", "outcome", "downtime", "start phases", "detail"):
        table.add_column(col, overflow="fold")
    for o in result.outcomes.values():
        downtime = f"{o.downtime:.1f}s" if o.downtime is not None else ""
        phases = ", ".join(f"{p} {s:.1f}s" for p, s in o.phases.items())
        table.add_row(data(o.host), o.role, str(o.batch or "-"), data(o.status, STATUS_STYLE.get(o.status, "")),
                      downtime, data(phases), data(o.detail))  # fmt: skip
    return keep_headers(table)


def summary_records(result: RolloutResult) -> list[str]:
    """The summary as one record (line) per host: for a pipe, CI log or cron mail, where a table's
    free-text cells (start phases, detail) would wrap inside their borders; grep finds a host's line."""
    lines = [f"Run {result.run_id}: {'OK' if result.ok else 'NOT OK'}"]
    for o in result.outcomes.values():
        parts = [f"{o.host}: {o.status} ({o.role}, batch {o.batch or '-'})"]
        if o.downtime is not None:
            parts.append(f"downtime {o.downtime:.1f}s")
        if o.phases:
            parts.append("start phases " + ", ".join(f"{p} {s:.1f}s" for p, s in o.phases.items()))
        if o.detail:
            parts.append(o.detail)
        lines.append(one_line("; ".join(parts)))
    return lines


def print_summary(console: Console, result: RolloutResult, report_path: str | None) -> None:
    console.line()
    if console.is_terminal:
        console.print(summary_table(result), crop=False)
    else:  # one record per host: tables fit 160 columns by design only where their cells are short
        for line in summary_records(result):
            console.print(data(line), soft_wrap=True)
    if result.stopped_reason:
        console.print(data(f"Stopped: {result.stopped_reason}", "bold red"), soft_wrap=True)
    counts: Mapping[str, int] = {s: sum(1 for o in result.outcomes.values() if o.status == s) for s in STATUS_STYLE}
    console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if report_path:
        console.print(data(f"JSON report: {report_path}"))
