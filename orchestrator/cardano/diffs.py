"""Unified diffs of files as they are on a host vs as they will be, for `plan`, `--diff` and audits."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class FileDiff:
    path: str
    diff: str  # "" when nothing changes
    reason: str  # why it changes, or why it does not

    @property
    def changed(self) -> bool:
        return bool(self.diff)


def unified_diff(
    path: str,
    before: str | None,
    after: str,
    *,
    change_reason: str = "differs from the desired content",
    unchanged_reason: str = "already as desired",
    context: int = 3,
) -> FileDiff:
    """`a/<path>` vs `b/<path>`; a missing file (before=None) diffs against /dev/null."""
    if before == after:
        return FileDiff(path, "", unchanged_reason)
    before_lines = (before or "").splitlines(keepends=True)
    after_lines = after.splitlines(keepends=True)
    lines = difflib.unified_diff(
        before_lines,
        after_lines,
        fromfile="/dev/null" if before is None else f"a/{path.lstrip('/')}",
        tofile=f"b/{path.lstrip('/')}",
        n=context,
    )
    marker = "\n\\ No newline at end of file\n"
    text = "".join(line if line.endswith("\n") else line + marker for line in lines)
    reason = f"{path} does not exist yet" if before is None else change_reason
    return FileDiff(path, text, reason)
