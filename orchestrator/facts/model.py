"""What a probe learned about one host (`HostFacts`) and the small records inside it.

Kept apart from the fact sections that fill it (orchestrator/facts/sections.py) and from the probe
that runs them (orchestrator/facts/probe.py): audit rules, plans and gates read these types only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, NamedTuple

from orchestrator.cardano import health, node_yaml, releases, startup
from orchestrator.cardano.forging import Forging, forging_metric
from orchestrator.cardano.health import DiskUsage, TcpConnection, Tip
from orchestrator.cardano.leader_schedule import LeaderSlot
from orchestrator.cardano.releases import Tracing
from orchestrator.facts.clock import ClockReading


class FileStat(NamedTuple):
    """Owner, group, octal mode and size of a remote file (from `stat -c`)."""

    owner: str
    group: str
    mode: int
    size: int | None

    def __str__(self) -> str:
        return f"{self.owner}:{self.group} {self.mode:04o}"


class GenesisFile(NamedTuple):
    """A genesis file the config references: path, sha256 and blake2b-256 (None: unreadable).

    node_hash is the hash cardano-node compares with `<Era>GenesisHash`: for Byron the blake2b-256
    of its canonical JSON, for the other eras the blake2b-256 of the bytes (None: not known).
    """

    path: str
    sha256: str | None
    blake2b: str | None
    node_hash: str | None = None


class KeyFileStat(NamedTuple):
    """Metadata only of an entry under the keys dir of a block producer; contents are never read."""

    path: str
    mode: int
    owner: str
    group: str
    kind: str  # find's %y: f file, d directory, l symlink


class PeerSnapshotFact(NamedTuple):
    """The peer snapshot the topology's peerSnapshotFile names (facts/peer_snapshot.py): its path
    (relative names resolved from the topology's directory, TOP @10.5.3 L234), sha256 and size, and
    its top-level keys but the pool list (`header`: the format, slot and NetworkMagic are read from
    it by cardano/node_rules.py peer_snapshot_format). sha256 None: the file is missing or unreadable
    (`error` says why)."""

    path: str
    sha256: str | None
    size: int | None
    header: Mapping[str, Any] | None
    error: str | None = None


class CredentialFile(NamedTuple):
    """A credential file the node's command line names (cardano/forging.py CREDENTIAL_FLAGS): whether
    it is there (`test -e`: a stat, never an open) and whether a handover renamed it away (its
    `DISABLED_SUFFIX` name is there). None: not tested (the node was not running)."""

    path: str
    present: bool | None
    renamed_away: bool | None = None


@dataclass(frozen=True)
class ForgingFact:
    """Which of a producer's two faces it shows now (facts/forging.py; issue 27): `state` from two
    samples `interval_seconds` apart (cardano/forging.py classify: leadership checks rising = forging;
    the metric alone = enabled, not proven, since it reads 1 during a replay; metric 0 and no check =
    not forging; a node that is not running does not forge). `credentials`: the files its command
    line names, present or not; `non_producing`: started with `--start-as-non-producing-node`;
    `note`: why the state is unknown, or what the command line says against a handover."""

    state: Forging
    running: bool
    forging_metric: bool | None = None
    checks_before: int | None = None
    checks_after: int | None = None
    interval_seconds: float = 0.0
    credentials: tuple[CredentialFile, ...] = ()
    non_producing: bool = False
    kes_agent: str | None = None
    note: str | None = None

    @property
    def credentials_present(self) -> bool:
        """Every credential file its command line names is there (a SIGHUP would enable forging)."""
        return bool(self.credentials) and all(c.present for c in self.credentials)


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class HostFacts:
    """What one host looked like at probe time; `reachable`/`error` say why fields may be None."""

    host: str
    reachable: bool
    error: str | None = None
    network: str = "mainnet"
    hostname: str | None = None
    kernel: str | None = None
    os_id: str | None = None
    os_version: str | None = None
    host_time: int | None = None  # the host's clock (unix seconds) when probed
    control_time: float | None = None  # the control machine's clock at the probe's midpoint (unix seconds)
    node_version: str | None = None
    node_rev: str | None = None
    cli_version: str | None = None
    binary_path: str | None = None  # readlink -f of bin_dir/cardano-node
    binary_target: str | None = None  # readlink -f of bin_dir (the current release dir)
    service_active: str | None = None  # systemctl is-active: active, inactive, failed, ...
    service_enabled: str | None = None
    run_lock: str | None = None  # the run id holding the host's run lock (roll/remote.py LOCK_DIR), if any
    service_user: str | None = None  # the unit's User= ("root" when unset); None: unknown
    config_text: str | None = None
    config_sha256: str | None = None
    config_stat: FileStat | None = None
    topology_text: str | None = None
    topology_sha256: str | None = None
    topology_stat: FileStat | None = None
    genesis: Mapping[str, GenesisFile] = field(default_factory=_empty)
    tip: Tip | None = None
    tip_error: str | None = None
    metrics: Mapping[str, float] = field(default_factory=_empty)
    connections: tuple[TcpConnection, ...] = ()
    hot_peer_addresses: tuple[str, ...] = ()
    disk: DiskUsage | None = None
    disk_free_bytes: int | None = None
    ledger_bytes: int | None = None  # size of db/ledger/ (du -sk); 0: no such directory; None: not read
    mem_total_bytes: int | None = None  # /proc/meminfo MemTotal (bytes); None: not read
    releases: tuple[str, ...] = ()
    # The running release as staged by cardano-fleet (the `release_sums` fact): the releases_dir entry
    # bin_dir points into (None: outside it), and its staging record (roll/remote.py SUMS_RECORD) as
    # (path, sha256 recorded at staging, sha256 now or None when absent: the tarball is) — None: no record.
    installed_release: str | None = None
    installed_sums: tuple[tuple[str, str, str | None], ...] | None = None
    # what staging found in the release's published sums file ("matches cardano-node-<v>-sha256sums.txt",
    # "not verified against ...: why", "<v> publishes none ..."); None: a record from before that check
    installed_sums_published: str | None = None
    key_files_stat: tuple[KeyFileStat, ...] = ()
    startup_source: str | None = None  # "journal:<unit>" or "file:<path>": where the node's log was read
    startups: startup.Startups | None = None  # the node's newest start, and its newest complete one
    # A producer's leader slots (only with `leader_schedule` set): in memory, never printed.
    leader_schedule: tuple[LeaderSlot, ...] | None = field(default=None, repr=False)
    leader_schedule_error: str | None = None  # configured, but unreadable: why
    peer_snapshot: PeerSnapshotFact | None = None  # None: the topology names none (or was not read)
    forging: ForgingFact | None = None  # a producer's (or standby's) forging; None: not probed
    probe_errors: Mapping[str, str] = field(default_factory=_empty)

    @property
    def clock_skew(self) -> float | None:
        """Seconds the host's clock is ahead of the control machine's (facts/clock.py); None: unknown."""
        if self.host_time is None or self.control_time is None:
            return None
        return ClockReading(self.host_time, self.control_time).skew

    @cached_property
    def config(self) -> Any:
        """config.json as the node decodes it (YAML, so JSON too), or None when absent or unreadable.

        Cached: a YAML decode costs ~20 ms and the audit's rules each read it.
        """
        if self.config_text is None:
            return None
        try:
            return node_yaml.loads(self.config_text)
        except ValueError:
            return None

    @property
    def topology(self) -> Any:
        return _json_or_none(self.topology_text)

    @property
    def enable_p2p(self) -> bool | None:
        return health.enable_p2p(self.config)

    @property
    def runs_p2p(self) -> bool | None:
        """The network stack the running node uses with this config, as its release reads it: from
        10.6 P2P whatever EnableP2P says (POM @10.6.x: the key is not read; catalogue
        `enable_p2p_read`), before that EnableP2P (absent: non-P2P). An uncatalogued or unread
        release: EnableP2P as written. None: config.json unreadable."""
        p2p = self.enable_p2p
        if p2p is None or not isinstance(self.config, dict):
            return p2p
        running = self.node_version
        if running is not None and releases.is_catalogued(running):
            return releases.p2p_mode(running, self.config)
        return p2p

    @property
    def topology_format(self) -> health.TopologyFormat | None:
        return health.topology_format(self.topology) if self.topology_text is not None else None

    @property
    def tracing(self) -> Tracing | None:
        """The tracing system the node runs: its config's `UseTraceDispatcher`, else its release's
        default, as the catalogued release reads it (cardano/releases/; 11.1 reads no key). None:
        the config is unreadable, or the release is not catalogued and the config does not say."""
        config = self.config
        if not isinstance(config, dict):
            return None
        try:
            record = releases.lookup(self.node_version) if self.node_version else None
        except releases.UnknownRelease:
            record = None
        if record is not None:
            return Tracing.NEW if record.runs_new_tracing(config) else Tracing.LEGACY
        value = config.get("UseTraceDispatcher")
        return (Tracing.NEW if value else Tracing.LEGACY) if isinstance(value, bool) else None

    @property
    def running_version(self) -> str | None:
        """The version the running process reports (`cardano_build_info`), where it exports it."""
        return health.running_version(self.metrics)

    @property
    def hot_peers(self) -> int | None:
        """The node's own count of hot peers (Prometheus, either naming), when it reports one."""
        return health.metric_value_int(self.metrics, health.Metric.HOT_PEERS)

    @property
    def replay_progress(self) -> float | None:
        """`blockReplayProgress` (0-100, slot over target; new tracing only); None: not exported."""
        return health.metric(self.metrics, health.Metric.BLOCK_REPLAY_PROGRESS)

    @property
    def forging_enabled(self) -> bool | None:
        """The node's `forging_enabled` metric (either naming); None: not exported."""
        return forging_metric(self.metrics)

    @property
    def hot_peer_count(self) -> tuple[int, str]:
        """(hot peers, source): the metric, else established node connections (cardano/health.py)."""
        return health.hot_peer_count(self.metrics, self.hot_peer_addresses)

    @property
    def remaining_kes_periods(self) -> int | None:
        """KES periods left on the operational certificate (the node's metric; producers only)."""
        return health.metric_value_int(self.metrics, health.Metric.REMAINING_KES_PERIODS)

    @property
    def service_running(self) -> bool:
        return self.service_active == "active"

    @property
    def last_start_seconds(self) -> float | None:
        """Seconds the node's newest complete start took, ChainDB opening to socket (its own log)."""
        done = self.startups.last_completed if self.startups is not None else None
        return done.duration if done is not None else None

    def slot_lag(self, unix_now: float) -> int | None:
        if self.tip is None or self.tip.slot is None:
            return None
        return health.slot_lag(self.tip.slot, self.network, unix_now)


def _json_or_none(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
