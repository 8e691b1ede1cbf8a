"""The lab fleets the benchmark boots and tears down itself, and the environment of its children."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from orchestrator.ssh.guard import lab_only_env


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def subnet_lease(subnets: Sequence[int], used: set[int]) -> Iterator[int]:
    """A subnet of `subnets` that no lab (ours or anyone's) uses now, held until the block ends."""
    for subnet in subnets:
        if subnet not in used and not Path(f"/sys/class/net/cfleet{subnet}").exists():
            used.add(subnet)
            try:
                yield subnet
            finally:
                used.discard(subnet)
            return
    raise RuntimeError(f"no free lab subnet in {','.join(map(str, subnets))}: `cardano-fleet lab down` old labs")


@contextlib.contextmanager
def lab_fleet(workdir: Path, hosts: int, subnet: int, rtt_ms: float = 0.0, node_version: str = "8.7.3") -> Iterator[Any]:
    """hosts-1 relays + 1 block producer (behind the delay relay when rtt_ms > 0), booted, nodes
    serving; always torn down."""
    from orchestrator.lab.hosts import lab_down, lab_up

    lab_dir = workdir / f"lab{subnet}"
    # The benchmark measures the orchestrator, not node starts: the short start the tests use.
    state = lab_up(
        lab_dir, relays=hosts - 1, producers=1, subnet=subnet, node_version=node_version, rtt_ms=rtt_ms,
        startup_seconds=2.0,
    )
    try:
        wait_nodes_ready(state, timeout=60 + hosts)
        yield state
    finally:
        lab_down(lab_dir)


def wait_nodes_ready(state: Any, timeout: float = 60) -> None:
    """Every node's socket exists (so that a probe sees a running, answering node)."""
    from orchestrator.cardano.layouts import LAYOUTS
    from orchestrator.lab.hosts import host_exec

    deadline = time.monotonic() + timeout
    for h in state.hosts:
        sock = LAYOUTS[h.layout].socket_path
        while host_exec(state, h.name, f"test -S {sock}").returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{h.name}: node socket {sock} did not appear within {timeout:.0f}s")
            time.sleep(0.2)


def inventories(state: Any) -> dict[float, Path]:
    """Distance (ms) → the inventory that reaches the fleet at that distance."""
    if state.rtt_ms > 0:
        return {0.0: state.direct_inventory_path, float(state.rtt_ms): state.inventory_path}
    return {0.0: state.inventory_path}


def load_hosts(inventory: Path) -> list[Any]:
    from orchestrator.load.inventory import load_inventory

    return list(load_inventory(str(inventory)).hosts)


def cpu_seconds(usage: Any) -> float:
    return float(usage.ru_utime + usage.ru_stime)


def cli_env() -> dict[str, str]:
    env = lab_only_env()  # the transport refuses anything but the lab's addresses (orchestrator/ssh/guard.py)
    env.pop("SSH_AUTH_SOCK", None)
    return env


def cardano_fleet_bin() -> str:
    exe = Path(sys.executable).with_name("cardano-fleet")
    return str(exe) if exe.exists() else "cardano-fleet"
