"""Wait until a lab fleet is in sync: the demo, the tests and the benchmark all start from there."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from orchestrator.cardano.health import IN_SYNC_SLOTS


def wait_in_sync(
    inventory_path: str | Path,
    timeout: float = 60,
    max_lag: int = IN_SYNC_SLOTS,
    on_lags: Callable[[dict[str, int | None]], None] = lambda _lags: None,
) -> dict[str, int | None]:
    """Poll facts over SSH until every node's tip is within `max_lag` slots of the wall clock.

    Lab nodes boot a little behind the tip, as after a restart, and a rollout will not start while
    fewer than min_healthy_relays relays are in sync. Raises TimeoutError with the last lags.
    """
    from orchestrator.facts.probe import gather_facts
    from orchestrator.load.inventory import load_inventory
    from orchestrator.ssh.transport import Fleet

    inventory = load_inventory(inventory_path)
    deadline = time.monotonic() + timeout
    lags: dict[str, int | None] = {}
    with Fleet(inventory.hosts) as fleet:
        while time.monotonic() < deadline:
            facts = gather_facts(fleet, inventory.hosts)
            lags = {name: f.slot_lag(time.time()) for name, f in facts.items()}
            on_lags(lags)
            if all(lag is not None and lag <= max_lag for lag in lags.values()):
                return lags
            time.sleep(1)
    raise TimeoutError(f"lab fleet not in sync after {timeout:.0f}s: {lags}")
