"""Table-driven over the REAL shipped files of every catalogued release (tests/fixtures/cardano-reference/
cardano-node-repo/<tag>/, SOURCES.txt): each validates for its own release, each documented refusal at a
boundary is refused with the node's message, each config migrates to every later release, an operator's
customisations survive the whole chain, and a migration to an older release is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano import migrations, node_rules, releases
from orchestrator.cardano.releases import NodeRelease
from orchestrator.cli import main
from orchestrator.model import Role

REPO = Path(__file__).resolve().parents[1] / "fixtures" / "cardano-reference" / "cardano-node-repo"
NETWORK_FILES = {"mainnet": "mainnet-{}", "preprod": "preprod/{}"}


def tag_dir(release: NodeRelease) -> Path:
    return REPO / ("branch-f-f-prepare-11.1" if release.provisional else release.version)


def shipped(release: NodeRelease, network: str, name: str) -> Path:
    return tag_dir(release) / NETWORK_FILES[network].format(name)


SHIPPED = [(r, n) for r in releases.CATALOGUE for n in NETWORK_FILES if shipped(r, n, "config.json").exists()]


def required_keys(release: NodeRelease, cfg: dict[str, Any]) -> list[str]:
    """The keys a config for `release` must carry (boundaries doc §f)."""
    keys = ["ConwayGenesisHash"]
    if release.enable_p2p_read:
        keys.append("EnableP2P")  # written explicitly while the node still reads it
    if release.ledgerdb_backends:
        keys.append("LedgerDB")
    if release.runs_new_tracing(cfg):
        keys.append("TraceOptions")
    return keys


@pytest.mark.parametrize(("release", "network"), SHIPPED, ids=lambda x: getattr(x, "version", x))
def test_each_tags_shipped_files_validate_for_that_tag(release: NodeRelease, network: str) -> None:
    config = shipped(release, network, "config.json")
    topology_path = shipped(release, network, "topology.json")
    checked = node_rules.check_config(release.version, config.read_text())
    assert checked.ok, checked.errors
    assert node_rules.check_topology(release.version, checked.p2p, topology_path.read_text()) == ((), ())
    topology = json.loads(topology_path.read_text())
    assert node_rules.check_peer_snapshot(release.version, topology, str(topology_path.parent)) == ((), ())
    genesis = shipped(release, network, "conway-genesis.json")
    if genesis.exists():  # the Conway genesis the config pins (blake2b-256 of the file)
        assert node_rules.blake2b_256_hex(genesis.read_bytes()) == json.loads(config.read_text())["ConwayGenesisHash"]


def _config(version: str, name: str = "mainnet-config.json") -> str:
    return (tag_dir(releases.lookup(version)) / name).read_text()


@pytest.mark.parametrize(
    ("version", "config", "expected"),
    [
        # 10.2+: UseTraceDispatcher absent = new tracing, which needs TraceOptions (TD @10.2.1 L43)
        ("10.5.3", _config("10.1.4"), 'key "TraceOptions" not found'),
        # 11.1 (provisional): legacy tracing gone; the 11.0.1 config-legacy.json fails
        ("11.1.0", _config("11.0.1", "mainnet-config-legacy.json"), 'key "TraceOptions" not found'),
        # 10.7: V1InMemory removed (POM @10.7.1 L536-547)
        ("10.7.1", _config("10.6.4").replace('"V2InMemory"', '"V1InMemory"'), "Malformed LedgerDB Backend: V1InMemory"),
        # 11.1: V1LMDB removed
        ("11.1.0", _config("11.0.1").replace('"V2InMemory"', '"V1LMDB"'), "Malformed LedgerDB Backend: V1LMDB"),
    ],
)
def test_documented_config_refusals(version: str, config: str, expected: str) -> None:
    checked = node_rules.check_config(version, config)
    assert not checked.ok
    assert any(expected in e for e in checked.errors), checked.errors


def test_the_same_v1inmemory_config_still_starts_10_6() -> None:
    assert node_rules.check_config("10.6.4", _config("10.6.4").replace('"V2InMemory"', '"V1InMemory"')).ok


@pytest.mark.parametrize(
    ("version", "topology", "expected"),
    [
        # 10.6: non-P2P removed, a Producers topology fails the P2P parse (whatever EnableP2P says)
        ("10.6.4", REPO / "8.7.3" / "mainnet-topology.json", node_rules.P2P_PREFIX),
        # 10.0+: the legacy-P2P shape (LocalRoots.groups) is fatal; the repo still ships it at 10.1.4
        ("10.1.4", REPO / "10.1.4" / "mainnet-p2p-toplogy.json", node_rules.P2P_PREFIX),
    ],
)
def test_documented_topology_refusals(version: str, topology: Path, expected: str) -> None:
    cfg = json.loads(_config(version))
    errors, _ = node_rules.check_topology(version, releases.p2p_mode(version, cfg), topology.read_text())
    assert errors and errors[0].startswith(expected)


def test_the_legacy_p2p_topology_still_starts_8_9_0_with_a_warning() -> None:
    errors, warnings = node_rules.check_topology("8.9.0", True, (REPO / "8.9.0" / "mainnet-p2p-toplogy.json").read_text())
    assert errors == () and warnings == (node_rules.LEGACY_P2P_WARNING,)


def test_an_old_peer_snapshot_is_fatal_at_10_7_and_only_traced_at_10_6(tmp_path: Path) -> None:
    topology = json.loads((REPO / "10.7.1" / "mainnet-topology.json").read_text())
    shutil.copy(REPO / "10.6.4" / "mainnet-peer-snapshot.json", tmp_path / topology["peerSnapshotFile"])
    errors, _ = node_rules.check_peer_snapshot("10.7.1", topology, str(tmp_path))
    assert errors and errors[0].startswith(node_rules.LEGACY_PEER_SNAPSHOT)
    errors, warnings = node_rules.check_peer_snapshot("10.6.4", topology, str(tmp_path))
    assert errors == () and warnings


def test_a_snapshot_older_than_use_ledger_after_slot_is_fatal_from_10_7() -> None:
    # the 10.7.1 snapshot with the 11.0.1 topology (boundaries doc §b: "fatal")
    topology = json.loads((REPO / "11.0.1" / "mainnet-topology.json").read_text())
    errors, _ = node_rules.check_peer_snapshot("11.0.1", topology, str(REPO / "10.7.1"))
    assert errors and "is older than the 'useLedgerAfterSlot' entry in the topology file: 185500763" in errors[0]


PAIRS = [
    (a, b, role)
    for i, a in enumerate(releases.CATALOGUE)
    for b in releases.CATALOGUE[i:]
    for role in (Role.RELAY, Role.BLOCK_PRODUCER)
]


@pytest.mark.parametrize(("source", "target", "role"), PAIRS, ids=lambda x: getattr(x, "version", getattr(x, "value", x)))
def test_each_shipped_config_migrates_to_every_later_release(source: NodeRelease, target: NodeRelease, role: Role) -> None:
    path = tag_dir(source) / "mainnet-config.json"
    result = migrations.migrate_config_to(path.read_text(), target.version, role, source=source.version, path=str(path))
    # read from the file: MinNodeVersion names the oldest release shipping it (10.7.0: 10.7.1 for 11.0.1 too),
    # an 8.x file is taken as 8.7.3; never newer than the real one, so no hop is skipped
    inferred, _ = migrations.infer_config_release(json.loads(path.read_text()))
    assert inferred is not None and not releases.is_newer(inferred, source.version)
    assert [str(r.hop) for r in result.hops] == [str(h) for h in releases.path(source.version, target.version)]
    checked = node_rules.check_config(target.version, result.text)
    assert checked.ok, checked.errors
    cfg = json.loads(result.text)
    if result.hops:  # a file for its own release is left as shipped (8.7.3's is non-P2P)
        for key in required_keys(target, cfg):
            assert key in cfg, key
    else:
        assert result.text == path.read_text() and not result.writes
    if role is Role.BLOCK_PRODUCER and result.hops:
        assert cfg["PeerSharing"] is False


CUSTOM = {
    "MyOperatorKey": {"keep": [1, 2, 3]},  # unknown keys are the operator's
    "hasPrometheus": ["0.0.0.0", 12799],  # a custom port
    "minSeverity": "Warning",  # a custom severity
    "TargetNumberOfActivePeers": 7,
    "SnapshotInterval": 1234,  # moved into LedgerDB at 10.4, not lost
}


def test_an_operators_customisations_survive_the_whole_chain() -> None:
    cfg = json.loads((REPO / "8.7.3" / "mainnet-config.json").read_text())
    cfg.update(CUSTOM)
    text = json.dumps(cfg, indent=2)
    result = migrations.migrate_config_to(text, "11.0.1", Role.RELAY)
    out = json.loads(result.text)
    for key in ("MyOperatorKey", "hasPrometheus", "minSeverity", "TargetNumberOfActivePeers"):
        assert out[key] == CUSTOM[key], key
    assert out["LedgerDB"]["SnapshotInterval"] == 1234 and "SnapshotInterval" not in out
    assert node_rules.check_config("11.0.1", result.text).ok
    # 11.1 drops legacy tracing: the severity becomes TraceOptions', every dropped value is reported
    final = migrations.migrate_config_to(text, "11.1.0", Role.RELAY)
    out = json.loads(final.text)
    assert out["TraceOptions"][""]["severity"] == "Warning"
    assert out["MyOperatorKey"] == CUSTOM["MyOperatorKey"]
    removed = "\n".join(line for r in final.hops for line in r.removed)
    assert "hasPrometheus: ['0.0.0.0', 12799]" in removed and "minSeverity: 'Warning'" in removed


def test_an_operators_trace_options_survive() -> None:
    cfg = json.loads(_config("10.6.4"))
    cfg["TraceOptions"]["Net.PeerSelection"] = {"severity": "Debug"}
    result = migrations.migrate_config_to(json.dumps(cfg), "11.1.0", Role.RELAY)
    assert json.loads(result.text)["TraceOptions"]["Net.PeerSelection"] == {"severity": "Debug"}


def test_migrating_to_an_older_release_is_refused_naming_both() -> None:
    with pytest.raises(releases.DowngradeRefused, match=r"from 10\.6\.4 to 8\.9\.0 refused"):
        migrations.migrate_config_to(_config("10.6.4"), "8.9.0", Role.RELAY)


def test_cli_refuses_a_downgrade_and_an_unknown_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.json"
    path.write_text(_config("10.6.4"))
    assert main(["config", "migrate", str(path), "--to", "8.9.0", "--role", "relay"]) == 1
    assert "from 10.6.4 to 8.9.0 refused" in capsys.readouterr().err
    assert main(["config", "migrate", str(path), "--to", "10.2.0", "--role", "relay"]) == 1
    assert "known releases: 8.7.3, 8.9.0, 10.1.4" in capsys.readouterr().err
    assert main(["validate", "--config", str(path), "--node-version", "9.9.9"]) == 1
    assert "not in the release catalogue" in capsys.readouterr().err


def test_cli_migrates_hop_by_hop_with_a_note_per_hop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.json"
    path.write_text(_config("10.1.4"))
    assert main(["config", "migrate", str(path), "--to", "10.7.1", "--role", "relay"]) == 0
    err = capsys.readouterr().err
    for hop in ("10.1.4 -> 10.5.3:", "10.5.3 -> 10.6.4:", "10.6.4 -> 10.7.1:"):
        assert f"# {hop}" in err
    assert "removed: EnableP2P" in err and "budget a full chain replay" in err and "peer-snapshot.json" in err


def test_topology_convert_reports_what_it_did_not_carry_over(capsys: pytest.CaptureFixture[str]) -> None:
    src = REPO / "10.7.1" / "mainnet-topology.json"
    argv = ["topology", "convert", str(src), "--role", "producer", "--network", "mainnet", "--local-root", "203.0.113.1:3001"]
    assert main([*argv, "--to", "11.0.1"]) == 0
    captured = capsys.readouterr()
    assert ("changed: bootstrapPeers: [backbone.cardano.iog.io:3001, backbone.mainnet.cardanofoundation.org:3001, "
            "backbone.mainnet.emurgornd.com:3001] -> (absent)") in captured.err
    assert "changed: useLedgerAfterSlot: 182044807 -> -1" in captured.err
    assert "peerSnapshotFile mainnet-peer-snapshot.json kept: with useLedgerAfterSlot -1" in captured.err
    errors, _ = node_rules.check_topology("11.0.1", True, captured.out)
    assert errors == ()


def test_topology_convert_of_producers_for_10_6_and_refusals(capsys: pytest.CaptureFixture[str]) -> None:
    src = REPO / "8.7.3" / "mainnet-topology.json"
    base = ["topology", "convert", str(src), "--role", "relay", "--network", "mainnet"]
    assert main([*base, "--to", "10.6.4"]) == 0
    captured = capsys.readouterr()
    assert "changed: Producers -> localRoots/publicRoots" in captured.err
    assert "changed: useLedgerAfterSlot: (absent) -> 177724800" in captured.err  # 10.6.4's, not 8.9.0's
    assert node_rules.check_topology("10.6.4", True, captured.out) == ((), ())
    assert main([*base, "--to", "8.9.0", "--from", "10.6.4"]) == 1
    assert "from 10.6.4 to 8.9.0 refused" in capsys.readouterr().err
    assert main([*base, "--to", "10.3.0"]) == 1
    assert "known releases" in capsys.readouterr().err


def test_a_yaml_config_that_cannot_be_edited_in_place_is_refused_untouched(tmp_path: Path) -> None:
    src = tmp_path / "config.yaml"
    shutil.copy(REPO / "10.5.3" / "mainnet-config.yaml", src)
    before = src.read_bytes()
    with pytest.raises(migrations.FileFormatError, match="cannot remove EnableP2P"):
        migrations.migrate_config_to(src.read_text(), "10.6.4", Role.RELAY, path=str(src))
    assert src.read_bytes() == before


def _plan_migrate(current: str, target: str, config_text: str) -> Any:
    from types import SimpleNamespace

    from orchestrator.actions.base import HostDraft
    from orchestrator.actions.migrate_config import MigrateConfig
    from tests.unit.facts_builder import host_facts

    host = SimpleNamespace(layout=SimpleNamespace(config_path="/opt/cardano/config.json"), role=Role.RELAY, network="mainnet")
    ctx = SimpleNamespace(host=host, facts=host_facts(config_text=config_text))  # real HostFacts
    draft = HostDraft(current_version=current, target_version=target, switch_binary=True)
    MigrateConfig().plan(ctx, draft)  # type: ignore[arg-type]
    return draft


def test_the_migrate_config_action_plans_every_hop_to_the_target_and_refuses_a_downgrade() -> None:
    from orchestrator.actions.base import HostPlanError

    draft = _plan_migrate("10.5.3", "11.0.1", _config("10.5.3"))
    (change,) = draft.files
    cfg = json.loads(change.content)
    assert "EnableP2P" not in cfg and cfg["MinNodeVersion"] == "10.7.0"
    assert node_rules.check_config("11.0.1", change.content.decode()).ok
    with pytest.raises(HostPlanError, match=r"from 11\.0\.1 to 10\.5\.3 refused"):
        _plan_migrate("11.0.1", "10.5.3", _config("11.0.1"))


def test_a_path_through_several_peer_snapshot_formats_asks_for_the_final_releases_snapshot_once() -> None:
    """Operator trial: `config migrate --to 11.0.1` from 10.5.3 said "copy 10.7.1's peer-snapshot.json";
    the node will run 11.0.1 and read 11.0.1's (the same format, NodeToClientVersion 23)."""
    text = (REPO / "10.5.3" / "mainnet-config.json").read_text()
    m = migrations.migrate_config_to(text, "11.0.1", Role.RELAY, "mainnet", source="10.5.3", path="/x/config.json")
    asks = [t for r in m.hops for t in r.todo if "peer-snapshot.json" in t]
    assert asks == ['copy 11.0.1\'s peer-snapshot.json ("NodeToClientVersion": 23) with its topology\'s useLedgerAfterSlot']
