"""`cardano-fleet run`: plan, confirm, stage everywhere, roll gated batches, journal, report."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.commands._exit import error
from orchestrator.commands._fleet_args import add_playbook_arguments, load_or_explain
from orchestrator.model import Phase

if TYPE_CHECKING:
    from rich.console import Console

    from orchestrator.roll.journal import Journal
    from orchestrator.ssh.transport import Fleet
    from orchestrator.workflow import Loaded

HELP = "run PLAYBOOK: the gated rolling upgrade (use --check to stop after the plan)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_playbook_arguments(parser)
    parser.add_argument("--check", action="store_true", help="stop after the plan: change nothing on any host")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--resume", nargs="?", const="latest", metavar="RUN_ID",
                        help="finish or roll back each host a killed run left unfinished, then go on")  # fmt: skip
    parser.add_argument("--report", metavar="FILE", help="also write the JSON report here")


def run(args: argparse.Namespace) -> int:

    from orchestrator.report.console import make_console, print_plan
    from orchestrator.roll.journal import Journal, LocalLock, LockHeld, new_run_id, unfinished_run
    from orchestrator.workflow import gather_and_plan, open_fleet

    console = make_console()
    loaded = load_or_explain(args, "run")
    if loaded is None:
        return 1
    for w in loaded.spec.warnings:
        console.print(f"[bold red]{w}[/]")
    state_dir = Path(args.state_dir)
    run_id = new_run_id()
    if args.resume:
        found = unfinished_run(state_dir) if args.resume == "latest" else args.resume
        if not found or not (state_dir / "runs" / found / "journal.jsonl").exists():
            error(f"no unfinished run to resume in {state_dir}")
            return 1
        run_id = found
    lock = LocalLock(state_dir, run_id)
    if not args.check:
        try:
            lock.acquire()
        except LockHeld as e:
            error(f"refused: {e}")
            return 1
    try:
        with open_fleet(loaded.spec.hosts, args.forks, args.accept_new_host_keys) as fleet:
            journal = None if args.check else Journal(state_dir, run_id)
            if args.resume and journal is not None:
                _resume(console, loaded, fleet, journal)
            _facts, plan = gather_and_plan(loaded, fleet)
            print_plan(console, plan, diff=args.diff)
            if args.check:
                console.print("--check: nothing was changed on any host.")
                return 1 if plan.errors else 2 if plan.pending else 0
            assert journal is not None
            if plan.unsteady:  # a stopped/failed/starting node or another run's host: never rolled around
                names = ", ".join(f"{hp.host.name} ({hp.live_state})" for hp in plan.unsteady)
                print(f"cardano-fleet run: refused: not every host in scope is steady: {names}; "
                      "nothing was changed (reasons above)", file=sys.stderr)  # fmt: skip
                journal.record("*", Phase.RUN_ENDED, reason=f"refused: not steady: {names}")
                return 1
            if not plan.pending:
                if plan.errors:  # not "every host is as wanted": some could not even be planned
                    console.print(f"Nothing to do on the hosts that could be planned; {len(plan.errors)} host(s) "
                                  "could not be planned (reasons above). Nothing was changed.")  # fmt: skip
                else:
                    console.print("Nothing to do: every host is already as the playbook wants it.")
                journal.record("*", Phase.RUN_ENDED, reason="nothing to do")
                return 1 if plan.errors else 0
            if not args.yes and not _confirm(console, len(plan.pending)):
                journal.record("*", Phase.RUN_ENDED, reason="not confirmed")
                return 1
            return _execute(console, loaded, fleet, journal, plan, args.report)
    finally:
        lock.release()


def _confirm(console: Console, pending: int) -> bool:
    if not sys.stdin.isatty():
        error("refusing to change hosts without confirmation: stdin is not a terminal "
              "(pass --yes in scripts)")  # fmt: skip
        return False
    # markup=False: rich would read "[y/N]" as a style tag and print nothing of it
    answer = console.input(f"Apply these changes to {pending} host(s)? [y/N] ", markup=False)
    return answer.strip().lower() in ("y", "yes")


def _execute(console: Console, loaded: Loaded, fleet: Fleet, journal: Journal, plan: Any, report: str | None) -> int:
    from orchestrator.facts.clock import MAX_CLOCK_SKEW_SECONDS
    from orchestrator.report.console import LiveRollout, print_summary
    from orchestrator.report.run_json import render_run_report
    from orchestrator.roll.engine import Rollout, RolloutSettings
    from orchestrator.roll.remote import SshRemote
    from orchestrator.workflow import recheck_host, sample_host

    remote = SshRemote(fleet, journal.run_id)
    skew = {hp.host.name: (hp.gate or loaded.spec.gate).max_clock_skew for hp in plan.hosts}
    for hp in plan.hosts:
        if hp.changed:
            journal.record(hp.host.name, Phase.PLANNED, target_version=hp.target_version, action=hp.action,
                           files=[c.path for c in hp.files], batch=hp.batch)  # fmt: skip
    with LiveRollout(console, plan) as view:
        rollout = Rollout(plan, remote, journal, RolloutSettings(gate=loaded.spec.gate),
                          sample=lambda h: sample_host(fleet, h, max_skew=skew.get(h.name, MAX_CLOCK_SKEW_SECONDS)),
                          emit=view.on_event, relays=loaded.inventory.relays, hosts=loaded.inventory.hosts,
                          replan=lambda hp: recheck_host(loaded, fleet, hp, journal.run_id))  # fmt: skip
        result = rollout.execute(loaded.spec.stages)
    text = render_run_report(result)
    path = journal.dir / "report.json"
    _write_private(path, text)
    if report:
        _write_private(Path(report), text)
    print_summary(console, result, str(path))
    return 0 if result.ok else 1


def _write_private(path: Path, text: str) -> None:
    from orchestrator.load.secrets import redact

    text = redact(text)  # a report never holds a vault-decrypted value
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


def _resume(console: Console, loaded: Loaded, fleet: Fleet, journal: Journal) -> None:
    """Each host the killed run left between 'backed_up' and a final phase: finish it or roll it back."""
    from orchestrator.actions.drain_node import HookStep
    from orchestrator.model import Role
    from orchestrator.roll.journal import Journal as J
    from orchestrator.roll.journal import host_data
    from orchestrator.roll.remote import SshRemote
    from orchestrator.roll.resume import reconcile_host, unfinished_hosts
    from orchestrator.workflow import sample_host

    remote = SshRemote(fleet, journal.run_id)
    events = J.read(journal.path)
    for name, last in unfinished_hosts(events).items():
        host = next((h for h in loaded.inventory.hosts if h.name == name), None)
        if host is None:
            console.print(f"[red]resume: {name} is in the journal but not in the inventory; left as it is[/]")
            continue
        relays = [h.peer_address for h in loaded.inventory.relays] if host.role is Role.BLOCK_PRODUCER else None
        back = next((p.operation for p in loaded.spec.programs.get(name, ())
                     if isinstance(p.operation, HookStep) and p.operation.kind == "return"), None)  # fmt: skip
        verdict = reconcile_host(host, last.phase, host_data(events, name), remote=remote, journal=journal,
                                 sample=lambda h: sample_host(fleet, h), policy=loaded.spec.gate,
                                 producer_relays=relays,
                                 return_hook=back.hook(host, loaded.inventory) if back else None)  # fmt: skip
        console.print(f"resume: {name} (was '{last.phase}'): {verdict}")
    # The killed run still holds its remote locks, also on hosts this resume leaves out (--limit):
    # release them (unlock removes only a lock with this run id); the run that follows takes what it needs.
    named = {e.host for e in events if e.host != "*"}
    held = [h for h in loaded.inventory.hosts if h.name in named]
    remote.map(held, remote.unlock)
