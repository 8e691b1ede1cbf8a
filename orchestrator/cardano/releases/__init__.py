"""The cardano-node release catalogue (one module per release: v8_7_3.py ... v11_1_0.py), the pin an
operator writes for one (pin.py) and the hard-fork floors (forks.py). docs/releases.md tells how to
add a release. Stdlib only: the lab's simulated node bundles these modules.
"""

from orchestrator.cardano.releases.catalogue import (
    CATALOGUE,
    FROM_VERSION,
    TARGET_VERSION,
    DowngradeRefused,
    Hop,
    LedgerCrossing,
    UnknownRelease,
    at_least,
    compare,
    forces_replay,
    hard_fork_floor,
    is_catalogued,
    is_newer,
    is_older,
    known_versions,
    ledger_crossing,
    lookup,
    newest,
    p2p_mode,
    path,
    release_filename,
    sha256sums_filename,
    sort_versions,
)
from orchestrator.cardano.releases.forks import HARD_FORKS, HardFork
from orchestrator.cardano.releases.pin import RELEASE_KEYS, RELEASE_SOURCES, ReleasePin, ReleasePinError
from orchestrator.cardano.releases.record import (
    LedgerSnapshotFormat,
    NodeRelease,
    PeerSnapshotFormat,
    TopologyShape,
    Tracing,
)

# The releases the lab builds and boots (lab/releases.py): the seed's pair. Every catalogued release
# is known_versions().
VERSIONS: tuple[str, ...] = (FROM_VERSION, TARGET_VERSION)
NODE_GIT_REVS: dict[str, str] = {r.version: r.git_rev for r in CATALOGUE}
# cardano-cli shipped in each tarball, where confirmed (each record's sources say how: the node's cabal
# bounds against CHaP at its index-state, or a golden file at the tag); 10.1.4's is not.
CLI_VERSIONS: dict[str, str] = {r.version: r.cli_version for r in CATALOGUE if r.cli_version}
# Where the binaries sit in each release's tarball ("" = top level, 8.7.3).
BINARY_SUBDIR: dict[str, str] = {r.version: r.binary_subdir for r in CATALOGUE}
# The order a host looks for them in an unpacked release of a version it cannot name (newest first).
BINARY_SUBDIRS: tuple[str, ...] = ("bin", "")

__all__ = [
    "BINARY_SUBDIR",
    "BINARY_SUBDIRS",
    "CATALOGUE",
    "CLI_VERSIONS",
    "FROM_VERSION",
    "HARD_FORKS",
    "NODE_GIT_REVS",
    "RELEASE_KEYS",
    "RELEASE_SOURCES",
    "TARGET_VERSION",
    "VERSIONS",
    "DowngradeRefused",
    "HardFork",
    "Hop",
    "LedgerCrossing",
    "LedgerSnapshotFormat",
    "NodeRelease",
    "PeerSnapshotFormat",
    "ReleasePin",
    "ReleasePinError",
    "TopologyShape",
    "Tracing",
    "UnknownRelease",
    "at_least",
    "compare",
    "forces_replay",
    "hard_fork_floor",
    "is_catalogued",
    "is_newer",
    "is_older",
    "known_versions",
    "ledger_crossing",
    "lookup",
    "newest",
    "p2p_mode",
    "path",
    "release_filename",
    "sha256sums_filename",
    "sort_versions",
]
