"""Issue 15: real operators' files (tests/fixtures/realworld-cases) and variants of each kind.

Kinds: the node's parsing rules per file (config as YAML, topology as strict JSON); where a peer
came from (hand-picked vs a generated list); verdicts that read the files they depend on (every
era's genesis); addresses as operators paste them.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from orchestrator.cardano import node_rules, node_yaml
from orchestrator.cardano.config import local_genesis_lookup, migrate_config
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.layouts import IOG
from orchestrator.cardano.networks import NETWORKS, AccessPoint
from orchestrator.cardano.topology import desired_topology, normalise_address, parse_topology
from orchestrator.cli import main
from orchestrator.facts.model import HostFacts
from orchestrator.facts.probe import GenesisFile
from orchestrator.model import Host, Inventory, Role
from orchestrator.plan import ReleasePin, plan_host
from tests.unit.facts_builder import host_facts

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "realworld-cases"
YAML_CASE = CASES / "yaml-node-config"
YAML_CONFIG = YAML_CASE / "mainnet-config.yaml"
TU_CASE = CASES / "topologyupdater-generated-peers" / "topology.json"
NEW_CONWAY = "de609b281cb3d8ae91a9d63a00c87092975612d603aa54c0f1c6a781e33d6e1e"
OLD_CONWAY = "f7d46bdd3b3c8caf38351c4eef3346a89241707270be0d6106e8a407db294cc6"


def yaml_dir(tmp_path: Path) -> Path:
    """The YAML case with its four genesis files, as real files (not links) that a test may change."""
    for item in YAML_CASE.iterdir():
        shutil.copy(item, tmp_path / item.name)  # follows the links
    return tmp_path / "mainnet-config.yaml"


# ============================================================ 1. the node's parsing rules


def test_validate_accepts_the_node_repository_yaml_for_873(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--config", str(YAML_CONFIG), "--node-version", "8.7.3"]) == 0
    out = capsys.readouterr().out
    assert "would start" in out and "config read as YAML" in out


def test_config_migrate_keeps_yaml_keys_and_comments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = yaml_dir(tmp_path)
    original = config.read_text()
    assert main(["config", "migrate", str(config), "--to", "8.9.0", "--role", "relay"]) == 0
    captured = capsys.readouterr()
    new = captured.out
    with pytest.raises(ValueError):
        json.loads(new)  # still YAML
    # every original line is there, in order, but the Conway hash, changed in place
    kept = [line for line in original.splitlines() if not line.startswith("ConwayGenesisHash:")]
    new_lines = new.splitlines()
    remaining = iter(new_lines)
    assert all(line in remaining for line in kept)  # a subsequence: same lines, same order
    assert new_lines[original.splitlines().index(f"ConwayGenesisHash: {OLD_CONWAY}")] == f"ConwayGenesisHash: {NEW_CONWAY}"
    assert new_lines[-5:] == [
        "EnableP2P: true", "TargetNumberOfActivePeers: 20", "TargetNumberOfEstablishedPeers: 50",
        "TargetNumberOfKnownPeers: 100", "TargetNumberOfRootPeers: 100",
    ]  # fmt: skip
    cfg = node_yaml.loads(new)
    assert cfg["EnableP2P"] is True and cfg["TurnOnLogging"] is True
    assert "format kept: YAML" in captured.err
    assert f"also write {tmp_path / 'mainnet-conway-genesis.json'}" in captured.err
    for era in ("Byron", "Shelley", "Alonzo"):
        assert f"checked: {era} genesis {tmp_path / f'mainnet-{era.lower()}-genesis.json'}: hash" in captured.err
    # the migrated file, with the new Conway genesis written next to it, starts an 8.9.0 node in P2P
    (tmp_path / "mainnet-conway-genesis.json").write_bytes(
        (Path(node_rules.__file__).parent / "data" / "8.9.0" / "mainnet" / "conway-genesis.json").read_bytes()
    )
    check = node_rules.check_config("8.9.0", new, str(tmp_path))
    assert check.ok and check.p2p, check.errors


BASE_YAML = YAML_CONFIG.read_text()


def _yaml_edit(old: str, new: str) -> str:
    assert old in BASE_YAML
    return BASE_YAML.replace(old, new, 1)


# (case, YAML text, role, lines that must be in the result, or the error it must raise)
YAML_MIGRATIONS: list[tuple[str, str, Role, list[str] | str]] = [
    ("8.7.3 PeerSharing string in place, comment kept",
     _yaml_edit("TraceAcceptPolicy: True", "PeerSharing: PeerSharingEnabled  # share\nTraceAcceptPolicy: True"),
     Role.RELAY, ["PeerSharing: true  # share", "TraceAcceptPolicy: True"]),
    ("block producer gets PeerSharing false appended",
     BASE_YAML, Role.BLOCK_PRODUCER, ["PeerSharing: false", "# Added for cardano-node 8.9.0 P2P (cardano-fleet config migrate)"]),
    ("EnableP2P False changed in place",
     _yaml_edit("TraceAcceptPolicy: True", "EnableP2P: False\nTraceAcceptPolicy: True"),
     Role.RELAY, ["EnableP2P: true", "TraceAcceptPolicy: True"]),
    ("old protocol flag renamed in place",
     _yaml_edit("TraceAcceptPolicy: True", "TestEnableDevelopmentNetworkProtocols: False\nTraceAcceptPolicy: True"),
     Role.RELAY, ["ExperimentalProtocolsEnabled: False"]),
    ("quoted hash replaced",
     _yaml_edit(f"ConwayGenesisHash: {OLD_CONWAY}", f'ConwayGenesisHash: "{OLD_CONWAY}"'),
     Role.RELAY, [f"ConwayGenesisHash: {NEW_CONWAY}"]),
    ("value on the next line: refused, not rewritten blindly",
     _yaml_edit("TraceAcceptPolicy: True", "EnableP2P:\n  False\nTraceAcceptPolicy: True"),
     Role.RELAY, "EnableP2P: its value is not on the key's line"),
    ("a list where a flag belongs: refused",
     _yaml_edit("TraceAcceptPolicy: True", "EnableP2P: [false]\nTraceAcceptPolicy: True"),
     Role.RELAY, "EnableP2P: not a one-line scalar"),
    ("a duplicated key the node tolerates: refused, nothing written",
     _yaml_edit("TraceAcceptPolicy: True", "TraceAcceptPolicy: False\nTraceAcceptPolicy: True"),
     Role.RELAY, "cannot edit this YAML without changing it"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "role", "expect"), [c[1:] for c in YAML_MIGRATIONS], ids=[c[0] for c in YAML_MIGRATIONS])
def test_yaml_migration_variants(text: str, role: Role, expect: list[str] | str) -> None:
    if isinstance(expect, str):
        with pytest.raises(FileFormatError, match=expect):
            migrate_config(text, role, path="c.yaml")
        return
    result = migrate_config(text, role, path="c.yaml")
    assert result.format == "yaml"
    lines = result.text.splitlines()
    for line in expect:
        assert line in lines, line
    cfg = node_yaml.loads(result.text)
    assert cfg["EnableP2P"] is True and "TestEnableDevelopmentNetworkProtocols" not in cfg
    assert cfg["PeerSharing" if role is Role.BLOCK_PRODUCER else "EnableP2P"] is (role is not Role.BLOCK_PRODUCER)
    assert node_rules.check_config("8.9.0", result.text).ok
    assert migrate_config(result.text, role, path="c.yaml").changed is False  # idempotent


def test_yaml_with_crlf_and_no_final_newline_keeps_its_line_endings() -> None:
    text = BASE_YAML.replace("\n", "\r\n").rstrip("\r\n")
    result = migrate_config(text, Role.BLOCK_PRODUCER, path="c.yaml")
    assert "\n" not in result.text.replace("\r\n", "")  # no bare LF slipped in
    assert result.text.endswith("PeerSharing: false\r\n") or "PeerSharing: false\r\n" in result.text
    assert node_yaml.loads(result.text)["EnableP2P"] is True


def test_json_config_stays_json() -> None:
    text = (Path(node_rules.__file__).parent / "data" / "8.7.3" / "mainnet" / "config.json").read_text()
    result = migrate_config(text, Role.RELAY)
    assert result.format == "json" and json.loads(result.text)["EnableP2P"] is True


def test_topology_is_strict_json_even_though_config_is_yaml(tmp_path: Path) -> None:
    """topology.json goes through aeson's eitherDecode: YAML (or JSON with a trailing comma) is refused."""
    config = yaml_dir(tmp_path)
    (tmp_path / "topology.json").write_text('{"Producers": [{"addr": "203.0.113.5", "port": 3001, "valency": 1},]}')
    check = node_rules.check_node_files("8.7.3", str(config), str(tmp_path / "topology.json"))
    assert not check.ok and "Expecting Non-P2P Topology file format" in check.errors[0]
    (tmp_path / "topology.json").write_text("Producers:\n  - {addr: 203.0.113.5, port: 3001, valency: 1}\n")
    assert not node_rules.check_node_files("8.7.3", str(config), str(tmp_path / "topology.json")).ok


# ============================================================ 3. verdicts that read their files


def _break(tmp_path: Path, era: str, how: str) -> None:
    target = tmp_path / f"mainnet-{era}-genesis.json"
    if how == "missing":
        target.unlink()
    elif how == "other-file":
        target.write_text('{"other": 1}\n')
    elif how == "not-json":
        target.write_text("{oops")


GENESIS_VARIANTS = [
    ("byron", "other-file", 'Wrong Byron genesis file: the actual hash is "'),
    ("byron", "missing", "There was an error parsing the genesis file: "),
    ("shelley", "other-file", 'Shelley related: Wrong genesis file: the actual hash is "'),
    ("shelley", "missing", "Shelley related: There was an error reading the genesis file: "),
    ("alonzo", "other-file", 'Alonzo related: Wrong genesis file: the actual hash is "'),
    ("alonzo", "not-json", 'Alonzo related: Wrong genesis file: the actual hash is "'),  # hash is checked first
    ("conway", "other-file", 'Conway related : Wrong genesis file: the actual hash is "'),
    ("conway", "missing", "Conway related : There was an error reading the genesis file: "),
]


@pytest.mark.parametrize(("era", "how", "start"), GENESIS_VARIANTS)
def test_every_era_is_read_with_its_path_and_both_hashes(tmp_path: Path, era: str, how: str, start: str) -> None:
    config = yaml_dir(tmp_path)
    _break(tmp_path, era, how)
    check = node_rules.check_config("8.7.3", config.read_text(), str(tmp_path))
    assert not check.ok and len(check.errors) == 1
    error = check.errors[0]
    assert error.startswith(start), error
    key = f"{era.capitalize()}GenesisFile"
    assert error.endswith(f"[{key}: {tmp_path / f'mainnet-{era}-genesis.json'}]")
    if "Wrong" in start:
        expected = node_yaml.loads(config.read_text())[f"{era.capitalize()}GenesisHash"]
        assert f'is "{expected}"' in error  # expected and found both named
    assert node_rules.node_words(error) == error.rsplit(" [", 1)[0]


def test_genesis_hash_absent_is_not_checked_but_file_still_read(tmp_path: Path) -> None:
    config = yaml_dir(tmp_path)
    text = config.read_text().replace("AlonzoGenesisHash: 7e94a15f55d1e82d10f09203fa1d40f8eede58fd8066542cf6566008068ed874\n", "")
    _break(tmp_path, "alonzo", "other-file")
    assert node_rules.check_config("8.7.3", text, str(tmp_path)).ok
    _break(tmp_path, "alonzo", "not-json")
    check = node_rules.check_config("8.7.3", text, str(tmp_path))
    assert not check.ok and check.errors[0].startswith("Alonzo related: There was an error parsing the genesis file")


def test_byron_hash_is_over_its_canonical_json() -> None:
    data = (YAML_CASE / "mainnet-byron-genesis.json").read_bytes()
    assert node_rules.genesis_hash("Byron", data) == node_yaml.loads(YAML_CONFIG.read_text())["ByronGenesisHash"]
    assert node_rules.blake2b_256_hex(data) != node_rules.genesis_hash("Byron", data)


@pytest.mark.parametrize(("era", "how"), [("shelley", "other-file"), ("byron", "other-file"), ("alonzo", "not-json")])
def test_migrate_refuses_a_kept_era_that_would_stop_the_node(tmp_path: Path, era: str, how: str) -> None:
    config = yaml_dir(tmp_path)
    _break(tmp_path, era, how)
    with pytest.raises(FileFormatError) as info:
        migrate_config(config.read_text(), Role.RELAY, path=str(config), genesis_lookup=local_genesis_lookup)
    message = str(info.value)
    assert f"{era.capitalize()} genesis {tmp_path / f'mainnet-{era}-genesis.json'}" in message
    if how == "other-file":
        assert "expects" in message and "the file hashes to" in message


def test_migrate_replaces_a_stale_conway_file_even_when_the_hash_is_already_new(tmp_path: Path) -> None:
    """The config already pins 8.9.0's hash, but the file next to it is 8.7.3's: not "nothing to change"."""
    config = yaml_dir(tmp_path)
    text = config.read_text().replace(OLD_CONWAY, NEW_CONWAY)
    text += "EnableP2P: true\nTargetNumberOfActivePeers: 20\nTargetNumberOfEstablishedPeers: 50\n"
    text += "TargetNumberOfKnownPeers: 100\nTargetNumberOfRootPeers: 100\n"
    assert migrate_config(text, Role.RELAY, path=str(config)).changed is False  # without reading: blind
    result = migrate_config(text, Role.RELAY, path=str(config), genesis_lookup=local_genesis_lookup)
    assert result.changed and result.text == text
    assert [w.path for w in result.writes] == [str(tmp_path / "mainnet-conway-genesis.json")]
    assert f"hashes to {OLD_CONWAY}, not the {NEW_CONWAY}" in result.changes[0]


def test_migrate_notes_genesis_files_it_could_not_see(tmp_path: Path) -> None:
    shutil.copy(YAML_CONFIG, tmp_path / "mainnet-config.yaml")
    result = migrate_config(YAML_CONFIG.read_text(), Role.RELAY, path=str(tmp_path / "mainnet-config.yaml"),
                            genesis_lookup=local_genesis_lookup)  # fmt: skip
    assert all("not checked (no such file here)" in note for note in result.notes) and len(result.notes) == 3


def HostFactsLike(config_text: str, topology_text: str, genesis: Any) -> HostFacts:  # noqa: N802 (read as the record)
    return host_facts(config_text=config_text, topology_text=topology_text, genesis=genesis)


def _probed(tmp: Path, directory: str, *, stale: str | None = None) -> Any:
    files = {}
    for era in ("byron", "shelley", "alonzo", "conway"):
        data = (tmp / f"mainnet-{era}-genesis.json").read_bytes()
        b2 = node_rules.blake2b_256_hex(data)
        node_hash = node_rules.genesis_hash(era.capitalize(), data)
        if era == stale:
            b2 = node_hash = "e" * 64
        files[era] = GenesisFile(f"{directory}/mainnet-{era}-genesis.json", "0" * 64, b2, node_hash)
    return MappingProxyType(files)


def test_plan_reads_the_hosts_yaml_and_its_genesis(tmp_path: Path) -> None:
    yaml_dir(tmp_path)
    layout = IOG.with_overrides({"config_path": "/opt/cardano/config/mainnet-config.yaml"})
    host = Host("relay2", Role.RELAY, "203.0.113.12", layout)
    inv = Inventory("hosts.yml", (host,), {"relays": ("relay2",)})
    legacy = json.dumps({"Producers": [{"addr": "relays-new.cardano-mainnet.iohk.io", "port": 3001, "valency": 2}]})
    pin = ReleasePin("8.9.0", "http://198.18.0.1:8080/cardano-node-8.9.0-linux.tar.gz", "ab" * 32)
    facts = HostFactsLike(BASE_YAML, legacy, _probed(tmp_path, "/opt/cardano/config"))
    hp = plan_host(host, inv, facts, pin)
    assert hp.error is None
    config_change = next(c for c in hp.files if c.path.endswith("mainnet-config.yaml"))
    assert "+EnableP2P: true" in config_change.diff.diff and "-TurnOnLogging" not in config_change.diff.diff
    assert any(c.path == "/opt/cardano/config/mainnet-conway-genesis.json" for c in hp.files)
    # a kept era whose file on the host is not the config's: the host is refused with era, path, hashes
    stale = HostFactsLike(BASE_YAML, legacy, _probed(tmp_path, "/opt/cardano/config", stale="shelley"))
    hp = plan_host(host, inv, stale, pin)
    assert hp.error is not None and "Shelley genesis /opt/cardano/config/mainnet-shelley-genesis.json" in hp.error
    assert "e" * 64 in hp.error and not hp.files


# ============================================================ 2. where a peer came from


def convert(data: Any, role: Role = Role.RELAY, own: tuple[AccessPoint, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    out = desired_topology(data, role, list(own), NETWORKS["mainnet"], {p.address for p in own}, notes=notes)
    return out, notes


def local_points(top: dict[str, Any]) -> set[tuple[str, int]]:
    return {(p["address"], p["port"]) for g in top["localRoots"] for p in g["accessPoints"]}


def test_topologyupdater_case_keeps_only_the_operators_peers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topology", "convert", str(TU_CASE), "--role", "relay", "--network", "mainnet"]) == 0
    captured = capsys.readouterr()
    top = json.loads(captured.out)
    assert local_points(top) == {("198.51.100.20", 6000), ("relays.friendpool.example.org", 3001)}
    assert not {"resultcode", "networkMagic", "ipType"} & set(top)
    assert top["bootstrapPeers"] == [{"address": "backbone.cardano.iog.io", "port": 3001},
                                     {"address": "backbone.mainnet.emurgornd.com", "port": 3001}]  # fmt: skip
    assert top["useLedgerAfterSlot"] == 116812831
    assert "not carried over: 15 peer(s) from a generated list" in captured.err
    assert "relay0.pool0.example.net:6000" in captured.err and "203.0.113.114:6000" in captured.err
    assert "replaced by mainnet's bootstrap peers" in captured.err
    assert "not copied: resultcode, networkMagic, ipType" in captured.err
    assert node_rules.check_topology("8.9.0", True, captured.out) == ((), ())


def _fetched(address: str, port: int, **markers: Any) -> dict[str, Any]:
    return {"addr": address, "port": port, "valency": 1, **(markers or {"distance": 10, "continent": "EU"})}


GENERATED_VARIANTS: list[tuple[str, Any, Role, set[tuple[str, int]], list[str]]] = [
    ("IPv6 fetch (ipType 6) plus a custom peer",
     {"resultcode": "201", "networkMagic": "764824073", "ipType": 6,
      "Producers": [_fetched("2001:db8::10", 3001), _fetched("2001:db8::11", 6000),
                    {"addr": "2001:db8::99", "port": 3001, "valency": 1}]},
     Role.RELAY, {("2001:db8::99", 3001)}, ["2 peer(s) from a generated list", "[2001:db8::10]:3001", "ipType"]),
    ("one marker is enough",
     {"Producers": [_fetched("203.0.113.40", 3001, region="Ohio"), {"addr": "203.0.113.41", "port": 3001, "valency": 1}]},
     Role.RELAY, {("203.0.113.41", 3001)}, ["per-peer region"]),
    ("a P2P file that kept the fetched peers' markers",
     {"localRoots": [{"accessPoints": [{"address": "203.0.113.50", "port": 3001, "distance": 99, "country": "DE"},
                                       {"address": "friend.example.org", "port": 3001}],
                      "advertise": False, "valency": 2}],
      "publicRoots": [{"accessPoints": [{"address": "203.0.113.51", "port": 6000, "continent": "NA"}], "advertise": False}]},
     Role.RELAY, {("friend.example.org", 3001)}, ["2 peer(s)", "203.0.113.51:6000"]),
    ("a block producer's generated list",
     {"resultcode": "201", "Producers": [_fetched("203.0.113.60", 3001)]},
     Role.BLOCK_PRODUCER, set(), ["a block producer talks only to its own relays", "not copied: resultcode"]),
    ("a failed fetch: envelope only",
     {"resultcode": "403", "msg": "IP is not (yet) allowed to fetch", "Producers": []},
     Role.RELAY, set(), ["not copied: resultcode, msg"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "role", "kept", "said"), [v[1:] for v in GENERATED_VARIANTS], ids=[v[0] for v in GENERATED_VARIANTS]
)
def test_generated_list_variants(data: Any, role: Role, kept: set[tuple[str, int]], said: list[str]) -> None:
    top, notes = convert(data, role)
    assert local_points(top) == kept
    assert not {"resultcode", "networkMagic", "ipType", "msg"} & set(top)
    for text in said:
        assert any(text in n for n in notes), (text, notes)
    assert node_rules.check_topology("8.9.0", True, json.dumps(top)) == ((), ())


def test_custom_peers_only_say_nothing_about_generated_lists() -> None:
    top, notes = convert({"Producers": [{"addr": "203.0.113.70", "port": 3001, "valency": 1}]})
    assert local_points(top) == {("203.0.113.70", 3001)} and notes == []


# ============================================================ 4. addresses as operators paste them


ADDRESSES: list[tuple[str, int, str | None, str]] = [
    # (address, port, normalised to / None when refused, what the note or error says)
    ("[2001:db8::1]", 3001, "2001:db8::1", "take it for a DNS name"),
    ("[2001:db8::1]:3001", 3001, "2001:db8::1", "take it for a DNS name"),
    ("203.0.113.7:3001", 3001, "203.0.113.7", "take it for a DNS name"),
    ("relay.example.org:6000", 6000, "relay.example.org", "take it for a DNS name"),
    (" 203.0.113.7 ", 3001, "203.0.113.7", "spaces around it"),
    ("203.0.113.7:6000", 3001, None, 'names port 6000 but "port" is 3001'),
    ("[2001:db8::1]:6000", 3001, None, 'names port 6000 but "port" is 3001'),
    ("https://relay.example.org", 3001, None, "is a URL"),
    ("relay example.org", 3001, None, "neither an IP address nor a host name"),
    ("[relay.example.org]", 3001, None, "neither an IP address nor a host name"),
    ("fe80::1%eth0", 3001, None, "IPv6 zone"),
    ("2001:db8::1", 3001, "2001:db8::1", ""),
    ("relay.example.org.", 3001, "relay.example.org.", ""),
    ("203.0.113.7", 3001, "203.0.113.7", ""),
]


@pytest.mark.parametrize(("address", "port", "fixed", "said"), ADDRESSES)
def test_address_shapes(address: str, port: int, fixed: str | None, said: str) -> None:
    where = "$.localRoots[0].accessPoints[0].address"
    if fixed is None:
        with pytest.raises(FileFormatError) as info:
            normalise_address(address, port, "t.json", where)
        assert str(info.value).startswith(f"t.json: {where}: ") and said in str(info.value)
        return
    got, note = normalise_address(address, port, "t.json", where)
    assert got == fixed
    if said:
        assert note is not None and note.startswith(f"t.json: {where}: ") and said in note
    else:
        assert note is None


def test_convert_normalises_with_a_note_and_refuses_with_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "topology.json"
    src.write_text(json.dumps({"Producers": [{"addr": "[2001:db8::5]", "port": 3001, "valency": 1}]}))
    assert main(["topology", "convert", str(src), "--role", "relay", "--network", "mainnet"]) == 0
    captured = capsys.readouterr()
    assert ("2001:db8::5", 3001) in local_points(json.loads(captured.out))
    assert f"{src}: $.Producers[0].addr: '[2001:db8::5]' read as '2001:db8::5'" in captured.err
    src.write_text(json.dumps({"localRoots": [{"accessPoints": [{"address": "203.0.113.9:6000", "port": 3001}],
                                               "advertise": False, "valency": 1}], "publicRoots": []}))  # fmt: skip
    assert main(["topology", "convert", str(src), "--role", "relay", "--network", "mainnet"]) == 1
    err = capsys.readouterr().err
    assert f"{src}: $.localRoots[0].accessPoints[0].address: '203.0.113.9:6000' names port 6000" in err


def test_validate_warns_about_addresses_the_node_would_misread(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = yaml_dir(tmp_path)
    (tmp_path / "topology.json").write_text(json.dumps({"Producers": [{"addr": "[2001:db8::5]", "port": 3001, "valency": 1}]}))
    topology = str(tmp_path / "topology.json")
    assert main(["validate", "--config", str(config), "--topology", topology, "--node-version", "8.7.3"]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "$.Producers[0].addr" in err and "DNS name" in err


def test_parse_keeps_the_notes_on_the_topology() -> None:
    parsed = parse_topology({"localRoots": [], "publicRoots": [{"accessPoints": [{"address": "[2001:db8::7]", "port": 1}]}]})
    assert parsed.public_roots[0].access_points[0].address == "2001:db8::7"
    assert len(parsed.notes) == 1 and "$.publicRoots[0].accessPoints[0].address" in parsed.notes[0]


@pytest.mark.parametrize("config_name", ["mainnet-config.yaml", "as-json"])
def test_probe_genesis_script_reads_yaml_and_json_configs(tmp_path: Path, config_name: str) -> None:
    """The probe's genesis script, run by a bare python3 as on a host, then parsed by parse_probe."""
    import subprocess
    import sys

    from orchestrator.facts.probe import parse_probe
    from orchestrator.facts.sections import _GENESIS_PY

    config = yaml_dir(tmp_path)
    if config_name == "as-json":
        json_config = tmp_path / "config.json"
        json_config.write_text(json.dumps(node_yaml.loads(config.read_text()), indent=2))
        config = json_config
    out = subprocess.run([sys.executable, "-I", "-c", _GENESIS_PY, str(config)], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    host = Host("relay2", Role.RELAY, "203.0.113.12", IOG)
    facts = parse_probe(host, f"@@cf-begin genesis@@\n{out}@@cf-end genesis 0@@\n")
    expected = node_yaml.loads(YAML_CONFIG.read_text())
    assert set(facts.genesis) == {"byron", "shelley", "alonzo", "conway"}
    for era, probed in facts.genesis.items():
        assert probed.path == str(tmp_path / f"mainnet-{era}-genesis.json")
        assert probed.node_hash == expected[f"{era.capitalize()}GenesisHash"]
    assert facts.genesis["byron"].blake2b != facts.genesis["byron"].node_hash  # bytes vs canonical JSON


def test_lab_yaml_config_hosts() -> None:
    """`lab up --yaml-config HOST`: that host's layout, files and inventory entry keep the YAML config."""
    from orchestrator.lab import provision
    from orchestrator.lab.hosts import plan_hosts
    from orchestrator.lab.state import LabError

    hosts = plan_hosts(2, 1, 7, yaml_configs=("relay2", "bp1"))
    by_name = {h.name: h for h in hosts}
    assert [h.name for h in hosts if h.config_format == "yaml"] == ["relay2", "bp1"]
    layout = provision.layout_of(by_name["relay2"])
    assert layout.config_path == "/opt/cardano/config/mainnet-config.yaml"
    files = provision._node_files(by_name["bp1"], hosts, "8.7.3")
    text = files["/opt/cardano/config/mainnet-config.yaml"].decode()
    assert text.startswith(BASE_YAML) and text.endswith("PeerSharing: PeerSharingDisabled\n")
    assert {p.rsplit("/", 1)[1] for p in files} == {
        "mainnet-config.yaml", "topology.json",
        *(f"mainnet-{era}-genesis.json" for era in ("byron", "shelley", "alonzo", "conway")),
    }  # fmt: skip
    assert provision.layout_of(by_name["relay1"]).config_path.endswith("/config.json")  # others unchanged
    with pytest.raises(LabError, match="no relay or block producer named chainsrc"):
        plan_hosts(1, 0, 7, yaml_configs=("chainsrc",))


def test_audit_topology_valid_names_addresses_the_node_would_misread() -> None:
    from orchestrator.audit.checks import _check_topology_valid

    @dataclass(frozen=True)
    class _Ctx:
        facts: Any
        host: Host
        rules_version: str = "8.9.0"

    top = {"localRoots": [{"accessPoints": [{"address": "[2001:db8::1]", "port": 3001}], "advertise": False,
                           "trustable": True, "valency": 1}], "publicRoots": []}  # fmt: skip
    from tests.unit.facts_builder import host_facts

    facts = host_facts("r", config_text='{"EnableP2P": true}', topology_text=json.dumps(top))  # real HostFacts
    ok, message, detail = _check_topology_valid(_Ctx(facts, Host("r", Role.RELAY, "203.0.113.1", IOG)))  # type: ignore[arg-type]
    assert ok and "1 address(es) the node would look up as DNS names" in message
    assert "$.localRoots[0].accessPoints[0].address" in detail
