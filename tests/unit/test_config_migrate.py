"""config.json migration to 8.9.0: only what is needed, the operator's file otherwise kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cardano import node_rules
from orchestrator.cardano.config import (
    detect_indent,
    infer_network,
    migrate_config,
    render_like,
    shipped_file,
    validate_config,
)
from orchestrator.cardano.diffs import unified_diff
from orchestrator.cardano.errors import FileFormatError
from orchestrator.model import Role
from tests.genesis_kit import put_genesis, put_kept_genesis

REF = Path(__file__).resolve().parents[1] / "fixtures" / "cardano-reference"


def is_10x_reference(path: Path) -> bool:
    """A reference file of a 10.x/11.x tag or the 11.1 branch (not an 8.x file)."""
    return any(part.startswith(("10.", "11.", "branch-")) for part in path.parts)

BOOK = REF / "book-play-environments"
# The 8.x files: the 10.x/11.x reference files are judged by test_release_migrations.py.
NODE_CONFIGS = sorted(
    p for p in REF.rglob("*config*.json")
    if "db-sync" not in p.name and "submit-api" not in p.name and not is_10x_reference(p)
)  # fmt: skip
OLD = [p for p in NODE_CONFIGS if "8.7.3" in str(p)]
NEW_RELAY = [
    p for p in NODE_CONFIGS if "8.7.3" not in str(p) and "new-tracing" not in p.name and p.name != "config-bp.json"
]
NEW_BP = [p for p in NODE_CONFIGS if p.name == "config-bp.json"]


def ids(p: Path) -> str:
    return str(p.relative_to(REF))


@pytest.mark.parametrize("path", OLD, ids=ids)
@pytest.mark.parametrize("role", list(Role))
def test_873_configs_migrate_to_valid_890(path: Path, role: Role, tmp_path: Path) -> None:
    text = path.read_text()
    result = migrate_config(text, role, path=str(tmp_path / "config.json"))
    assert result.changed
    data = json.loads(result.text)
    assert data["EnableP2P"] is True
    assert data["ConwayGenesisHash"] == "de609b281cb3d8ae91a9d63a00c87092975612d603aa54c0f1c6a781e33d6e1e"
    if role is Role.BLOCK_PRODUCER:
        assert data["PeerSharing"] is False
    # every other key and value kept, and the original keys in their order
    old = json.loads(text)
    changed = {"EnableP2P", "ConwayGenesisHash", "PeerSharing"}
    assert all(data[k] == v for k, v in old.items() if k not in changed)
    assert [k for k in data if k in old] == list(old)
    # writes: the config and the genesis that goes with the hash
    config_write, genesis_write = result.writes
    assert config_write.content == result.text.encode()
    assert genesis_write.path == str(tmp_path / data["ConwayGenesisFile"])
    assert node_rules.blake2b_256_hex(genesis_write.content) == data["ConwayGenesisHash"]
    for write in result.writes:
        Path(write.path).write_bytes(write.content)
    put_kept_genesis(tmp_path, data, result.network)
    check = validate_config(result.text, "8.9.0", str(tmp_path))
    assert check.ok, check.errors
    assert migrate_config(result.text, role, path=str(tmp_path / "config.json")).changed is False


@pytest.mark.parametrize("path", NEW_RELAY, ids=ids)
def test_890_relay_configs_are_left_unchanged(path: Path) -> None:
    text = path.read_text()
    result = migrate_config(text, Role.RELAY)
    assert result.text == text and result.changes == () and result.writes == ()
    assert not unified_diff("config.json", text, result.text).changed


@pytest.mark.parametrize("path", NEW_BP, ids=ids)
def test_890_bp_configs_are_left_unchanged(path: Path) -> None:
    text = path.read_text()
    assert migrate_config(text, Role.BLOCK_PRODUCER).text == text


@pytest.mark.parametrize("path", NODE_CONFIGS, ids=ids)
@pytest.mark.parametrize("role", list(Role))
def test_migration_is_idempotent(path: Path, role: Role) -> None:
    once = migrate_config(path.read_text(), role)
    assert migrate_config(once.text, role).text == once.text


@pytest.mark.parametrize(
    ("before", "role", "after"),
    [
        ("PeerSharingEnabled", Role.RELAY, True),
        ("PeerSharingDisabled", Role.RELAY, False),
        ("PeerSharingEnabled", Role.BLOCK_PRODUCER, False),
        (True, Role.BLOCK_PRODUCER, False),
        (True, Role.RELAY, True),
        (None, Role.RELAY, None),
        (None, Role.BLOCK_PRODUCER, False),
    ],
)
def test_peer_sharing_rule(before: object, role: Role, after: object) -> None:
    data = json.loads((BOOK / "8.7.3" / "preprod" / "config.json").read_text())
    if before is not None:
        data["PeerSharing"] = before
    result = json.loads(migrate_config(json.dumps(data, indent=2), role).text)
    assert result.get("PeerSharing") == after


def test_peer_sharing_can_be_requested_on_a_relay() -> None:
    text = (BOOK / "8.9.0" / "mainnet" / "config.json").read_text()
    result = migrate_config(text, Role.RELAY, peer_sharing=True)
    assert json.loads(result.text)["PeerSharing"] is True
    keys = list(json.loads(result.text))
    assert keys.index("PeerSharing") == keys.index("MaxKnownMajorProtocolVersion") + 1  # sorted position


def test_targets_added_when_absent_kept_when_present() -> None:
    data = json.loads((REF / "cardano-node-repo" / "8.7.3" / "mainnet-config.json").read_text())
    data["TargetNumberOfActivePeers"] = 7
    result = json.loads(migrate_config(json.dumps(data), Role.RELAY).text)
    assert [
        result[k]
        for k in (
            "TargetNumberOfActivePeers",
            "TargetNumberOfEstablishedPeers",
            "TargetNumberOfKnownPeers",
            "TargetNumberOfRootPeers",
        )
    ] == [7, 50, 100, 100]


@pytest.mark.parametrize("indent", [2, 4, "\t"])
def test_indent_and_trailing_newline_kept(indent: int | str) -> None:
    data = json.loads((BOOK / "8.7.3" / "mainnet" / "config.json").read_text())
    text = json.dumps(data, indent=indent)  # no trailing newline
    result = migrate_config(text, Role.RELAY)
    assert detect_indent(result.text) == indent
    assert not result.text.endswith("\n")
    assert render_like({"a": 1}, None) == '{\n  "a": 1\n}\n'


def test_renamed_experimental_key() -> None:
    data = json.loads((BOOK / "8.9.0" / "mainnet" / "config.json").read_text())
    data["TestEnableDevelopmentNetworkProtocols"] = False
    result = migrate_config(json.dumps(data, indent=2), Role.RELAY)
    assert "ExperimentalProtocolsEnabled" in json.loads(result.text)
    assert node_rules.check_config("8.9.0", result.text).ok


def test_custom_conway_genesis(tmp_path: Path) -> None:
    genesis = b'{"custom": true}\n'
    result = migrate_config(
        (BOOK / "8.7.3" / "preview" / "config.json").read_text(), Role.RELAY, conway_genesis=genesis
    )
    assert json.loads(result.text)["ConwayGenesisHash"] == node_rules.blake2b_256_hex(genesis)
    assert result.writes[1].content == genesis


@pytest.mark.parametrize("net", ["mainnet", "preprod", "preview"])
def test_network_inferred(net: str) -> None:
    assert infer_network(json.loads((BOOK / "8.7.3" / net / "config.json").read_text())) == net
    assert (
        shipped_file("8.9.0", net, "conway-genesis.json") == (BOOK / "8.9.0" / net / "conway-genesis.json").read_bytes()
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # The node reads config as YAML: `// ...` is then a key of a flow mapping, not a syntax error.
        ('{\n  "EnableP2P": true,\n  // no comments in JSON\n}', "c.json: cannot tell the network"),
        ('{\n  "EnableP2P": true,\n  "a": [1,\n}', "c.json:4:1: cardano-node cannot read it as YAML"),
        ("EnableP2P: true\n  bad: indent\n", "c.json:2:6: cardano-node cannot read it as YAML"),
        ("[]", "c.json: a node configuration must be a mapping (JSON object), found Array"),
        ("- a\n- b\n", "c.json: a node configuration must be a mapping (JSON object), found Array"),
        ("", "c.json: a node configuration must be a mapping (JSON object), found Null"),
        ('{"Protocol": "Cardano"}', "c.json: cannot tell the network"),
        ('{"RequiresNetworkMagic": "RequiresNoMagic", "PeerSharing": 3}', "c.json: PeerSharing: expected"),
    ],
)
def test_malformed_configs(text: str, message: str) -> None:
    with pytest.raises(FileFormatError) as info:
        migrate_config(text, Role.RELAY, path="c.json")
    assert str(info.value).startswith(message)


def test_migrated_config_with_old_genesis_fails_the_hash_check(tmp_path: Path) -> None:
    result = migrate_config((BOOK / "8.7.3" / "mainnet" / "config.json").read_text(), Role.RELAY)
    put_genesis(tmp_path, "mainnet", "8.7.3")
    check = validate_config(result.text, "8.9.0", str(tmp_path))
    assert not check.ok and check.errors[0].startswith("Conway related : Wrong genesis file: the actual hash is")


def test_diff_labels() -> None:
    diff = unified_diff(
        "/opt/cardano/config/config.json", '{\n  "a": 1\n}\n', '{\n  "a": 2\n}\n', change_reason="PeerSharing"
    )
    assert diff.diff.startswith("--- a/opt/cardano/config/config.json\n+++ b/opt/cardano/config/config.json\n")
    assert '-  "a": 1\n+  "a": 2\n' in diff.diff and diff.reason == "PeerSharing"
    assert unified_diff("x", None, "new\n").diff.startswith("--- /dev/null\n+++ b/x\n")
