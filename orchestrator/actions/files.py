"""Helpers for the actions that rewrite a host's files (migrate_config, convert_topology).

Not an action: no `ACTION`, no arguments (the registry skips it)."""

from __future__ import annotations

import hashlib

from orchestrator.actions.base import HostPlanError
from orchestrator.facts.model import HostFacts


def refuse_undecodable(text: str, path: str) -> None:
    """The facts decode with errors="replace": a byte that is not UTF-8 arrives as U+FFFD, and rewriting
    the file would silently change it (a peer's host name, say). Refuse instead."""
    if "\ufffd" in text:
        line = text.count("\n", 0, text.index("\ufffd")) + 1
        raise HostPlanError(f"{path}:{line}: not UTF-8 text (cardano-node reads its files as UTF-8); "
                            "fix the file by hand, it is not rewritten")  # fmt: skip


def base_sha256(facts: HostFacts, which: str, text: str) -> str:
    """The sha256 of the bytes a change to config.json (`which` "config") or topology.json ("topology")
    was computed from: the probe's own digest of the file (HostFacts.<which>_sha256), else the text's."""
    digest = facts.config_sha256 if which == "config" else facts.topology_sha256
    return digest if isinstance(digest, str) else hashlib.sha256(text.encode()).hexdigest()
