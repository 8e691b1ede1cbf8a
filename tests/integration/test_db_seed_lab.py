"""db_seed: from_upgraded in the lab (issue 26 item 3): three relays cross 10.5.3 → 11.0.1, which
replays the ledger from genesis. The first relay replays; the other two receive its db (completed
immutable chunks and its newest 11.0.1 snapshot) over the orchestrator's two SSH connections, and
their own node logs say they started from that snapshot — not from genesis. The journal has the
manifest's verification. Timing is not asserted (bench/ measures it)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import SERVICES, journal_events, node_version, report_of, run_cli

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_NODE = str(ROOT / "playbooks" / "upgrade-node.yml")


def _last_start(lab: Any, host: str) -> str:
    unit = SERVICES[lab.host(host).layout]
    log = lab.exec(host, f"cat /var/log/lab-systemd/{shlex.quote(unit)}.log").stdout
    start = log.rindex("Started opening Chain DB")
    return log[log.rindex("\n", 0, start) + 1 :]


def test_later_relays_start_from_the_first_ones_snapshot(fresh_lab: Any, tmp_path: Path, capsys: Any) -> None:
    lab = fresh_lab(relays=3, producers=0, node_version="10.5.3", target_version="11.0.1", startup_seconds=2.0)
    lab.wait_in_sync()
    text = lab.inventory_path.read_text()
    lab.inventory_path.write_text(text.replace("  vars:\n", "  vars:\n    db_seed: from_upgraded\n", 1))
    capsys.readouterr()
    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE_NODE, "--yes", "--state-dir", str(tmp_path),
                 "-e", "sync_soak_seconds=2")  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    report = {h["host"]: h for h in report_of(tmp_path)["hosts"]}
    assert all(h["status"] == "upgraded" for h in report.values()), report
    events = journal_events(tmp_path)
    seeded = {e.host: e.data for e in events if e.phase == "seeded"}
    assert len(seeded) == 2, [(e.host, e.phase) for e in events]
    (source,) = {d["source"] for d in seeded.values()}
    assert source not in seeded and report[source]["detail"].endswith("the ledger replayed from genesis, as planned")
    assert "Replaying ledger from genesis" in _last_start(lab, source)
    for host, data in seeded.items():
        assert node_version(lab, host) == "11.0.1"
        assert data["verified"] > 0 and data["snapshot"].isdigit(), data
        assert report[host]["detail"].endswith(f"seeded from {source}: started from its snapshot"), report[host]
        log = _last_start(lab, host)
        assert "Replaying ledger from genesis" not in log, log[:2000]
        replayed = re.search(r"Replaying ledger from snapshot .*? at slot (\d+)", log)
        assert replayed and replayed.group(1) == data["snapshot"], log[:2000]  # the copied snapshot, by its slot
        phases = [e.phase for e in events if e.host == host]
        assert phases.index("ledger_backed_up") < phases.index("seeding") < phases.index("seeded") \
            < phases.index("restarted"), phases  # fmt: skip
