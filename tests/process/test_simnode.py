"""The simulated node and CLI, as real processes on 127.0.0.1 (distinct ports, temp dirs)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano import networks
from orchestrator.lab import simnode

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "orchestrator" / "cardano" / "data"
SPEED = 5000  # slots per second: a few thousand slots behind catch up within a second
LAG = 4000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def expected_slot() -> int:
    return networks.NETWORKS["mainnet"].expected_slot(time.time())


def wait_for(what: str, check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def run_cli(*argv: str, version: str = "8.9.0") -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = simnode.cli_main(version, list(argv))
    return rc, out.getvalue(), err.getvalue()


def run_node_inline(*argv: str, version: str = "8.9.0") -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = simnode.node_main(version, list(argv))
    return rc, out.getvalue(), err.getvalue()


@dataclass
class Node:
    root: Path
    port: int
    metrics_port: int
    p2p: bool
    version: str = "8.9.0"
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.root / "sockets" / "node.socket"

    @property
    def db(self) -> Path:
        return self.root / "db"

    @property
    def topology(self) -> Path:
        return self.root / "topology.json"

    @property
    def log(self) -> Path:
        return self.root / "node.log"

    def argv(self) -> list[str]:
        return [
            "run",
            "--config", str(self.root / "config.json"),
            "--topology", str(self.topology),
            "--database-path", str(self.db),
            "--socket-path", str(self.socket_path),
            "--host-addr", "127.0.0.1",
            "--port", str(self.port),
            *self.extra_args,
        ]  # fmt: skip

    def start(self, env: dict[str, str]) -> None:
        cmd = [sys.executable, "-m", "orchestrator.lab.simnode", "node", self.version, *self.argv()]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def tip(self) -> dict[str, Any] | None:
        rc, out, _ = run_cli("query", "tip", "--mainnet", "--socket-path", str(self.socket_path))
        return json.loads(out) if rc == 0 else None

    def slot(self) -> int:
        tip = self.tip()
        assert tip is not None, self.log.read_text()
        return int(tip["slot"])

    def metrics(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            text = response.read().decode()
        return {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line.strip()}

    def write_topology(self, peers: list[int]) -> None:
        if self.p2p:
            points = [{"address": "127.0.0.1", "port": port} for port in peers]
            topo: dict[str, Any] = {
                "localRoots": [{"accessPoints": points, "advertise": False, "trustable": True, "valency": len(points)}],
                "publicRoots": [{"accessPoints": [], "advertise": False}],
                "useLedgerAfterSlot": -1,
            }
        else:
            topo = {"Producers": [{"addr": "127.0.0.1", "port": port, "valency": 1} for port in peers]}
        self.topology.write_text(json.dumps(topo))


class Lab:
    """Nodes in one temp dir sharing an environment; all are stopped at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.nodes: list[Node] = []
        self.faults = tmp / "faults.json"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "CARDANO_LAB_FAULTS": str(self.faults),
            "CARDANO_LAB_STARTUP_SECONDS": "0.3",
            "CARDANO_LAB_SYNC_SLOTS_PER_SEC": str(SPEED),
        }

    def node(self, name: str, peers: list[int], p2p: bool = True, seed_lag: int | None = LAG, **kw: Any) -> Node:
        root = self.tmp / name
        root.mkdir()
        for era in ("byron", "shelley", "alonzo", "conway"):
            shutil.copy(DATA / "8.9.0" / "mainnet" / f"{era}-genesis.json", root)
        config = json.loads((DATA / "8.9.0" / "mainnet" / "config.json").read_text())
        node = Node(root, free_port(), free_port(), p2p, **kw)
        config["hasPrometheus"] = ["127.0.0.1", node.metrics_port]
        config["EnableP2P"] = p2p
        (root / "config.json").write_text(json.dumps(config))
        node.write_topology(peers)
        if seed_lag is not None:
            node.db.mkdir()
            (node.db / simnode.SEED_FILE).write_text(json.dumps({"slot": expected_slot() - seed_lag}))
        self.nodes.append(node)
        return node

    def start(self, node: Node, ready: bool = True) -> Node:
        node.start(self.env)
        if ready:
            wait_for(f"{node.root.name} socket", node.socket_path.exists)
        return node

    def close(self) -> None:
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    instance = Lab(tmp_path)
    try:
        yield instance
    finally:
        instance.close()


def in_sync(node: Node, within: int = 3) -> bool:
    tip = node.tip()
    return tip is not None and abs(int(tip["slot"]) - expected_slot()) <= within


# ------------------------------------------------------------------ pure parts


def test_versions() -> None:
    assert run_node_inline("--version")[:2] == (
        0,
        "cardano-node 8.9.0 - linux-x86_64 - ghc-8.10\ngit rev 0d98405a60d57e1c8e13406d51cce0e34356bd64\n",
    )
    assert run_node_inline("--version", version="8.7.3")[1] == (
        "cardano-node 8.7.3 - linux-x86_64 - ghc-8.10\ngit rev a4a8119b59b1fbb9a69c79e1e6900e91292161e7\n"
    )
    assert run_cli("--version")[1].startswith("cardano-cli 8.20.3.0 - linux-x86_64 - ghc-8.10\ngit rev 0d98405a")
    assert run_cli("--version", version="8.7.3")[1].startswith("cardano-cli 8.17.0.0 - linux-x86_64 - ghc-8.10\n")


def test_tip_arithmetic() -> None:
    now = 1_700_000_000.0
    slot = networks.NETWORKS["mainnet"].expected_slot(now)
    tip = simnode.tip_json("mainnet", slot, now)
    assert tip["syncProgress"] == "100.00"
    assert tip["epoch"] == 208 + (slot - 4492800) // 432000
    assert tip["slotInEpoch"] + tip["slotsToEpochEnd"] == 432000
    assert tip["block"] == slot // 20 and tip["hash"] == simnode.hash_of("mainnet", slot)
    assert list(tip) == sorted(tip)
    # 600 s of tolerance: 10 minutes behind is still 100.00, a day behind is not.
    assert simnode.sync_progress("mainnet", slot - 600, now) == "100.00"
    assert float(simnode.sync_progress("mainnet", slot - 86400, now)) < 100.0
    assert simnode.epoch_info("preview", 86400 * 3 + 5) == (3, 5, 86395)


def test_faults_apply_by_version(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(
        json.dumps(
            {
                "crash_at_start": {"version": "8.7.3"},
                "never_sync": {"version": None},
                "slow_start": {"seconds": 30, "version": "8.9.0"},
                "ignore_stop": {"seconds": 20, "version": None},
            }
        )
    )
    faults = simnode.load_faults("8.9.0", str(path))
    assert faults == simnode.Faults(False, True, 30.0, 20.0)
    assert simnode.load_faults("8.7.3", str(path)) == simnode.Faults(True, True, None, 20.0)
    assert simnode.load_faults("8.9.0", str(tmp_path / "absent.json")) == simnode.Faults()


def test_cli_without_node_fails_like_the_real_one(tmp_path: Path) -> None:
    rc, out, err = run_cli("query", "tip", "--mainnet", "--socket-path", str(tmp_path / "node.socket"))
    assert rc == 1 and out == ""
    assert err.startswith("cardano-cli: Network.Socket.connect: <socket: ")
    assert err.rstrip().endswith(": does not exist (No such file or directory)")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "stale.socket"))
    listener.close()  # a socket file with nobody listening
    rc, _, err = run_cli("query", "tip", "--mainnet", "--socket-path", str(tmp_path / "stale.socket"))
    assert rc == 1 and "does not exist (Connection refused)" in err
    assert run_cli("query", "tip", "--socket-path", "x")[2].startswith("Missing: (--mainnet | --testnet-magic")


def test_invalid_files_give_the_real_message_and_exit_1(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARDANO_LAB_FAULTS", str(lab.faults))
    node = lab.node("bad", [], p2p=True, seed_lag=None)
    node.topology.write_text((DATA / "8.7.3" / "mainnet" / "topology-legacy.json").read_text())
    rc, _, err = run_node_inline(*node.argv())
    assert rc == 1
    assert "Is your topology file formatted correctly? Expecting P2P Topology file format." in err
    # The 8.7.3 Conway genesis under an 8.9.0 config: the hash check refuses to start.
    node.write_topology([])
    shutil.copy(DATA / "8.7.3" / "mainnet" / "conway-genesis.json", node.root / "conway-genesis.json")
    rc, _, err = run_node_inline(*node.argv())
    assert rc == 1 and err.startswith("Conway related : Wrong genesis file: the actual hash is ")
    assert "ConwayGenesisFile:" not in err  # the node's own words, nothing added
    assert not node.socket_path.exists() and not node.db.exists()
    rc, _, err = run_node_inline("run", "--config", "c.json")
    assert rc == 1 and "Missing: --topology" in err


def test_crash_at_start_fault(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARDANO_LAB_FAULTS", str(lab.faults))
    lab.faults.write_text(json.dumps({"crash_at_start": {"version": "8.9.0"}}))
    node = lab.node("crash", [])
    rc, _, err = run_node_inline(*node.argv())
    assert rc == 1 and "crash_at_start" in err
    assert not node.socket_path.exists()


# ------------------------------------------------------------------ processes


def test_relay_and_producer_sync_through_the_chain(lab: Lab, tmp_path: Path) -> None:
    source = lab.node("source", [], extra_args=["--lab-chain-source"])
    relay = lab.node("relay", [source.port])
    kes = tmp_path / "kes.skey"
    os.mkfifo(kes)  # opening it would block the node forever: proves the key is never opened
    producer = lab.node(
        "producer",
        [relay.port],
        p2p=False,
        extra_args=["--shelley-kes-key", str(kes), "--shelley-vrf-key", str(tmp_path / "vrf.skey"),
                    "--shelley-operational-certificate", str(tmp_path / "node.cert")],
    )  # fmt: skip
    for node in (source, relay, producer):
        lab.start(node, ready=False)
    for node in (source, relay, producer):
        wait_for(f"{node.root.name} socket", node.socket_path.exists)
    wait_for("relay in sync", lambda: in_sync(relay))
    wait_for("producer in sync", lambda: in_sync(producer))

    # query tip and the metrics agree; the relay's one peer is hot, the producer (legacy) connected.
    tip = relay.tip()
    metrics = relay.metrics()
    assert tip is not None and abs(metrics["cardano_node_metrics_slotNum_int"] - tip["slot"]) <= 2
    assert metrics["cardano_node_metrics_epoch_int"] == tip["epoch"]
    assert abs(metrics["cardano_node_metrics_blockNum_int"] - tip["block"]) <= 1
    assert tip["syncProgress"] == "100.00" and tip["era"] == "Babbage"
    assert metrics["cardano_node_metrics_peerSelection_hot"] == 1
    assert metrics["cardano_node_metrics_connectionManager_outgoingConns"] == 1
    assert metrics["cardano_node_metrics_connectionManager_incomingConns"] == 1  # the producer
    assert source.metrics()["cardano_node_metrics_connectionManager_incomingConns"] == 1
    pmetrics = producer.metrics()
    assert pmetrics["cardano_node_metrics_peers_connectedPeers_int"] == 1
    assert "cardano_node_metrics_peerSelection_hot" not in pmetrics
    assert "Block producer credentials given" in producer.log.read_text()

    # Stopping the relay: a clean exit that persists the tip; the producer stops advancing.
    assert relay.stop() == 0
    assert not relay.socket_path.exists()
    saved = json.loads((relay.db / simnode.TIP_FILE).read_text())
    assert saved["hash"] == simnode.hash_of("mainnet", saved["slot"])
    wait_for(
        "producer loses its peer", lambda: producer.metrics()["cardano_node_metrics_peers_connectedPeers_int"] == 0
    )
    stalled = producer.slot()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert producer.slot() == stalled
        time.sleep(0.1)
    assert expected_slot() > stalled

    # The relay restarts from its persisted tip and the producer catches up again.
    lab.start(relay)
    assert relay.slot() >= saved["slot"]
    wait_for("producer back in sync", lambda: in_sync(producer))
    # A second node on the same database is refused.
    twin = Node(relay.root, free_port(), free_port(), True)
    rc = subprocess.run(
        [sys.executable, "-m", "orchestrator.lab.simnode", "node", "8.9.0", *twin.argv()],
        env=lab.env,
        capture_output=True,
        timeout=20,
        check=False,
    )
    assert rc.returncode == 1 and b"DbLocked" in rc.stderr


def test_sighup_changes_peers_without_restart(lab: Lab) -> None:
    first = lab.start(lab.node("first", [], extra_args=["--lab-chain-source"]))
    second = lab.start(lab.node("second", [], extra_args=["--lab-chain-source"]))
    relay = lab.start(lab.node("relay", [first.port]))
    assert relay.proc is not None
    pid = relay.proc.pid

    def inbound(node: Node) -> float:
        return node.metrics()["cardano_node_metrics_connectionManager_incomingConns"]

    wait_for("relay connected to first", lambda: inbound(first) == 1)
    relay.write_topology([second.port])
    relay.proc.send_signal(signal.SIGHUP)
    wait_for("relay moved to second", lambda: inbound(second) == 1 and inbound(first) == 0)
    assert relay.proc.poll() is None and relay.proc.pid == pid
    assert "Topology file re-read on SIGHUP" in relay.log.read_text()
    wait_for("relay in sync", lambda: in_sync(relay))

    # An invalid topology on SIGHUP is logged and the old one kept.
    relay.topology.write_text('{"Producers": []}')
    relay.proc.send_signal(signal.SIGHUP)
    wait_for("invalid topology logged", lambda: "invalid; keeping the old topology" in relay.log.read_text())
    assert relay.proc.poll() is None and inbound(second) == 1
    assert relay.metrics()["cardano_node_metrics_peerSelection_hot"] == 1
    assert relay.stop(signal.SIGINT) == 0


def test_never_sync_slow_start_and_ignore_stop_faults(lab: Lab) -> None:
    source = lab.start(lab.node("source", [], extra_args=["--lab-chain-source"]))
    lab.faults.write_text(
        json.dumps(
            {
                "never_sync": {"version": None},
                "slow_start": {"seconds": 1.5, "version": "8.9.0"},
                "ignore_stop": {"seconds": 1.0, "version": "8.9.0"},
            }
        )
    )
    node = lab.node("stuck", [source.port])
    lab.start(node, ready=False)
    wait_for("the node to open its database", lambda: "Started opening Chain DB" in node.log.read_text())
    started = time.monotonic()
    assert not node.socket_path.exists()
    wait_for("socket after the slow start", node.socket_path.exists, timeout=10)
    assert time.monotonic() - started >= 1.0
    wait_for("a hot peer", lambda: node.metrics()["cardano_node_metrics_peerSelection_hot"] == 1)
    first = node.slot()
    time.sleep(0.5)
    assert node.slot() == first and expected_slot() - first > 1000

    assert node.proc is not None
    node.proc.send_signal(signal.SIGTERM)
    stop_sent = time.monotonic()
    time.sleep(0.5)
    assert node.proc.poll() is None  # still hanging on the stop request
    assert node.proc.wait(10) == 0
    assert time.monotonic() - stop_sent >= 0.9


def test_dies_after_fault_crashes_the_node_after_its_socket_without_a_clean_marker(lab: Lab) -> None:
    """Issue 17's `dies_after`: up, in sync for a moment, then exit 1 (as an OOM kill or a crash would),
    so that systemd's Restart=on-failure starts it again and its next start is a dirty one."""
    lab.faults.write_text(json.dumps({"dies_after": {"seconds": 1.0, "version": "8.9.0"}}))
    node = lab.start(lab.node("dying", []))
    up = time.monotonic()
    assert node.proc is not None and node.proc.wait(10) == 1
    assert time.monotonic() - up >= 0.5
    assert "lab fault dies_after: crashed 1 s after its socket came up" in node.log.read_text()
    assert not (node.db / simnode.CLEAN_MARKER).exists()
    assert simnode.load_faults("8.7.3", str(lab.faults)).dies_after_seconds is None  # only the version named
