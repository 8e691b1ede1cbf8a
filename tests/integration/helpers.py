"""Shared helpers of the issue-8 fault, bad-input and security tests.

The upgrade helpers (fingerprint, PATHS, ...) live in test_rollout_lab and are re-exported here so
that every new module imports them from one place.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from orchestrator.roll.journal import Journal
from tests.integration.test_rollout_lab import (  # noqa: F401 - re-exported
    ENABLE_P2P,
    PATHS,
    ROOT,
    UPGRADE,
    files_only,
    fingerprint,
    journal_events,
    run_cli,
)

MARKERS = ("/tmp/pwned", "/tmp/pwned-host", "/tmp/pwned-path", "/tmp/pwned-var", "/tmp/pwned-url")
RELEASES = {"guild": "/opt/cardano/cnode/releases", "iog": "/opt/cardano/releases"}
SERVICES = {"guild": "cnode.service", "iog": "cardano-node.service"}


def fleet_fingerprints(lab: Any) -> dict[str, dict[str, str]]:
    return {h.name: fingerprint(lab, h.name) for h in lab.hosts}


def node_version(lab: Any, host: str) -> str:
    bin_dir = PATHS[lab.host(host).layout][1]
    return lab.exec(host, f"{bin_dir}/cardano-node --version").stdout.split()[1]


def report_of(state_dir: Path) -> dict[str, Any]:
    run_dir = sorted((state_dir / "runs").iterdir())[-1]
    return json.loads((run_dir / "report.json").read_text())


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {h["host"]: h["status"] for h in report["hosts"]}


def write_playbook_variant(tmp: Path, name: str = "upgrade.yml", **top: Any) -> Path:
    """The upgrade playbook with top-level settings replaced, and `roles` beside it (a symlink)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    data = yaml.load((ROOT / "playbooks" / "upgrade-8.9.0.yml").read_text())
    for key, value in top.items():
        if key == "relays_serial":
            data["stages"][1]["serial"] = value
        else:
            data[key] = value
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / name
    with path.open("w") as f:
        yaml.dump(data, f)
    if not (tmp / "roles").exists():
        (tmp / "roles").symlink_to(ROOT / "roles")
    return path


def markers_absent(lab: Any) -> list[str]:
    """Where a hostile-value marker file exists: on any lab host (inside its namespaces) or locally."""
    found = [f"local:{m}" for m in MARKERS if Path(m).exists()]
    found += ["local:/root/pwned"] if Path("/root/pwned").exists() else []
    for h in lab.hosts:
        out = lab.exec(h.name, "ls -d /tmp/pwned* /root/pwned* /home/operator/pwned* 2>/dev/null; true").stdout.split()
        found += [f"{h.name}:{p}" for p in out]
    return found


@contextmanager
def unreachable(lab: Any, host: str) -> Iterator[None]:
    """sshd listens on loopback only (SIGHUP re-execs it, same PID): connections are refused; the node runs on."""
    address = lab.host(host).address
    lab.exec(
        host, "sed -i 's/^ListenAddress .*/ListenAddress 127.0.0.1:22/' /etc/ssh/sshd_config && kill -HUP $(cat /run/sshd.pid)"
    )
    _wait_listen(lab, host, "127.0.0.1")
    try:
        yield
    finally:
        lab.exec(
            host,
            f"sed -i 's/^ListenAddress .*/ListenAddress {address}:22/' /etc/ssh/sshd_config && kill -HUP $(cat /run/sshd.pid)",
        )
        _wait_listen(lab, host, address)


def _wait_listen(lab: Any, host: str, address: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log = lab.exec(host, "tail -n 1 /var/log/sshd.log").stdout
        if f"listening on {address} port 22" in log:
            return
        time.sleep(0.1)
    raise AssertionError(f"sshd on {host} did not start listening on {address}")


def set_fault(lab: Any, host: str, fault: str, *extra: str) -> None:
    from orchestrator.cli import main

    assert main(["lab", "fault", host, fault, *extra, "--dir", str(lab.dir)]) == 0


def accepted_logins(lab: Any, host: str) -> int:
    """How many SSH logins the host's sshd accepted so far (its log)."""
    return int(lab.exec(host, "grep -c 'Accepted publickey' /var/log/sshd.log; true").stdout.strip() or 0)


def run_and_kill_at(
    inventory: Path, playbook: str, state: Path, when: Callable[[list[Any]], bool], *extra: str,
    timeout: float = 150, delay: float = 0.0,
) -> list[Any]:  # fmt: skip
    """Start `run` as a process; SIGKILL it as soon as `when(journal events)` holds (after `delay`)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "run", "-i", str(inventory), playbook, "--yes",
         "--state-dir", str(state), *extra],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    events: list[Any] = []
    try:
        while time.monotonic() < deadline:
            journals = sorted((state / "runs").glob("*/journal.jsonl")) if (state / "runs").exists() else []
            if journals:
                events = Journal.read(journals[-1])
                if when(events):
                    if delay:
                        time.sleep(delay)
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=10)
                    return events
            if proc.poll() is not None:
                pytest.fail(f"the run ended (rc {proc.returncode}) before the kill point; journal: "
                            f"{[(e.host, e.phase) for e in events]}")  # fmt: skip
            time.sleep(0.03)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
    pytest.fail(f"the kill point was not reached in {timeout}s; journal: {[(e.host, e.phase) for e in events]}")


def phase_seen(host: str, phase: str) -> Callable[[list[Any]], bool]:
    return lambda events: any(e.host == host and e.phase == phase for e in events)


def quote(value: str) -> str:
    return shlex.quote(value)


def run_acting_at(
    inventory: Path, playbook: str, state: Path, when: Callable[[list[Any]], bool], act: Callable[[], None],
    *extra: str, timeout: float = 120,
) -> tuple[int, str]:  # fmt: skip
    """Start `run` as a process; call `act()` once, as soon as `when(journal events)` holds; let the run
    finish. Returns its exit status and what the operator saw (stdout and stderr, 300 columns)."""
    out_path = state.parent / f"{state.name}-console.txt"
    with open(out_path, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "orchestrator", "run", "-i", str(inventory), playbook, "--yes",
             "--state-dir", str(state), *extra],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, "COLUMNS": "300"},
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        acted = False
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                if not acted:
                    journals = sorted((state / "runs").glob("*/journal.jsonl")) if (state / "runs").exists() else []
                    if journals and when(Journal.read(journals[-1])):
                        act()
                        acted = True
                time.sleep(0.05)
            if proc.poll() is None:
                pytest.fail(f"the run did not end within {timeout:g} s")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    assert acted, "the run ended before the point where the fault was to happen"
    return proc.returncode, out_path.read_text()


_STAMP = re.compile(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)")


def last_start(lab: Any, host: str) -> tuple[str, float]:
    """The node log of its last start ("Started opening Chain DB" to the socket), and that start's
    length in seconds from the log's own timestamps."""
    unit = SERVICES[lab.host(host).layout]
    log = lab.exec(host, f"cat /var/log/lab-systemd/{shlex.quote(unit)}.log").stdout
    start = log.rindex("Started opening Chain DB")
    text = log[log.rindex("\n", 0, start) + 1 :]
    text = text[: text.index("LocalSocketUp")]
    stamps = [datetime.fromisoformat(f"{d}T{t}").timestamp() for d, t in _STAMP.findall(text)]
    assert len(stamps) > 1, text[:2000]
    return text, stamps[-1] - stamps[0]
