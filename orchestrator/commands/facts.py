"""`cardano-fleet facts`: what every node looks like right now, read-only, one SSH round trip per host.

The operator's "where am I?" before a plan, and a cron-friendly probe: exit 0 when every host
answered, 2 when any host was unreachable or could not be probed, 1 on bad input.
"""

from __future__ import annotations

import argparse
import time

from orchestrator.commands._exit import error
from orchestrator.commands._fleet_args import INVENTORY_HELP, add_extra_vars_argument, vault_secrets

HELP = "node version, service state, config/topology format, P2P flags, tip, peers — per host (read-only)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags spelled like Ansible's (-i, -e, --limit, --forks) so operators' habits carry over."""
    parser.add_argument("-i", "--inventory", required=True, metavar="INV", help=INVENTORY_HELP)
    parser.add_argument("--json", action="store_true", help="machine-readable output (stable keys)")
    parser.add_argument("-l", "--limit", metavar="PATTERN", help="hosts or groups, e.g. 'relays:!relay3'")
    parser.add_argument("-f", "--forks", type=int, default=20, metavar="N", help="hosts probed at once (default 20)")
    parser.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="trust and record host keys not yet in known_hosts (a changed key is still refused)",
    )
    add_extra_vars_argument(parser)
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="SECONDS", help="per-host probe timeout (default 60)"
    )


def run(args: argparse.Namespace) -> int:
    from orchestrator.facts.probe import ALL_SECTIONS, gather_facts
    from orchestrator.load.inventory import InventoryError, load_selection
    from orchestrator.report.facts_json import render_facts_json
    from orchestrator.ssh.transport import Fleet

    if args.forks < 1:
        error("--forks must be at least 1")
        return 1
    try:
        inventory, hosts = load_selection(args.inventory, args.extra_vars, args.limit, vault_secrets(args))
    except InventoryError as exc:
        error(str(exc))
        return 1

    with Fleet(inventory.hosts, forks=args.forks, accept_new_host_keys=args.accept_new_host_keys) as fleet:
        facts = gather_facts(fleet, hosts, sections=ALL_SECTIONS, timeout=args.timeout)
        stats = fleet.all_stats()
    now = time.time()

    if args.json:
        print(render_facts_json(inventory.source, hosts, facts, stats, now))
    else:
        from orchestrator.report.facts_table import print_facts
        from orchestrator.report.terminal import make_console

        print_facts(make_console(), inventory.source, hosts, facts, now)
    return 2 if any(f.error is not None for f in facts.values()) else 0
