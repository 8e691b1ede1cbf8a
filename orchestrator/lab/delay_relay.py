"""Distance in the lab: a TCP relay that adds a fixed round-trip time in front of each host's sshd.

Test equipment, not product code. Real fleets span regions (50–150 ms round trips), where one round
trip per host matters most; the lab's hosts are microseconds apart, and this kernel has no netem.
So `lab up --rtt-ms N` starts this relay: one listener per host on the lab bridge's own address
(or loopback; nothing else is accepted), each forwarding to that host's sshd.

Delay model (latency only, no bandwidth limit or loss): the upstream connection is opened one RTT
after the client connected (the TCP handshake), and every chunk is held RTT/2 in each direction,
in order. So each request/response costs one RTT more, and a new connection one RTT more again.
Only SSH goes through it: the nodes talk to each other over the bridge directly, undelayed.

Run as `python -m orchestrator.lab.delay_relay SPEC.json` (the lab starts and stops it);
SPEC = {"rtt_ms": 80, "routes": [{"listen": ["198.18.5.1", 10011], "target": ["198.18.5.11", 22]}]}.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.ssh.guard import LAB_NETWORK, AddressKind, lab_address

READ_CHUNK = 65536
LISTEN_BACKLOG = 1024  # a fleet-wide run opens every host's connection at once (128+ in the benchmark)
# The relay stands in for the network, which does not queue for the control machine's CPU. In the
# benchmark it shares 2 cores with 128 sshd and simulated nodes (load average 100+): at normal
# priority it was starved for seconds, banners arrived after paramiko's 10 s banner timeout, and the
# retries piled up connections. As root it runs at this nice value instead (a no-op otherwise).
RELAY_NICE = -10


class RelayError(ValueError):
    """The relay's spec is unusable (bad address, port or delay); the message says which."""


@dataclass(frozen=True)
class Route:
    """One listener: (address, port) it accepts on → (address, port) of the host's sshd."""

    listen: tuple[str, int]
    target: tuple[str, int]


@dataclass(frozen=True)
class RelaySpec:
    rtt_ms: float
    routes: tuple[Route, ...]

    @property
    def rtt(self) -> float:
        """The added round-trip time in seconds."""
        return self.rtt_ms / 1000.0


def check_listen_address(address: str) -> None:
    """Accept only loopback and the lab range: test equipment must never listen on a real network."""
    kind = lab_address(address)  # the lab's one network guard (orchestrator/ssh/guard.py)
    if kind is AddressKind.NAME:
        raise RelayError(f"listen address {address!r} is not an IP address")
    if kind is AddressKind.OUTSIDE:
        raise RelayError(f"refusing to listen on {address}: only loopback and {LAB_NETWORK} (the lab bridge)")


def parse_spec(raw: object) -> RelaySpec:
    """The JSON spec → RelaySpec; raises RelayError naming the bad entry."""
    if not isinstance(raw, dict):
        raise RelayError("spec must be a JSON object with rtt_ms and routes")
    rtt = raw.get("rtt_ms")
    if not isinstance(rtt, int | float) or isinstance(rtt, bool) or not 0 <= rtt <= 10_000:
        raise RelayError(f"rtt_ms must be a number of milliseconds in 0..10000, not {rtt!r}")
    routes: list[Route] = []
    for i, entry in enumerate(raw.get("routes") or []):
        try:
            (la, lp), (ta, tp) = entry["listen"], entry["target"]
        except (TypeError, KeyError, ValueError):
            raise RelayError(f"routes[{i}]: needs listen [address, port] and target [address, port]") from None
        if not all(isinstance(p, int) and 0 < p < 65536 for p in (lp, tp)):
            raise RelayError(f"routes[{i}]: ports must be 1..65535")
        check_listen_address(str(la))
        routes.append(Route((str(la), lp), (str(ta), tp)))
    if not routes:
        raise RelayError("routes is empty")
    if len({r.listen for r in routes}) != len(routes):
        raise RelayError("two routes listen on the same address and port")
    return RelaySpec(float(rtt), tuple(routes))


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy reader → writer, each chunk delivered `delay` seconds after it arrived, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def receive() -> None:
        try:
            while data := await reader.read(READ_CHUNK):
                queue.put_nowait((loop.time() + delay, data))
        except OSError:
            pass
        queue.put_nowait((loop.time() + delay, b""))

    receiver = asyncio.create_task(receive())
    try:
        while True:
            due, data = await queue.get()
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        receiver.cancel()


async def _serve_one(route: Route, rtt: float, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
    try:
        await asyncio.sleep(rtt)  # the TCP handshake's round trip
        try:
            u_reader, u_writer = await asyncio.open_connection(*route.target)
        except OSError as exc:  # the client sees EOF before the banner: say why in relay.log
            print(f"delay_relay: {route.target[0]}:{route.target[1]}: {exc}", file=sys.stderr, flush=True)
            return
        try:
            await asyncio.gather(_pump(c_reader, u_writer, rtt / 2), _pump(u_reader, c_writer, rtt / 2))
        finally:
            u_writer.close()
    finally:
        c_writer.close()


async def serve(spec: RelaySpec, ready: asyncio.Event | None = None) -> None:
    """Listen on every route until cancelled."""
    servers = []
    for route in spec.routes:

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter, route: Route = route) -> None:
            await _serve_one(route, spec.rtt, r, w)

        servers.append(await asyncio.start_server(handle, *route.listen, reuse_address=True, backlog=LISTEN_BACKLOG))
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        for server in servers:
            server.close()


def raise_limits() -> None:
    """Every open file the hard limit allows (two sockets per relayed connection, one listener per
    host), and a better CPU priority when allowed (RELAY_NICE)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if os.geteuid() == 0:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, RELAY_NICE)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m orchestrator.lab.delay_relay SPEC.json", file=sys.stderr)
        return 2
    try:
        spec = parse_spec(json.loads(Path(args[0]).read_text()))
    except (OSError, ValueError) as exc:
        print(f"delay_relay: {args[0]}: {exc}", file=sys.stderr)
        return 2
    raise_limits()

    async def run() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: task.cancel() if task else None)
        ready = asyncio.Event()
        serving = asyncio.create_task(serve(spec, ready))
        await ready.wait()
        print(f"delay_relay: {len(spec.routes)} routes, rtt {spec.rtt_ms:g} ms", file=sys.stderr, flush=True)
        await serving

    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
