"""Command-line wiring only: each sub-command lives in `orchestrator.commands.<name>`.

A command module exposes `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`.
Command modules keep heavy imports (fabric, rich) inside `run` so that `--help` stays fast and an offline
command never imports the SSH stack.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from orchestrator import __version__

# (sub-command, module under orchestrator.commands, one-line help)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("lab", "lab", "a local replica fleet of real sshd hosts: up, down, status, fault, leader-slots, exec"),
    ("inventory", "inventory", "validate an inventory; list hosts, roles, groups and resolved variables"),
    ("topology", "topology", "convert a topology.json to 8.9.0 P2P for a relay or block producer (offline)"),
    ("config", "config", "migrate a config.json to cardano-node 8.9.0 with P2P (offline)"),
    ("validate", "validate", "would cardano-node start with this config.json/topology.json? (offline)"),
    ("playbooks", "playbooks", "list the bundled playbooks (plan/run take them by name) and the roles they use"),
    ("plan", "plan", "what a run of a playbook would change, per host and batch (read-only; exit 2 = pending)"),
    ("run", "run", "run a playbook: the gated rolling upgrade to 8.9.0 with P2P (--check: plan only)"),
    ("facts", "facts", "node version, service, config/topology format, P2P, tip, peers per host (read-only)"),
    ("audit", "audit", "compliance audit for scheduled runs: exit 0 compliant, 1 findings, 2 unreachable/errors"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cardano-fleet",
        description=(
            "Rolling upgrades of cardano-node fleets to 8.9.0 with P2P, gated on sync health, "
            "over SSH. Every command documents itself: cardano-fleet COMMAND --help."
        ),
    )
    parser.add_argument("--version", action="version", version=f"cardano-fleet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name, help_text in COMMANDS:
        module = importlib.import_module(f"orchestrator.commands.{module_name}")
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
