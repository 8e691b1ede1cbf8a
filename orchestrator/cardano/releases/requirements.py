"""The hardware a release's notes ask for (RAM, free disk): the readiness audit's headroom check.

Only what a source states: a release with no stated requirement has no record here, and the audit
says so instead of guessing. Figures are the notes' own units, GB read as 10**9 bytes (MemTotal of a
machine sold as 24 GB is a little above 24 * 10**9 bytes, below 24 GiB).

Stdlib only (the lab's simulated node bundles cardano/releases/).
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 10**9


@dataclass(frozen=True)
class Requirements:
    """What `version`'s notes ask of a host (None: that part not stated)."""

    version: str
    memory_bytes: int | None  # RAM (MemTotal) the node needs
    free_disk_bytes: int | None  # free space on the database filesystem
    source: str


# boundaries doc §f "→11.1: … budget 24 GB RAM and 300 GB free disk (11.1.3 notes, anchors-2026.md §3)".
# 11.1.0 is provisional in the catalogue (v11_1_0.py): the figure is kept for when it becomes a tag.
REQUIREMENTS: tuple[Requirements, ...] = (
    Requirements("11.1.0", 24 * GB, 300 * GB,
                 "11.1.3 release notes via the boundaries doc §f (anchors-2026.md §3): 24 GB RAM, 300 GB free disk"),
)  # fmt: skip
_BY_VERSION = {r.version: r for r in REQUIREMENTS}


def requirements(version: str) -> Requirements | None:
    """The stated requirements of catalogued release `version`, or None when its notes state none."""
    return _BY_VERSION.get(version)
