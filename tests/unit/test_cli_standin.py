"""The light cardano-cli's pure parts: what it dials, what it sends, how it relays the node's reply."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.lab import cli_standin as light


def test_strip_rts() -> None:
    assert light.strip_rts(["+RTS", "-N", "-A64m", "-RTS", "query", "tip"]) == ["query", "tip"]
    assert light.strip_rts(["--version"]) == ["--version"]
    assert light.strip_rts(["query", "+RTS", "-N"]) == ["query"]  # runtime options to the end


def test_dialled_socket_is_the_last_flag_then_the_environment() -> None:
    env = {"CARDANO_NODE_SOCKET_PATH": "/env.socket"}
    assert light.dialled_socket(["query", "tip", "--socket-path", "/a", "--socket-path", "/b"], env) == "/b"
    assert light.dialled_socket(["query", "tip", "--mainnet"], env) == "/env.socket"
    assert light.dialled_socket(["query", "tip", "--socket-path"], env) == "/env.socket"  # no value: the parser's error
    assert light.dialled_socket(["query", "tip"], {}) is None
    assert light.dialled_socket(["query", "tip"], {"CARDANO_NODE_SOCKET_PATH": ""}) is None


def test_request_line_and_what_it_cannot_carry() -> None:
    line = light.request("10.6.4", ["query", "tip", "--mainnet"], {"CARDANO_NODE_NETWORK_ID": "2"}, "/s")
    assert line == b"cli\x0010.6.4\x002\x00\x01\x00/s\x00query\x00tip\x00--mainnet\n"
    assert line.count(b"\n") == 1
    for bad in ("a\nb", "a\0b", "a\x01b"):
        assert light.request("10.6.4", ["query", "tip", bad], {}, "/s") is None
    assert light.request("10.6.4", ["query"], {"CARDANO_NODE_SOCKET_PATH": "x\ny"}, "/s") is None


def test_relay_prints_exactly_what_the_node_sent(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    assert light.relay(b'out\n{\n    "slot": 5\n}\n') == 0
    assert capsys.readouterr() == ('{\n    "slot": 5\n}\n', "")
    assert light.relay(b"err 1\nMissing: --socket-path SOCKET_PATH\n") == 1
    assert capsys.readouterr() == ("", "Missing: --socket-path SOCKET_PATH\n")
    monkeypatch.chdir(tmp_path)
    assert light.relay(b"file 8\ntip.json{}") == 0
    assert (tmp_path / "tip.json").read_text() == "{}" and capsys.readouterr() == ("", "")
    # Anything else hands over to the full CLI (None), printing nothing.
    for reply in (b"full\n", b"", b"out", b"err x\n", b"file 99\nshort", b"what\n"):
        assert light.relay(reply) is None, reply
    assert capsys.readouterr() == ("", "")


def test_main_answers_versions_and_hands_over_without_a_node(capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:  # fmt: skip
    handed: list[list[str]] = []

    def full(argv: list[str]) -> int:
        handed.append(argv)
        return 7

    assert light.main("8.9.0", "cardano-cli 8.20.3.0\ngit rev x", ["+RTS", "-N", "-RTS", "version"], full) == 0
    assert capsys.readouterr().out == "cardano-cli 8.20.3.0\ngit rev x\n" and not handed
    monkeypatch.delenv("CARDANO_NODE_SOCKET_PATH", raising=False)
    assert light.main("8.9.0", "", ["query", "tip", "--mainnet"], full) == 7  # no socket named
    absent = str(tmp_path / "absent.socket")
    assert light.main("8.9.0", "", ["query", "tip", "--socket-path", absent], full) == 7  # nobody there
    assert handed == [["query", "tip", "--mainnet"], ["query", "tip", "--socket-path", absent]]
    assert capsys.readouterr() == ("", "")
