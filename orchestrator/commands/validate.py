"""`cardano-fleet validate`: would cardano-node start with these files? Offline, the node's own rules."""

from __future__ import annotations

import argparse
import sys

HELP = "check config.json (and topology.json) by the startup rules of a cardano-node version (offline)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="C", help="the node's config.json")
    parser.add_argument("--topology", metavar="T", help="the node's topology.json")
    parser.add_argument("--node-version", required=True, choices=["8.7.3", "8.9.0"], help="the node version")


def run(args: argparse.Namespace) -> int:
    import os

    from orchestrator.cardano import node_rules

    if args.topology:
        check = node_rules.check_node_files(args.node_version, args.config, args.topology)
    else:
        try:
            with open(args.config, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            print(f"{args.config}: cannot read file: {exc.strerror or exc}", file=sys.stderr)
            return 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            print(f"{args.config}: not UTF-8 text (byte offset {exc.start})", file=sys.stderr)
            return 1
        config_dir = os.path.dirname(os.path.abspath(args.config))
        check = node_rules.check_config(args.node_version, text, config_dir)
    for warning in check.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not check.ok:
        for error in check.errors:
            print(error, file=sys.stderr)
        return 1
    files = args.config + (f", {args.topology}" if args.topology else "")
    mode = "P2P" if check.p2p else "non-P2P"
    print(f"ok: cardano-node {args.node_version} would start with {files} ({mode})")
    return 0
