"""How many examples each hypothesis test of the unit suite runs.

The unit suite stays under 30 s on 2 cores (README), so every property or fuzz test keeps a modest
count — enough to reach the deep code paths on each run, while hypothesis's example database
(.hypothesis/) replays any failure it once found first. For a deeper search (before a release, after
a parser change) scale them all: `CARDANO_FLEET_FUZZ_SCALE=10 make test-unit` runs ten times as many.
"""

from __future__ import annotations

import math
import os

SCALE = float(os.environ.get("CARDANO_FLEET_FUZZ_SCALE", "1") or "1")


def examples(count: int) -> int:
    """`count` examples, scaled by CARDANO_FLEET_FUZZ_SCALE (at least 1)."""
    return max(1, math.ceil(count * SCALE))
