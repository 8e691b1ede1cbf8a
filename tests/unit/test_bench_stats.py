"""The benchmark's pure helpers: statistics, formatting, targets (no lab, no SSH)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUN_PY = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


bench = _load()


@pytest.mark.parametrize(
    ("samples", "median", "low", "high"),
    [
        ([1.0], 1.0, 1.0, 1.0),
        ([3.0, 1.0, 2.0], 2.0, 1.0, 3.0),
        ([4.0, 1.0, 2.0, 3.0], 2.5, 1.0, 4.0),
        ([0.5, 0.5, 9.0], 0.5, 0.5, 9.0),  # an outlier moves the range, not the median
    ],
)
def test_summarize(samples, median, low, high):
    s = bench.summarize(samples)
    assert (s.median, s.low, s.high, s.runs) == (median, low, high, len(samples))
    assert s.as_json() == {"median": median, "min": low, "max": high, "runs": len(samples)}


def test_summarize_refuses_no_samples():
    with pytest.raises(ValueError):
        bench.summarize([])


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "-"), (0.0123, "12 ms"), (0.45, "0.45 s"), (3.14159, "3.14 s"), (12.34, "12.3 s")],
)
def test_fmt_seconds(value, text):
    assert bench.fmt_seconds(value) == text


def test_fmt_summary():
    assert bench.fmt_summary(None) == "-"
    assert bench.fmt_summary(bench.Summary(0.45, 0.45, 0.45, 3)) == "0.45 s"
    assert bench.fmt_summary(bench.Summary(0.45, 0.41, 0.52, 5)) == "0.45 s (0.41–0.52 s)"
    assert bench.fmt_summary(bench.Summary(2.0, 2.0, 2.5, 1)) == "2.00 s"


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [(10.0, 2.0, 5.0), (None, 2.0, None), (1.0, None, None), (1.0, 0.0, None)],
)
def test_ratio(num, den, expected):
    assert bench.ratio(num, den) == expected


def test_fmt_ratio():
    assert bench.fmt_ratio(None) == "-"
    assert bench.fmt_ratio(12.345) == "12.3x"


def test_overhead_per_host_subtracts_node_time_and_skips_missing():
    assert bench.overhead_per_host(40.0, [8.0, 8.0, None, 10.0], 4) == pytest.approx(3.5)
    assert bench.overhead_per_host(4.0, [], 4) == 1.0
    with pytest.raises(ValueError):
        bench.overhead_per_host(1.0, [], 0)


def test_format_table_aligns_columns():
    text = bench.format_table(["hosts", "wall"], [["4", "0.45 s"], ["32", "12.3 s"]])
    lines = text.splitlines()
    assert lines[0] == "hosts    wall"
    assert lines[1] == "-----  ------"
    assert lines[2] == "4      0.45 s"
    assert lines[3] == "32     12.3 s"


def test_check_targets():
    met = bench.check_targets(1.5, 20.0, [0.4, 0.7])
    assert [v.ok for v in met] == [True, True, True]
    assert met[2].measured == "0.70 s/host (worst)"
    missed = bench.check_targets(2.5, 3.0, [1.2])
    assert [v.ok for v in missed] == [False, False, False]
    unknown = bench.check_targets(None, None, [])
    assert [v.ok for v in unknown] == [None, None, None]
    assert [v.measured for v in unknown] == ["-", "-", "-"]


def test_parse_sizes():
    assert bench.parse_sizes("4,16,32") == [4, 16, 32]
    for bad in ("", "1", "4,81", "x"):
        with pytest.raises((argparse.ArgumentTypeError, ValueError)):
            bench.parse_sizes(bad)


def test_render_with_missing_measurements():
    results = {
        "audit_available": False,
        "sizes": [
            {
                "hosts": 4,
                "floor": {"median": 0.2, "min": 0.1, "max": 0.3, "runs": 3},
                "facts": {"median": 0.3, "min": 0.3, "max": 0.4, "runs": 3},
                "facts_cli": {"median": 0.8, "min": 0.7, "max": 0.9, "runs": 3},
                "connections_per_host": [1],
                "round_trips_per_host": [1],
                "ansible": {"median": 8.0, "min": 7.0, "max": 9.0, "runs": 3},
            }
        ],
        "rollouts": [],
    }
    text = bench.render(results)
    assert "pending" in text and "10.0x" in text and "1.5x" in text
    assert results["targets"][0]["ok"] is True  # facts 0.3 s vs floor 0.2 s
    assert results["targets"][2]["ok"] is None


def test_node_critical_path_takes_the_slowest_host_of_each_batch():
    rows = [
        {"host": "relay1", "batch": 1, "downtime": 8.0, "gate_seconds": 6.0},
        {"host": "relay2", "batch": 1, "downtime": 9.5, "gate_seconds": 7.0},
        {"host": "relay3", "batch": 2, "downtime": 7.0, "gate_seconds": 5.0},
        {"host": "bp1", "batch": 3, "downtime": None, "gate_seconds": None},  # unchanged host
    ]
    assert bench.node_critical_path(rows) == 16.5
    assert bench.node_critical_path(rows, "gate_seconds") == 12.0
    assert bench.node_critical_path([]) == 0.0
    # A rollout of 40 s over 4 hosts, of which 16.5 s was waiting for nodes: 5.875 s/host of overhead.
    assert bench.overhead_per_host(40.0, [bench.node_critical_path(rows)], 4) == pytest.approx(5.875)
