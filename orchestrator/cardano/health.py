"""Pure parsers for what a cardano-node host reports about its health (docs §4), and sync arithmetic.

Each parser takes the text a command printed and returns a typed value, or raises `ParseError`
with a short reason; none does I/O, so that facts, gates and audits share them and tests feed
them fixtures. Text from hosts is untrusted: parsers never eval and tolerate noise.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from orchestrator.cardano.networks import network as network_named

IN_SYNC_SLOTS = 20  # gLiveView: "in sync" within 20 slots of the wall-clock slot
BEHIND_SLOTS = 600  # gLiveView: "behind" up to 600 slots, then out of sync

# The hot-peer rule: a node in good health has at least this many hot peers (a block producer: only
# its own relays, roll/gates.py). The default of sync_gate's and the audit's min_hot_peers.
MIN_HOT_PEERS = 1

# The node's Prometheus endpoint: hasPrometheus ["127.0.0.1", 12798] in the shipped mainnet configs up
# to 10.5 (legacy tracing), `"PrometheusSimple suffix 127.0.0.1 12798"` in TraceOptions from 10.6
# (configuration/cardano/mainnet-config.json @10.6.0 L35-43, @11.0.1 L34-42; it answers GET /metrics
# only: trace-dispatcher Prometheus/TCPServer.hs @10.6.2 L126-140).
METRICS_HOST = "127.0.0.1"
METRICS_PORT = 12798
METRICS_URL = f"http://{METRICS_HOST}:{METRICS_PORT}/metrics"
PROMETHEUS_SIMPLE = "PrometheusSimple"  # the backend's name in TraceOptions (trace-dispatcher Types.hs L405-423)
HOT_PEERS_METRIC = "cardano_node_metrics_peerSelection_hot"  # legacy spelling (see Metric.HOT_PEERS)
SLOT_METRIC = "cardano_node_metrics_slotNum_int"


class ParseError(ValueError):
    """Text that is not what the command prints when it works; the message says what was wrong."""


@dataclass(frozen=True)
class VersionInfo:
    """`cardano-node --version` / `cardano-cli --version`: first line and the `git rev` line."""

    program: str
    version: str
    platform: str
    compiler: str
    rev: str | None


_VERSION_RE = re.compile(r"^\s*(cardano-[A-Za-z-]+)\s+v?(\d+(?:\.\d+)+)\b(.*)$")
_REV_RE = re.compile(r"git rev\s+([0-9a-f]{7,40})", re.IGNORECASE)


def parse_version(text: str) -> VersionInfo:
    """Parse `cardano-node 8.9.0 - linux-x86_64 - ghc-8.10\\ngit rev 0d98...` (noise lines skipped)."""
    for line in text.splitlines():
        m = _VERSION_RE.match(line)
        if m:
            extra = [p.strip() for p in m.group(3).split(" - ")]
            extra = [p.lstrip("- ").strip() for p in extra if p.lstrip("- ").strip()]
            rev = _REV_RE.search(text)
            return VersionInfo(
                program=m.group(1),
                version=m.group(2),
                platform=extra[0] if extra else "",
                compiler=extra[1] if len(extra) > 1 else "",
                rev=rev.group(1) if rev else None,
            )
    first = text.strip().splitlines()[0][:120] if text.strip() else "empty output"
    raise ParseError(f"not a cardano version line: {first!r}")


@dataclass(frozen=True)
class Tip:
    """`cardano-cli query tip` JSON; keys the node does not know yet (at genesis) are None."""

    slot: int | None
    block: int | None
    epoch: int | None
    era: str | None
    hash: str | None
    slot_in_epoch: int | None
    slots_to_epoch_end: int | None
    sync_progress: float | None


def _opt_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ParseError(f"query tip: {key} is not a number: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ParseError(f"query tip: {key} is not a number: {value!r}") from None


def parse_tip(text: str) -> Tip:
    """Parse the JSON object `cardano-cli query tip` prints; syncProgress is a string like "100.00".

    Both forms (cardano/releases/cli.py has the sources): up to cardano-cli 8.20.x with a final
    newline, from 8.21 without; the same sorted keys through 11.0. The CLI's stderr warnings may come
    before or after the object (the probe reads both streams). When its local state query fails it
    prints `null` after "Warning: Local state unavailable: …": that warning is the reason given.
    """
    start, end = text.find("{"), text.rfind("}")
    if start < 0 and any(line.strip() == "null" for line in text.splitlines()):
        warnings = [line.strip() for line in text.splitlines() if line.strip().startswith("Warning:")]
        why = warnings[0].removeprefix("Warning:").strip() if warnings else "no reason printed"
        raise ParseError(f"query tip: no local state ({why})")
    if start < 0 or end < start:
        reason = text.strip().splitlines()[-1][:200] if text.strip() else "no output"
        raise ParseError(f"query tip printed no JSON: {reason}")
    try:
        obj = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ParseError(f"query tip printed invalid JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise ParseError("query tip JSON is not an object")
    if "error" in obj and "slot" not in obj:
        raise ParseError(f"query tip: {obj['error']}")
    progress: float | None = None
    raw = obj.get("syncProgress")
    if raw is not None:
        try:
            progress = float(raw)
        except (TypeError, ValueError):
            raise ParseError(f"query tip: syncProgress is not a number: {raw!r}") from None
    era, block_hash = obj.get("era"), obj.get("hash")
    return Tip(
        slot=_opt_int(obj, "slot"),
        block=_opt_int(obj, "block"),
        epoch=_opt_int(obj, "epoch"),
        era=str(era) if era is not None else None,
        hash=str(block_hash) if block_hash is not None else None,
        slot_in_epoch=_opt_int(obj, "slotInEpoch"),
        slots_to_epoch_end=_opt_int(obj, "slotsToEpochEnd"),
        sync_progress=progress,
    )


_SAMPLE_RE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)(?:\s+-?\d+)?\s*$")


def parse_prometheus(text: str) -> dict[str, float]:
    """Prometheus text exposition → {name or name{labels}: value}; comments and junk lines skipped."""
    samples: dict[str, float] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        if not m:
            continue
        value = m.group(2)
        try:
            number = float(value)  # accepts NaN, +Inf, -Inf and 5.0e-2
        except ValueError:
            continue
        samples[m.group(1)] = number
    return samples


def metric_int(metrics: Mapping[str, float], name: str) -> int | None:
    value = metrics.get(name)
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return int(value)


# --------------------------------------------------------------------------------------------
# One signal, two namings. Source: /work/shared/docs/cardano-runtime-signals-10x.md §2. The new
# tracing system (PrometheusSimple, trace-dispatcher Tracer/EKG.hs @10.6.2 L60-78, Prometheus/
# Exposition.hs L48-53) names a metric `cardano.node.metrics.` + name + a type suffix (`_int`,
# `_real`, `_counter`), `.`/`-`/space → `_`; `PrometheusSimple nosuffix` drops the suffix. The legacy
# backend (iohk-monitoring EKG → Prometheus) wrote some names without a suffix (cardano-node @10.6.2
# `cardano-node/src/Cardano/Tracing/Tracers.hs`: peerSelection L1626-1628, forging_enabled L374).
# A metric the node has not set yet is absent from the page — slotNum & co. are set on the first
# block after a restart (ChainDB.hs L704-739) — and reads as None: not known yet, never an error.

_P = "cardano_node_metrics_"


class Metric(Enum):
    """A node signal and its names, preferred first: new tracing with suffix, without, legacy."""

    SLOT = (_P + "slotNum_int", _P + "slotNum")  # same name in legacy (guild env L600-604)
    BLOCK = (_P + "blockNum_int", _P + "blockNum")
    EPOCH = (_P + "epoch_int", _P + "epoch")
    # Hot = active peers (ouroboros-network 1.1.0.0 PeerSelectionCounters.hs L66-125): ActivePeers is
    # the current name, Hot_int deprecated in code; legacy wrote `peerSelection_hot`, no suffix.
    HOT_PEERS = (
        _P + "peerSelection_ActivePeers_int", _P + "peerSelection_ActivePeers",
        _P + "peerSelection_Hot_int", _P + "peerSelection_Hot", _P + "peerSelection_hot",
    )  # fmt: skip
    # Producers only, with credentials loaded (Tracers/KESInfo.hs L110-120); same names in legacy.
    REMAINING_KES_PERIODS = (_P + "remainingKESPeriods_int", _P + "remainingKESPeriods")
    CURRENT_KES_PERIOD = (_P + "currentKESPeriod_int", _P + "currentKESPeriod")
    OPCERT_START_KES_PERIOD = (_P + "operationalCertificateStartKESPeriod_int",
                               _P + "operationalCertificateStartKESPeriod")  # fmt: skip
    OPCERT_EXPIRY_KES_PERIOD = (_P + "operationalCertificateExpiryKESPeriod_int",
                                _P + "operationalCertificateExpiryKESPeriod")  # fmt: skip
    # 0/1 on every node, set before the replay (Tracers/Startup.hs L300-306; Run.hs L277-282);
    # `forging_enabled` is both the legacy name and the new one without suffix.
    FORGING_ENABLED = (_P + "forging_enabled_int", _P + "forging_enabled")
    # 0-100, replayed slot over the target slot (absolute): a replay from a snapshot starts near 99.9
    # (Tracers/BlockReplayProgress.hs L38-40, L71-72). New tracing only; no legacy name was found.
    BLOCK_REPLAY_PROGRESS = (_P + "blockReplayProgress_real", _P + "blockReplayProgress")
    # 0 PreSyncing, 1 Syncing, 2 CaughtUp (Tracers/Consensus.hs L1964-1975). New tracing only.
    GSM_STATE = (_P + "GSM_state_int", _P + "GSM_state")
    NODE_START_TIME = (_P + "node_start_time_int", _P + "node_start_time")  # POSIX seconds (Startup.hs L307-310)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.value)


def metric(metrics: Mapping[str, float], which: Metric) -> float | None:
    """The first of `which`'s names the page has (NaN/±Inf read as absent); None: not exported (yet)."""
    for name in which.names:
        value = metrics.get(name)
        if value is not None and not math.isnan(value) and not math.isinf(value):
            return value
    return None


def metric_value_int(metrics: Mapping[str, float], which: Metric) -> int | None:
    value = metric(metrics, which)
    return None if value is None else int(value)


def metric_source(metrics: Mapping[str, float], which: Metric) -> str | None:
    """The name `which` was read under (its `cardano_node_metrics_` prefix cut), for messages."""
    for name in which.names:
        value = metrics.get(name)
        if value is not None and not math.isnan(value) and not math.isinf(value):
            return name.removeprefix(_P)
    return None


_BUILD_INFO = re.compile(r'^(?:cardano_node_metrics_)?cardano_build_info\{(?:.*,)?\s*version="([^"]+)"')


def running_version(metrics: Mapping[str, float]) -> str | None:
    """The version the *running* node reports: `cardano_build_info{…,version="X.Y.Z",…} 1`
    (Tracers/NodeVersion.hs L110-138; guild env L635 reads the running version the same way; the
    legacy system has `cardano_build_info` too, Tracers.hs L389). None when not exported — the
    binary on disk (`cardano-node --version`) may differ from the process until a restart."""
    for key in metrics:
        m = _BUILD_INFO.match(key)
        if m:
            return m.group(1)
    return None


@dataclass(frozen=True)
class TcpConnection:
    """One line of `ss -Htn[p] state established`."""

    local_address: str
    local_port: int
    peer_address: str
    peer_port: int
    process: str  # "" without -p (or when ss could not see the owner)


def _split_endpoint(text: str) -> tuple[str, int]:
    address, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ParseError(f"not an address:port: {text!r}")
    address = address.strip("[]")
    if "%" in address:  # fe80::1%eth0, 198.18.0.2%veth
        address = address.split("%", 1)[0]
    if address.startswith("::ffff:") and "." in address:
        address = address[len("::ffff:") :]
    return address, int(port)


def parse_ss(text: str) -> list[TcpConnection]:
    """Established TCP connections; with `state established` ss omits the State column."""
    conns: list[TcpConnection] = []
    for raw in text.splitlines():
        fields = raw.split()
        if len(fields) < 4 or fields[0] in ("Recv-Q", "State"):
            continue
        if fields[0].upper() == "ESTAB":  # ss without a state filter prints the state first
            fields = fields[1:]
        if len(fields) < 4 or not fields[0].isdigit() or not fields[1].isdigit():
            continue
        try:
            local, lport = _split_endpoint(fields[2])
            peer, pport = _split_endpoint(fields[3])
        except ParseError:
            continue
        process = " ".join(fields[4:])
        m = re.search(r'users:\(\("([^"]+)"', process)
        conns.append(TcpConnection(local, lport, peer, pport, m.group(1) if m else process))
    return conns


_NOT_NODE_PORTS = frozenset({22, METRICS_PORT, 12788})


def node_peer_addresses(conns: list[TcpConnection], process_name: str = "cardano-node") -> tuple[str, ...]:
    """Peer addresses of the node's own connections, sorted and unique.

    With process info (ss -p as root) only the node's sockets count; without it, SSH and
    metrics sockets and loopback peers are left out — a heuristic, said so here.
    """
    with_process = [c for c in conns if c.process]
    if with_process:
        chosen = [c for c in with_process if process_name in c.process]
    else:
        chosen = [c for c in conns if c.local_port not in _NOT_NODE_PORTS and c.peer_port not in _NOT_NODE_PORTS]
    peers = {c.peer_address for c in chosen if not _is_loopback(c.peer_address)}
    return tuple(sorted(peers))


def _is_loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "localhost")


@dataclass(frozen=True)
class DiskUsage:
    """`df -P PATH` for the filesystem holding the node's database."""

    filesystem: str
    total_bytes: int
    used_bytes: int
    free_bytes: int
    mount_point: str


def parse_df(text: str) -> DiskUsage:
    """POSIX `df -P` output (header gives the block size: 1024-blocks, 512-blocks, 1-blocks, 1K-blocks)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    header_index = next((i for i, ln in enumerate(lines) if ln.startswith("Filesystem")), None)
    if header_index is None or header_index + 1 >= len(lines):
        raise ParseError("df printed no header and data line")
    header = lines[header_index].split()
    m = re.match(r"(\d+)([KMG]?)-blocks", header[1]) if len(header) > 1 else None
    if not m:
        raise ParseError(f"df header has no block size: {lines[header_index]!r}")
    block = int(m.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[m.group(2)]
    # a long device name may wrap onto its own line in some df versions: join the rest
    data = " ".join(lines[header_index + 1 :]).split()
    if len(data) < 6 or not all(x.isdigit() for x in data[1:4]):
        raise ParseError(f"df data line not understood: {' '.join(data)[:120]!r}")
    return DiskUsage(
        filesystem=data[0],
        total_bytes=int(data[1]) * block,
        used_bytes=int(data[2]) * block,
        free_bytes=int(data[3]) * block,
        mount_point=" ".join(data[5:]),
    )


def slot_lag(tip_slot: int, network: str, unix_now: float) -> int:
    """How many slots the tip is behind the wall-clock slot (negative: ahead, e.g. clock skew)."""
    return network_named(network).expected_slot(unix_now) - tip_slot


SyncState = Literal["in-sync", "behind", "out-of-sync"]


def sync_state(lag: int) -> SyncState:
    """gLiveView's words for a lag: in sync within 20 slots, behind up to 600, else out of sync."""
    if lag <= IN_SYNC_SLOTS:
        return "in-sync"
    if lag <= BEHIND_SLOTS:
        return "behind"
    return "out-of-sync"


TopologyFormat = Literal["p2p", "legacy", "legacy-p2p", "unknown"]


def topology_format(topology: Any) -> TopologyFormat:
    """Which of the shapes of docs §1 a parsed topology.json has (for reporting, not validation)."""
    if not isinstance(topology, dict):
        return "unknown"
    if "localRoots" in topology or "publicRoots" in topology:
        return "p2p"
    if "LocalRoots" in topology or "PublicRoots" in topology:
        return "legacy-p2p"
    if "Producers" in topology:
        return "legacy"
    return "unknown"


def hot_peer_count(metrics: Mapping[str, float], established: Sequence[str]) -> tuple[int, str]:
    """(hot peers, where the count comes from): the node's own hot-peer metric, either naming
    (Metric.HOT_PEERS; P2P mode), else its established node-to-node connections (a non-P2P node,
    metrics off, or a node that has not set the metric yet)."""
    hot = metric_value_int(metrics, Metric.HOT_PEERS)
    source = metric_source(metrics, Metric.HOT_PEERS)
    if hot is not None and source is not None:
        return hot, source
    return len(established), "established node connections"


def enable_p2p(config: Any, version: str | None = None) -> bool | None:
    """Whether the node runs P2P with a parsed config.json; None: no config. With `version`, as that
    catalogued release reads it (absent EnableP2P = false up to 10.5, key ignored and P2P always from
    10.6: cardano/releases/); without, as the 8.x releases read it (absent means false)."""
    if not isinstance(config, dict):
        return None
    if version is not None:
        from orchestrator.cardano.releases import p2p_mode

        return p2p_mode(version, config)
    return config.get("EnableP2P") is True
