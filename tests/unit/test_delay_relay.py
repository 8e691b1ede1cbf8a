"""The lab's delay relay (orchestrator/lab/delay_relay.py) on loopback, in-process: a fleet-wide run
opens every host's connection at once, so 128 concurrent handshakes through it must all get their
banner and their data back, each at least one round trip late (a lower bound, never a stopwatch
upper bound). Its spec refuses addresses outside loopback and the lab range."""

from __future__ import annotations

import asyncio
import resource

import pytest

from orchestrator.lab import delay_relay
from orchestrator.lab.delay_relay import RelayError, RelaySpec, Route, parse_spec, serve

HOSTS = 128
RTT = 0.02  # seconds
BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"


async def _sshd_like(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Sends its banner at once (as sshd does), then echoes until the client's EOF."""
    writer.write(BANNER)
    await writer.drain()
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _client(port: int) -> tuple[bytes, bytes, float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    banner = await reader.readline()
    to_banner = loop.time() - started
    payload = f"hello from {port}\n".encode()
    writer.write(payload)
    await writer.drain()
    echoed = await reader.readexactly(len(payload))
    writer.write_eof()
    assert await reader.read() == b""  # the relay passes the close on, both ways
    writer.close()
    return banner, echoed, to_banner


async def _fleet_at_once(hosts: int) -> list[tuple[bytes, bytes, float]]:
    target = await asyncio.start_server(_sshd_like, "127.0.0.1", 0, backlog=hosts)
    target_port = target.sockets[0].getsockname()[1]
    # Free ports for the listeners: bind them once, release, hand them to the relay.
    probes = [await asyncio.start_server(_sshd_like, "127.0.0.1", 0) for _ in range(hosts)]
    ports = [p.sockets[0].getsockname()[1] for p in probes]
    for p in probes:
        p.close()
        await p.wait_closed()
    spec = RelaySpec(RTT * 1000, tuple(Route(("127.0.0.1", port), ("127.0.0.1", target_port)) for port in ports))
    ready = asyncio.Event()
    relay = asyncio.create_task(serve(spec, ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        return await asyncio.wait_for(asyncio.gather(*(_client(port) for port in ports)), 60)
    finally:
        relay.cancel()
        target.close()


def test_128_concurrent_handshakes_all_get_their_banner_and_data_at_least_one_rtt_late() -> None:
    results = asyncio.run(_fleet_at_once(HOSTS))
    assert len(results) == HOSTS
    for banner, echoed, to_banner in results:
        assert banner == BANNER
        assert echoed.startswith(b"hello from ")
        # connect costs one RTT, the banner's way back half of one more
        assert to_banner >= 1.5 * RTT - 0.002


def test_the_relay_raises_its_open_file_limit_to_the_hard_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, tuple[int, int]]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1024, 65536))
    monkeypatch.setattr(resource, "setrlimit", lambda which, limits: calls.append((which, limits)))
    monkeypatch.setattr(delay_relay.os, "geteuid", lambda: 1000)  # not root: no priority change
    delay_relay.raise_limits()
    assert calls == [(resource.RLIMIT_NOFILE, (65536, 65536))]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"rtt_ms": 80, "routes": [{"listen": ["203.0.113.5", 10011], "target": ["198.18.4.11", 22]}]},
         "refusing to listen on 203.0.113.5"),
        ({"rtt_ms": -1, "routes": []}, "rtt_ms must be a number"),
        ({"rtt_ms": 80, "routes": []}, "routes is empty"),
        ({"rtt_ms": 80, "routes": [{"listen": ["127.0.0.1", 0], "target": ["198.18.4.11", 22]}]}, "ports must be"),
    ],
)  # fmt: skip
def test_spec_errors_name_the_problem(raw: object, message: str) -> None:
    with pytest.raises(RelayError, match=message):
        parse_spec(raw)
