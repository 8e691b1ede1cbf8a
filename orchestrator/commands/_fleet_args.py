"""Arguments shared by the commands that act on a fleet with a playbook (`plan`, `run`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from orchestrator.commands._exit import error

if TYPE_CHECKING:
    from orchestrator.load.vault import VaultSecrets
    from orchestrator.workflow import Loaded

INVENTORY_HELP = (
    "inventory: a YAML, INI or --list JSON file, an executable inventory script, or a directory of them "
    "(as ansible -i)"
)


def add_extra_vars_argument(parser: argparse.ArgumentParser) -> None:
    """-e and the vault flags: every command that reads an inventory takes both."""
    parser.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                        help="k=v pairs, a YAML/JSON mapping, or @file.yml; highest precedence; repeatable")  # fmt: skip
    add_vault_arguments(parser)


def add_vault_arguments(parser: argparse.ArgumentParser) -> None:
    """Ansible's vault flags, spelled as Ansible spells them (ANSIBLE_VAULT_PASSWORD_FILE is read too)."""
    group = parser.add_argument_group("vault", "passwords for !vault values and vault-encrypted files")
    group.add_argument("--vault-password-file", "--vault-pass-file", action="append", default=[], metavar="FILE",
                       help="file holding the vault password (an executable one is run; its output is the password)")  # fmt: skip
    group.add_argument("--vault-id", action="append", default=[], metavar="[LABEL@]SOURCE",
                       help="a vault id: LABEL@FILE or LABEL@prompt; repeatable")  # fmt: skip
    group.add_argument("-J", "--ask-vault-password", "--ask-vault-pass", action="store_true",
                       help="ask for the vault password (also asked on a terminal when nothing else is given)")  # fmt: skip


def vault_secrets(args: argparse.Namespace) -> VaultSecrets:
    """The vault passwords the flags name; raises InventoryError (a SourceError) when one cannot be read."""
    from orchestrator.load.inventory import InventoryError
    from orchestrator.load.vault import VaultError, secrets_from_options

    try:
        secrets = secrets_from_options(getattr(args, "vault_password_file", []), getattr(args, "vault_id", []))
    except VaultError as exc:
        raise InventoryError("vault", 0, 0, str(exc)) from None
    if getattr(args, "ask_vault_password", False):
        secrets.prompt_ids.append("default")
    return secrets


def add_playbook_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--inventory", required=True, metavar="INV", help=INVENTORY_HELP)
    parser.add_argument("playbook", metavar="PLAYBOOK",
                        help="a bundled playbook by name (cardano-fleet playbooks lists them), or a path")  # fmt: skip
    parser.add_argument("--limit", "-l", metavar="PATTERN", help="only these hosts/groups (Ansible --limit syntax)")
    add_extra_vars_argument(parser)
    parser.add_argument("--forks", type=int, default=20, help="parallel SSH connections (default 20)")
    parser.add_argument("--accept-new-host-keys", action="store_true",
                        help="trust and record host keys not yet in known_hosts (a changed key is still refused)")
    parser.add_argument("--allow-unpinned-release", action="store_true",
                        help="accept a release without a pinned sha256 (NOT recommended: the download is unverified)")
    parser.add_argument("--diff", action="store_true", help="show a unified diff of every file that would change")
    parser.add_argument("--state-dir", default=".cardano-fleet",
                        help="journals, backups index, reports, lock (default: .cardano-fleet in the current directory; "
                             "give an absolute path from cron, and the same one to --resume)")


def load_or_explain(args: argparse.Namespace, command: str) -> Loaded | None:
    """Inventory + playbook, validated before any SSH; on bad input print `file:line:col: why`."""
    from orchestrator.load.inventory import SourceError, parse_extra_vars
    from orchestrator.workflow import load

    try:
        return load(args.inventory, args.playbook, limit=args.limit, extra_vars=parse_extra_vars(args.extra_vars),
                    allow_unpinned=args.allow_unpinned_release, vault=vault_secrets(args))  # fmt: skip
    except SourceError as e:
        error(str(e))
        return None
