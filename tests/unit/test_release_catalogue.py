"""The release catalogue (orchestrator/cardano/releases/) against the real shipped files of each tag
(tests/fixtures/cardano-reference/cardano-node-repo/<tag>/, SOURCES.txt)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cardano import releases
from orchestrator.cardano.releases import LedgerCrossing, PeerSnapshotFormat

REPO = Path(__file__).resolve().parents[1] / "fixtures" / "cardano-reference" / "cardano-node-repo"


def tag_dir(release: releases.NodeRelease) -> Path:
    return REPO / ("branch-f-f-prepare-11.1" if release.provisional else release.version)


def shipped_config(release: releases.NodeRelease) -> dict[str, object]:
    data = json.loads((tag_dir(release) / "mainnet-config.json").read_text())
    assert isinstance(data, dict)
    return data


def test_catalogue_holds_the_required_releases_oldest_first() -> None:
    required = ("8.7.3", "8.9.0", "10.1.4", "10.5.3", "10.6.4", "10.7.1", "11.0.1")
    assert releases.known_versions(include_provisional=False) == required
    numeric = [tuple(int(p) for p in v.split(".")) for v in releases.known_versions()]
    assert numeric == sorted(numeric)
    assert [r.version for r in releases.CATALOGUE if r.provisional] == ["11.1.0"]
    assert releases.newest().version == "11.0.1"
    assert releases.newest(include_provisional=True).provisional


@pytest.mark.parametrize("release", releases.CATALOGUE, ids=lambda r: r.version)
def test_shipped_files_agree_with_the_record(release: releases.NodeRelease) -> None:
    cfg = shipped_config(release)
    assert cfg.get("MinNodeVersion") == release.min_node_version
    assert release.git_rev in (REPO.parent / "SOURCES.txt").read_text() or release.version in ("8.7.3", "8.9.0")
    ledger = cfg.get("LedgerDB")
    if release.ledgerdb_backends:
        assert isinstance(ledger, dict) and ledger["Backend"] in release.ledgerdb_backends
    else:
        assert ledger is None
    # the shipped config and topology agree on the network stack (8.7.3 ships a Producers topology)
    topology = json.loads((tag_dir(release) / "mainnet-topology.json").read_text())
    assert release.runs_p2p(cfg) is ("Producers" not in topology)
    snapshot = tag_dir(release) / "mainnet-peer-snapshot.json"
    if release.peer_snapshot_formats:
        data = json.loads(snapshot.read_text())
        by_version = {1: PeerSnapshotFormat.V1, 2: PeerSnapshotFormat.V2}
        shape = PeerSnapshotFormat.V23 if "NodeToClientVersion" in data else by_version[data["version"]]
        assert shape in release.peer_snapshot_formats
    elif release.version not in ("10.1.4",):
        assert not snapshot.exists()
    # a shipped config that turns new tracing on carries TraceOptions (TD L43)
    if release.runs_new_tracing(cfg):
        assert "TraceOptions" in cfg


@pytest.mark.parametrize(
    ("version", "asset"),
    [
        ("8.7.3", "cardano-node-8.7.3-linux.tar.gz"),
        ("10.5.3", "cardano-node-10.5.3-linux.tar.gz"),
        ("10.6.1", "cardano-node-10.6.1-linux.tar.gz"),
        ("10.6.2", "cardano-node-10.6.2-linux-amd64.tar.gz"),
        ("10.6.4", "cardano-node-10.6.4-linux-amd64.tar.gz"),
        ("11.0.1", "cardano-node-11.0.1-linux-amd64.tar.gz"),
    ],
)
def test_asset_names_change_at_10_6_2(version: str, asset: str) -> None:
    assert releases.release_filename(version) == asset


def test_sums_file_only_where_published() -> None:
    assert releases.sha256sums_filename("8.9.0") is None
    assert releases.sha256sums_filename("10.1.4") == "cardano-node-10.1.4-sha256sums.txt"


def test_unknown_release_lists_the_known_ones() -> None:
    with pytest.raises(releases.UnknownRelease, match=r"'10\.2\.0'.*8\.7\.3, 8\.9\.0, 10\.1\.4.*11\.0\.1"):
        releases.lookup("10.2.0")
    with pytest.raises(releases.UnknownRelease):
        releases.compare("10.6.4", "9.9.9")


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [("8.9.0", "10.1.4", -1), ("10.6.4", "10.6.4", 0), ("11.0.1", "10.7.1", 1), ("11.1.0", "11.0.1", 1)],
)
def test_ordering(a: str, b: str, sign: int) -> None:
    assert releases.compare(a, b) == sign
    assert releases.is_newer(a, b) is (sign > 0)
    assert releases.is_older(a, b) is (sign < 0)


def test_path_is_one_hop_per_neighbour_and_refuses_downgrades() -> None:
    hops = releases.path("10.1.4", "11.0.1")
    assert [str(h) for h in hops] == ["10.1.4 -> 10.5.3", "10.5.3 -> 10.6.4", "10.6.4 -> 10.7.1", "10.7.1 -> 11.0.1"]
    assert [h.ledger for h in hops] == [LedgerCrossing.CONVERT, LedgerCrossing.REPLAY, LedgerCrossing.REPLAY, LedgerCrossing.NONE]
    assert releases.path("10.7.1", "10.7.1") == ()
    with pytest.raises(releases.DowngradeRefused, match=r"10\.6\.4 to 8\.9\.0 refused"):
        releases.path("10.6.4", "8.9.0")


@pytest.mark.parametrize(
    ("a", "b", "replay"),
    [("10.7.1", "11.0.1", False), ("10.5.3", "10.6.4", True), ("11.0.1", "10.6.4", True), ("8.7.3", "8.9.0", False)],
)
def test_crossings_that_force_a_replay(a: str, b: str, replay: bool) -> None:
    assert releases.forces_replay(a, b) is replay


@pytest.mark.parametrize(
    ("version", "cfg", "p2p"),
    [
        ("10.5.3", {}, False),
        ("10.5.3", {"EnableP2P": True}, True),
        ("10.5.3", {"EnableP2P": "true"}, False),
        ("10.6.4", {}, True),
        ("10.6.4", {"EnableP2P": False}, True),
        ("8.7.3", {}, False),
    ],
)
def test_p2p_mode(version: str, cfg: dict[str, object], p2p: bool) -> None:
    assert releases.p2p_mode(version, cfg) is p2p


def test_peer_sharing_defaults_with_and_without_credentials() -> None:
    r = releases.lookup("10.6.4")
    assert r.peer_sharing({}, producer=False) is True
    assert r.peer_sharing({}, producer=True) is False
    assert r.peer_sharing({"PeerSharing": True}, producer=True) is True


def test_hard_fork_floor_is_van_rossem_and_catalogued() -> None:
    floor = releases.hard_fork_floor("mainnet")
    assert floor == "11.0.1" and releases.is_catalogued(floor)
    with pytest.raises(ValueError, match="sanchonet"):
        releases.hard_fork_floor("sanchonet")


def test_a_fact_without_a_source_is_refused() -> None:
    r = releases.lookup("10.7.1")
    sources = dict(r.sources)
    del sources["asset"]
    with pytest.raises(ValueError, match="no source for asset"):
        releases.NodeRelease(**{**{f: getattr(r, f) for f in r.__dataclass_fields__}, "sources": sources})


def test_health_enable_p2p_reads_the_release() -> None:
    from orchestrator.cardano.health import enable_p2p

    assert enable_p2p({}) is False
    assert enable_p2p({}, "10.5.3") is False
    assert enable_p2p({}, "10.6.4") is True
    assert enable_p2p(None, "10.6.4") is None
