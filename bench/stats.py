"""The benchmark's pure helpers: statistics, formatting, targets, argument parsing (no lab, no SSH)."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Targets of issue 18 (issue 9's rollout target kept).
ANSIBLE_SPEEDUP = {0.0: 10.0, 80.0: 20.0}  # audit vs Ansible at 16 and 32 hosts, by distance (ms)
SPEEDUP_SIZES = (16, 32)
CPU_PER_HOST = 0.015  # control-side CPU seconds per host
PEAK_RSS_MIB = 150.0  # at 128 hosts
PEAK_RSS_SIZE = 128
FLAT_TOLERANCE = 1.10  # "flat": the per-host cost of a larger fleet within 10% of the smallest's
OVERHEAD_PER_HOST = 1.0  # rolling upgrade: < 1 s of orchestrator overhead per host


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    runs: int

    def as_json(self) -> dict[str, float | int]:
        return {
            "median": round(self.median, 4),
            "min": round(self.low, 4),
            "max": round(self.high, 4),
            "runs": self.runs,
        }


def summarize(samples: Sequence[float]) -> Summary:
    """Median with min–max of a non-empty list of samples."""
    if not samples:
        raise ValueError("no samples")
    return Summary(statistics.median(samples), min(samples), max(samples), len(samples))


def fmt_seconds(value: float | None) -> str:
    """Short human form: 12 ms, 0.45 s, 12.3 s; '-' when missing."""
    if value is None:
        return "-"
    if value < 0.1:
        return f"{value * 1000:.0f} ms"
    if value < 10:
        return f"{value:.2f} s"
    return f"{value:.1f} s"


def fmt_summary(s: Summary | None) -> str:
    """'0.45 s (0.41–0.52)'; a single run shows no range."""
    if s is None:
        return "-"
    if s.runs == 1 or s.low == s.high:
        return fmt_seconds(s.median)
    return f"{fmt_seconds(s.median)} ({fmt_seconds(s.low).split()[0]}–{fmt_seconds(s.high)})"


def fmt_ms_summary(s: Summary | None) -> str:
    """A median with its min–max in milliseconds: `13.0 ms (12.1–15.3)`."""
    if s is None:
        return "-"
    return f"{s.median * 1000:.1f} ms ({s.low * 1000:.1f}–{s.high * 1000:.1f})"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def overhead_per_host(total: float, node_seconds: Sequence[float | None], hosts: int) -> float:
    """(total wall time - time the nodes themselves spent restarting and syncing) / hosts."""
    if hosts <= 0:
        raise ValueError("hosts must be positive")
    return (total - sum(s for s in node_seconds if s is not None)) / hosts


def node_critical_path(rows: Sequence[dict[str, Any]], key: str = "downtime") -> float:
    """Seconds the rollout had to wait for nodes: hosts of one batch restart together, so each batch
    costs its slowest host's `key` (stop → back in sync), and batches run one after another."""
    per_batch: dict[Any, float] = {}
    for row in rows:
        value = row.get(key)
        if value is not None:
            batch = row.get("batch", 0)
            per_batch[batch] = max(per_batch.get(batch, 0.0), float(value))
    return sum(per_batch.values())


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        out = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=False))]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    ok: bool | None  # None: not measured


def per_host(value: float | None, hosts: int) -> float | None:
    """A fleet-wide figure divided by the fleet's size (None stays None)."""
    if hosts <= 0:
        raise ValueError("hosts must be positive")
    return None if value is None else value / hosts


def marginal_per_host(points: Sequence[tuple[int, float]]) -> float | None:
    """Least-squares slope of (hosts, value): what one more host costs, fixed start-up cost excluded."""
    if len({n for n, _ in points}) < 2:
        return None
    mean_n = statistics.fmean(n for n, _ in points)
    mean_v = statistics.fmean(v for _, v in points)
    num = sum((n - mean_n) * (v - mean_v) for n, v in points)
    den = sum((n - mean_n) ** 2 for n, _ in points)
    return num / den


def flat_or_falling(per_host_by_size: Mapping[int, float], tolerance: float = FLAT_TOLERANCE) -> bool | None:
    """True when no larger fleet costs more per host than the smallest one (within `tolerance`)."""
    if len(per_host_by_size) < 2:
        return None
    sizes = sorted(per_host_by_size)
    base = per_host_by_size[sizes[0]]
    return all(per_host_by_size[n] <= base * tolerance for n in sizes[1:])


def check_targets(
    speedups: Mapping[tuple[int, float], float | None],
    cpu_per_host: Mapping[int, float],
    peak_rss_mib: Mapping[int, float],
    audit_per_host: Mapping[float, Mapping[int, float]],
    overheads: Sequence[float],
) -> list[Verdict]:
    """Issue 18's targets (and issue 9's rollout overhead), each met, missed or not measured.

    speedups: (hosts, rtt ms) → Ansible wall / audit wall; cpu_per_host: hosts → control-side CPU
    seconds per host; peak_rss_mib: hosts → peak RSS of the audit; audit_per_host: rtt → hosts →
    audit wall seconds per host; overheads: rollout overhead seconds per host.
    """
    verdicts: list[Verdict] = []
    for rtt, want in sorted(ANSIBLE_SPEEDUP.items()):
        got = {n: speedups.get((n, rtt)) for n in SPEEDUP_SIZES}
        known = [v for v in got.values() if v is not None]
        verdicts.append(
            Verdict(
                f"audit >= {want:g}x faster than Ansible at {rtt:g} ms, 16 and 32 hosts",
                ", ".join(f"{n}: {fmt_ratio(v)}" for n, v in got.items()),
                None if not known else all(v >= want for v in known) and len(known) == len(got),
            )
        )
    worst_cpu = max(cpu_per_host.values()) if cpu_per_host else None
    verdicts.append(
        Verdict(
            f"control-side CPU <= {CPU_PER_HOST * 1000:g} ms per host",
            "-" if worst_cpu is None else f"{worst_cpu * 1000:.1f} ms (worst size)",
            None if worst_cpu is None else worst_cpu <= CPU_PER_HOST,
        )
    )
    rss = peak_rss_mib.get(PEAK_RSS_SIZE)
    verdicts.append(
        Verdict(
            f"peak memory <= {PEAK_RSS_MIB:g} MB at {PEAK_RSS_SIZE} hosts",
            "-" if rss is None else f"{rss:.0f} MiB",
            None if rss is None else rss <= PEAK_RSS_MIB,
        )
    )
    trends = {rtt: flat_or_falling(by_size) for rtt, by_size in sorted(audit_per_host.items())}
    shown = "; ".join(
        f"{rtt:g} ms: " + ", ".join(f"{n}: {v * 1000:.0f} ms" for n, v in sorted(by_size.items()))
        for rtt, by_size in sorted(audit_per_host.items())
    )
    known_trends = [t for t in trends.values() if t is not None]
    verdicts.append(
        Verdict(
            "audit wall time per host flat or falling with fleet size",
            shown or "-",
            None if not known_trends else all(known_trends),
        )
    )
    worst = max(overheads) if overheads else None
    verdicts.append(
        Verdict(
            f"rolling-upgrade overhead < {OVERHEAD_PER_HOST:g} s per host",
            "-" if worst is None else f"{worst:.2f} s/host (worst)",
            None if worst is None else worst < OVERHEAD_PER_HOST,
        )
    )
    return verdicts


def parse_subnets(text: str) -> tuple[int, ...]:
    """'4,5' or '241-254' (or both, comma separated) → the third octets of 198.18.N.0/24 to use."""
    out: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            low, _, high = part.partition("-")
            first, last = int(low), int(high or low)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: subnets are numbers or ranges like 241-254") from None
        if not 0 <= first <= last <= 254:
            raise argparse.ArgumentTypeError(f"{part!r}: subnets are 0..254")
        out.extend(n for n in range(first, last + 1) if n not in out)
    if not out:
        raise argparse.ArgumentTypeError("no subnets given")
    return tuple(out)


def parse_sizes(text: str) -> list[int]:
    sizes = [int(x) for x in text.split(",") if x.strip()]
    if not sizes or any(n < 2 or n > 188 for n in sizes):
        raise argparse.ArgumentTypeError("sizes are 2..188 hosts, comma separated")
    return sorted(set(sizes))
