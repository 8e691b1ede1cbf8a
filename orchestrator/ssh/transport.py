"""SSH to the fleet: the `Fleet` the rest of the code talks to (the ssh package is the only one that
imports fabric or paramiko).

Why it looks like this:
- one connection per host for the whole run (opened lazily, reused by every command), in parallel
  over a bounded pool of workers, because connection set-up dominates the cost of talking to a fleet
  (ssh/pool.py);
- host keys are checked strictly (RejectPolicy semantics) before the first byte of authentication:
  fabric's default AutoAddPolicy would silently trust a man in the middle (ssh/host_keys.py);
- partial failure is data: every call returns a result per host, never an exception for one host;
- every value that ends up in a remote command line goes through `shlex.quote`;
- only connection SET-UP is retried (tenacity); a command is never retried blindly;
- fabric is used to open connections (its Connection carries ssh_config, ProxyJump and sudo
  config); commands go through one exchange on paramiko channels so that stdin, timeouts and the
  sudo password prompt are handled the same way everywhere (ssh/exec.py). Remote reads are plain
  commands (`cat`, `base64`) on the one connection: no SFTP session is opened per file; writes are
  one small program per batch (ssh/payload.py);
- with CARDANO_FLEET_LAB_ONLY=1 nothing but loopback and the lab range is dialled (ssh/guard.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from orchestrator.model import Host
from orchestrator.ssh.errors import HostKeyError, TransportError, UnsafeDestinationError
from orchestrator.ssh.exec import CommandResult, run_on, wire_for
from orchestrator.ssh.guard import LAB_NETWORK, LAB_ONLY_ENV, check_destination, lab_only
from orchestrator.ssh.host_keys import known_hosts_path
from orchestrator.ssh.payload import ABSENT, PutResult, put_batch, put_results
from orchestrator.ssh.pool import (
    IDLE_CHECK_SECONDS,
    PREFERRED_CIPHERS,
    ConnectionPool,
    HostStats,
    RetryPolicy,
    Timeouts,
    parse_jump,
)

__all__ = [
    "ABSENT", "DEFAULT_FORKS", "IDLE_CHECK_SECONDS", "LAB_NETWORK", "LAB_ONLY_ENV", "PREFERRED_CIPHERS",
    "CommandResult", "Fleet", "HostKeyError", "HostStats", "PutResult", "RetryPolicy", "Timeouts",
    "TransportError", "UnsafeDestinationError", "check_destination", "known_hosts_path", "lab_only", "parse_jump",
]  # fmt: skip

T = TypeVar("T")

DEFAULT_FORKS = 20


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
        self._conns = ConnectionPool(self._hosts, accept_new_host_keys=accept_new_host_keys, retry=self.retry,
                                     timeouts=self.timeouts, ssh_config_path=ssh_config_path)  # fmt: skip
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
        batch = put_batch(files, expect)
        res = self._run(h, batch.command, sudo=sudo, timeout=None, stdin=batch.stdin)
        return put_results(h.name, files, batch, res)

    def stats(self, host: Host | str) -> HostStats:
        return self._conns.stats(host.name if isinstance(host, Host) else host)

    def all_stats(self) -> dict[str, HostStats]:
        return self._conns.all_stats()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._conns.closed = True  # a command still queued opens no new connection
        self._pool.shutdown(wait=True)
        self._conns.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- commands --------------------------------------------------------------------------

    def _run(self, h: Host, command: str, *, sudo: bool, timeout: float | None, stdin: bytes | None) -> CommandResult:
        started = time.monotonic()
        slot = self._conns.slot(h.name)
        conn = self._conns.ensure(slot, self._conns.target_for(h))
        if conn is None:
            return CommandResult(h.name, False, None, "", "", time.monotonic() - started, slot.error, False)
        try:
            wire = wire_for(h, command, sudo=sudo, environ=self._environ)
        except TransportError as exc:
            return CommandResult(h.name, False, None, "", "", time.monotonic() - started, str(exc))
        self._conns.count_command(slot)
        limit = timeout if timeout is not None else self.timeouts.command
        res = run_on(conn, h.name, wire, stdin, started=started, limit=limit, open_timeout=self.timeouts.connect)
        if not res.connected:
            self._conns.dropped(slot, res.error)
        return res
