"""`cardano-fleet plan`: what a run would change, from read-only facts (terraform-style exit codes)."""

from __future__ import annotations

import argparse

from orchestrator.commands._fleet_args import add_playbook_arguments, load_or_explain

HELP = "show what a run of PLAYBOOK would change per host and batch; exit 0 nothing to do, 2 pending, 1 error"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_playbook_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable plan")


def run(args: argparse.Namespace) -> int:
    from rich.text import Text

    from orchestrator.report.console import make_console, print_plan
    from orchestrator.report.plan_json import render_plan_json
    from orchestrator.workflow import gather_and_plan, open_fleet

    loaded = load_or_explain(args, "plan")
    if loaded is None:
        return 1
    with open_fleet(loaded.spec.hosts, args.forks, args.accept_new_host_keys) as fleet:
        _facts, plan = gather_and_plan(loaded, fleet)
    if args.json:
        print(render_plan_json(plan))
    else:
        console = make_console()
        for w in loaded.spec.warnings:
            console.print(Text(w, "bold red"), soft_wrap=True)
        print_plan(console, plan, diff=args.diff)
        if plan.pending:
            from orchestrator.commands.run import retention_text
            from orchestrator.roll.engine import DEFAULT_KEEP_BACKUPS

            console.print(retention_text(DEFAULT_KEEP_BACKUPS), highlight=False, soft_wrap=True)
            if loaded.playbook.pause_after == "canary":
                console.print("Pause: `run` asks for approval after the first (canary) batch (pause_after: canary).")
    if plan.errors:
        return 1
    return 2 if plan.pending else 0
