"""Issue 6: the rolling upgrade against real lab fleets — one test per design invariant, and more.

Every test runs alone (`-k name`) and in any order: a test that upgrades takes a fresh fleet of its
own; the tests that share the module's 8.7.3 fleet leave it as they found it (rolled back, restarted,
unlocked) and start from a fleet in sync. The same invariants are proven in milliseconds, branch by
branch, in tests/unit/test_engine.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.cardano import node_rules
from orchestrator.cli import main
from orchestrator.roll.journal import Journal

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
UPGRADE = str(ROOT / "playbooks" / "upgrade-8.9.0.yml")
ENABLE_P2P = str(ROOT / "playbooks" / "enable-p2p.yml")
PATHS = {
    "guild": ("/opt/cardano/cnode/files", "/opt/cardano/cnode/bin", "/opt/cardano/cnode/priv/pool", "cnode.service"),
    "iog": ("/opt/cardano/config", "/opt/cardano/bin", "/opt/cardano/keys", "cardano-node.service"),
}


def fingerprint(lab, host: str) -> dict[str, str]:
    """sha256 + owner/mode of every node file, the binary link, and the unit's MainPID."""
    files, bin_dir, _keys, unit = PATHS[lab.host(host).layout]
    out = lab.exec(host, f"cd {files} && for f in config.json topology.json conway-genesis.json; do "
                         f"echo \"$f $(sha256sum < $f | cut -c1-64) $(stat -c %U:%G:%a $f)\"; done; "
                         f"echo \"link $(readlink {bin_dir})\"; echo \"pid $(systemctl show -p MainPID --value {unit})\"")
    return dict(line.split(" ", 1) for line in out.stdout.splitlines())


def files_only(fp: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in fp.items() if k != "pid"}


def run_cli(*argv: str) -> int:
    return main(list(argv))


def journal_events(state_dir: Path) -> list:
    runs = sorted((state_dir / "runs").iterdir())
    return Journal.read(runs[-1] / "journal.jsonl")


def synced(lab_factory, **kwargs):
    lab = lab_factory(**kwargs)
    lab.wait_in_sync()
    return lab


@pytest.fixture(scope="module")
def _shared(lab_factory):
    return synced(lab_factory, relays=3, producers=1)


@pytest.fixture
def fleet(_shared):
    """The module's 8.7.3 fleet, in sync; each test using it leaves it on 8.7.3 as it found it."""
    _shared.wait_in_sync()
    return _shared


def test_check_changes_nothing_and_reports_pending(fleet, tmp_path):
    before = {h.name: fingerprint(fleet, h.name) for h in fleet.hosts}
    rc = run_cli("run", "-i", str(fleet.inventory_path), UPGRADE, "--check", "--state-dir", str(tmp_path))
    assert rc == 2
    assert {h.name: fingerprint(fleet, h.name) for h in fleet.hosts} == before
    assert not (tmp_path / "runs").exists()


def test_unconfirmed_run_refuses_without_a_terminal(fleet, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # noqa: SIM115 - pytest restores and the GC closes it
    before = {h.name: fingerprint(fleet, h.name) for h in fleet.hosts}
    assert run_cli("run", "-i", str(fleet.inventory_path), UPGRADE, "--state-dir", str(tmp_path)) == 1
    assert {h.name: fingerprint(fleet, h.name) for h in fleet.hosts} == before


def test_extra_vars_change_the_planned_topologies(fleet, capsys):
    """Issue 12's example: -e extra_local_roots / keep_manual_peers / restart_mode change the plan."""
    def relay_peers(*extra: str) -> dict[str, set[str]]:
        assert run_cli("plan", "-i", str(fleet.inventory_path), UPGRADE, "--json", *extra) == 2
        plan = json.loads(capsys.readouterr().out)
        peers = {}
        for h in plan["hosts"]:
            if h["role"] == "relay":
                diff = next(f["diff"] for f in h["files"] if f["path"].endswith("topology.json"))
                peers[h["host"]] = {line for line in diff.splitlines() if line.startswith("+")}
        return peers

    before = relay_peers()
    after = relay_peers("-e", json.dumps({
        "extra_local_roots": [{"accessPoints": [{"address": "relay9.example.com", "port": 3001}], "valency": 1}],
        "keep_manual_peers": False, "restart_mode": "restart"}))  # fmt: skip
    assert any("relay.friendpool.example" in line for line in before["relay1"])  # the lab's hand-picked friend
    for relay, lines in after.items():
        assert any("relay9.example.com" in line for line in lines), relay
        assert not any("relay.friendpool.example" in line for line in lines), relay


def test_upgrade_ends_with_every_host_on_890_p2p_in_sync_and_a_second_run_is_a_noop(fresh_lab, tmp_path_factory):
    """Invariants 1, 2, 4, 5, 6, 10 on a fleet of its own; then the same run again changes nothing."""
    fleet = synced(fresh_lab, relays=3, producers=1)
    state = tmp_path_factory.mktemp("state")
    for h in fleet.hosts:  # an old atime: relatime would update it if anything read a key
        if h.role == "block_producer":
            fleet.exec(h.name, f"touch -a -d '3 days ago' {PATHS[h.layout][2]}/*")
    keys_atime = fleet.exec("bp1", f"stat -c '%n %X' {PATHS['iog'][2]}/*").stdout
    before = {h.name: fingerprint(fleet, h.name) for h in fleet.hosts}
    rc = run_cli("run", "-i", str(fleet.inventory_path), UPGRADE, "--yes", "--state-dir", str(state))
    assert rc == 0
    after = {h.name: fingerprint(fleet, h.name) for h in fleet.hosts}
    for h in fleet.hosts:
        files, bin_dir, _keys, _unit = PATHS[h.layout]
        assert after[h.name]["link"].endswith("/releases/8.9.0/bin")
        version = fleet.exec(h.name, f"{bin_dir}/cardano-node --version").stdout
        assert version.startswith("cardano-node 8.9.0 - linux-x86_64 - ghc-8.10")
        # invariant 4: owner, group and mode kept; a backup named with the run id kept
        for name in ("config.json", "topology.json"):
            assert after[h.name][name].split()[1] == before[h.name][name].split()[1]
        run_id = sorted((state / "runs").iterdir())[-1].name
        assert fleet.exec(h.name, f"test -f {files}/config.json.bak-{run_id}").returncode == 0
        # the files validate as 8.9.0 would read them
        cfg = fleet.exec(h.name, f"cat {files}/config.json").stdout
        topo = fleet.exec(h.name, f"cat {files}/topology.json").stdout
        check = node_rules.check_config("8.9.0", cfg)
        assert check.ok and check.p2p, check.errors
        assert node_rules.check_topology("8.9.0", True, topo)[0] == ()
    fleet.wait_in_sync(timeout=30)
    # the block producer's local roots are exactly its relays; it advertises nothing
    bp_topo = json.loads(fleet.exec("bp1", f"cat {PATHS['iog'][0]}/topology.json").stdout)
    relays = {(h.address, 6000 if h.layout == "guild" else 3001) for h in fleet.hosts if h.role == "relay"}
    points = {(p["address"], p["port"]) for g in bp_topo["localRoots"] for p in g["accessPoints"]}
    assert points == relays
    assert "bootstrapPeers" not in bp_topo and bp_topo["useLedgerAfterSlot"] == -1
    # the friend's relay that relay1's operator picked by hand survived the conversion
    r1 = json.loads(fleet.exec("relay1", f"cat {PATHS['guild'][0]}/topology.json").stdout)
    assert any(p["address"] == "relay.friendpool.example" for g in r1["localRoots"] for p in g["accessPoints"])
    assert not any(g.get("advertise") for g in r1["localRoots"])
    # invariant 10: pool keys never opened, never named in the journal or report
    assert fleet.exec("bp1", f"stat -c '%n %X' {PATHS['iog'][2]}/*").stdout == keys_atime
    run_dir = sorted((state / "runs").iterdir())[-1]
    for f in run_dir.iterdir():
        assert "skey" not in f.read_text() and "op.cert" not in f.read_text()
        assert f.stat().st_mode & 0o077 == 0  # journal and report are private
    # invariants 1 and 2: one host down at a time (batches 1, 1, 1), the producer last
    events = Journal.read(run_dir / "journal.jsonl")
    restarts = [e.host for e in events if e.phase == "restarted"]
    assert restarts == ["relay1", "relay2", "relay3", "bp1"]
    down: set[str] = set()
    for e in events:
        if e.phase == "restarted":
            down.add(e.host)
            assert len(down) <= 1, f"more than one host down at once: {down}"
        elif e.phase in ("gate_passed", "rolled_back"):
            down.discard(e.host)
    # the same run again: nothing to do, nothing restarted
    again = {h.name: fingerprint(fleet, h.name) for h in fleet.hosts}
    assert run_cli("plan", "-i", str(fleet.inventory_path), UPGRADE) == 0
    assert run_cli("run", "-i", str(fleet.inventory_path), UPGRADE, "--yes", "--state-dir",
                   str(tmp_path_factory.mktemp("again"))) == 0  # fmt: skip
    assert {h.name: fingerprint(fleet, h.name) for h in fleet.hosts} == again  # same files, same MainPIDs


def test_gate_failure_rolls_back_byte_for_byte_and_stops(fleet, tmp_path):
    """Invariants 3 and 8."""
    lab = fleet
    assert main(["lab", "fault", "relay1", "crash_at_start", "--version", "8.9.0", "--dir", str(lab.dir)]) == 0
    try:
        before = {h.name: fingerprint(lab, h.name) for h in lab.hosts}
        rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path),
                     "-e", "sync_timeout_seconds=20")
        assert rc == 1
        after = {h.name: fingerprint(lab, h.name) for h in lab.hosts}
        assert files_only(after["relay1"]) == files_only(before["relay1"])  # restored byte-for-byte
        for untouched in ("relay2", "relay3", "bp1"):
            assert after[untouched] == before[untouched]  # not even restarted
        events = journal_events(tmp_path)
        assert [e.host for e in events if e.phase == "rolled_back"] == ["relay1"]
        assert lab.exec("relay1", "systemctl is-active cnode.service").stdout.strip() == "active"
        report = json.loads((sorted((tmp_path / "runs").iterdir())[-1] / "report.json").read_text())
        statuses = {h["host"]: h["status"] for h in report["hosts"]}
        assert statuses == {"relay1": "rolled_back", "relay2": "untouched", "relay3": "untouched", "bp1": "untouched"}
    finally:
        assert main(["lab", "fault", "relay1", "clear", "--dir", str(lab.dir)]) == 0


def test_too_few_healthy_relays_pauses_before_taking_one_down(fleet, tmp_path):
    """Invariant 1 (min_healthy_relays)."""
    lab = fleet
    for r in ("relay2", "relay3"):
        lab.exec(r, "systemctl stop cardano-node.service cnode.service")
    try:
        before = {h.name: fingerprint(lab, h.name) for h in lab.hosts}
        rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path),
                     "--limit", "relay1,bp1")
        assert rc == 1
        assert {h.name: files_only(fingerprint(lab, h.name)) for h in lab.hosts} == \
            {n: files_only(fp) for n, fp in before.items()}
        assert any(e.phase == "paused" and "min_healthy_relays" in e.data["reason"]
                   for e in journal_events(tmp_path))
    finally:
        for r in ("relay2", "relay3"):
            lab.exec(r, "systemctl start cardano-node.service 2>/dev/null; systemctl start cnode.service")


def test_second_concurrent_run_refuses_with_the_holders_run_id(fleet, tmp_path):
    lab = fleet
    lab.exec("relay3", "mkdir -p /var/lib/cardano-fleet/run.lock && echo 20990101T000000Z-abcdef > "
                       "/var/lib/cardano-fleet/run.lock/run_id")
    try:
        before = {h.name: fingerprint(lab, h.name) for h in lab.hosts}
        rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path))
        assert rc == 1
        assert {h.name: files_only(fingerprint(lab, h.name)) for h in lab.hosts} == \
            {n: files_only(fp) for n, fp in before.items()}
        ended = [e for e in journal_events(tmp_path) if e.phase == "run_ended"]
        assert "20990101T000000Z-abcdef" in ended[-1].data["reason"]
        # the other hosts' locks were released again
        assert lab.exec("relay1", "test -e /var/lib/cardano-fleet/run.lock").returncode == 1
    finally:
        lab.exec("relay3", "rm -rf /var/lib/cardano-fleet/run.lock")


def test_local_lock_refuses_a_second_run(fleet, tmp_path, capsys):
    from orchestrator.roll.journal import LocalLock

    held = LocalLock(tmp_path, "20990101T000000Z-held00")
    held.acquire()
    try:
        rc = run_cli("run", "-i", str(fleet.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path))
        assert rc == 1
        assert "20990101T000000Z-held00" in capsys.readouterr().err
    finally:
        held.release()


def test_killed_run_resumes_to_no_half_upgraded_host(fresh_lab, tmp_path):
    """Invariant 7: SIGKILL mid-rollout, then --resume: every host fully upgraded or fully rolled back."""
    lab = synced(fresh_lab, relays=2, producers=1)
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "run", "-i", str(lab.inventory_path), UPGRADE, "--yes",
         "--state-dir", str(state)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    killed_at = None
    while time.monotonic() < deadline and killed_at is None:
        runs = list((state / "runs").glob("*/journal.jsonl")) if (state / "runs").exists() else []
        if runs:
            events = Journal.read(runs[0])
            if any(e.host == "relay2" and e.phase == "files_written" for e in events):
                proc.send_signal(signal.SIGKILL)
                killed_at = "relay2 files_written"
        time.sleep(0.05)
    proc.wait(timeout=10)
    assert killed_at, "the run never reached the point to kill it"
    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(state), "--resume")
    assert rc == 0
    for h in lab.hosts:
        fp = fingerprint(lab, h.name)
        assert fp["link"].endswith("/releases/8.9.0/bin"), (h.name, fp)
        cfg = lab.exec(h.name, f"cat {PATHS[h.layout][0]}/config.json").stdout
        assert node_rules.check_config("8.9.0", cfg).ok
    events = Journal.read(next((state / "runs").glob("*/journal.jsonl")))
    assert any(e.host == "relay2" and e.phase in ("rolled_back", "done") and e.data.get("resumed") for e in events)


def test_push_source_uploads_a_verified_release_and_refuses_a_bad_pin(fresh_lab, tmp_path):
    """`source: push`: the control machine downloads once, checks the pin, then uploads over SSH."""
    lab = synced(fresh_lab, relays=2, producers=0)
    release = dict(lab.state.release_urls["8.9.0"])
    bad = {"node_release": {"version": "8.9.0", "url": release["url"], "sha256": "0" * 64, "source": "push"}}
    before = {h.name: fingerprint(lab, h.name) for h in lab.hosts}
    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path / "bad"),
                 "-e", json.dumps(bad))
    assert rc == 1
    assert {h.name: fingerprint(lab, h.name) for h in lab.hosts} == before
    assert lab.exec("relay1", "ls /opt/cardano/cnode/releases").stdout.split() == ["8.7.3"]
    good = {"node_release": {"version": "8.9.0", "url": release["url"], "sha256": release["sha256"], "source": "push"}}
    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path / "good"),
                 "-e", json.dumps(good))
    assert rc == 0
    for h in lab.hosts:
        assert fingerprint(lab, h.name)["link"].endswith("/releases/8.9.0/bin")


def test_enable_p2p_on_a_fleet_already_on_890_changes_no_binary_then_reloads_topology_drift(fresh_lab, tmp_path):
    """playbooks/enable-p2p.yml: the P2P rewrite with a restart (config changes), no binary switch; then
    invariant 9: drift in one relay's topology is repaired with a reload (SIGHUP), not a restart."""
    lab = synced(fresh_lab, relays=2, producers=1, node_version="8.9.0")
    links = {h.name: fingerprint(lab, h.name)["link"] for h in lab.hosts}
    assert run_cli("plan", "-i", str(lab.inventory_path), ENABLE_P2P) == 2
    assert run_cli("run", "-i", str(lab.inventory_path), ENABLE_P2P, "--yes", "--state-dir", str(tmp_path / "p2p")) == 0
    for h in lab.hosts:
        fp = fingerprint(lab, h.name)
        assert fp["link"] == links[h.name]  # the binary did not change
        cfg = json.loads(lab.exec(h.name, f"cat {PATHS[h.layout][0]}/config.json").stdout)
        assert cfg["EnableP2P"] is True
    assert run_cli("plan", "-i", str(lab.inventory_path), ENABLE_P2P) == 0
    lab.wait_in_sync()
    relay = next(h for h in lab.hosts if h.role == "relay" and h.layout == "iog")
    files = PATHS["iog"][0]
    topo = json.loads(lab.exec(relay.name, f"cat {files}/topology.json").stdout)
    topo["localRoots"][0]["accessPoints"] = topo["localRoots"][0]["accessPoints"][:1]
    topo["localRoots"][0]["valency"] = 1
    lab.exec(relay.name, f"cat > {files}/topology.json <<'EOF'\n{json.dumps(topo, indent=2)}\nEOF")
    pid_before = fingerprint(lab, relay.name)["pid"]
    state = tmp_path / "drift"
    assert run_cli("run", "-i", str(lab.inventory_path), ENABLE_P2P, "--yes", "--state-dir", str(state)) == 0
    assert fingerprint(lab, relay.name)["pid"] == pid_before, "the node was restarted for a topology-only change"
    events = journal_events(state)
    assert [e.host for e in events if e.phase == "reloaded"] == [relay.name]
    assert not [e for e in events if e.phase == "restarted"]
    log = lab.exec(relay.name, "cat /var/log/lab-systemd/cardano-node.service.log").stdout
    assert "re-read on SIGHUP" in log
