"""The stand-in systemctl, run as a program against a temp root (LAB_SYSTEMD_ROOT)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.lab import provision, systemctl_light
from orchestrator.lab import systemctl_standin as sc

SCRIPT = Path(sc.__file__).resolve()
LIGHT = Path(systemctl_light.__file__).resolve()

# A service that logs its signals: TERM exits, HUP is counted, INT is ignored (to test the timeout).
SERVICE = r"""
import signal, sys, time
def note(text):
    print(text, flush=True)
signal.signal(signal.SIGTERM, lambda *_: (note("got TERM"), sys.exit(0)))
signal.signal(signal.SIGHUP, lambda *_: note("got HUP"))
signal.signal(signal.SIGINT, lambda *_: note("got INT, ignoring"))
note("started " + " ".join(sys.argv[1:]))
while True:
    time.sleep(0.05)
"""


class Systemctl:
    """`systemctl` against a temp root: the full stand-in run as a script, or (`launcher`) the lab
    host's launcher with both modules side by side, the light one first, as provision installs them."""

    def __init__(self, root: Path, launcher: bool = False) -> None:
        self.root = root
        self.command = ["/usr/bin/python3", str(SCRIPT)]
        if launcher:
            lib = root / "lib"
            lib.mkdir(parents=True)
            for module in (SCRIPT, LIGHT):
                shutil.copy(module, lib / module.name)
            text = provision.SYSTEMCTL_LAUNCHER.replace("/usr/local/lib/cardano-lab", str(lib))
            assert text != provision.SYSTEMCTL_LAUNCHER
            (root / "bin").mkdir()
            for name in ("systemctl", "journalctl"):
                (root / "bin" / name).write_text(text)
                (root / "bin" / name).chmod(0o755)
            self.command = [str(root / "bin" / "systemctl")]
        self.units = root / "etc" / "systemd" / "system"
        self.units.mkdir(parents=True)
        self.service = root / "service.py"
        self.service.write_text(SERVICE)

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LAB_SYSTEMD_ROOT": str(self.root)}
        return subprocess.run([*self.command, *args], env=env, capture_output=True, text=True, timeout=30, check=False)

    def unit(self, name: str, extra: str = "", exec_start: str | None = None) -> None:
        start = exec_start or f"{sys.executable} {self.service} $ARGS"
        text = (
            f"[Unit]\nDescription={name} test\n\n[Service]\nEnvironment=ARGS=one\\ two 'GREETING=hi there'\n"
            f"ExecStart={start}\nExecReload=/bin/kill -HUP $MAINPID\n{extra}\n"
        )
        (self.units / f"{name}.service").write_text(text)

    def log(self, name: str) -> str:
        path = self.root / "var" / "log" / "lab-systemd" / f"{name}.service.log"
        return path.read_text() if path.exists() else ""

    def prop(self, name: str, prop: str) -> str:
        return self("show", name, "-p", prop, "--value").stdout.strip()


@pytest.fixture(params=["script", "launcher"])
def systemctl(tmp_path: Path, request: pytest.FixtureRequest) -> Systemctl:
    return Systemctl(tmp_path, launcher=request.param == "launcher")


def wait_for(what: str, check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_start_stop_is_active_and_show(systemctl: Systemctl) -> None:
    systemctl.unit("node")
    done = systemctl("is-active", "node")
    assert (done.returncode, done.stdout) == (3, "inactive\n")
    assert systemctl("start", "node.service").returncode == 0
    done = systemctl("is-active", "node")
    assert (done.returncode, done.stdout) == (0, "active\n")
    pid = int(systemctl.prop("node", "MainPID"))
    assert pid > 0 and alive(pid)
    wait_for("service log", lambda: "started one two" in systemctl.log("node"))
    shown = systemctl("show", "node", "-p", "ActiveState,SubState,NRestarts", "-p", "ExecMainStartTimestamp").stdout
    assert "ActiveState=active\nSubState=running\nNRestarts=0\nExecMainStartTimestamp=" in shown
    assert systemctl("start", "node").returncode == 0  # already running: no second process
    assert int(systemctl.prop("node", "MainPID")) == pid
    status = systemctl("status", "node")
    assert status.returncode == 0 and "Active: active (running)" in status.stdout

    assert systemctl("stop", "node").returncode == 0
    assert not alive(pid)
    assert "got TERM" in systemctl.log("node")
    done = systemctl("is-active", "node")
    assert (done.returncode, done.stdout) == (3, "inactive\n")
    assert systemctl.prop("node", "MainPID") == "0"
    assert systemctl("status", "node").returncode == 3
    assert systemctl("start", "missing").returncode == 5
    assert systemctl("status", "missing").returncode == 4


def test_reload_sends_hup_to_main_pid(systemctl: Systemctl) -> None:
    systemctl.unit("node")
    assert systemctl("reload", "node").returncode == 1  # not active
    systemctl("start", "node")
    wait_for("service start", lambda: "started" in systemctl.log("node"))
    pid = systemctl.prop("node", "MainPID")
    assert systemctl("reload", "node").returncode == 0
    wait_for("HUP in the log", lambda: "got HUP" in systemctl.log("node"))
    assert systemctl.prop("node", "MainPID") == pid
    restarted = systemctl("restart", "node")
    assert restarted.returncode == 0 and systemctl.prop("node", "MainPID") not in ("0", pid)
    systemctl("stop", "node")


def test_kill_signal_and_stop_timeout(systemctl: Systemctl) -> None:
    systemctl.unit("stubborn", "KillSignal=SIGINT\nTimeoutStopSec=1")
    systemctl("start", "stubborn")
    wait_for("service start", lambda: "started" in systemctl.log("stubborn"))
    pid = int(systemctl.prop("stubborn", "MainPID"))
    began = time.monotonic()
    assert systemctl("stop", "stubborn").returncode == 0
    took = time.monotonic() - began
    assert took >= 0.9
    assert "got INT, ignoring" in systemctl.log("stubborn")
    assert not alive(pid)
    assert systemctl("is-active", "stubborn").stdout == "failed\n"  # killed after the timeout, as systemd
    assert systemctl.prop("stubborn", "Result") == "timeout"


def test_failure_restart_and_enable(systemctl: Systemctl) -> None:
    systemctl.unit("crashy", "Restart=on-failure\nRestartSec=0.05", exec_start="/bin/sh -c 'exit 3'")
    systemctl("start", "crashy")
    wait_for("start limit", lambda: systemctl("is-active", "crashy").stdout == "failed\n")
    assert systemctl("is-active", "crashy").returncode == 3
    assert systemctl.prop("crashy", "NRestarts") == "5"
    assert systemctl.prop("crashy", "Result") == "start-limit-hit"

    systemctl.unit("once", exec_start="/bin/sh -c 'exit 0'")
    systemctl("start", "once")
    wait_for("clean exit", lambda: systemctl("is-active", "once").stdout == "inactive\n")

    done = systemctl("is-enabled", "once")
    assert (done.returncode, done.stdout) == (1, "disabled\n")
    assert systemctl("enable", "once").returncode == 0
    assert (systemctl.units / "multi-user.target.wants" / "once.service").is_symlink()
    done = systemctl("is-enabled", "once")
    assert (done.returncode, done.stdout) == (0, "enabled\n")
    assert systemctl("disable", "once").returncode == 0
    assert systemctl("is-enabled", "once").returncode == 1
    assert systemctl("daemon-reload").returncode == 0


def test_unit_parsing() -> None:
    unit = sc.parse_unit(
        "cnode.service",
        '[Service]\nExecStart=/bin/bash -l -c "exec /opt/cardano/cnode/scripts/cnode.sh"\n'
        "KillSignal=SIGINT\nTimeoutStopSec=1min 30s\nRestart=on-failure\nSuccessExitStatus=143\n"
        'Environment=A=1 "B=two words"\nExecStart=-/usr/bin/x \\\n  --flag\n',
    )
    assert unit.exec_start == ["/usr/bin/x", "--flag"]
    assert unit.kill_signal == 2 and unit.timeout_stop == 90.0 and unit.restart == "on-failure"
    assert unit.environment == {"A": "1", "B": "two words"} and unit.success_exit_status == {143}
    assert sc.expand(["$B", "${B}", "x=${A}"], unit.environment) == ["two", "words", "two words", "x=1"]


def test_the_launcher_reads_without_the_full_stand_in(tmp_path: Path) -> None:
    """What the facts probe asks (show, is-active, journalctl) is answered by the light module alone,
    byte for byte as the full stand-in answers it; a verb that changes state imports the full one."""
    light = Systemctl(tmp_path / "light", launcher=True)
    full = Systemctl(tmp_path / "full")
    for systemctl in (light, full):
        systemctl.unit("node", "User=cardano\nKillSignal=SIGINT\nTimeoutStopSec=1min 30s")
        log = systemctl.root / "var" / "log" / "lab-systemd"
        log.mkdir(parents=True)
        (log / "node.service.log").write_text("one\n\x1b[32mcoloured\x1b[0m\nthree\n")
        assert systemctl("enable", "node").returncode == 0
    asks = [
        ("show", "-p", "ActiveState", "-p", "UnitFileState", "-p", "User", "node"),
        ("show", "node"), ("show", "node", "missing", "--property=LoadState,KillSignal", "--value"),
        ("is-active", "node"), ("is-active", "-q", "node"), ("is-failed", "node"), ("is-enabled", "node"),
        ("is-enabled", "missing"), ("is-enabled",), ("show",), ("--bogus", "show"), ("-p",), (),
    ]  # fmt: skip
    for ask in asks:
        got, want = light(*ask), full(*ask)
        shown = [(r.returncode, r.stdout, r.stderr.replace(str(light.root), "ROOT")) for r in (got, want)]
        assert shown[0] == (shown[1][0], shown[1][1].replace(str(full.root), str(light.root)),
                            shown[1][2].replace(str(full.root), "ROOT")), ask  # fmt: skip
    assert "User=cardano\n" in light("show", "node").stdout and "KillSignal=2\n" in light("show", "node").stdout
    assert "TimeoutStopUSec=90s\n" in light("show", "node").stdout
    env = {**os.environ, "LAB_SYSTEMD_ROOT": str(light.root)}
    journal = [str(light.root / "bin" / "journalctl"), "-u", "node", "-o", "cat", "--no-pager", "-n", "2"]
    done = subprocess.run(journal, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout) == (0, "[17B blob data]\nthree\n")
    done = subprocess.run([*journal, "--all"], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.stdout == "\x1b[32mcoloured\x1b[0m\nthree\n"

    def imported(*argv: str) -> str:
        done = subprocess.run(["/usr/bin/python3", "-IS", "-X", "importtime", *argv], env=env, capture_output=True,
                              text=True, timeout=30, check=False)  # fmt: skip
        return done.stderr

    launcher = str(light.root / "bin" / "systemctl")
    state = light.root / "run" / "lab-systemd"
    state.mkdir(parents=True)
    (state / "node.service.json").write_text(json.dumps({"ActiveState": "active", "SubState": "running", "MainPID": 1,
                                                         "SupervisorPID": 1, "NRestarts": 0, "Result": "success"}))  # fmt: skip
    heavy = {"re", "json", "enum", "signal", "dataclasses", "typing", "shlex", "systemctl_standin"}
    for ask in (("show", "-p", "ActiveState", "-p", "UnitFileState", "-p", "User", "node"), ("is-active", "node")):
        modules = {line.rsplit("|", 1)[-1].strip() for line in imported(launcher, *ask).splitlines()}
        assert "systemctl_light" in modules and not modules & heavy, (ask, modules & heavy)
    assert "systemctl_standin" not in imported(str(light.root / "bin" / "journalctl"), "-u", "node")
    assert "systemctl_standin" in imported(launcher, "status", "node")
