"""`lab up --rtt-ms N`: a delay relay in front of each sshd adds at least N ms per round trip, the
inventory goes through it with strict host keys, and the nodes keep talking to each other directly.

Lower bounds only: the machine may be slower than the relay's delay, never faster."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from orchestrator.facts.probe import gather_facts
from orchestrator.lab.hosts import SSH_PORT
from orchestrator.lab.state import relay_port
from orchestrator.load.inventory import load_inventory
from orchestrator.ssh.transport import Fleet

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_only")]

RTT_MS = 150.0


@pytest.fixture(scope="module")
def far_lab(lab_factory: Any) -> Any:
    return lab_factory(relays=2, producers=1, rtt_ms=RTT_MS)


def _recv_until(sock: socket.socket, predicate: Any) -> bytes:
    data = b""
    while not predicate(data):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_a_round_trip_through_the_relay_costs_at_least_the_rtt(far_lab: Any) -> None:
    state = far_lab.state
    relay1 = state.host("relay1")
    rtt = RTT_MS / 1000
    started = time.monotonic()
    with socket.create_connection((state.gateway, relay_port(relay1)), timeout=10) as s:
        s.settimeout(10)
        banner = _recv_until(s, lambda d: b"\n" in d)
        to_banner = time.monotonic() - started
        assert banner.startswith(b"SSH-2.0-")
        # A new connection: the handshake's round trip plus the banner's way back.
        assert to_banner >= 1.5 * rtt - 0.005
        sent = time.monotonic()
        s.sendall(b"not an ssh client\r\n")  # sshd answers a bad identification by closing
        rest = _recv_until(s, lambda d: False)
        answered = time.monotonic() - sent
    assert answered >= rtt - 0.005, f"request → answer took {answered * 1000:.0f} ms through a {RTT_MS:g} ms relay"
    assert b"SSH-2.0" not in rest


def test_the_direct_path_is_not_delayed_and_the_nodes_keep_their_own_addresses(far_lab: Any) -> None:
    state = far_lab.state
    relayed = load_inventory(str(far_lab.inventory_path))
    direct = load_inventory(str(state.direct_inventory_path))
    for host in relayed.hosts:
        lab_host = state.host(host.name)
        assert (host.address, host.port) == (state.gateway, relay_port(lab_host))
        assert host.peer_address == lab_host.address  # topology planning sees the node's own address
        assert direct.host(host.name).address == lab_host.address and direct.host(host.name).port == SSH_PORT
    # Hosts (and so their nodes) reach each other over the bridge directly: the relay is only on the gateway.
    bp1 = state.host("bp1")
    out = far_lab.exec("relay1", f"/usr/bin/python3 -c \"import socket; socket.create_connection(('{bp1.address}', 22), 3)\"")
    assert out.returncode == 0, out.stderr


def test_facts_through_the_relay_one_connection_one_round_trip_strict_keys(far_lab: Any) -> None:
    inventory = load_inventory(str(far_lab.inventory_path))
    hosts = list(inventory.hosts)
    started = time.monotonic()
    with Fleet(hosts, forks=len(hosts)) as fleet:
        facts = gather_facts(fleet, hosts)
        stats = fleet.all_stats()
    wall = time.monotonic() - started
    assert all(f.reachable and f.error is None for f in facts.values()), {n: f.error for n, f in facts.items()}
    assert {f.hostname for f in facts.values()} == {h.name for h in hosts}
    assert {(s.connections_opened, s.commands_run) for s in stats.values()} == {(1, 1)}
    # connect (≥ 1 RTT) + SSH handshake and auth (several round trips) + the probe (≥ 1 RTT)
    assert wall >= 3 * RTT_MS / 1000
