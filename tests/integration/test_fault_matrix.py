"""Issue 8: faults during a rolling upgrade, each with the end state it must reach (docs/fault-matrix.md).

Each test of a class runs on a fleet of its own (`fresh_lab`: booted for the test, torn down after
it), so any one of them runs alone: TestRolloutFaults (4 relays + 1 producer) has disk full while
staging; a relay whose new node never syncs (default playbook: rolled back, rollout stopped); the
same fault with max_fail_percentage 50 plus a relay that ignores SIGTERM for 5 s and an unreachable
relay (the rollout goes on, the summary is exact); and the block producer with every relay unhealthy
(not restarted); after each, the pool keys were never opened. TestKilledOrchestrator (2 relays + 1
producer) takes SIGKILLs at four points, each followed by `run --resume`. The SSH drop during an
upload drives transport.put_atomic directly.
"""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from orchestrator.cardano import node_rules
from orchestrator.load.inventory import load_inventory
from orchestrator.roll.journal import Journal
from orchestrator.ssh.transport import Fleet
from tests.integration.helpers import (
    PATHS,
    RELEASES,
    SERVICES,
    UPGRADE,
    files_only,
    fingerprint,
    fleet_fingerprints,
    journal_events,
    node_version,
    phase_seen,
    report_of,
    run_and_kill_at,
    run_cli,
    set_fault,
    statuses,
    unreachable,
    write_playbook_variant,
)

pytestmark = pytest.mark.lab

SHORT_GATE = ("-e", "sync_timeout_seconds=15")


def _faulty_fleet(pool):
    """4 relays + 1 producer in sync, with the pool keys' atime aged and recorded (_assert_keys_unopened)."""
    lab = pool(relays=4, producers=1)
    lab.wait_in_sync()
    keys = PATHS[lab.host("bp1").layout][2]
    lab.exec("bp1", f"touch -a -d '3 days ago' {keys}/*")  # relatime updates an atime older than a day
    lab.keys_atime = lab.exec("bp1", f"stat -c '%n %X' {keys}/*").stdout  # type: ignore[attr-defined]
    return lab


@pytest.fixture(scope="module")
def faulty(lab_factory):
    return _faulty_fleet(lab_factory)


@pytest.fixture
def own_faulty(fresh_lab):
    """A fleet for one test of TestRolloutFaults alone, gone when the test ends."""
    return _faulty_fleet(fresh_lab)


def _assert_keys_unopened(lab) -> None:
    """Nothing the runs did read a pool key: its atime is still the aged one (relatime would move it)."""
    keys = PATHS[lab.host("bp1").layout][2]
    assert lab.exec("bp1", f"stat -c '%n %X' {keys}/*").stdout == lab.keys_atime


class TestRolloutFaults:
    """Each test on a fleet of its own (own_faulty), starting in sync on 8.7.3 with no fault set."""

    def test_disk_full_while_staging_is_a_clean_error_and_nothing_running_changes(self, own_faulty, tmp_path, capsys):
        lab = own_faulty
        rel = RELEASES[lab.host("relay4").layout]
        # A 300 KiB filesystem over the releases directory (the running 8.7.3 release bound back into it).
        full = lab.exec("relay4", f"mkdir -p /run/cf-rel && mount --bind {rel} /run/cf-rel && "
                                  f"mount -t tmpfs -o size=300k tmpfs {rel} && mkdir {rel}/8.7.3 && "
                                  f"mount --bind /run/cf-rel/8.7.3 {rel}/8.7.3")  # fmt: skip
        assert full.returncode == 0, full.stderr
        try:
            before = fleet_fingerprints(lab)
            rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path),
                         *SHORT_GATE)  # fmt: skip
            out = capsys.readouterr().out
            assert rc == 1
            assert fleet_fingerprints(lab) == before  # same files, links and MainPIDs everywhere
            report = report_of(tmp_path)
            assert report["stopped_reason"] == "staging failed on relay4: nothing running was changed"
            relay4 = next(h for h in report["hosts"] if h["host"] == "relay4")
            assert relay4["status"] == "failed" and "Failure writing output" in relay4["detail"]
            assert "staging failed on relay4: nothing running was changed" in out
            assert lab.exec("relay4", f"ls -A {rel}").stdout.split() == ["8.7.3"]  # the half-staged dir is gone
            events = journal_events(tmp_path)
            assert not [e for e in events if e.phase in ("backed_up", "restarted")]
        finally:
            lab.exec("relay4", f"umount {rel}/8.7.3; umount {rel}; umount /run/cf-rel")
        _assert_keys_unopened(lab)

    def test_new_node_never_syncs_gate_times_out_rolls_back_and_stops(self, own_faulty, tmp_path):
        lab = own_faulty
        set_fault(lab, "relay1", "never_sync", "--version", "8.9.0")
        before = fleet_fingerprints(lab)
        rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path), *SHORT_GATE)
        assert rc == 1
        after = fleet_fingerprints(lab)
        assert files_only(after["relay1"]) == files_only(before["relay1"])  # byte-for-byte, link included
        assert after["relay1"]["pid"] != before["relay1"]["pid"]  # it was restarted twice
        for other in ("relay2", "relay3", "relay4", "bp1"):
            assert after[other] == before[other]
        assert node_version(lab, "relay1") == "8.7.3"
        report = report_of(tmp_path)
        assert statuses(report) == {"relay1": "rolled_back", "relay2": "untouched", "relay3": "untouched",
                                    "relay4": "untouched", "bp1": "untouched"}  # fmt: skip
        assert "max_fail_percentage 0" in report["stopped_reason"]
        failed = [e for e in journal_events(tmp_path) if e.host == "relay1" and e.phase == "failed"]
        assert failed and "gate" in failed[0].data["reason"]
        _assert_keys_unopened(lab)

    def test_min_healthy_counts_an_unreachable_relay_as_unhealthy(self, own_faulty, tmp_path):
        lab = own_faulty
        playbook = write_playbook_variant(tmp_path / "pb", min_healthy_relays=3)
        with unreachable(lab, "relay3"):
            before = fleet_fingerprints(lab)
            rc = run_cli("run", "-i", str(lab.inventory_path), str(playbook), "--yes", "--state-dir",
                         str(tmp_path / "state"), *SHORT_GATE)  # fmt: skip
            assert rc == 1
            assert fleet_fingerprints(lab) == before
        paused = [e for e in journal_events(tmp_path / "state") if e.phase == "paused"]
        assert paused and paused[0].data["reason"] == (
            "paused before relay1: 2 healthy relay(s) outside the batch (relay2, relay4), min_healthy_relays is 3"
        )
        _assert_keys_unopened(lab)

    def test_max_fail_50_goes_on_past_a_failure_with_an_exact_summary(self, own_faulty, tmp_path):
        """relay1 never syncs, relay2 ignores SIGTERM for 5 s, relay3 is unreachable, relay4 is fine."""
        lab = own_faulty
        set_fault(lab, "relay1", "never_sync", "--version", "8.9.0")
        set_fault(lab, "relay2", "ignore_stop", "--seconds", "5")
        lab.exec("relay2", f"systemctl restart {SERVICES[lab.host('relay2').layout]}")  # the fault is read at start
        lab.wait_in_sync()
        playbook = write_playbook_variant(tmp_path / "pb", max_fail_percentage=50)
        with unreachable(lab, "relay3"):
            before = fleet_fingerprints(lab)
            rc = run_cli("run", "-i", str(lab.inventory_path), str(playbook), "--yes", "--state-dir",
                         str(tmp_path / "state"), *SHORT_GATE)  # fmt: skip
            after = fleet_fingerprints(lab)
        assert rc == 1
        report = report_of(tmp_path / "state")
        assert statuses(report) == {"relay1": "rolled_back", "relay2": "upgraded", "relay3": "skipped",
                                    "relay4": "upgraded", "bp1": "untouched"}  # fmt: skip
        assert report["stopped_reason"] == "bp1 not touched: a relay failed its upgrade in this run"
        detail = {h["host"]: h["detail"] for h in report["hosts"]}
        assert detail["relay3"].startswith("unreachable: connection refused")
        assert files_only(after["relay1"]) == files_only(before["relay1"])
        assert after["relay3"] == before["relay3"] and after["bp1"] == before["bp1"]
        for name in ("relay2", "relay4"):
            assert node_version(lab, name) == "8.9.0"
            assert after[name]["link"].endswith("/releases/8.9.0/bin")
        # relay2's restart waited for the stubborn node to exit, as systemd would, and its gate still passed
        events = journal_events(tmp_path / "state")
        at = {(e.host, e.phase): e.at for e in events}
        assert at[("relay2", "restarted")] - at[("relay2", "binary_switched")] >= 4.5
        log = lab.exec("relay2", f"cat /var/log/lab-systemd/{SERVICES[lab.host('relay2').layout]}.log").stdout
        assert "lab fault ignore_stop" in log
        assert ("relay2", "gate_passed") in at
        _assert_keys_unopened(lab)

    def test_block_producer_is_not_restarted_when_all_its_relays_are_unhealthy(self, own_faulty, tmp_path):
        lab = own_faulty
        stopped = ["relay1", "relay2", "relay4"]
        for r in stopped:
            lab.exec(r, f"systemctl stop {SERVICES[lab.host(r).layout]}")
        try:
            with unreachable(lab, "relay3"):
                before = fingerprint(lab, "bp1")
                rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path),
                             "--limit", "bp1", *SHORT_GATE)  # fmt: skip
                assert rc == 1
                assert fingerprint(lab, "bp1") == before  # same files, same MainPID: not restarted
        finally:
            for r in stopped:
                lab.exec(r, f"systemctl start {SERVICES[lab.host(r).layout]}")
        paused = [e for e in journal_events(tmp_path) if e.phase == "paused"]
        assert paused[0].data["reason"] == (
            "paused before bp1: 0 healthy relay(s) outside the batch (none), min_healthy_relays is 1"
        )
        assert statuses(report_of(tmp_path))["bp1"] == "untouched"
        _assert_keys_unopened(lab)


# ------------------------------------------------------------------------------------------ SSH drop


def test_ssh_drop_during_an_upload_leaves_the_old_file_or_the_new_one_never_a_partial_one(faulty):
    lab = faulty
    inventory = load_inventory(lab.inventory_path)
    host = next(h for h in inventory.hosts if h.name == "relay4")
    target = "/var/lib/cf-put/target.bin"
    old = b"old contents\n" * 1000
    lab.exec("relay4", f"mkdir -p /var/lib/cf-put && printf 'old contents\\n%.0s' $(seq 1000) > {target}")
    assert lab.exec("relay4", f"sha256sum < {target}").stdout.split()[0] == hashlib.sha256(old).hexdigest()
    new = bytes(range(256)) * (48 * 1024 * 4)  # 48 MiB: long enough on the wire to cut it mid-way
    results: list[object] = []
    with Fleet(inventory.hosts) as fleet:
        assert fleet.run(host, "true").ok  # the connection is open before the upload starts
        upload = threading.Thread(target=lambda: results.append(fleet.put_atomic(host, target, new)))
        upload.start()
        # Wait until the remote writer runs, then kill the SSH session processes (not the listener).
        deadline = time.monotonic() + 30
        killed = ""
        while time.monotonic() < deadline and not killed:
            ps = lab.exec(
                "relay4",
                "pgrep -f '[c]ardano-fleet.tmp' >/dev/null && "  # [c]: not this shell's own command line
                "for p in $(pgrep -f 'sshd: root@notty'); do kill -9 $p; echo $p; done",
            )
            killed = ps.stdout.strip()
            time.sleep(0.05)
        upload.join(timeout=60)
    assert killed, "the upload never started on the host"
    assert results and not results[0].ok, results  # type: ignore[attr-defined]
    got = lab.exec("relay4", f"sha256sum < {target}").stdout.split()[0]
    assert got in (hashlib.sha256(old).hexdigest(), hashlib.sha256(new).hexdigest())
    assert got == hashlib.sha256(old).hexdigest()  # cut before the rename: the old file, whole
    leftovers = lab.exec("relay4", "ls -A /var/lib/cf-put").stdout.split()
    assert leftovers == ["target.bin"], leftovers  # no temp file left beside it either


# ------------------------------------------------------------------------------------------ SIGKILL


@pytest.fixture
def killed(fresh_lab):
    """2 relays + 1 producer in sync on 8.7.3, for one test alone (gone when it ends)."""
    lab = fresh_lab(relays=2, producers=1)
    lab.wait_in_sync()
    return lab


def _assert_whole(lab, host: str, upgraded: bool) -> None:
    """Fully on 8.9.0 P2P, or fully on the untouched 8.7.3 files."""
    fp = fingerprint(lab, host)
    cfg = lab.exec(host, f"cat {PATHS[lab.host(host).layout][0]}/config.json").stdout
    if upgraded:
        assert fp["link"].endswith("/releases/8.9.0/bin"), (host, fp)
        assert node_version(lab, host) == "8.9.0"
        check = node_rules.check_config("8.9.0", cfg)  # (no config_dir: that would read local files)
        assert check.ok and check.p2p, (host, check.errors)
    else:
        assert fp["link"].endswith("/releases/8.7.3/bin"), (host, fp)
        assert node_version(lab, host) == "8.7.3"
        assert node_rules.check_config("8.7.3", cfg).ok
    assert lab.exec(host, f"systemctl is-active {SERVICES[lab.host(host).layout]}").stdout.strip() == "active"


class TestKilledOrchestrator:
    """SIGKILL at four points, each followed by `run --resume`, each test on a fleet of its own
    (`killed`): every host must end fully upgraded or fully rolled back."""

    def test_killed_after_staging_then_again_after_the_config_write(self, killed, tmp_path):
        lab = killed
        state = tmp_path / "state"
        before = fleet_fingerprints(lab)
        run_and_kill_at(lab.inventory_path, UPGRADE, state, lambda ev: sum(e.phase == "staged" for e in ev) == 3)
        assert fleet_fingerprints(lab) == before  # staging changed nothing running
        # the resumed run is killed too: relay1 has its new config.json, genesis, topology and binary link
        run_and_kill_at(lab.inventory_path, UPGRADE, state, phase_seen("relay1", "binary_switched"),
                        "--resume", "--limit", "relay1")  # fmt: skip
        half = fingerprint(lab, "relay1")  # (its restart may already be on the wire: the node may be down)
        assert half["link"].endswith("/releases/8.9.0/bin")
        assert half["config.json"] != before["relay1"]["config.json"]
        rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(state),
                     "--resume", "--limit", "relay1")  # fmt: skip
        assert rc == 0
        events = Journal.read(next(state.glob("runs/*/journal.jsonl")))
        relay1 = [e for e in events if e.host == "relay1"]
        assert any(e.phase == "rolled_back" and e.data.get("resumed") for e in relay1)
        assert relay1[-1].phase == "done"
        _assert_whole(lab, "relay1", upgraded=True)
        for h in ("relay2", "bp1"):
            assert fingerprint(lab, h) == before[h]

    def test_killed_during_the_gate_of_a_node_that_does_not_sync(self, killed, tmp_path):
        lab = killed
        state = tmp_path / "state"
        set_fault(lab, "relay2", "never_sync", "--version", "8.9.0")
        run_and_kill_at(lab.inventory_path, UPGRADE, state, phase_seen("relay2", "restarted"), "--limit", "relay2",
                        delay=3.0)  # fmt: skip
        set_fault(lab, "relay2", "clear")  # the next start of its node syncs again
        rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(state),
                     "--resume", "--limit", "relay2", *SHORT_GATE)  # fmt: skip
        assert rc == 0
        events = Journal.read(next(state.glob("runs/*/journal.jsonl")))
        relay2 = [(e.phase, bool(e.data.get("resumed"))) for e in events if e.host == "relay2"]
        # resume: the gate judges the node it finds (not in sync) → rolled back; then upgraded properly
        assert ("rolled_back", True) in relay2 and relay2[-1] == ("done", False), relay2
        assert any(e.host == "relay2" and e.phase == "failed" and "gate on resume" in e.data["reason"] for e in events)
        _assert_whole(lab, "relay2", upgraded=True)

    def test_killed_right_after_the_restart(self, killed, tmp_path):
        lab = killed
        state = tmp_path / "state"
        run_and_kill_at(lab.inventory_path, UPGRADE, state, phase_seen("bp1", "restarted"))
        rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(state), "--resume")
        assert rc == 0
        events = Journal.read(next(state.glob("runs/*/journal.jsonl")))
        assert any(e.host == "bp1" and e.phase == "done" and e.data.get("resumed") for e in events)
        for h in ("relay1", "relay2", "bp1"):
            _assert_whole(lab, h, upgraded=True)
        # nothing about pool keys in anything the runs wrote
        for f in state.glob("runs/*/*"):
            text = f.read_text()
            assert "skey" not in text and "op.cert" not in text and "vrf" not in text
