"""What a running lab is, as plain values shared by the lab's modules (hosts, provision, commands).

Kept apart from `hosts` (which boots and stops hosts) and `provision` (which fills their files)
so that neither has to import the other for its types.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from orchestrator.cardano.releases import TARGET_VERSION

STATE_FILE = "lab.json"
RELAY_PORT_BASE = 10000  # the delay relay listens on the bridge at 10000 + the host's last octet


class LabError(RuntimeError):
    """A lab operation that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class LabHost:
    name: str
    role: str  # relay | block_producer | chain_source
    address: str
    layout: str  # guild | iog (chain_source: iog)
    netns: str
    veth: str
    config_format: str = "json"  # json | yaml: yaml hosts keep the node repository's mainnet-config.yaml
    standby_for: str = ""  # a standby producer (role block_producer): the producer it stands by (issue 27)


@dataclass
class LabState:
    dir: str
    subnet: int
    bridge: str
    gateway: str
    node_version: str
    hosts: list[LabHost]
    pids: dict[str, int] = field(default_factory=dict)  # host → launcher (unshare) pid
    init_pids: dict[str, int] = field(default_factory=dict)  # host → its PID 1, seen from outside
    server_pid: int = 0
    release_urls: dict[str, dict[str, str]] = field(default_factory=dict)
    rtt_ms: float = 0.0  # added round trip of the SSH path (the delay relay); 0: direct
    relay_pid: int = 0
    # The release inventory.yml pins as the target (served by the lab's release server), and hosts
    # booting another release than node_version (a mixed fleet).
    target_version: str = TARGET_VERSION
    host_versions: dict[str, str] = field(default_factory=dict)

    def version_of(self, name: str) -> str:
        """The release host `name` booted (the chain source: the seed's target)."""
        if self.host(name).role == "chain_source":
            return TARGET_VERSION
        return self.host_versions.get(name, self.node_version)

    @property
    def inventory_path(self) -> Path:
        return Path(self.dir) / "inventory.yml"

    @property
    def direct_inventory_path(self) -> Path:
        """The same fleet without the relay (written only when there is one)."""
        return Path(self.dir) / "inventory-direct.yml"

    def host(self, name: str) -> LabHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise LabError(f"no host {name!r} in the lab at {self.dir}")

    def save(self) -> None:
        path = Path(self.dir) / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)

    @classmethod
    def load(cls, lab_dir: str | Path) -> LabState | None:
        path = Path(lab_dir) / STATE_FILE
        if not path.exists():
            return None
        raw = json.loads(path.read_text())
        raw["hosts"] = [LabHost(**h) for h in raw["hosts"]]
        return cls(**raw)


def relay_port(host: LabHost) -> int:
    """The delay relay's port for this host, on the bridge address."""
    return RELAY_PORT_BASE + int(host.address.rsplit(".", 1)[1])
