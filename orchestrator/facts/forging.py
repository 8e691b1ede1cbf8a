"""Whether a block producer (or its standby) forges: one fact section (command + parser), read-only.

What it reads (issue 27; the rules are cardano/forging.py's, shared with the handover):
- the running node's command line (/proc/MainPID/cmdline of its unit), for the credential files it
  names and the non-producing flag; each absolute path on it is tested with `test -e` (a stat, never
  an open), and so is its handover name (`DISABLED_SUFFIX`). Key files are never read.
- the forging lines of its Prometheus page (the metrics fact's own command, facts/sections.py
  MetricsSection), twice, `interval` seconds apart: the `forging_enabled` metric and the
  leadership-check counter. The metric reads 1 during a replay (Run.hs L277-282), so only the
  counter rising between the two samples proves forging (Tracers/Consensus.hs L1444, L1612).

Not part of the gate's light probe, nor of a plan's or a run's probe (`sampled`): the two samples
cost the probe `interval` seconds (the other sections run meanwhile, so a producer's probe takes
about that much longer, never the sum); `facts` and `audit` ask for it (ALL_SECTIONS).
"""

from __future__ import annotations

import shlex

from orchestrator.cardano import health
from orchestrator.cardano.forging import (
    DISABLED_SUFFIX,
    Forging,
    ForgingSample,
    classify,
    credentials,
    forging_metric,
    leadership_checks,
)
from orchestrator.facts.model import CredentialFile, ForgingFact
from orchestrator.facts.record import FactSection, Output, Parsed, register
from orchestrator.facts.sections import MetricsSection
from orchestrator.model import Host

# Seconds between the two samples: a forging node checks its leadership every slot (1 s on mainnet
# and the public testnets, Shelley genesis slotLength), so three slots pass between them.
SAMPLE_SECONDS = 3.0
_FORGING_LINES = "forging_enabled|Forge_about_to_lead"
_MARKS = ("@@sample-1", "@@sample-2")


@register
class ForgingSection(FactSection):
    """A producer's forging now: command line, credential files present, metric, leadership checks."""

    name = "forging"
    check_exit = False
    sampled = True  # `interval` seconds per probe: only `facts` and `audit` ask for it

    def __init__(self, interval: float = SAMPLE_SECONDS) -> None:
        if not 0 < interval <= 30:
            raise ValueError(f"forging sample interval {interval!r}: more than 0 and at most 30 seconds")
        self.interval = interval

    def applies(self, host: Host) -> bool:
        return host.is_producer  # standbys too: their role is block_producer

    def command(self, host: Host) -> str:
        unit = shlex.quote(host.layout.service_name)
        sample = f"( {MetricsSection().command(host)} ) 2>/dev/null | grep -E {shlex.quote(_FORGING_LINES)}"
        return "\n".join([
            f"pid=$(systemctl show -p MainPID --value {unit} 2>/dev/null)",
            'case "$pid" in ""|0|*[!0-9]*) echo pid=none ;; *) echo "pid=$pid"',
            "  tr '\\000' '\\n' < /proc/$pid/cmdline | while IFS= read -r a; do",
            "    printf 'arg\\t%s\\n' \"$a\"; v=$a; case $a in --*=*) v=${a#*=} ;; esac",
            "    case $v in /*)",
            "      if [ -e \"$v\" ]; then e=1; else e=0; fi",
            f"      if [ -e \"$v{DISABLED_SUFFIX}\" ]; then d=1; else d=0; fi",
            "      printf 'exists\\t%s\\t%s\\t%s\\n' \"$e\" \"$d\" \"$v\" ;;",
            "    esac",
            "  done ;;",
            "esac",
            f"echo {_MARKS[0]}", sample,
            f"sleep {self.interval:g}",
            f"echo {_MARKS[1]}", sample,
            "exit 0",
        ])  # fmt: skip

    def parse(self, out: Output) -> Parsed:
        head, _, rest = out.body.partition(_MARKS[0])
        first, _, second = rest.partition(_MARKS[1])
        lines = head.splitlines()
        pid = next((ln.removeprefix("pid=") for ln in lines if ln.startswith("pid=")), None)
        if pid is None:
            return Parsed.error(self.name, "no answer about the node's process")
        if pid == "none":
            fact = ForgingFact(Forging.OFF, running=False, interval_seconds=self.interval,
                               note="the node is not running (its unit has no MainPID)")  # fmt: skip
            return Parsed.of(forging=fact)
        argv = [ln.split("\t", 1)[1] for ln in lines if ln.startswith("arg\t")]
        seen: dict[str, tuple[bool, bool]] = {}
        for ln in lines:
            cols = ln.split("\t", 3)
            if len(cols) == 4 and cols[0] == "exists":
                seen[cols[3]] = (cols[1] == "1", cols[2] == "1")
        creds = credentials(argv)
        files = tuple(CredentialFile(p, *seen[p]) if p in seen else CredentialFile(p, None) for p in creds.paths)
        before, after = health.parse_prometheus(first), health.parse_prometheus(second)
        s1 = ForgingSample(0.0, True, forging_metric(before), leadership_checks(before))
        s2 = ForgingSample(self.interval, True, forging_metric(after), leadership_checks(after))
        state = classify(s1, s2)
        note = None
        if not argv:
            note = "its command line could not be read"
        elif state is Forging.UNKNOWN:
            note = "no forging_enabled metric or leadership-check counter on its metrics page"
        elif creds.error is not None and creds.kes_agent is not None:
            note = creds.error
        elif not creds.paths:
            note = "its command line names no credential files: it cannot forge"
        fact = ForgingFact(state, True, s2.forging_metric, s1.leadership_checks, s2.leadership_checks, self.interval,
                           files, creds.non_producing, creds.kes_agent, note)  # fmt: skip
        return Parsed.of(forging=fact)
