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

# Run every section as a background job writing its own delimited output to a file, so that one
# host's probe costs its slowest section, not the sum. The job is the section's only process (its
# EXIT trap writes the end marker and status, so `exit` in a section ends that section only): each
# fork costs ~1 ms of the host's CPU. The output goes out in as few writes as it can: sections that
# are done are gathered into one file and printed with one `cat` (one SSH data packet), only before
# waiting for a section that is still running (so a slow or hung section never holds back the
# finished ones before it) and at the end. Every write is one packet the control side reads,
# decrypts and hands over in Python (~0.15 ms each, issue 18): printing each section as three
# writes cost more than the connection itself. Without a writable temporary directory (a full /tmp)
# the sections run one after another in subshells, printed as they go: slower, never wrong.
_RUN = """\
cf_d=
[ "$cf_parallel" = 1 ] && { cf_d=$(mktemp -d "${TMPDIR:-/tmp}/cf-probe.XXXXXX" 2>/dev/null) || cf_d=; }
if [ -n "$cf_d" ]; then
  trap 'rm -rf "$cf_d"' EXIT
  trap 'exit 129' HUP INT TERM
  for cf_n in $cf_names; do
    ( trap 'cf_r=$?; printf "\\n@@cf-end %s %s@@\\n" "$cf_n" "$cf_r"; : >"$cf_d/$cf_n.done"' EXIT
      printf '\\n@@cf-begin %s@@\\n' "$cf_n"; "s_$cf_n" ) >"$cf_d/$cf_n" 2>&1 </dev/null &
    eval "cf_p_$cf_n=\\$!"
  done
  cd "$cf_d" || exit 1
  cf_ready=
  for cf_n in $cf_names; do
    if [ ! -e "$cf_n.done" ]; then
      [ -n "$cf_ready" ] && { cat $cf_ready >.out; cat .out; cf_ready=; }
      eval "wait \\"\\$cf_p_$cf_n\\""; cf_r=$?
      [ -e "$cf_n.done" ] || printf '\\n@@cf-end %s %s@@\\n' "$cf_n" "$cf_r" >>"$cf_n"
    fi
    cf_ready="$cf_ready $cf_n"
  done
  [ -n "$cf_ready" ] && { cat $cf_ready >.out; cat .out; }
else
  for cf_n in $cf_names; do
    printf '\\n@@cf-begin %s@@\\n' "$cf_n"; ( "s_$cf_n" ) 2>&1 </dev/null; printf '\\n@@cf-end %s %s@@\\n' "$cf_n" "$?"
  done
fi
exit 0"""


def _function(name: str, body: str) -> str:
    # Called only in a process of its own (the section's background job, or `( s_NAME )` when the
    # sections run one after another): `exit` ends that section only, and its status is the section's.
    return f"s_{name}() {{\n{body}\n}}"


def build_script(host: Host, records: Sequence[FactSection], *, concurrent: bool = True) -> str:
    """One POSIX sh command line (`sh -c '…'`) that runs the records' commands on `host`.

    `concurrent`: the sections run at once as background jobs of the one shell (the default); False
    runs them one after another (what the benchmark compares against). Either way the output is
    the same sequence of delimited sections, in the records' order.
    """
    chosen = [r for r in records if r.applies(host)]
    names = " ".join(r.name for r in chosen)
    parts = [PRELUDE, *(_function(r.name, r.command(host)) for r in chosen)]
    parts.append(f"cf_names='{names}' cf_parallel={1 if concurrent else 0}")
    return "sh -c " + shlex.quote("\n".join([*parts, _RUN]))


def script_sections(script: str) -> list[str]:
    """The section names a built script runs, in output order (for tests and `--explain`-style checks)."""
    match = re.search(r"cf_names='([a-z_ ]*)'", shlex.split(script)[-1])
    return match.group(1).split() if match else []


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
