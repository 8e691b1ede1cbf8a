"""The benchmark's pure helpers (bench/stats.py, bench/report.py, bench/lab.py's subnet lease): statistics,
formatting, targets (no lab, no SSH)."""

from __future__ import annotations

import argparse

import pytest

from bench import lab, report, stats


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
    s = stats.summarize(samples)
    assert (s.median, s.low, s.high, s.runs) == (median, low, high, len(samples))
    assert s.as_json() == {"median": median, "min": low, "max": high, "runs": len(samples)}


def test_summarize_refuses_no_samples():
    with pytest.raises(ValueError):
        stats.summarize([])


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "-"), (0.0123, "12 ms"), (0.45, "0.45 s"), (3.14159, "3.14 s"), (12.34, "12.3 s")],
)
def test_fmt_seconds(value, text):
    assert stats.fmt_seconds(value) == text


def test_fmt_ms_summary() -> None:
    assert stats.fmt_ms_summary(None) == "-"
    assert stats.fmt_ms_summary(stats.Summary(0.013, 0.0121, 0.0153, 20)) == "13.0 ms (12.1–15.3)"


def test_fmt_summary():
    assert stats.fmt_summary(None) == "-"
    assert stats.fmt_summary(stats.Summary(0.45, 0.45, 0.45, 3)) == "0.45 s"
    assert stats.fmt_summary(stats.Summary(0.45, 0.41, 0.52, 5)) == "0.45 s (0.41–0.52 s)"
    assert stats.fmt_summary(stats.Summary(2.0, 2.0, 2.5, 1)) == "2.00 s"


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [(10.0, 2.0, 5.0), (None, 2.0, None), (1.0, None, None), (1.0, 0.0, None)],
)
def test_ratio(num, den, expected):
    assert stats.ratio(num, den) == expected


def test_fmt_ratio():
    assert stats.fmt_ratio(None) == "-"
    assert stats.fmt_ratio(12.345) == "12.3x"


def test_overhead_per_host_subtracts_node_time_and_skips_missing():
    assert stats.overhead_per_host(40.0, [8.0, 8.0, None, 10.0], 4) == pytest.approx(3.5)
    assert stats.overhead_per_host(4.0, [], 4) == 1.0
    with pytest.raises(ValueError):
        stats.overhead_per_host(1.0, [], 0)


def test_format_table_aligns_columns():
    text = stats.format_table(["hosts", "wall"], [["4", "0.45 s"], ["32", "12.3 s"]])
    lines = text.splitlines()
    assert lines[0] == "hosts    wall"
    assert lines[1] == "-----  ------"
    assert lines[2] == "4      0.45 s"
    assert lines[3] == "32     12.3 s"


def test_per_host_and_marginal_cost():
    assert stats.per_host(3.2, 16) == pytest.approx(0.2)
    assert stats.per_host(None, 16) is None
    with pytest.raises(ValueError):
        stats.per_host(1.0, 0)
    # 0.5 s of start-up + 10 ms per host: the slope is the per-host cost, start-up excluded.
    points = [(n, 0.5 + 0.010 * n) for n in (16, 32, 64, 128)]
    assert stats.marginal_per_host(points) == pytest.approx(0.010)
    assert stats.marginal_per_host([(16, 1.0)]) is None
    assert stats.marginal_per_host([(16, 1.0), (16, 2.0)]) is None


@pytest.mark.parametrize(
    ("by_size", "expected"),
    [
        ({16: 0.20, 32: 0.15, 128: 0.10}, True),  # falling
        ({16: 0.20, 32: 0.21, 128: 0.219}, True),  # flat within 10%
        ({16: 0.20, 32: 0.15, 128: 0.23}, False),  # the largest costs more per host
        ({16: 0.20}, None),
        ({}, None),
    ],
)
def test_flat_or_falling(by_size, expected):
    assert stats.flat_or_falling(by_size) is expected


def test_check_targets():
    met = stats.check_targets(
        {(16, 0.0): 12.0, (32, 0.0): 11.0, (16, 80.0): 25.0, (32, 80.0): 30.0},
        {16: 0.012, 128: 0.009},
        {128: 120.0},
        {0.0: {16: 0.1, 128: 0.05}},
        [0.4, 0.7],
    )
    assert [v.ok for v in met] == [True, True, True, True, True, True]
    assert met[0].measured == "16: 12.0x, 32: 11.0x"
    assert met[2].measured == "12.0 ms (worst size)"
    assert met[5].measured == "0.70 s/host (worst)"
    missed = stats.check_targets(
        {(16, 0.0): 9.0, (32, 0.0): 11.0, (16, 80.0): 25.0}, {16: 0.020}, {128: 151.0}, {0.0: {16: 0.1, 128: 0.2}}, [1.2]
    )
    assert [v.ok for v in missed] == [False, False, False, False, False, False]  # 80 ms at 32 hosts not measured
    unknown = stats.check_targets({}, {}, {}, {}, [])
    assert [v.ok for v in unknown] == [None] * 6
    assert unknown[2].measured == "-" and unknown[3].measured == "-"


def test_parse_sizes():
    assert stats.parse_sizes("32,16,128,16") == [16, 32, 128]
    for bad in ("", "1", "4,189", "x"):
        with pytest.raises((argparse.ArgumentTypeError, ValueError)):
            stats.parse_sizes(bad)


def test_parse_subnets_lists_and_ranges():
    assert stats.parse_subnets("4,5") == (4, 5)
    assert stats.parse_subnets("241-243,5,242") == (241, 242, 243, 5)
    for bad in ("", "x", "5-4", "255", "-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            stats.parse_subnets(bad)


def test_a_subnet_lease_is_returned_so_two_subnets_serve_every_size(monkeypatch):
    monkeypatch.setattr(lab.Path, "exists", lambda self: False)  # no lab bridge up
    used: set[int] = set()
    with lab.subnet_lease((4, 5), used) as first, lab.subnet_lease((4, 5), used) as second:
        assert (first, second) == (4, 5)
        with pytest.raises(RuntimeError, match="no free lab subnet in 4,5"), lab.subnet_lease((4, 5), used):
            pass
    assert used == set()
    with lab.subnet_lease((4, 5), used) as again:
        assert again == 4


def _dist(rtt, floor, audit, ansible=None, **extra):
    d = {
        "rtt_ms": rtt,
        "floor": {"median": floor, "min": floor, "max": floor, "runs": 3},
        "facts": {"median": audit * 0.8, "min": audit * 0.7, "max": audit, "runs": 3},
        "facts_cpu_per_host": {"median": 0.008, "min": 0.007, "max": 0.009, "runs": 3},
        "audit": {"median": audit, "min": audit, "max": audit, "runs": 3},
        "audit_cpu": {"median": 0.5 + 0.01 * extra.pop("hosts", 16), "min": 0.5, "max": 0.9, "runs": 3},
        "audit_maxrss_kib": 100 * 1024,
        "connections_per_host": [1],
        "round_trips_per_host": [1],
    }
    if ansible is not None:
        d["ansible"] = {"median": ansible, "min": ansible, "max": ansible, "runs": 1}
    d.update(extra)
    return d


def test_render_with_missing_measurements():
    results = {
        "sizes": [
            {"hosts": 16, "distances": [_dist(0.0, 0.4, 1.0, 12.0), _dist(80.0, 0.8, 1.5, 40.0)],
             "probe_shape": {k: {"median": v, "min": v, "max": v, "runs": 1} for k, v in
                             {"serial": 2.0, "concurrent": 1.0, "serial_slow_tip": 3.0, "concurrent_slow_tip": 1.5}.items()}},
            {"hosts": 128, "distances": [_dist(0.0, 1.0, 6.0, hosts=128, ansible_error="boom")],
             "probe_on_host": {"relay": {"host": "relay1", "cpu": {"median": 0.0912, "min": 0.09, "max": 0.1, "runs": 20},
                                         "wall": {"median": 0.0611, "min": 0.06, "max": 0.07, "runs": 20}}}},
            {"hosts": 256, "distances": [], "probe_on_host_error": "nsenter: no such host"},
        ],  # fmt: skip
        "rollouts": [],
    }
    text = report.render(results)
    assert "12.0x" in text and "26.7x" in text and "2.5x" in text  # ansible/audit, audit/floor
    assert "failed" in text and "boom" in text
    assert "10.0 ms per extra host" in text
    assert "2.0x" in text  # the probe at once vs one after another
    assert "relay: relay1" in text and "91.2 ms (90.0–100.0)" in text and "61.1 ms (60.0–70.0)" in text
    assert "probe on host: not measured: nsenter: no such host" in text
    verdicts = {t["target"]: t["ok"] for t in results["targets"]}
    assert verdicts["audit >= 10x faster than Ansible at 0 ms, 16 and 32 hosts"] is False  # 32 not measured
    assert verdicts["peak memory <= 150 MB at 128 hosts"] is True
    assert verdicts["audit wall time per host flat or falling with fleet size"] is True  # 62.5 → 46.9 ms at 0 ms
    assert verdicts["rolling-upgrade overhead < 1 s per host"] is None


def test_node_critical_path_takes_the_slowest_host_of_each_batch():
    rows = [
        {"host": "relay1", "batch": 1, "downtime": 8.0, "gate_seconds": 6.0},
        {"host": "relay2", "batch": 1, "downtime": 9.5, "gate_seconds": 7.0},
        {"host": "relay3", "batch": 2, "downtime": 7.0, "gate_seconds": 5.0},
        {"host": "bp1", "batch": 3, "downtime": None, "gate_seconds": None},  # unchanged host
    ]
    assert stats.node_critical_path(rows) == 16.5
    assert stats.node_critical_path(rows, "gate_seconds") == 12.0
    assert stats.node_critical_path([]) == 0.0
    # A rollout of 40 s over 4 hosts, of which 16.5 s was waiting for nodes: 5.875 s/host of overhead.
    assert stats.overhead_per_host(40.0, [stats.node_critical_path(rows)], 4) == pytest.approx(5.875)
