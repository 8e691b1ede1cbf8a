"""A big lab needs a bigger ARP table: the kernel keeps one for all network namespaces, and past
gc_thresh3 new connections cannot resolve their next hop (seen at 128 hosts: no SSH banner, direct
or through the delay relay). `lab up` raises the limits for its size, and never lowers them."""

from __future__ import annotations

from pathlib import Path

from orchestrator.lab.hosts import neighbour_limits, raise_neighbour_limits


def _sysctls(tmp_path: Path, thresh2: str, thresh3: str) -> Path:
    (tmp_path / "gc_thresh2").write_text(thresh2)
    (tmp_path / "gc_thresh3").write_text(thresh3)
    return tmp_path


def test_the_limits_cover_every_host_talking_to_every_other_and_the_gateway() -> None:
    for hosts in (4, 16, 128, 188):
        limits = neighbour_limits(hosts)
        assert limits["gc_thresh3"] >= hosts * (hosts + 2) + 1024  # the kernel's default, for other labs
        assert limits["gc_thresh2"] <= limits["gc_thresh3"]
    assert neighbour_limits(128)["gc_thresh3"] > neighbour_limits(64)["gc_thresh3"]


def test_the_defaults_are_raised_for_a_128_host_lab(tmp_path: Path) -> None:
    sysctl = _sysctls(tmp_path, "512\n", "1024\n")  # the kernel's defaults
    written = raise_neighbour_limits(128, sysctl)
    assert written == neighbour_limits(128)
    assert int((sysctl / "gc_thresh3").read_text()) == neighbour_limits(128)["gc_thresh3"]


def test_higher_limits_are_left_alone_and_unreadable_ones_skipped(tmp_path: Path) -> None:
    sysctl = _sysctls(tmp_path, "1000000\n", "garbage")
    assert raise_neighbour_limits(16, sysctl) == {}
    assert (sysctl / "gc_thresh2").read_text() == "1000000\n"
    assert raise_neighbour_limits(16, tmp_path / "missing") == {}
