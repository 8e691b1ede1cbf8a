"""The whole probe output → HostFacts, from hand-written samples: healthy, down, partial, garbage, unreachable."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shlex
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.cardano.layouts import GUILD, IOG
from orchestrator.facts.probe import (
    FileStat,
    GenesisFile,
    KeyFileStat,
    build_probe,
    facts_from_result,
    network_args,
    parse_probe,
    split_sections,
)
from orchestrator.facts.record import REGISTRY, Output
from orchestrator.facts.script import script_sections
from orchestrator.model import Host, Role
from orchestrator.report.facts_json import facts_to_json
from orchestrator.ssh.transport import CommandResult

RELAY = Host(name="relay1", role=Role.RELAY, address="198.18.0.11", layout=GUILD)
BP = Host(name="bp1", role=Role.BLOCK_PRODUCER, address="198.18.0.101", layout=IOG, network="preview")

CONFIG = json.dumps({"EnableP2P": True, "PeerSharing": False, "ConwayGenesisFile": "conway-genesis.json"})
TOPOLOGY = json.dumps({"localRoots": [], "publicRoots": [], "useLedgerAfterSlot": -1})
SHA_A = "a" * 64
SHA_B = "b" * 64


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def section(name: str, body: str, rc: int | None = 0) -> str:
    out = f"\n@@cf-begin {name}@@\n{body}\n"
    if rc is not None:
        out += f"\n@@cf-end {name} {rc}@@\n"
    return out


def file_body(text: str, stat: str = "root:root 644 123") -> str:
    return f"stat={stat}\nsha256={hashlib.sha256(text.encode()).hexdigest()}\nb64={b64(text)}"


HEALTHY: dict[str, tuple[str, int | None]] = {
    "os": ("hostname=relay1\nkernel=Linux 6.1.0 x86_64\nos_id=debian\nos_version=12\ntime=1700000000", 0),
    "binary": (
        "bin_dir=/opt/cardano/cnode/releases/8.9.0/bin\nnode=/opt/cardano/cnode/releases/8.9.0/bin/cardano-node",
        0,
    ),
    "node_version": (
        "cardano-node 8.9.0 - linux-x86_64 - ghc-8.10\ngit rev 0d98405a60d57e1c8e13406d51cce0e34356bd64",
        0,
    ),
    "cli_version": (
        "cardano-cli 8.20.3.0 - linux-x86_64 - ghc-8.10\ngit rev 0d98405a60d57e1c8e13406d51cce0e34356bd64",
        0,
    ),
    "service": ("ActiveState=active\nUnitFileState=enabled", 0),
    "run_lock": ("", 0),
    "config": (file_body(CONFIG), 0),
    "topology": (file_body(TOPOLOGY, "cardano:cardano 640 77"), 0),
    "genesis": (f"conway\t/opt/cardano/cnode/files/conway-genesis.json\t{SHA_A}\t{SHA_B}", 0),
    "peer_snapshot": ("none", 0),
    "tip": (
        '{"block": 10, "epoch": 669, "era": "Babbage", "hash": "ab", "slot": 107433709, "syncProgress": "100.00"}',
        0,
    ),
    "metrics": ("cardano_node_metrics_peerSelection_hot 3\ncardano_node_metrics_slotNum_int 107433709", 0),
    "peers": (
        '0 0 198.18.0.11:6000 198.18.0.101:40312 users:(("cardano-node",pid=51,fd=12))\n'
        '0 0 198.18.0.11:22 198.18.0.1:50022 users:(("sshd",pid=9,fd=4))',
        0,
    ),
    "disk": (
        "Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/vda 1000 400 600 40% /",
        0,
    ),
    "ledger": ("5242880\t/opt/cardano/cnode/db/ledger", 0),
    "memory": ("MemTotal:       16337212 kB", 0),
    "releases": ("8.9.0\n8.7.3", 0),
    "release_sums": ("release=8.9.0\nrecord=absent", 0),
    # what the probe ships from the node's journal: real lines (a 2022 testnet node's start)
    "startup": (
        "source=journal:cnode.service\n"
        "[oryx:cardano.node.ChainDB:Info:5] [2022-02-23 02:13:35.25 UTC] Started opening Chain DB\n"
        "[oryx:cardano.node.ChainDB:Info:5] [2022-02-23 02:13:35.28 UTC] Validating chunk no. 1808 out of 1808. "
        "Progress: 99.94%\n"
        "[oryx:cardano.node.ChainDB:Info:5] [2022-02-23 02:13:35.31 UTC] Replaying ledger from snapshot at "
        "e59da134c4615f3f4a478c29b75d246be1be2d715ed0fefb34a3caa328c23656 at slot 650926\n"
        "[oryx:cardano.node.ChainDB:Info:5] [2022-02-23 02:13:35.31 UTC] Replayed block: slot 651000 out of 651000. "
        "Progress: 100.00%\n"
        "[oryx:cardano.node.ChainDB:Info:5] [2022-02-23 02:13:35.31 UTC] Opened lgr db\n"
        "[oryx:cardano.node.ChainDB:Info:5] [2022-02-23 02:13:35.31 UTC] Started initial chain selection\n"
        "[oryx:cardano.node.ChainDB:Info:5] [2022-02-23 02:13:35.33 UTC] Pushing ledger state for block "
        "ef4c33100195545a145850b90fd0d95fc9898ece3406d6a14da92113b5719260 at slot 651581. Progress: 100.00%\n"
        "[oryx:cardano.node.ChainDB:Info:5] [2022-02-23 02:13:35.33 UTC] Opened db with immutable tip at "
        "42965060fe5f47088fcdc57b2bca1dc67e29c2c5d5cd57254fdd9e7e3aa7c4ce at slot 651000 and tip "
        "ef4c33100195545a145850b90fd0d95fc9898ece3406d6a14da92113b5719260 at slot 651581\n"
        "[oryx:cardano.node.DiffusionInitializationTracer:Info:49] [2022-02-23 02:13:35.33 UTC] LocalSocketUp "
        '(LocalAddress "node.socket") (FileDescriptor 23)',
        0,
    ),
}


def probe(sections: dict[str, tuple[str, int | None]], **overrides: tuple[str, int | None] | None) -> str:
    merged = dict(sections)
    for name, value in overrides.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return "".join(section(name, body, rc) for name, (body, rc) in merged.items())


def test_healthy_relay() -> None:
    f = parse_probe(RELAY, probe(HEALTHY))
    assert f.reachable and f.error is None
    assert dict(f.probe_errors) == {}
    assert f.startup_source == "journal:cnode.service"
    assert f.last_start_seconds == pytest.approx(0.08)  # 02:13:35.25 → 02:13:35.33
    assert f.startups is not None and f.startups.current is f.startups.last_completed
    assert (f.hostname, f.os_id, f.os_version, f.kernel, f.host_time) == (
        "relay1",
        "debian",
        "12",
        "Linux 6.1.0 x86_64",
        1700000000,
    )
    assert (f.node_version, f.node_rev, f.cli_version) == (
        "8.9.0",
        "0d98405a60d57e1c8e13406d51cce0e34356bd64",
        "8.20.3.0",
    )
    assert f.binary_target == "/opt/cardano/cnode/releases/8.9.0/bin"
    assert (f.service_active, f.service_enabled, f.service_running) == ("active", "enabled", True)
    assert f.config_text == CONFIG and f.config_sha256 == hashlib.sha256(CONFIG.encode()).hexdigest()
    assert f.config_stat == FileStat("root", "root", 0o644, 123)
    assert f.topology_stat == FileStat("cardano", "cardano", 0o640, 77)
    assert str(f.topology_stat) == "cardano:cardano 0640"
    assert f.enable_p2p is True and f.topology_format == "p2p"
    assert f.genesis == {"conway": GenesisFile("/opt/cardano/cnode/files/conway-genesis.json", SHA_A, SHA_B)}
    assert f.tip is not None and f.tip.slot == 107433709 and f.tip_error is None
    assert f.hot_peers == 3
    assert f.hot_peer_addresses == ("198.18.0.101",)
    assert f.disk_free_bytes == 600 * 1024
    assert f.ledger_bytes == 5 * 1024**3  # du -sk: KiB
    assert f.releases == ("8.7.3", "8.9.0")
    assert f.key_files_stat == ()  # a relay has no keys section
    # mainnet expected slot at 1700000000 = 4492800 + 103940909 = 108433709
    assert f.slot_lag(1700000000) == 108433709 - 107433709


def test_node_down() -> None:
    """Service failed: version still known, tip and metrics give reasons, nothing raises."""
    out = probe(
        HEALTHY,
        service=("ActiveState=failed\nUnitFileState=enabled", 0),
        tip=(
            "cardano-cli: Network.Socket.connect: <socket: 11>: does not exist (No such file or directory)",
            1,
        ),
        metrics=("curl: (7) Failed to connect to 127.0.0.1 port 12798 after 0 ms: Couldn't connect to server", 7),
        peers=("", 0),
    )
    f = parse_probe(RELAY, out)
    assert f.reachable and f.error is None
    assert f.service_active == "failed" and not f.service_running
    assert f.tip is None and f.tip_error is not None and "does not exist" in f.tip_error
    assert f.slot_lag(1700000000) is None
    assert "metrics" in f.probe_errors and "Couldn't connect" in f.probe_errors["metrics"]
    assert f.metrics == {} and f.hot_peers is None and f.hot_peer_addresses == ()
    assert f.node_version == "8.9.0"


@pytest.mark.parametrize(
    ("body", "active", "enabled"),
    [
        ("ActiveState=active\nUnitFileState=enabled", "active", "enabled"),
        ("UnitFileState=disabled\nActiveState=inactive", "inactive", "disabled"),  # any order
        ("ActiveState=inactive\nUnitFileState=", "inactive", "unknown"),  # no such unit
        ("ActiveState=activating\nUnitFileState=static", "activating", "static"),
        ("", "unknown", "unknown"),
    ],
)
def test_service_section(body: str, active: str, enabled: str) -> None:
    f = parse_probe(RELAY, probe(HEALTHY, service=(body, 0)))
    assert (f.service_active, f.service_enabled) == (active, enabled)
    assert "service" not in f.probe_errors


def test_missing_and_cut_short_sections() -> None:
    text = probe(HEALTHY, os=None, genesis=None, releases=None) + section("releases", "8.9.0", rc=None)
    f = parse_probe(RELAY, text)
    assert f.probe_errors["os"] == "missing from probe output"
    assert f.probe_errors["genesis"] == "missing from probe output"
    assert f.probe_errors["releases"] == "output cut short"
    assert f.hostname is None and f.genesis == {} and f.releases == ()
    assert f.node_version == "8.9.0"  # the rest still parsed


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "\x00\x01 binary junk \xff",
        "@@cf-begin os@@\nhostname=x",  # begins, never ends
        "@@cf-end os 0@@\n@@cf-end tip 0@@",  # ends without begins
        "Traceback (most recent call last):\n  File x\nValueError: nope",
    ],
)
def test_garbage_never_raises(garbage: str) -> None:
    f = parse_probe(RELAY, garbage)
    assert f.reachable
    assert f.node_version is None and f.tip is None
    assert len(f.probe_errors) >= 10


def test_garbled_section_bodies() -> None:
    out = probe(
        HEALTHY,
        node_version=("Segmentation fault", 0),
        config=("stat=root:root 644 10\nsha256=zz\nb64=!!!not-base64!!!", 0),
        topology=("stat=what\nsha256=" + "c" * 64 + "\nb64=" + b64("{not json"), 0),
        tip=("{truncated", 0),
        disk=("df: /opt/cardano/cnode/db: Permission denied", 0),
        ledger=("du: cannot read directory '/opt/cardano/cnode/db/ledger': Permission denied", 0),
        genesis=("conway\t/x/conway.json\t-\t-\nnonsense line\nalien\t/a\t" + SHA_A + "\t" + SHA_B, 0),
        metrics=("<html>not metrics</html>", 0),
    )
    f = parse_probe(RELAY, out)
    assert f.node_version is None and "not a cardano version line" in f.probe_errors["node_version"]
    assert "base64" in f.probe_errors["config"] and f.config_text is None
    assert f.topology_text == "{not json" and f.topology_stat is None and f.topology_format == "unknown"
    assert f.topology is None and "incomplete" in f.probe_errors["topology"]
    assert f.tip is None and f.tip_error is not None and "JSON" in f.tip_error
    assert "disk" in f.probe_errors and f.disk_free_bytes is None
    assert "du printed no size" in f.probe_errors["ledger"] and f.ledger_bytes is None
    assert f.genesis == {"conway": GenesisFile("/x/conway.json", None, None)}
    assert "genesis.conway" in f.probe_errors
    assert "no samples" in f.probe_errors["metrics"]


def test_binary_missing() -> None:
    out = probe(
        HEALTHY,
        binary=("bin_dir=\nnode=", 1),
        node_version=("timeout: failed to run command '/opt/cardano/cnode/bin/cardano-node': No such file", 127),
    )
    f = parse_probe(RELAY, out)
    assert f.binary_target is None and "missing or not executable" in f.probe_errors["binary"]
    assert f.probe_errors["node_version"].startswith("exit 127: timeout: failed to run command")


def test_block_producer_keys_are_stat_only() -> None:
    keys = (
        "600\troot\troot\tf\t/opt/cardano/keys/kes.skey\n"
        "640\troot\tcardano\tf\t/opt/cardano/keys/op.cert\n"
        "700\troot\troot\td\t/opt/cardano/keys/old\n"
        "garbage\n"
    )
    f = parse_probe(BP, probe(HEALTHY, keys=(keys, 0)))
    assert f.key_files_stat == (
        KeyFileStat("/opt/cardano/keys/kes.skey", 0o600, "root", "root", "f"),
        KeyFileStat("/opt/cardano/keys/op.cert", 0o640, "root", "cardano", "f"),
        KeyFileStat("/opt/cardano/keys/old", 0o700, "root", "root", "d"),
    )
    doc = facts_to_json(f, 1700000000)
    assert doc["key_files"][0] == {
        "path": "/opt/cardano/keys/kes.skey",
        "mode": "0600",
        "owner": "root",
        "group": "root",
        "kind": "f",
    }
    # a BP without a keys section is a probe error
    assert "keys" in parse_probe(BP, probe(HEALTHY)).probe_errors


def test_split_sections_keeps_bodies_verbatim() -> None:
    secs = split_sections(section("a", "x\n  y ", 0) + "noise between\n" + section("b", "", 3))
    assert secs["a"].body == "x\n  y " and secs["a"].rc == 0
    assert secs["b"].body == "" and secs["b"].rc == 3


def _result(**kw: object) -> CommandResult:
    base: dict[str, object] = {
        "host": "relay1",
        "ok": True,
        "exit_code": 0,
        "stdout": "",
        "stderr": "",
        "duration": 0.1,
        "error": None,
    }
    base.update(kw)
    return CommandResult(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("result", "reachable", "error"),
    [
        (
            _result(ok=False, exit_code=None, error="connection refused by root@198.18.0.11:22", connected=False),
            False,
            "connection refused by root@198.18.0.11:22",
        ),
        (
            _result(ok=False, exit_code=None, error="host key mismatch for root@198.18.0.11:22: ...", connected=False),
            False,
            "host key mismatch for root@198.18.0.11:22: ...",
        ),
        (
            _result(ok=False, exit_code=1, stderr="sudo: a password is required\n"),
            True,
            "probe failed: sudo: a password is required",
        ),
        (
            _result(ok=False, exit_code=None, error="command timed out after 60s"),
            True,
            "probe failed: command timed out after 60s",
        ),
    ],
)
def test_facts_from_failed_results(result: CommandResult, reachable: bool, error: str) -> None:
    f = facts_from_result(RELAY, result)
    assert (f.reachable, f.error) == (reachable, error)
    assert f.node_version is None
    doc = facts_to_json(f)
    assert doc["reachable"] is reachable and doc["error"] == error


def test_timeout_with_partial_output_keeps_what_arrived() -> None:
    partial = probe({k: HEALTHY[k] for k in ("os", "binary", "node_version")}) + section("cli_version", "", rc=None)
    f = facts_from_result(RELAY, _result(ok=False, exit_code=None, stdout=partial, error="command timed out after 60s"))
    assert f.reachable and f.error == "probe failed: command timed out after 60s"
    assert f.node_version == "8.9.0" and f.probe_errors["cli_version"] == "output cut short"


def test_json_has_stable_keys_and_no_file_contents() -> None:
    f = facts_from_result(RELAY, _result(stdout=probe(HEALTHY)))
    doc = facts_to_json(f, 1700000000)
    assert sorted(doc) == sorted(
        [
            "host", "reachable", "error", "network", "hostname", "clock_skew_seconds", "os", "node_version", "node_rev",
                "cli_version",
            "binary_path", "binary_target", "service", "enable_p2p", "runs_p2p", "topology_format", "config", "topology",
            "genesis", "tip", "tip_error", "slot_lag", "hot_peers", "hot_peer_addresses", "disk_free_bytes", "ledger_bytes",
            "releases", "key_files", "startup", "probe_errors", "remaining_kes_periods", "leader_schedule",
            "running_version", "tracing", "forging_enabled", "replay_progress", "forging",
        ]
    )  # fmt: skip
    assert doc["slot_lag"] == 1000000
    assert doc["runs_p2p"] is f.runs_p2p
    assert doc["startup"]["phase"] == "socket up" and doc["startup"]["last_start_seconds"] == pytest.approx(0.08)
    assert doc["config"]["mode"] == "0644"
    assert doc["genesis"]["conway"]["blake2b_256"] == SHA_B
    text = json.dumps(doc)
    assert b64(CONFIG) not in text and "PeerSharing" not in text
    assert json.loads(text) == doc


@pytest.mark.parametrize(
    ("network", "args"), [("mainnet", "--mainnet"), ("preprod", "--testnet-magic 1"), ("preview", "--testnet-magic 2")]
)
def test_network_args(network: str, args: str) -> None:
    assert network_args(network) == args
    assert args in build_probe(replace(RELAY, network=network))


def test_probe_only_stats_pool_keys() -> None:
    script = build_probe(BP)
    assert "-printf" in script and IOG.keys_dir in script
    assert "kes.skey" not in script
    assert "keys" in script_sections(script) and "keys" not in script_sections(build_probe(RELAY))
    assert IOG.keys_dir not in build_probe(replace(RELAY, layout=IOG))


def test_probe_quotes_hostile_paths(tmp_path: Path) -> None:
    """Run the probe locally with hostile layout values: nothing in them may execute."""
    marker = tmp_path / "pwned"
    evil = f"$(touch {marker})`touch {marker}`;touch {marker};'\""
    layout = GUILD.with_overrides(
        {
            "bin_dir": str(tmp_path / f"bin{evil}"),
            "config_path": str(tmp_path / f"c{evil}.json"),
            "topology_path": str(tmp_path / f"t{evil}.json"),
            "db_path": str(tmp_path / f"db{evil}"),
            "socket_path": str(tmp_path / f"s{evil}"),
            "releases_dir": str(tmp_path / f"r{evil}"),
            "keys_dir": str(tmp_path / f"k{evil}"),
            "service_name": f"x{evil}.service",
        }
    )
    host = Host(name="evil", role=Role.BLOCK_PRODUCER, address="127.0.0.1", layout=layout)
    script = build_probe(host)
    assert shlex.split(script)[:2] == ["sh", "-c"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert proc.returncode == 0
    assert not marker.exists()
    f = parse_probe(host, proc.stdout)
    assert f.hostname  # the os section ran
    assert "config" in f.probe_errors and "keys" in f.probe_errors


def test_a_held_run_lock_is_read() -> None:
    held = parse_probe(RELAY, probe(HEALTHY, run_lock=("holder=20261205T101500Z-ab12", 0)))
    assert held.run_lock == "20261205T101500Z-ab12"
    assert parse_probe(RELAY, probe(HEALTHY)).run_lock is None


def test_ledger_size_absent_is_nothing_to_back_up_and_the_keys_dir_is_never_touched() -> None:
    assert parse_probe(RELAY, probe(HEALTHY, ledger=("absent", 0))).ledger_bytes == 0
    record = REGISTRY["ledger"]
    command = record.command(BP)
    assert "du -sk" in command and "/opt/cardano/db/ledger" in command and "realpath" in command
    inside = replace(BP, layout=replace(BP.layout, db_path=BP.layout.keys_dir + "/db"))
    refused = record.command(inside)
    assert "du" not in refused and "refused" in refused and refused.endswith("exit 3")


def test_memory_total_from_meminfo() -> None:
    """MemTotal is in KiB (proc(5) writes "kB"); garbled output is a probe error, not a number."""
    assert parse_probe(RELAY, probe(HEALTHY)).mem_total_bytes == 16337212 * 1024
    bad = parse_probe(RELAY, probe(HEALTHY, memory=("grep: /proc/meminfo: No such file", 0)))
    assert bad.mem_total_bytes is None and "no MemTotal" in bad.probe_errors["memory"]


def test_the_ledger_section_measures_a_real_directory_with_du(tmp_path: Path) -> None:
    """The command itself, run by sh on a real tree: du's KiB become bytes; keys stay untouched."""
    ledger = tmp_path / "db" / "ledger" / "183000000"
    ledger.mkdir(parents=True)
    (ledger / "state").write_bytes(os.urandom(256 * 1024))
    keys = tmp_path / "keys"
    keys.mkdir()
    host = replace(BP, layout=replace(BP.layout, db_path=str(tmp_path / "db"), keys_dir=str(keys)))
    record = REGISTRY["ledger"]
    proc = subprocess.run(["sh", "-c", record.command(host)], capture_output=True, text=True, timeout=30)
    size = record.parse(Output(host, proc.stdout, proc.returncode)).fields["ledger_bytes"]
    assert 256 * 1024 <= size < 1024 * 1024
    link = tmp_path / "db2"  # a db path that resolves into the keys dir is refused on the host
    link.symlink_to(keys)
    (keys / "ledger").mkdir()
    sneaky = replace(host, layout=replace(host.layout, db_path=str(link)))
    proc = subprocess.run(["sh", "-c", record.command(sneaky)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 3 and "refused" in proc.stdout
