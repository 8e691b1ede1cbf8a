"""The probe as a shell script: which sections it runs (the gate's light probe reads no files), and
that its sections really run at once — proven by a rendezvous, not by a stopwatch."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrator.cardano.layouts import IOG
from orchestrator.facts.probe import HEALTH_SECTIONS, build_probe
from orchestrator.facts.record import FactSection, Output, Parsed
from orchestrator.facts.script import build_script, script_sections, split_sections
from orchestrator.model import Host, Role

BP = Host("bp1", Role.BLOCK_PRODUCER, "203.0.113.21", IOG)


def run_locally(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    return subprocess.run(script, shell=True, capture_output=True, text=True, timeout=60, cwd=tmp_path, env={**base, **env})


def test_full_probe_has_every_section_including_key_metadata(tmp_path: Path) -> None:
    script = build_probe(BP)
    expected = HEALTH_SECTIONS | {"config", "topology", "genesis", "keys", "releases"}
    assert set(script_sections(script)) >= expected
    # Run here (no node, no files): every section still comes back, delimited, with its status.
    proc = run_locally(script, tmp_path)
    assert proc.returncode == 0
    found = split_sections(proc.stdout)
    assert set(found) == set(script_sections(script))
    assert all(sec.rc is not None for sec in found.values())
    assert found["os"].rc == 0 and found["config"].rc != 0
    assert list(tmp_path.iterdir()) == []  # the job files are cleaned up


def test_health_probe_ships_no_files_and_reads_no_keys(tmp_path: Path) -> None:
    script = build_probe(BP, HEALTH_SECTIONS)
    assert set(script_sections(script)) == set(HEALTH_SECTIONS)
    assert IOG.keys_dir not in script
    # config.json is consulted on the host only for its scribes (where the node logs), never shipped
    assert "base64" not in script and "sha256sum" not in script and "b2sum" not in script
    assert set(split_sections(run_locally(script, tmp_path).stdout)) == set(HEALTH_SECTIONS)


class _Waits(FactSection):
    """Waits (at most `tries` x 50 ms) for the file the other section creates: finishes ok only if both
    run at the same time."""

    name = "waits"

    def __init__(self, flag: Path, tries: int = 100) -> None:
        self.flag, self.tries = flag, tries

    def command(self, host: Host) -> str:
        f = self.flag
        return f"i=0; while [ ! -e {f} ] && [ $i -lt {self.tries} ]; do sleep 0.05; i=$((i+1)); done; test -e {f}"

    def parse(self, out: Output) -> Parsed:
        return Parsed.of()


class _Signals(FactSection):
    name = "signals"

    def __init__(self, flag: Path) -> None:
        self.flag = flag

    def command(self, host: Host) -> str:
        return f"echo made; touch {self.flag}"

    def parse(self, out: Output) -> Parsed:
        return Parsed.of()


def test_sections_run_concurrently_and_print_in_order(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    script = build_script(BP, [_Waits(flag), _Signals(flag)])
    found = split_sections(run_locally(script, tmp_path).stdout)
    assert list(found) == ["waits", "signals"]
    assert found["waits"].rc == 0  # it saw the later section's file: they ran at the same time
    assert found["signals"].body == "made"


def test_serial_mode_and_the_fallback_without_a_temp_dir_run_one_after_another(tmp_path: Path) -> None:
    for concurrent, env in ((False, {}), (True, {"TMPDIR": str(tmp_path / "missing")})):
        flag = tmp_path / f"flag-{concurrent}"
        script = build_script(BP, [_Waits(flag, tries=3), _Signals(flag)], concurrent=concurrent)
        proc = run_locally(script, tmp_path, **env)
        found = split_sections(proc.stdout)
        assert proc.returncode == 0
        assert list(found) == ["waits", "signals"]
        assert found["waits"].rc == 1  # ran first and alone: the file never appeared
        assert found["signals"].rc == 0 and flag.exists()


class _Shell(FactSection):
    """A section whose command is given: to check what one section's `exit` or death does."""

    def __init__(self, name: str, body: str) -> None:
        self.name, self.body = name, body

    def command(self, host: Host) -> str:
        return self.body

    def parse(self, out: Output) -> Parsed:
        return Parsed.of()


def test_exit_ends_only_its_section_and_a_killed_section_reports_its_signal(tmp_path: Path) -> None:
    records = [
        _Shell("first", "echo before; exit 7; echo never"),
        _Shell("killed", "echo dying; sh -c 'kill -9 $PPID'; sleep 5; echo never"),
        _Shell("last", "echo after"),
    ]
    for concurrent in (True, False):
        proc = run_locally(build_script(BP, records, concurrent=concurrent), tmp_path)
        found = split_sections(proc.stdout)
        assert proc.returncode == 0
        assert list(found) == ["first", "killed", "last"]
        assert (found["first"].body, found["first"].rc) == ("before", 7)
        assert found["killed"].body == "dying" and found["killed"].rc == 137  # 128 + SIGKILL
        assert (found["last"].body, found["last"].rc) == ("after", 0)
        assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("strace") is None, reason="counts the probe's writes with strace")
def test_finished_sections_are_printed_before_waiting_for_a_slow_one(tmp_path: Path) -> None:
    """The sections before a slow one reach the reader while it still runs (a probe that times out
    keeps them), and everything that was ready together goes out in one write."""
    gate = tmp_path / "gate"
    # `a` ends only once `b` is done (its job's marker file), so both are ready together, however
    # the machine schedules them; `slow` waits for the test.
    records = [_Shell("a", 'while [ ! -e "$cf_d/b.done" ]; do sleep 0.01; done; echo one'), _Shell("b", "echo two"),
               _Shell("slow", f"while [ ! -e {gate} ]; do sleep 0.02; done; echo three")]  # fmt: skip
    script = build_script(BP, records)
    trace = tmp_path / "trace"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        ["strace", "-f", "-qq", "-y", "-e", "trace=write", "-e", "signal=none", "-o", str(trace), "sh", "-c", script],
        stdout=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    early = ""
    while "@@cf-end b 0@@" not in early:  # arrives while `slow` waits for the gate
        line = proc.stdout.readline()
        assert line, "the probe ended before the slow section was released"
        early += line
    gate.touch()
    rest = proc.stdout.read()
    assert proc.wait(timeout=30) == 0
    found = split_sections(early + rest)
    assert [(s.name, s.body) for s in found.values()] == [("a", "one"), ("b", "two"), ("slow", "three")]
    # writes of section output into the pipe we read (the jobs' own writes go to their files)
    to_pipe = [line for line in trace.read_text().splitlines() if "<pipe:" in line and "@@cf-" in line]
    assert len(to_pipe) == 2, to_pipe  # a and b together, then slow
    trace.unlink()
