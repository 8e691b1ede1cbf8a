"""The probe script assembled from fact records, and its output cut back into sections.

The script prints delimited sections (`@@cf-begin NAME@@ … @@cf-end NAME RC@@`); each parses on
its own, so a missing or garbled section becomes a probe error and never hides the others.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.facts.record import FactSection
from orchestrator.model import Host

PRELUDE = 'export LC_ALL=C PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"'


def _section(name: str, body: str) -> str:
    # A subshell per section: `exit` ends the section only, and its status is the section's.
    return f"printf '\\n@@cf-begin {name}@@\\n'\n(\n{body}\n) 2>&1\nprintf '\\n@@cf-end {name} %s@@\\n' \"$?\"\n"


def build_script(host: Host, records: Sequence[FactSection]) -> str:
    """One POSIX sh command line (`sh -c '…'`) that runs the records' commands on `host`."""
    parts = [_section(r.name, r.command(host)) for r in records if r.applies(host)]
    return "sh -c " + shlex.quote("\n".join([PRELUDE, *parts, "exit 0"]))


_BEGIN = re.compile(r"^@@cf-begin ([a-z_]+)@@$")
_END = re.compile(r"^@@cf-end ([a-z_]+) (-?\d+)@@$")


@dataclass(frozen=True)
class Section:
    name: str
    body: str
    rc: int | None  # None: the section never finished (output cut short)


def split_sections(output: str) -> dict[str, Section]:
    """The probe output cut into its sections; anything outside markers is ignored."""
    sections: dict[str, Section] = {}
    current: str | None = None
    lines: list[str] = []
    for line in output.split("\n"):
        m_end = _END.match(line)
        if current is not None and m_end and m_end.group(1) == current:
            sections[current] = Section(current, "\n".join(lines).strip("\n"), int(m_end.group(2)))
            current, lines = None, []
            continue
        m_begin = _BEGIN.match(line)
        if m_begin:
            if current is not None:
                sections[current] = Section(current, "\n".join(lines).strip("\n"), None)
            current, lines = m_begin.group(1), []
            continue
        if current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = Section(current, "\n".join(lines).strip("\n"), None)
    return sections
