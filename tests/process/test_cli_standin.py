"""The light cardano-cli (cli_standin, as the release binary runs it) answers exactly as the full
simulated CLI (simnode.cli_main) does, against a real node process, without importing the simulation."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import pytest

from orchestrator.lab import cli_standin, releases, simnode
from tests.process.test_simnode import Lab, Node, wait_for

VERSIONS = ("8.9.0", "11.0.1")  # a legacy CLI and a current one; the node is 8.9.0 (the Lab's files)


@pytest.fixture(scope="module")
def binaries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("cli")
    paths = {}
    for version in VERSIONS:
        path = out / version / "cardano-cli"
        path.parent.mkdir()
        path.write_bytes(releases.build_zipapp(version, "cardano-cli"))
        path.chmod(0o755)
        paths[version] = path
    return paths


@pytest.fixture
def still_node(tmp_path: Path) -> Iterator[Node]:
    """A node with no peers and no sync: its tip stays where it started, so two CLIs asked a moment
    apart print the same bytes."""
    lab = Lab(tmp_path)
    lab.env["CARDANO_LAB_SYNC_SLOTS_PER_SEC"] = "0"
    try:
        yield lab.start(lab.node("still", [], seed_lag=86_400 * 3))
    finally:
        lab.close()


def light(binary: Path, argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    done = subprocess.run([str(binary), *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    return done.returncode, done.stdout, done.stderr


def full(version: str, argv: list[str], env: dict[str, str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with monkeypatch.context() as patch:
        for name in ("CARDANO_NODE_SOCKET_PATH", "CARDANO_NODE_NETWORK_ID"):
            patch.delenv(name, raising=False)
            if name in env:
                patch.setenv(name, env[name])
        patch.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            rc = simnode.cli_main(version, list(argv))
    return rc, out.getvalue(), err.getvalue()


def same_but_fd(got: tuple[int, str, str], want: tuple[int, str, str]) -> bool:
    """A connect error names the socket's file descriptor: another number in another process."""
    def fd(text: str) -> str:
        return re.sub(r"<socket: \d+>", "<socket: N>", text)

    return got[:2] == want[:2] and "<socket: " in got[2] and fd(got[2]) == fd(want[2])


def test_light_cli_answers_as_the_full_one(
    still_node: Node, binaries: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock = str(still_node.socket_path)
    base = {k: v for k, v in os.environ.items() if not k.startswith("CARDANO_NODE_")}
    cases: list[tuple[list[str], dict[str, str]]] = [
        (["query", "tip", "--mainnet", "--socket-path", sock], {}),
        (["latest", "query", "tip", "--mainnet"], {"CARDANO_NODE_SOCKET_PATH": sock}),
        (["+RTS", "-N", "-RTS", "query", "tip", "--mainnet"], {"CARDANO_NODE_SOCKET_PATH": sock}),
        (["query", "tip"], {"CARDANO_NODE_SOCKET_PATH": sock, "CARDANO_NODE_NETWORK_ID": "mainnet"}),
        (["query", "tip", "--testnet-magic", "764824073", "--socket-path", sock], {}),
        (["query", "tip", "--testnet-magic", "2", "--socket-path", sock], {}),  # the handshake refuses
        (["query", "tip", "--socket-path", sock], {}),  # no network: the parser's error
        (["query", "tip", "--mainnet", "--bogus", "--socket-path", sock], {}),
        (["query", "utxo", "--mainnet", "--socket-path", sock], {}),
        (["query", "tip", "--mainnet", "--socket-path", str(tmp_path / "absent.socket")], {}),  # no node there
        (["query", "tip", "--mainnet"], {}),  # no socket anywhere
    ]
    for version, binary in binaries.items():
        for argv, extra in cases:
            env = {**base, **extra}
            got = light(binary, argv, env, tmp_path)
            want = full(version, argv, env, tmp_path, monkeypatch)
            assert got == want or same_but_fd(got, want), (version, argv, extra)
        # The tip itself, parsed: the node's (still) tip, in the CLI's shape.
        rc, out, _ = light(binary, ["query", "tip", "--mainnet", "--socket-path", sock], base, tmp_path)
        tip = json.loads(out)
        assert rc == 0 and list(tip) == sorted(tip) and tip["slot"] == still_node.slot()
        # --out-file: the same bytes in the file, nothing on stdout, relative to the caller's directory.
        argv = ["query", "tip", "--mainnet", "--socket-path", sock, "--out-file", "tip.json"]
        assert light(binary, argv, base, tmp_path) == (0, "", "")
        written = (tmp_path / "tip.json").read_text()
        (tmp_path / "tip.json").unlink()
        assert full(version, argv, base, tmp_path, monkeypatch) == (0, "", "")
        assert (tmp_path / "tip.json").read_text() == written and json.loads(written) == tip


def test_light_cli_never_imports_the_simulation(still_node: Node, binaries: dict[str, Path]) -> None:
    """The point of it: a `query tip` costs a bare interpreter and one round trip; only the cases
    it hands over (no node on the socket) import simnode."""
    probe = (
        "import sys\n"
        "sys.path.insert(0, sys.argv.pop(1))\n"
        "from orchestrator.lab.cli_standin import main\n"
        "rc = main('8.9.0', 'cardano-cli x', sys.argv[1:])\n"
        "print(sorted(m for m in sys.modules if m.startswith('orchestrator')), file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    binary = str(binaries["8.9.0"])
    sock = str(still_node.socket_path)
    ask = ["/usr/bin/python3", "-IS", "-c", probe, binary, "query", "tip", "--mainnet", "--socket-path"]
    done = subprocess.run([*ask, sock], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 and json.loads(done.stdout)["slot"] == still_node.slot()
    assert done.stderr.strip().splitlines()[-1] == "['orchestrator', 'orchestrator.lab', 'orchestrator.lab.cli_standin']"
    done = subprocess.run([*ask, sock + "x"], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1 and "orchestrator.lab.simnode" in done.stderr.strip().splitlines()[-1]


def raw_reply(path: Path, fields: list[str]) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(str(path))
        conn.sendall("\0".join(fields).encode() + b"\n")
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_node_hands_over_what_the_light_cli_cannot_relay(still_node: Node) -> None:
    sock = str(still_node.socket_path)
    unset = cli_standin.UNSET
    ask = ["query", "tip", "--mainnet", "--socket-path", sock]
    assert raw_reply(still_node.socket_path, ["cli", "8.9.0", unset, unset, sock, *ask]).startswith(b"out\n{")
    # The CLI's parser reads another socket than the one dialled: the full CLI decides.
    assert raw_reply(still_node.socket_path, ["cli", "8.9.0", unset, unset, sock + "-other", *ask]) == b"full\n"
    assert raw_reply(still_node.socket_path, ["cli", "9.9.9", unset, unset, sock, *ask]) == b"full\n"
    assert raw_reply(still_node.socket_path, ["cli", "8.9.0"]) == b"full\n"
    # The full CLI's own request is answered as before.
    reply = raw_reply(still_node.socket_path, ["tip 764824073"])
    assert json.loads(reply) == {"network": "mainnet", "slot": still_node.slot()}
    wait_for("node still up", lambda: still_node.proc is not None and still_node.proc.poll() is None)


def test_the_node_binary_runs_as_cardano_node(tmp_path: Path) -> None:
    """The release binary is sh in front of the archive: the node it starts (the same process, by
    exec) still names itself cardano-node, as `ss -p` shows it and the facts probe counts its peers."""
    binary = tmp_path / "bin" / "cardano-node"
    binary.parent.mkdir()
    binary.write_bytes(releases.build_zipapp("8.9.0", "cardano-node"))
    binary.chmod(0o755)
    lab = Lab(tmp_path)
    try:
        node = lab.node("named", [])
        env = {k: v for k, v in lab.env.items() if k != "PYTHONPATH"}  # everything from the archive
        node.proc = subprocess.Popen([str(binary), *node.argv()], env=env, cwd=node.root,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        wait_for("the node's socket", node.socket_path.exists)
        assert Path(f"/proc/{node.proc.pid}/comm").read_text() == "cardano-node\n"
        cmdline = Path(f"/proc/{node.proc.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[:4] == [b"/usr/bin/python3", b"-IS", str(binary).encode(), b"run"]
    finally:
        lab.close()
