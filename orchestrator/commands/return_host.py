"""`cardano-fleet return`: put named hosts back into rotation — their return hook only, nothing else.

For a host left drained (a return hook that failed, a rollback that did not end in sync, a run
stopped before its resume): the operator fixes what is wrong, then runs the host's return hook as
the playbook defines it (the `return_node` step with the inventory's `return_command` /
`return_delegate_to`). The node must be up and within the gate's `sync_max_slot_lag` first (one facts
sample): a host not in sync is refused — a balancer must not send work to it — unless `--force`.
When a run's journal in STATE_DIR says the host is out of rotation, the return is journaled there
(`returned`, `manual: true`), so that run's record, the report and `run`'s refusals stay true.
Exit 0 when every named host was returned, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from orchestrator.commands._fleet_args import add_extra_vars_argument, load_or_explain

HELP = "run only the return hook of named hosts (back into a load balancer's rotation), after a sync check"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--inventory", required=True, metavar="INV", help="inventory (as ansible -i)")
    parser.add_argument("playbook", metavar="PLAYBOOK",
                        help="the playbook whose return_node step defines the hook (e.g. upgrade-exchange)")  # fmt: skip
    parser.add_argument("hosts", nargs="+", metavar="HOST", help="inventory host names")
    add_extra_vars_argument(parser)
    parser.add_argument("--force", action="store_true", help="return a host even when it is not in sync")
    parser.add_argument("--accept-new-host-keys", action="store_true",
                        help="trust and record host keys not yet in known_hosts (a changed key is still refused)")
    parser.add_argument("--state-dir", default=".cardano-fleet",
                        help="where run journals are (default .cardano-fleet): a return is journaled in the run "
                             "that left the host out of rotation")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from orchestrator.model import Phase
    from orchestrator.roll.journal import Journal, out_of_rotation, runs
    from orchestrator.roll.remote import SshRemote
    from orchestrator.roll.resume import return_hook_for
    from orchestrator.workflow import open_fleet, sample_host

    args.limit, args.allow_unpinned_release = ":".join(args.hosts), True  # the hook needs no release pin
    loaded = load_or_explain(args, "return")
    if loaded is None:
        return 1
    known = {h.name: h for h in loaded.inventory.hosts}
    unknown = [n for n in args.hosts if n not in known]
    if unknown:
        print(f"cardano-fleet: error: not in the inventory: {', '.join(unknown)}", file=sys.stderr)
        return 1
    hooks = {n: return_hook_for(loaded.spec.programs, known[n], loaded.inventory) for n in args.hosts}
    missing = [n for n, h in hooks.items() if h is None]
    if missing:
        print(f"cardano-fleet: error: {args.playbook} defines no return hook for {', '.join(missing)} "
              "(a return_node step and the inventory's return_command)", file=sys.stderr)  # fmt: skip
        return 1
    drained_by: dict[str, Path] = {}  # host → the journal of the newest run that left it out of rotation
    for run_dir in runs(Path(args.state_dir)):
        for name in out_of_rotation(Journal.read(run_dir / "journal.jsonl")):
            drained_by[name] = run_dir
    failed = 0
    with open_fleet(tuple(known[n] for n in args.hosts), accept_new_host_keys=args.accept_new_host_keys) as fleet:
        for name in args.hosts:
            host, hook = known[name], hooks[name]
            assert hook is not None
            s = sample_host(fleet, host)
            lag_limit = loaded.spec.gate.max_slot_lag
            in_sync = s.reachable and s.active and s.slot_lag is not None and s.slot_lag <= lag_limit
            if not in_sync and not args.force:
                why = s.error if not s.reachable else "service not active" if not s.active else f"slot lag {s.slot_lag}"
                print(f"{name}: not returned: not in sync ({why}; sync_max_slot_lag {lag_limit}); "
                      "fix it first, or --force", file=sys.stderr)  # fmt: skip
                failed += 1
                continue
            done = SshRemote(fleet, "manual").hook(hook)
            journaled = drained_by.get(name)
            if journaled is not None:
                journal = Journal(journaled.parent.parent, journaled.name)
                journal.record(name, Phase.RETURNED if done.ok else Phase.RETURN_FAILED, on=hook.on.name,
                               manual=True, **({} if done.ok else {"reason": done.detail}))  # fmt: skip
                journal.close()
            if done.ok:
                print(f"{name}: returned to rotation ({hook})" + (f"; journaled in run {journaled.name}" if journaled else ""))
            else:
                print(f"{name}: RETURN FAILED ({hook}): {done.detail}", file=sys.stderr)
                failed += 1
    return 1 if failed else 0
