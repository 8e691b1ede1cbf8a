"""The lab's simulated cardano-node and cardano-cli (stdlib only: hosts have a bare /usr/bin/python3).

It behaves like the real binaries where the orchestrator can observe them: `--version`, the
startup checks of its version (orchestrator.cardano.node_rules), a database whose tip persists,
syncing from reachable peers toward the wall-clock slot, `cardano-cli query tip` on the node
socket, Prometheus text, SIGHUP re-reading the topology in P2P mode, and fault switches.

Files and environment (the lab's contract):
- `<db>/lab-tip.json`   {"slot", "block", "hash"}: the persisted tip (atomic writes).
- `<db>/lab-seed.json`  {"slot": N}: optional, read only when there is no tip yet; without it a
  fresh node starts CARDANO_LAB_INITIAL_LAG_SLOTS (default 2000) behind the wall-clock slot.
- `<db>/lock`           held (flock) while a node runs on that database.
- CARDANO_LAB_FAULTS (default /etc/cardano-lab/faults.json), CARDANO_LAB_SYNC_SLOTS_PER_SEC
  (default 200), CARDANO_LAB_STARTUP_SECONDS (default 2.0), CARDANO_LAB_NETWORK (override the
  network read from the config's genesis), CARDANO_LAB_CHAIN_SOURCE=1 (or `--lab-chain-source`).
Peer protocol on the node port (one TCP connection per peer, kept open, so `ss -tn` shows it):
  "hello <magic> <version>\\n" -> "ok\\n" | "refused <why>\\n"; then "tip\\n" -> "tip <slot>\\n".
Local protocol on the unix socket: "tip <magic>\\n" -> one JSON line (the tip, or {"error": ...}).
The light cardano-cli (cli_standin.py) asks on the same socket with "cli\\0..." and gets the
answer ready to print (light_cli_reply; the protocol is in cli_standin's docstring).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.cardano import networks, node_rules, releases
from orchestrator.cardano.releases import CLI_VERSIONS, NODE_GIT_REVS
from orchestrator.cardano.releases import cli as release_cli
from orchestrator.cardano.releases import forks as release_forks
from orchestrator.lab import cli_standin, dispatcher, forging, immutable_db, ledger_db

if TYPE_CHECKING:  # http.server costs ~50 ms to import: only the node imports it, when it serves metrics
    from http.server import ThreadingHTTPServer

SYNC_TOLERANCE_SECONDS = 600  # the CLI's syncProgress tolerance

DEFAULT_FAULTS_PATH = "/etc/cardano-lab/faults.json"
TIP_FILE = "lab-tip.json"
SEED_FILE = "lab-seed.json"
FAULT_NAMES = ("crash_at_start", "never_sync", "slow_start", "ignore_stop", "replay_stalls", "kes_low", "dies_after",
               forging.FAULT)
# A block producer's KES, as cardano-node 8.9.0 exports it once it forges (the forge-state metrics:
# remaining = max 0 (expiry - current)): 36-h periods (slotsPerKESPeriod 129600 x 1 s slots) and a
# certificate valid for maxKESEvolutions 62 of them (the public networks' Shelley genesis).
SLOTS_PER_KES_PERIOD = 129600
MAX_KES_EVOLUTIONS = 62
DEFAULT_KES_PERIODS_LEFT = 52  # a certificate rotated about two weeks ago
CLEAN_MARKER = "clean"  # ouroboros-consensus writes <db>/clean on a clean shutdown, removes it at start


# ------------------------------------------------------------------ chain arithmetic


def network_magic(name: str) -> int:
    return networks.network(name).protocol_magic


def block_of(slot: int) -> int:
    """About one block every 20 slots, as on the real chains."""
    return slot // 20


def hash_of(network: str, slot: int) -> str:
    """A deterministic block hash: the same slot always has the same hash on one network."""
    return hashlib.blake2b(f"{network}:{slot}".encode(), digest_size=32).hexdigest()


def system_start(network: str) -> int:
    """Unix time of slot 0 (cardano/networks.py)."""
    return networks.network(network).system_start_unix


def slot_time(network: str, slot: int) -> int:
    """Seconds since system start at which `slot` begins."""
    net = networks.network(network)
    return net.slot_start_unix(slot) - net.system_start_unix


def epoch_info(network: str, slot: int) -> tuple[int, int, int]:
    """(epoch, slotInEpoch, slotsToEpochEnd)."""
    return networks.network(network).epoch_of(slot)


def sync_progress(network: str, slot: int, now: float) -> str:
    """The CLI's figure: min(tip + 600 s, now) / now * 100, in whole seconds since system start
    (+1 on both sides, which keeps a genesis tip from dividing by zero)."""
    tip_s = slot_time(network, slot) + 1
    now_s = int(now) - system_start(network) + 1
    if now_s <= 0:
        return "100.00"
    return f"{min(tip_s + SYNC_TOLERANCE_SECONDS, now_s) / now_s * 100.0:.2f}"


def tip_json(network: str, slot: int, now: float, era: str = "Babbage") -> dict[str, Any]:
    """`cardano-cli query tip` output for a tip at `slot`, keys in the CLI's (sorted) order
    (cardano/releases/cli.py TIP_KEYS); `era`: the chain's era as the node's release sees it
    (`releases.forks.chain_era`)."""
    epoch, into, to_end = epoch_info(network, slot)
    return {
        "block": block_of(slot),
        "epoch": epoch,
        "era": era,
        "hash": hash_of(network, slot),
        "slot": slot,
        "slotInEpoch": into,
        "slotsToEpochEnd": to_end,
        "syncProgress": sync_progress(network, slot, now),
    }


# ------------------------------------------------------------------ small helpers


class Scribes:
    """Where and how the node logs, as its config.json's iohk-monitoring scribes say (legacy tracing,
    the default of 8.7.3/8.9.0): `defaultScribes` [[kind, name]], each formatted per the `scFormat`
    of its `setupScribes` entry. StdoutSK writes to stdout (the unit's journal); FileSK appends to the
    file `name` (relative to the working directory). ScText lines look like
    `[host:cardano.node.ChainDB:Info:5] [2024-09-03 12:11:09.26 UTC] message`; ScJson ones carry the
    event in "data" with its "kind" (orchestrator.cardano.startup lists the sources)."""

    def __init__(self, config: dict[str, Any] | None = None, version: str = "") -> None:
        self.targets: list[tuple[str, str, str]] = [("StdoutSK", "stdout", "ScText")]  # before config is read
        self.env = f"{version}:{NODE_GIT_REVS.get(version, '')[:8]}"
        self.lock = threading.Lock()
        if config is None:
            return
        if config.get("TurnOnLogging") is False:
            self.targets = []
            return
        formats: dict[tuple[str, str], str] = {}
        for spec in config.get("setupScribes") or []:
            if isinstance(spec, dict):
                formats[(str(spec.get("scKind")), str(spec.get("scName")))] = str(spec.get("scFormat", "ScText"))
        targets = []
        for entry in config.get("defaultScribes") or []:
            if isinstance(entry, list) and len(entry) == 2 and entry[0] in ("StdoutSK", "FileSK"):
                kind, name = str(entry[0]), str(entry[1])
                targets.append((kind, name, formats.get((kind, name), "ScText")))
        self.targets = targets

    def write(self, ns: str, severity: str, message: str, data: dict[str, Any] | None) -> None:
        now = time.time()
        host = socket.gethostname()
        thread = str(threading.get_ident() % 1000)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f".{int(now * 100) % 100:02d}"
        text = f"[{host}:cardano.node.{ns}:{severity}:{thread}] [{stamp} UTC] {message}"
        obj = {
            "app": [], "at": stamp.replace(" ", "T") + "Z",
            "data": data if data is not None else {"kind": "LogMessage", "message": message},
            "env": self.env, "host": host, "loc": None, "msg": "" if data is not None else message,
            "ns": [f"cardano.node.{ns}"], "pid": str(os.getpid()), "sev": severity, "thread": thread,
        }  # fmt: skip
        with self.lock:
            for kind, name, fmt in self.targets:
                line = json.dumps(obj, separators=(",", ":")) if fmt == "ScJson" else text
                if kind == "StdoutSK":
                    print(line, flush=True)
                    continue
                with contextlib.suppress(OSError):
                    os.makedirs(os.path.dirname(os.path.abspath(name)), exist_ok=True)
                    with open(name, "a", encoding="utf-8") as handle:
                        handle.write(line + "\n")


_SCRIBES = Scribes()


def _log(component: str, message: str, severity: str = "Info", data: dict[str, Any] | None = None) -> None:
    _SCRIBES.write(component, severity, message, data)


class Dispatch:
    """The new tracing system's stdout (10.6+/11.x with UseTraceDispatcher, or its default): each
    message passes the config's severity for its namespace, then is written in the one stdout form
    the config's root backends select (lab/dispatcher.py). No `Stdout` backend: nothing on stdout
    (a Forwarder-only config sends its messages to cardano-tracer, which the lab does not run)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.trace_config = dispatcher.TraceConfig(config)
        self.form = self.trace_config.stdout_format
        self.host = dispatcher.short_host(socket.gethostname(), os.environ.get("TRACE_DISPATCHER_LOGGING_HOSTNAME"))
        self.lock = threading.Lock()

    def write(self, ns: str, severity: str, text: str | None, data: dict[str, Any]) -> None:
        if self.form is None or not self.trace_config.passes(ns, severity):
            return
        now = time.time()
        thread = str(threading.get_ident() % 1000)
        if self.form == "MachineFormat":
            line = dispatcher.machine_line(now, ns, data, severity, thread, self.host)
        else:
            coloured = self.form == "HumanFormatColoured"
            line = dispatcher.human_line(now, ns, data, severity, thread, self.host, text, coloured)
        with self.lock:
            print(line, flush=True)


_DISPATCH: Dispatch | None = None


def _trace(ns: str, text: str | None, data: dict[str, Any], severity: str = "Info") -> None:
    """A message of the new tracing system (a no-op on a node running legacy tracing)."""
    if _DISPATCH is not None:
        _DISPATCH.write(ns, severity, text, data)


def _err(program: str, message: str) -> None:
    print(f"{program}: {message}" if program else message, file=sys.stderr, flush=True)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def atomic_write_json(path: str, data: dict[str, Any]) -> None:
    """Temp file in the same directory, fsync, rename: a crash never leaves half a tip."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class Faults:
    """The faults that apply to this binary's version (see module docstring for the file)."""

    crash_at_start: bool = False
    never_sync: bool = False
    slow_start_seconds: float | None = None
    ignore_stop_seconds: float | None = None
    replay_stalls_percent: float | None = None  # the ledger replay stops here; the socket never opens
    kes_periods_left: int | None = None  # kes_low: the operational certificate expires this soon
    dies_after_seconds: float | None = None  # the node crashes this long after its socket came up


def load_faults(version: str, path: str | None = None) -> Faults:
    """A fault applies when its "version" is null/absent or equals the running version."""
    path = path or os.environ.get("CARDANO_LAB_FAULTS", DEFAULT_FAULTS_PATH)
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except (OSError, ValueError):
        return Faults()
    if not isinstance(raw, dict):
        return Faults()

    def applies(name: str) -> dict[str, Any] | None:
        entry = raw.get(name)
        if not isinstance(entry, dict):
            return None
        wanted = entry.get("version")
        return entry if wanted is None or wanted == version else None

    def seconds(entry: dict[str, Any] | None, default: float) -> float | None:
        if entry is None:
            return None
        value = entry.get("seconds", default)
        return float(value) if isinstance(value, int | float) else default

    return Faults(
        crash_at_start=applies("crash_at_start") is not None,
        never_sync=applies("never_sync") is not None,
        slow_start_seconds=seconds(applies("slow_start"), 30.0),
        ignore_stop_seconds=seconds(applies("ignore_stop"), 20.0),
        replay_stalls_percent=_percent(applies("replay_stalls")),
        kes_periods_left=_periods(applies("kes_low")),
        dies_after_seconds=seconds(applies("dies_after"), 30.0),
    )


def _periods(entry: dict[str, Any] | None) -> int | None:
    if entry is None:
        return None
    value = entry.get("periods", 1)
    return max(0, int(value)) if isinstance(value, int | float) else 1


def _percent(entry: dict[str, Any] | None) -> float | None:
    if entry is None:
        return None
    value = entry.get("percent", 37.0)
    return min(99.0, max(0.0, float(value))) if isinstance(value, int | float) else 37.0


def detect_network(config: dict[str, Any], config_path: str) -> str:
    """CARDANO_LAB_NETWORK, else the config's magic requirement and its Shelley genesis magic."""
    forced = os.environ.get("CARDANO_LAB_NETWORK")
    if forced:
        return networks.network(forced).name
    if config.get("RequiresNetworkMagic") == "RequiresNoMagic":
        return "mainnet"
    name = config.get("ShelleyGenesisFile")
    if isinstance(name, str):
        path = os.path.join(os.path.dirname(os.path.abspath(config_path)), name)
        try:
            with open(path, encoding="utf-8") as handle:
                magic = json.load(handle).get("networkMagic")
        except (OSError, ValueError, AttributeError):
            magic = None
        for net in networks.NETWORKS.values():
            if net.magic is not None and net.magic == magic:
                return net.name
    return "mainnet"


def _access_points(value: Any) -> list[tuple[str, int]]:
    points: list[tuple[str, int]] = []
    if isinstance(value, list):
        for ap in value:
            if isinstance(ap, dict) and isinstance(ap.get("address"), str) and isinstance(ap.get("port"), int):
                points.append((ap["address"], int(ap["port"])))
    return points


def topology_peers(topology: dict[str, Any], p2p: bool) -> list[tuple[str, int]]:
    """Every peer the node dials: legacy Producers (valency 0 skipped) or all P2P access points
    (localRoots, publicRoots, bootstrapPeers; the legacy-P2P shape too). Order kept, no duplicates."""
    found: list[tuple[str, int]] = []
    if not p2p:
        for entry in topology.get("Producers") or []:
            if isinstance(entry, dict) and entry.get("valency", 1) != 0:
                found.append((str(entry.get("addr")), int(entry.get("port", 0))))
    else:
        for group in topology.get("localRoots") or []:
            found += _access_points(group.get("accessPoints") if isinstance(group, dict) else None)
        for group in topology.get("publicRoots") or []:
            found += _access_points(group.get("accessPoints") if isinstance(group, dict) else None)
        found += _access_points(topology.get("bootstrapPeers"))
        legacy_local = topology.get("LocalRoots")
        if isinstance(legacy_local, dict):
            for group in legacy_local.get("groups") or []:
                roots = group.get("localRoots") if isinstance(group, dict) else None
                found += _access_points(roots.get("accessPoints") if isinstance(roots, dict) else None)
        for group in topology.get("PublicRoots") or []:
            roots = group.get("publicRoots") if isinstance(group, dict) else None
            found += _access_points(roots.get("accessPoints") if isinstance(roots, dict) else None)
    return list(dict.fromkeys(found))


# ------------------------------------------------------------------ the node


class PeerLink(threading.Thread):
    """One outbound (hot) peer connection, re-dialled every second while unreachable."""

    # A tip at most a second old is enough (a node in sync moves one slot a second); polling every
    # 0.2 s made 32 idle relays, each linked to every sibling, burn a whole core of the lab machine.
    POLL_SECONDS = 1.0

    def __init__(self, node: SimNode, address: str, port: int) -> None:
        super().__init__(name=f"peer-{address}:{port}", daemon=True)
        self.node = node
        self.address = address
        self.port = port
        self.tip: int | None = None
        self.connected = False
        self._stop_event = threading.Event()
        self._sock: socket.socket | None = None

    def close(self) -> None:
        self._stop_event.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _dial(self) -> socket.socket:
        last: OSError = OSError(f"cannot resolve {self.address}")
        for family, kind, proto, _name, addr in socket.getaddrinfo(self.address, self.port, type=socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            sock.settimeout(1.0)
            try:
                sock.connect(addr)
                return sock
            except OSError as exc:
                sock.close()
                last = exc
        raise last

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                sock = self._dial()
            except OSError:
                self._stop_event.wait(1.0)
                continue
            self._sock = sock
            try:
                sock.settimeout(3.0)
                reader = sock.makefile("r", encoding="ascii", newline="\n")
                sock.sendall(f"hello {self.node.magic} {self.node.version}\n".encode())
                if not reader.readline().startswith("ok"):
                    raise OSError("handshake refused")
                self.connected = True
                while not self._stop_event.is_set():
                    sock.sendall(b"tip\n")
                    words = reader.readline().split()
                    if len(words) != 2 or words[0] != "tip":
                        raise OSError("peer closed")
                    self.tip = int(words[1])
                    self._stop_event.wait(self.POLL_SECONDS)
            except (OSError, ValueError):
                pass
            finally:
                self.connected = False
                self.tip = None
                self._sock = None
                sock.close()
            self._stop_event.wait(1.0)


@dataclass(frozen=True)
class RunOptions:
    config: str
    topology: str
    database: str
    socket_path: str
    host_addr: str
    port: int
    block_producer: bool  # key flags were given; the files are never opened
    chain_source: bool
    non_producing: bool = False  # --start-as-non-producing-node (or the deprecated --non-producing-node)
    credentials: tuple[str, ...] = ()  # the key files the command line names (stat-ed on SIGHUP, never opened)


class SimNode:
    """One running node: tip, listeners, peer links, metrics; driven by `serve`."""

    def __init__(self, version: str, opts: RunOptions, check: node_rules.StartupCheck, faults: Faults) -> None:
        assert check.config is not None and check.topology is not None
        self.version = version
        self.opts = opts
        self.p2p = check.p2p
        self.topology = check.topology
        self.config = check.config
        self.network = detect_network(check.config, opts.config)
        self.magic = network_magic(self.network)
        self.faults = faults
        self.speed = _env_float("CARDANO_LAB_SYNC_SLOTS_PER_SEC", 200.0)
        self.lock = threading.Lock()
        self.slot = 0.0
        self.ready = False
        self.links: dict[tuple[str, int], PeerLink] = {}
        self.inbound: set[socket.socket] = set()
        self.stop_requested = threading.Event()
        self.hup_requested = threading.Event()
        self.started_at = int(time.time())
        self._listeners: list[socket.socket] = []
        self._metrics: ThreadingHTTPServer | None = None
        self._lock_file: Any = None
        self.dirty = False
        # The tracing system this release runs with this config (its catalogue record).
        self.new_tracing = releases.lookup(version).runs_new_tracing(check.config)
        self.replay_progress: float | None = None  # blockReplayProgress (new tracing), absolute slots
        self.ready_slot: int | None = None  # the tip when the socket came up
        # Forging, its SIGHUP reload and its per-slot record (lab/forging.py).
        self.forging = forging.Forging.at_start(opts.credentials, opts.non_producing,
                                                os.path.join(opts.database, forging.RECORD_FILE))  # fmt: skip

    # -- database

    def _tip_path(self) -> str:
        return os.path.join(self.opts.database, TIP_FILE)

    def open_database(self) -> str | None:
        """Lock the db and load the tip; an error text when another node holds it."""
        os.makedirs(self.opts.database, exist_ok=True)
        self._lock_file = open(os.path.join(self.opts.database, "lock"), "a+")  # noqa: SIM115 - held for the run
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return f'DbLocked "{os.path.join(self.opts.database, "lock")}"'  # wording UNCONFIRMED
        marker = os.path.join(self.opts.database, CLEAN_MARKER)
        # A database that holds a chain but no clean marker was not shut down cleanly (killed).
        self.dirty = os.path.exists(self._tip_path()) and not os.path.exists(marker)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(marker)
        expected = networks.network(self.network).expected_slot(time.time())
        slot: int | None = None
        for name in (TIP_FILE, SEED_FILE):
            try:
                with open(os.path.join(self.opts.database, name), encoding="utf-8") as handle:
                    value = json.load(handle).get("slot")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(value, int) and value >= 0:
                slot = value
                break
        if slot is None:
            slot = max(0, expected - int(_env_float("CARDANO_LAB_INITIAL_LAG_SLOTS", 2000)))
        self.slot = float(slot)
        return None

    def open_ledger(self, slot: int) -> ledger_db.Opening:
        """Open <db>/ledger/ as this release does (lab/ledger_db.py): the snapshot it replays from."""
        return ledger_db.open_ledger(self.opts.database, self.version, slot, immutable_db.tip(self.opts.database))

    def take_snapshot(self) -> None:
        """Write this release's ledger snapshot at the immutable tip's neighbourhood (the lab takes one
        once the Ledger DB is open; the real node by its disk policy)."""
        slot = max(0, self.tip_slot() - 1000 - NEW_TRACING_SNAPSHOT_SLOTS)
        ledger_db.write_snapshot(self.opts.database, self.version, slot)

    def persist(self) -> None:
        slot = self.tip_slot()
        atomic_write_json(
            self._tip_path(), {"slot": slot, "block": block_of(slot), "hash": hash_of(self.network, slot)}
        )
        immutable_db.grow(self.opts.database, self.network, max(0, slot - 1000))  # k blocks behind the tip

    def tip_slot(self) -> int:
        with self.lock:
            return int(self.slot)

    # -- metrics

    def new_metrics(self) -> tuple[list[tuple[str, str, float | int]], list[tuple[str, dict[str, str]]]]:
        """The new tracing system's metrics, by name as the node registers them (the runtime-signals
        doc §2): slot/block/epoch only once a block was added after the start (CDB L704-739), peers
        and connections once diffusion runs, KES once a producer's forging state is known,
        `connectedPeers` where the release exports it, replay progress once replaying."""
        int_, real = dispatcher.MetricKind.INT, dispatcher.MetricKind.DOUBLE
        metrics: list[tuple[str, str, float | int]] = [("node_start_time", int_, self.started_at)]
        forging_now = self.forging.enabled
        metrics.append(("forging_enabled", int_, 1 if forging_now else 0))  # RUN L277-282: set before the replay
        if self.opts.credentials:  # one per leadership check (CON L1612)
            metrics.append(("Forge.about_to_lead", dispatcher.MetricKind.COUNTER, self.forging.checks))
        if self.replay_progress is not None:
            metrics.append(("blockReplayProgress", real, round(self.replay_progress, 4)))
        slot = self.tip_slot()
        if self.ready and self.ready_slot is not None and slot > self.ready_slot:
            epoch, into, _ = epoch_info(self.network, slot)
            metrics += [("slotNum", int_, slot), ("blockNum", int_, block_of(slot)), ("epoch", int_, epoch),
                        ("slotInEpoch", int_, into), ("density", real, 0.05)]  # fmt: skip
        if self.ready:
            lag = networks.network(self.network).expected_slot(time.time()) - slot
            metrics.append(("GSM_state", int_, 2 if lag <= SYNC_TOLERANCE_SECONDS else 1))  # CON L1964-1975
            links = list(self.links.values())
            hot = sum(1 for link in links if link.connected)
            metrics += [
                ("peerSelection.Hot", int_, hot), ("peerSelection.Warm", int_, 0),
                ("peerSelection.Cold", int_, len(links) - hot), ("peerSelection.ActivePeers", int_, hot),
                ("peerSelection.EstablishedPeers", int_, hot),
                ("connectionManager.inboundConns", int_, len(self.inbound)),
                ("connectionManager.outboundConns", int_, hot), ("connectionManager.duplexConns", int_, 0),
            ]  # fmt: skip
            if releases.lookup(self.version).connected_peers_metric:
                metrics.append(("connectedPeers", int_, hot))
            if forging_now:
                metrics += [(name.removeprefix("cardano_node_metrics_").removesuffix("_int"), int_, int(value))
                            for name, value in (line.split() for line in self.kes_metrics())]  # fmt: skip
        build = {"version": self.version, "revision": NODE_GIT_REVS.get(self.version, "")}
        return metrics, [("cardano_build_info", build)]

    def metrics_text(self) -> str:
        if self.new_tracing:
            trace_config = dispatcher.TraceConfig(self.config)
            spec = trace_config.prometheus
            metrics, labelled = self.new_metrics()
            return dispatcher.exposition(trace_config.metrics_prefix, spec is None or spec.suffix, metrics, labelled)
        lines = [f"cardano_node_metrics_nodeStartTime_int {self.started_at}"]
        if self.ready:
            slot = self.tip_slot()
            epoch, into, _ = epoch_info(self.network, slot)
            lines += [
                f"cardano_node_metrics_slotNum_int {slot}",
                f"cardano_node_metrics_blockNum_int {block_of(slot)}",
                f"cardano_node_metrics_epoch_int {epoch}",
                f"cardano_node_metrics_slotInEpoch_int {into}",
                "cardano_node_metrics_density_real 5.0e-2",
            ]
        links = list(self.links.values())
        hot = sum(1 for link in links if link.connected)
        if self.p2p:
            lines += [
                f"cardano_node_metrics_peerSelection_hot {hot}",
                "cardano_node_metrics_peerSelection_warm 0",
                f"cardano_node_metrics_peerSelection_cold {len(links) - hot}",
                f"cardano_node_metrics_connectionManager_incomingConns {len(self.inbound)}",
                f"cardano_node_metrics_connectionManager_outgoingConns {hot}",
                "cardano_node_metrics_connectionManager_duplexConns 0",
            ]
        lines.append(f"cardano_node_metrics_peers_connectedPeers_int {hot}")
        # forging, in the legacy names (runtime-signals doc §2): `forging_enabled` on every node (LEG
        # L374), the Forge counters as `…_int` (GENV L610-614), one leadership check per slot
        lines.append(f"cardano_node_metrics_forging_enabled {1 if self.forging.enabled else 0}")
        if self.opts.credentials:
            lines.append(f"cardano_node_metrics_Forge_about_to_lead_int {self.forging.checks}")
        if self.opts.block_producer and self.ready:
            lines += self.kes_metrics()
        return "\n".join(lines) + "\n"

    def kes_metrics(self) -> list[str]:
        """The forge-state metrics of a producer; the kes_low fault is read at each scrape (a KES
        period passing needs no restart either)."""
        left = load_faults(self.version).kes_periods_left
        left = DEFAULT_KES_PERIODS_LEFT if left is None else left
        current = self.tip_slot() // SLOTS_PER_KES_PERIOD
        start = current - (MAX_KES_EVOLUTIONS - left)
        return [
            f"cardano_node_metrics_currentKESPeriod_int {current}",
            f"cardano_node_metrics_operationalCertificateStartKESPeriod_int {start}",
            f"cardano_node_metrics_operationalCertificateExpiryKESPeriod_int {start + MAX_KES_EVOLUTIONS}",
            f"cardano_node_metrics_remainingKESPeriods_int {left}",
        ]

    def start_metrics(self) -> None:
        spec = _prometheus(self.config)
        content_type = "text/plain; charset=utf-8"
        if self.new_tracing:
            # The PrometheusSimple backend, started before the ChainDB opens (API L85-89).
            simple = dispatcher.TraceConfig(self.config).prometheus
            spec = None if simple is None else (simple.host, simple.port)
            content_type = "text/plain;version=0.0.4"  # TCP L126-140
        if spec is None:
            return
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path.split("?")[0] not in ("/metrics", "/metrics/"):
                    self.send_error(404)
                    return
                body = node.metrics_text().encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
                return

        try:
            server = ThreadingHTTPServer(spec, Handler)
        except OSError as exc:
            _log("metrics", f"Prometheus server could not bind {spec[0]}:{spec[1]}: {exc}", "Error")
            return
        server.daemon_threads = True
        self._metrics = server
        threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()

    # -- listeners

    def start_listeners(self) -> str | None:
        try:
            infos = socket.getaddrinfo(
                self.opts.host_addr, self.opts.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
            family, kind, proto, _n, addr = infos[0]
            tcp = socket.socket(family, kind, proto)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind(addr)
            tcp.listen(64)
        except OSError as exc:
            return f"Network.Socket.bind: {exc.strerror or exc}"
        self._listeners.append(tcp)
        threading.Thread(target=self._accept_peers, args=(tcp,), name="node-port", daemon=True).start()
        path = self.opts.socket_path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        local = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            local.bind(path)
            local.listen(16)
        except OSError as exc:
            local.close()
            return f"Network.Socket.bind: {exc.strerror or exc}"
        self._listeners.append(local)
        threading.Thread(target=self._accept_local, args=(local,), name="node-socket", daemon=True).start()
        return None

    def _accept_peers(self, server: socket.socket) -> None:
        while not self.stop_requested.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve_peer, args=(conn,), daemon=True).start()

    def _serve_peer(self, conn: socket.socket) -> None:
        """Answer a peer: handshake on network magic, then tips for as long as it asks."""
        with conn:
            conn.settimeout(30.0)
            reader = conn.makefile("r", encoding="ascii", newline="\n")
            try:
                words = reader.readline().split()
                if len(words) < 2 or words[0] != "hello":
                    return
                if words[1] != str(self.magic):
                    conn.sendall(b"refused version-data-mismatch\n")
                    return
                conn.sendall(b"ok\n")
                self.inbound.add(conn)
                while not self.stop_requested.is_set():
                    line = reader.readline()
                    if line.strip() != "tip":
                        return
                    conn.sendall(f"tip {self.tip_slot()}\n".encode())
            except (OSError, ValueError):
                return
            finally:
                self.inbound.discard(conn)

    def _accept_local(self, server: socket.socket) -> None:
        while not self.stop_requested.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(5.0)
                    line = conn.makefile("rb").readline()
                    if line.startswith(b"cli\0"):
                        conn.sendall(self.light_cli_reply(line.rstrip(b"\n").decode("utf-8", "surrogateescape")))
                        continue
                    words = line.decode("ascii").split()
                    if len(words) == 2 and words[0] == "tip" and words[1] != str(self.magic):
                        reply: dict[str, Any] = {"error": _handshake_refused(int(words[1]), self.magic)}
                    else:
                        slot = self.tip_slot()
                        reply = {"network": self.network, "slot": slot}
                    conn.sendall((json.dumps(reply) + "\n").encode())
                except (OSError, ValueError):
                    continue

    def light_cli_reply(self, line: str) -> bytes:
        """The answer to a light cardano-cli request (cli_standin's docstring): the CLI's own parser
        (cli_query) and rendering (tip_text) for the CLI's release, run here, so the light CLI only
        relays. "full" whenever the full CLI would do something else (another socket, a release
        the lab does not know)."""
        fields = line.split("\0")[1:]
        if len(fields) < 4:
            return b"full\n"
        (version, network_id, socket_env, dialled), argv = fields[:4], fields[4:]
        env = {name: value for name, value in (("CARDANO_NODE_NETWORK_ID", network_id),
               ("CARDANO_NODE_SOCKET_PATH", socket_env)) if value != cli_standin.UNSET}  # fmt: skip
        if version not in NODE_GIT_REVS:
            return b"full\n"
        query = cli_query(argv, env, version)
        if isinstance(query, str):
            return f"err 1\n{query}\n".encode("utf-8", "surrogateescape")
        magic, socket_path, out_file = query
        if socket_path != dialled:
            return b"full\n"
        if magic != self.magic:
            return f"err 1\ncardano-cli: {_handshake_refused(magic, self.magic)}\n".encode()
        body, end = tip_text(version, self.network, self.tip_slot(), time.time())
        if out_file:
            name = out_file.encode("utf-8", "surrogateescape")
            return b"file %d\n" % len(name) + name + body.encode()
        return b"out\n" + (body + end).encode()

    # -- peers

    def set_peers(self, peers: list[tuple[str, int]]) -> None:
        """Dial new peers, close links to peers no longer listed (SIGHUP)."""
        if self.opts.chain_source:
            peers = []
        own = {(self.opts.host_addr, self.opts.port)}
        wanted = [p for p in peers if p not in own]
        for key in list(self.links):
            if key not in wanted:
                self.links.pop(key).close()
        for key in wanted:
            if key not in self.links:
                link = PeerLink(self, *key)
                self.links[key] = link
                link.start()

    def advance(self, dt: float) -> None:
        """Move the tip toward the best reachable peer tip, never past it nor the wall clock."""
        expected = networks.network(self.network).expected_slot(time.time())
        with self.lock:
            if self.opts.chain_source:
                self.slot = float(expected)
                return
            if self.faults.never_sync:
                return
            tips = [link.tip for link in self.links.values() if link.connected and link.tip is not None]
            if not tips:
                return
            target = min(max(tips), expected)
            if target > self.slot:
                self.slot = min(float(target), self.slot + self.speed * dt)

    # -- signals

    def reload_forging(self) -> None:
        """SIGHUP's forging part, before the topology (RUN L690-708): lab/forging.py."""
        path = os.environ.get("CARDANO_LAB_FAULTS", DEFAULT_FAULTS_PATH)
        update = self.forging.reload(self.ready, forging.update_error_fault(self.version, path))
        text = forging.update_text(update)
        if update is forging.Update.ERROR:
            _trace("Startup.BlockForgingUpdateError", text, {"kind": "BlockForgingUpdateError", "error": text}, "Error")
            _log("Startup", text, "Error")
            return
        _trace("Startup.BlockForgingUpdate", text, {"kind": "BlockForgingUpdate", "enabled": update.value})
        _log("Startup", text)

    def check_leadership(self) -> None:
        """One leadership check per wall-clock slot while forging (CON L1444), recorded per slot."""
        slot = networks.network(self.network).expected_slot(time.time())
        for checked in self.forging.tick(slot):
            data = {"kind": "TraceStartLeadershipCheck", "slot": checked}
            _trace("Forge.Loop.StartLeadershipCheck", f"Checking for leadership in slot {checked}", data)
            _log("ForgeTracer", f"Checking for leadership in slot {checked}", data=data)

    def reload_topology(self) -> None:
        if not self.p2p:
            _log(
                "TracePublicRootPeers",
                "SIGHUP received; the topology is re-read only when EnableP2P is true: ignored",
                "Notice",
            )
            return
        try:
            with open(self.opts.topology, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            _log(
                "TracePublicRootPeers",
                f"Topology file re-read on SIGHUP failed: {exc}; keeping the old topology",
                "Error",
            )
            return
        errors, warnings = node_rules.check_topology(self.version, True, text)
        for warning in warnings:
            _log("TracePublicRootPeers", warning, "Warning")
        if errors:
            _log(
                "TracePublicRootPeers",
                "Topology file re-read on SIGHUP is invalid; keeping the old topology: " + " ".join(errors),
                "Error",
            )
            return
        self.topology = json.loads(text)
        peers = topology_peers(self.topology, True)
        self.set_peers(peers)
        listed = ", ".join(f"{a}:{p}" for a, p in peers) or "none"
        _log(
            "TracePublicRootPeers",
            f"TracePublicRootPeers Topology file re-read on SIGHUP: peers {listed}",
            "Notice",
        )

    def shutdown(self) -> None:
        for link in self.links.values():
            link.close()
        for sock in self._listeners:
            with contextlib.suppress(OSError):
                sock.close()
        for conn in list(self.inbound):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._metrics is not None:
            self._metrics.shutdown()
            self._metrics.server_close()
        if self.ready:
            with contextlib.suppress(OSError):
                os.unlink(self.opts.socket_path)
        self.persist()


def _prometheus(config: dict[str, Any]) -> tuple[str, int] | None:
    spec = config.get("hasPrometheus")
    if isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], int):
        return spec[0], spec[1]
    return None


def _handshake_refused(client_magic: int, node_magic: int) -> str:
    # Shape of the real message; the exact NodeToClient version shown is UNCONFIRMED.
    def data(magic: int) -> str:
        return f"NodeToClientVersionData {{networkMagic = NetworkMagic {{unNetworkMagic = {magic}}}, query = False}}"

    mismatch = f"version data mismatch: {data(client_magic)} /= {data(node_magic)}"
    return f'HandshakeError (Refused NodeToClientV_16 "{mismatch}")'


# ------------------------------------------------------------------ argument parsing


_RUN_VALUE_FLAGS = {
    "--config": "config",
    "--topology": "topology",
    "--database-path": "database",
    "--socket-path": "socket_path",
    "--host-addr": "host_addr",
    "--host-ipv6-addr": "host_ipv6_addr",
    "--port": "port",
    "--shelley-kes-key": "kes",
    "--shelley-vrf-key": "vrf",
    "--shelley-operational-certificate": "opcert",
    "--byron-delegation-certificate": "byron_cert",
    "--byron-signing-key": "byron_key",
    "--tracer-socket-path-connect": "tracer",
    "--tracer-socket-path-accept": "tracer",
    "--mempool-capacity-override": "mempool",
    "--start-as-non-producing-node": None,
}
_RUN_SWITCHES = (
    "--validate-db",
    "--no-mempool-capacity-override",
    "--lab-chain-source",
    "--non-producing-node",
)


def _parse_run(argv: list[str]) -> RunOptions | str:
    values: dict[str, str] = {}
    switches: set[str] = set()
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, _, inline = arg.partition("=")
        if name in _RUN_SWITCHES or name == "--start-as-non-producing-node":
            switches.add(name)
            i += 1
            continue
        if name not in _RUN_VALUE_FLAGS:
            return f"Invalid option `{arg}'"
        if inline:
            value = inline
            i += 1
        elif i + 1 < len(argv):
            value = argv[i + 1]
            i += 2
        else:
            return f"The option `{name}` expects an argument."
        key = _RUN_VALUE_FLAGS[name]
        if key is not None:
            values[key] = value
    for flag, key in (
        ("--config", "config"),
        ("--topology", "topology"),
        ("--database-path", "database"),
        ("--socket-path", "socket_path"),
    ):
        if key not in values:
            return f"Missing: {flag} FILEPATH"
    try:
        port = int(values.get("port", "3001"))
    except ValueError:
        return f"option --port: cannot parse value `{values['port']}'"
    chain_source = "--lab-chain-source" in switches or os.environ.get("CARDANO_LAB_CHAIN_SOURCE", "") not in (
        "",
        "0",
    )
    return RunOptions(
        config=values["config"],
        topology=values["topology"],
        database=values["database"],
        socket_path=values["socket_path"],
        host_addr=values.get("host_addr", "0.0.0.0"),
        port=port,
        block_producer=any(k in values for k in ("kes", "vrf", "opcert")),
        credentials=tuple(values[k] for k in ("kes", "vrf", "opcert") if k in values),
        chain_source=chain_source,
        non_producing=bool(switches & {"--start-as-non-producing-node", "--non-producing-node"}),
    )


# ------------------------------------------------------------------ entry points


VERSION_ARGV: dict[str, tuple[list[str], ...]] = {
    "cardano-node": (["--version"], ["version"], ["-v"]),
    "cardano-cli": (["--version"], ["version"]),
}


# What the lab's cardano-cli answers to --version for a release whose CLI version the catalogue has
# not confirmed (cli_version None): it says so instead of inventing one (the facts probe records it
# as that host's cli_version error).
UNCATALOGUED_CLI = "cardano-cli: this release's cardano-cli version is not in the catalogue (lab stand-in)"


def version_text(program: str, version: str) -> str:
    """What `<program> --version` prints for the release `version` (without the final newline)."""
    if program == "cardano-cli" and version not in CLI_VERSIONS:
        return UNCATALOGUED_CLI
    shown = version if program == "cardano-node" else CLI_VERSIONS[version]
    return f"{program} {shown} - linux-x86_64 - ghc-8.10\ngit rev {NODE_GIT_REVS[version]}"


def process_name(name: str) -> None:
    """Name this process `name` as the kernel shows it (comm: `ss -p`, `ps`, `pgrep`), as an exec of a
    binary of that name would: the release's binary starts the interpreter from a few lines of sh
    (lab/releases.py), so without this the process is `python3`, and the facts probe, which counts
    the sockets of the process named cardano-node (cardano/health.py), would see no peers. Linux
    prctl(PR_SET_NAME) of the calling (main) thread; where it is not available the name stays."""
    with contextlib.suppress(OSError, AttributeError, ImportError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(15, name.encode()[:15], 0, 0, 0)  # 15: PR_SET_NAME


def _version_forms(tool: str, version: str, argv: list[str]) -> tuple[int | None, list[str]]:
    """What both binaries do first: refuse a release the lab does not know (exit 1), drop the RTS
    options, answer `--version`/`version` (exit 0). (None, the remaining argv) otherwise."""
    if version not in NODE_GIT_REVS:
        _err(tool, f"lab: unsupported version {version}")
        return 1, argv
    argv = cli_standin.strip_rts(argv)
    if argv in VERSION_ARGV[tool]:
        print(version_text(tool, version))
        return 0, argv
    return None, argv


def node_main(version: str, argv: list[str]) -> int:
    """`cardano-node` of `version`: --version, version, run."""
    process_name("cardano-node")
    done, argv = _version_forms("cardano-node", version, argv)
    if done is not None:
        return done
    if not argv or argv[0] != "run":
        _err("", "Usage: cardano-node (run | version) [--version]")
        return 1
    opts = _parse_run(argv[1:])
    if isinstance(opts, str):
        _err(
            "",
            f"{opts}\n\nUsage: cardano-node run --topology FILEPATH --database-path FILEPATH\n"
            "                         --socket-path FILEPATH --config NODE-CONFIGURATION [--port PORT] ...",
        )
        return 1
    check = node_rules.check_node_files(version, opts.config, opts.topology)
    for warning in check.warnings:
        _log("startup", warning, "Warning")
    if not check.ok or check.config is None or check.topology is None:
        # The node stops at its first failure and prints that one, in its own words.
        _err("", node_rules.node_words(check.errors[0]) if check.errors else "cannot start")
        return 1
    faults = load_faults(version)
    if faults.crash_at_start:
        _err("cardano-node", "lab fault crash_at_start: the node crashed at startup")
        return 1
    return _run(version, opts, check, faults)


# ------------------------------------------------------------------ the start, time-compressed

CHUNK_SLOTS = networks.BYRON_EPOCH_SLOTS  # one ImmutableDB chunk per Byron-epoch-sized span of slots, as on mainnet
DIRTY_FACTOR = 4.0  # a start after a kill validates every chunk: several times an ordinary start


GENESIS_FACTOR = 3.0  # a lab replay from genesis against the lab's ordinary start (startup_timing)


@dataclass(frozen=True)
class StartupTiming:
    """Seconds for each phase of a start; the shares follow mainnet restarts, where the ledger
    replay dominates (IntersectMBO/cardano-node#5884, #2564)."""

    validate: float
    replay: float
    select: float
    full_validation: bool = False
    stall_at: float | None = None  # replay_stalls: the replay stops at this percentage
    genesis_replay: float = 0.0  # a replay from genesis (no snapshot this release reads: lab/ledger_db.py)

    @property
    def total(self) -> float:
        return self.validate + self.replay + self.select


def startup_timing(faults: Faults, dirty: bool) -> StartupTiming:
    """CARDANO_LAB_STARTUP_SECONDS (whole start; default 2.0), split 10% chunk validation, 70% ledger
    replay, 20% initial chain selection; slow_start makes the replay itself last its seconds; a dirty
    database validates every chunk, DIRTY_FACTOR times the ordinary start. A replay from genesis
    lasts CARDANO_LAB_GENESIS_REPLAY_SECONDS (default GENESIS_FACTOR times the ordinary start, at
    least 5 s): time-compressed, as the whole lab is, but noticeably longer than a start — on
    mainnet it is hours against minutes (cardano/crossing.py GENESIS_REPLAY_REPORTS)."""
    total = max(0.0, _env_float("CARDANO_LAB_STARTUP_SECONDS", 2.0))
    validate, replay, select = 0.1 * total, 0.7 * total, 0.2 * total
    if faults.slow_start_seconds is not None:
        replay = faults.slow_start_seconds
    if dirty:
        validate = DIRTY_FACTOR * max(total, 1.0)
    genesis = max(0.0, _env_float("CARDANO_LAB_GENESIS_REPLAY_SECONDS", max(5.0, GENESIS_FACTOR * total)))
    return StartupTiming(validate, replay, select, dirty, faults.replay_stalls_percent, max(genesis, replay))


def _disk_snapshot(name: str) -> str:
    """`show` of a DiskSnapshot named `name` (<slot>[_suffix])."""
    slot, _, suffix = name.partition("_")
    return f"DiskSnapshot {{dsNumber = {slot}, dsSuffix = {f'Just {chr(34)}{suffix}{chr(34)}' if suffix else 'Nothing'}}}"


def _point(network: str, slot: int) -> str:
    return f"{hash_of(network, slot)} at slot {slot}"


def boot(node: SimNode, timing: StartupTiming) -> bool:
    """Log the ChainDB opening as the real node does, taking `timing`'s seconds; False when a stop
    request came first (or never, for a stalled replay, until one does)."""
    stop = node.stop_requested
    tip = node.tip_slot()
    net = node.network
    chunks = max(1, tip // CHUNK_SLOTS)
    imm_tip = max(0, tip - 1000)
    snapshot = max(0, imm_tip - 6000)

    def wait(seconds: float) -> bool:
        return not stop.wait(max(0.0, seconds))

    def chain(message: str, kind: str, **data: Any) -> None:
        _log("ChainDB", message, data={"kind": kind, **data})

    def ticks(seconds: float) -> int:
        return max(1, min(200, int(seconds / 0.5)))  # a progress line about every half second

    chain("Started opening Chain DB", "TraceOpenEvent.StartedOpeningDB")
    chain("Started opening Immutable DB", "TraceOpenEvent.StartedOpeningImmutableDB")
    first = 0 if timing.full_validation else chunks
    steps = ticks(timing.validate) if timing.full_validation else 1
    for i in range(steps):
        n = first + (chunks - first) * i // steps
        chain(
            f"Validating chunk no. {n} out of {chunks}. Progress: {100.0 * n / (chunks + 1):.2f}%",
            "TraceImmutableDBEvent.StartedValidatingChunk",
            initialChunk=n,
            finalChunk=chunks,
        )
        if not wait(timing.validate / steps):
            return False
    chain(
        f"Validated chunk no. {chunks} out of {chunks}. Progress: 100.00%",
        "TraceImmutableDBEvent.ValidatedChunk",
        chunkNo=str(chunks),
    )
    chain(
        f"Found a valid last location at chunk {chunks} with tip {hash_of(net, imm_tip)}@{imm_tip}.",
        "TraceImmutableDBEvent.ValidatedLastLocation",
        chunkNo=str(chunks),
        immTip=hash_of(net, imm_tip),
    )
    chain(
        f"Opened imm db with immutable tip at {_point(net, imm_tip)} and chunk {chunks}",
        "TraceOpenEvent.OpenedImmutableDB",
        immtip=imm_tip,
        epoch=chunks,
    )
    chain("Started opening Volatile DB", "TraceOpenEvent.StartedOpeningVolatileDB")
    chain("Opened vol db", "TraceOpenEvent.OpenedVolatileDB")
    chain("Started opening Ledger DB", "TraceOpenEvent.StartedOpeningLgrDB")
    opening = node.open_ledger(snapshot)
    for name, reason in [*opening.skipped, *opening.deleted]:  # legacy form UNCONFIRMED (the new one: CDB L1731)
        chain(f"Invalid snapshot {_disk_snapshot(name)} {reason}", "TraceSnapshotEvent.InvalidSnapshot")
    if opening.snapshot is None:
        snapshot, seconds = 0, timing.genesis_replay
        chain("Replaying ledger from genesis", "TraceLedgerReplayEvent.ReplayFromGenesis")
    else:
        snapshot, seconds = min(opening.snapshot.slot, imm_tip), timing.replay  # the one it opened
        chain(
            f"Replaying ledger from snapshot at {_point(net, snapshot)}",
            "TraceLedgerReplayEvent.ReplayFromSnapshot",
            snapshot={"kind": "snapshot", "snapshot": str(snapshot)},
            tip=f"RealPoint {{realPointSlot = SlotNo {snapshot}, realPointHash = {hash_of(net, snapshot)}}}",
        )

    def replayed(slot: int) -> None:
        pct = 100.0 * (slot - snapshot) / max(1, imm_tip - snapshot)
        chain(f"Replayed block: slot {slot} out of {imm_tip}. Progress: {pct:.2f}%",
              "TraceLedgerReplayEvent.ReplayedBlock", slot=slot, tip=imm_tip)  # fmt: skip

    steps = ticks(seconds)
    for i in range(1, steps + 1):
        if timing.stall_at is not None and 100.0 * i / steps > timing.stall_at:
            replayed(snapshot + round((imm_tip - snapshot) * timing.stall_at / 100.0))
            stop.wait()  # that was the last line; the process lives on, silent, and the socket never opens
            return False
        replayed(snapshot + (imm_tip - snapshot) * i // steps)
        if not wait(seconds / steps):
            return False
    chain("Opened lgr db", "TraceOpenEvent.OpenedLgrDB")
    chain("Started initial chain selection", "TraceFollowerEvent.StartedInitChainSelection")
    steps = ticks(timing.select)
    for i in range(steps + 1):
        slot = imm_tip + 1 + (tip - imm_tip - 1) * i // steps
        pct = 100.0 * (slot - imm_tip - 1) / max(1, tip - imm_tip - 1)
        chain(
            f"Pushing ledger state for block {_point(net, slot)}. Progress: {pct:.2f}%",
            "TraceAddBlockEvent.AddBlockValidation.UpdateLedgerDbTraceEvent.StartedPushingBlockToTheLedgerDb",
            startingBlock=f"{hash_of(net, imm_tip + 1)}@{imm_tip + 1}",
            currentBlock=f"{hash_of(net, slot)}@{slot}",
            targetBlock=f"{hash_of(net, tip)}@{tip}",
        )
        if i < steps and not wait(timing.select / steps):
            return False
    chain(f"Valid candidate at tip {_point(net, tip)}", "TraceInitChainSelEvent.ValidCandidate", block=str(tip))
    chain("Initial chain selected", "TraceFollowerEvent.InitalChainSelected")
    chain(
        f"Opened db with immutable tip at {_point(net, imm_tip)} and tip {_point(net, tip)}",
        "TraceOpenEvent.OpenedDB",
        immtip=str(imm_tip),
        tip=str(tip),
    )
    return True


# A new-tracing node's ledger snapshot lies this far behind its immutable tip: 12 SnapshotIntervals
# (4320 slots, the shipped LedgerDB config), so that a replay from it spans ~0.03 pp of absolute
# progress, as the runtime-signals doc's mainnet-shaped example (99.968 → 99.998); legacy nodes keep
# the lab's 6000 slots (their progress is relative to the replay's start anyway).
NEW_TRACING_SNAPSHOT_SLOTS = 12 * 4320
REPLAY_STEP_PP = 0.01  # BRP L117: a LedgerReplay line per 0.01 percentage point of progress


def replay_progress_text(version: str, percent: float) -> str:
    """The `progress` field of ChainDB.ReplayBlock.LedgerReplay as `version` writes it."""
    if releases.lookup(version).replay_progress_two_decimals:
        return f"{percent:.2f}"
    return dispatcher.haskell_show_double(percent)


def replay_lines(version: str, snapshot: int, target: int, slots: list[int]) -> list[tuple[int, float, str]]:
    """(slot, percent, data progress) of each LedgerReplay line a replay from `snapshot` to `target`
    through `slots` emits: percent = 100·slot/target on absolute slots (BRP L38-40), a line each time
    it has moved 0.01 pp or more since the last one (BRP L117)."""
    out: list[tuple[int, float, str]] = []
    last: float | None = None
    for slot in slots:
        percent = 100.0 * slot / max(1, target)
        if last is None or percent - last >= REPLAY_STEP_PP:
            out.append((slot, percent, replay_progress_text(version, percent)))
            last = percent
    return out


def boot_new(node: SimNode, timing: StartupTiming) -> bool:
    """The ChainDB opening as a new-tracing node logs it (runtime-signals doc §1.3, rows 0-14, at the
    severities the config lets through); `boot`'s contract otherwise. Initial chain selection's
    progress is Debug (CDB L1284-1315) and its `Pushing ledger state` lines are never written."""
    stop = node.stop_requested
    tip = node.tip_slot()
    net = node.network
    chunks = max(1, tip // CHUNK_SLOTS)
    imm_tip = max(0, tip - 1000)
    snapshot = max(0, imm_tip - NEW_TRACING_SNAPSHOT_SLOTS)

    def wait(seconds: float) -> bool:
        return not stop.wait(max(0.0, seconds))

    def chain(ns: str, text: str | None, kind: str, **data: Any) -> None:
        _trace(f"ChainDB.{ns}", text, {"kind": kind, **data})

    def ticks(seconds: float) -> int:
        return max(1, min(200, int(seconds / 0.5)))

    if node.dirty:  # OCR L110: no <db>/clean marker, logged before the opening it belongs to
        chain("LastShutdownUnclean", "ChainDB is not clean. Validating all immutable chunks", "LastShutdownUnclean")
    chain("OpenEvent.StartedOpeningDB", "Started opening Chain DB", "StartedOpeningDB")
    chain("OpenEvent.StartedOpeningImmutableDB", "Started opening Immutable DB", "StartedOpeningImmutableDB")
    # A clean start validates the last chunk only (OCV L168-170); an unclean one 0…M (OCN L518-524).
    first = 0 if timing.full_validation else chunks
    steps = ticks(timing.validate) if timing.full_validation else 1
    numbers = sorted({first + (chunks - first) * i // steps for i in range(steps)} | {chunks})
    for n in numbers:
        chain("ImmDbEvent.ChunkValidation.StartedValidatingChunk",
              f"Validating chunk no. {n} out of {chunks}. Progress: {100.0 * n / (chunks + 1):.2f}%",
              "TraceImmutableDBEvent.StartedValidatingChunk", initialChunk=str(n), finalChunk=str(chunks))  # fmt: skip
        if not wait(timing.validate / len(numbers)):
            return False
        chain("ImmDbEvent.ChunkValidation.ValidatedChunk",
              f"Validated chunk no. {n} out of {chunks}. Progress: {100.0 * (n + 1) / (chunks + 1):.2f}%",
              "TraceImmutableDBEvent.ValidatedChunk", chunkNo=str(n))  # fmt: skip
    imm_hash = hash_of(net, imm_tip)
    chain("ImmDbEvent.ValidatedLastLocation",
          f"Found a valid last location at chunk {chunks} with tip {imm_hash}@{imm_tip}.",
          "TraceImmutableDBEvent.ValidatedLastLocation", chunkNo=str(chunks), immTip=imm_hash,
          blockNo=str(block_of(imm_tip)))  # fmt: skip
    chain("OpenEvent.OpenedImmutableDB",
          f"Opened imm db with immutable tip at {_point(net, imm_tip)} and chunk {chunks}", "OpenedImmutableDB",
          immtip={"kind": "BlockPoint", "slot": imm_tip, "headerHash": imm_hash}, epoch=str(chunks))  # fmt: skip
    chain("OpenEvent.StartedOpeningVolatileDB", "Started opening Volatile DB", "StartedOpeningVolatileDB")
    chain("OpenEvent.OpenedVolatileDB", f"Opened Volatile DB with max slot seen {tip}", "OpenedVolatileDB",
          maxSlotNo=str(tip))  # fmt: skip
    chain("OpenEvent.StartedOpeningLgrDB", "Started opening Ledger DB", "StartedOpeningLgrDB")
    opening = node.open_ledger(snapshot)
    for name, reason in [*opening.skipped, *opening.deleted]:  # Error, logged (CDB L1731-1774)
        chain("LedgerEvent.Snapshot.InvalidSnapshot", f"Invalid snapshot {_disk_snapshot(name)} {reason}",
              "InvalidSnapshot", snapshot={"kind": "snapshot"})  # fmt: skip
    if opening.snapshot is None:
        snapshot, seconds = 0, timing.genesis_replay
        chain("LedgerEvent.Replay.ReplayStart.ReplayFromGenesis", "Replaying ledger from genesis",
              "ReplayFromGenesis")  # fmt: skip
    else:
        snapshot, seconds = min(opening.snapshot.slot, imm_tip), timing.replay  # the one it opened
        snap_point = f"RealPoint {{realPointSlot = SlotNo {snapshot}, realPointHash = {hash_of(net, snapshot)}}}"
        chain("LedgerEvent.Replay.ReplayStart.ReplayFromSnapshot",
              f"Replaying ledger from snapshot {_disk_snapshot(str(snapshot))} at {_point(net, snapshot)}",
              "ReplayFromSnapshot", snapshot={"kind": "snapshot"}, tip=snap_point)  # fmt: skip
    steps = ticks(seconds)
    stall_step = None if timing.stall_at is None else max(0, min(steps, int(steps * timing.stall_at / 100.0)))
    slots = [snapshot + (imm_tip - snapshot) * i // steps for i in range(1, steps + 1)]
    shown = {slot: (pct, text) for slot, pct, text in replay_lines(node.version, snapshot, imm_tip, slots)}
    for i, slot in enumerate(slots, start=1):
        node.replay_progress = 100.0 * slot / max(1, imm_tip)
        if slot in shown:
            pct, text = shown[slot]
            chain("ReplayBlock.LedgerReplay",
                  f"Replayed block: slot {slot} out of {imm_tip}. Progress: {pct:.2f}%",
                  "ReplayBlockStats", progress=text)  # fmt: skip
        if stall_step is not None and i >= stall_step:
            stop.wait()  # the replay stops here, silent; the socket never opens
            return False
        if not wait(seconds / steps):
            return False
    chain("OpenEvent.OpenedLgrDB", "Opened lgr db", "OpenedLgrDB")
    chain("InitChainSelEvent.StartedInitChainSelection", "Started initial chain selection",
          "Follower.StartedInitChainSelection")  # fmt: skip
    if not wait(timing.select):
        return False
    chain("InitChainSelEvent.InitialChainSelected", "Initial chain selected", "Follower.InitialChainSelected")
    chain("OpenEvent.OpenedDB", f"Opened db with immutable tip at {_point(net, imm_tip)} and tip {_point(net, tip)}",
          "OpenedDB", immtip=str(imm_tip), tip=str(tip))  # fmt: skip
    return True


def _run(version: str, opts: RunOptions, check: node_rules.StartupCheck, faults: Faults) -> int:
    node = SimNode(version, opts, check, faults)

    def on_stop(_signum: int, _frame: Any) -> None:
        node.stop_requested.set()

    def on_hup(_signum: int, _frame: Any) -> None:
        node.hup_requested.set()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)

    global _SCRIBES, _DISPATCH
    # One tracing system runs, as the release's record says for this config: the other's settings
    # (legacy scribes in a new-tracing config, TraceOptions in a legacy one) write nothing.
    _SCRIBES = Scribes({"TurnOnLogging": False} if node.new_tracing else node.config, version)
    _DISPATCH = Dispatch(node.config) if node.new_tracing else None
    error = node.open_database()
    if error is not None:
        _err("cardano-node", error)
        return 1
    mode = "P2P" if node.p2p else "non-P2P"
    _log(
        "basicInfo",
        f"Node version {version}, network {node.network} (magic {node.magic}), {mode} mode",
        "Notice",
    )
    _log(
        "basicInfo",
        f"Database {opts.database}, socket {opts.socket_path}, listening on {opts.host_addr}:{opts.port}",
        "Notice",
    )
    if opts.block_producer:
        _log("basicInfo", "Block producer credentials given (the lab node never opens them)", "Notice")
    if opts.chain_source:
        _log("basicInfo", "Lab chain source: always at the wall-clock tip", "Notice")
    node.start_metrics()
    if (boot_new if node.new_tracing else boot)(node, startup_timing(faults, node.dirty)):
        node.take_snapshot()
        error = node.start_listeners()
        if error is not None:
            _err("cardano-node", error)
            node.shutdown()
            return 1
        node.ready_slot = node.tip_slot()
        node.ready = True
        local = {"kind": "LocalSocketUp", "path": f'LocalAddress "{opts.socket_path}"', "socket": "FileDescriptor 23"}
        _trace("Startup.DiffusionInit.LocalSocketUp", None, local)  # no human text (DIF L668-672, L746)
        _log(
            "DiffusionInitializationTracer",
            f'LocalSocketUp (LocalAddress "{opts.socket_path}") (FileDescriptor 23)',
            data={"kind": "LocalSocketUp", "path": f'LocalAddress "{opts.socket_path}"', "socket": "FileDescriptor 23"},
        )
        node.set_peers(topology_peers(node.topology, node.p2p))
    last = time.monotonic()
    last_persist = last
    persisted = node.tip_slot()
    dies_at = None if faults.dies_after_seconds is None or not node.ready else last + faults.dies_after_seconds
    while True:
        node.stop_requested.wait(0.1)
        if node.stop_requested.is_set():
            break
        if dies_at is not None and time.monotonic() >= dies_at:
            # As an out-of-memory kill or an assertion in a mini-protocol would: no clean-shutdown
            # marker, exit status 1, so systemd's Restart=on-failure starts it again (a crash loop).
            _err("cardano-node", f"lab fault dies_after: crashed {faults.dies_after_seconds:g} s after its socket came up")
            node.shutdown()
            return 1
        if node.hup_requested.is_set():
            node.hup_requested.clear()
            if node.opts.credentials:
                node.reload_forging()
            node.reload_topology()
        if node.ready and node.opts.credentials:
            node.check_leadership()
        now = time.monotonic()
        node.advance(now - last)
        last = now
        if now - last_persist >= 2.0 and node.tip_slot() != persisted:
            node.persist()
            persisted = node.tip_slot()
            last_persist = now
    _log("shutdown", "Received shutdown request", "Notice")
    ignore = load_faults(version).ignore_stop_seconds  # read when the stop comes: set it any time before
    if ignore is not None:
        _log("shutdown", f"lab fault ignore_stop: exiting in {ignore:.0f} s", "Warning")
        time.sleep(ignore)
    node.shutdown()
    if node.ready:  # CDB L2545, L1344: the ChainDB it opened is closed
        imm_tip, tip = max(0, node.tip_slot() - 1000), node.tip_slot()
        _trace("ChainDB.ImmDbEvent.DBClosed", "Closed Immutable DB.", {"kind": "DBClosed"})
        _trace("ChainDB.OpenEvent.ClosedDB",
               f"Closed db with immutable tip at {_point(node.network, imm_tip)} and tip {_point(node.network, tip)}",
               {"kind": "ClosedDB", "immtip": str(imm_tip), "tip": str(tip)})  # fmt: skip
    with open(os.path.join(opts.database, CLEAN_MARKER), "w", encoding="utf-8"):
        pass  # the next start validates only the most recent chunk
    _log("shutdown", f"Shut down cleanly at slot {node.tip_slot()}", "Notice")
    return 0


def tip_text(version: str, network: str, slot: int, now: float) -> tuple[str, str]:
    """What the cardano-cli of release `version` prints for a tip at `slot`, and the end it writes
    to stdout after it: the sorted keys in 4-space pretty JSON both ways, the chain's era as that
    release follows it, a final newline only up to cardano-cli 8.20.x (cardano/releases/cli.py)."""
    body = json.dumps(tip_json(network, slot, now, era=release_forks.chain_era(version)), indent=4)
    form = release_cli.tip_form(version)
    return body, "\n" if form is None or form.final_newline else ""


def _parse_cli_query(argv: list[str], version: str = "") -> tuple[int | None, str | None, str | None] | str:
    magic: int | None = None
    socket_path: str | None = None
    out_file: str | None = None
    form = release_cli.tip_form(version) if version in NODE_GIT_REVS else None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--output-json", "--output-yaml") and form is not None and form.format_flags:
            if arg == "--output-yaml":  # the CLI's YAML form (Json/Encode.hs encodeYaml) is not simulated
                return "the lab's cardano-cli prints query tip as JSON only (--output-yaml is not simulated)"
            i += 1
        elif arg == "--mainnet":
            magic = networks.MAINNET_MAGIC
            i += 1
        elif arg == "--cardano-mode":
            i += 1
        elif arg in ("--testnet-magic", "--socket-path", "--out-file", "--epoch-slots"):
            if i + 1 >= len(argv):
                return f"The option `{arg}` expects an argument."
            value = argv[i + 1]
            if arg == "--testnet-magic":
                if not value.isdigit():
                    return f"option --testnet-magic: cannot parse value `{value}'"
                magic = int(value)
            elif arg == "--socket-path":
                socket_path = value
            elif arg == "--out-file":
                out_file = value
            i += 2
        else:
            return f"Invalid option `{arg}'"
    return magic, socket_path, out_file


def cli_query(argv: list[str], env: Mapping[str, str], version: str = "") -> tuple[int, str, str | None] | str:
    """What `cardano-cli ARGV` of release `version` asks (after the version forms): (network magic,
    socket path, out file), or the message the CLI prints and exits 1 with. `env`: the caller's
    environment (the network and socket variables). Both CLIs use it: the full one here, the light
    one through the node (light_cli_reply)."""
    if argv[:1] in (["latest"], ["conway"]):  # the era-based form (CLI EraBased/Option.hs L52, L60)
        argv = argv[1:]
    if argv[:2] != ["query", "tip"]:
        return (
            "Usage: cardano-cli query tip (--mainnet | --testnet-magic NATURAL)\n"
            "                             --socket-path SOCKET_PATH [--out-file FILE]\n"
            "(the lab's cardano-cli knows only `query tip` and `--version`)"
        )
    parsed = _parse_cli_query(argv[2:], version)
    if isinstance(parsed, str):
        return parsed
    magic, socket_path, out_file = parsed
    if magic is None:
        env_id = env.get("CARDANO_NODE_NETWORK_ID", "")
        if env_id == "mainnet":
            magic = networks.MAINNET_MAGIC
        elif env_id.isdigit():
            magic = int(env_id)
        else:
            return "Missing: (--mainnet | --testnet-magic NATURAL)"
    socket_path = socket_path or env.get("CARDANO_NODE_SOCKET_PATH")
    if not socket_path:
        return "Missing: --socket-path SOCKET_PATH"
    return magic, socket_path, out_file


def cli_main(version: str, argv: list[str]) -> int:
    """The full `cardano-cli` of the release `version`: --version, version, query tip. The lab's
    binary is the light one (cli_standin), which hands over to this what it cannot relay."""
    done, argv = _version_forms("cardano-cli", version, argv)
    if done is not None:
        return done
    query = cli_query(argv, os.environ, version)
    if isinstance(query, str):
        _err("", query)
        return 1
    magic, socket_path, out_file = query
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(10.0)
        try:
            sock.connect(socket_path)
        except OSError as exc:
            kind = "permission denied" if isinstance(exc, PermissionError) else "does not exist"
            _err("cardano-cli", f"Network.Socket.connect: <socket: {sock.fileno()}>: {kind} ({exc.strerror})")
            return 1
        sock.sendall(f"tip {magic}\n".encode())
        reply = json.loads(sock.makefile("r", encoding="utf-8").readline() or "{}")
    except (OSError, ValueError) as exc:
        _err("cardano-cli", f"Network.Mux.Bearer: {exc}")
        return 1
    finally:
        sock.close()
    if "error" in reply:
        _err("cardano-cli", str(reply["error"]))
        return 1
    text, end = tip_text(version, str(reply["network"]), int(reply["slot"]), time.time())
    if out_file:
        with open(out_file, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        print(text, end=end)
    return 0


def main(argv: list[str]) -> int:
    """`python -m orchestrator.lab.simnode node|cli VERSION ARGS...` (tests and debugging)."""
    if len(argv) < 2 or argv[0] not in ("node", "cli"):
        _err("", "usage: python -m orchestrator.lab.simnode node|cli VERSION ARGS...")
        return 2
    entry = node_main if argv[0] == "node" else cli_main
    return entry(argv[1], argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
