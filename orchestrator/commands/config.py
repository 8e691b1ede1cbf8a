"""`cardano-fleet config migrate`: a config.json as 8.9.0 needs it, offline, printed to stdout.

The file may be JSON or YAML (the node reads it as YAML) and the output keeps its format; the
genesis files it names are read next to it and their hashes checked, era by era.
"""

from __future__ import annotations

import argparse
import sys

from orchestrator.cardano.networks import NETWORKS
from orchestrator.cardano.releases import TARGET_VERSION
from orchestrator.commands._exit import error

HELP = "migrate a config.json to cardano-node 8.9.0 with P2P (offline; prints the new file)"
ROLES = {"relay": "relay", "producer": "block_producer", "block_producer": "block_producer"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    migrate = sub.add_parser("migrate", help=HELP, description=HELP)
    migrate.add_argument("file", metavar="FILE", help="the current config.json")
    migrate.add_argument("--to", required=True, choices=[TARGET_VERSION], help="the node version to migrate to")
    migrate.add_argument("--role", required=True, choices=sorted(ROLES), help="the host's role")
    migrate.add_argument(
        "--conway-genesis",
        metavar="FILE",
        help="the 8.9.0 conway-genesis.json to pin the hash to (default: the one shipped with 8.9.0)",
    )
    migrate.add_argument(
        "--network", choices=sorted(NETWORKS), help="default: inferred from the config's genesis hashes"
    )


def run(args: argparse.Namespace) -> int:
    from orchestrator.cardano.config import local_genesis_lookup, migrate_config, validate_config
    from orchestrator.cardano.errors import FileFormatError, read_text_file
    from orchestrator.model import Role

    try:
        text = read_text_file(args.file)
        genesis = None
        if args.conway_genesis:
            try:
                with open(args.conway_genesis, "rb") as handle:
                    genesis = handle.read()
            except OSError as exc:
                reason = f"cannot read file: {exc.strerror or exc}"
                raise FileFormatError(args.conway_genesis, reason) from None
        result = migrate_config(
            text, Role(ROLES[args.role]), args.network, conway_genesis=genesis, path=args.file,
            genesis_lookup=local_genesis_lookup,
        )  # fmt: skip
    except FileFormatError as exc:
        error(str(exc))
        return 1
    check = validate_config(result.text, args.to)
    if not check.ok:
        for problem in check.errors:
            error(f"{args.file}: {problem}")
        return 1
    for note in result.notes:
        print(f"# checked: {note}", file=sys.stderr)
    for change in result.changes or ("nothing to change: already an 8.9.0 P2P config",):
        print(f"# {change}", file=sys.stderr)
    if result.changed:
        print(f"# format kept: {result.format.upper()}", file=sys.stderr)
    for write in result.writes:
        if write.path != args.file:
            print(f"# also write {write.path} ({write.reason})", file=sys.stderr)
    sys.stdout.write(result.text)
    return 0
