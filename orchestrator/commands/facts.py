"""`cardano-fleet facts`: what every node looks like right now, read-only, one SSH round trip per host.

The operator's "where am I?" before a plan, and a cron-friendly probe: exit 0 when every host
answered, 2 when any host was unreachable or could not be probed, 1 on bad input.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from orchestrator.commands._fleet_args import INVENTORY_HELP, add_extra_vars_argument, vault_secrets

if TYPE_CHECKING:
    from orchestrator.facts.probe import HostFacts
    from orchestrator.model import Host

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
    from orchestrator.facts.probe import gather_facts
    from orchestrator.load.inventory import InventoryError, load_selection
    from orchestrator.report.facts_json import render_facts_json
    from orchestrator.ssh.transport import Fleet

    if args.forks < 1:
        print("error: --forks must be at least 1", file=sys.stderr)
        return 1
    try:
        inventory, hosts = load_selection(args.inventory, args.extra_vars, args.limit, vault_secrets(args))
    except InventoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    with Fleet(inventory.hosts, forks=args.forks, accept_new_host_keys=args.accept_new_host_keys) as fleet:
        facts = gather_facts(fleet, hosts, timeout=args.timeout)
        stats = fleet.all_stats()
    now = time.time()

    if args.json:
        print(render_facts_json(inventory.source, hosts, facts, stats, now))
    else:
        _print_table(inventory.source, hosts, facts, now)
    return 2 if any(f.error is not None for f in facts.values()) else 0


def _print_table(source: str, hosts: tuple[Host, ...], facts: dict[str, HostFacts], now: float) -> None:
    from rich.table import Table

    from orchestrator.cardano.health import sync_state
    from orchestrator.report.terminal import keep_headers, make_console

    console = make_console()
    table = Table(title=f"{source}: facts of {len(hosts)} host{'s' if len(hosts) != 1 else ''}")
    for column in ("host", "role", "reachable", "node", "service", "P2P", "topology", "tip slot", "lag", "hot peers"):
        table.add_column(column, overflow="fold", no_wrap=column in ("host", "tip slot"))
    problems: list[str] = []
    for h in hosts:
        f = facts[h.name]
        role = "producer" if h.is_producer else "relay"
        if not f.reachable:
            table.add_row(h.name, role, "[red]no[/red]", "", "", "", "", "", "", "")
            problems.append(f"{h.name}: {f.error}")
            continue
        lag = f.slot_lag(now)
        lag_text = "" if lag is None else str(lag)
        if lag is not None and sync_state(lag) != "in-sync":
            lag_text = f"[yellow]{lag_text}[/yellow]"
        p2p = {True: "yes", False: "no", None: "?"}[f.enable_p2p]
        peers = str(f.hot_peer_count[0])  # the addresses are in --json
        service = f.service_active or "?"
        if service != "active":
            service = f"[yellow]{service}[/yellow]"
        table.add_row(
            h.name,
            role,
            "yes" if f.error is None else "[yellow]partly[/yellow]",
            f.node_version or "?",
            service,
            p2p,
            f.topology_format or "?",
            "" if f.tip is None or f.tip.slot is None else str(f.tip.slot),
            lag_text,
            peers,
        )
        if f.error:
            problems.append(f"{h.name}: {f.error}")
        for section, why in sorted(f.probe_errors.items()):
            problems.append(f"{h.name}: {section}: {why}")
    console.print(keep_headers(table), crop=False)
    for line in problems:
        console.print(f"  {line}", markup=False, highlight=False)
