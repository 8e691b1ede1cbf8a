"""Hard-fork readiness: the rules `cardano-fleet audit --for-release V` runs (issue 26 item 5).

One module per rule, each a `@rule(..., category=READINESS)` function listed in `checks.RULES`:
- `fork_floors`: the running node against the floors of the network's current and next hard fork;
- `release_config`: config.json and topology.json as release V would read them (what it refuses,
  what it would silently ignore that changes how the node runs);
- `release_sha256`: the installed release against the tarball digest `run` recorded when it staged it
  (checked against the inventory's pin then) and its binaries against theirs;
- `disk_headroom`, `memory_headroom`: room for V (its notes' stated requirements, the ledger backup
  the crossing needs).
Every domain fact comes from the release catalogue (cardano/releases/: records, forks.py,
requirements.py) with its source there. This module holds what the rules share: which release is
judged, and the refusal of one the catalogue cannot judge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.audit.registry import Result
from orchestrator.cardano import releases

if TYPE_CHECKING:
    from orchestrator.audit.checks import Context


class ReleaseNotJudged(ValueError):
    """`--for-release V` names a release the readiness report cannot be made for."""


def readiness_release(version: str) -> releases.NodeRelease:
    """The catalogued, tagged release `version`, or ReleaseNotJudged saying why not: a readiness
    report against an unknown release, or one whose facts come from a branch (provisional), would
    present guesses as a verdict."""
    if not releases.is_catalogued(version):
        known = ", ".join(releases.known_versions(include_provisional=False))
        raise ReleaseNotJudged(f"--for-release {version}: not in the release catalogue (known tagged releases: {known})")
    record = releases.lookup(version)
    if record.provisional:
        raise ReleaseNotJudged(f"--for-release {version}: provisional in the release catalogue (its facts come from "
                               f"{record.source_ref}, not a release tag), so no readiness verdict is made against it")
    return record


def target(c: Context) -> releases.NodeRelease:
    """The release the readiness rules judge the host against (`--for-release`)."""
    if c.for_release is None:
        raise ValueError("a readiness rule runs only with --for-release")
    return releases.lookup(c.for_release)


def probe_why(c: Context, *sections: str) -> str:
    """Why a fact is missing: the probe's own error for those sections."""
    reasons = [f"{s}: {c.facts.probe_errors[s]}" for s in sections if s in c.facts.probe_errors]
    return "; ".join(reasons) if reasons else "not reported by the host"


def already_past(c: Context, v: releases.NodeRelease) -> Result | None:
    """A pass for a host that runs a catalogued release newer than V: the tool never sends a node
    back (no downgrade), so V's requirements do not apply to it; None otherwise."""
    running = c.facts.node_version
    if running is not None and releases.is_catalogued(running) and releases.is_newer(running, v.version):
        return True, f"runs {running}, newer than {v.version}: never sent back to it (not judged)", ""
    return None
