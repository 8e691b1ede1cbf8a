"""The offline commands end to end through orchestrator.cli.main."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orchestrator.cli import main
from tests import genesis_kit

REF = Path(__file__).resolve().parents[1] / "fixtures" / "cardano-reference"
BOOK = REF / "book-play-environments"


def test_topology_convert_relay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "topology.json"
    src.write_text(
        json.dumps(
            {
                "Producers": [
                    {"addr": "203.0.113.10", "port": 6000, "valency": 1},
                    {"addr": "203.0.113.12", "port": 6000, "valency": 1},
                    {"addr": "relays-new.cardano-mainnet.iohk.io", "port": 3001, "valency": 2},
                    {"addr": "198.51.100.7", "port": 3001, "valency": 1},
                ]
            },
            indent=4,
        )
    )
    rc = main(
        [
            "topology",
            "convert",
            str(src),
            "--role",
            "relay",
            "--network",
            "mainnet",
            "--producer",
            "203.0.113.10:6000",
            "--local-root",
            "203.0.113.12:6000",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    data = json.loads(out)
    assert out.startswith('{\n    "bootstrapPeers"')  # the original's 4-space indent
    assert data["localRoots"][0]["accessPoints"] == [
        {"address": "203.0.113.10", "port": 6000},
        {"address": "203.0.113.12", "port": 6000},
    ]
    assert data["localRoots"][1]["accessPoints"] == [{"address": "198.51.100.7", "port": 3001}]
    assert src.read_text().startswith('{\n    "Producers"')  # nothing written


def test_topology_convert_producer_without_flags_keeps_relays_as_trustable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "topology.json"
    src.write_text(
        json.dumps(
            {
                "Producers": [
                    {"addr": "203.0.113.11", "port": 6000, "valency": 1},
                    {"addr": "relay2.example.com", "port": 6000, "valency": 1},
                ]
            }
        )
    )
    assert main(["topology", "convert", str(src), "--role", "producer", "--network", "preview"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "localRoots": [
            {
                "accessPoints": [
                    {"address": "203.0.113.11", "port": 6000},
                    {"address": "relay2.example.com", "port": 6000},
                ],
                "advertise": False,
                "trustable": True,
                "valency": 2,
            }
        ],
        "publicRoots": [{"accessPoints": [], "advertise": False}],
        "useLedgerAfterSlot": -1,
    }


def test_topology_convert_book_legacy(capsys: pytest.CaptureFixture[str]) -> None:
    path = BOOK / "8.7.3" / "mainnet" / "topology-legacy.json"
    assert main(["topology", "convert", str(path), "--role", "relay", "--network", "mainnet"]) == 0
    assert capsys.readouterr().out == (BOOK / "8.9.0" / "mainnet" / "topology.json").read_text()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{\n  "Producers": [\n    {"addr": "x", "port": 1,}\n  ]\n}\n', "topology.json:3:29: not valid JSON"),
        (b'{"Producers": [{"addr": "203.0.113.1", "port": "3001", "valency": 1}]}', "$.Producers[0].port"),
        (b'{"Producers": "\xff"}', "topology.json:1:16: not UTF-8"),
        (b"[]", "topology.json: $: expected an object"),
    ],
)
def test_topology_convert_malformed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str
) -> None:
    src = tmp_path / "topology.json"
    src.write_bytes(content)
    assert main(["topology", "convert", str(src), "--role", "relay", "--network", "mainnet"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert expected in captured.err and str(src) in captured.err


def test_topology_convert_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topology", "convert", str(tmp_path / "nope.json"), "--role", "relay", "--network", "mainnet"]) == 1
    assert "nope.json: cannot read file" in capsys.readouterr().err


def test_topology_convert_bad_host_port(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["topology", "convert", "x.json", "--role", "relay", "--network", "mainnet", "--producer", "nohost"])
    assert info.value.code == 1  # a usage error: the command's error code (commands/_exit.py)


def test_config_migrate(capsys: pytest.CaptureFixture[str]) -> None:
    path = BOOK / "8.7.3" / "preprod" / "config.json"
    assert main(["config", "migrate", str(path), "--to", "8.9.0", "--role", "producer"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["PeerSharing"] is False and data["ConwayGenesisHash"].startswith("de609b28")
    assert "ConwayGenesisHash" in captured.err and "conway-genesis.json" in captured.err


def test_config_migrate_already_done(capsys: pytest.CaptureFixture[str]) -> None:
    path = BOOK / "8.9.0" / "preview" / "config.json"
    assert main(["config", "migrate", str(path), "--to", "8.9.0", "--role", "relay", "--network", "preview"]) == 0
    captured = capsys.readouterr()
    assert captured.out == path.read_text() and "nothing to change" in captured.err


def test_config_migrate_malformed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "config.json"
    src.write_text('{\n  "EnableP2P": true\n  "PeerSharing": false\n}\n')
    assert main(["config", "migrate", str(src), "--to", "8.9.0", "--role", "relay"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and f"{src}:3:16: cardano-node cannot read it as YAML (nor JSON)" in captured.err
    assert (
        main(
            [
                "config",
                "migrate",
                str(src),
                "--to",
                "8.9.0",
                "--role",
                "relay",
                "--conway-genesis",
                str(tmp_path / "missing.json"),
            ]
        )
        == 1
    )
    assert "missing.json: cannot read file" in capsys.readouterr().err


def node_dir(tmp_path: Path, era: str, net: str = "mainnet") -> Path:
    genesis_kit.node_dir(tmp_path, net, era)
    return tmp_path


def test_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = node_dir(tmp_path, "8.9.0")
    shutil.copy(BOOK / "8.9.0" / "mainnet" / "topology.json", d / "topology.json")
    rc = main(
        [
            "validate",
            "--config",
            str(d / "config.json"),
            "--topology",
            str(d / "topology.json"),
            "--node-version",
            "8.9.0",
        ]
    )
    assert rc == 0 and "would start" in capsys.readouterr().out


def test_validate_p2p_with_legacy_topology(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = node_dir(tmp_path, "8.9.0")
    shutil.copy(BOOK / "8.9.0" / "mainnet" / "topology-legacy.json", d / "topology.json")
    rc = main(
        [
            "validate",
            "--config",
            str(d / "config.json"),
            "--topology",
            str(d / "topology.json"),
            "--node-version",
            "8.9.0",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("Is your topology file formatted correctly? Expecting P2P Topology file format.")


def test_validate_890_config_on_873_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = node_dir(tmp_path, "8.9.0")
    cfg = json.loads((d / "config.json").read_text())
    cfg["PeerSharing"] = False
    (d / "config.json").write_text(json.dumps(cfg))
    assert main(["validate", "--config", str(d / "config.json"), "--node-version", "8.7.3"]) == 1
    assert "expected String, but encountered Boolean" in capsys.readouterr().err
    assert main(["validate", "--config", str(d / "config.json"), "--node-version", "8.9.0"]) == 0


def test_validate_wrong_genesis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = node_dir(tmp_path, "8.9.0")
    shutil.copy(BOOK / "8.7.3" / "mainnet" / "conway-genesis.json", d / "conway-genesis.json")
    assert main(["validate", "--config", str(d / "config.json"), "--node-version", "8.9.0"]) == 1
    err = capsys.readouterr().err
    assert "Conway related : Wrong genesis file: the actual hash is" in err
    assert f"[ConwayGenesisFile: {d / 'conway-genesis.json'}]" in err


def test_validate_malformed_and_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A trailing comma is fine for the node's YAML reader: the verdict is about what is missing.
    (tmp_path / "config.json").write_text('{\n  "Protocol": "Cardano",\n}\n')
    assert main(["validate", "--config", str(tmp_path / "config.json"), "--node-version", "8.9.0"]) == 1
    assert "Missing required field, either ByronGenesisFile or GenesisFile" in capsys.readouterr().err
    (tmp_path / "config.json").write_text('{\n  "Protocol": "Cardano",\n  "a": [1,\n}\n')
    assert main(["validate", "--config", str(tmp_path / "config.json"), "--node-version", "8.9.0"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'config.json'}:4:1: cardano-node cannot read it as YAML" in err
    assert "YAML parse exception at line 3, column 0" in err  # the node's own (0-based) words
    assert main(["validate", "--config", str(tmp_path / "gone.json"), "--node-version", "8.9.0"]) == 1
    assert "gone.json" in capsys.readouterr().err
    (tmp_path / "config.json").write_bytes(b"\xff\xfe")
    assert main(["validate", "--config", str(tmp_path / "config.json"), "--node-version", "8.9.0"]) == 1
    assert "UTF-8" in capsys.readouterr().err
