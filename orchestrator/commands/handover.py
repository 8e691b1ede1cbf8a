"""`cardano-fleet handover`: move a pool's forging from its block producer to its standby producer.

The wiring of roll/handover.py's state machine for an operator (issue 27): a command rather than a
playbook, because a playbook's stages plan per-host changes and a handover alone changes none (the
upgrade's handover mode, roll/pool.py, runs it inside a run); this command runs the `Handover` alone,
with the real SSH operations (roll/handover_remote.py). It upgrades nothing: both nodes keep their releases (the
`upgrade` of the state machine is "nothing to do"), so after it the old producer is the standby, idle
with its credential files renamed away.

Safety as `run`: bad input and refusals before any host is touched; the confirmation (or --yes; none
without a terminal); the state dir's lock and each host's run lock; a journal in
STATE_DIR/runs/<run id>/journal.jsonl (the handover's steps, journaled before each acts); report.json.
A first SIGINT/SIGTERM/SIGHUP is a doubt like any other: the handover recovers (forging on exactly one
host, the original before the standby was proven forging) and then exits 128 + the signal; a second
one stops at once and leaves the journal for `--resume`, which first establishes which host forges.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.commands._exit import error
from orchestrator.commands._fleet_args import INVENTORY_HELP, add_extra_vars_argument, vault_secrets
from orchestrator.roll.handover import NON_PRODUCING_SINCE as NON_PRODUCING_SINCE  # re-exported
from orchestrator.roll.handover import release_problem as release_problem  # the rule lives with the handover

if TYPE_CHECKING:
    from orchestrator.model import Host, Inventory
    from orchestrator.roll.events import Event
    from orchestrator.roll.handover import HandoverResult
    from orchestrator.roll.interrupt import StopFlag
    from orchestrator.spec.window import WindowSettings

HELP = "move a pool's forging from its block producer to its standby producer (rename + SIGHUP, never two forgers)"

_RUN_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]*")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--inventory", required=True, metavar="INV", help=INVENTORY_HELP)
    parser.add_argument("--producer", required=True, metavar="BP",
                        help="the block producer that forges now; its standby (standby_for: BP) takes over")  # fmt: skip
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--resume", nargs="?", const="latest", metavar="RUN_ID",
                        help="take up a killed handover of BP: first establish which host forges, then go on where "
                             "that is what its last step expects, else recover; without RUN_ID: the newest "
                             "unfinished handover of BP")  # fmt: skip
    add_extra_vars_argument(parser)
    parser.add_argument("--accept-new-host-keys", action="store_true",
                        help="trust and record host keys not yet in known_hosts (a changed key is still refused)")
    parser.add_argument("--state-dir", default=".cardano-fleet",
                        help="journals, reports, lock (default: .cardano-fleet in the current directory; the same "
                             "one as `run`'s, so that the two never act at once)")  # fmt: skip


def resume_command(args: argparse.Namespace, run_id: str) -> str:
    """The command that takes handover `run_id` up again (paths, never a password)."""
    q = shlex.quote
    parts = ["cardano-fleet", "handover", "-i", q(args.inventory), "--producer", q(args.producer)]
    for e in args.extra_vars:
        parts += ["-e", q(e)]
    for f in getattr(args, "vault_password_file", []):
        parts += ["--vault-password-file", q(f)]
    parts += ["--state-dir", q(str(Path(args.state_dir).resolve())), "--resume", run_id]
    return " ".join(parts)


def find_pool(inventory: Inventory, producer: str) -> tuple[Host, Host] | str:
    """(the producer, its standby), or why the handover cannot name them."""
    names = {h.name: h for h in inventory.hosts}
    bp = names.get(producer)
    if bp is None:
        return f"--producer {producer}: not a host of the inventory"
    if bp.is_standby:
        return (f"--producer {producer}: it is the standby for {bp.standby_for}; name the producer that forges "
                f"(--producer {bp.standby_for}; after a handover the roles in the inventory stay as written)")  # fmt: skip
    if not bp.is_producer:
        return f"--producer {producer}: it is a {bp.role_label}, not a block producer"
    standby = next((h for h in inventory.hosts if h.standby_for == producer), None)
    if standby is None:
        return (f"--producer {producer}: it has no standby producer (a host in group standby_producers with "
                f"standby_for: {producer}; docs/handover.md)")  # fmt: skip
    return bp, standby


# The restart window's variables (roles/sync_gate/defaults.yml, restart_node's arguments): an operator
# sets them per producer in the inventory, so the handover's gap reads the same ones, with the same checks.
WINDOW_VARIABLES = ("leader_schedule", "leader_margin_seconds", "leader_settle_seconds", "leader_max_wait_seconds",
                    "kes_refuse_restart_periods")  # fmt: skip


def window_of(bp: Host) -> tuple[WindowSettings, str | None] | str:
    """BP's restart-window settings and leader schedule source (None: none), as restart_node reads
    them from its variables; or why one is unusable."""
    from orchestrator.actions.base import ArgError
    from orchestrator.actions.restart_node import parse

    try:
        step = parse({k: bp.vars[k] for k in WINDOW_VARIABLES if k in bp.vars})
    except ArgError as e:
        return f"{bp.name}: {e}"
    schedule = dict(step.schedule) if step.schedule else None
    source = f"{schedule['source']} {schedule.get('path') or ''}".strip() if schedule else None
    return step.window, source


def handovers(events: list[Event], producer: str) -> tuple[bool, bool]:
    """(the journal holds a handover of `producer`, it ended)."""
    from orchestrator.model import Phase

    started = ended = False
    for e in events:
        if e.host != producer:
            continue
        if e.phase is Phase.HANDOVER_STEP:
            started, ended = True, False
        elif e.phase is Phase.HANDOVER_ENDED:
            ended = True
    return started, ended


def unfinished_handover(state_dir: Path, producer: str) -> str | None:
    """The newest run in STATE_DIR holding a handover of `producer` without its end."""
    from orchestrator.roll.journal import Journal, runs

    for run_dir in reversed(list(runs(state_dir))):
        started, ended = handovers(Journal.read(run_dir / "journal.jsonl"), producer)
        if started:
            return None if ended else run_dir.name
    return None


def run(args: argparse.Namespace) -> int:
    from orchestrator.load.inventory import SourceError, load_inventory, parse_extra_vars
    from orchestrator.roll.interrupt import StopFlag, exit_status, signal_name_of, stop_on_signals
    from orchestrator.roll.journal import LocalLock, LockHeld, new_run_id, unfinished_run

    state_dir = Path(args.state_dir)
    if args.resume and args.resume != "latest" and not _RUN_ID.fullmatch(args.resume):
        error(f"--resume {args.resume!r} is not a run id (as `ls {state_dir}/runs` lists them)")
        return 1
    try:
        inventory = load_inventory(args.inventory, extra_vars=parse_extra_vars(args.extra_vars),
                                   vault=vault_secrets(args))  # fmt: skip
    except SourceError as e:
        error(str(e))
        return 1
    pool = find_pool(inventory, args.producer)
    if isinstance(pool, str):
        error(pool)
        return 1
    window = window_of(pool[0])
    if isinstance(window, str):
        error(window)
        return 1
    if not args.yes and not sys.stdin.isatty():
        error("refusing to move forging without confirmation: stdin is not a terminal (pass --yes in scripts); "
              "nothing was changed")  # fmt: skip
        return 1
    run_id = new_run_id()
    pending = unfinished_handover(state_dir, args.producer)
    if args.resume:
        found = pending if args.resume == "latest" else args.resume
        path = state_dir / "runs" / (found or "-") / "journal.jsonl"
        started, ended = handovers(_read(path), args.producer) if found and path.exists() else (False, False)
        if not started or ended:
            why = "" if args.resume == "latest" else f" (run {args.resume} {'ended it' if ended else 'holds none'})"
            error(f"no unfinished handover of {args.producer} to resume in {state_dir.resolve()}{why}")
            return 1
        assert found is not None
        run_id = found
    elif pending is not None:
        error(f"refused: the handover of {args.producer} in run {pending} is unfinished; take it up first (it "
              f"establishes which host forges): {resume_command(args, pending)}")  # fmt: skip
        return 1
    lock = LocalLock(state_dir, run_id)
    try:
        lock.acquire()
    except LockHeld as e:
        error(f"refused: {e}")
        return 1
    try:
        unfinished = unfinished_run(state_dir)
        if unfinished is not None:
            error(f"refused: run {unfinished} is unfinished (hosts may be mid-way); finish it first "
                  "(cardano-fleet run … --resume)")  # fmt: skip
            return 1
        flag, handing = StopFlag(), threading.Event()
        try:
            with stop_on_signals(flag):  # until the handover starts, a signal stops the command at once
                return _handover(args, state_dir, run_id, pool, window, flag, handing)
        except KeyboardInterrupt as exc:
            sig = flag.signal_name or signal_name_of(exc)
            if not handing.is_set():
                error(f"interrupted by {sig} before the handover began: nothing was changed"
                      + (f" since run {run_id} was killed" if args.resume else ""))  # fmt: skip
            else:
                error(f"interrupted twice ({sig}): the handover of run {run_id} is unfinished, which host forges is "
                      f"not established (both hosts stay locked for it); take it up at once: "
                      f"{resume_command(args, run_id)}")  # fmt: skip
            return exit_status(sig)
    finally:
        lock.release()


def _read(path: Path) -> list[Event]:
    from orchestrator.roll.journal import Journal

    return Journal.read(path)


def _handover(args: argparse.Namespace, state_dir: Path, run_id: str, pool: tuple[Host, Host],
              window: tuple[WindowSettings, str | None], flag: StopFlag, handing: threading.Event) -> int:  # fmt: skip
    from orchestrator.facts.probe import gather_facts
    from orchestrator.report.terminal import progress_line
    from orchestrator.roll.handover import Ending, Handover, HandoverPolicy, HandoverState, Means
    from orchestrator.roll.handover_remote import SshHandoverRemote
    from orchestrator.roll.interrupt import exit_status, stop_on_signals
    from orchestrator.roll.journal import Journal
    from orchestrator.roll.remote import Done, SshRemote
    from orchestrator.spec.window import build_guard
    from orchestrator.workflow import open_fleet

    bp, standby = pool

    def say(text: str) -> None:
        print(progress_line(text, sys.stdout), flush=True)

    with open_fleet((bp, standby), accept_new_host_keys=args.accept_new_host_keys) as fleet:
        facts = gather_facts(fleet, [bp, standby])
        for host in (bp, standby):
            f = facts[host.name]
            if not f.reachable:
                error(f"{host.name} could not be reached ({f.error}); nothing was changed")
                return 1
        why = release_problem(standby.name, facts[standby.name].node_version)
        if why is not None:
            error(f"refused: {why}; nothing was changed")
            return 1
        fb = facts[bp.name]
        settings, source = window
        if source is not None and fb.leader_schedule is None:
            error(f"refused: {bp.name}'s leader schedule ({source}) could not be read "
                  f"({fb.leader_schedule_error or 'not probed'}); the gap is not opened blind when a schedule is "
                  "configured; nothing was changed")  # fmt: skip
            return 1
        guard = build_guard(settings, source=source, slots=tuple(fb.leader_schedule or ()),
                            remaining_kes_periods=fb.remaining_kes_periods, downtime_seconds=None)  # fmt: skip
        resumed = bool(args.resume)
        say(f"Handover {'resume' if resumed else 'plan'} (run {run_id}): forging moves from {bp.name} "
            f"({fb.node_version}) to its standby {standby.name} ({facts[standby.name].node_version}), no upgrade: "
            "rename the credential files the node's command line names (never opened) and SIGHUP; "
            + ("a gap between leader slots from " + source if source else
               f"no leader_schedule: the gap (at most {HandoverPolicy().gap_budget:.0f} s) may cost a block"))  # fmt: skip
        if resumed:
            say("--resume: first establishes which host forges, then goes on or recovers")
        if not args.yes and not _confirm(f"Move forging from {bp.name} to {standby.name}? [y/N] "):
            error("not confirmed; nothing was changed")
            return 1
        remote = SshRemote(fleet, run_id)
        held = {h.name: remote.lock(h) for h in (bp, standby)}
        refused = {n: who for n, who in held.items() if who is not None}
        if refused:
            for h in (bp, standby):
                if h.name not in refused:
                    remote.unlock(h)
            error("refused: another run holds the lock on " + ", ".join(f"{n} (run {w})" for n, w in refused.items())
                  + "; nothing was changed")  # fmt: skip
            return 1
        journal = Journal(state_dir, run_id)
        try:
            events = Journal.read(journal.path)
            state = HandoverState.from_journal(events, bp.name) if resumed else None

            def record(host: str, phase: object, **data: object) -> None:
                from orchestrator.model import Phase

                assert isinstance(phase, Phase)
                journal.record(host, phase, **data)
                detail = data.get("detail") or data.get("reason")
                if phase is Phase.HANDOVER_STEP:
                    say(f"{data.get('step')}" + (f": {detail}" if detail else ""))
                elif phase is Phase.FORGERS_SEEN:
                    say(f"  seen ({data.get('during')}): {data.get('active')} {data.get('active_forging')}, "
                        f"{data.get('standby')} {data.get('standby_forging')}")  # fmt: skip

            def sleep(seconds: float) -> None:
                flag.wait(seconds)  # a stop signal cuts a wait short: the handover then recovers

            means = Means(SshHandoverRemote(fleet), record, lambda _h: Done(True, "no upgrade: handover only"),
                          sleep=sleep, stop=lambda: flag.signal_name)  # fmt: skip
            machine = Handover(bp, standby, means, guard, state=state, resumed=resumed)
            handing.set()
            with stop_on_signals(flag, first_raises=False):  # from here a first signal is a doubt to recover from
                result = machine.resume() if resumed else machine.run()
        finally:
            journal.close()
        # Only an ended handover frees the hosts: one stopped mid-way keeps them locked for its --resume
        # (which takes the locks over under the same run id), so that no run restarts either meanwhile.
        for h in (bp, standby):
            remote.unlock(h)
    report = journal.dir / "report.json"
    _write_report(report, run_id, result)
    ok = result.ending in (Ending.HANDED_OVER, Ending.HANDED_OVER_OLD_NOT_UPGRADED)
    summary = (f"{'DONE' if ok else 'STOPPED'} ({result.ending}): "
               + (f"{result.forger} forges" if result.forger else "NO HOST IS PROVEN FORGING")
               + f". {result.detail}"
               + (f" Forging gap {result.gap_seconds} s." if result.gap_seconds is not None else "")
               + f" Report: {report}")  # fmt: skip
    print(progress_line(summary, sys.stdout), flush=True)
    if flag.signal_name is not None:
        return exit_status(flag.signal_name)
    return 0 if ok else 1


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(question).strip().lower() in ("y", "yes")


def _write_report(path: Path, run_id: str, result: HandoverResult) -> None:
    from orchestrator.commands.run import _write_private

    _write_private(path, json.dumps({
        "run_id": run_id, "kind": "handover", "original": result.original, "standby": result.standby,
        "ending": str(result.ending) if result.ending else None, "forger": result.forger, "detail": result.detail,
        "gap_seconds": result.gap_seconds, "steps": result.steps,
    }, indent=2))  # fmt: skip
