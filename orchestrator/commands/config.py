"""`cardano-fleet config migrate`: a config.json as any catalogued release needs it, offline, printed
to stdout. The source release is read from the file (MinNodeVersion, or an 8.x file) or `--from`;
each boundary's step is applied in turn (cardano/migrations.py) with a note per hop on stderr.

The file may be JSON or YAML (the node reads it as YAML) and the output keeps its format; the
genesis files it names are read next to it and their hashes checked, era by era.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from orchestrator.cardano.networks import NETWORKS
from orchestrator.cardano.releases import TARGET_VERSION, known_versions
from orchestrator.commands._exit import error

if TYPE_CHECKING:
    from orchestrator.cardano.config import FileWrite

HELP = "migrate a config.json to a newer cardano-node release, hop by hop (offline; prints the new file)"
ROLES = {"relay": "relay", "producer": "block_producer", "block_producer": "block_producer"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    migrate = sub.add_parser("migrate", help=HELP, description=HELP)
    migrate.add_argument("file", metavar="FILE", help="the current config.json")
    versions = ", ".join(known_versions())
    migrate.add_argument("--to", required=True, metavar="VERSION", help=f"the release to migrate to: {versions}")
    migrate.add_argument(
        "--from", dest="source", metavar="VERSION",
        help="the release the file is for (default: read from the file's MinNodeVersion, or an 8.x file)",
    )  # fmt: skip
    migrate.add_argument("--role", required=True, choices=sorted(ROLES), help="the host's role")
    migrate.add_argument(
        "--conway-genesis",
        metavar="FILE",
        help=f"with --to {TARGET_VERSION} from an 8.7.3 file: the conway-genesis.json to pin the hash to "
        f"(default: the one shipped with {TARGET_VERSION})",
    )
    migrate.add_argument(
        "--network", choices=sorted(NETWORKS), help="default: inferred from the config's genesis hashes"
    )


def run(args: argparse.Namespace) -> int:
    from orchestrator.cardano import releases
    from orchestrator.cardano.config import local_genesis_lookup
    from orchestrator.cardano.errors import FileFormatError, read_text_file
    from orchestrator.cardano.migrations import migrate_config_to
    from orchestrator.model import Role

    prog = "cardano-fleet config migrate"
    try:
        releases.lookup(args.to)
        if args.source is not None:
            releases.lookup(args.source)
    except releases.UnknownRelease as exc:
        error(f"{exc}")
        return 1
    try:
        text = read_text_file(args.file)
        if args.conway_genesis:
            return _run_seed_migration(args, text, prog)
        result = migrate_config_to(
            text, args.to, Role(ROLES[args.role]), args.network, source=args.source, path=args.file,
            genesis_lookup=local_genesis_lookup,
        )  # fmt: skip
    except releases.DowngradeRefused as exc:
        error(f"{args.file}: {exc}")
        return 1
    except FileFormatError as exc:
        error(f"{exc}")
        return 1
    lines = [f"source release {result.source}: {result.source_inferred}"] if result.source_inferred else []
    if not result.hops:
        lines.append(f"nothing to change: already a {result.target} config")
    lines += [line for report in result.hops for line in report.lines()]
    return _report(args, prog, result.text, result.notes, lines, result.changed, result.format, result.writes)


def _report(args: argparse.Namespace, prog: str, text: str, notes: tuple[str, ...], lines: list[str],
            changed: bool, fmt: str, writes: tuple[FileWrite, ...]) -> int:  # fmt: skip
    """Check the result by the target's rules, then the notes on stderr and the file on stdout."""
    from orchestrator.cardano.config import validate_config

    check = validate_config(text, args.to)
    if not check.ok:
        for problem in check.errors:
            error(f"{args.file}: {problem}")
        return 1
    for note in notes:
        print(f"# checked: {note}", file=sys.stderr)
    for line in lines:
        print(f"# {line}", file=sys.stderr)
    if changed:
        print(f"# format kept: {fmt.upper()}", file=sys.stderr)
    for write in writes:
        if write.path != args.file:
            print(f"# also write {write.path} ({write.reason})", file=sys.stderr)
    sys.stdout.write(text)
    return 0


def _run_seed_migration(args: argparse.Namespace, text: str, prog: str) -> int:
    """--conway-genesis: the seed's one-hop 8.9.0 migration with the operator's genesis file."""
    from orchestrator.cardano.config import local_genesis_lookup, migrate_config
    from orchestrator.cardano.errors import FileFormatError
    from orchestrator.model import Role

    if args.to != TARGET_VERSION:
        error(f"--conway-genesis is for --to {TARGET_VERSION} only")
        return 1
    try:
        with open(args.conway_genesis, "rb") as handle:
            genesis = handle.read()
    except OSError as exc:
        error(f"{FileFormatError(args.conway_genesis, f'cannot read file: {exc.strerror or exc}')}")
        return 1
    try:
        result = migrate_config(
            text, Role(ROLES[args.role]), args.network, conway_genesis=genesis, path=args.file,
            genesis_lookup=local_genesis_lookup,
        )  # fmt: skip
    except FileFormatError as exc:
        error(f"{exc}")
        return 1
    lines = list(result.changes or (f"nothing to change: already a {TARGET_VERSION} P2P config",))
    return _report(args, prog, result.text, result.notes, lines, result.changed, result.format, result.writes)
