"""The console every command prints with: a sensible width in pipes, CI logs and cron mail; no secrets.

Kept apart from console.py (which renders plans and rollouts) so that offline commands import no SSH code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO, cast

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["PIPE_WIDTH", "console_width", "keep_headers", "make_console"]

WORD_LIMIT = 24  # columns: longer words (paths, hashes) may fold rather than widen a table without end
PIPE_WIDTH = 160  # columns for a pipe, CI log or cron mail without COLUMNS: wide enough that no header wraps


class _Redacting:
    """stdout with every vault-decrypted value masked (orchestrator.load.secrets): a secret is never printed."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        from orchestrator.load.secrets import redact

        return self._stream.write(redact(text))

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", "utf-8") or "utf-8"


def console_width(environ: Mapping[str, str] | None = None, isatty: bool | None = None) -> int | None:
    """None (the terminal's own width) on a terminal; COLUMNS when set; else PIPE_WIDTH."""
    env = os.environ if environ is None else environ
    columns = env.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if isatty if isatty is not None else sys.stdout.isatty():
        return None
    return PIPE_WIDTH


def make_console(file: IO[str] | None = None) -> Console:
    """The console every command prints with: terminal width on a terminal, COLUMNS if set, else PIPE_WIDTH.

    Colour follows Rich's rules (NO_COLOR disables it; a pipe gets none); secrets are masked.
    """
    stream = file if file is not None else sys.stdout
    return Console(file=cast(IO[str], _Redacting(stream)), width=console_width(isatty=stream.isatty()))


def keep_headers(table: Table) -> Table:
    """Never break a word ("reach able", "serv ice", "produ cer"): each column is at least as wide as the
    longest word of its header and cells (up to WORD_LIMIT; longer ones, like paths, may still fold).

    Print such a table with `crop=False`: a row wider than the console then runs on (a log viewer or the
    terminal wraps it) instead of being cut off.
    """
    from orchestrator.load.secrets import redact

    for column in table.columns:
        # secrets masked before the layout, so the mask's width is what the borders are drawn around
        column._cells = [redact(cell) if isinstance(cell, str) else cell for cell in column._cells]
        texts = [str(column.header), *(str(cell) for cell in column.cells if isinstance(cell, str | Text))]
        longest = max((len(word) for text in texts for word in text.split()), default=0)
        column.min_width = max(column.min_width or 0, min(longest, WORD_LIMIT))
    return table
