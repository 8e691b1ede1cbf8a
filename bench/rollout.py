"""(f) A rolling upgrade through the CLI: its total time, the nodes' own time, the overhead per host."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.lab import cardano_fleet_bin, cli_env, load_hosts
from bench.settings import UPGRADE_PLAYBOOK
from bench.stats import node_critical_path, overhead_per_host


def rollout_once(state: Any, workdir: Path) -> dict[str, Any]:
    report = workdir / f"report-{state.subnet}.json"
    argv = [
        cardano_fleet_bin(),
        "run",
        "-i",
        str(state.inventory_path),
        str(UPGRADE_PLAYBOOK),
        "--yes",
        "--report",
        str(report),
    ]
    wall_start = time.time()
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=cli_env(), cwd=workdir, timeout=1800)
    total = time.perf_counter() - started
    result: dict[str, Any] = {"total": total, "exit_code": proc.returncode, "hosts": len(load_hosts(state.inventory_path))}
    if not report.exists():
        result["error"] = (proc.stdout + proc.stderr)[-1500:]
        return result
    data = json.loads(report.read_text())
    rows = data.get("hosts", [])
    downtime = [r.get("downtime") for r in rows]
    gates = [r.get("gate_seconds") for r in rows]
    critical = node_critical_path(rows)
    result.update(
        ok=data.get("ok"),
        statuses={r.get("host"): r.get("status") for r in rows},
        batches=sorted({r.get("batch", 0) for r in rows}),
        sum_downtime=sum(d for d in downtime if d is not None),
        sum_gate=sum(g for g in gates if g is not None),
        node_critical_path=critical,
        # Batches overlap hosts' restarts: subtract the batches' critical path, not the plain sum.
        overhead_per_host=overhead_per_host(total, [critical], len(rows) or 1),
        overhead_per_host_gate_only=overhead_per_host(total, [node_critical_path(rows, "gate_seconds")], len(rows) or 1),
    )
    result["timeline"] = journal_timeline(workdir, wall_start)
    if proc.returncode != 0:
        result["error"] = (proc.stdout + proc.stderr)[-1500:]
    return result


def journal_timeline(workdir: Path, wall_start: float) -> list[tuple[float, str, str]]:
    """(seconds since the command started, host, phase) of the newest run journal under workdir:
    where the time between the nodes' restarts goes."""
    journals = sorted(workdir.rglob("journal.jsonl"), key=lambda p: p.stat().st_mtime)
    if not journals:
        return []
    events = []
    for line in journals[-1].read_text().splitlines():
        with contextlib.suppress(ValueError, KeyError):
            raw = json.loads(line)
            events.append((round(float(raw["at"]) - wall_start, 2), str(raw["host"]), str(raw["phase"])))
    return events
