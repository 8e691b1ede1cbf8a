"""How a host's release stands against a run's target, by the release catalogue's order alone.

The planner, the audit and the actions ask this module, never compare version strings themselves:
the order is the catalogue's (`cardano.releases.VERSIONS`, oldest first), so a release the catalogue
does not know is refused with the list of the known ones rather than guessed at (a string or
numeric compare would have to guess what an unknown build, a `-pre` tag or a typo is).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from orchestrator.cardano import releases


class Standing(enum.Enum):
    """Where a host's running release stands against the target."""

    SAME = "same"
    OLDER = "older"  # an upgrade: the run moves it to the target
    NEWER = "newer"  # never downgraded: left alone (or the run refused)
    UNKNOWN = "unknown"  # the catalogue does not know the host's (or the target's) release


class UnknownRelease(ValueError):
    """A version the catalogue does not know; the message lists the known ones."""


def known_versions() -> tuple[str, ...]:
    """Every catalogued release, oldest first."""
    return tuple(releases.VERSIONS)


def require_known(version: str, what: str = "cardano-node") -> str:
    """`version` when the catalogue knows it; else UnknownRelease naming the known ones."""
    if version not in known_versions():
        raise UnknownRelease(f"{what} {version} is not a release this tool knows (known: {', '.join(known_versions())})")
    return version


def is_newer(version: str, than: str) -> bool:
    """True when both are catalogued and `version` comes after `than` in the catalogue."""
    order = known_versions()
    return version in order and than in order and order.index(version) > order.index(than)


@dataclass(frozen=True)
class Verdict:
    standing: Standing
    reason: str  # what the plan says; "" for an upgrade


def standing(current: str | None, target: str) -> Verdict:
    """Judge a host running `current` (None: not reported) against `target`."""
    order = known_versions()
    if target not in order:
        return Verdict(Standing.UNKNOWN, f"target cardano-node {target} is not a release this tool knows "
                                         f"(known: {', '.join(order)})")  # fmt: skip
    if current is None:
        return Verdict(Standing.OLDER, "")  # the binary's version was not read: the gate checks the result
    if current not in order:
        return Verdict(Standing.UNKNOWN, f"runs cardano-node {current}, a release this tool does not know "
                                         f"(known: {', '.join(order)}): refused, never guessed")  # fmt: skip
    if current == target:
        return Verdict(Standing.SAME, "")
    if order.index(current) > order.index(target):
        return Verdict(Standing.NEWER, f"newer than the target ({current} > {target}): left alone")
    return Verdict(Standing.OLDER, "")
