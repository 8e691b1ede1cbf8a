"""How a host's release stands against a run's target: a thin reading of the release catalogue
(`cardano.releases`: its order, `compare`, `UnknownRelease`) in the planner's and the audit's terms.

The planner, the audit and the actions ask this module, never compare version strings themselves.
A release the catalogue does not know is refused with the list of the known ones rather than
guessed at (a string or numeric compare would have to guess what an unknown build, a `-pre` tag or
a typo is).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from orchestrator.cardano import releases

UnknownRelease = releases.UnknownRelease


class Standing(enum.Enum):
    """Where a host's running release stands against the target."""

    SAME = "same"
    OLDER = "older"  # an upgrade: the run moves it to the target
    NEWER = "newer"  # never downgraded: left alone (or the run refused)
    UNKNOWN = "unknown"  # the catalogue does not know the host's (or the target's) release


def known_versions() -> tuple[str, ...]:
    """Every catalogued release, oldest first (a provisional one included: the plan says so)."""
    return releases.known_versions()


def require_known(version: str, what: str = "cardano-node") -> str:
    """`version` when the catalogue knows it exactly; else UnknownRelease naming the known ones."""
    if not releases.is_catalogued(version):
        raise UnknownRelease(version, what)
    return version


def is_newer(version: str, than: str) -> bool:
    """True when both are catalogued and `version` comes after `than` in the catalogue."""
    return releases.is_catalogued(version) and releases.is_catalogued(than) and releases.is_newer(version, than)


@dataclass(frozen=True)
class Verdict:
    standing: Standing
    reason: str  # what the plan says; "" for an upgrade


def standing(current: str | None, target: str) -> Verdict:
    """Judge a host running `current` (None: not reported) against `target`."""
    known = ", ".join(known_versions())
    if not releases.is_catalogued(target):
        return Verdict(Standing.UNKNOWN, f"target cardano-node {target} is not a release this tool knows (known: {known})")
    if current is None:
        return Verdict(Standing.OLDER, "")  # the binary's version was not read: the gate checks the result
    if not releases.is_catalogued(current):
        return Verdict(Standing.UNKNOWN, f"runs cardano-node {current}, a release this tool does not know "
                                         f"(known: {known}): refused, never guessed")  # fmt: skip
    order = releases.compare(current, target)
    if order == 0:
        return Verdict(Standing.SAME, "")
    if order > 0:
        return Verdict(Standing.NEWER, f"newer than the target ({current} > {target}): left alone")
    return Verdict(Standing.OLDER, "")


def provisional_note(version: str) -> str | None:
    """A plan note when the target is provisional (its facts come from a branch, not a tag)."""
    if not releases.is_catalogued(version):
        return None
    record = releases.lookup(version)
    if not record.provisional:
        return None
    return (f"cardano-node {version} is PROVISIONAL in the release catalogue: its facts come from "
            f"{record.source_ref}, not a release tag")
