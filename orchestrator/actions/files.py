"""Helpers for the actions that rewrite a host's files."""

from __future__ import annotations

from orchestrator.actions.base import HostPlanError


def refuse_undecodable(text: str, path: str) -> None:
    """The facts decode with errors="replace": a byte that is not UTF-8 arrives as U+FFFD, and rewriting
    the file would silently change it (a peer's host name, say). Refuse instead."""
    if "\ufffd" in text:
        line = text.count("\n", 0, text.index("\ufffd")) + 1
        raise HostPlanError(f"{path}:{line}: not UTF-8 text (cardano-node reads its files as UTF-8); "
                            "fix the file by hand, it is not rewritten")  # fmt: skip
