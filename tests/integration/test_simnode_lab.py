"""Issue 3 in the lab: the simulated node syncs, isolates, reloads and misbehaves like a real one.

Everything here runs inside lab hosts (nsenter via `lab.exec`): the node's peers are other lab
hosts on the 198.18.N.0/24 bridge, and the public names of its topology resolve (through the
host's /etc/hosts) to the lab's chain source. Faults are switched with `cardano-fleet lab fault`.
Fault seconds are short and every wait polls against a deadline, to keep the file well under 90 s.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano import networks
from orchestrator.cardano.layouts import LAYOUTS, Layout
from orchestrator.cli import main
from orchestrator.lab.provision import INITIAL_LAG_SLOTS

pytestmark = pytest.mark.lab

DATA = Path(__file__).resolve().parents[2] / "orchestrator" / "cardano" / "data"
SYNC_WINDOW = 20  # slots
METRICS = "http://127.0.0.1:12798/metrics"


# ------------------------------------------------------------------ helpers


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def expected_slot() -> int:
    return networks.network("mainnet").expected_slot(time.time())


def layout(lab: Any, host: str) -> Layout:
    return LAYOUTS[lab.state.host(host).layout]


def sh(lab: Any, host: str, command: str, timeout: float = 30) -> str:
    proc = lab.exec(host, command, timeout=timeout)
    assert proc.returncode == 0, f"{host}: {command}: rc={proc.returncode} {proc.stderr.strip()}"
    return str(proc.stdout)


def systemctl(lab: Any, host: str, *args: str, timeout: float = 60) -> tuple[int, str]:
    unit = layout(lab, host).service_name
    proc = lab.exec(host, f"systemctl {' '.join(args)} {unit}", timeout=timeout)
    return int(proc.returncode), str(proc.stdout).strip()


def show(lab: Any, host: str, prop: str) -> str:
    return systemctl(lab, host, "show", "-p", prop, "--value")[1]


def query_tip(lab: Any, host: str) -> dict[str, Any] | None:
    sock = layout(lab, host).socket_path
    proc = lab.exec(host, f"cardano-cli query tip --mainnet --socket-path {shlex.quote(sock)}", timeout=15)
    if proc.returncode != 0:
        return None
    tip: dict[str, Any] = json.loads(proc.stdout)
    return tip


def tip_slot(lab: Any, host: str) -> int | None:
    tip = query_tip(lab, host)
    return None if tip is None else int(tip["slot"])


def metrics(lab: Any, host: str) -> dict[str, float]:
    proc = lab.exec(host, f"curl -fsS --max-time 3 {METRICS}", timeout=10)
    if proc.returncode != 0:
        return {}
    out: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        name, _, value = line.partition(" ")
        if name and not name.startswith("#"):
            out[name] = float(value)
    return out


def socket_up(lab: Any, host: str) -> bool:
    return lab.exec(host, f"test -S {shlex.quote(layout(lab, host).socket_path)}").returncode == 0


def fault(lab: Any, host: str, name: str, *extra: str) -> None:
    assert main(["lab", "fault", host, name, *extra, "--dir", str(lab.dir)]) == 0


def in_sync(lab: Any, host: str) -> int | None:
    """The tip slot once it is within SYNC_WINDOW of the wall-clock slot, else None."""
    slot = tip_slot(lab, host)
    return slot if slot is not None and abs(expected_slot() - slot) <= SYNC_WINDOW else None


# ------------------------------------------------------------------ syncing


def test_every_host_syncs_and_query_tip_agrees_with_metrics(lab):
    names = [h.name for h in lab.hosts] + [lab.chain_source.name]
    for name in names:  # 2000 slots behind at 400 slots/s: about 5 s after the 2 s startup
        wait_for(f"{name} in sync", lambda name=name: in_sync(lab, name), timeout=20)
    for name in names:
        tip = query_tip(lab, name)
        assert tip is not None
        assert tip["syncProgress"] == "100.00"
        assert tip["era"] == "Babbage" and len(tip["hash"]) == 64
        m = metrics(lab, name)
        # The metrics are read just after the tip: the same slot, or a slot or two later.
        assert 0 <= m["cardano_node_metrics_slotNum_int"] - tip["slot"] <= 3, (name, tip, m)
        assert m["cardano_node_metrics_blockNum_int"] >= tip["block"]
        assert m["cardano_node_metrics_epoch_int"] == tip["epoch"]
        if name != lab.chain_source.name:
            assert m["cardano_node_metrics_peers_connectedPeers_int"] >= 1


# ------------------------------------------------------------------ isolation


def test_a_producer_whose_relays_are_all_stopped_stops_advancing(lab_factory):
    lab = lab_factory(relays=2, producers=1)
    wait_for("bp1 in sync", lambda: in_sync(lab, "bp1"), timeout=20)
    for relay in ("relay1", "relay2"):
        assert systemctl(lab, relay, "stop")[0] == 0
        assert systemctl(lab, relay, "is-active")[1] == "inactive"
    wait_for(
        "bp1 to lose its peers",
        lambda: metrics(lab, "bp1").get("cardano_node_metrics_peers_connectedPeers_int") == 0,
        timeout=5,
    )
    before, chain_before = tip_slot(lab, "bp1"), expected_slot()
    time.sleep(3.5)
    after, chain_after = tip_slot(lab, "bp1"), expected_slot()
    assert chain_after - chain_before >= 3  # the chain moved on ...
    assert before is not None and after == before  # ... and the isolated producer did not
    # It keeps serving its (stale) tip and is not on any other peer: no route to the chain source.
    assert "198.18." not in sh(lab, "bp1", "ss -Htn state established")


# ------------------------------------------------------------------ SIGHUP on a P2P node


def _p2p_topology(*peers: tuple[str, int]) -> str:
    topology = {
        "localRoots": [
            {
                "accessPoints": [{"address": a, "port": p} for a, p in peers],
                "advertise": False,
                "trustable": True,
                "valency": len(peers),
            }
        ],
        "publicRoots": [],
        "useLedgerAfterSlot": -1,
    }
    return json.dumps(topology, indent=2) + "\n"


def _write(lab: Any, host: str, path: str, text: str) -> None:
    tmp = f"{path}.lab-test"
    sh(lab, host, f"printf %s {shlex.quote(text)} > {tmp} && mv {tmp} {shlex.quote(path)}")


def test_sighup_on_a_p2p_node_changes_hot_peers_without_a_restart(lab_factory):
    lab = lab_factory(relays=2, producers=0, node_version="8.9.0")
    lay = layout(lab, "relay1")
    chain = (lab.chain_source.address, 3001)
    relay2 = (lab.host("relay2").address, layout(lab, "relay2").node_port)
    config = json.loads((DATA / "8.9.0" / "mainnet" / "config.json").read_text())
    assert config["EnableP2P"] is True
    _write(lab, "relay1", lay.config_path, json.dumps(config, indent=2) + "\n")
    _write(lab, "relay1", lay.topology_path, _p2p_topology(chain))
    assert systemctl(lab, "relay1", "restart")[0] == 0
    wait_for("relay1 active", lambda: systemctl(lab, "relay1", "is-active")[1] == "active", timeout=10)
    wait_for(
        "one hot peer in P2P mode",
        lambda: metrics(lab, "relay1").get("cardano_node_metrics_peerSelection_hot") == 1,
        timeout=10,
    )
    pid = show(lab, "relay1", "MainPID")
    assert pid not in ("", "0")
    # No outbound link to relay2's node port yet (relay2's own legacy topology may dial in: that is inbound).
    assert f"{relay2[0]}:{relay2[1]}" not in sh(lab, "relay1", "ss -Htn state established")

    _write(lab, "relay1", lay.topology_path, _p2p_topology(chain, relay2))
    assert systemctl(lab, "relay1", "reload")[0] == 0
    wait_for(
        "two hot peers after SIGHUP",
        lambda: metrics(lab, "relay1").get("cardano_node_metrics_peerSelection_hot") == 2,
        timeout=5,
    )
    established = sh(lab, "relay1", "ss -Htn state established")
    assert f"{relay2[0]}:{relay2[1]}" in established
    assert show(lab, "relay1", "MainPID") == pid, "a reload must not restart the node"
    log = sh(lab, "relay1", f"cat /var/log/lab-systemd/{lay.service_name}.log")
    assert "Topology file re-read on SIGHUP" in log

    # Dropping a peer on the next SIGHUP closes its connection, still without a restart.
    _write(lab, "relay1", lay.topology_path, _p2p_topology(relay2))
    assert systemctl(lab, "relay1", "reload")[0] == 0
    wait_for(
        "chain source dropped after SIGHUP",
        lambda: f"{chain[0]}:{chain[1]}" not in sh(lab, "relay1", "ss -Htn state established"),
        timeout=5,
    )
    assert metrics(lab, "relay1").get("cardano_node_metrics_peerSelection_hot") == 1
    assert show(lab, "relay1", "MainPID") == pid


# ------------------------------------------------------------------ faults


@pytest.fixture(scope="module")
def faulty(lab_factory):
    """Four relays, one per fault test (each test breaks its own host)."""
    lab = lab_factory(relays=4, producers=0)
    wait_for("relays up", lambda: all(socket_up(lab, f"relay{i}") for i in range(1, 5)), timeout=15)
    return lab


def test_crash_at_start_only_for_the_named_version_and_clear(faulty):
    lab = faulty
    fault(lab, "relay1", "crash_at_start", "--version", "8.9.0")  # the host runs 8.7.3
    assert systemctl(lab, "relay1", "restart")[0] == 0
    wait_for("relay1 up on 8.7.3", lambda: socket_up(lab, "relay1"), timeout=10)
    assert systemctl(lab, "relay1", "is-active")[1] == "active"

    fault(lab, "relay1", "crash_at_start", "--version", "8.7.3")
    systemctl(lab, "relay1", "restart")
    # Restart=on-failure tries again until systemd's start limit (5 starts in 10 s), then "failed".
    wait_for("relay1 failed", lambda: systemctl(lab, "relay1", "is-active")[1] == "failed", timeout=10)
    assert show(lab, "relay1", "Result") in ("exit-code", "start-limit-hit")
    assert not socket_up(lab, "relay1")
    log = sh(lab, "relay1", "cat /var/log/lab-systemd/cnode.service.log")
    assert "lab fault crash_at_start" in log

    fault(lab, "relay1", "clear")
    assert sh(lab, "relay1", "cat /etc/cardano-lab/faults.json").strip() == "{}"
    assert systemctl(lab, "relay1", "restart")[0] == 0
    wait_for("relay1 up after clear", lambda: socket_up(lab, "relay1"), timeout=10)
    assert systemctl(lab, "relay1", "is-active")[1] == "active"


def test_never_sync_keeps_the_tip_where_it_was(faulty):
    lab = faulty
    lay = layout(lab, "relay2")
    fault(lab, "relay2", "never_sync")
    assert systemctl(lab, "relay2", "stop")[0] == 0
    sh(lab, "relay2", f"rm -f {lay.db_path}/lab-tip.json")  # a fresh db: INITIAL_LAG_SLOTS behind
    assert systemctl(lab, "relay2", "start")[0] == 0
    first = wait_for("relay2 answers query tip", lambda: tip_slot(lab, "relay2"), timeout=10)
    assert expected_slot() - first > INITIAL_LAG_SLOTS * 3 // 4
    time.sleep(3)  # a healthy node would have caught up by now
    assert tip_slot(lab, "relay2") == first
    assert metrics(lab, "relay2")["cardano_node_metrics_peers_connectedPeers_int"] >= 1  # peers, no progress
    fault(lab, "relay2", "clear")
    assert systemctl(lab, "relay2", "restart")[0] == 0
    wait_for("relay2 syncing after clear", lambda: (tip_slot(lab, "relay2") or 0) > first + INITIAL_LAG_SLOTS // 2,
             timeout=10)


def test_slow_start_opens_the_socket_after_n_seconds(faulty):
    lab = faulty
    fault(lab, "relay3", "slow_start", "--seconds", "4")
    assert systemctl(lab, "relay3", "restart")[0] == 0
    started = time.monotonic()
    assert systemctl(lab, "relay3", "is-active")[1] == "active"  # running, just not serving yet
    wait_for("relay3 socket", lambda: socket_up(lab, "relay3"), timeout=10, every=0.1)
    took = time.monotonic() - started
    assert took >= 3.7, took  # the normal startup is 2 s
    fault(lab, "relay3", "clear")


def test_ignore_stop_delays_stop_up_to_timeout_stop_sec(faulty):
    lab = faulty
    fault(lab, "relay4", "ignore_stop", "--seconds", "2")
    assert systemctl(lab, "relay4", "restart")[0] == 0  # the fault is read at start
    wait_for("relay4 up", lambda: socket_up(lab, "relay4"), timeout=10)
    started = time.monotonic()
    assert systemctl(lab, "relay4", "stop")[0] == 0
    took = time.monotonic() - started
    assert took >= 1.9, took
    assert systemctl(lab, "relay4", "is-active")[1] == "inactive"

    # A longer hang is cut short by the unit's TimeoutStopSec (then SIGKILL, Result=timeout).
    unit = f"/etc/systemd/system/{layout(lab, 'relay4').service_name}"
    sh(lab, "relay4", f"sed -i 's/^TimeoutStopSec=.*/TimeoutStopSec=1.5/' {unit}")
    fault(lab, "relay4", "ignore_stop", "--seconds", "30")
    assert systemctl(lab, "relay4", "start")[0] == 0
    wait_for("relay4 up", lambda: socket_up(lab, "relay4"), timeout=10)
    started = time.monotonic()
    assert systemctl(lab, "relay4", "stop")[0] == 0
    took = time.monotonic() - started
    assert took >= 1.4, took  # cut short: Result=timeout below, not the 30 s hang
    assert systemctl(lab, "relay4", "is-active")[1] == "failed"
    assert show(lab, "relay4", "Result") == "timeout"
    fault(lab, "relay4", "clear")
