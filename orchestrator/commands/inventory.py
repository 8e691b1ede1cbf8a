"""`cardano-fleet inventory`: validate an inventory offline and show what each host resolves to.

The first thing to run on a new or edited inventory: it needs no network, and it shows the values
(roles, addresses, paths) that every later command will act on.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from orchestrator.commands._fleet_args import INVENTORY_HELP, add_extra_vars_argument, vault_secrets

HELP = "validate an inventory; list hosts, roles, groups and resolved variables"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared in spelling with Ansible (-i, -e, --limit) so operators' habits carry over."""
    parser.add_argument("-i", "--inventory", required=True, metavar="INV", help=INVENTORY_HELP)
    parser.add_argument("--json", action="store_true", help="machine-readable output (stable keys)")
    parser.add_argument("-l", "--limit", metavar="PATTERN", help="hosts or groups, e.g. 'relays:!relay3'")
    add_extra_vars_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when the inventory is valid (and --limit matches), 1 otherwise."""
    from orchestrator.load.inventory import InventoryError, load_selection
    from orchestrator.report.inventory_json import render_inventory_json

    try:
        inventory, hosts = load_selection(args.inventory, args.extra_vars, args.limit, vault_secrets(args))
    except InventoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(render_inventory_json(inventory, hosts))  # vault-decrypted values stay secret
        return 0
    _print_table(inventory.source, hosts, inventory.warnings)
    return 0


def _print_table(source: str, hosts: Any, warnings: Any) -> None:
    """Hosts first; then paths once per distinct layout, so 500 identical relays stay readable."""
    from rich.table import Table

    from orchestrator.report.terminal import keep_headers, make_console

    console = make_console()
    table = Table(title=f"{source}: {len(hosts)} host{'s' if len(hosts) != 1 else ''}")
    for column in ("host", "role", "ssh", "node", "layout", "network", "groups"):
        table.add_column(column, overflow="fold")
    layouts: dict[Any, list[str]] = {}
    for h in hosts:
        ssh = f"{h.user}@{_hostport(h.address, h.port)}"
        if h.proxy_jump:
            ssh += f" via {h.proxy_jump}"
        if h.become:
            ssh += f" sudo{' ($' + h.become_password_env + ')' if h.become_password_env else ''}"
        table.add_row(
            h.name,
            h.role.value,
            ssh,
            _hostport(h.peer_address, h.peer_port),
            h.layout.name,
            h.network,
            ", ".join(h.groups),
        )
        layouts.setdefault(h.layout, []).append(h.name)
    console.print(keep_headers(table), crop=False)
    paths = Table(title="resolved paths", show_lines=True)
    paths.add_column("hosts", overflow="fold")
    paths.add_column("paths", overflow="fold")
    for layout, names in layouts.items():
        rows = (
            ("config", layout.config_path),
            ("topology", layout.topology_path),
            ("genesis", layout.genesis_dir),
            ("db", layout.db_path),
            ("socket", layout.socket_path),
            ("bin", layout.bin_dir),
            ("releases", layout.releases_dir),
            ("unit", layout.service_name),
            ("port", str(layout.node_port)),
        )
        paths.add_row("\n".join(names), "\n".join(f"{label}: {value}" for label, value in rows))
    console.print(keep_headers(paths), crop=False)
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


def _hostport(address: str, port: int) -> str:
    """IPv6 addresses in brackets, as operators write them next to a port."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
