"""`cardano-fleet inventory`: validate an inventory offline and show what each host resolves to.

The first thing to run on a new or edited inventory: it needs no network, and it shows the values
(roles, addresses, paths) that every later command will act on.
"""

from __future__ import annotations

import argparse

from orchestrator.commands._exit import error
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
        error(str(exc))
        return 1
    if args.json:
        print(render_inventory_json(inventory, hosts))  # vault-decrypted values stay secret
        return 0
    from orchestrator.report.inventory_table import print_inventory
    from orchestrator.report.terminal import make_console

    print_inventory(make_console(), inventory.source, hosts, inventory.warnings, inventory.helpers,
                    inventory.skipped)
    return 0
