"""An in-memory fleet for the rollout engine's unit tests: a fake of roll.remote.Remote, a fake clock,
and nodes that behave as the gate sees them (in sync and advancing, stalled, crashed, stopped).

Nothing here sleeps or opens a socket: a gate that waits 120 s of stall runs in microseconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from orchestrator.cardano.layouts import GUILD, IOG
from orchestrator.model import Hook, Host, Inventory, ReleasePin, Role
from orchestrator.roll.gates import GateSample
from orchestrator.roll.remote import Done, Remote, Written
from orchestrator.ssh.transport import ABSENT

T = TypeVar("T")
PIN = {"version": "8.9.0", "url": "http://198.18.0.1:8080/cardano-node-8.9.0-linux.tar.gz", "sha256": "ab" * 32}
EXPECTED_AT_ZERO = 100_000_000  # the wall-clock slot when the fake clock reads 0


class FakeClock:
    """Monotonic seconds that move only when someone sleeps."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeNode:
    """One host: its files, its bin link, its staged releases, and how its node behaves per version."""

    host: Host
    files: dict[str, bytes]
    releases: set[str] = field(default_factory=lambda: {"8.7.3"})
    link: str = "releases/8.7.3/bin"
    running: str = "8.7.3"
    active: bool = True
    peers: tuple[str, ...] = ()
    lock_holder: str | None = None
    never_syncs: set[str] = field(default_factory=set)  # versions whose node never catches up
    crashes: set[str] = field(default_factory=set)  # versions whose node exits at start
    fail: set[str] = field(default_factory=set)  # remote operations that fail on this host
    backups: dict[str, bytes] = field(default_factory=dict)
    old_backups: dict[str, list[str]] = field(default_factory=dict)  # path → run ids of earlier runs' backups
    drop_writes: int = 0  # the next N writes lose their connection before anything is written
    unreachable_until: float | None = None  # samples find the host unreachable until the clock reads this
    dies_after: dict[str, float] = field(default_factory=dict)  # version → seconds after its start it exits
    started_at: float = 0.0
    before_write: Callable[[FakeNode], None] | None = None  # e.g. an operator's edit racing the write
    ledger: str = "LEGACY_FILE"  # the snapshot format db/ledger holds (cardano/releases: a release reads its own)
    genesis_replays: list[str] = field(default_factory=list)  # versions that found no snapshot they read
    ledger_backups: dict[str, str] = field(default_factory=dict)  # run id → the ledger it kept

    @property
    def linked_version(self) -> str:
        return self.link.split("/")[1]


def _snapshot_format(version: str) -> str:
    """The ledger-snapshot format a release reads and writes (the real catalogue's record)."""
    from orchestrator.cardano import releases

    return releases.lookup(version).ledger_snapshot_format.name if releases.is_catalogued(version) else "LEGACY_FILE"


class FakeRemote:
    """Remote over FakeNodes; `log` lists every operation as (operation, host), in order."""

    def __init__(self, nodes: Mapping[str, FakeNode], clock: FakeClock, run_id: str = "20990101T000000Z-fake00") -> None:
        self.nodes = dict(nodes)
        self.clock = clock
        self.run_id = run_id
        self.log: list[tuple[str, str]] = []
        self.times: list[tuple[str, str, float]] = []  # (operation, host, fake clock) for timing assertions
        self.batches: list[list[str]] = []  # the hosts of each parallel upgrade call, in order
        self.failing_commands: set[str] = set()  # hook commands that exit non-zero

    def _op(self, name: str, host: Host) -> FakeNode:
        self.log.append((name, host.name))
        self.times.append((name, host.name, self.clock()))
        return self.nodes[host.name]

    def map(self, hosts: Sequence[Host], fn: Callable[[Host], T]) -> dict[str, T]:
        if getattr(fn, "__name__", "") == "_upgrade_host":
            self.batches.append([h.name for h in hosts])
        return {h.name: fn(h) for h in hosts}

    def lock(self, host: Host) -> str | None:
        node = self._op("lock", host)
        if node.lock_holder not in (None, self.run_id):
            return node.lock_holder
        node.lock_holder = self.run_id
        return None

    def unlock(self, host: Host) -> None:
        node = self._op("unlock", host)
        if node.lock_holder == self.run_id:
            node.lock_holder = None

    def stage(self, host: Host, release: ReleasePin, local_tarball: bytes | None, sums_check: object = None) -> tuple[bool, str]:
        node = self._op("stage", host)
        if "stage" in node.fail:
            return False, "Failure writing output to destination"
        node.releases.add(release.version)
        return True, "STAGED"

    def backup(self, host: Host, paths: Sequence[str]) -> tuple[dict[str, bool], str | None] | str:
        node = self._op("backup", host)
        if "backup" in node.fail:
            return "No space left on device"
        existed = {p: p in node.files for p in paths}
        node.backups = {p: node.files[p] for p in paths if p in node.files}
        return existed, node.link

    def write_files(self, host: Host, files: Sequence[tuple[str, bytes, str | None]]) -> Written:
        node = self._op("write", host)
        if node.drop_writes:
            node.drop_writes -= 1
            return Written(False, f"cannot write {files[0][0]}: connection to {host.name} lost", unreachable=True)
        if "write" in node.fail:
            return Written(False, f"write {files[0][0]}: No space left on device")
        if node.before_write is not None:
            node.before_write(node)
        conflicts = []
        for path, content, base in files:
            now = _sha(node.files.get(path))
            if base is not None and now not in ((None if base == ABSENT else base), _sha(content)):
                conflicts.append(f"{path} changed since the plan (sha256 now {now}, planned from {base})")
        if conflicts:
            return Written(False, "; ".join(conflicts), conflict=True)
        node.files.update({path: content for path, content, _ in files})
        return Written(True)

    def drop_backups(self, host: Host, paths: Sequence[str]) -> None:
        node = self._op("drop_backups", host)
        for p in paths:
            node.backups.pop(p, None)

    def prune_backups(self, host: Host, paths: Sequence[str], keep: int) -> list[str]:
        """Old backups are `node.old_backups`: {path: [run ids]}; keeps the `keep` newest of each."""
        node = self._op("prune_backups", host)
        gone = []
        for p in paths:
            ids = ([self.run_id] if p in node.backups else []) + sorted(node.old_backups.get(p, []), reverse=True)
            node.old_backups[p] = [i for i in ids[:keep] if i != self.run_id]
            gone += [f"{p}.bak-{i}" for i in ids[keep:]]
        return gone

    def backup_ledger(self, host: Host) -> Done:
        node = self._op("backup_ledger", host)
        if node.active:
            return Done(False, "the node is running: its snapshots may be half written")
        if "backup_ledger" in node.fail:
            return Done(False, "cp: No space left on device")
        if not node.ledger:
            return Done(True, "absent")
        node.ledger_backups.setdefault(self.run_id, node.ledger)
        return Done(True, "4096")

    def restore_ledger(self, host: Host) -> Done:
        node = self._op("restore_ledger", host)
        if node.active:
            return Done(False, "the node is running")
        if self.run_id not in node.ledger_backups:
            return Done(False, "no ledger backup of this run")
        node.ledger = node.ledger_backups[self.run_id]
        return Done(True, "restored")

    def convert_ledger(self, host: Host, version: str) -> Done:
        """The converter writes the target's format from the kept Legacy copy (fail: "convert_ledger")."""
        node = self._op("convert_ledger", host)
        if node.active:
            return Done(False, "the node is running")
        if "convert_ledger" in node.fail:
            node.ledger = "HALF_WRITTEN"
            return Done(False, "Couldn't deserialize the snapshot. Are you running the same node version that "
                               "created the snapshot?")  # fmt: skip
        if node.ledger_backups.get(self.run_id) != "LEGACY_FILE":
            return Done(False, "no Legacy snapshot to convert")
        node.ledger = _snapshot_format(version)
        return Done(True, "converted 1000 0.25")

    def prune_ledger_backups(self, host: Host) -> list[str]:
        node = self._op("prune_ledger_backups", host)
        gone = [f"ledger.bak-{i}" for i in node.ledger_backups if i != self.run_id]
        node.ledger_backups = {i: v for i, v in node.ledger_backups.items() if i == self.run_id}
        return gone

    def switch_link(self, host: Host, version: str) -> Done:
        node = self._op("switch", host)
        if version not in node.releases:
            return Done(False, f"releases/{version}: no such directory")
        node.link = f"releases/{version}/bin"
        return Done(True, node.link)

    def restore(self, host: Host, existed: Mapping[str, bool], link: str | None) -> Done:
        node = self._op("restore", host)
        for path, was in existed.items():
            if was:
                node.files[path] = node.backups[path]
            else:
                node.files.pop(path, None)
        if link:
            node.link = link
        return Done(True)

    def service(self, host: Host, verb: str) -> Done:
        node = self._op(verb, host)
        if verb in ("restart", "start"):
            readable = _snapshot_format(node.linked_version)
            if node.ledger != readable:  # no snapshot it reads: it replays from genesis, then writes its own
                node.genesis_replays.append(node.linked_version)
                node.ledger = readable
            node.running = node.linked_version
            node.active = node.running not in node.crashes
            node.started_at = self.clock()
        elif verb == "stop":
            node.active = False
        return Done(True)

    def hook(self, hook: Hook) -> Done:
        """Logged as (kind, the host it ran on) and as (kind + ':' + command, node) for order checks."""
        self.log.append((hook.kind, hook.on.name))
        self.log.append((f"{hook.kind}:{hook.command}", hook.on.name))
        if hook.command in self.failing_commands:
            return Done(False, f"{hook} failed (exit 1): no such server")
        return Done(True)

    def sample(self, host: Host) -> GateSample:
        """What a health probe of the host shows now."""
        node = self.nodes[host.name]
        expected = EXPECTED_AT_ZERO + int(self.clock())
        if node.unreachable_until is not None and self.clock() < node.unreachable_until:
            return GateSample(at=self.clock(), reachable=False, error=f"connection refused by root@{host.address}:22")
        died = node.dies_after.get(node.running)
        if died is not None and self.clock() - node.started_at >= died:
            node.active = False
        if not node.active:
            return GateSample(at=self.clock(), active=False, expected_slot=expected)
        tip = expected - 5 if node.running not in node.never_syncs else EXPECTED_AT_ZERO - 40_000
        return GateSample(at=self.clock(), active=True, version=node.running, tip_slot=tip, expected_slot=expected,
                          hot_peers=len(node.peers), hot_peer_addresses=node.peers)  # fmt: skip

    def upgraded(self, name: str) -> bool:
        node = self.nodes[name]
        return node.running == "8.9.0" and node.link == "releases/8.9.0/bin" and node.active


def _sha(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _typed(remote: FakeRemote) -> Remote:
    return remote  # mypy: FakeRemote is a Remote


def fleet(relays: int, producers: int, passive: int = 0, helpers: Sequence[str] = (), **vars_: Any) -> Inventory:
    """relay1..N (guild and iog layouts alternating), bp1..M and wallet1..P (passive), with the release
    pinned; `helpers` names hosts without a node (a load balancer) that hooks may be delegated to."""
    hosts = []
    for i in range(1, relays + 1):
        hosts.append(Host(f"relay{i}", Role.RELAY, f"203.0.113.{10 + i}", GUILD if i % 2 else IOG,
                          vars=MappingProxyType({"node_release": PIN, **vars_})))  # fmt: skip
    for i in range(1, producers + 1):
        hosts.append(Host(f"bp{i}", Role.BLOCK_PRODUCER, f"203.0.113.{100 + i}", IOG,
                          vars=MappingProxyType({"node_release": PIN, **vars_})))  # fmt: skip
    for i in range(1, passive + 1):
        hosts.append(Host(f"wallet{i}", Role.PASSIVE, f"203.0.113.{50 + i}", IOG,
                          vars=MappingProxyType({"node_release": PIN, **vars_})))  # fmt: skip
    groups = {"relays": tuple(h.name for h in hosts if h.role is Role.RELAY),
              "block_producers": tuple(h.name for h in hosts if h.role is Role.BLOCK_PRODUCER)}  # fmt: skip
    if passive:
        groups["passive_nodes"] = tuple(h.name for h in hosts if h.role is Role.PASSIVE)
    extra = tuple(Host(name, Role.HELPER, f"203.0.113.{200 + i}", IOG) for i, name in enumerate(helpers))
    return Inventory("memory", tuple(hosts), MappingProxyType(groups), helpers=extra)
