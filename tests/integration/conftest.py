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

from orchestrator.lab.hosts import LabState, host_exec, lab_down, lab_up

_subnets = itertools.count(40)


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
        self.hosts = [
            LabHostView(h.name, h.address, 22, h.role, h.layout) for h in state.hosts if h.role != "chain_source"
        ]
        self.chain_source = next(h for h in state.hosts if h.role == "chain_source")

    def exec(self, host: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return host_exec(self.state, host, command, timeout=timeout)

    def host(self, name: str) -> LabHostView:
        return next(h for h in self.hosts if h.name == name)


def _require_root() -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("lab tests need root, and CI must run them")
        pytest.skip("lab tests need root (namespaces, mounts, a bridge)")


@pytest.fixture(scope="session")
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    started: list[Path] = []

    def make(relays: int = 3, producers: int = 1, node_version: str = "8.7.3") -> Lab:
        _require_root()
        subnet = next(_subnets)
        lab_dir = tmp_path_factory.mktemp(f"lab{subnet}")
        started.append(lab_dir)
        state = lab_up(lab_dir, relays=relays, producers=producers, subnet=subnet, node_version=node_version)
        return Lab(state)

    yield make
    for lab_dir in started:
        lab_down(lab_dir)


@pytest.fixture(scope="session")
def lab(lab_factory: object) -> Lab:
    """A shared 3 relays + 1 block producer fleet on 8.7.3; tests using it must leave it as they found it."""
    return lab_factory()  # type: ignore[operator, no-any-return]
