"""The lab's light `cardano-cli`: `query tip` at the cost of a real host's tool (issue 25, item 3).

A probe runs `cardano-cli query tip` on every host; the full simulated CLI (simnode.cli_main) imports
the whole simulation for it (~60 ms of CPU per call measured on a lab host, against ~13 ms for this). This
module imports nothing but the interpreter's built-ins (`_socket`, no `json`, no `socket`: each
costs milliseconds of imports), so a call costs one bare interpreter start-up and one round trip to
the node. It decides nothing itself: the node (simnode, the one source of truth for state and for
what each release's CLI accepts and prints) parses the arguments with the CLI's own parser
(simnode.cli_query), renders the answer for this CLI's release and sends back the exact bytes and
exit code; this only relays them. Anything it cannot relay — no socket path, no node on the socket,
an argument the line protocol cannot carry, a node that says "full" — is handed to the full CLI in
the same process (`full`), which answers exactly as before, errors included.

Light protocol on the node's socket (beside the full CLI's "tip <magic>\\n"; simnode docstring):
  request  "cli\\0<cli version>\\0<$CARDANO_NODE_NETWORK_ID>\\0<$CARDANO_NODE_SOCKET_PATH>\\0<socket
           path dialled>[\\0<arg>]...\\n"  (an unset variable is sent as "\\1")
  reply    "out\\n" + stdout bytes (exit 0) | "err <rc>\\n" + stderr bytes | "file <len>\\n" + path
           (len bytes) + file contents (exit 0) | "full\\n" (ask the full CLI)
"""

from __future__ import annotations

import _socket  # the C module: `socket` imports enum, selectors and more (~5 ms) that this never uses
import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs ~3 ms at every call (mypy reads the name)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import TextIO

UNSET = "\x01"  # an environment variable that is not set (never a real value: the protocol refuses \x01 in args)
VERSION_ARGV = (["--version"], ["version"])  # cardano-cli's version forms (simnode.VERSION_ARGV)
REPLY_LIMIT = 16 << 20  # bytes: a tip is ~300; anything near this is not the node talking
TIMEOUT_SECONDS = 10.0  # the full CLI's socket timeout


def strip_rts(argv: list[str]) -> list[str]:
    """GHC runtime options (`+RTS -N -RTS`) are consumed by the runtime, not the program."""
    out: list[str] = []
    in_rts = False
    for arg in argv:
        if arg == "+RTS":
            in_rts = True
        elif arg == "-RTS":
            in_rts = False
        elif not in_rts:
            out.append(arg)
    return out


def dialled_socket(argv: list[str], env: Mapping[str, str]) -> str | None:
    """The socket the full CLI would dial, if the arguments are what they look like: the last
    `--socket-path` value, else $CARDANO_NODE_SOCKET_PATH. The node re-parses with the CLI's own
    parser and says "full" when its answer differs (a flag's value that reads `--socket-path`)."""
    path: str | None = None
    for i, arg in enumerate(argv[:-1]):
        if arg == "--socket-path":
            path = argv[i + 1]
    return path if path is not None else env.get("CARDANO_NODE_SOCKET_PATH") or None


def request(version: str, argv: list[str], env: Mapping[str, str], dialled: str) -> bytes | None:
    """The light request line, or None when an argument cannot travel in it (NUL, newline, \\x01)."""
    fields = [
        "cli", version, env.get("CARDANO_NODE_NETWORK_ID", UNSET), env.get("CARDANO_NODE_SOCKET_PATH", UNSET), dialled,
        *argv,
    ]  # fmt: skip
    if any(ch in field for field in fields[2:] for ch in "\0\n") or any(UNSET in a for a in (dialled, *argv)):
        return None
    try:
        return "\0".join(fields).encode("utf-8", "surrogateescape") + b"\n"
    except UnicodeEncodeError:
        return None


def _ask(path: str, line: bytes) -> bytes | None:
    """The node's whole reply to `line`, or None when there is no node to ask there."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(TIMEOUT_SECONDS)
        try:
            sock.connect(path)
        except OSError:
            return None  # the full CLI prints the connect error in its own words
        sock.sendall(line)
        chunks: list[bytes] = []
        size = 0
        while size < REPLY_LIMIT:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        sock.close()


def relay(reply: bytes) -> int | None:
    """Print the node's answer as the CLI would; None when the node asks for the full CLI (or the
    reply is not one it could have sent)."""
    head, newline, body = reply.partition(b"\n")
    if not newline:
        return None
    kind, _, arg = head.decode("ascii", "replace").partition(" ")
    if kind == "out" and not arg:
        _write(sys.stdout, body)
        return 0
    if kind == "err" and arg.isdigit():
        _write(sys.stderr, body)
        return int(arg)
    if kind == "file" and arg.isdigit() and len(body) >= int(arg):
        name = body[: int(arg)].decode("utf-8", "surrogateescape")
        with open(name, "wb") as handle:
            handle.write(body[int(arg) :])
        return 0
    return None


def _write(stream: TextIO, data: bytes) -> None:
    """The node's bytes as they are (a text stream without a buffer, as tests capture, gets text)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(data.decode("utf-8", "replace"))
    else:
        stream.flush()
        buffer.write(data)
    stream.flush()


def main(version: str, version_text: str, argv: list[str], full: Callable[[list[str]], int] | None = None) -> int:
    """`cardano-cli ARGS` of the release `version`: the version forms from `version_text`, the rest
    relayed to the node, or answered by `full` (default: simnode.cli_main of the release)."""
    if full is None:
        full = _full_cli(version)
    plain = strip_rts(argv)
    if plain in VERSION_ARGV:
        sys.stdout.write(version_text + "\n")
        return 0
    dialled = dialled_socket(plain, os.environ)
    line = None if dialled is None else request(version, plain, os.environ, dialled)
    reply = None if dialled is None or line is None else _ask(dialled, line)
    answered = None if reply is None else relay(reply)
    return full(argv) if answered is None else answered


def _full_cli(version: str) -> Callable[[list[str]], int]:
    def full(argv: list[str]) -> int:
        from orchestrator.lab.simnode import cli_main  # imported only here: the whole simulation

        return cli_main(version, argv)

    return full
