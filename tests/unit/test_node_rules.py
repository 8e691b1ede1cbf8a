"""cardano-node's own startup rules, against the real files and the real messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cardano import node_rules as nr
from orchestrator.cardano import releases
from tests.genesis_kit import put_genesis

REF = Path(__file__).resolve().parents[1] / "fixtures" / "cardano-reference"
BOOK = REF / "book-play-environments"
NETS = ("mainnet", "preprod", "preview")


def cfg(**changes: object) -> str:
    data = json.loads((BOOK / "8.9.0" / "mainnet" / "config.json").read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return json.dumps(data, indent=2)


@pytest.mark.parametrize("version", releases.VERSIONS)
@pytest.mark.parametrize("era", ["8.7.3", "8.9.0"])
@pytest.mark.parametrize("net", NETS)
def test_book_configs_start_with_their_own_genesis(version: str, era: str, net: str, tmp_path: Path) -> None:
    path = BOOK / era / net / "config.json"
    put_genesis(tmp_path, net, era)
    check = nr.check_config(version, path.read_text(), str(tmp_path))
    assert check.ok, check.errors
    assert check.p2p is True


@pytest.mark.parametrize(
    ("version", "changes", "expected"),
    [
        (
            "8.9.0",
            {"PeerSharing": "PeerSharingEnabled"},
            "Error in $.PeerSharing: parsing PeerSharing failed, expected Boolean, but encountered String",
        ),
        (
            "8.7.3",
            {"PeerSharing": True},
            "Error in $.PeerSharing: parsing PeerSharing failed, expected String, but encountered Boolean",
        ),
        ("8.7.3", {"PeerSharing": "yes"}, "PeerSharing.parseJSON: could not parse value: yes"),
        ("8.9.0", {"EnableP2P": "true"}, "Error in $.EnableP2P: parsing Bool failed"),
        (
            "8.9.0",
            {"TestEnableDevelopmentNetworkProtocols": True, "ExperimentalProtocolsEnabled": False},
            "TestEnableDevelopmentNetworkProtocols has been renamed to ExperimentalProtocolsEnabled",
        ),
        (
            "8.7.3",
            {"TestEnableDevelopmentNetworkProtocols": True},
            "TestEnableDevelopmentNetworkProtocols has been renamed to ExperimentalProtocolsEnabled",
        ),
        ("8.9.0", {"Protocol": None}, 'Error in $: key "Protocol" not found'),
        ("8.9.0", {"ConwayGenesisFile": None}, 'key "ConwayGenesisFile" not found'),
        ("8.9.0", {"TargetNumberOfRootPeers": "100"}, "Error in $.TargetNumberOfRootPeers: parsing Int failed"),
    ],
)
def test_config_rejections(version: str, changes: dict[str, object], expected: str) -> None:
    check = nr.check_config(version, cfg(**changes))
    assert not check.ok
    assert expected in check.errors[0]


@pytest.mark.parametrize(
    ("version", "changes"),
    [
        ("8.9.0", {"PeerSharing": False}),
        ("8.9.0", {"PeerSharing": True}),
        ("8.7.3", {"PeerSharing": "PeerSharingDisabled"}),
        ("8.9.0", {"TestEnableDevelopmentNetworkProtocols": False, "ExperimentalProtocolsEnabled": False}),
        ("8.9.0", {"MinNodeVersion": "8.9.2", "SomethingUnknown": [1, 2]}),
        ("8.7.3", {"EnableP2P": None}),
    ],
)
def test_config_acceptances(version: str, changes: dict[str, object]) -> None:
    assert nr.check_config(version, cfg(**changes)).ok


def test_p2p_flag_absent_means_legacy() -> None:
    assert nr.check_config("8.9.0", cfg(EnableP2P=None)).p2p is False


@pytest.mark.parametrize("text", ['{"EnableP2P": true, // comment\n}', "not json", "[1, 2]", '{"a": NaN}'])
def test_config_not_json(text: str) -> None:
    check = nr.check_config("8.9.0", text)
    assert not check.ok and check.errors[0].startswith("Error in $")


def test_wrong_conway_hash(tmp_path: Path) -> None:
    put_genesis(tmp_path, "mainnet", "8.7.3")
    check = nr.check_config("8.9.0", cfg(), str(tmp_path))
    old = nr.blake2b_256_hex((tmp_path / "conway-genesis.json").read_bytes())
    assert not check.ok
    # The node's words (Protocol/Cardano.hs prefix, Protocol/Shelley.hs message), then the file.
    assert check.errors == (
        f'Conway related : Wrong genesis file: the actual hash is "{old}", but the expected genesis hash given in '
        'the node configuration file is "de609b281cb3d8ae91a9d63a00c87092975612d603aa54c0f1c6a781e33d6e1e"'
        f" [ConwayGenesisFile: {tmp_path / 'conway-genesis.json'}]",
    )


def test_missing_genesis_file(tmp_path: Path) -> None:
    check = nr.check_config("8.9.0", cfg(), str(tmp_path))
    # Byron first (the node's order), and every era is reported, each with its path.
    assert not check.ok and check.errors[0].startswith("There was an error parsing the genesis file")
    assert [e.split(":")[0] for e in check.errors[1:]] == ["Shelley related", "Alonzo related", "Conway related "]
    assert all(str(tmp_path) in e for e in check.errors)


@pytest.mark.parametrize("net", NETS)
def test_blake2b_matches_book_hash(net: str) -> None:
    conf = json.loads((BOOK / "8.9.0" / net / "config.json").read_text())
    data = (BOOK / "8.9.0" / net / "conway-genesis.json").read_bytes()
    assert nr.blake2b_256_hex(data) == conf["ConwayGenesisHash"]


LEGACY = '{"Producers": [{"addr": "relays-new.cardano-mainnet.iohk.io", "port": 3001, "valency": 2}]}'
BOOK_P2P = (BOOK / "8.9.0" / "mainnet" / "topology.json").read_text()
TRUST_NONE = json.dumps(
    {
        "localRoots": [{"accessPoints": [{"address": "203.0.113.5", "port": 3001}], "advertise": False, "valency": 1}],
        "publicRoots": [],
        "bootstrapPeers": [],
    }
)
TRUST_OK = json.dumps(
    {
        "localRoots": [
            {
                "accessPoints": [{"address": "203.0.113.5", "port": 3001}],
                "advertise": False,
                "trustable": True,
                "valency": 1,
            }
        ],
        "publicRoots": [],
        "bootstrapPeers": [],
    }
)
TRUST_EMPTY_GROUP = json.dumps(
    {"localRoots": [{"accessPoints": [], "trustable": True, "valency": 1}], "publicRoots": [], "bootstrapPeers": []}
)


@pytest.mark.parametrize(
    ("version", "p2p", "text", "error_start"),
    [
        ("8.9.0", True, LEGACY, "Is your topology file formatted correctly? Expecting P2P Topology file format."),
        ("8.7.3", True, LEGACY, "Is your topology file formatted correctly? Expecting P2P Topology file format."),
        (
            "8.9.0",
            False,
            BOOK_P2P,
            "Is your topology file formatted correctly? Expecting Non-P2P Topology file format.",
        ),
        ("8.9.0", True, TRUST_NONE, "You seem to have not configured any trustable peers"),
        ("8.9.0", True, TRUST_EMPTY_GROUP, "You seem to have not configured any trustable peers"),
        ("8.9.0", True, '{"localRoots": []}', "Is your topology file formatted correctly?"),
        (
            "8.9.0",
            True,
            '{"localRoots": [{"accessPoints": []}], "publicRoots": []}',
            "Is your topology file formatted correctly?",
        ),
        (
            "8.9.0",
            True,
            '{"localRoots": [{"accessPoints": [{"address": "x"}], "valency": 1}], "publicRoots": []}',
            "Is your topology file formatted correctly?",
        ),
        (
            "8.9.0",
            True,
            '{"localRoots": [], "publicRoots": [], "bootstrapPeers": [{"address": 1, "port": 1}]}',
            "Is your topology file formatted correctly?",
        ),
        (
            "8.9.0",
            False,
            '{"Producers": [{"addr": "203.0.113.1", "port": "3001", "valency": 1}]}',
            "Is your topology file formatted correctly? Expecting Non-P2P",
        ),
    ],
)
def test_topology_rejections(version: str, p2p: bool, text: str, error_start: str) -> None:
    errors, _ = nr.check_topology(version, p2p, text)
    assert errors and errors[0].startswith(error_start), errors


def test_missing_valency_names_hot_valency() -> None:
    errors, _ = nr.check_topology("8.9.0", True, '{"localRoots": [{"accessPoints": []}], "publicRoots": []}')
    assert errors[0].endswith('Error in $.localRoots[0]: key "hotValency" not found')


@pytest.mark.parametrize(
    ("version", "text"),
    [
        ("8.9.0", TRUST_OK),
        ("8.7.3", TRUST_NONE),  # 8.7.3 knows neither bootstrapPeers nor trustable: ignored
        ("8.7.3", BOOK_P2P),
        ("8.9.0", '{"localRoots": [{"accessPoints": [], "hotValency": 1, "warmValency": 2}], "publicRoots": []}'),
        ("8.9.0", '{"localRoots": [], "publicRoots": [], "bootstrapPeers": null, "description": "x"}'),
    ],
)
def test_topology_acceptances(version: str, text: str) -> None:
    assert nr.check_topology(version, True, text) == ((), ())


def test_legacy_p2p_shape_is_accepted_with_a_warning() -> None:
    text = (REF / "cardano-node-repo" / "8.9.0" / "mainnet-p2p-toplogy.json").read_text()
    errors, warnings = nr.check_topology("8.9.0", True, text)
    assert errors == ()
    assert warnings[0].startswith("You are using legacy p2p topology file format.")


def test_legacy_p2p_group_needs_trustable_in_890_only() -> None:
    top = {
        "LocalRoots": {"groups": [{"localRoots": {"accessPoints": [], "advertise": False}, "hotValency": 1}]},
        "PublicRoots": [],
    }
    assert nr.check_topology("8.9.0", True, json.dumps(top))[0]
    assert nr.check_topology("8.7.3", True, json.dumps(top))[0] == ()


def test_check_node_files_p2p_flip_without_topology_conversion(tmp_path: Path) -> None:
    put_genesis(tmp_path, "mainnet", "8.9.0")
    (tmp_path / "config.json").write_text(cfg())
    (tmp_path / "topology.json").write_text(LEGACY)
    check = nr.check_node_files("8.9.0", str(tmp_path / "config.json"), str(tmp_path / "topology.json"))
    assert not check.ok and check.p2p
    assert check.errors[0].startswith("Is your topology file formatted correctly? Expecting P2P Topology file format.")
    (tmp_path / "topology.json").write_text(BOOK_P2P)
    check = nr.check_node_files("8.9.0", str(tmp_path / "config.json"), str(tmp_path / "topology.json"))
    assert check.ok and check.topology is not None and check.config is not None


def test_check_node_files_missing_and_binary(tmp_path: Path) -> None:
    check = nr.check_node_files("8.9.0", str(tmp_path / "nope.json"), str(tmp_path / "t.json"))
    assert not check.ok and "nope.json" in check.errors[0]
    (tmp_path / "config.json").write_bytes(b'{"a": "\xff"}')
    check = nr.check_node_files("8.9.0", str(tmp_path / "config.json"), str(tmp_path / "t.json"))
    assert not check.ok and "UTF-8" in check.errors[0]


def test_unknown_version() -> None:
    with pytest.raises(ValueError, match="not in the release catalogue"):
        nr.check_config("9.9.9", "{}")
