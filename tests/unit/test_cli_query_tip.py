"""`cardano-cli query tip` as the CLI of 8.9.0, 10.6.4 and 11.0.1 prints it: facts read both forms,
and the lab's CLI renders each release's form.

The fixtures in tests/fixtures/cli-query-tip/ are rendered from cardano-cli's code at the tags
cardano-cli-8.20.3.0, -10.15.0.0 and -11.0.0.0 (its SOURCES.md cites file and line); which CLI each
node release ships is the catalogue's (`NodeRelease.cli_version`, with its source).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from orchestrator.cardano import health, releases
from orchestrator.cardano.health import ParseError
from orchestrator.cardano.layouts import GUILD
from orchestrator.cardano.releases import cli, forks
from orchestrator.facts import sections  # noqa: F401  (registers the sections)
from orchestrator.facts.record import REGISTRY, Output
from orchestrator.lab import simnode
from orchestrator.model import Host, Role

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cli-query-tip"
RELAY = Host(name="relay1", role=Role.RELAY, address="198.18.0.11", layout=GUILD)
# node release → the fixture its CLI's synced output was rendered for
SYNCED = {"8.9.0": "8.20.3.0-synced.json", "10.6.4": "10.15.0.0-synced.json", "11.0.1": "11.0.0.0-synced.json"}


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_each_catalogued_release_names_the_cli_it_ships_or_says_it_is_unconfirmed() -> None:
    for record in releases.CATALOGUE:
        if record.cli_version is None:
            assert record.sources["cli_version"].startswith("UNCONFIRMED"), record.version
        else:
            assert record.cli_version.count(".") == 3, record.version
            assert "UNCONFIRMED" not in record.sources["cli_version"], record.version
    # what the issue needed: the current releases' CLI versions, each from the node's build plan or a golden file
    assert releases.lookup("10.6.4").cli_version == "10.15.0.0"
    assert releases.lookup("11.0.1").cli_version == "11.0.0.0"
    assert releases.lookup("10.1.4").cli_version is None  # two builds fit its bounds: not guessed


def test_tip_form_by_cli_release() -> None:
    assert cli.tip_form("8.7.3") == cli.TipForm("8.17.0.0", final_newline=True, format_flags=False)
    assert cli.tip_form("8.9.0") == cli.TipForm("8.20.3.0", final_newline=True, format_flags=False)
    for node in ("10.5.3", "10.6.4", "10.7.1", "11.0.1"):
        form = cli.tip_form(node)
        assert form is not None and not form.final_newline and form.format_flags, node
    assert cli.tip_form("10.1.4") is None
    # the boundaries themselves (Run.hs putStrLn → writeLazyByteStringOutput at 8.21.0.0; flags at 10.9.0.0)
    assert cli.tip_form_of_cli("8.20.3.0").final_newline and not cli.tip_form_of_cli("8.21.0.0").final_newline
    assert not cli.tip_form_of_cli("10.8.0.0").format_flags and cli.tip_form_of_cli("10.9.0.0").format_flags
    with pytest.raises(ValueError, match="not a cardano-cli version"):
        cli.tip_form_of_cli("ten")


@pytest.mark.parametrize(
    ("name", "slot", "era", "progress", "to_end"),
    [
        ("8.20.3.0-synced.json", 119_362_494, "Babbage", 100.0, 42306),
        ("10.15.0.0-synced.json", 186_833_762, "Conway", 100.0, 395038),
        ("11.0.0.0-synced.json", 186_833_767, "Conway", 100.0, 395033),
        ("11.0.0.0-syncing.json", 186_812_171, "Conway", 99.99, 416629),
        ("11.0.0.0-genesis.json", None, "Byron", 0.0, 21600),
        ("11.0.0.0-no-system-start.txt", 186_833_767, "Conway", None, 395033),
    ],
)
def test_facts_read_both_forms(name: str, slot: int | None, era: str, progress: float | None, to_end: int) -> None:
    text = fixture(name)
    parsed = REGISTRY["tip"].parse(Output(RELAY, text, 0))
    tip = parsed.fields["tip"]
    assert isinstance(tip, health.Tip) and not parsed.errors
    assert (tip.slot, tip.era, tip.sync_progress, tip.slots_to_epoch_end) == (slot, era, progress, to_end)
    if slot is None:
        assert tip.hash is None and tip.block is None  # genesis: the CLI leaves slot/hash/block out
    else:
        assert tip.hash is not None and len(tip.hash) == 64 and tip.block is not None


def test_a_missing_local_state_is_the_tip_error_with_the_clis_reason() -> None:
    text = fixture("11.0.0.0-no-local-state.txt")
    with pytest.raises(ParseError, match=r"no local state \(Local state unavailable: AFPointTooOld\)"):
        health.parse_tip(text)
    parsed = REGISTRY["tip"].parse(Output(RELAY, text, 0))  # the CLI exits 0 here
    assert parsed.fields == {"tip_error": "query tip: no local state (Local state unavailable: AFPointTooOld)"}
    with pytest.raises(ParseError, match="no reason printed"):
        health.parse_tip("null")


def test_the_fixtures_have_the_shape_the_code_prints() -> None:
    for node, name in SYNCED.items():
        text = fixture(name)
        form = cli.tip_form(node)
        assert form is not None and name.startswith(form.cli_version)
        assert text.endswith("}\n") if form.final_newline else text.endswith("}"), name
        assert list(json.loads(text)) == list(cli.TIP_KEYS)
        assert all(line.startswith('    "') for line in text.strip().splitlines()[1:-1])


def _shape(text: str) -> list[str]:
    """The text with each value replaced: what must match between the lab and the CLI's code."""
    return [re.sub(r'(": ).*?(,?)$', r"\1V\2", line) for line in text.split("\n")]


@pytest.mark.parametrize("node", sorted(SYNCED))
def test_the_lab_cli_prints_its_release_s_form(node: str) -> None:
    reference = fixture(SYNCED[node])
    now = 1_778_400_062.0  # 2026-05-10T08:01:02Z
    slot = simnode.networks.network("mainnet").expected_slot(now) - 4
    body, end = simnode.tip_text(node, "mainnet", slot, now)
    assert _shape(body + end) == _shape(reference)
    shown = json.loads(body)
    assert shown["era"] == forks.chain_era(node) == json.loads(reference)["era"]
    assert shown["syncProgress"] == "100.00" and shown["slot"] == slot


def test_the_lab_cli_takes_the_format_flags_only_where_the_release_s_cli_does() -> None:
    assert simnode._parse_cli_query(["--mainnet", "--output-json"], "10.6.4") == (simnode.networks.MAINNET_MAGIC, None, None)
    assert simnode._parse_cli_query(["--output-json", "--testnet-magic", "1"], "11.0.1") == (1, None, None)
    assert simnode._parse_cli_query(["--mainnet", "--output-json"], "8.9.0") == "Invalid option `--output-json'"
    refused = simnode._parse_cli_query(["--mainnet", "--output-yaml"], "11.0.1")
    assert isinstance(refused, str) and "not simulated" in refused


def test_the_10x_version_line_parses() -> None:
    # runDisplayVersion, cardano-cli/src/Cardano/CLI/Run.hs @cardano-cli-11.0.0.0 L84-99
    text = "cardano-cli 10.15.0.0 - linux-x86_64 - ghc-9.6\ngit rev 5a4dcd1b410ba78f9faab7acd48f606496909935\n"
    info = health.parse_version(text)
    assert (info.version, info.platform, info.compiler) == ("10.15.0.0", "linux-x86_64", "ghc-9.6")
    assert REGISTRY["cli_version"].parse(Output(RELAY, text, 0)).fields == {"cli_version": "10.15.0.0"}


@pytest.mark.parametrize(("node", "final"), [("8.9.0", "}\n"), ("10.6.4", "}"), ("11.0.1", "}")])
def test_the_lab_cli_end_to_end_against_a_node_socket(node: str, final: str, tmp_path: Path) -> None:
    """The whole `cardano-cli query tip` path of the lab's CLI (socket, reply, print), with a stand-in
    for the node's side of the lab's one-line socket protocol."""
    import contextlib
    import io
    import socket
    import threading
    import time

    path = str(tmp_path / "node.socket")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    slot = simnode.networks.network("mainnet").expected_slot(time.time())

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            assert conn.makefile("r").readline().startswith("tip ")
            conn.sendall((json.dumps({"network": "mainnet", "slot": slot}) + "\n").encode())

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = simnode.cli_main(node, ["latest", "query", "tip", "--mainnet", "--socket-path", path])
    thread.join(5)
    server.close()
    assert rc == 0
    text = out.getvalue()
    assert text.endswith(final) and not text.endswith(final + "\n")
    tip = health.parse_tip(text)
    assert tip.slot == slot and tip.era == forks.chain_era(node) and tip.sync_progress == 100.0
