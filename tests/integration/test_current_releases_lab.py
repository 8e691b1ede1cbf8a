"""Issue 25: the lab boots 10.6.4 and 11.0.1 with their shipped configs, and its node logs and exports
what those releases do (new tracing, PrometheusSimple, new metric names). These scenarios check the
tool's readers (facts, the gate) against that independent rendering; the rules themselves are
tested on the real reference files in tests/unit/test_lab_current_releases.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano import releases
from orchestrator.cardano.layouts import LAYOUTS
from orchestrator.cardano.releases import forks
from tests.integration.helpers import journal_events, node_version, report_of, run_cli, set_fault

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_NODE = str(ROOT / "playbooks" / "upgrade-node.yml")
UPGRADE_8_9_0 = str(ROOT / "playbooks" / "upgrade-8.9.0.yml")


def test_facts_on_a_mixed_fleet_show_each_hosts_version_tracing_tip_and_peers(fresh_lab: Any, capsys: Any) -> None:
    """8.9.0 (legacy tracing, its book config), 10.6.4 and 11.0.1 (new tracing, shipped configs)."""
    lab = fresh_lab(relays=2, producers=1, node_version="10.6.4", host_versions={"relay2": "8.9.0", "bp1": "11.0.1"})
    lab.wait_in_sync()
    assert run_cli("facts", "-i", str(lab.inventory_path), "--json") == 0
    facts = {f["host"]: f for f in json.loads(capsys.readouterr().out)["hosts"]}
    want = {"relay1": ("10.6.4", "new"), "relay2": ("8.9.0", "legacy"), "bp1": ("11.0.1", "new")}
    assert {h: (f["node_version"], f["tracing"]) for h, f in facts.items()} == want
    for host, f in facts.items():
        assert f["tip"] is not None and f["slot_lag"] is not None and f["slot_lag"] <= 20, (host, f["tip"])
        # the cardano-cli each release ships (catalogue), its query tip read in that CLI's form
        assert f["cli_version"] == releases.lookup(want[host][0]).cli_version and "cli_version" not in f["probe_errors"], f
        assert f["tip"]["era"] == forks.chain_era(want[host][0]), f["tip"]
        assert f["startup"]["phase"] == "socket up", (host, f["startup"])
    for host in ("relay1", "bp1"):  # what only the new system shows: read from its journal and its metrics
        f = facts[host]
        assert f["running_version"] == want[host][0]  # cardano_build_info on 127.0.0.1:12798
        assert f["hot_peers"] is not None and f["hot_peers"] >= 1, f
        assert f["startup"]["source"].startswith("journal:") and f["startup"]["last_start_seconds"] > 0
        assert set(f["startup"]["last_start_phases"]) >= {"opening chain db", "replaying ledger"}, f["startup"]
    assert facts["bp1"]["remaining_kes_periods"] == 52 and facts["bp1"]["forging_enabled"] is True
    assert facts["relay1"]["forging_enabled"] is False
    # The shipped config's coloured lines reach the journal; journalctl shows them only with --all.
    plain = lab.exec("relay1", "journalctl -u cnode -o cat -n 3").stdout
    full = lab.exec("relay1", "journalctl -u cnode -o cat -n 3 --all").stdout
    assert "blob data]" in plain and "\x1b[34m[" in full and "Startup.DiffusionInit.LocalSocketUp" in full
    # The same release with the JSON form selected (`Stdout MachineFormat`): one JSON object a line.
    config = "/opt/cardano/cnode/files/config.json"
    switched = lab.exec("relay1", f"sed -i 's/Stdout HumanFormatColoured/Stdout MachineFormat/' {config} && "
                                  "systemctl restart cnode")  # fmt: skip
    assert switched.returncode == 0, switched.stderr
    lab.wait_in_sync()
    assert run_cli("facts", "-i", str(lab.inventory_path), "--json", "--limit", "relay1") == 0
    again = json.loads(capsys.readouterr().out)["hosts"][0]
    assert again["startup"]["phase"] == "socket up" and again["tracing"] == "new", again["startup"]
    assert set(again["startup"]["last_start_phases"]) >= {"opening chain db", "replaying ledger"}, again["startup"]
    last = lab.exec("relay1", "journalctl -u cnode -o cat -n 1").stdout.strip()
    assert list(json.loads(last)) == ["at", "ns", "data", "sev", "thread", "host"], last


def _drop_a_local_root(lab: Any, host: str) -> None:
    """Take one of `host`'s peers out of its topology's local roots, so that a run pinned to the release
    the host already runs has one change to make (the peer is added back) and restarts it: an already
    P2P topology is otherwise kept as it is (nothing to do, nothing restarted)."""
    path = LAYOUTS[lab.host(host).layout].topology_path
    edit = ("import json,sys; p=sys.argv[1]; t=json.load(open(p)); g=t['localRoots'][0]; "
            "g['accessPoints']=g['accessPoints'][1:]; g['valency']=g['hotValency']=len(g['accessPoints']) "
            "if 'valency' in g or 'hotValency' in g else None; "
            "[g.pop(k) for k in ('valency','hotValency') if g.get(k) is None]; json.dump(t, open(p,'w'), indent=2)")
    done = lab.exec(host, f"python3 -c {json.dumps(edit)} {path}")
    assert done.returncode == 0, done.stderr


def test_a_restarted_10_6_4_relay_is_gated_through_its_phases_with_replay_progress(fresh_lab: Any, tmp_path: Path,
                                                                                  capsys: Any) -> None:  # fmt: skip
    """A 10.6.4 relay on its shipped config (new tracing only), pinned to its own release (`lab up
    --target-version`): the run rewrites its topology only, restarts it (restart_mode restart), and its
    start replays for 20 s; the gate follows it phase by phase."""
    lab = fresh_lab(relays=2, producers=0, node_version="10.6.4", target_version="10.6.4")
    lab.wait_in_sync()
    _drop_a_local_root(lab, "relay1")
    set_fault(lab, "relay1", "slow_start", "--seconds", "20", "--version", "10.6.4")
    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE_NODE, "--yes", "--state-dir", str(tmp_path),
                 "--limit", "relay1", "-e", "restart_mode=restart")  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    assert node_version(lab, "relay1") == "10.6.4"
    host = report_of(tmp_path)["hosts"][0]
    assert host["status"] == "upgraded", host
    assert list(host["phases"]) == ["opening chain db", "validating chunks", "replaying ledger", "initial chain selection"]
    assert host["phases"]["replaying ledger"] >= 15, host
    phases = [e.data["now"] for e in journal_events(tmp_path) if e.host == "relay1" and e.phase == "node_phase"]
    assert "replaying ledger" in phases and phases.index("replaying ledger") < phases.index("in sync"), phases
    # Replay progress as the new system states it: absolute (slot over target), so near 100 from a snapshot.
    seen = re.findall(r"relay1: replaying ledger 99[.\d]*%[^\n]*", out)
    assert seen, out[-3000:]
    print(f"measured phases of relay1's 10.6.4 start: {host['phases']}; the gate showed: {seen}")
    journal = lab.exec("relay1", "journalctl -u cnode -o cat -a -n 60").stdout
    assert "ChainDB.ReplayBlock.LedgerReplay" in journal and "cardano.node.ChainDB" not in journal


def test_a_stalled_new_tracing_replay_is_rolled_back_naming_the_phase(fresh_lab: Any, tmp_path: Path) -> None:
    """A block producer 10.6.4 → 11.0.1 (pinned by `lab up --target-version`; a producer has no peer
    snapshot to refuse); the 11.0.1 start's replay stops part way and logs nothing more: the gate gives
    up after sync_stall_seconds, names the phase, and the producer is back on 10.6.4."""
    lab = fresh_lab(relays=1, producers=1, node_version="10.6.4", target_version="11.0.1", startup_seconds=4.0)
    lab.wait_in_sync()
    set_fault(lab, "bp1", "replay_stalls", "--percent", "37", "--version", "11.0.1")
    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE_NODE, "--yes", "--state-dir", str(tmp_path),
                 "--limit", "bp1", "-e", "sync_stall_seconds=10")  # fmt: skip
    assert rc == 1
    assert node_version(lab, "bp1") == "10.6.4"
    assert report_of(tmp_path)["hosts"][0]["status"] == "rolled_back"
    failed = [e for e in journal_events(tmp_path) if e.host == "bp1" and e.phase == "failed"]
    reason = failed[0].data["reason"]
    assert reason.startswith("gate: no replay progress for 1") and "replaying ledger" in reason, reason
    print(f"the gate's reason: {reason}")


def test_a_10_6_4_relay_with_the_shipped_topology_reaches_11_0_1_with_its_peer_snapshot(fresh_lab: Any,
                                                                                        tmp_path: Path) -> None:  # fmt: skip
    """The shipped 10.6.4 topology names mainnet-peer-snapshot.json, a v2 file 11.0.1 refuses at start
    (issue-25c saw the run roll back). The plan now writes 11.0.1's shipped snapshot there
    (install_peer_snapshot), and across the 10.7 snapshot boundary looks for db/ledger to keep: the relay starts."""
    from orchestrator.cardano.config import shipped_file

    lab = fresh_lab(relays=2, producers=0, node_version="10.6.4", target_version="11.0.1", startup_seconds=4.0)
    lab.wait_in_sync()  # relay2 stays on 10.6.4: the healthy relay outside the batch
    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE_NODE, "--yes", "--state-dir", str(tmp_path),
                 "--limit", "relay1", "-e", "sync_soak_seconds=5")  # fmt: skip
    assert rc == 0, report_of(tmp_path)
    assert node_version(lab, "relay1") == "11.0.1"
    written = next(e.data["files"] for e in journal_events(tmp_path) if e.host == "relay1" and e.phase == "files_written")
    (snapshot,) = [p for p in written if p.endswith("/mainnet-peer-snapshot.json")]
    on_host = lab.exec("relay1", f"cat {snapshot}").stdout
    assert json.loads(on_host) == json.loads(shipped_file("11.0.1", "mainnet", "mainnet-peer-snapshot.json"))
    phases = [e.phase for e in journal_events(tmp_path) if e.host == "relay1"]
    # across the 10.7 snapshot boundary the run keeps db/ledger; 11.0.1 cannot read 10.6.4's snapshot
    # and replays from genesis (lab/ledger_db.py), which the gate waits for
    assert "ledger_backed_up" in phases and "ledger_absent" not in phases and phases[-1] == "done", phases




SLOW_START_SECONDS = 150


def test_a_150_s_start_on_10_6_4_and_on_11_0_1_is_waited_for_with_default_settings(fresh_lab: Any, tmp_path: Path) -> None:
    """Issue 25's slow starts: on one lab, relay1 is restarted on 10.6.4 (pinned to its own release,
    a topology-only run with restart_mode=restart) while relay2 is upgraded 10.6.4 → 11.0.1; each
    start replays for 150 s with its release's shipped config (new tracing). And issue 13's
    reproduction, legacy tracing: relay4 is upgraded 8.7.3 → 8.9.0 (the 8.9.0 playbook) and 8.9.0's
    start replays for 150 s. The default playbooks and no gate setting: the sync_gate role's defaults
    wait for each. One run installs one release (the tool refuses two pins in a run), so these are
    three runs at once (relay3 is the healthy relay outside them): the suite waits 150 s, not 450."""
    lab = fresh_lab(relays=4, producers=0, node_version="10.6.4", target_version="11.0.1", startup_seconds=4.0,
                    host_versions={"relay4": "8.7.3"})
    lab.wait_in_sync()
    lab_pin = lab.state.release_urls["11.0.1"]
    own = lab.state.release_urls["10.6.4"]
    inventory = lab.inventory_path.read_text()
    assert lab_pin["url"] in inventory and '"11.0.1"' in inventory
    pinned_own = tmp_path / "inventory-10.6.4.yml"  # the same fleet pinned to 10.6.4
    pinned_own.write_text(inventory.replace(lab_pin["url"], own["url"]).replace(lab_pin["sha256"], own["sha256"])
                          .replace('"11.0.1"', '"10.6.4"'))  # fmt: skip
    legacy = lab.state.release_urls["8.9.0"]
    pinned_legacy = tmp_path / "inventory-8.9.0.yml"  # relay4's run: 8.7.3 -> 8.9.0
    pinned_legacy.write_text(inventory.replace(lab_pin["url"], legacy["url"])
                             .replace(lab_pin["sha256"], legacy["sha256"]).replace('"11.0.1"', '"8.9.0"'))  # fmt: skip
    _drop_a_local_root(lab, "relay1")
    set_fault(lab, "relay1", "slow_start", "--seconds", str(SLOW_START_SECONDS), "--version", "10.6.4")
    set_fault(lab, "relay2", "slow_start", "--seconds", str(SLOW_START_SECONDS), "--version", "11.0.1")
    set_fault(lab, "relay4", "slow_start", "--seconds", str(SLOW_START_SECONDS), "--version", "8.9.0")
    runs = {
        "relay1": (pinned_own, ["-e", "restart_mode=restart"], "10.6.4", UPGRADE_NODE),
        "relay2": (lab.inventory_path, [], "11.0.1", UPGRADE_NODE),
        "relay4": (pinned_legacy, [], "8.9.0", UPGRADE_8_9_0),
    }
    started = time.monotonic()
    procs = {
        host: subprocess.Popen(
            [sys.executable, "-m", "orchestrator", "run", "-i", str(inv), playbook, "--yes",
             "--state-dir", str(tmp_path / host), "--limit", host, *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )  # fmt: skip
        for host, (inv, extra, _version, playbook) in runs.items()
    }
    outputs = {host: proc.communicate(timeout=SLOW_START_SECONDS * 4)[0] for host, proc in procs.items()}
    took = time.monotonic() - started
    for host, (_inv, _extra, version, _playbook) in runs.items():
        report = report_of(tmp_path / host)
        assert procs[host].returncode == 0, (host, outputs[host][-3000:])
        assert node_version(lab, host) == version
        (entry,) = report["hosts"]
        assert entry["host"] == host and entry["status"] == "upgraded", entry
        assert entry["phases"]["replaying ledger"] >= SLOW_START_SECONDS - 10, entry["phases"]
        events = journal_events(tmp_path / host)
        seen = [e.data["now"] for e in events if e.host == host and e.phase == "node_phase"]
        assert "replaying ledger" in seen and seen.index("replaying ledger") < seen.index("in sync"), seen
        assert not [e for e in events if e.phase == "failed"]
        print(f"{host} on {version}: phases {entry['phases']}")
    assert node_version(lab, "relay3") == "10.6.4"
    print(f"the three runs took {took:.0f} s")
    # 8.9.0's legacy log: the console shows the replay's progress with its estimate, rising
    assert "relay4: replaying ledger" in outputs["relay4"] and "s left" in outputs["relay4"]
    seen_pct = [int(m) for m in re.findall(r"relay4: replaying ledger (\d+)%", outputs["relay4"])]
    assert seen_pct == sorted(seen_pct) and any(30 <= p <= 70 for p in seen_pct) and len(seen_pct) >= 5, seen_pct
    legacy_host = report_of(tmp_path / "relay4")["hosts"][0]
    assert list(legacy_host["phases"]) == ["opening chain db", "validating chunks", "replaying ledger",
                                           "initial chain selection"], legacy_host["phases"]  # fmt: skip
    assert legacy_host["downtime"] >= SLOW_START_SECONDS
    assert SLOW_START_SECONDS <= legacy_host["startup_seconds"] <= legacy_host["downtime"], legacy_host
    # The audit judges each host's cardano-cli against the one its pinned release ships (catalogue):
    # relay2 is on the pin (11.0.1 → 11.0.0.0), relay1 on 10.6.4 has that release's 10.15.0.0.
    out = tmp_path / "audit.json"
    run_cli("audit", "-i", str(lab.inventory_path), "--format", "json", "-o", str(out), "--limit", "relay1,relay2")
    audited = {h["host"]: {f["rule"]: f for f in h["findings"]} for h in json.loads(out.read_text())["hosts"]}
    assert audited["relay2"]["cli-version"]["passed"], audited["relay2"]["cli-version"]
    assert audited["relay2"]["cli-version"]["message"] == "cardano-cli 11.0.0.0"
    relay1 = audited["relay1"]["cli-version"]
    assert not relay1["passed"] and relay1["message"] == "cardano-cli is 10.15.0.0, expected 11.0.0.0 (shipped with node 11.0.1)"
