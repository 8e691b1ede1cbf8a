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
import json
import re
import subprocess
import sys
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
    ROOT,
    SERVICES,
    UPGRADE,
    files_only,
    fingerprint,
    fleet_fingerprints,
    journal_events,
    node_version,
    phase_seen,
    report_of,
    run_acting_at,
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


# ---- issue 17: each test below boots its own small fleet (2 relays) and runs alone ----------------------

EDIT = "relay.newfriend.example"


def _two_relays(fresh_lab):
    lab = fresh_lab(relays=2, producers=0)
    lab.wait_in_sync()
    return lab


def _topology_path(lab, host: str) -> str:
    return f"{PATHS[lab.host(host).layout][0]}/topology.json"


def _events_of(state, host: str, *phases: str) -> list:
    return [e for e in journal_events(state) if e.host == host and (not phases or e.phase in phases)]


def test_topology_edited_on_relay2_during_relay1s_gate_is_replanned_and_the_edit_runs(fresh_lab, tmp_path):
    """F11: the operator adds a peer to relay2's (legacy) topology while relay1's gate runs."""
    lab = _two_relays(fresh_lab)
    path = _topology_path(lab, "relay2")
    before = fingerprint(lab, "relay2")

    def edit() -> None:
        done = lab.exec("relay2", f"python3 -c 'import json,sys; p=sys.argv[1]; t=json.load(open(p)); "
                                  f"t[\"Producers\"].append({{\"addr\": \"{EDIT}\", \"port\": 3001, \"valency\": 1}}); "
                                  f"open(p, \"w\").write(json.dumps(t, indent=2))' {path}")  # fmt: skip
        assert done.returncode == 0, done.stderr

    state = tmp_path / "state"
    rc, seen = run_acting_at(lab.inventory_path, UPGRADE, state, phase_seen("relay1", "restarted"), edit, *SHORT_GATE)
    assert rc == 0, seen
    running = json.loads(lab.exec("relay2", f"cat {path}").stdout)
    assert any(ap["address"] == EDIT for g in running["localRoots"] for ap in g["accessPoints"])
    assert node_version(lab, "relay2") == "8.9.0"
    after = fingerprint(lab, "relay2")
    assert after["topology.json"].split()[1] == before["topology.json"].split()[1]  # owner:group:mode kept
    assert after["pid"] != before["pid"]  # restarted after the write: the running node has the edit
    replanned = _events_of(state, "relay2", "replanned")
    assert len(replanned) == 1 and "changed since the plan" in replanned[0].data["reason"]
    assert EDIT in replanned[0].data["diffs"][path]  # the new diff, journaled
    assert "changed since the plan: planned again from the new bytes" in seen and EDIT in seen  # and shown
    assert statuses(report_of(state)) == {"relay1": "upgraded", "relay2": "upgraded"}


def test_topology_broken_on_relay2_during_relay1s_gate_leaves_relay2_untouched_with_the_reason(fresh_lab, tmp_path):
    """F12: the edit cannot be planned (not JSON any more): relay2 is left exactly as the operator left it."""
    lab = _two_relays(fresh_lab)
    path = _topology_path(lab, "relay2")
    before = fingerprint(lab, "relay2")

    def break_it() -> None:
        assert lab.exec("relay2", f"printf '%s' '{{\"Producers\": [' > {path}").returncode == 0

    state = tmp_path / "state"
    rc, seen = run_acting_at(lab.inventory_path, UPGRADE, state, phase_seen("relay1", "restarted"), break_it,
                             *SHORT_GATE)  # fmt: skip
    assert rc == 1
    after = fingerprint(lab, "relay2")
    assert lab.exec("relay2", f"cat {path}").stdout == '{"Producers": ['
    assert {k: v for k, v in after.items() if k != "topology.json"} == {
        k: v for k, v in before.items() if k != "topology.json"}  # same config, link, MainPID  # fmt: skip
    assert node_version(lab, "relay2") == "8.7.3"
    report = report_of(state)
    assert statuses(report) == {"relay1": "upgraded", "relay2": "skipped"}
    detail = next(h["detail"] for h in report["hosts"] if h["host"] == "relay2")
    assert detail.startswith(f"left untouched: {path} (sha256 ") and "changed since the plan" in detail
    assert [e.phase for e in _events_of(state, "relay2")][-1] == "left_untouched"
    assert "left untouched" in seen
    assert not lab.exec("relay2", f"ls {path}.bak-* 2>/dev/null").stdout  # nothing of this run stays beside it


def test_ssh_dropped_for_seconds_during_a_gate_ends_upgraded_not_rolled_back(fresh_lab, tmp_path):
    """F13: every SSH connection to relay1 cut 0 s into its gate, new ones refused for 4 s."""
    lab = _two_relays(fresh_lab)
    state = tmp_path / "state"
    rc, seen = run_acting_at(lab.inventory_path, UPGRADE, state, phase_seen("relay1", "restarted"),
                             lambda: set_fault(lab, "relay1", "drop_ssh", "--seconds", "4"), *SHORT_GATE)  # fmt: skip
    assert rc == 0, seen
    assert statuses(report_of(state)) == {"relay1": "upgraded", "relay2": "upgraded"}
    assert node_version(lab, "relay1") == "8.9.0"
    phases = [e.phase for e in _events_of(state, "relay1")]
    assert "connection_lost" in phases and "reconnected" in phases
    assert phases.index("connection_lost") < phases.index("reconnected") < phases.index("gate_passed")
    assert not {"failed", "rolling_back"} & set(phases)
    assert "relay1: connection lost during the gate" in seen and "relay1: reconnected during the gate" in seen


def test_a_host_whose_clock_is_five_minutes_off_is_refused_with_the_skew(fresh_lab, tmp_path, capsys):
    """F14: relay1's clock runs 300 s ahead: refused at plan time, relay2 upgraded."""
    lab = _two_relays(fresh_lab)
    set_fault(lab, "relay1", "clock_skew", "--seconds", "300")
    capsys.readouterr()
    assert run_cli("facts", "-i", str(lab.inventory_path), "--json") in (0, 1)
    facts = json.loads(capsys.readouterr().out)
    skews = {h["host"]: h["clock_skew_seconds"] for h in (facts["hosts"] if isinstance(facts, dict) else facts)}
    assert 299 <= skews["relay1"] <= 301 and abs(skews["relay2"]) <= 1
    before = fingerprint(lab, "relay1")
    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path), *SHORT_GATE)
    out = capsys.readouterr().out
    assert rc == 1
    report = report_of(tmp_path)
    assert statuses(report) == {"relay1": "skipped", "relay2": "upgraded"}
    detail = next(h["detail"] for h in report["hosts"] if h["host"] == "relay1")
    assert re.match(r"host clock is (299|300|301) s ahead of the control machine's \(max_clock_skew_seconds 30\)",
                    detail), detail  # fmt: skip
    assert "s ahead of the control machine's" in out
    assert fingerprint(lab, "relay1") == before


def test_a_node_that_dies_after_its_gate_fails_the_soak_and_is_rolled_back(fresh_lab, tmp_path):
    """F15: the 8.9.0 node crashes 5 s after its socket is up (systemd restarts it: a crash loop)."""
    lab = _two_relays(fresh_lab)
    set_fault(lab, "relay1", "dies_after", "--seconds", "5", "--version", "8.9.0")
    before = fleet_fingerprints(lab)
    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path), *SHORT_GATE,
                 "-e", "sync_soak_seconds=12")  # fmt: skip
    assert rc == 1
    after = fleet_fingerprints(lab)
    assert files_only(after["relay1"]) == files_only(before["relay1"])  # byte-for-byte, link included
    assert after["relay2"] == before["relay2"]  # the next batch never started
    assert node_version(lab, "relay1") == "8.7.3"
    assert statuses(report_of(tmp_path)) == {"relay1": "rolled_back", "relay2": "untouched"}
    phases = [e.phase for e in _events_of(tmp_path, "relay1")]
    assert phases.index("gate_passed") < phases.index("failed")  # it passed the gate first
    failed = next(e for e in _events_of(tmp_path, "relay1", "failed"))
    assert failed.data["reason"].startswith("soak: ") and "12 s soak" in failed.data["reason"]


def test_disk_full_in_the_config_directory_during_the_writes_leaves_the_node_as_it_was(fresh_lab, tmp_path):
    """F16: room for this run's backups and not a byte more: the atomic writes fail with ENOSPC."""
    lab = _two_relays(fresh_lab)
    files = PATHS[lab.host("relay1").layout][0]
    setup = lab.exec("relay1", f"""set -e
        mkdir -p /run/cf-files && cp -a {files}/. /run/cf-files/
        mount -t tmpfs -o size=64m tmpfs {files} && cp -a /run/cf-files/. {files}/
        for f in config.json topology.json conway-genesis.json; do [ ! -e {files}/$f ] || cp -p {files}/$f {files}/$f.fill; done
        used=$(df -k --output=used {files} | tail -1 | tr -d " ")
        rm -f {files}/*.fill
        mount -o remount,size=${{used}}k {files}""")  # fmt: skip
    assert setup.returncode == 0, setup.stderr
    before = fleet_fingerprints(lab)
    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path), *SHORT_GATE)
    assert rc == 1
    after = fleet_fingerprints(lab)
    assert after["relay1"] == before["relay1"]  # same bytes, owner, mode, link — and MainPID: never restarted
    assert after["relay2"] == before["relay2"]
    report = report_of(tmp_path)
    assert statuses(report) == {"relay1": "rolled_back", "relay2": "untouched"}
    detail = next(h["detail"] for h in report["hosts"] if h["host"] == "relay1")
    assert "No space left on device" in detail and "never restarted" in detail
    assert not lab.exec("relay1", f"ls -A {files} | grep cardano-fleet.tmp; true").stdout  # no temp file left
    assert node_version(lab, "relay1") == "8.7.3"


def _node_start_ticks(lab, host: str, pid: str) -> int:
    """When the process `pid` on `host` started, in clock ticks since the machine booted."""
    done = lab.exec(host, f"awk '{{print $22}}' /proc/{pid}/stat")
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def test_a_host_that_reboots_during_its_gate_comes_back_upgraded(fresh_lab, tmp_path):
    """F17: relay1 reboots right after its restart (down 3 s): it boots with the new files, link and unit
    enabled, and the gate follows it through the reconnect."""
    from orchestrator.lab.hosts import reboot_host

    lab = _two_relays(fresh_lab)
    before = fingerprint(lab, "relay1")
    started_before = _node_start_ticks(lab, "relay1", before["pid"])
    state = tmp_path / "state"
    rc, seen = run_acting_at(lab.inventory_path, UPGRADE, state, phase_seen("relay1", "restarted"),
                             lambda: reboot_host(lab.state, "relay1", 3.0),
                             "-e", "sync_timeout_seconds=45")  # a reboot and a start fit; 15 s does not  # fmt: skip
    assert rc == 0, seen
    assert statuses(report_of(state)) == {"relay1": "upgraded", "relay2": "upgraded"}
    after = fingerprint(lab, "relay1")
    # A rebooted host has a fresh PID namespace, so the node may get its old PID number back: a new
    # process is told by its start time (clock ticks since the machine booted, /proc/PID/stat field 22).
    assert after["link"].endswith("/8.9.0/bin") and after["pid"] != "0"
    assert _node_start_ticks(lab, "relay1", after["pid"]) > started_before
    assert after["config.json"] != before["config.json"]  # the new file survived the reboot
    assert node_version(lab, "relay1") == "8.9.0"
    phases = [e.phase for e in _events_of(state, "relay1")]
    assert phases.index("connection_lost") < phases.index("reconnected") < phases.index("gate_passed")
    assert not {"failed", "rolling_back"} & set(phases)


def test_a_node_restarted_by_someone_else_during_the_gate_is_followed(fresh_lab, tmp_path):
    """F18: another operator runs `systemctl restart` on relay1 while its gate runs."""
    lab = _two_relays(fresh_lab)
    unit = PATHS[lab.host("relay1").layout][3]
    state = tmp_path / "state"
    theirs: list[str] = []

    def restart_by_hand() -> None:
        done = lab.exec("relay1", f"systemctl restart {unit} && systemctl show -p MainPID --value {unit}")
        assert done.returncode == 0, done.stderr
        theirs.append(done.stdout.strip())

    rc, seen = run_acting_at(lab.inventory_path, UPGRADE, state, phase_seen("relay1", "restarted"), restart_by_hand,
                             *SHORT_GATE)  # fmt: skip
    assert rc == 0, seen
    assert statuses(report_of(state)) == {"relay1": "upgraded", "relay2": "upgraded"}
    assert node_version(lab, "relay1") == "8.9.0"
    assert fingerprint(lab, "relay1")["pid"] == theirs[0]  # the node judged is the one they started; not ours again
    phases = [e.phase for e in _events_of(state, "relay1")]
    assert not {"failed", "rolling_back"} & set(phases)


# ---- issue 28: SIGINT, SIGTERM and SIGHUP at three phases, on one fleet (F19-F21) ---------------------------

EXCHANGE = str(ROOT / "playbooks" / "upgrade-exchange.yml")
PASSIVE_HOOKS = """\
drain_command: printf 'drain %s\\n' "{{ inventory_hostname }}" >> /var/tmp/traffic.log
return_command: printf 'return {{ inventory_hostname }}\\n' >> /var/tmp/balancer.log
return_delegate_to: relay1
"""


def _run_and_signal_at(inventory, playbook: str, state, when, sig: int, *extra: str, timeout: float = 150):
    """Start `run` as a process; send it `sig` as soon as `when(journal events)` holds; let it end by
    itself. Returns (exit status, what the operator saw)."""
    import os

    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "run", "-i", str(inventory), playbook, "--yes",
         "--state-dir", str(state), *extra],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, text=True,
        env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            journals = sorted((state / "runs").glob("*/journal.jsonl")) if (state / "runs").exists() else []
            if journals and when(Journal.read(journals[-1])):
                proc.send_signal(sig)
                break
            time.sleep(0.03)
        else:
            pytest.fail(f"the run ended (rc {proc.returncode}) before the signal point")
        out, _ = proc.communicate(timeout=180)
        return proc.returncode, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _ends(state, run_id: str) -> list[dict]:
    events = Journal.read(state / "runs" / run_id / "journal.jsonl")
    return [e.data for e in events if e.host == "*" and e.phase == "run_ended"]


def test_signals_at_three_phases_are_journaled_interrupted_and_resume_ends_each_host(fresh_lab, tmp_path):
    """F19 SIGINT during a drained passive node's gate; F20 SIGTERM as the run starts; F21 SIGHUP once the
    binary switch is journaled (the restart may already be on the wire). Each: the journal says
    interrupted (and by what), the output names
    the run and the exact resume command, a plain re-run refuses and names the run, and `run --resume`
    without an id ends every host whole (and returns the drained one to rotation)."""
    import signal as sig

    lab = fresh_lab(relays=2, producers=0, passive=2)  # relay2 keeps min_healthy_relays while relay1 goes
    group_vars = lab.inventory_path.parent / "group_vars"
    group_vars.mkdir(exist_ok=True)
    (group_vars / "passive_nodes.yml").write_text(PASSIVE_HOOKS)
    lab.wait_in_sync()
    inv = str(lab.inventory_path)

    # F19: SIGINT while passive1 (drained) is in its gate
    state = tmp_path / "f19"
    rc, out = _run_and_signal_at(lab.inventory_path, EXCHANGE, state, phase_seen("passive1", "restarted"),
                                 sig.SIGINT, "--limit", "passive1")  # fmt: skip
    (run_id,) = [p.name for p in (state / "runs").iterdir()]
    assert rc == 130, out
    assert f"interrupted by SIGINT: run {run_id} is unfinished" in out
    assert "OUT OF ROTATION (drained, not returned; resume returns them): passive1" in out
    assert re.search(rf"resume with: cardano-fleet run -i \S+ \S+upgrade-exchange.yml --limit passive1 "
                     rf"--state-dir \S+ --resume {run_id}", out), out  # fmt: skip
    (end,) = _ends(state, run_id)
    assert (end["outcome"], end["signal"], end["drained"]) == ("interrupted", "SIGINT", ["passive1"]), end
    assert "passive1" not in lab.exec("relay1", "cat /var/tmp/balancer.log 2>/dev/null").stdout
    # a plain re-run refuses, names the run and how to resume it
    refused = subprocess.run([sys.executable, "-m", "orchestrator", "run", "-i", inv, EXCHANGE, "--yes",
                              "--state-dir", str(state), "--limit", "passive1"],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert refused.returncode == 1 and f"refused: run {run_id} is unfinished (interrupted by SIGINT" in refused.stderr
    assert "no longer running" in refused.stderr and f"--resume {run_id}" in refused.stderr
    # --resume without an id: finished and back in rotation
    assert run_cli("run", "-i", inv, EXCHANGE, "--yes", "--state-dir", str(state), "--resume",
                   "--limit", "passive1") == 0  # fmt: skip
    assert "return passive1" in lab.exec("relay1", "cat /var/tmp/balancer.log").stdout
    _assert_whole(lab, "passive1", upgraded=True)
    ends = _ends(state, run_id)
    # one history: the resume finished passive1, the re-plan found nothing left; the report says upgraded
    assert [e["outcome"] for e in ends] == ["interrupted", "nothing to do"], ends
    report = json.loads((state / "runs" / run_id / "report.json").read_text())
    assert report["trail"]["attempts"] == 2 and report["outcome"] == "completed", report
    (p1,) = [h for h in report["hosts"] if h["host"] == "passive1"]
    # returned, then done: a host is done once back in rotation, in a fresh run and on resume alike
    assert p1["status"] == "upgraded" and [s["phase"] for s in p1["steps"]][-2:] == ["returned", "done"], p1

    # F20: SIGTERM while staging: nothing running changed; resume goes on and upgrades passive2
    state = tmp_path / "f20"
    before = fingerprint(lab, "passive2")
    rc, out = _run_and_signal_at(lab.inventory_path, EXCHANGE, state, phase_seen("*", "run_started"), sig.SIGTERM,
                                 "--limit", "passive2")  # fmt: skip
    (run_id,) = [p.name for p in (state / "runs").iterdir()]
    assert rc == 143 and f"interrupted by SIGTERM: run {run_id} is unfinished" in out, out
    (end,) = _ends(state, run_id)
    assert (end["outcome"], end["signal"], end["mid_way"]) == ("interrupted", "SIGTERM", []), end
    assert files_only(fingerprint(lab, "passive2")) == files_only(before)
    assert run_cli("run", "-i", inv, EXCHANGE, "--yes", "--state-dir", str(state), "--resume",
                   "--limit", "passive2") == 0  # fmt: skip
    _assert_whole(lab, "passive2", upgraded=True)

    # F21: SIGHUP after relay1's binary switch, before its restart: resume rolls it back, then upgrades it
    state = tmp_path / "f21"
    rc, out = _run_and_signal_at(lab.inventory_path, UPGRADE, state, phase_seen("relay1", "binary_switched"),
                                 sig.SIGHUP, "--limit", "relay1")  # fmt: skip
    (run_id,) = [p.name for p in (state / "runs").iterdir()]
    assert rc == 129 and f"interrupted by SIGHUP: run {run_id} is unfinished" in out, out
    (end,) = _ends(state, run_id)
    assert end["outcome"] == "interrupted" and end["signal"] == "SIGHUP", end
    before = [e.phase for e in journal_events(state) if e.host == "relay1"]
    # If the signal came before the restart, relay1 was rolled back at once (nothing had run on 8.9.0):
    # nobody is mid-way and its node runs 8.7.3 again. If the restart was already on the wire, it finished
    # and relay1 is left mid-way for the resume's gate on 8.9.0.
    if "restarted" in before:
        assert end["mid_way"] == ["relay1"], (end, before)
    else:
        assert end["mid_way"] == [] and before[-1] == "rolled_back", (end, before)
        assert node_version(lab, "relay1") == "8.7.3"
    assert run_cli("run", "-i", inv, UPGRADE, "--yes", "--state-dir", str(state), "--resume", "--limit", "relay1") == 0
    events = journal_events(state)
    relay1 = [e.phase for e in events if e.host == "relay1"]
    assert relay1[-1] == "done", relay1
    _assert_whole(lab, "relay1", upgraded=True)
