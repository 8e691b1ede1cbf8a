"""Table-driven tests of the pure health parsers: what real commands print, and what they print on failure."""

from __future__ import annotations

import math

import pytest

from orchestrator.cardano import health
from orchestrator.cardano.health import (
    DiskUsage,
    ParseError,
    TcpConnection,
    VersionInfo,
    node_peer_addresses,
    parse_df,
    parse_prometheus,
    parse_ss,
    parse_tip,
    parse_version,
    slot_lag,
    sync_state,
)

NODE_890 = "cardano-node 8.9.0 - linux-x86_64 - ghc-8.10\ngit rev 0d98405a60d57e1c8e13406d51cce0e34356bd64\n"
NODE_873 = "cardano-node 8.7.3 - linux-x86_64 - ghc-8.10\ngit rev a4a8119b59b1fbb9a69c79e1e6900e91292161e7\n"
CLI_890 = "cardano-cli 8.20.3.0 - linux-x86_64 - ghc-8.10\ngit rev 0d98405a60d57e1c8e13406d51cce0e34356bd64\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            NODE_890,
            VersionInfo(
                "cardano-node", "8.9.0", "linux-x86_64", "ghc-8.10", "0d98405a60d57e1c8e13406d51cce0e34356bd64"
            ),
        ),
        (
            NODE_873,
            VersionInfo(
                "cardano-node", "8.7.3", "linux-x86_64", "ghc-8.10", "a4a8119b59b1fbb9a69c79e1e6900e91292161e7"
            ),
        ),
        (
            CLI_890,
            VersionInfo(
                "cardano-cli", "8.20.3.0", "linux-x86_64", "ghc-8.10", "0d98405a60d57e1c8e13406d51cce0e34356bd64"
            ),
        ),
        # no git rev line (a custom build)
        (
            "cardano-node 8.9.0 - linux-x86_64 - ghc-9.6\n",
            VersionInfo("cardano-node", "8.9.0", "linux-x86_64", "ghc-9.6", None),
        ),
        # bare version, a warning printed before it
        ("WARNING: locale not set\ncardano-node 8.9.0\n", VersionInfo("cardano-node", "8.9.0", "", "", None)),
        # darwin build line
        (
            "cardano-node 8.9.0 - darwin-aarch64 - ghc-8.10\ngit rev 0d98405a\n",
            VersionInfo("cardano-node", "8.9.0", "darwin-aarch64", "ghc-8.10", "0d98405a"),
        ),
    ],
)
def test_parse_version(text: str, expected: VersionInfo) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "sh: 1: /opt/cardano/bin/cardano-node: not found\n",
        "timeout: failed to run command '/opt/cardano/cnode/bin/cardano-node': No such file or directory",
        "\x00\x01\x02 garbage",
        "cardano-node version unknown",
    ],
)
def test_parse_version_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_version(text)


TIP_SYNCED = """{
    "block": 10195468,
    "epoch": 669,
    "era": "Babbage",
    "hash": "de50f68eb80586c6f82ec59d78773830bcf6469c50c441b0ab1d40062508ee6f",
    "slot": 203909376,
    "slotInEpoch": 309376,
    "slotsToEpochEnd": 122624,
    "syncProgress": "100.00"
}"""

TIP_GENESIS = '{"epoch": 0, "era": "Byron", "syncProgress": "0.00"}'


@pytest.mark.parametrize(
    ("text", "slot", "block", "era", "progress"),
    [
        (TIP_SYNCED, 203909376, 10195468, "Babbage", 100.0),
        (TIP_GENESIS, None, None, "Byron", 0.0),
        # a warning line before the JSON
        ("Warning: old socket\n" + TIP_SYNCED, 203909376, 10195468, "Babbage", 100.0),
        ('{"slot": 5, "syncProgress": "99.87"}', 5, None, None, 99.87),
        ('{"slot": "7"}', 7, None, None, None),
    ],
)
def test_parse_tip(text: str, slot: int | None, block: int | None, era: str | None, progress: float | None) -> None:
    tip = parse_tip(text)
    assert (tip.slot, tip.block, tip.era, tip.sync_progress) == (slot, block, era, progress)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no JSON"),
        (
            "cardano-cli: Network.Socket.connect: <socket: 11>: does not exist (No such file or directory)\n",
            "does not exist",
        ),
        ("{not json}", "invalid JSON"),
        ('{"slot": [1]}', "slot is not a number"),
        ('{"slot": 1, "syncProgress": "fast"}', "syncProgress"),
        ('{"error": "node is starting"}', "node is starting"),
    ],
)
def test_parse_tip_rejects(text: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_tip(text)


METRICS = """# TYPE cardano_node_metrics_slotNum_int gauge
cardano_node_metrics_slotNum_int 203909376
cardano_node_metrics_blockNum_int 10195468
cardano_node_metrics_density_real 5.0e-2
cardano_node_metrics_peerSelection_hot 3
cardano_node_metrics_connectionManager_incomingConns 1
rts_gc_num_gcs{generation="1"} 42 1700000000000
weird line without a value
metric_nan NaN
metric_inf +Inf
bad_value abc

"""


def test_parse_prometheus() -> None:
    m = parse_prometheus(METRICS)
    assert m["cardano_node_metrics_slotNum_int"] == 203909376
    assert m["cardano_node_metrics_density_real"] == pytest.approx(0.05)
    assert m[health.HOT_PEERS_METRIC] == 3
    assert m['rts_gc_num_gcs{generation="1"}'] == 42
    assert math.isnan(m["metric_nan"]) and m["metric_inf"] == math.inf
    assert "bad_value" not in m and "weird" not in " ".join(m)
    assert health.metric_int(m, health.HOT_PEERS_METRIC) == 3
    assert health.metric_int(m, "metric_nan") is None
    assert health.metric_int(m, "absent") is None


@pytest.mark.parametrize("text", ["", "curl: (7) Failed to connect to 127.0.0.1 port 12798", "<html>404</html>"])
def test_parse_prometheus_garbage_is_empty(text: str) -> None:
    assert parse_prometheus(text) == {}


SS_P = """0      0        198.18.0.11:6000    198.18.0.101:40312 users:(("cardano-node",pid=51,fd=12))
0      0        198.18.0.11:38210     198.18.0.2:3001  users:(("cardano-node",pid=51,fd=10))
0      0        198.18.0.11:22     198.18.0.1:50022  users:(("sshd",pid=9,fd=4))
0      0          127.0.0.1:12798     127.0.0.1:50000  users:(("cardano-node",pid=51,fd=15))
0      0   [::ffff:198.18.0.11]:6000 [::ffff:198.18.0.12]:41000 users:(("cardano-node",pid=51,fd=16))
"""

SS_NO_P = """0 0 198.18.0.11:6000 198.18.0.101:40312
0 0 198.18.0.11:38210 198.18.0.2:3001
0 0 198.18.0.11:22 198.18.0.1:50022
0 0 [fe80::1%eth0]:6000 [fe80::2%eth0]:51000
"""


def test_parse_ss_with_process() -> None:
    conns = parse_ss(SS_P)
    assert conns[0] == TcpConnection("198.18.0.11", 6000, "198.18.0.101", 40312, "cardano-node")
    assert conns[2].process == "sshd"
    assert conns[4].peer_address == "198.18.0.12"  # v4-mapped addresses unmapped
    assert node_peer_addresses(conns) == ("198.18.0.101", "198.18.0.12", "198.18.0.2")


def test_parse_ss_without_process_uses_port_heuristic() -> None:
    conns = parse_ss(SS_NO_P)
    assert [c.process for c in conns] == ["", "", "", ""]
    assert conns[3].peer_address == "fe80::2"
    assert node_peer_addresses(conns) == ("198.18.0.101", "198.18.0.2", "fe80::2")


@pytest.mark.parametrize(
    "text",
    ["", "Recv-Q Send-Q Local Address:Port Peer Address:Port", "garbage here\nx y z w", "0 0 nocolon nocolon"],
)
def test_parse_ss_garbage(text: str) -> None:
    assert parse_ss(text) == []


def test_parse_ss_with_state_column() -> None:
    conns = parse_ss("ESTAB 0 0 203.0.113.1:3001 203.0.113.2:5000\n")
    assert conns == [TcpConnection("203.0.113.1", 3001, "203.0.113.2", 5000, "")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
            "/dev/vda         264212084 22989436  83401476      22% /\n",
            DiskUsage("/dev/vda", 264212084 * 1024, 22989436 * 1024, 83401476 * 1024, "/"),
        ),
        (
            "Filesystem 512-blocks Used Available Capacity Mounted on\noverlay 2000 1000 1000 50% /opt/cardano\n",
            DiskUsage("overlay", 2000 * 512, 1000 * 512, 1000 * 512, "/opt/cardano"),
        ),
        (  # a long device name wrapped onto its own line
            "Filesystem 1K-blocks Used Available Use% Mounted on\n"
            "/dev/mapper/very-long-volume-group-name\n"
            "  100 40 60 40% /var/lib/cardano db\n",
            DiskUsage("/dev/mapper/very-long-volume-group-name", 102400, 40960, 61440, "/var/lib/cardano db"),
        ),
        (
            "df: warning: something\nFilesystem 1-blocks Used Available Capacity Mounted on\ntmpfs 10 2 8 20% /run\n",
            DiskUsage("tmpfs", 10, 2, 8, "/run"),
        ),
    ],
)
def test_parse_df(text: str, expected: DiskUsage) -> None:
    assert parse_df(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "df: /opt/cardano/db: No such file or directory\n",
        "Filesystem 1024-blocks Used Available Capacity Mounted on\n",
        "Filesystem blocks Used Available Capacity Mounted on\n/dev/x 1 2 3 4% /\n",
        "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x a b c 4% /\n",
    ],
)
def test_parse_df_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_df(text)


@pytest.mark.parametrize(
    ("network", "unix_now", "tip", "lag"),
    [
        # mainnet: 4492800 + (now - 1596059091)
        ("mainnet", 1596059091, 4492800, 0),
        ("mainnet", 1596059091 + 100, 4492800, 100),
        ("mainnet", 1700000000, 4492800 + (1700000000 - 1596059091) - 15, 15),
        # preview: now - 1666656000
        ("preview", 1666656000 + 5000, 4000, 1000),
        # preprod: 86400 + (now - 1655769600)
        ("preprod", 1655769600 + 10, 86410, 0),
        # a tip ahead of the clock (skew) is a negative lag
        ("preview", 1666656000 + 10, 20, -10),
    ],
)
def test_slot_lag(network: str, unix_now: float, tip: int, lag: int) -> None:
    assert slot_lag(tip, network, unix_now) == lag


def test_slot_lag_unknown_network() -> None:
    with pytest.raises(ValueError, match="unknown network"):
        slot_lag(1, "sanchonet-x", 0)


@pytest.mark.parametrize(
    ("lag", "state"),
    [(-5, "in-sync"), (0, "in-sync"), (20, "in-sync"), (21, "behind"), (600, "behind"), (601, "out-of-sync")],
)
def test_sync_state(lag: int, state: str) -> None:
    assert sync_state(lag) == state


@pytest.mark.parametrize(
    ("topology", "fmt"),
    [
        ({"localRoots": [], "publicRoots": []}, "p2p"),
        ({"publicRoots": []}, "p2p"),
        ({"LocalRoots": {"groups": []}, "PublicRoots": []}, "legacy-p2p"),
        ({"Producers": [{"addr": "relays-new.cardano-mainnet.iohk.io", "port": 3001, "valency": 2}]}, "legacy"),
        ({}, "unknown"),
        ([], "unknown"),
        (None, "unknown"),
    ],
)
def test_topology_format(topology: object, fmt: str) -> None:
    assert health.topology_format(topology) == fmt


@pytest.mark.parametrize(
    ("config", "p2p"),
    [
        ({"EnableP2P": True}, True),
        ({"EnableP2P": False}, False),
        ({}, False),
        ({"EnableP2P": "true"}, False),
        (None, None),
    ],
)
def test_enable_p2p(config: object, p2p: bool | None) -> None:
    assert health.enable_p2p(config) is p2p
