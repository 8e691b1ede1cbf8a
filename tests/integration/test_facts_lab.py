"""Facts of the lab's real hosts: one connection and one command per host, typed facts that agree
with what is on the hosts, unreachable and broken hosts reported as facts, and the `facts` command."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano.health import sync_state
from orchestrator.facts.probe import build_probe, gather_facts
from orchestrator.load.inventory import load_inventory
from orchestrator.model import Inventory
from orchestrator.ssh.guard import lab_only_env
from orchestrator.ssh.transport import Fleet

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_only")]

REPO = Path(__file__).resolve().parents[2]
REV_873 = "a4a8119b59b1fbb9a69c79e1e6900e91292161e7"


@pytest.fixture(scope="module")
def inventory(lab: Any) -> Inventory:
    """The lab's inventory, once every node answers `query tip` (nodes take a moment to start)."""
    inv = load_inventory(lab.inventory_path)
    wait_for_tips(inv)
    return inv


def wait_for_tips(inv: Inventory, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with Fleet(inv.hosts) as fleet:
        while True:
            pending = {
                name: f.tip_error
                for name, f in gather_facts(fleet, inv.hosts).items()
                if f.tip is None or f.tip.slot is None
            }
            if not pending:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"lab nodes never answered query tip: {pending}")
            time.sleep(0.5)


def test_facts_of_every_host_in_one_round_trip(lab: Any, inventory: Inventory) -> None:
    hosts = inventory.hosts
    with Fleet(hosts) as fleet:
        facts = gather_facts(fleet, hosts)
        stats = fleet.all_stats()
    assert set(facts) == {h.name for h in hosts} == {h.name for h in lab.hosts}
    assert {n: (s.connections_opened, s.commands_run) for n, s in stats.items()} == {h.name: (1, 1) for h in hosts}
    relay_addresses = {h.address for h in inventory.relays}
    now = time.time()
    for h in hosts:
        f = facts[h.name]
        assert f.reachable and f.error is None, f
        assert dict(f.probe_errors) == {}, f.probe_errors
        assert f.hostname == h.name
        assert (f.node_version, f.node_rev, f.cli_version) == ("8.7.3", REV_873, "8.17.0.0")
        assert f.binary_target is not None and f.binary_target.startswith(h.layout.releases_dir)
        assert "8.7.3" in f.releases
        assert (f.service_active, f.service_enabled) == ("active", "enabled")
        # the lab starts on 8.7.3 with legacy topologies, except a relay that already runs P2P
        assert (f.enable_p2p, f.topology_format) in ((False, "legacy"), (True, "p2p"))
        assert f.config_stat is not None and f.config_stat.owner == "root"
        assert f.config is not None and f.topology is not None
        # the conway genesis on disk is the one the config pins (blake2b-256 of the bytes)
        assert f.genesis["conway"].blake2b == f.config["ConwayGenesisHash"]
        assert set(f.genesis) == {"byron", "shelley", "alonzo", "conway"}
        assert f.tip is not None and f.tip.slot is not None
        lag = f.slot_lag(now)
        assert lag is not None and sync_state(lag) in ("in-sync", "behind", "out-of-sync")
        assert f.disk_free_bytes is not None and f.disk_free_bytes > 0
        assert f.ledger_bytes is not None and f.ledger_bytes >= 0  # du -sk of db/ledger (0: none yet)
        assert f.hot_peer_addresses, "a running lab node has peers"
        if h.is_producer:
            # a BP talks to its own relays only
            assert set(f.hot_peer_addresses) <= relay_addresses
            assert f.key_files_stat and all(k.mode & 0o077 == 0 for k in f.key_files_stat if k.kind == "f")
        else:
            assert f.key_files_stat == ()


def test_the_ledger_size_is_du_of_db_ledger_on_the_host(lab: Any, inventory: Inventory) -> None:
    """The `ledger` section over real SSH and sudo: a 2 MiB snapshot file appears in ledger_bytes."""
    relay = inventory.relays[0]
    ledger = f"{relay.layout.db_path}/ledger"
    with Fleet([relay]) as fleet:
        before = gather_facts(fleet, [relay])[relay.name].ledger_bytes
        created = lab.exec(relay.name, f"test -e {ledger} || echo new; mkdir -p {ledger}/9999 && "
                                       f"head -c 2097152 /dev/urandom > {ledger}/9999/state").stdout  # fmt: skip
        try:
            after = gather_facts(fleet, [relay])[relay.name].ledger_bytes
        finally:
            lab.exec(relay.name, f"rm -r {ledger}" if "new" in created else f"rm -r {ledger}/9999")
    assert before is not None and after is not None
    assert after - before >= 2 * 1024 * 1024


def test_probe_never_reads_pool_keys(lab: Any, inventory: Inventory) -> None:
    bp = inventory.block_producers[0]
    secret = lab.exec(bp.name, f"cat {bp.layout.keys_dir}/*").stdout
    assert secret.strip()
    with Fleet([bp]) as fleet:
        raw = fleet.run(bp, build_probe(bp), sudo=True)
    assert raw.ok
    for line in secret.splitlines():
        if line.strip():
            assert line.strip() not in raw.stdout


def test_non_root_operator_with_become_sees_the_same_facts(inventory: Inventory) -> None:
    as_root = inventory.hosts
    as_operator = [replace(h, user="operator", become=True) for h in as_root]
    with Fleet(as_root) as fleet:
        root_facts = gather_facts(fleet, as_root)
    with Fleet(as_operator) as fleet:
        op_facts = gather_facts(fleet, as_operator)
    for h in as_root:
        a, b = root_facts[h.name], op_facts[h.name]
        assert b.reachable and b.error is None and dict(b.probe_errors) == {}
        assert (a.config_sha256, a.topology_sha256, a.node_version, a.key_files_stat) == (
            b.config_sha256,
            b.topology_sha256,
            b.node_version,
            b.key_files_stat,
        )


def test_wrong_host_key_is_a_fact_and_the_others_are_probed(lab: Any, inventory: Inventory, tmp_path: Path) -> None:
    victim = inventory.relays[0]
    key = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    lines = [
        (f"{ln.split()[0]} {kind} {blob}" if ln.split() and ln.split()[0] == victim.address else ln)
        for ln in lab.known_hosts.read_text().splitlines()
    ]
    kh = tmp_path / "known_hosts"
    kh.write_text("\n".join(lines) + "\n")
    hosts = [replace(h, known_hosts_file=str(kh)) for h in inventory.hosts]
    with Fleet(hosts) as fleet:
        facts = gather_facts(fleet, hosts)
    bad = facts[victim.name]
    assert not bad.reachable and bad.error is not None
    assert "host key mismatch" in bad.error and "SHA256:" in bad.error
    assert all(facts[h.name].reachable and facts[h.name].error is None for h in hosts if h.name != victim.name)


def test_stopped_node_is_reported_not_raised(lab_factory: Any) -> None:
    own = lab_factory(relays=1, producers=0)
    inv = load_inventory(own.inventory_path)
    relay = inv.relays[0]
    with Fleet([relay]) as fleet:
        stop = fleet.run(relay, f"systemctl stop {relay.layout.service_name}", sudo=True, timeout=60)
        assert stop.ok, stop
        facts = gather_facts(fleet, [relay])[relay.name]
    assert facts.reachable and facts.error is None
    assert facts.service_active != "active" and not facts.service_running
    assert facts.tip is None and facts.tip_error
    assert "metrics" in facts.probe_errors
    assert facts.node_version == "8.7.3"  # the binary is still there


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = lab_only_env()
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )


def test_facts_command_json_and_exit_codes(lab: Any, inventory: Inventory, tmp_path: Path) -> None:
    ok = _cli("facts", "-i", str(lab.inventory_path), "--json")
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert [h["host"] for h in doc["hosts"]] == [h.name for h in inventory.hosts]
    for h in doc["hosts"]:
        assert h["reachable"] is True and h["node_version"] == "8.7.3" and h["enable_p2p"] in (True, False)
        assert h["ssh"] == {"connections": 1, "commands": 1}
        assert h["role"] in ("relay", "block_producer")

    limited = _cli("facts", "-i", str(lab.inventory_path), "--json", "--limit", inventory.relays[0].name)
    assert limited.returncode == 0 and [h["host"] for h in json.loads(limited.stdout)["hosts"]] == [
        inventory.relays[0].name
    ]

    table = _cli("facts", "-i", str(lab.inventory_path))
    assert table.returncode == 0 and all(h.name in table.stdout for h in inventory.hosts)

    relay = inventory.relays[0]
    broken = tmp_path / "inventory.yml"
    broken.write_text(
        "all:\n"
        "  vars:\n"
        "    ansible_user: root\n"
        "    cardano_network: mainnet\n"
        f"    layout: {relay.layout.name}\n"
        f"    ansible_ssh_private_key_file: {lab.client_key}\n"
        f"    known_hosts_file: {lab.known_hosts}\n"
        "  children:\n"
        "    relays:\n"
        "      hosts:\n"
        f"        {relay.name}:\n"
        f"          ansible_host: {relay.address}\n"
        f"          layout: {relay.layout.name}\n"
        "        ghost:\n"
        f"          ansible_host: {relay.address}\n"
        "          ansible_port: 1\n"
    )
    unreachable = _cli("facts", "-i", str(broken), "--json")
    assert unreachable.returncode == 2, unreachable.stderr
    by_host = {h["host"]: h for h in json.loads(unreachable.stdout)["hosts"]}
    assert by_host["ghost"]["reachable"] is False and "refused" in by_host["ghost"]["error"]
    assert by_host[relay.name]["reachable"] is True

    missing = _cli("facts", "-i", str(tmp_path / "nope.yml"))
    assert missing.returncode == 1 and "nope.yml" in missing.stderr
    no_match = _cli("facts", "-i", str(lab.inventory_path), "--limit", "no-such-host")
    assert no_match.returncode == 1
