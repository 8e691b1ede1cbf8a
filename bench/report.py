"""The console report (one row per size and distance, the probe's shape, rollouts, targets) and the
results file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bench.settings import SLOW_SECTION_SECONDS
from bench.stats import (
    Summary,
    check_targets,
    fmt_ms_summary,
    fmt_ratio,
    fmt_seconds,
    fmt_summary,
    format_table,
    marginal_per_host,
    per_host,
    ratio,
)


def save(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(tmp, path)


def _summary(d: dict[str, Any] | None) -> Summary | None:
    return None if not d else Summary(d["median"], d["min"], d["max"], d["runs"])


def _median(d: dict[str, Any] | None) -> float | None:
    return None if not d else float(d["median"])


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def render(results: dict[str, Any]) -> str:
    """The console report: one row per (size, distance), the probe's shape, rollouts, targets."""
    headers = ["hosts", "rtt", "SSH floor", "facts (in-process)", "conn/trips", "CPU/host", "facts CLI", "audit CLI",
               "audit CPU/host", "audit RSS", "ansible", "ansible CPU/host", "ansible/audit", "audit/floor"]  # fmt: skip
    rows = []
    speedups: dict[tuple[int, float], float | None] = {}
    cpu_per_host: dict[int, float] = {}
    rss: dict[int, float] = {}
    audit_per_host: dict[float, dict[int, float]] = {}
    cli_cpu_points: dict[float, list[tuple[int, float]]] = {}
    for s in results["sizes"]:
        n = s["hosts"]
        for d in s["distances"]:
            rtt = float(d["rtt_ms"])
            audit, ansible = _median(d.get("audit")), _median(d.get("ansible"))
            speedups[(n, rtt)] = ratio(ansible, audit)
            cpu = _median(d.get("facts_cpu_per_host"))
            if cpu is not None:
                cpu_per_host[n] = max(cpu, cpu_per_host.get(n, 0.0))
            if "audit_maxrss_kib" in d:
                rss[n] = max(d["audit_maxrss_kib"] / 1024, rss.get(n, 0.0))
            if audit is not None:
                audit_per_host.setdefault(rtt, {})[n] = audit / n
            audit_cpu = _median(d.get("audit_cpu"))
            if audit_cpu is not None:
                cli_cpu_points.setdefault(rtt, []).append((n, audit_cpu))
            ansible_cpu = _median(d.get("ansible_cpu"))
            rows.append([
                str(n), f"{rtt:g} ms", fmt_summary(_summary(d["floor"])), fmt_summary(_summary(d["facts"])),
                f"{','.join(map(str, d['connections_per_host']))}/{','.join(map(str, d['round_trips_per_host']))}",
                fmt_ms(cpu), fmt_summary(_summary(d.get("facts_cli"))), fmt_summary(_summary(d.get("audit"))),
                fmt_ms(per_host(audit_cpu, n)), f"{d['audit_maxrss_kib'] / 1024:.0f} MiB" if "audit_maxrss_kib" in d else "-",
                fmt_summary(_summary(d.get("ansible"))) if d.get("ansible") else ("failed" if "ansible_error" in d else "-"),
                fmt_ms(per_host(ansible_cpu, n)), fmt_ratio(speedups[(n, rtt)]),
                fmt_ratio(ratio(audit, _median(d["floor"]))),
            ])  # fmt: skip
    parts = [format_table(headers, rows)]
    for failed in results.get("failed_sizes", []):
        parts.append(f"  {failed['hosts']} hosts: not measured: {failed['error'][-300:]}")
    for s in results["sizes"]:
        for failed in s.get("failed_distances", []):
            parts.append(f"  {s['hosts']} hosts at {failed['rtt_ms']:g} ms: not measured: {failed['error'][-300:]}")
    for rtt, points in sorted(cli_cpu_points.items()):
        slope = marginal_per_host(points)
        if slope is not None:
            parts.append(f"  audit CLI CPU at {rtt:g} ms: {fmt_ms(slope)} per extra host (least squares over sizes)")
    for s in results["sizes"]:
        for d in s["distances"]:
            where = f"{s['hosts']} hosts at {d['rtt_ms']:g} ms"
            if d.get("facts_errors"):
                parts.append(f"  {where}: probe errors: {d['facts_errors']}")
            for key in ("ansible_error", "audit_error", "facts_cli_error"):
                if d.get(key):
                    parts.append(f"  {where}: {key.removesuffix('_error')} failed: {d[key][-400:]}")
    for s in results["sizes"]:
        if s.get("probe_on_host"):
            parts.append("")
            parts.append(f"the probe on the host itself ({s['hosts']}-host fleet, nsenter, the lab's stand-ins included):")
            parts.append(format_table(
                ["host", "CPU (process tree)", "wall"],
                [[f"{role}: {r['host']}", fmt_ms_summary(_summary(r["cpu"])), fmt_ms_summary(_summary(r["wall"]))]
                 for role, r in s["probe_on_host"].items()],
            ))  # fmt: skip
        if s.get("probe_on_host_error"):
            parts.append(f"  probe on host: not measured: {s['probe_on_host_error'][-300:]}")
    for s in results["sizes"]:
        if "probe_shape" in s:
            p = s["probe_shape"]
            parts.append("")
            parts.append(f"the probe's sections, {s['hosts']} hosts at 0 ms (floor + the probe):")
            parts.append(format_table(
                ["probe", "one after another", "at once", "speed-up"],
                [["as is", fmt_summary(_summary(p["serial"])), fmt_summary(_summary(p["concurrent"])),
                  fmt_ratio(ratio(_median(p["serial"]), _median(p["concurrent"])))],
                 [f"tip takes {SLOW_SECTION_SECONDS:g} s longer", fmt_summary(_summary(p["serial_slow_tip"])),
                  fmt_summary(_summary(p["concurrent_slow_tip"])),
                  fmt_ratio(ratio(_median(p["serial_slow_tip"]), _median(p["concurrent_slow_tip"])))]],
            ))  # fmt: skip
    if results["rollouts"]:
        rrows = [[f"{r['relays']}+{r['producers']}", str(len(r.get("batches", []))), fmt_seconds(r["total"]),
                  fmt_seconds(r.get("node_critical_path")), fmt_seconds(r.get("sum_downtime")),
                  fmt_seconds(r.get("overhead_per_host")), str(r.get("ok")), str(r["exit_code"])]
                 for r in results["rollouts"]]  # fmt: skip
        parts.append("")
        parts.append(
            format_table(["rollout", "batches", "total", "node time", "sum downtime", "overhead/host", "ok", "exit"], rrows)
        )
        for r in results["rollouts"]:
            if r.get("error"):
                parts.append(f"  {r['relays']}+1: {r['error'][-600:]}")
    overheads = [r["overhead_per_host"] for r in results["rollouts"] if "overhead_per_host" in r]
    verdicts = check_targets(speedups, cpu_per_host, rss, audit_per_host, overheads)
    results["targets"] = [{"target": v.target, "measured": v.measured, "ok": v.ok} for v in verdicts]
    parts.append("")
    parts.append(format_table(["target", "measured", "met"],
                              [[v.target, v.measured, {True: "yes", False: "MISSED", None: "n/a"}[v.ok]]
                               for v in verdicts]))  # fmt: skip
    return "\n".join(parts)
