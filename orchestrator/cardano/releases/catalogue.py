"""The catalogue: every cardano-node release this tool knows, and the only place versions are
compared. One module per release (v8_7_3.py ...) holds its record; this module orders them,
answers lookups and finds the path between two of them.

Stdlib only (the lab's simulated node bundles it).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.cardano.releases import forks, v8_7_3, v8_9_0, v10_1_4, v10_5_3, v10_6_4, v10_7_1, v11_0_1, v11_1_0
from orchestrator.cardano.releases.record import LedgerSnapshotFormat, NodeRelease

# Oldest first. Adding a release: one module beside these, one entry here (docs/releases.md).
CATALOGUE: tuple[NodeRelease, ...] = (
    v8_7_3.RELEASE,
    v8_9_0.RELEASE,
    v10_1_4.RELEASE,
    v10_5_3.RELEASE,
    v10_6_4.RELEASE,
    v10_7_1.RELEASE,
    v11_0_1.RELEASE,
    v11_1_0.RELEASE,
)
_BY_VERSION: dict[str, NodeRelease] = {r.version: r for r in CATALOGUE}
_RANK: dict[str, int] = {r.version: i for i, r in enumerate(CATALOGUE)}

# The release fleets ran before the seed's upgrade (the lab boots on it) and the seed's target.
FROM_VERSION = v8_7_3.RELEASE.version
TARGET_VERSION = v8_9_0.RELEASE.version

_NUMERIC = re.compile(r"(\d+)\.(\d+)\.(\d+)\Z")
# The first release published as -linux-amd64.tar.gz (release-upload.yaml @10.6.2, commit f762c33c4).
_AMD64_ASSETS_FROM = (10, 6, 2)


class UnknownRelease(ValueError):
    """A version the catalogue does not hold; the message lists the ones it does."""

    def __init__(self, version: str, what: str = "cardano-node") -> None:
        self.version = version
        super().__init__(f"{what} {version!r} is not in the release catalogue; known releases: {', '.join(known_versions())}")


class DowngradeRefused(ValueError):
    """A change from a newer release to an older one: never done silently."""

    def __init__(self, source: str, target: str, what: str = "migration") -> None:
        self.source = source
        self.target = target
        super().__init__(f"{what} from {source} to {target} refused: {target} is older than {source} (a downgrade)")


def known_versions(include_provisional: bool = True) -> tuple[str, ...]:
    """Every catalogued version, oldest first."""
    return tuple(r.version for r in CATALOGUE if include_provisional or not r.provisional)


def is_catalogued(version: str) -> bool:
    return version in _BY_VERSION


def lookup(version: str) -> NodeRelease:
    """The record of `version` (exact, e.g. "10.6.4"); UnknownRelease lists the known ones."""
    try:
        return _BY_VERSION[version.strip()]
    except KeyError:
        raise UnknownRelease(version) from None


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as catalogued release `a` is older than, the same as or newer than `b`."""
    ra, rb = _RANK[lookup(a).version], _RANK[lookup(b).version]
    return (ra > rb) - (ra < rb)


def is_newer(a: str, b: str) -> bool:
    """`a` is a newer catalogued release than `b`."""
    return compare(a, b) > 0


def is_older(a: str, b: str) -> bool:
    """`a` is an older catalogued release than `b`."""
    return compare(a, b) < 0


def sort_versions(versions: list[str] | tuple[str, ...]) -> list[str]:
    """Catalogued versions, oldest first (UnknownRelease on any other)."""
    return sorted(versions, key=lambda v: _RANK[lookup(v).version])


def newest(include_provisional: bool = False) -> NodeRelease:
    """The newest catalogued release (by default the newest from a tag, never a provisional one)."""
    return [r for r in CATALOGUE if include_provisional or not r.provisional][-1]


def at_least(version: str, floor: str) -> bool:
    """`version` is `floor` or newer. Both may be any x.y.z (a floor such as 9.1.0 need not be
    catalogued); the one numeric comparison the tool makes."""
    return _numeric(version) >= _numeric(floor)


def _numeric(version: str) -> tuple[int, int, int]:
    match = _NUMERIC.match(version.strip())
    if not match:
        raise ValueError(f"not a cardano-node version (x.y.z): {version!r}")
    return (int(match[1]), int(match[2]), int(match[3]))


def release_filename(version: str) -> str:
    """The linux x86_64 tarball's asset name on the node's GitHub releases page: `-linux.tar.gz` up
    to 10.6.1, `-linux-amd64.tar.gz` from 10.6.2 (release-upload.yaml @10.6.2 L51-129)."""
    if version in _BY_VERSION:
        return _BY_VERSION[version].asset
    match = _NUMERIC.match(version.strip())
    if match and _numeric(version) >= _AMD64_ASSETS_FROM:
        return f"cardano-node-{version}-linux-amd64.tar.gz"
    return f"cardano-node-{version}-linux.tar.gz"


def sha256sums_filename(version: str) -> str | None:
    """`cardano-node-<v>-sha256sums.txt` where the release publishes one, else None."""
    return f"cardano-node-{version}-sha256sums.txt" if lookup(version).sha256sums else None


def p2p_mode(version: str, config: Mapping[str, object]) -> bool:
    """Whether `version` runs the P2P stack with `config` (absent EnableP2P: false up to 10.5,
    ignored and always P2P from 10.6; POM @10.5.3 L404 vs @10.6.0)."""
    return lookup(version).runs_p2p(config)


class LedgerCrossing(enum.IntEnum):
    """What a node upgrade does to the on-disk ledger snapshots (boundaries doc §d)."""

    NONE = 0  # same format: a binary swap
    CONVERT = 1  # a replay unless converted with the newer release's snapshot-converter
    REPLAY = 2  # a full chain replay (hours); no converter avoids it


@dataclass(frozen=True)
class Hop:
    """One step between neighbouring catalogued releases."""

    source: NodeRelease
    target: NodeRelease

    @property
    def ledger(self) -> LedgerCrossing:
        a, b = self.source.ledger_snapshot_format, self.target.ledger_snapshot_format
        if a == b:
            return LedgerCrossing.NONE
        if a is LedgerSnapshotFormat.LEGACY_FILE and b is LedgerSnapshotFormat.UTXOHD_10_4:
            return LedgerCrossing.CONVERT  # Legacy -> Mem with the 10.4/10.5 converter (migrating.mdx L150-200)
        return LedgerCrossing.REPLAY

    def __str__(self) -> str:
        return f"{self.source.version} -> {self.target.version}"


def path(source: str, target: str) -> tuple[Hop, ...]:
    """The hops from `source` to `target`, one per neighbouring pair; () when equal.
    DowngradeRefused when `target` is older (naming both)."""
    a, b = _RANK[lookup(source).version], _RANK[lookup(target).version]
    if b < a:
        raise DowngradeRefused(source, target)
    return tuple(Hop(CATALOGUE[i], CATALOGUE[i + 1]) for i in range(a, b))


def ledger_crossing(source: str, target: str) -> LedgerCrossing:
    """The worst ledger-snapshot consequence of going from `source` to `target` (either direction:
    a rollback across a format change replays too, boundaries doc §d)."""
    lo, hi = sort_versions([source, target])
    return max((hop.ledger for hop in path(lo, hi)), default=LedgerCrossing.NONE)


def forces_replay(source: str, target: str) -> bool:
    """Whether crossing source -> target (either direction) needs a replay or a conversion."""
    return ledger_crossing(source, target) is not LedgerCrossing.NONE


def hard_fork_floor(network: str) -> str:
    """The oldest release that follows `network` past every catalogued hard fork (van Rossem:
    11.0.1). ValueError for a network other than mainnet, preprod, preview."""
    if network not in forks.NETWORKS:
        raise ValueError(f"no hard-fork floors for network {network!r}; known: {', '.join(forks.NETWORKS)}")
    return max((f.floor for f in forks.HARD_FORKS), key=_numeric)
