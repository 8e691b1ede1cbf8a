"""The sudo marker exchange (orchestrator/ssh/exec.py) on a fake exec channel, in-process.

The fake plays `sudo -S -p PROMPT -- sh -c 'printf READY >&2; COMMAND'` as sudo and a shell would:
it prints the prompt on stderr when it wants a password, reads one line, then either prints the
ready marker and runs the command (which echoes its stdin) or prompts again. What must hold: the
password is sent only after sudo's prompt and only once, stdin only after the command started (so
neither a NOPASSWD sudo nor the command ever reads the password as data), and neither marker nor
the password appears in the output. The same exchange against a real sshd and sudo is
tests/integration/test_transport.py::test_become_password_is_used_only_when_asked_and_never_shown.
"""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import dataclass, field

import pytest

from orchestrator.cardano.layouts import LAYOUTS
from orchestrator.model import Host, Role
from orchestrator.ssh.errors import TransportError
from orchestrator.ssh.exec import Wire, exchange, scrub, wire_for

SECRET = "Pw-unit-4821"


@dataclass
class FakeSudoChannel:
    """A paramiko-Channel-like object that behaves as sudo with a password (or without: `asks`).

    `sent` records every write in order, tagged with what the fake was doing when it arrived.
    """

    prompt: bytes
    ready: bytes
    password: str = SECRET
    asks: bool = True  # False: sudo has a cached credential or NOPASSWD and never prompts
    stderr_before: bytes = b""  # what sudo prints before its prompt (a lecture, a warning)
    command_stderr: bytes = b"warning from the command\n"
    exit_code: int = 0
    silent: bool = False  # never answers at all (a hung sudo)
    sent: list[tuple[str, bytes]] = field(default_factory=list)
    _out: bytearray = field(default_factory=bytearray)
    _err: bytearray = field(default_factory=bytearray)
    _state: str = "new"
    _stdin: bytearray = field(default_factory=bytearray)
    _done: bool = False
    _fds: tuple[int, int] = (-1, -1)

    def __post_init__(self) -> None:
        # select() needs a real descriptor: a pipe that always has a byte to read (never drained).
        self._fds = os.pipe()
        os.write(self._fds[1], b"x")

    def close_fds(self) -> None:
        for fd in self._fds:
            os.close(fd)

    # ---- the paramiko.Channel surface `exchange` uses ------------------------------------

    def fileno(self) -> int:
        return self._fds[0]

    def exec_command(self, command: str) -> None:
        self.command = command
        if self.silent:
            self._state = "hung"
            return
        self._err += self.stderr_before
        if self.asks:
            self._err += self.prompt
            self._state = "password"
        else:
            self._start()

    def sendall(self, s: bytes) -> None:
        self.sent.append((self._state, bytes(s)))
        if self._state == "password":
            if s == self.password.encode() + b"\n":
                self._start()
            else:
                self._err += b"Sorry, try again.\n" + self.prompt
        elif self._state == "running":
            self._stdin += s

    def shutdown_write(self) -> None:
        self.sent.append((self._state, b"<EOF>"))
        if self._state == "running":
            self._out += b"stdin:" + bytes(self._stdin)
            self._err += self.command_stderr
            self._done = True

    def recv_ready(self) -> bool:
        return bool(self._out)

    def recv(self, nbytes: int) -> bytes:
        chunk, self._out[:] = bytes(self._out[:nbytes]), self._out[nbytes:]
        return chunk

    def recv_stderr_ready(self) -> bool:
        return bool(self._err)

    def recv_stderr(self, nbytes: int) -> bytes:
        chunk, self._err[:] = bytes(self._err[:nbytes]), self._err[nbytes:]
        return chunk

    def exit_status_ready(self) -> bool:
        return self._done

    def recv_exit_status(self) -> int:
        return self.exit_code

    # ---- helpers ---------------------------------------------------------------------------

    def _start(self) -> None:
        """sudo accepted: the shell prints the ready marker first, then runs the command."""
        self._state = "running"
        self._err += self.ready + b"\n"


def _host(user: str = "operator", env: str | None = "CF_PW") -> Host:
    return Host(name="relay1", role=Role.RELAY, address="198.18.0.11", layout=LAYOUTS["iog"], user=user,
                become=True, become_password_env=env)  # fmt: skip


Exchanged = tuple[bytes, bytes, int | None, str | None]


def _exchange(chan: FakeSudoChannel, wire: Wire, stdin: bytes | None, limit: float = 5.0) -> Exchanged:
    try:
        return exchange(chan, wire.command, stdin, wire.password, wire.markers, time.monotonic() + limit, limit)
    finally:
        chan.close_fds()


def _password_wire() -> Wire:
    wire = wire_for(_host(), "cat", sudo=True, environ={"CF_PW": SECRET})
    assert wire.markers is not None and wire.password == SECRET
    return wire


def test_password_goes_only_after_the_prompt_and_stdin_only_after_the_ready_marker() -> None:
    wire = _password_wire()
    assert wire.markers is not None
    prompt, ready = wire.markers
    chan = FakeSudoChannel(prompt, ready, stderr_before=b"We trust you have received the usual lecture\n")
    out, err, code, error = _exchange(chan, wire, b"data-line\n")
    assert (code, error) == (0, None)
    assert out == b"stdin:data-line\n"
    assert chan.sent == [("password", SECRET.encode() + b"\n"), ("running", b"data-line\n"), ("running", b"<EOF>")]
    # sudo's own text stays, the markers are gone, and the command's stderr follows intact
    assert err == b"We trust you have received the usual lecture\nwarning from the command\n"
    assert prompt not in err and ready not in err and SECRET.encode() not in out + err


def test_a_sudo_that_does_not_ask_never_receives_the_password() -> None:
    wire = _password_wire()
    assert wire.markers is not None
    chan = FakeSudoChannel(*wire.markers, asks=False)
    out, err, code, error = _exchange(chan, wire, b"only-this\n")
    assert (code, error) == (0, None) and out == b"stdin:only-this\n"
    assert all(SECRET.encode() not in data for _state, data in chan.sent)
    assert chan.sent == [("running", b"only-this\n"), ("running", b"<EOF>")]
    assert err == b"warning from the command\n"


def test_a_refused_password_is_sent_once_and_reported() -> None:
    wire = _password_wire()
    assert wire.markers is not None
    chan = FakeSudoChannel(*wire.markers, password="the-right-one")
    out, err, code, error = _exchange(chan, wire, b"never-sent\n")
    assert error == "sudo refused the become password" and code is None and out == err == b""
    assert chan.sent == [("password", SECRET.encode() + b"\n")]  # not again, and no stdin at all


def test_without_markers_stdin_goes_first_and_the_exit_code_is_the_commands() -> None:
    chan = FakeSudoChannel(b"unused", b"unused", asks=False, command_stderr=b"", exit_code=3)
    out, err, code, error = _exchange(chan, Wire("sudo -n -- sh -c cat"), b"abc")
    # no markers: the fake's own ready line is ordinary stderr (exchange strips nothing it did not ask for)
    assert (out, err, code, error) == (b"stdin:abc", b"unused\n", 3, None)
    assert chan.sent == [("running", b"abc"), ("running", b"<EOF>")]


def test_a_sudo_that_never_answers_times_out_without_sending_anything() -> None:
    wire = _password_wire()
    assert wire.markers is not None
    chan = FakeSudoChannel(*wire.markers, silent=True)
    started = time.monotonic()
    out, err, code, error = _exchange(chan, wire, b"x", limit=0.05)
    assert error == "command timed out after 0.05s" and code is None
    assert chan.sent == [] and time.monotonic() - started < 3


def test_a_channel_closed_before_the_exit_status_is_not_a_result() -> None:
    wire = _password_wire()
    assert wire.markers is not None
    chan = FakeSudoChannel(*wire.markers, exit_code=-1)
    _out, _err, code, error = _exchange(chan, wire, None)
    assert code is None and error == "connection closed before the command finished"


def test_the_wire_quotes_the_command_and_uses_fresh_markers_each_time() -> None:
    host = _host()
    command = "echo 'it''s'; cat /etc/x"
    a = wire_for(host, command, sudo=True, environ={"CF_PW": SECRET})
    b = wire_for(host, command, sudo=True, environ={"CF_PW": SECRET})
    assert a.markers is not None and b.markers is not None and a.markers != b.markers
    argv = shlex.split(a.command)
    prompt, ready = (m.decode() for m in a.markers)
    assert argv[:6] == ["sudo", "-S", "-p", prompt, "--", "sh"] and argv[6] == "-c"
    assert argv[7] == f"printf '%s\\n' {ready} >&2; {command}"
    assert SECRET not in a.command
    # NOPASSWD (no variable named): -n, so sudo fails instead of reading stdin as a password
    assert wire_for(_host(env=None), command, sudo=True, environ={}) == Wire(f"sudo -n -- sh -c {shlex.quote(command)}")
    # root, or no sudo: the command as is
    assert wire_for(_host(user="root"), command, sudo=True, environ={}) == Wire(command)
    assert wire_for(host, command, sudo=False, environ={}) == Wire(command)


def test_an_unset_password_variable_is_named() -> None:
    with pytest.raises(TransportError, match="CF_PW is not set"):
        wire_for(_host(), "id", sudo=True, environ={})


def test_scrub_hides_the_password_everywhere() -> None:
    assert scrub(f"a {SECRET} b {SECRET}", SECRET) == "a ******** b ********"
    assert scrub("nothing", None) == "nothing"
