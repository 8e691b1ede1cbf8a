"""One command on one open connection: the sudo wrapping and its marker exchange, stdin, output,
exit status and deadline, and the become password kept out of every result.

Commands go through `exchange` on a paramiko exec channel so that stdin, timeouts and the sudo
password prompt are handled the same way everywhere. Every value that ends up in a remote command
line goes through `shlex.quote`.
"""

from __future__ import annotations

import secrets
import select
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import fabric
import paramiko

from orchestrator.model import Host
from orchestrator.ssh.errors import TransportError


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
class Wire:
    """The command line sent to the host, and for a password sudo the secret and its two markers."""

    command: str
    password: str | None = None
    markers: tuple[bytes, bytes] | None = None  # (sudo's prompt, the command's ready line)


class ExecChannel(Protocol):
    """The part of paramiko.Channel that `exchange` drives (a fake one in the unit tests)."""

    def exec_command(self, command: str) -> None: ...
    def sendall(self, s: bytes) -> None: ...
    def shutdown_write(self) -> None: ...
    def fileno(self) -> int: ...
    def recv_ready(self) -> bool: ...
    def recv(self, nbytes: int) -> bytes: ...
    def recv_stderr_ready(self) -> bool: ...
    def recv_stderr(self, nbytes: int) -> bytes: ...
    def exit_status_ready(self) -> bool: ...
    def recv_exit_status(self) -> int: ...


def become_password(h: Host, environ: Mapping[str, str]) -> str | None:
    """The host's become password from the variable its inventory names; None: NOPASSWD sudo."""
    if not h.become_password_env:
        return None
    value = environ.get(h.become_password_env)
    if value is None:
        raise TransportError(f"become password variable {h.become_password_env} is not set in the environment")
    return value


def wire_for(h: Host, command: str, *, sudo: bool, environ: Mapping[str, str]) -> Wire:
    """`command` as sent to `h`: as is, or through sudo (raises TransportError for a missing password)."""
    if not sudo or h.user == "root":
        return Wire(command)
    password = become_password(h, environ)
    if password is None:
        # NOPASSWD: -n fails fast instead of reading our stdin as a password.
        return Wire(f"sudo -n -- sh -c {shlex.quote(command)}")
    tag = secrets.token_hex(8)
    prompt, ready = f"cf-sudo-prompt-{tag}:", f"cf-sudo-ready-{tag}"
    inner = f"printf '%s\\n' {ready} >&2; {command}"
    return Wire(
        f"sudo -S -p {shlex.quote(prompt)} -- sh -c {shlex.quote(inner)}",
        password,
        (prompt.encode(), ready.encode()),
    )


def scrub(text: str, secret: str | None) -> str:
    """Never let the become password appear in any result text."""
    return text.replace(secret, "********") if secret else text


def run_on(
    conn: fabric.Connection,
    host: str,
    wire: Wire,
    stdin: bytes | None,
    *,
    started: float,
    limit: float | None,
    open_timeout: float,
) -> CommandResult:
    """Run `wire` on a session of `conn`; `connected` is False when the connection died under it."""
    deadline = None if limit is None else started + limit
    transport: paramiko.Transport | None = None
    try:
        transport = conn.client.get_transport()
        if transport is None or not transport.is_active():
            raise paramiko.SSHException("connection is closed")
        chan = transport.open_session(timeout=open_timeout)
    except (OSError, paramiko.SSHException) as exc:
        err = f"cannot open a session on {host}: {exc}"
        transport_alive = transport is not None and transport.is_active()
        return CommandResult(host, False, None, "", "", time.monotonic() - started, err, connected=transport_alive)
    try:
        chan.settimeout(limit)  # bounds blocking sends too, not only the wait for output
        out, err_bytes, code, error = exchange(chan, wire.command, stdin, wire.password, wire.markers, deadline, limit)
    except (OSError, paramiko.SSHException, EOFError) as exc:
        out, err_bytes, code = b"", b"", None
        if isinstance(exc, TimeoutError):
            error = f"command timed out after {limit:g}s"
        else:
            error = f"connection to {host} failed during the command: {type(exc).__name__}: {exc}"
    finally:
        chan.close()
    stdout = scrub(out.decode("utf-8", "replace"), wire.password)
    stderr = scrub(err_bytes.decode("utf-8", "replace"), wire.password)
    ok = error is None and code == 0
    # The connection died under the command (not a timeout, not the command's own failure): the
    # caller sees the host as unreachable for now, and the next command reconnects.
    lost = error is not None and not (transport is not None and transport.is_active())
    return CommandResult(host, ok, code, stdout, stderr, time.monotonic() - started, error, connected=not lost)


def exchange(
    chan: ExecChannel,
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
