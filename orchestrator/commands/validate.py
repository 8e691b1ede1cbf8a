"""`cardano-fleet validate`: would cardano-node start with these files? Offline, the node's own rules.

config.json is read as the node reads it (YAML, so JSON too), every genesis file it names is read
and hashed, topology.json is read as strict JSON; peer addresses the node would take for DNS names
by mistake (`[2001:db8::1]`, `host:port`) are reported with their JSON path.
"""

from __future__ import annotations

import argparse
import sys

from orchestrator.cardano.releases import known_versions
from orchestrator.commands._exit import error, warning

HELP = "check config.json (and topology.json) by the startup rules of a cardano-node version (offline)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="C", help="the node's config.json (JSON or YAML)")
    parser.add_argument("--topology", metavar="T", help="the node's topology.json")
    parser.add_argument(
        "--node-version", required=True, metavar="VERSION",
        help=f"the release whose rules judge the files: {', '.join(known_versions())}",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import os

    from orchestrator.cardano import node_rules, releases
    from orchestrator.cardano.config import config_format

    try:
        release = releases.lookup(args.node_version)
    except releases.UnknownRelease as exc:
        error(str(exc))
        return 1
    if release.provisional:
        warning(f"{release.version} is provisional: its rules come from {release.source_ref}, not a tag")

    if args.topology:
        check = node_rules.check_node_files(args.node_version, args.config, args.topology)
    else:
        from orchestrator.cardano.errors import FileFormatError, read_text_file

        try:  # the tool's own error (a file it cannot read), with the one prefix; the node's words are below
            text = read_text_file(args.config)
        except FileFormatError as exc:
            error(str(exc))
            return 1
        config_dir = os.path.dirname(os.path.abspath(args.config))
        check = node_rules.check_config(args.node_version, text, config_dir)
    if not check.ok and check.config is None:
        _say_where(args.config)
    for said in check.warnings:
        warning(said)
    if args.topology and check.topology is not None:
        from orchestrator.cardano.topology import address_notes

        for note in address_notes(check.topology, args.topology):
            warning(note)
    if not check.ok:
        for problem in check.errors:
            print(problem, file=sys.stderr)  # the node's own words, as it would print them
        return 1
    files = args.config + (f", {args.topology}" if args.topology else "")
    fmt = "YAML" if config_format(_read(args.config)) == "yaml" else "JSON"
    mode = "P2P" if check.p2p else "non-P2P"
    print(f"ok: cardano-node {args.node_version} would start with {files} ({mode}; config read as {fmt})")
    return 0


def _read(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def _say_where(path: str) -> None:
    """A config the node cannot decode as YAML: file, 1-based line and column first, for people."""
    from orchestrator.cardano import node_yaml

    try:
        node_yaml.loads(_read(path))
    except node_yaml.YamlDecodeError as exc:
        where = path if exc.line is None else f"{path}:{exc.line}:{exc.column}"
        print(f"{where}: cardano-node cannot read it as YAML (nor JSON): {exc.problem}", file=sys.stderr)
    except OSError:
        pass
