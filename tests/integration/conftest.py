"""Fixtures that boot real lab fleets (real sshd hosts in namespaces); they need root.

`lab` is one 3-relay + 1-producer fleet shared by read-only tests. Tests that change hosts
(upgrades, faults) take a fresh fleet from `lab_factory`: booting one takes about a second.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.cardano.releases import TARGET_VERSION
from orchestrator.lab.hosts import host_exec, lab_down, lab_up
from orchestrator.lab.readiness import wait_in_sync
from orchestrator.lab.state import LabError, LabState
from orchestrator.ssh.guard import LAB_ONLY_ENV

# Tests that are not about startup timing get a short start (a mainnet-like one is 12 s by default):
# every lab boot, restart and rollback here pays it, and the suite must stay under 20 minutes.
FAST_STARTUP_SECONDS = 2.0

# Labs of concurrent test processes must not collide: start at a per-process offset, skip taken ones.
_subnets = itertools.count(40 + os.getpid() % 150)


@dataclass(frozen=True)
class LabHostView:
    name: str
    address: str
    port: int
    role: str
    layout: str


class Lab:
    """A running lab fleet as tests see it."""

    def __init__(self, state: LabState) -> None:
        self.state = state
        self.dir = Path(state.dir)
        self.inventory_path = self.dir / "inventory.yml"
        self.known_hosts = self.dir / "known_hosts"
        self.client_key = self.dir / "keys" / "client_key"
        self.hosts = [LabHostView(h.name, h.address, 22, h.role, h.layout) for h in state.hosts if h.role != "chain_source"]
        self.chain_source = next(h for h in state.hosts if h.role == "chain_source")

    def exec(self, host: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return host_exec(self.state, host, command, timeout=timeout)

    def host(self, name: str) -> LabHostView:
        return next(h for h in self.hosts if h.name == name)

    def wait_in_sync(self, timeout: float = 60, max_lag: int = 20) -> dict[str, int | None]:
        return wait_in_sync(self.inventory_path, timeout=timeout, max_lag=max_lag)


@pytest.fixture
def lab_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab's network guard on (orchestrator/ssh/guard.py): the transport dials nothing but loopback
    and the lab range. Tests that open connections themselves use it (`pytest.mark.usefixtures`)."""
    monkeypatch.setenv(LAB_ONLY_ENV, "1")


def _require_root() -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("lab tests need root, and CI must run them")
        pytest.skip("lab tests need root (namespaces, mounts, a bridge)")


class LabPool:
    """Labs started for one scope, all torn down when it ends: fleets must not pile up, since many
    busy labs at once swamp the sandbox's network stack (seen: a 33-host lab beside others)."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp = tmp_path_factory
        self.started: list[Path] = []

    def __call__(
        self,
        relays: int = 3,
        producers: int = 1,
        node_version: str = "8.7.3",
        rtt_ms: float = 0.0,
        yaml_configs: tuple[str, ...] = (),
        startup_seconds: float = FAST_STARTUP_SECONDS,
        passive: int = 0,
        target_version: str = TARGET_VERSION,
        host_versions: dict[str, str] | None = None,
    ) -> Lab:
        _require_root()
        for _attempt in range(20):
            subnet = 40 + next(_subnets) % 200
            if Path(f"/sys/class/net/cfleet{subnet}").exists():
                continue
            lab_dir = self.tmp.mktemp(f"lab{subnet}")
            self.started.append(lab_dir)
            try:
                state = lab_up(
                    lab_dir, relays=relays, producers=producers, subnet=subnet, node_version=node_version,
                    rtt_ms=rtt_ms, yaml_configs=yaml_configs, startup_seconds=startup_seconds, passive=passive,
                    target_version=target_version, host_versions=host_versions,
                )  # fmt: skip
            except LabError as e:
                if "already exists" in str(e):
                    continue
                raise
            return Lab(state)
        raise AssertionError("no free lab subnet")

    def free_subnet(self, lab_dir: Path) -> int:
        """A subnet no lab uses, for tests that start a lab through the CLI (torn down with the pool)."""
        for _attempt in range(200):
            subnet = 40 + next(_subnets) % 200
            if not Path(f"/sys/class/net/cfleet{subnet}").exists():
                self.started.append(lab_dir)
                return subnet
        raise AssertionError("no free lab subnet")

    def down_all(self) -> None:
        for lab_dir in self.started:
            lab_down(lab_dir)
        self.started.clear()


@pytest.fixture(scope="module")
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabPool]:
    """Fresh fleets a test may change; torn down when the test module ends."""
    pool = LabPool(tmp_path_factory)
    yield pool
    pool.down_all()


@pytest.fixture
def fresh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabPool]:
    """Fresh fleets for one test only; torn down as soon as the test ends."""
    pool = LabPool(tmp_path_factory)
    yield pool
    pool.down_all()


@pytest.fixture(scope="session")
def _session_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabPool]:
    pool = LabPool(tmp_path_factory)
    yield pool
    pool.down_all()


@pytest.fixture(scope="session")
def lab(_session_pool: LabPool) -> Lab:
    """A shared 3 relays + 1 block producer fleet on 8.7.3; tests using it must leave it as they found it."""
    return _session_pool()


def standby_pool(pool: LabPool, name: str) -> tuple[Lab, Path]:
    """A lab pool with a standby producer (2 relays, bp1 and bp1-standby on 10.6.4, target 11.0.1), in
    sync, its pool keys' atimes aged three days (relatime moves an atime older than a day: any read of
    a key would show). Returns the lab and its directory."""
    from orchestrator.lab.provision import layout_of

    lab_dir = pool.tmp.mktemp(name)
    state = lab_up(lab_dir, relays=2, producers=1, subnet=pool.free_subnet(lab_dir), node_version="10.6.4",
                   target_version="11.0.1", startup_seconds=FAST_STARTUP_SECONDS, standby_producers=1)  # fmt: skip
    lab = Lab(state)
    lab.wait_in_sync(timeout=120)
    for host in ("bp1", "bp1-standby"):
        lab.exec(host, f"touch -a -d '3 days ago' {layout_of(state.host(host)).keys_dir}/*")
    return lab, lab_dir
