"""What each cardano-node release is, as `--version` shows it (docs §3). Stdlib only: the lab's
simulated node bundles this module."""

from __future__ import annotations

NODE_GIT_REVS: dict[str, str] = {
    "8.7.3": "a4a8119b59b1fbb9a69c79e1e6900e91292161e7",
    "8.9.0": "0d98405a60d57e1c8e13406d51cce0e34356bd64",
}
# cardano-cli shipped in each release tarball (8.20.3.0 for 8.9.0 is UNCONFIRMED from a real binary).
CLI_VERSIONS: dict[str, str] = {"8.7.3": "8.17.0.0", "8.9.0": "8.20.3.0"}
