"""The connection pool: one connection per host for the whole run, opened lazily and reused.

Connection set-up dominates the cost of talking to a fleet, so each host (and each jump host) has
one slot holding its one fabric Connection. Only connection SET-UP is retried (tenacity, injectable
sleep); a command is never retried blindly. fabric opens the connections (its Connection carries
ssh_config, ProxyJump and sudo config); host keys are pinned strictly before the first connect
(ssh/host_keys.py); every destination passes the lab guard first (ssh/guard.py).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fabric
import paramiko
import tenacity

from orchestrator.model import Host
from orchestrator.ssh.errors import HostKeyError, TransportError, UnsafeDestinationError
from orchestrator.ssh.guard import check_destination
from orchestrator.ssh.host_keys import KnownHosts, host_key_name, known_hosts_path, pin_host_keys

# paramiko's transport thread reads its socket with a 0.1 s timeout only to notice a close or a due
# rekey; a fleet-wide run keeps hundreds of connections open while the hosts work, and those wake-ups
# were the control-side CPU that grew with a run's length (issue 18). Once a connection is up, one
# wake-up a second is plenty; Fleet.close() shuts each socket down so no thread waits for it.
IDLE_CHECK_SECONDS = 1.0
# AES-GCM first: an AEAD cipher needs no separate HMAC, which paramiko computes and compares in Python
# per packet; both are OpenSSH defaults. The rest of paramiko's list follows unchanged (fallback).
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


class _RetryableConnectError(Exception):
    """Wraps a connection set-up failure worth another attempt (refused, timeout, banner)."""


@dataclass(frozen=True)
class HostStats:
    """Connections opened and commands run for one host (the benchmark wants 1 connection)."""

    connections_opened: int = 0
    commands_run: int = 0
    connect_attempts: int = 0


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for connection set-up only; `sleep` is injectable so tests never wait."""

    attempts: int = 3
    initial_wait: float = 0.3
    max_wait: float = 2.0
    sleep: Callable[[float], None] = time.sleep

    def retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.attempts)),
            wait=tenacity.wait_exponential(multiplier=self.initial_wait, max=self.max_wait),
            retry=tenacity.retry_if_exception_type(_RetryableConnectError),
            sleep=self.sleep,
            reraise=True,
        )


@dataclass(frozen=True)
class Timeouts:
    """Connection timeouts (seconds); `command` is the default for `run` (None: wait forever)."""

    connect: float = 10.0
    banner: float = 10.0
    auth: float = 15.0
    command: float | None = None


def describe_connect_error(exc: BaseException, where: str) -> str:
    """A short, stable, operator-facing reason for a failed connection."""
    if isinstance(exc, TransportError):
        return str(exc)
    if isinstance(exc, paramiko.BadHostKeyException):
        return (
            f"host key mismatch for {where}: the server offered {exc.key.get_name()} {exc.key.fingerprint}, "
            f"known_hosts has {exc.expected_key.get_name()} {exc.expected_key.fingerprint} "
            "(possible man-in-the-middle, or the host was reinstalled; refusing)"
        )
    if isinstance(exc, paramiko.AuthenticationException):
        return f"authentication failed for {where}: {exc}"
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        if all(getattr(e, "errno", None) == 111 for e in exc.errors.values()):
            return f"connection refused by {where}"
        return f"cannot connect to {where}: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"connection to {where} timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {where}: {exc}"
    if isinstance(exc, paramiko.ChannelException):
        return f"jump host could not open a channel to {where}: {exc}"
    return f"cannot connect to {where}: {type(exc).__name__}: {exc}"


def is_retryable(exc: BaseException) -> bool:
    if isinstance(
        exc,
        HostKeyError | UnsafeDestinationError | paramiko.BadHostKeyException | paramiko.AuthenticationException,
    ):
        return False
    if isinstance(exc, socket.gaierror):
        return False
    return isinstance(exc, OSError | paramiko.SSHException | EOFError)


def parse_jump(spec: str) -> tuple[str | None, str, int | None]:
    """'[user@]host[:port]' → (user, host, port); '[v6]:port' brackets are accepted."""
    user: str | None = None
    rest = spec.strip()
    if "@" in rest:
        user, rest = rest.rsplit("@", 1)
    port: int | None = None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":"):
            port = int(tail[1:])
    elif rest.count(":") == 1:
        host, _, p = rest.partition(":")
        port = int(p)
    else:
        host = rest
    if not host:
        raise ValueError(f"bad ProxyJump {spec!r}: expected [user@]host[:port]")
    return user or None, host, port


@dataclass
class Slot:
    """One host's connection slot (mutable, guarded by `lock`)."""

    key: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    conn: fabric.Connection | None = None
    error: str | None = None
    connections_opened: int = 0
    commands_run: int = 0
    connect_attempts: int = 0
    reconnect: bool = False  # the last failure was a drop of a host that had answered: try again


@dataclass(frozen=True)
class Target:
    """Where and how to connect: the host itself, or a jump host described by a spec."""

    key: str
    address: str
    port: int
    user: str
    key_file: str | None
    known_hosts: Path
    proxy_jump: str | None


def transport_factory(sock: Any, **kwargs: Any) -> paramiko.Transport:
    """paramiko's Transport with PREFERRED_CIPHERS first (what SSHClient.connect would build otherwise)."""
    transport = paramiko.Transport(sock, **kwargs)
    options = transport.get_security_options()
    known = tuple(options.ciphers)
    options.ciphers = tuple(c for c in PREFERRED_CIPHERS if c in known) + tuple(
        c for c in known if c not in PREFERRED_CIPHERS
    )
    return transport


def load_client_key(path: str) -> paramiko.PKey | None:
    """The private key (and its `-cert.pub` certificate, as paramiko would pick up) loaded once, or
    None when it cannot be read without help (encrypted, missing): then paramiko's own key_filename
    path runs and reports exactly as before."""
    try:
        key = paramiko.PKey.from_path(path)
        cert = Path(path + "-cert.pub")
        if cert.is_file():
            key.load_certificate(str(cert))
    except Exception:  # noqa: BLE001 - any failure: let paramiko try (and explain) as it always did
        return None
    return key


def load_ssh_config(path: str | None) -> paramiko.SSHConfig:
    """~/.ssh/config (what fabric honours: HostName, Port, User, IdentityFile, ProxyJump, ...)."""
    candidates = [path] if path else [str(Path.home() / ".ssh" / "config")]
    for p in candidates:
        if p and Path(p).expanduser().is_file():
            return paramiko.SSHConfig.from_path(str(Path(p).expanduser()))
    return paramiko.SSHConfig()


def slow_idle_checks(conn: fabric.Connection) -> None:
    """An open connection's transport thread wakes once a second, not ten times (IDLE_CHECK_SECONDS)."""
    transport = conn.client.get_transport()
    if transport is not None and isinstance(transport.sock, socket.socket):
        transport.sock.settimeout(IDLE_CHECK_SECONDS)


def wake_and_close(conn: fabric.Connection) -> None:
    """Close a connection without leaving its transport thread asleep in recv() for up to
    IDLE_CHECK_SECONDS: shutting the socket down wakes it (EOF) and sends the FIN now."""
    transport = conn.client.get_transport()
    sock = transport.sock if transport is not None else None
    if isinstance(sock, socket.socket):  # paramiko sends no DISCONNECT either: the FIN is all the server sees
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    conn.close()


class ConnectionPool:
    """The slots of one run: hosts by name (shared with the Fleet, which adds hosts as it meets them)
    and jump hosts by spec; `ensure` opens a slot's connection once and reports a failure as its error."""

    def __init__(
        self,
        hosts: Mapping[str, Host],
        *,
        accept_new_host_keys: bool,
        retry: RetryPolicy,
        timeouts: Timeouts,
        ssh_config_path: str | None,
    ) -> None:
        self._hosts = hosts
        self.accept_new_host_keys = accept_new_host_keys
        self.retry = retry
        self.timeouts = timeouts
        self._ssh_config = load_ssh_config(ssh_config_path)
        self._slots: dict[str, Slot] = {}
        self._slots_lock = threading.Lock()
        self._known_hosts_lock = threading.Lock()
        self._known_hosts = KnownHosts()
        self._client_keys: dict[str, paramiko.PKey | None] = {}
        self._client_keys_lock = threading.Lock()
        self.closed = False

    def slot(self, key: str) -> Slot:
        with self._slots_lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = Slot(key)
            return slot

    def stats(self, name: str) -> HostStats:
        slot = self._slots.get(name)
        if slot is None:
            return HostStats()
        return HostStats(slot.connections_opened, slot.commands_run, slot.connect_attempts)

    def all_stats(self) -> dict[str, HostStats]:
        with self._slots_lock:
            names = list(self._slots)
        return {n: self.stats(n) for n in names}

    def close(self) -> None:
        """Close every connection, targets before the jump hosts they tunnel through."""
        self.closed = True
        with self._slots_lock:
            slots = list(self._slots.values())
        for slot in sorted(slots, key=lambda s: s.key.startswith("jump:")):
            if slot.conn is not None:
                with contextlib.suppress(Exception):  # closing is best effort
                    wake_and_close(slot.conn)
                slot.conn = None

    @staticmethod
    def count_command(slot: Slot) -> None:
        with slot.lock:
            slot.commands_run += 1

    @staticmethod
    def dropped(slot: Slot, why: str | None) -> None:
        """The slot's connection died under a command: its next command reconnects."""
        with slot.lock:
            slot.reconnect = True
            slot.error = why

    def target_for(self, h: Host) -> Target:
        return Target(
            key=h.name,
            address=h.address,
            port=h.port,
            user=h.user,
            key_file=h.key_file,
            known_hosts=known_hosts_path(h),
            proxy_jump=h.proxy_jump,
        )

    def _jump_target(self, spec: str, via: Target) -> tuple[Slot, Target]:
        """The slot and target of a ProxyJump spec: an inventory host name or [user@]host[:port]."""
        if spec in self._hosts:
            jh = self._hosts[spec]
            return self.slot(jh.name), self.target_for(jh)
        user, address, port = parse_jump(spec)
        cfg = self._ssh_config.lookup(address)
        real = str(cfg.get("hostname", address))
        t = Target(
            key=f"jump:{spec}",
            address=real,
            port=port or int(cfg.get("port", 22)),
            user=user or str(cfg.get("user", via.user)),
            key_file=via.key_file,
            known_hosts=via.known_hosts,
            proxy_jump=str(cfg["proxyjump"]) if "proxyjump" in cfg else None,
        )
        return self.slot(t.key), t

    def _check_jump_cycle(self, start: str, hop: str) -> None:
        """Inventory hosts jumping through each other would deadlock on their slot locks: refuse."""
        seen = {start}
        name: str | None = hop
        while name is not None and name in self._hosts:
            if name in seen:
                raise TransportError(f"ProxyJump loop through {name}")
            seen.add(name)
            name = self._hosts[name].proxy_jump
            name = name.split(",")[0].strip() if name else None

    def ensure(self, slot: Slot, target: Target, depth: int = 0) -> fabric.Connection | None:
        """The slot's open connection, opening it (with retries) on first use; None when it failed."""
        with slot.lock:
            if slot.conn is not None and slot.conn.is_connected:
                return slot.conn
            if slot.error is not None and not slot.reconnect:
                return None
            try:
                slot.conn = self._open(slot, target, depth)
                slot.error = None
                return slot.conn
            except Exception as exc:  # every failure becomes the host's reason
                slot.error = describe_connect_error(exc, f"{target.user}@{target.address}:{target.port}")
                # A host that answered once in this run and then dropped (a network blip, a reboot) is
                # tried again on its next command, each time with the bounded retry policy and the same
                # strict host-key check. One that never answered, or refused our key or its host key,
                # stays failed: retrying it on every command would only multiply the timeouts.
                slot.reconnect = slot.connections_opened > 0 and is_retryable(exc)
                return None

    def _open(self, slot: Slot, target: Target, depth: int) -> fabric.Connection:
        if self.closed:
            raise TransportError("transport is closed")
        cfg = self._ssh_config.lookup(target.address)
        address = str(cfg.get("hostname", target.address))
        check_destination(address)
        jump_spec = target.proxy_jump or (str(cfg["proxyjump"]) if "proxyjump" in cfg else None)
        if jump_spec and jump_spec.lower() == "none":
            jump_spec = None
        gateway: fabric.Connection | bool = False
        if jump_spec:
            if depth > 4:
                raise TransportError(f"ProxyJump chain too long at {jump_spec}")
            first_hop = jump_spec.split(",")[0].strip()
            self._check_jump_cycle(target.key, first_hop)
            jslot, jtarget = self._jump_target(first_hop, target)
            if jslot is slot:
                raise TransportError(f"ProxyJump of {target.key} points at itself")
            jconn = self.ensure(jslot, jtarget, depth + 1)
            if jconn is None:
                raise TransportError(f"jump host {first_hop} unreachable: {jslot.error}")
            gateway = jconn

        connect_kwargs: dict[str, Any] = {
            "banner_timeout": self.timeouts.banner,
            "auth_timeout": self.timeouts.auth,
        }
        identity = target.key_file or None
        if identity:
            path = str(Path(identity).expanduser())
            key = self._client_key(path)
            if key is not None:
                connect_kwargs["pkey"] = key
            else:
                connect_kwargs["key_filename"] = [path]
            connect_kwargs["look_for_keys"] = False
        connect_kwargs["transport_factory"] = transport_factory
        # A fresh fabric Config per connection: Connection attributes can leak into a shared one.
        config = fabric.Config(ssh_config=self._ssh_config)
        conn = fabric.Connection(
            host=target.address,  # fabric applies ~/.ssh/config (HostName, IdentityFile, ...) for this name
            user=target.user,
            port=target.port,
            config=config,
            gateway=gateway,
            connect_timeout=int(max(1, self.timeouts.connect)),
            connect_kwargs=connect_kwargs,
        )
        # Strict host keys BEFORE the first connect (fabric defaults to AutoAddPolicy).
        pin_host_keys(conn.client, self._known_hosts, target.known_hosts, host_key_name(conn.host, conn.port),
                      accept_new=self.accept_new_host_keys, lock=self._known_hosts_lock)  # fmt: skip

        def attempt() -> None:
            try:
                conn.open()
            except Exception as exc:
                with contextlib.suppress(Exception):  # best effort before a retry
                    conn.close()
                if is_retryable(exc):
                    raise _RetryableConnectError() from exc
                raise

        try:
            for tried in self.retry.retrying():
                with tried:
                    slot.connect_attempts += 1  # the caller holds slot.lock
                    attempt()
            slot.connections_opened += 1
            slow_idle_checks(conn)
        except _RetryableConnectError as wrapped:
            cause = wrapped.__cause__
            raise (cause if cause is not None else wrapped) from None
        return conn

    def _client_key(self, path: str) -> paramiko.PKey | None:
        """The identity file parsed once per Fleet (paramiko would parse it per connection, trying
        each key type in turn)."""
        with self._client_keys_lock:
            if path not in self._client_keys:
                self._client_keys[path] = load_client_key(path)
            return self._client_keys[path]
