"""(g) db_seed: four relays cross 10.5.3 → 11.0.1 (a ledger replay from genesis) once with
`db_seed: off` and once with `db_seed: from_upgraded`, in one bench run; both wall times of
`cardano-fleet run` are printed (medians of --seed-runs). Not a timed assertion: the lab's replay is
its time-compressed stand-in (GENESIS_FACTOR × its start, lab/simnode.py), and its copy moves small
files (completed chunks a synced lab host already holds are compared, not copied)."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.lab import cardano_fleet_bin, cli_env, log, subnet_lease
from bench.settings import REPO

SEED_PLAYBOOK = REPO / "playbooks" / "upgrade-node.yml"
RELAYS = 4
START_SECONDS = 4.0  # the lab node's ordinary start; its replay from genesis is 3x that


def _once(workdir: Path, subnet: int, mode: str, run: int) -> dict[str, Any]:
    from orchestrator.lab.hosts import lab_down, lab_up
    from orchestrator.lab.readiness import wait_in_sync

    lab_dir = workdir / f"seed-{mode}-{run}"
    state = lab_up(lab_dir, relays=RELAYS, producers=0, subnet=subnet, node_version="10.5.3",
                   target_version="11.0.1", startup_seconds=START_SECONDS)  # fmt: skip
    try:
        wait_in_sync(state.inventory_path, timeout=120)
        inv = Path(state.inventory_path)
        inv.write_text(inv.read_text().replace("  vars:\n", f"  vars:\n    db_seed: {mode}\n", 1))
        report = lab_dir / "report.json"
        argv = [cardano_fleet_bin(), "run", "-i", str(inv), str(SEED_PLAYBOOK), "--yes", "--report", str(report),
                "--state-dir", str(lab_dir / "state"), "-e", "sync_soak_seconds=2"]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=cli_env(), cwd=workdir, timeout=1800)
        total = time.perf_counter() - started
        rows = json.loads(report.read_text()).get("hosts", []) if report.exists() else []
        out: dict[str, Any] = {"mode": mode, "total": round(total, 2), "exit_code": proc.returncode,
                               "statuses": {r.get("host"): r.get("status") for r in rows},
                               "details": {r.get("host"): r.get("detail") for r in rows}}  # fmt: skip
        if proc.returncode != 0:
            out["error"] = (proc.stdout + proc.stderr)[-1500:]
        return out
    finally:
        lab_down(lab_dir)


def seed_bench(workdir: Path, subnets: Any, used: set[int], runs: int) -> dict[str, Any]:
    """Both modes, `runs` times each, alternating (so a load change hits both alike)."""
    rows: list[dict[str, Any]] = []
    for run in range(runs):
        for mode in ("off", "from_upgraded"):
            log(f"db_seed {mode}: {RELAYS} relays 10.5.3 -> 11.0.1 (run {run + 1}/{runs})")
            with subnet_lease(subnets, used) as subnet:
                rows.append(_once(workdir, subnet, mode, run))
    medians = {mode: statistics.median([r["total"] for r in rows if r["mode"] == mode and r["exit_code"] == 0] or [0.0])
               for mode in ("off", "from_upgraded")}  # fmt: skip
    return {"relays": RELAYS, "runs": runs, "rows": rows, "median_seconds": medians}


def render_seed(result: dict[str, Any]) -> str:
    m = result["median_seconds"]
    failed = [r for r in result["rows"] if r["exit_code"] != 0]
    return (f"db_seed, {result['relays']} relays 10.5.3 -> 11.0.1 (replay from genesis), median of {result['runs']}: "
            f"without seeding {m['off']:.1f} s, with seeding {m['from_upgraded']:.1f} s"
            + (f"; {len(failed)} run(s) FAILED (see the JSON)" if failed else ""))
