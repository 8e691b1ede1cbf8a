"""Command-line wiring only: each sub-command lives in `orchestrator.commands.<name>`.

A command module exposes `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`.
Command modules keep heavy imports (fabric, rich) inside `run` so that `--help` stays fast and an offline
command never imports the SSH stack.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from orchestrator import __version__
from orchestrator.commands import _exit

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
    ("handover", "handover", "move a pool's forging from its block producer to its standby (never two forgers)"),
    ("return", "return_host", "run only the return hook of named hosts: back into rotation, after a sync check"),
    ("facts", "facts", "node version, service, config/topology format, P2P, tip, peers per host (read-only)"),
    ("audit", "audit", "compliance audit for scheduled runs: exit 0 compliant, 1 findings, 2 unreachable/errors"),
)


class _Parser(argparse.ArgumentParser):
    """argparse with the tool's error prefix and the command's own usage-error exit code.

    argparse exits 2 on a usage error, which after `plan` would read as "changes pending".
    """

    usage_exit = 1
    commands: dict[str, _Parser]

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        where = self.prog.removeprefix("cardano-fleet").strip()
        _exit.error(f"{where}: {message}" if where else message)
        sys.exit(self.usage_exit)

    def parse_args(self, args: Sequence[str] | None = None, namespace: None = None) -> argparse.Namespace:  # type: ignore[override]
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:  # reported by the command's parser, with its usage and its exit code
            command = self.commands.get(getattr(parsed, "command", None) or "", self)
            command.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cardano-fleet",
        description=(
            "Rolling upgrades of cardano-node fleets to any catalogued release (8.9.0 P2P … 11.0.1; "
            "`cardano-fleet playbooks` lists the playbooks), gated on sync health, "
            "over SSH. Every command documents itself: cardano-fleet COMMAND --help."
        ),
        epilog=_exit.epilog(None), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cardano-fleet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.commands = {}
    for name, module_name, help_text in COMMANDS:
        module = importlib.import_module(f"orchestrator.commands.{module_name}")
        command_parser = sub.add_parser(name, help=help_text, description=help_text, epilog=_exit.epilog(name),
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
        command_parser.usage_exit = _exit.USAGE_ERROR[name]
        parser.commands[name] = command_parser
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; never a traceback for an interrupt, a closed pipe or binary data."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "_run", None):
            parser.print_help()
            return 1
        return int(args._run(args))
    except KeyboardInterrupt:
        _exit.error("interrupted")
        return _exit.INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return _exit.BROKEN_PIPE
    except UnicodeDecodeError as exc:
        # binary bytes where text was expected (a remote command's output, a file): say so, no traceback
        _exit.error(f"binary data where text was expected (byte 0x{exc.object[exc.start]:02x} at offset "
                    f"{exc.start} is not {exc.encoding})")
        return 1


def _quiet_stdout() -> None:
    """The reader went away (`| head`): point stdout at /dev/null so the flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - stdout without a descriptor (tests)
        pass


if __name__ == "__main__":
    sys.exit(main())
