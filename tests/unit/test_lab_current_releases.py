"""The lab boots 10.6.4 and 11.0.1 as they ship: the files it serves and provisions are the real
reference files (and pass the release's own startup rules), and every rule its node judges — which
tracing system runs, what TraceOptions lets through, where the metrics are served, how the replay
progress and the journal look — is checked here on the real reference configs
(tests/fixtures/cardano-reference; rules: /work/shared/docs/cardano-runtime-signals-10x.md)."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from orchestrator.cardano import health, node_rules, releases
from orchestrator.lab import dispatcher, provision, simnode
from orchestrator.lab import releases as lab_releases
from orchestrator.lab.hosts import plan_hosts
from orchestrator.lab.systemctl_light import format_bytes, shown_message

REF = Path(__file__).resolve().parents[1] / "fixtures" / "cardano-reference" / "cardano-node-repo"
CURRENT = ("10.6.4", "11.0.1")


def ref_config(version: str, name: str = "mainnet-config.json") -> dict[str, object]:
    loaded = json.loads((REF / version / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("current")
    found = {}
    for version in CURRENT:
        release = lab_releases.build_release(version, out / version)
        with tarfile.open(release.path) as tar:
            tar.extractall(out / version / "x", filter="tar")
        found[version] = out / version / "x"
    return found


@pytest.mark.parametrize("version", CURRENT)
def test_the_served_release_holds_the_reference_files_and_its_node_starts_with_them(version: str, built: dict[str, Path]) -> None:
    root = built[version]
    share = root / "share" / "mainnet"
    for name in ("mainnet-config.json", "mainnet-topology.json", "mainnet-peer-snapshot.json", "mainnet-conway-genesis.json"):
        assert (share / name).read_bytes() == (REF / version / name).read_bytes(), name
    for name in ("config.json", "topology.json", "peer-snapshot.json", "conway-genesis.json"):
        assert (root / "share" / "preprod" / name).read_bytes() == (REF / version / "preprod" / name).read_bytes()
    for network, config, topology in (("mainnet", "mainnet-config.json", "mainnet-topology.json"),
                                      ("preprod", "config.json", "topology.json")):  # fmt: skip
        d = root / "share" / network
        check = node_rules.check_node_files(version, str(d / config), str(d / topology))
        assert check.ok, (network, check.errors)  # genesis hashes and the peer snapshot's format included
    done = subprocess.run([str(root / "bin" / "cardano-node"), "--version"], capture_output=True, check=True)
    assert done.stdout.decode().startswith(f"cardano-node {version} - ")
    done = subprocess.run([str(root / "bin" / "cardano-cli"), "--version"], capture_output=True, check=True)
    # The cardano-cli the release ships, as the catalogue records it (10.15.0.0, 11.0.0.0) and facts read it.
    cli_version = releases.lookup(version).cli_version
    assert cli_version is not None
    assert health.parse_version(done.stdout.decode()).version == cli_version


@pytest.mark.parametrize("version", CURRENT)
def test_every_lab_host_gets_the_shipped_config_and_a_topology_its_release_accepts(version: str, tmp_path: Path) -> None:
    hosts = plan_hosts(3, 2, 0, passive=1)
    for host in hosts:
        files = provision.current_node_files(host, hosts, version)
        layout = provision.layout_of(host)
        for path, data in files.items():
            (tmp_path / host.name / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / host.name / path.lstrip("/")).write_bytes(data)
        assert files[layout.config_path] == (REF / version / "mainnet-config.json").read_bytes()
        where = tmp_path / host.name
        check = node_rules.check_node_files(version, str(where / layout.config_path.lstrip("/")),
                                            str(where / layout.topology_path.lstrip("/")))  # fmt: skip
        assert check.ok and check.p2p, (host.name, check.errors)
        topology = json.loads(files[layout.topology_path])
        peers = [ap["address"] for group in topology["localRoots"] for ap in group["accessPoints"]]
        if host.role == "block_producer":  # its relays only: no bootstrap or ledger peers, no snapshot
            assert set(peers) == {h.address for h in hosts if h.role == "relay"}
            assert "bootstrapPeers" not in topology and topology["useLedgerAfterSlot"] == -1
        elif host.role == "relay":
            shipped = json.loads((REF / version / "mainnet-topology.json").read_text())
            assert topology["bootstrapPeers"] == shipped["bootstrapPeers"]
            assert {h.address for h in hosts if h.role == "block_producer"} <= set(peers)


def test_yaml_hosts_on_a_current_release_are_refused() -> None:
    hosts = plan_hosts(1, 0, 0, yaml_configs=("relay1",))
    with pytest.raises(ValueError, match="YAML configs to 8.7.3 hosts only"):
        provision.current_node_files(hosts[1], hosts, "10.6.4")


@pytest.mark.parametrize(
    ("version", "name", "new"),
    [
        ("8.9.0", "mainnet-config.json", False),
        ("8.9.0", "mainnet-config-new-tracing.json", True),
        ("10.1.4", "mainnet-config.json", False),
        ("10.5.3", "mainnet-config.json", False),
        ("10.5.3", "mainnet-config-new-tracing.json", True),
        ("10.6.4", "mainnet-config.json", True),
        ("10.6.4", "mainnet-config-legacy.json", False),
        ("11.0.1", "mainnet-config.json", True),
        ("11.0.1", "mainnet-config-legacy.json", False),
    ],
)
def test_the_tracing_system_the_lab_node_runs_on_each_real_config(version: str, name: str, new: bool) -> None:
    """The lab node runs what the release's record says for the config (its `new_tracing`)."""
    config = ref_config(version, name)
    assert releases.lookup(version).runs_new_tracing(config) is new


@pytest.mark.parametrize("version", ["10.6.4", "10.7.1", "11.0.1"])
def test_what_the_shipped_trace_options_let_through(version: str) -> None:
    """Runtime-signals doc §1.1: ChainDB and Startup.DiffusionInit at Info, the rest at Notice,
    chain selection's ledger pushes (Debug) and Startup.BlockForgingUpdate (Info) filtered,
    AddBlockValidation silenced; one stdout form, the coloured one; PrometheusSimple on loopback."""
    tc = dispatcher.TraceConfig(ref_config(version))
    assert tc.stdout_format == "HumanFormatColoured"
    assert tc.prometheus == dispatcher.Prometheus(True, "127.0.0.1", 12798)
    assert tc.metrics_prefix == "cardano.node.metrics."
    passed = {
        ("ChainDB.ReplayBlock.LedgerReplay", "Info"): True,
        ("ChainDB.LastShutdownUnclean", "Info"): True,
        ("Startup.DiffusionInit.LocalSocketUp", "Info"): True,
        ("ChainDB.InitChainSelEvent.Validation.UpdateLedgerDb", "Debug"): False,
        ("Startup.BlockForgingUpdate", "Info"): False,
        ("Version.NodeVersion", "Info"): False,
        ("Consensus.GSM.InitializedInCaughtUp", "Notice"): True,
        ("ChainDB.AddBlockEvent.AddBlockValidation.InvalidBlock", "Error"): False,  # Silence: nothing passes
        ("Mempool.AddedTx", "Critical"): False,
        ("Net.InboundGovernor.Local", "Notice"): False,  # "Net.InboundGovernor": Warning
    }
    assert {key: tc.passes(*key) for key in passed} == passed
    # The severity comes from the longest prefix that sets one, not from an entry that sets another option.
    assert tc.severity("ChainDB.AddBlockEvent.AddedBlockToQueue") == "Info"  # its own entry: maxFrequency only


def test_prometheus_simple_entries() -> None:
    tc = dispatcher.TraceConfig(ref_config("10.5.3", "mainnet-config-new-tracing.json"))
    assert tc.prometheus == dispatcher.Prometheus(True, "127.0.0.1", 12798)  # "PrometheusSimple 12798"
    assert tc.stdout_format == "HumanFormatColoured"
    wildcard = dispatcher.parse_prometheus_simple("PrometheusSimple nosuffix 0.0.0.0 9001")
    assert wildcard == dispatcher.Prometheus(False, "0.0.0.0", 9001)
    assert dispatcher.parse_prometheus_simple("PrometheusSimple suffix") is None
    assert dispatcher.parse_prometheus_simple("EKGBackend") is None
    no_options = dispatcher.TraceConfig({"UseTraceDispatcher": True})
    assert no_options.stdout_format == "MachineFormat" and no_options.prometheus is None  # DTC L17-22


def test_line_forms() -> None:
    at = 1778400062.123456  # 2026-05-10T08:01:02.123456Z
    data = {"kind": "ReplayBlockStats", "progress": "99.97142"}
    line = dispatcher.machine_line(at, "ChainDB.ReplayBlock.LedgerReplay", data, "Info", "37", "relay1")
    assert list(json.loads(line)) == ["at", "ns", "data", "sev", "thread", "host"]
    assert json.loads(line)["at"] == "2026-05-10T08:01:02.123456Z"
    text = "Replayed block: slot 171234567 out of 171240000. Progress: 99.97%"
    plain = dispatcher.human_line(at, "ChainDB.ReplayBlock.LedgerReplay", data, "Info", "37", "relay1", text, False)
    assert plain == f"[2026-05-10 08:01:02.1234Z][relay1:ChainDB.ReplayBlock.LedgerReplay](Info,37) {text}"
    coloured = dispatcher.human_line(at, "Startup.DiffusionInit.LocalSocketUp", {"kind": "LocalSocketUp"}, "Info", "5",
                                     "relay1", None, True)  # fmt: skip
    assert coloured.startswith("\x1b[34m[2026-05-10 08:01:02.1234Z][relay1:Startup.DiffusionInit.LocalSocketUp](Info,5)\x1b[0m ")
    assert coloured.endswith(' {"data":{"kind":"LocalSocketUp"}}')
    assert dispatcher.human_at(1778400062.5) == "2026-05-10 08:01:02.5Z"
    assert dispatcher.human_at(1778400062.0) == "2026-05-10 08:01:02Z"
    assert dispatcher.short_host("relay1.pool.example") == "relay1"
    assert dispatcher.short_host("relay1.pool.example", "edge") == "edge"


def test_haskell_show_double() -> None:
    shown = {0.05: "5.0e-2", 0.0012: "1.2e-3", 99.97142: "99.97142", 100.0: "100.0", 0.1: "0.1", 12.5: "12.5", 0.0: "0.0"}
    assert {v: dispatcher.haskell_show_double(v) for v in shown} == shown


def test_replay_progress_is_absolute_per_hundredth_of_a_point_in_each_releases_form() -> None:
    """BRP L38-40, L117: percent of the target slot, a line per 0.01 pp; `show` before 10.7.1, two
    decimals from it (commit 186123dad), as each release's record says."""
    assert not releases.lookup("10.6.4").replay_progress_two_decimals
    assert releases.lookup("11.0.1").replay_progress_two_decimals
    slots = list(range(171_189_456, 171_240_001, 1296))  # the replayed blocks after the snapshot
    lines = simnode.replay_lines("10.6.4", 171_188_160, 171_240_000, slots)
    percents = [p for _, p, _ in lines]
    assert percents[0] == pytest.approx(100.0 * 171_189_456 / 171_240_000)  # the first replayed block: ~99.97
    assert all(b - a >= 0.01 for a, b in zip(percents, percents[1:], strict=False))
    assert 3 <= len(lines) < len(slots)
    assert lines[0][2] == repr(percents[0])  # Haskell `show` of the figure
    assert simnode.replay_lines("11.0.1", 171_188_160, 171_240_000, slots)[0][2] == f"{percents[0]:.2f}"
    genesis = simnode.replay_lines("10.6.4", 0, 1_000_000, [500, 20_000])
    assert [t for _, _, t in genesis] == ["5.0e-2", "2.0"]


def test_metrics_page_names_and_suffixes() -> None:
    metrics = [("slotNum", dispatcher.MetricKind.INT, 5), ("density", dispatcher.MetricKind.DOUBLE, 0.05),
               ("peerSelection.ActivePeers", dispatcher.MetricKind.INT, 2)]  # fmt: skip
    build = [("cardano_build_info", {"version": "10.6.4", "revision": "5a4d"})]
    page = dispatcher.exposition("cardano.node.metrics.", True, metrics, build)
    assert page.splitlines() == [
        "# TYPE cardano_node_metrics_slotNum_int gauge", "cardano_node_metrics_slotNum_int 5",
        "cardano_node_metrics_density_real 0.05",
        "# TYPE cardano_node_metrics_peerSelection_ActivePeers_int gauge",
        "cardano_node_metrics_peerSelection_ActivePeers_int 2",
        'cardano_build_info{version="10.6.4",revision="5a4d"} 1', "# EOF",
    ]  # fmt: skip
    bare = dispatcher.exposition("cardano.node.metrics.", False, metrics, [])
    assert "cardano_node_metrics_slotNum 5" in bare.splitlines() and "_int" not in bare.replace("TYPE", "")


def test_journal_shows_coloured_lines_as_blobs_unless_all() -> None:
    """journalctl(1) --all: a message with unprintable characters (a coloured line's ESC) is
    otherwise shown as `[N blob data]`; plain lines print as they are either way."""
    coloured = "\x1b[34m[2026-05-10 08:01:02.1234Z][relay1:ChainDB.OpenEvent.OpenedDB](Info,5)\x1b[0m Opened db"
    assert shown_message(coloured, show_all=False) == f"[{len(coloured.encode())}B blob data]"
    assert shown_message(coloured, show_all=True) == coloured
    plain = "[relay1:cardano.node.ChainDB:Info:5] [2024-09-03 12:11:09.26 UTC] Opened db\twith tab"
    assert shown_message(plain, show_all=False) == plain
    assert format_bytes(2048) == "2.0K"


def test_lab_up_checks_versions_and_hosts_before_booting() -> None:
    from orchestrator.lab.hosts import check_versions
    from orchestrator.lab.state import LabError

    hosts = plan_hosts(2, 1, 0, yaml_configs=("relay2",))
    check_versions(hosts, "10.6.4", "11.0.1", {"relay2": "8.7.3", "bp1": "8.9.0"})  # a mixed fleet is fine
    with pytest.raises(LabError, match=r"--target-version: .*11\.1\.0 yet"):  # provisional: not booted
        check_versions(hosts, "8.7.3", "11.1.0", {})
    with pytest.raises(LabError, match="--host-version: no relay, block producer or passive node named relay9"):
        check_versions(hosts, "8.7.3", "8.9.0", {"relay9": "10.6.4"})
    with pytest.raises(LabError, match="--yaml-config relay2: .*not 11.0.1"):
        check_versions(hosts, "8.7.3", "8.9.0", {"relay2": "11.0.1"})


def test_lab_up_cli_takes_host_versions_and_a_target(tmp_path: Path) -> None:
    import argparse

    from orchestrator.commands import lab as lab_command

    parser = argparse.ArgumentParser()
    lab_command.add_arguments(parser)
    args = parser.parse_args(["up", "--node-version", "10.6.4", "--host-version", "relay2=8.9.0",
                              "--target-version", "11.0.1"])  # fmt: skip
    assert (args.node_version, dict(args.host_version), args.target_version) == ("10.6.4", {"relay2": "8.9.0"}, "11.0.1")
    with pytest.raises(SystemExit):
        parser.parse_args(["up", "--host-version", "relay2"])
    with pytest.raises(SystemExit):
        parser.parse_args(["up", "--host-version", "relay2=11.1.0"])


def test_the_inventory_pins_the_target_from_the_lab_release_server(tmp_path: Path) -> None:
    from orchestrator.lab.state import LabState

    hosts = plan_hosts(1, 0, 7)
    urls = {v: {"url": f"http://198.18.7.1:8080/{v}.tar.gz", "sha256": v * 2} for v in lab_releases.LAB_VERSIONS}
    state = LabState(dir=str(tmp_path), subnet=7, bridge="cfleet7", gateway="198.18.7.1", node_version="10.6.4",
                     hosts=hosts, release_urls=urls, target_version="11.0.1")  # fmt: skip
    text = provision._inventory(state, provision.Keys(tmp_path / "k", "pub", {}), relayed=False)
    assert 'version: "11.0.1"' in text and "url: http://198.18.7.1:8080/11.0.1.tar.gz" in text
    assert state.version_of("relay1") == "10.6.4" and state.version_of("chainsrc") == releases.TARGET_VERSION
