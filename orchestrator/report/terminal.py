"""The console every command prints with: a sensible width in pipes, CI logs and cron mail; no secrets.

Kept apart from console.py (which renders plans and rollouts) so that offline commands import no SSH code.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, cast

from rich.console import Console, ConsoleRenderable, RenderableType, RenderHook
from rich.errors import MarkupError
from rich.table import Table
from rich.text import Text

from orchestrator.roll.interrupt import exit_status

__all__ = ["PIPE_WIDTH", "console_width", "keep_headers", "make_console", "progress_line", "utc_stamp"]

WORD_LIMIT = 24  # columns: longer words (paths, hashes) may fold rather than widen a table without end
PIPE_WIDTH = 160  # columns for a pipe, CI log or cron mail without COLUMNS: wide enough that no header wraps


_TRAILING = re.compile(r"[ \t]+(?=\n)")


class _Redacting:
    """stdout with every vault-decrypted value masked (orchestrator.load.secrets): a secret is never printed.

    Off a terminal, lines also lose their trailing blanks (rich pads titles and last cells to the
    width): a CI log or cron mail gets no invisible trailing spaces to diff against.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._strip = not stream.isatty()

    def write(self, text: str) -> int:
        from orchestrator.load.secrets import redact

        text = redact(text)
        if self._strip:
            text = _TRAILING.sub("", text)
        self._stream.write(text)
        return len(text)

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


class _Console(Console):
    """rich's Console, but a closed pipe (`| head`) exits as every command documents it (141), not 1."""

    def on_broken_pipe(self) -> None:
        try:
            super().on_broken_pipe()  # points stdout at /dev/null, then exits 1
        except SystemExit:
            raise SystemExit(exit_status("SIGPIPE")) from None  # 141: commands/_exit.py BROKEN_PIPE


class _MaskSecrets(RenderHook):
    """Secrets masked in what is about to be rendered, before rich lays it out.

    The stream's mask (`_Redacting`) sees only what rich printed, and rich changes text as it prints:
    it expands tabs to the next tab stop, drops control characters, wraps long cells across lines. A
    secret so changed would pass the stream unmasked; here it is still as the operator wrote it.
    """

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_masked(r) for r in renderables]


def _masked(renderable: ConsoleRenderable) -> ConsoleRenderable:
    from orchestrator.load.secrets import redact

    if isinstance(renderable, Text):
        return _masked_text(renderable)
    if isinstance(renderable, Table):
        for column in renderable.columns:
            column._cells = [_masked_cell(cell) for cell in column._cells]
            column.header = _masked_cell(column.header)
        if isinstance(renderable.title, str):
            renderable.title = redact(renderable.title)
        elif isinstance(renderable.title, Text):
            renderable.title = _masked_text(renderable.title)
    return renderable


def _masked_cell(cell: RenderableType) -> RenderableType:  # a table cell or header: markup, a Text, or else
    from orchestrator.load.secrets import redact

    if isinstance(cell, str):
        return redact(cell)
    if isinstance(cell, Text):
        return _masked_text(cell)
    return cell


def _masked_text(text: Text) -> Text:
    """A Text with a secret in it, masked; its inner styles are given up only then (the mask moves them)."""
    from orchestrator.load.secrets import redact

    plain = redact(text.plain)
    return text if plain == text.plain else Text(plain, style=text.style, end=text.end)


def make_console(file: IO[str] | None = None) -> Console:
    """The console every command prints with: terminal width on a terminal, COLUMNS if set, else PIPE_WIDTH.

    Colour follows Rich's rules (NO_COLOR disables it; a pipe gets none); secrets are masked twice: in
    what is rendered, before rich changes it (`_MaskSecrets`), and in what reaches the stream.
    """
    stream = file if file is not None else sys.stdout
    console = _Console(file=cast(IO[str], _Redacting(stream)), width=console_width(isatty=stream.isatty()))
    console.push_render_hook(_MaskSecrets())
    return console


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
        # a str cell is rich markup: measure what prints ("partly"), not "[yellow]partly[/yellow]"
        texts = [_plain(column.header), *(_plain(cell) for cell in column.cells if isinstance(cell, str | Text))]
        longest = max((len(word) for text in texts for word in text.split()), default=0)
        column.min_width = max(column.min_width or 0, min(longest, WORD_LIMIT))
    return table


def _plain(cell: object) -> str:
    """The text a cell prints: rich renders a str cell as markup; a Text or unparsable markup as is."""
    if isinstance(cell, str):
        try:
            return Text.from_markup(cell).plain
        except MarkupError:
            return cell
    return str(cell)


def utc_stamp(seconds: float) -> str:
    """`2026-12-05T23:59:58Z`: ISO 8601, UTC, whole seconds (the width of every progress line's prefix)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def progress_line(text: str, stream: IO[str] | None = None, now: float | None = None) -> str:
    """A progress line as printed to `stream` (stderr): a UTC timestamp first off a terminal (a CI log,
    cron mail or `| cat` may be read in another time zone, or after midnight), as is on a terminal."""
    out = stream if stream is not None else sys.stderr
    if out.isatty():
        return text
    return f"{utc_stamp(time.time() if now is None else now)} {text}"
