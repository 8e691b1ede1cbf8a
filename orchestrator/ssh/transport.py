"""SSH to the fleet: the only module that imports fabric or paramiko.

Why it looks like this:
- one connection per host for the whole run (opened lazily, reused by every command), in parallel
  over a bounded pool, because connection set-up dominates the cost of talking to a fleet;
- host keys are checked strictly (RejectPolicy semantics) before the first byte of authentication:
  fabric's default AutoAddPolicy would silently trust a man in the middle;
- partial failure is data: every call returns a result per host, never an exception for one host;
- every value that ends up in a remote command line goes through `shlex.quote`;
- only connection SET-UP is retried (tenacity); a command is never retried blindly;
- fabric is used to open connections (its Connection carries ssh_config, ProxyJump and sudo
  config); commands go through `_exchange` on paramiko channels so that stdin, timeouts and the
  sudo password prompt are handled the same way everywhere. Remote reads are plain commands
  (`cat`, `base64`) on the one connection: no SFTP session is opened per file.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import secrets
import select
import shlex
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import fabric
import paramiko
import tenacity

from orchestrator.model import Host

T = TypeVar("T")

LAB_ONLY_ENV = "CARDANO_FLEET_LAB_ONLY"
LAB_NETWORK = ipaddress.ip_network("198.18.0.0/15")
DEFAULT_FORKS = 20
# paramiko's transport thread reads its socket with a 0.1 s timeout only to notice a close or a due
# rekey; a fleet-wide run keeps hundreds of connections open while the hosts work, and those wake-ups
# were the control-side CPU that grew with a run's length (issue 18). Once a connection is up, one
# wake-up a second is plenty; Fleet.close() shuts each socket down so no thread waits for it.
IDLE_CHECK_SECONDS = 1.0
# AES-GCM first: an AEAD cipher needs no separate HMAC, which paramiko computes and compares in Python
# per packet; both are OpenSSH defaults. The rest of paramiko's list follows unchanged (fallback).
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


class TransportError(Exception):
    """A transport operation that has no per-host result object to carry its failure (get)."""


class HostKeyError(TransportError):
    """The server's host key is unknown or changed: we refuse to talk to it."""


class UnsafeDestinationError(TransportError):
    """CARDANO_FLEET_LAB_ONLY=1 and the address is neither loopback nor the lab range."""


class _RetryableConnectError(Exception):
    """Wraps a connection set-up failure worth another attempt (refused, timeout, banner)."""


@dataclass(frozen=True)
class CommandResult:
    """What one command did on one host; `error` says why when the command could not run at all."""

    host: str
    ok: bool
    exit_code: int | None
    stdout: str
    stderr: str
    duration: float
    error: str | None = None
    connected: bool = True  # False: the host could not be reached at all (error says why)


@dataclass(frozen=True)
class PutResult:
    """An atomic write on one host; `previous_sha256` is None when the file did not exist."""

    host: str
    path: str
    ok: bool
    previous_sha256: str | None
    sha256: str
    changed: bool
    duration: float
    error: str | None = None
    conflict: bool = False  # compare-and-swap: the file was no longer the expected bytes; nothing written
    connected: bool = True  # False: the connection was lost (or never made): the write may be retried


# put_atomic_many's `expect` for a file that must not exist yet.
ABSENT = "absent"


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


# --------------------------------------------------------------------------------------------
# Safety net and host keys


def lab_only() -> bool:
    return os.environ.get(LAB_ONLY_ENV, "") == "1"


def check_destination(address: str) -> None:
    """Refuse anything but loopback or the lab range when CARDANO_FLEET_LAB_ONLY=1 (tests set it)."""
    if not lab_only():
        return
    if address == "localhost":
        return
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        raise UnsafeDestinationError(
            f"refusing to connect to {address!r}: {LAB_ONLY_ENV}=1 allows only loopback and "
            f"{LAB_NETWORK} addresses (no name resolution)"
        ) from None
    if not (ip.is_loopback or ip in LAB_NETWORK):
        raise UnsafeDestinationError(
            f"refusing to connect to {address}: {LAB_ONLY_ENV}=1 allows only loopback and {LAB_NETWORK}"
        )


def known_hosts_path(host: Host) -> Path:
    return Path(host.known_hosts_file or Path.home() / ".ssh" / "known_hosts").expanduser()


class _StrictHostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Reject unknown keys; with `accept_new`, record them (trust on first use).

    paramiko calls this only when the known_hosts file has NO key at all for the host; a changed
    key raises BadHostKeyException before we get here, so a changed key is refused even with
    accept_new, as OpenSSH's StrictHostKeyChecking=accept-new does.
    """

    def __init__(self, path: Path, accept_new: bool, lock: threading.Lock) -> None:
        self._path = path
        self._accept_new = accept_new
        self._lock = lock

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self._accept_new:
            raise HostKeyError(
                f"unknown host key for {hostname}: the server offered {key.get_name()} {key.fingerprint}, "
                f"which is not in {self._path} (verify it, add it, or use --accept-new-host-keys)"
            )
        with self._lock:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with open(self._path, "a", encoding="ascii") as f:
                f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)


def _describe_connect_error(exc: BaseException, where: str) -> str:
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


def _is_retryable(exc: BaseException) -> bool:
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


# --------------------------------------------------------------------------------------------
# Connections


@dataclass
class _Conn:
    """One host's connection slot (mutable, private, guarded by `lock`)."""

    key: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    conn: fabric.Connection | None = None
    error: str | None = None
    connections_opened: int = 0
    commands_run: int = 0
    connect_attempts: int = 0
    reconnect: bool = False  # the last failure was a drop of a host that had answered: try again


@dataclass(frozen=True)
class _Target:
    """Where and how to connect: the host itself, or a jump host described by a spec."""

    key: str
    address: str
    port: int
    user: str
    key_file: str | None
    known_hosts: Path
    proxy_jump: str | None


def _transport_factory(sock: Any, **kwargs: Any) -> paramiko.Transport:
    """paramiko's Transport with PREFERRED_CIPHERS first (what SSHClient.connect would build otherwise)."""
    transport = paramiko.Transport(sock, **kwargs)
    options = transport.get_security_options()
    known = tuple(options.ciphers)
    options.ciphers = tuple(c for c in PREFERRED_CIPHERS if c in known) + tuple(
        c for c in known if c not in PREFERRED_CIPHERS
    )
    return transport


class _KnownHosts:
    """One parse of each known_hosts file per Fleet (re-read when the file changes).

    paramiko's `load_system_host_keys` parses the whole file for every connection: with one line
    per host (two through the lab's relay) that is O(hosts²) key parses per run, ~22 µs each, the
    largest control-side cost at 128 hosts. A connection only needs its own host's entries.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[tuple[int, int], paramiko.HostKeys]] = {}

    def keys_for(self, path: Path, name: str) -> dict[str, paramiko.PKey]:
        """key type → key of the entries for `name` (`host` or `[host]:port`, hashed entries too)."""
        try:
            st = path.stat()
        except OSError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(path)
            if cached is None or cached[0] != stamp:
                keys = paramiko.HostKeys()
                try:
                    keys.load(str(path))
                except UnicodeDecodeError as exc:  # a corrupted (binary) line: the host's reason, no traceback
                    raise paramiko.SSHException(_not_text(path, exc)) from None
                cached = self._cache[path] = (stamp, keys)
        found = cached[1].lookup(name)
        return dict(found.items()) if found is not None else {}


def _not_text(path: Path, exc: UnicodeDecodeError) -> str:
    """`FILE:LINE: ...` for a known_hosts file paramiko cannot read as text."""
    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    line = data.count(b"\n", 0, exc.start) + 1 if data else "?"
    return (f"{path}:{line}: not text (byte 0x{exc.object[exc.start]:02x}): a corrupted known_hosts line; "
            "fix or remove it (no host key is trusted from a file that cannot be read)")


def _host_key_name(address: str, port: int) -> str:
    """The name paramiko (and OpenSSH) look a server up by in known_hosts."""
    return address if port == 22 else f"[{address}]:{port}"


def _load_client_key(path: str) -> paramiko.PKey | None:
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


class Fleet:
    """Connections to a set of hosts for one run; use as a context manager or call close()."""

    def __init__(
        self,
        hosts: Iterable[Host] = (),
        *,
        forks: int = DEFAULT_FORKS,
        accept_new_host_keys: bool = False,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        ssh_config_path: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._hosts: dict[str, Host] = {h.name: h for h in hosts}
        self.forks = max(1, forks)
        self.accept_new_host_keys = accept_new_host_keys
        self.retry = retry or RetryPolicy()
        self.timeouts = timeouts or Timeouts()
        self._environ = environ if environ is not None else os.environ
        self._ssh_config = self._load_ssh_config(ssh_config_path)
        self._slots: dict[str, _Conn] = {}
        self._slots_lock = threading.Lock()
        self._known_hosts_lock = threading.Lock()
        self._known_hosts = _KnownHosts()
        self._client_keys: dict[str, paramiko.PKey | None] = {}
        self._client_keys_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=self.forks, thread_name_prefix="fleet")
        self._closed = False

    # ---- public API ----------------------------------------------------------------------

    def host(self, ref: Host | str) -> Host:
        if isinstance(ref, Host):
            self._hosts.setdefault(ref.name, ref)
            return ref
        return self._hosts[ref]

    def run(
        self,
        host: Host | str,
        command: str,
        *,
        sudo: bool = False,
        timeout: float | None = None,
        stdin: bytes | str | None = None,
    ) -> CommandResult:
        """Run one shell command on the host's (single) connection; failures are in the result."""
        h = self.host(host)
        data = stdin.encode() if isinstance(stdin, str) else stdin
        return self._run(h, command, sudo=sudo, timeout=timeout, stdin=data)

    def run_all(
        self,
        hosts: Iterable[Host | str],
        command_for_host: Callable[[Host], str],
        *,
        sudo: bool = False,
        timeout: float | None = None,
    ) -> dict[str, CommandResult]:
        """The command built for each host, run in parallel (at most `forks` at once)."""

        def one(h: Host) -> CommandResult:
            return self.run(h, command_for_host(h), sudo=sudo, timeout=timeout)

        return self.map(hosts, one)

    def map(self, hosts: Iterable[Host | str], fn: Callable[[Host], T]) -> dict[str, T]:
        """Apply fn to each host in the bounded pool; keys keep the order of `hosts`."""
        resolved = [self.host(h) for h in hosts]
        futures = {h.name: self._pool.submit(fn, h) for h in resolved}
        return {name: fut.result() for name, fut in futures.items()}

    def put_atomic(
        self, host: Host | str, path: str, data: bytes, *, mode: int | None = None, sudo: bool = True
    ) -> PutResult:
        """Write via a temp file in the same directory, fsync, rename; keep owner, group and mode.

        One round trip: a small python3 program reads the bytes on stdin (which also works through
        sudo, where SFTP as a non-root user could not write a root-owned file). Identical content
        and mode are left alone, so that a second run changes nothing (not even mtime).
        """
        return self.put_atomic_many(host, [(path, data, mode)], sudo=sudo)[0]

    def put_atomic_many(
        self,
        host: Host | str,
        files: Sequence[tuple[str, bytes, int | None]],
        *,
        sudo: bool = True,
        expect: Sequence[str | None] | None = None,
    ) -> list[PutResult]:
        """Several atomic writes (each as `put_atomic`) in one round trip, in order; stops at the first failure.

        `expect` (compare-and-swap), one entry per file: the sha256 the file must still have (or ABSENT:
        it must not exist; None: no condition). The host checks every file before it renames any, in
        the same program that renames: a file that changed since is reported as a conflict and nothing
        at all is written. A file that already holds the new bytes passes (a retried write).
        """
        h = self.host(host)
        conditions = list(expect) if expect is not None else [None] * len(files)
        if len(conditions) != len(files):
            raise ValueError("put_atomic_many: one expect entry per file")
        args: list[str] = []
        digests: list[str] = []
        for (path, data, mode), cond in zip(files, conditions, strict=True):
            digest = hashlib.sha256(data).hexdigest()
            digests.append(digest)
            args += [shlex.quote(path), "-" if mode is None else format(mode, "o"), digest, str(len(data)),
                     shlex.quote(cond or "-")]  # fmt: skip
        cmd = f"python3 -c {shlex.quote(_PUT_SCRIPT)} {' '.join(args)}"
        res = self._run(h, cmd, sudo=sudo, timeout=None, stdin=b"".join(data for _p, data, _m in files))
        replies: dict[str, dict[str, Any]] = {}
        for line in res.stdout.splitlines():
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            if isinstance(reply, dict) and isinstance(reply.get("path"), str):
                replies[reply["path"]] = reply
        why = res.error or (res.stderr.strip().splitlines() or [f"exit {res.exit_code}"])[-1]
        results = []
        for (path, _data, _mode), digest in zip(files, digests, strict=True):
            reply = replies.get(path)
            if reply is not None and reply.get("conflict"):
                now = reply.get("previous") or "no file"
                err = f"{path} changed since the plan (sha256 now {now}, planned from {reply.get('expected')})"
                results.append(PutResult(h.name, path, False, reply.get("previous"), digest, False, res.duration, err,
                                         conflict=True))  # fmt: skip
            elif reply is None:
                err = f"cannot write {path}: {why if not res.ok else f'unexpected reply {res.stdout[-200:]!r}'}"
                results.append(PutResult(h.name, path, False, None, digest, False, res.duration, err,
                                         connected=res.connected))  # fmt: skip
            else:
                results.append(PutResult(h.name, path, True, reply.get("previous"), digest,
                                         bool(reply.get("changed")), res.duration))  # fmt: skip
        return results

    def stats(self, host: Host | str) -> HostStats:
        name = host.name if isinstance(host, Host) else host
        slot = self._slots.get(name)
        if slot is None:
            return HostStats()
        return HostStats(slot.connections_opened, slot.commands_run, slot.connect_attempts)

    def all_stats(self) -> dict[str, HostStats]:
        with self._slots_lock:
            names = list(self._slots)
        return {n: self.stats(n) for n in names}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=True)
        with self._slots_lock:
            slots = list(self._slots.values())
        # Close targets before the jump hosts they tunnel through.
        for slot in sorted(slots, key=lambda s: s.key.startswith("jump:")):
            if slot.conn is not None:
                with contextlib.suppress(Exception):  # closing is best effort
                    _wake_and_close(slot.conn)
                slot.conn = None

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- connection management -------------------------------------------------------------

    @staticmethod
    def _load_ssh_config(path: str | None) -> paramiko.SSHConfig:
        """~/.ssh/config (what fabric honours: HostName, Port, User, IdentityFile, ProxyJump, ...)."""
        candidates = [path] if path else [str(Path.home() / ".ssh" / "config")]
        for p in candidates:
            if p and Path(p).expanduser().is_file():
                return paramiko.SSHConfig.from_path(str(Path(p).expanduser()))
        return paramiko.SSHConfig()

    def _slot(self, key: str) -> _Conn:
        with self._slots_lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Conn(key)
            return slot

    def _target_for(self, h: Host) -> _Target:
        return _Target(
            key=h.name,
            address=h.address,
            port=h.port,
            user=h.user,
            key_file=h.key_file,
            known_hosts=known_hosts_path(h),
            proxy_jump=h.proxy_jump,
        )

    def _jump_target(self, spec: str, via: _Target) -> tuple[_Conn, _Target]:
        """The slot and target of a ProxyJump spec: an inventory host name or [user@]host[:port]."""
        if spec in self._hosts:
            jh = self._hosts[spec]
            return self._slot(jh.name), self._target_for(jh)
        user, address, port = parse_jump(spec)
        cfg = self._ssh_config.lookup(address)
        real = str(cfg.get("hostname", address))
        t = _Target(
            key=f"jump:{spec}",
            address=real,
            port=port or int(cfg.get("port", 22)),
            user=user or str(cfg.get("user", via.user)),
            key_file=via.key_file,
            known_hosts=via.known_hosts,
            proxy_jump=str(cfg["proxyjump"]) if "proxyjump" in cfg else None,
        )
        return self._slot(t.key), t

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

    def _ensure(self, slot: _Conn, target: _Target, depth: int = 0) -> fabric.Connection | None:
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
                slot.error = _describe_connect_error(exc, f"{target.user}@{target.address}:{target.port}")
                # A host that answered once in this run and then dropped (a network blip, a reboot) is
                # tried again on its next command, each time with the bounded retry policy and the same
                # strict host-key check. One that never answered, or refused our key or its host key,
                # stays failed: retrying it on every command would only multiply the timeouts.
                slot.reconnect = slot.connections_opened > 0 and _is_retryable(exc)
                return None

    def _open(self, slot: _Conn, target: _Target, depth: int) -> fabric.Connection:
        if self._closed:
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
            jconn = self._ensure(jslot, jtarget, depth + 1)
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
        connect_kwargs["transport_factory"] = _transport_factory
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
        client = conn.client
        # Strict host keys BEFORE the first connect (fabric defaults to AutoAddPolicy). Only this
        # host's entries, from one parse of the file per Fleet: paramiko looks up nothing else.
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        name = _host_key_name(conn.host, conn.port)
        for keytype, key in self._known_hosts.keys_for(target.known_hosts, name).items():
            client.get_host_keys().add(name, keytype, key)
        client.set_missing_host_key_policy(
            _StrictHostKeyPolicy(target.known_hosts, self.accept_new_host_keys, self._known_hosts_lock)
        )

        def attempt() -> None:
            try:
                conn.open()
            except Exception as exc:
                with contextlib.suppress(Exception):  # best effort before a retry
                    conn.close()
                if _is_retryable(exc):
                    raise _RetryableConnectError() from exc
                raise

        try:
            for tried in self.retry.retrying():
                with tried:
                    slot.connect_attempts += 1  # the caller holds slot.lock
                    attempt()
            slot.connections_opened += 1
            _slow_idle_checks(conn)
        except _RetryableConnectError as wrapped:
            cause = wrapped.__cause__
            raise (cause if cause is not None else wrapped) from None
        return conn

    def _client_key(self, path: str) -> paramiko.PKey | None:
        """The identity file parsed once per Fleet (paramiko would parse it per connection, trying
        each key type in turn)."""
        with self._client_keys_lock:
            if path not in self._client_keys:
                self._client_keys[path] = _load_client_key(path)
            return self._client_keys[path]

    # ---- commands --------------------------------------------------------------------------

    def _become_password(self, h: Host) -> str | None:
        if not h.become_password_env:
            return None
        value = self._environ.get(h.become_password_env)
        if value is None:
            raise TransportError(f"become password variable {h.become_password_env} is not set in the environment")
        return value

    def _run(self, h: Host, command: str, *, sudo: bool, timeout: float | None, stdin: bytes | None) -> CommandResult:
        started = time.monotonic()
        slot = self._slot(h.name)
        conn = self._ensure(slot, self._target_for(h))
        if conn is None:
            return CommandResult(h.name, False, None, "", "", time.monotonic() - started, slot.error, False)
        password: str | None = None
        markers: tuple[bytes, bytes] | None = None
        wire = command
        if sudo and h.user != "root":
            try:
                password = self._become_password(h)
            except TransportError as exc:
                return CommandResult(h.name, False, None, "", "", time.monotonic() - started, str(exc))
            if password is None:
                # NOPASSWD: -n fails fast instead of reading our stdin as a password.
                wire = f"sudo -n -- sh -c {shlex.quote(command)}"
            else:
                tag = secrets.token_hex(8)
                prompt, ready = f"cf-sudo-prompt-{tag}:", f"cf-sudo-ready-{tag}"
                inner = f"printf '%s\\n' {ready} >&2; {command}"
                wire = f"sudo -S -p {shlex.quote(prompt)} -- sh -c {shlex.quote(inner)}"
                markers = (prompt.encode(), ready.encode())
        with slot.lock:
            slot.commands_run += 1
        limit = timeout if timeout is not None else self.timeouts.command
        deadline = None if limit is None else started + limit
        transport: paramiko.Transport | None = None
        try:
            transport = conn.client.get_transport()
            if transport is None or not transport.is_active():
                raise paramiko.SSHException("connection is closed")
            chan = transport.open_session(timeout=self.timeouts.connect)
        except (OSError, paramiko.SSHException) as exc:
            err = f"cannot open a session on {h.name}: {exc}"
            transport_alive = transport is not None and transport.is_active()
            if not transport_alive:
                self._dropped(slot, err)
            return CommandResult(h.name, False, None, "", "", time.monotonic() - started, err,
                                 connected=transport_alive)
        try:
            chan.settimeout(limit)  # bounds blocking sends too, not only the wait for output
            out, err_bytes, code, error = _exchange(chan, wire, stdin, password, markers, deadline, limit)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            out, err_bytes, code = b"", b"", None
            if isinstance(exc, TimeoutError):
                error = f"command timed out after {limit:g}s"
            else:
                error = f"connection to {h.name} failed during the command: {type(exc).__name__}: {exc}"
        finally:
            chan.close()
        stdout = _scrub(out.decode("utf-8", "replace"), password)
        stderr = _scrub(err_bytes.decode("utf-8", "replace"), password)
        ok = error is None and code == 0
        # The connection died under the command (not a timeout, not the command's own failure): the
        # caller sees the host as unreachable for now, and the next command reconnects.
        lost = error is not None and not (transport is not None and transport.is_active())
        if lost:
            self._dropped(slot, error)
        return CommandResult(h.name, ok, code, stdout, stderr, time.monotonic() - started, error, connected=not lost)

    @staticmethod
    def _dropped(slot: _Conn, why: str | None) -> None:
        with slot.lock:
            slot.reconnect = True
            slot.error = why


def _slow_idle_checks(conn: fabric.Connection) -> None:
    """An open connection's transport thread wakes once a second, not ten times (IDLE_CHECK_SECONDS)."""
    transport = conn.client.get_transport()
    if transport is not None and isinstance(transport.sock, socket.socket):
        transport.sock.settimeout(IDLE_CHECK_SECONDS)


def _wake_and_close(conn: fabric.Connection) -> None:
    """Close a connection without leaving its transport thread asleep in recv() for up to
    IDLE_CHECK_SECONDS: shutting the socket down wakes it (EOF) and sends the FIN now."""
    transport = conn.client.get_transport()
    sock = transport.sock if transport is not None else None
    if isinstance(sock, socket.socket):  # paramiko sends no DISCONNECT either: the FIN is all the server sees
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    conn.close()


def _scrub(text: str, secret: str | None) -> str:
    """Never let the become password appear in any result text."""
    return text.replace(secret, "********") if secret else text


def _exchange(
    chan: paramiko.Channel,
    command: str,
    stdin: bytes | None,
    password: str | None,
    markers: tuple[bytes, bytes] | None,
    deadline: float | None,
    limit: float | None,
) -> tuple[bytes, bytes, int | None, str | None]:
    """Drive one exec channel: sudo's prompt (marker protocol), stdin, output, exit status, deadline.

    With a password, sudo prints a random prompt marker and the command prints a random ready
    marker first; the password is sent only when sudo asked, and stdin only after the command
    started — so a NOPASSWD sudo never receives the password as data.
    """
    out = bytearray()
    err = bytearray()
    chan.exec_command(command)
    authing = markers is not None
    sent_password = False

    def send_stdin() -> None:
        if stdin:
            chan.sendall(stdin)
        chan.shutdown_write()

    if not authing:
        send_stdin()
    while True:
        if deadline is not None and time.monotonic() > deadline:
            return bytes(out), bytes(err), None, f"command timed out after {limit:g}s"
        wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
        select.select([chan], [], [], wait)
        while chan.recv_ready():
            out += chan.recv(65536)
        while chan.recv_stderr_ready():
            err += chan.recv_stderr(65536)
        if authing and markers is not None:
            prompt, ready = markers
            pos = err.find(ready)
            if pos >= 0:
                end = pos + len(ready)
                if err[end : end + 1] == b"\n":
                    end += 1
                err = err[:pos].replace(prompt, b"") + err[end:]
                authing = False
                send_stdin()
            elif err.count(prompt) > (1 if sent_password else 0):
                if sent_password:
                    return b"", b"", None, "sudo refused the become password"
                assert password is not None
                chan.sendall(password.encode() + b"\n")
                sent_password = True
        if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
            code = chan.recv_exit_status()
            if authing and markers is not None:
                err = err.replace(markers[0], b"")
            if code == -1:
                return bytes(out), bytes(err), None, "connection closed before the command finished"
            return bytes(out), bytes(err), code, None


# Runs on the host as `python3 -c SCRIPT (PATH MODE|- SHA256 SIZE EXPECT|-)...`, the new bytes on stdin.
# Every file's condition (EXPECT: its sha256 now, or "absent") is checked before any file is renamed.
_PUT_SCRIPT = r"""
import hashlib, json, os, sys, tempfile
args, data, offset = sys.argv[1:], sys.stdin.buffer.read(), 0
def digest_of(path):
    try:
        with open(os.path.realpath(path), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return None
conflicts = []
for i in range(0, len(args), 5):
    path, want, expect = args[i], args[i + 2], args[i + 4]
    if expect == "-":
        continue
    now = digest_of(path)
    if now != want and now != (None if expect == "absent" else expect):
        conflicts.append({"path": path, "conflict": True, "previous": now, "expected": expect})
if conflicts:
    for c in conflicts:
        print(json.dumps(c), flush=True)
    sys.exit("changed since the plan: " + ", ".join(c["path"] for c in conflicts))
for i in range(0, len(args), 5):
    path, mode_arg, want, size = args[i], args[i + 1], args[i + 2], int(args[i + 3])
    chunk, offset = data[offset:offset + size], offset + size
    if hashlib.sha256(chunk).hexdigest() != want:
        sys.exit(path + ": data arrived damaged (sha256 mismatch)")
    real = os.path.realpath(path)
    d = os.path.dirname(real) or "."
    prev = st = None
    try:
        st = os.stat(real)
        with open(real, "rb") as f:
            prev = hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        pass
    mode = int(mode_arg, 8) if mode_arg != "-" else (st.st_mode & 0o7777 if st else 0o644)
    if prev == want and st is not None and (st.st_mode & 0o7777) == mode:
        print(json.dumps({"path": path, "previous": prev, "changed": False}), flush=True)
        continue
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(real) + ".", suffix=".cardano-fleet.tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(chunk)
            f.flush()
            if st is not None:
                os.fchown(f.fileno(), st.st_uid, st.st_gid)
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.rename(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    print(json.dumps({"path": path, "previous": prev, "changed": True}), flush=True)
"""
