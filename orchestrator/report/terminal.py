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
from typing import IO, Any, cast

from rich.console import Console, ConsoleRenderable, Group, RenderableType, RenderHook
from rich.errors import MarkupError
from rich.style import StyleType
from rich.table import Table
from rich.text import Text

from orchestrator.roll.interrupt import exit_status

__all__ = [
    "PIPE_WIDTH", "console_width", "data", "data_str", "keep_headers", "make_console", "one_line", "progress_line",
    "utc_stamp",
]  # fmt: skip

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


def data(value: object, style: StyleType = "") -> Text:
    """Data as rich prints it: a host name, a message, a reason, a path, a value from a host or the operator.

    The one way data reaches rich, in every renderer (the plan, the rollout, the run summary, audit, facts,
    inventory). It is redacted here, while it is still as written: rich expands a tab to the next tab stop,
    drops control characters and wraps a cell across lines as it renders, so a secret masked only later
    (on the stream) could print in a form the mask does not know. And it is a Text, never markup: "[bold]",
    "[/]" or an IPv6 address "[fe80::1]:3001" print as written (as markup they would style what follows,
    vanish, or raise MarkupError). Control characters other than tab and newline are shown escaped (`\\x1b`):
    a host's answer cannot drive the operator's terminal.
    """
    return Text(data_str(value), style=style)


def data_str(value: object) -> str:
    """`data`'s text, for what takes a str (a diff's Syntax): redacted, control characters escaped."""
    from orchestrator.load.secrets import redact

    return _CONTROLS.sub(_escaped, redact(str(value)))


def one_line(value: object) -> str:
    """`data_str`, kept on one line: a line break shows as `\\n` (after the redaction, so a multi-line secret
    is still masked whole). For a record per host and a progress line in a pipe: each stays one line that
    grep finds, and every line of a log starts with its timestamp."""
    return data_str(value).replace("\n", "\\n")


# Control characters other than tab and newline: in a value from a host or a file, ESC or CSI would drive
# the operator's terminal (clear it, move the cursor, retitle the window) and hide what the value says
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escaped(match: re.Match[str]) -> str:
    """A control character as Python writes it in a string: `\\x1b`, `\\r`, `\\x07` (visible, and greppable)."""
    return match.group().encode("unicode_escape").decode("ascii")


def _redacted_text(text: Text) -> Text:
    """A Text with a secret in it, masked; its inner styles are given up only then (the mask moves them)."""
    from orchestrator.load.secrets import redact

    plain = redact(text.plain)
    return text if plain == text.plain else Text(plain, style=text.style, end=text.end)


def _redacted_cell(cell: RenderableType) -> RenderableType:
    """A table cell as `data` makes it: a str (rich would read it as markup) becomes a literal, redacted
    Text; anything else is masked where it holds text (`_masked`)."""
    return data(cell) if isinstance(cell, str) else _masked_cell(cell)


class _MaskSecrets(RenderHook):
    """The second net: secrets masked in what is about to be rendered, before rich lays it out.

    Renderers build what they print from `data` (redacted as written); this hook masks again whatever
    reaches a console another way (a line printed with markup off, a Group, a diff), still before rich
    changes it. The stream's mask (`_Redacting`) is the last net, for text rich printed itself.
    """

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_masked(r) for r in renderables]


def _masked(renderable: ConsoleRenderable) -> ConsoleRenderable:
    """`renderable` with every secret it holds masked: Text, Table (cells, headers, title, caption), the
    parts of a Group, a Syntax's code (a file's diff)."""
    from orchestrator.load.secrets import redact

    if isinstance(renderable, Text):
        return _redacted_text(renderable)
    if isinstance(renderable, Table):
        for column in renderable.columns:
            column._cells = [_masked_cell(cell) for cell in column._cells]
            column.header = _masked_cell(column.header)
        renderable.title = _masked_cell(renderable.title) if renderable.title is not None else None
        renderable.caption = _masked_cell(renderable.caption) if renderable.caption is not None else None
    elif isinstance(renderable, Group):
        renderable._renderables = tuple(_masked_cell(r) for r in renderable._renderables)
    elif _is_syntax(renderable):
        renderable.code = redact(renderable.code)  # type: ignore[attr-defined]
    return renderable


def _is_syntax(renderable: object) -> bool:
    """A rich Syntax (a diff); rich.syntax (and pygments) are not imported for it: if no renderer imported
    them, there is no Syntax to mask."""
    module = sys.modules.get("rich.syntax")
    return module is not None and isinstance(renderable, module.Syntax)


def _masked_cell(cell: Any) -> Any:
    """A cell, header or title masked as it is: a str stays a str (the hook does not change what is markup)."""
    from orchestrator.load.secrets import redact

    if isinstance(cell, str):
        return redact(cell)
    return _masked(cell) if isinstance(cell, ConsoleRenderable) else cell


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
    terminal wraps it) instead of being cut off. Every table goes through here, so here no cell stays markup:
    a str cell becomes `data(cell)` (the renderers build their data cells with `data` already).
    """
    for column in table.columns:
        # every cell as `data` makes it, before the layout: redacted (so the mask's width is what the borders
        # are drawn around) and literal (a host named "[bold]x" is not markup)
        column._cells = [_redacted_cell(cell) for cell in column._cells]
        texts = [_plain(column.header), *(_plain(cell) for cell in column.cells if isinstance(cell, str | Text))]
        longest = max((len(word) for text in texts for word in text.split()), default=0)
        column.min_width = max(column.min_width or 0, min(longest, WORD_LIMIT))
    if isinstance(table.title, str):
        table.title = data(table.title, "table.title")  # a title names the operator's file or a host
    return table


def _plain(cell: object) -> str:
    """The text a header or cell prints: a str header is our own markup (measured as it prints); a Text as is."""
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
