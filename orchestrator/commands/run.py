"""`cardano-fleet run`: plan, confirm, stage everywhere, roll gated batches, journal, report."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.commands._exit import error
from orchestrator.commands._fleet_args import add_playbook_arguments, load_or_explain
from orchestrator.model import Phase

if TYPE_CHECKING:
    from rich.console import Console

    from orchestrator.roll.interrupt import StopFlag
    from orchestrator.roll.journal import Journal
    from orchestrator.ssh.transport import Fleet
    from orchestrator.workflow import Loaded

HELP = "run PLAYBOOK: the gated rolling upgrade (use --check to stop after the plan)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_playbook_arguments(parser)
    parser.add_argument("--check", action="store_true", help="stop after the plan: change nothing on any host")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--resume", nargs="?", const="latest", metavar="RUN_ID",
                        help="finish or roll back each host an interrupted or killed run left unfinished (and "
                             "return the hosts it drained), then go on; without RUN_ID: the newest unfinished run")  # fmt: skip
    parser.add_argument("--report", metavar="FILE", help="also write the JSON report here")
    parser.add_argument("--step", action="store_true",
                        help="ask for approval after the first (canary) batch before the rest; needs a terminal "
                             "(with --yes and no terminal: no pause)")  # fmt: skip
    parser.add_argument("--keep-backups", type=int, default=None, metavar="N",
                        help="after a successful run, keep each changed file's N newest <file>.bak-<run id> "
                             "backups on its host and remove older ones (default 3; 0 keeps every backup)")  # fmt: skip
    parser.add_argument("--no-handover", action="store_true",
                        help="a producer with a standby (standby_for) restarts as one without: no forging handover "
                             "(the standby is still upgraded with its credential files renamed away; "
                             "docs/handover.md)")  # fmt: skip


def retention_text(keep: int, run_id: str = "<run id>") -> str:
    """The backups rule, as `plan` and `run` state it before anything changes."""
    kept = "every backup" if keep == 0 else f"its {keep} newest backup(s)"
    return (f"Backups: each changed file is copied to <file>.bak-{run_id} on its host; after a successful run "
            f"each file keeps {kept} (run --keep-backups N).")


def resume_command(args: argparse.Namespace, run_id: str) -> str:
    """The exact command that takes run `run_id` up again: this run's inventory, playbook, --limit,
    -e and vault flags (paths, never a password) and state dir (absolute), plus --resume RUN_ID."""
    q = shlex.quote
    parts = ["cardano-fleet", "run", "-i", q(args.inventory), q(args.playbook)]
    if args.limit:
        parts += ["--limit", q(args.limit)]
    for e in args.extra_vars:
        parts += ["-e", q(e)]
    for f in getattr(args, "vault_password_file", []):
        parts += ["--vault-password-file", q(f)]
    for v in getattr(args, "vault_id", []):
        parts += ["--vault-id", q(v)]
    parts += ["--state-dir", q(str(Path(args.state_dir).resolve())), "--resume", run_id]
    if getattr(args, "no_handover", False):
        parts.append("--no-handover")
    if getattr(args, "yes", False):
        parts.append("--yes")  # as the run was started: unattended (a resume asks otherwise)
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    from orchestrator.roll.interrupt import StopFlag, exit_status, signal_name_of, stop_on_signals
    from orchestrator.roll.journal import LocalLock, LockHeld, new_run_id, unfinished_run

    if args.step and not args.yes and not sys.stdin.isatty():  # (a playbook's pause_after: checked once loaded)
        print("cardano-fleet: error: refused: --step asks for approval after the canary batch, and stdin is not a "
              "terminal (run it from a terminal, or pass --yes to run unattended without the pause)",
              file=sys.stderr)  # fmt: skip
        return 1
    if args.keep_backups is not None and args.keep_backups < 0:
        print("cardano-fleet: error: --keep-backups must be 0 (keep every backup) or more", file=sys.stderr)
        return 1

    state_dir = Path(args.state_dir)
    run_id = new_run_id()
    if args.resume:
        if args.resume != "latest" and not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z_-]*", args.resume):
            print(f"cardano-fleet: error: --resume {args.resume!r} is not a run id (as `ls {state_dir}/runs` lists "
                  "them)", file=sys.stderr)  # fmt: skip
            return 1
        found = unfinished_run(state_dir) if args.resume == "latest" else args.resume
        if not found or not (state_dir / "runs" / found / "journal.jsonl").exists():
            print(f"cardano-fleet: error: no unfinished run to resume in {state_dir.resolve()}"
                  + ("" if args.resume == "latest" else f" (no journal for run {args.resume})"),
                  file=sys.stderr)  # fmt: skip
            return 1
        run_id = found
    lock = LocalLock(state_dir, run_id)
    last_owner, _alive = lock.owner()  # read before acquire writes ours: a killed run's pid, host, time
    if not args.check:
        try:
            lock.acquire()
        except LockHeld as e:
            print(f"cardano-fleet: error: refused: {e}", file=sys.stderr)
            return 1
    try:
        if not args.check:
            handing = _unfinished_handover_refusal(args, state_dir)
            if handing is not None:
                print(handing, file=sys.stderr)
                return 1
        if not args.check and not args.resume:
            pending = unfinished_run(state_dir)
            if pending is not None:
                print(_unfinished_refusal(args, state_dir, pending, last_owner), file=sys.stderr)
                return 1
        flag = StopFlag()
        try:
            with stop_on_signals(flag):
                return _run(args, state_dir, run_id, flag)
        except KeyboardInterrupt as exc:
            signal_name = flag.signal_name or signal_name_of(exc)
            print(_interrupted_message(args, state_dir, run_id, signal_name), file=sys.stderr)
            return exit_status(signal_name)
    finally:
        lock.release()


def _unfinished_refusal(args: argparse.Namespace, state_dir: Path, run_id: str, owner: Any) -> str:
    """A plain run over an unfinished one: name it, how it ended, who ran it, and the command to resume."""
    from orchestrator.roll.journal import Journal, how_it_ended, out_of_rotation
    from orchestrator.roll.resume import unfinished_hosts

    events = Journal.read(state_dir / "runs" / run_id / "journal.jsonl")
    who = ""
    if owner is not None and owner.run_id == run_id:
        who = f"; it ran as {owner.describe(alive=False).removeprefix(f'run {run_id} ')}"
    mid = sorted(unfinished_hosts(events))
    drained = out_of_rotation(events)
    hosts = (f"; hosts mid-way: {', '.join(mid)}" if mid else "") + (
        f"; OUT OF ROTATION (drained, not returned): {', '.join(drained)}" if drained else "") + _handing(events)
    scope = args
    started = next((e for e in reversed(events) if e.host == "*" and e.phase is Phase.RUN_STARTED), None)
    if started is not None and not args.limit and isinstance(started.data.get("hosts"), list) and started.data["hosts"]:
        # the unfinished run's own scope, not this command's: a resume then goes on with only its hosts
        scope = argparse.Namespace(**{**vars(args), "limit": ",".join(str(h) for h in started.data["hosts"])})
    return (f"cardano-fleet: error: refused: run {run_id} is unfinished ({how_it_ended(events)}{who}){hosts}. "
            f"Finish it first (each host ends upgraded or rolled back, drained hosts are returned): "
            f"{resume_command(scope, run_id)}")  # fmt: skip


def _handing(events: Any) -> str:
    """The forging handovers a run left unfinished, in words ("" when none)."""
    from orchestrator.roll.pool import unfinished_pools

    pools = unfinished_pools(events)
    if not pools:
        return ""
    return ("; forging handover unfinished: " + ", ".join(f"{a} → {b}" for a, b in pools.items())
            + " (the resume first establishes which producer forges)")  # fmt: skip


def _unfinished_handover_refusal(args: argparse.Namespace, state_dir: Path) -> str | None:
    """A `cardano-fleet handover` left unfinished (killed, or stopped twice): which host forges is not
    established and both hosts may be mid-way, so no run touches anything before its `--resume`. (A
    handover inside a run is the run's own: `run --resume` takes it up.)"""
    from orchestrator.commands.handover import resume_command as handover_resume
    from orchestrator.roll.journal import Journal, runs
    from orchestrator.roll.pool import unfinished_pools

    for run_dir in reversed(list(runs(state_dir))):
        events = Journal.read(run_dir / "journal.jsonl")
        if any(e.host == "*" and e.phase is Phase.RUN_STARTED for e in events):
            continue
        for producer in unfinished_pools(events):
            them = argparse.Namespace(inventory=args.inventory, producer=producer, extra_vars=args.extra_vars,
                                      vault_password_file=getattr(args, "vault_password_file", []),
                                      state_dir=args.state_dir)  # fmt: skip
            return (f"cardano-fleet: error: refused: the handover of {producer} in run {run_dir.name} is unfinished "
                    f"(which producer forges is not established); take it up first: "
                    f"{handover_resume(them, run_dir.name)}")  # fmt: skip
    return None


def _interrupted_message(args: argparse.Namespace, state_dir: Path, run_id: str, signal_name: str) -> str:
    from orchestrator.roll.journal import Journal, is_unfinished, out_of_rotation
    from orchestrator.roll.resume import unfinished_hosts

    path = state_dir / "runs" / run_id / "journal.jsonl"
    events = Journal.read(path) if path.exists() else []
    if not is_unfinished(events):
        return f"cardano-fleet: error: interrupted by {signal_name} (run {run_id}) before any host was changed"
    mid = sorted(unfinished_hosts(events))
    drained = out_of_rotation(events)
    lines = [f"cardano-fleet: error: interrupted by {signal_name}: run {run_id} is unfinished "
             f"(journal: {path})"]  # fmt: skip
    if mid:
        lines.append(f"  hosts mid-way (resume finishes or rolls back each): {', '.join(mid)}")
    if drained:
        lines.append(f"  OUT OF ROTATION (drained, not returned; resume returns them): {', '.join(drained)}")
    if _handing(events):
        lines.append(f"  {_handing(events).removeprefix('; ')}")
    lines.append(f"  resume with: {resume_command(args, run_id)}")
    return "\n".join(lines)


def _run(args: argparse.Namespace, state_dir: Path, run_id: str, flag: StopFlag) -> int:
    from rich.text import Text

    from orchestrator.report.console import make_console, print_plan
    from orchestrator.roll.events import RunEnded
    from orchestrator.roll.interrupt import RunEnd
    from orchestrator.roll.journal import Journal, how_it_ended, run_end
    from orchestrator.workflow import gather_and_plan, open_fleet

    console = make_console()
    loaded = load_or_explain(args, "run")
    if loaded is None:
        return 1
    for w in loaded.spec.warnings:
        console.print(Text(w, "bold red"), soft_wrap=True)
    if loaded.playbook.pause_after == "canary" and not args.check:
        if not args.yes and not sys.stdin.isatty():
            print(f"cardano-fleet: error: refused: {args.playbook} says pause_after: canary (approval after the first "
                  "batch), and stdin is not a terminal (run it from a terminal, or pass --yes to run unattended "
                  "without the pause)", file=sys.stderr)  # fmt: skip
            return 1
        args.step = True
    trail = _trail(args)
    with open_fleet(loaded.spec.hosts, args.forks, args.accept_new_host_keys) as fleet:
        journal = None if args.check else Journal(state_dir, run_id)
        if args.resume and journal is not None:
            before = Journal.read(journal.path)
            if not _resume_confirmed(console, args, before):
                return 1  # nothing was touched: the run stays unfinished, as it was
            was = how_it_ended(before)
            journal.record("*", Phase.RUN_RESUMED, previous_end=was if run_end(before) else "killed (no end journaled)")
            console.print(f"Resuming run {run_id} ({was}).", markup=False, highlight=False)
            _resume(console, loaded, fleet, journal)
        try:
            _facts, plan = gather_and_plan(loaded, fleet)
            print_plan(console, plan, diff=args.diff)
            if args.check:
                console.print("--check: nothing was changed on any host.")
                return 1 if plan.errors else 2 if plan.pending else 0
            assert journal is not None
            if plan.unsteady:  # a stopped/failed/starting node or another run's host: never rolled around
                names = ", ".join(f"{hp.host.name} ({hp.live_state})" for hp in plan.unsteady)
                error(f"refused: not every host in scope is steady: {names}; nothing was changed (reasons above)")
                journal.note("*", RunEnded(RunEnd.FAILED, f"refused: not steady: {names}"))
                return 1
            if not plan.pending and not args.resume:  # (a resume goes on: its report tells the whole run)
                if plan.errors:  # not "every host is as wanted": some could not even be planned
                    console.print(f"Nothing to do on the hosts that could be planned; {len(plan.errors)} host(s) "
                                  "could not be planned (reasons above). Nothing was changed.")  # fmt: skip
                else:
                    console.print("Nothing to do: every host is already as the playbook wants it.")
                journal.note("*", RunEnded(RunEnd.NOTHING_TO_DO, "nothing to do"))
                return 1 if plan.errors else 0
            from orchestrator.roll.engine import DEFAULT_KEEP_BACKUPS

            keep_backups = DEFAULT_KEEP_BACKUPS if args.keep_backups is None else args.keep_backups
            console.print(retention_text(keep_backups, run_id), highlight=False, soft_wrap=True)
            if args.step:
                console.print("Pause: the run asks for approval after the first (canary) batch "
                              "(--step, pause_after: canary).")  # fmt: skip
            if plan.pending and not args.yes and not _confirm(console, len(plan.pending)):
                journal.note("*", RunEnded(RunEnd.NOT_CONFIRMED, "not confirmed"))
                return 1
            return _execute(console, loaded, fleet, journal, plan, args, trail, flag)
        except KeyboardInterrupt as exc:
            if journal is not None and run_end(Journal.read(journal.path)) is None:
                from orchestrator.roll.interrupt import signal_name_of

                journal.note("*", RunEnded(RunEnd.INTERRUPTED, "interrupted before the rollout began",
                                           flag.signal_name or signal_name_of(exc)))  # fmt: skip
            raise


def _trail(args: argparse.Namespace) -> Any:
    from orchestrator.load.bundled import resolve_playbook
    from orchestrator.load.inventory import parse_extra_vars
    from orchestrator.roll.trail import RunTrail

    return RunTrail.now(Path(args.inventory), resolve_playbook(args.playbook), parse_extra_vars(args.extra_vars),
                        args.limit)  # fmt: skip


def _resume_confirmed(console: Console, args: argparse.Namespace, events: Any) -> bool:
    """`--resume` changes hosts before any plan is shown (it finishes or rolls back, and restarts, each host
    the run left mid-way): it asks first, as a run does, or needs --yes. True: go on."""
    from orchestrator.roll.pool import unfinished_pools
    from orchestrator.roll.resume import unfinished_hosts

    mid = sorted({*unfinished_hosts(events), *(h for pair in unfinished_pools(events).items() for h in pair)})
    if not mid or args.yes:
        return True
    if not sys.stdin.isatty():
        error(f"refusing to resume without confirmation: it finishes or rolls back (and restarts) {', '.join(mid)} "
              "before any plan is shown, and stdin is not a terminal (pass --yes); nothing was changed")  # fmt: skip
        return False
    answer = console.input(f"Resume: finish or roll back (and restart) {', '.join(mid)}? [y/N] ", markup=False)
    return answer.strip().lower() in ("y", "yes")


def _confirm(console: Console, pending: int) -> bool:
    if not sys.stdin.isatty():
        error("refusing to change hosts without confirmation: stdin is not a terminal "
              "(pass --yes in scripts)")  # fmt: skip
        return False
    # markup=False: rich would read "[y/N]" as a style tag and print nothing of it
    answer = console.input(f"Apply these changes to {pending} host(s)? [y/N] ", markup=False)
    return answer.strip().lower() in ("y", "yes")


def _approve_on_terminal(console: Console, view: Any) -> Any:
    def approve(question: str) -> bool:
        if not sys.stdin.isatty():
            return True  # --step with --yes and no terminal: the operator chose to run unattended
        live = getattr(view, "live", None)
        if live is not None:
            live.stop()  # the live table would redraw over the question
        try:
            answer = console.input(f"{question} [y/N] ", markup=False)  # "[y/N]" and host names as written
        finally:
            if live is not None:
                live.start()
        return answer.strip().lower() in ("y", "yes")

    return approve


def _execute(console: Console, loaded: Loaded, fleet: Fleet, journal: Journal, plan: Any, args: argparse.Namespace,
             trail: Any, flag: StopFlag) -> int:  # fmt: skip
    from orchestrator.report.console import LiveRollout, print_summary
    from orchestrator.report.run_json import render_run_report
    from orchestrator.roll.engine import DEFAULT_KEEP_BACKUPS, Rollout, RolloutResult, RolloutSettings
    from orchestrator.roll.events import RunEnded
    from orchestrator.roll.host_gate import skew_limited
    from orchestrator.roll.interrupt import signal_name_of
    from orchestrator.roll.journal import Journal as J
    from orchestrator.roll.remote import SshRemote
    from orchestrator.roll.trail import as_one_history
    from orchestrator.workflow import recheck_host, sample_host

    keep = DEFAULT_KEEP_BACKUPS if args.keep_backups is None else args.keep_backups
    remote = SshRemote(fleet, journal.run_id)
    gates = {hp.host.name: hp.gate or loaded.spec.gate for hp in plan.hosts}  # each host's own gate
    for hp in plan.hosts:
        if hp.changed:
            journal.record(hp.host.name, Phase.PLANNED, target_version=hp.target_version, action=hp.action,
                           files=[c.path for c in hp.files], batch=hp.batch)  # fmt: skip
    with LiveRollout(console, plan) as view:
        approve = _approve_on_terminal(console, view) if args.step else None
        rollout = Rollout(plan, remote, journal, RolloutSettings(gate=loaded.spec.gate, keep_backups=keep),
                          sample=skew_limited(lambda h, skew: sample_host(fleet, h, max_skew=skew),
                                              lambda h: gates.get(h.name, loaded.spec.gate)),
                          emit=view.on_event, relays=loaded.inventory.relays, hosts=loaded.inventory.hosts,
                          replan=lambda hp: recheck_host(loaded, fleet, hp, journal.run_id),
                          stop=flag, approve=approve, pools=_pools(args, fleet))  # fmt: skip
        try:
            result = rollout.execute(loaded.spec.stages)
        except KeyboardInterrupt as exc:
            # the engine journaled the end; the report says how far the run got, then the caller says how to resume
            sig = flag.signal_name or signal_name_of(exc)
            partial = RolloutResult(journal.run_id, rollout.outcomes, f"interrupted by {sig}", sig)
            events = J.read(journal.path)
            ended = next((e for e in reversed(events) if e.host == "*" and e.phase is Phase.RUN_ENDED), None)
            if ended is not None:
                end = RunEnded.of(ended)
                partial.mid_way, partial.drained = list(end.mid_way or ()), list(end.drained or ())
            _write_report(journal, args.report, render_run_report(partial, trail, events, keep_backups=keep))
            raise
    events = J.read(journal.path)
    as_one_history(result.outcomes, events)
    path = _write_report(journal, args.report, render_run_report(result, trail, events, keep_backups=keep))
    print_summary(console, result, str(path))
    return 0 if result.ok else 1


def _pools(args: argparse.Namespace, fleet: Fleet) -> Any:
    """How the run treats a pool with a standby producer (roll/pool.py): the handover over SSH."""
    from orchestrator.roll.handover_remote import SshHandoverRemote
    from orchestrator.roll.pool import PoolSettings

    return PoolSettings(SshHandoverRemote(fleet), handover=not getattr(args, "no_handover", False))


def _write_report(journal: Journal, extra: str | None, text: str) -> Path:
    path = journal.dir / "report.json"
    _write_private(path, text)
    if extra:
        _write_private(Path(extra), text)
    return path


def _write_private(path: Path, text: str) -> None:
    from orchestrator.load.secrets import redact

    text = redact(text)  # a report never holds a vault-decrypted value
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


def _resume(console: Console, loaded: Loaded, fleet: Fleet, journal: Journal) -> None:
    """Each host the killed run left between 'backed_up' and a final phase: finish it or roll it back."""
    from rich.text import Text

    from orchestrator.facts.probe import HEALTH_SECTIONS, gather_facts
    from orchestrator.roll.journal import Journal as J
    from orchestrator.roll.remote import SshRemote
    from orchestrator.roll.resume import resume_hosts
    from orchestrator.workflow import sample_host

    remote = SshRemote(fleet, journal.run_id)
    events = J.read(journal.path)
    spec = loaded.spec

    def report(name: str, phase: Phase, verdict: str | None) -> None:
        if verdict is None:
            console.print(Text(f"resume: {name} is in the journal but not in the inventory; left as it is", "red"))
        else:
            console.print(f"resume: {name} (was '{phase}'): {verdict}", markup=False, highlight=False, soft_wrap=True)

    # each host with its own gate, its gate's skew limit, and the cap from its last start (one health probe)
    verdicts = resume_hosts(events, loaded.inventory, spec.programs, spec.gate, remote=remote, journal=journal,
                 probe=lambda h, skew: sample_host(fleet, h, max_skew=skew),
                 last_start_of=lambda h: gather_facts(fleet, [h], sections=HEALTH_SECTIONS)[h.name].last_start_seconds,
                 report=report)  # fmt: skip
    _resume_pools(console, loaded, fleet, journal, events, verdicts)
    # The killed run still holds its remote locks, also on hosts this resume leaves out (--limit):
    # release them (unlock removes only a lock with this run id); the run that follows takes what it needs.
    named = {e.host for e in events if e.host != "*"}
    held = [h for h in loaded.inventory.hosts if h.name in named]
    remote.map(held, remote.unlock)


def _resume_pools(console: Console, loaded: Loaded, fleet: Fleet, journal: Journal, events: Any,
                  verdicts: Any) -> None:  # fmt: skip
    """Each pool handover the killed run left unfinished: `Handover.resume()` (fresh samples of both
    hosts first), once the hosts' own procedures were finished or rolled back; the upgrades it would
    take are what the kill and the resume left (the run that follows plans the rest again)."""
    from orchestrator.commands.handover import window_of
    from orchestrator.facts.probe import gather_facts
    from orchestrator.roll.handover_remote import SshHandoverRemote
    from orchestrator.roll.pool import resume_pools, resumed_upgrade, unfinished_pools
    from orchestrator.spec.window import LeaderGuard, build_guard

    if not unfinished_pools(events):
        return

    def guard_of(host: Any) -> LeaderGuard | None:
        window = window_of(host)
        if isinstance(window, str):
            return None
        settings, source = window
        f = gather_facts(fleet, [host])[host.name]
        return build_guard(settings, source=source, slots=tuple(f.leader_schedule or ()),
                           remaining_kes_periods=f.remaining_kes_periods, downtime_seconds=None)  # fmt: skip

    hosts = {h.name: h for h in loaded.inventory.hosts}
    results = resume_pools(events, hosts, SshHandoverRemote(fleet), journal.record, resumed_upgrade(events, verdicts),
                           guard_of)  # fmt: skip
    for original, res in results.items():
        if isinstance(res, str):
            console.print(f"resume: handover of {original}: {res}", markup=False, highlight=False, soft_wrap=True)
        else:
            console.print(f"resume: handover of {original} ({res.ending}): "
                          + (f"{res.forger} forges" if res.forger else "NO PRODUCER IS PROVEN FORGING")
                          + f"; {res.detail}", markup=False, highlight=False, soft_wrap=True)  # fmt: skip
