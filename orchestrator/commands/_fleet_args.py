"""Arguments shared by the commands that act on a fleet with a playbook (`plan`, `run`)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.workflow import Loaded


def add_extra_vars_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                        help="k=v pairs, a YAML/JSON mapping, or @file.yml; highest precedence; repeatable")  # fmt: skip


def add_playbook_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--inventory", required=True, metavar="INV", help="inventory file (Ansible YAML format)")
    parser.add_argument("playbook", metavar="PLAYBOOK", help="e.g. playbooks/upgrade-8.9.0.yml")
    parser.add_argument("--limit", "-l", metavar="PATTERN", help="only these hosts/groups (Ansible --limit syntax)")
    add_extra_vars_argument(parser)
    parser.add_argument("--forks", type=int, default=20, help="parallel SSH connections (default 20)")
    parser.add_argument("--accept-new-host-keys", action="store_true",
                        help="trust and record host keys not yet in known_hosts (a changed key is still refused)")
    parser.add_argument("--allow-unpinned-release", action="store_true",
                        help="accept a release without a pinned sha256 (NOT recommended: the download is unverified)")
    parser.add_argument("--diff", action="store_true", help="show a unified diff of every file that would change")
    parser.add_argument("--state-dir", default=".cardano-fleet", help="journals, backups index, reports, lock")


def load_or_explain(args: argparse.Namespace, command: str) -> Loaded | None:
    """Inventory + playbook, validated before any SSH; on bad input print `file:line:col: why`."""
    from orchestrator.load.inventory import SourceError, parse_extra_vars
    from orchestrator.workflow import load

    try:
        return load(args.inventory, args.playbook, limit=args.limit, extra_vars=parse_extra_vars(args.extra_vars),
                    allow_unpinned=args.allow_unpinned_release)  # fmt: skip
    except SourceError as e:
        print(f"cardano-fleet {command}: {e}", file=sys.stderr)
        return None
