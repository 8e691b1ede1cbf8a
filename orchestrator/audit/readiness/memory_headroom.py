"""`release-memory`: the host's RAM against what release V's notes ask for.

The requirement is the catalogue's (cardano/releases/requirements.py, with its source: 11.1 asks for
24 GB, from the 11.1.3 notes); a release whose notes state none is not judged against a guess: the
check passes and says so. RAM is the probe's `memory` fact (MemTotal of /proc/meminfo).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.audit.findings import Severity
from orchestrator.audit.readiness import already_past, probe_why, target
from orchestrator.audit.registry import READINESS, Result, rule
from orchestrator.cardano.releases.requirements import GB, requirements

if TYPE_CHECKING:
    from orchestrator.audit.checks import Context


def _gb(n: int) -> str:
    return f"{n / GB:.1f} GB"


@rule("release-memory", "the host's RAM (MemTotal) is at least release V's stated memory requirement",
      Severity.ERROR, category=READINESS)  # fmt: skip
def check(c: Context) -> Result:
    v = target(c)
    if (past := already_past(c, v)) is not None:
        return past
    stated = requirements(v.version)
    have = c.facts.mem_total_bytes
    shown = "unknown" if have is None else _gb(have)
    if stated is None or stated.memory_bytes is None:
        return True, f"{v.version}'s notes state no memory requirement (the release catalogue); {shown} RAM", ""
    if have is None:
        return False, f"RAM unknown ({probe_why(c, 'memory')}); {v.version} asks for {_gb(stated.memory_bytes)}", ""
    if have < stated.memory_bytes:
        return False, f"{shown} RAM, {v.version} asks for {_gb(stated.memory_bytes)} ({stated.source})", ""
    return True, f"{shown} RAM, {v.version} asks for {_gb(stated.memory_bytes)} ({stated.source})", ""
