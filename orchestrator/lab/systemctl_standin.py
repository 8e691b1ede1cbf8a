#!/usr/bin/python3
"""A stand-in `systemctl` for the lab's hosts, which have no systemd (stdlib only, one file);
installed as `journalctl` too, it reads a unit's journal (`journalctl -u UNIT -o cat -n N`).

The orchestrator runs exactly the commands it runs on a real host; this answers them from
`<root>/etc/systemd/system/<unit>.service` with state under `<root>/run/lab-systemd/` and logs in
`<root>/var/log/lab-systemd/<unit>.log` (root = $LAB_SYSTEMD_ROOT, default "/").

`start` spawns a detached supervisor (setsid) that runs ExecStart in its own process group, is
its parent (so it reaps it: no zombies, a reliable exit status), records MainPID and the result,
applies Restart=/RestartSec= with systemd's start limit (5 starts in 10 s), and on `stop` runs
ExecStop, sends KillSignal= to the group, waits TimeoutStopSec= and then sends SIGKILL.
`DefaultEnvironment=` in `<root>/etc/systemd/system.conf` is given to every unit, as systemd does.
User=/Group= are honoured when running as root; LimitNOFILE= and other directives are ignored.

The read side — paths, state, unit-file syntax, argument parsing, `show`/`is-active`/`is-failed`/
`is-enabled` and journalctl — lives in systemctl_light.py (built-in modules only), which a lab
host's launcher runs first; this module is imported only for the verbs that change state.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import re
import shlex
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# The read side (paths, state, unit-file syntax, arguments, the read verbs, journalctl) is the light module's:
# `orchestrator.lab.systemctl_light` in the package, `systemctl_light` beside this file on a lab host.
try:
    from orchestrator.lab import systemctl_light as light
except ImportError:  # a lab host: the two files side by side, no package
    import systemctl_light as light  # type: ignore[no-redef]

if TYPE_CHECKING:  # imported where used: `is-active`/`show` (the facts probe) never start a process
    import subprocess

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
START_LIMIT_BURST = 5
START_LIMIT_INTERVAL = 10.0
CLEAN_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE)
EXIT_NOT_FOUND = 5  # `start` of a unit that does not exist


# ------------------------------------------------------------------ unit files


@dataclass
class Unit:
    name: str
    exec_start: list[str] = field(default_factory=list)
    exec_reload: list[str] = field(default_factory=list)
    exec_stop: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    environment_files: list[str] = field(default_factory=list)
    working_directory: str | None = None
    kill_signal: int = signal.SIGTERM
    timeout_stop: float = 90.0
    restart: str = "no"
    restart_sec: float = 0.1
    user: str | None = None
    group: str | None = None
    success_exit_status: set[int] = field(default_factory=set)
    description: str = ""


def _exec_words(value: str) -> list[str]:
    """ExecStart value: strip the special prefixes (-@:+!) and split like systemd (no shell)."""
    value = value.strip()
    while value and value[0] in "-@:+!":
        value = value[1:]
    return shlex.split(value)


def parse_unit(name: str, text: str) -> Unit:
    unit = Unit(name=name)
    for section, key, value in light.unit_entries(text):
        if section == "Unit" and key == "Description":
            unit.description = value
        if section != "Service":
            continue
        if key == "ExecStart" and value:
            unit.exec_start = _exec_words(value)
        elif key == "ExecReload" and value:
            unit.exec_reload = _exec_words(value)
        elif key == "ExecStop" and value:
            unit.exec_stop = _exec_words(value)
        elif key == "Environment":
            for word in shlex.split(value):
                k, eq, v = word.partition("=")
                if eq:
                    unit.environment[k] = v
        elif key == "EnvironmentFile":
            unit.environment_files.append(value)
        elif key == "WorkingDirectory":
            unit.working_directory = value.lstrip("-")
        elif key == "KillSignal":
            unit.kill_signal = light.parse_signal(value)
        elif key in ("TimeoutStopSec", "TimeoutSec"):
            unit.timeout_stop = light.parse_timespan(value)
        elif key == "Restart":
            unit.restart = value
        elif key == "RestartSec":
            unit.restart_sec = light.parse_timespan(value)
        elif key == "User":
            unit.user = value
        elif key == "Group":
            unit.group = value
        elif key == "SuccessExitStatus":
            for word in value.split():
                unit.success_exit_status.add(int(word) if word.isdigit() else 128 + light.parse_signal(word))
    return unit


def load_unit(unit: str) -> Unit | None:
    text = light.unit_text(unit)
    return None if text is None else parse_unit(unit, text)


def _read_env_file(path: str) -> dict[str, str]:
    optional = path.startswith("-")
    path = path.lstrip("-")
    env: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in light.logical_lines(handle.read()):
                k, eq, v = line.partition("=")
                if eq:
                    words = shlex.split(v) or [""]
                    env[k.strip()] = words[0]
    except OSError:
        if not optional:
            raise
    return env


def default_environment() -> dict[str, str]:
    """DefaultEnvironment= of <root>/etc/systemd/system.conf."""
    env: dict[str, str] = {}
    try:
        with open(light.under("etc", "systemd", "system.conf"), encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return env
    for line in light.logical_lines(text):
        key, eq, value = line.partition("=")
        if eq and key.strip() == "DefaultEnvironment":
            for word in shlex.split(value):
                k, eq2, v = word.partition("=")
                if eq2:
                    env[k] = v
    return env


def service_environment(unit: Unit) -> dict[str, str]:
    """A clean environment as systemd gives services (the caller's environment is not inherited)."""
    env = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8"}
    env.update(default_environment())
    if unit.user:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(unit.user)
            env.update({"HOME": entry.pw_dir, "USER": entry.pw_name, "LOGNAME": entry.pw_name})
    for path in unit.environment_files:
        env.update(_read_env_file(path))
    env.update(unit.environment)
    return env


def expand(words: list[str], env: dict[str, str]) -> list[str]:
    """systemd's ExecStart expansion: "$VAR" alone becomes several words, "${VAR}" stays one."""
    out: list[str] = []
    for word in words:
        alone = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if alone:
            out += env.get(alone.group(1), "").split()
            continue
        out.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), word))
    return out


# ------------------------------------------------------------------ state


def write_state(unit: str, state: dict[str, Any]) -> None:
    os.makedirs(light.state_dir(), exist_ok=True)
    path = light.state_file(unit)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def update_state(unit: str, **changes: Any) -> dict[str, Any]:
    with _locked(unit, "state"):
        state = light.read_state(unit)
        state.update(changes)
        write_state(unit, state)
        return state


@contextlib.contextmanager
def _locked(unit: str, what: str) -> Any:
    os.makedirs(light.state_dir(), exist_ok=True)
    with open(os.path.join(light.state_dir(), f"{unit}.{what}.lock"), "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _now_stamp() -> str:
    return time.strftime("%a %Y-%m-%d %H:%M:%S UTC", time.gmtime())


# ------------------------------------------------------------------ the supervisor


class Supervisor:
    """Runs one unit's main process, restarts it by policy, stops it on request."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.stop_requested = False
        self.child: subprocess.Popen[bytes] | None = None
        self.starts: list[float] = []

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        import subprocess

        unit = self.unit
        env = service_environment(unit)
        argv = expand(unit.exec_start, env)
        os.makedirs(light.log_dir(), exist_ok=True)
        log = open(light.log_path(unit.name), "ab")  # noqa: SIM115 - handed to the child
        kwargs: dict[str, Any] = {}
        if os.geteuid() == 0 and unit.user:
            kwargs["user"] = unit.user
            kwargs["group"] = unit.group or pwd.getpwnam(unit.user).pw_gid
        try:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=unit.working_directory or "/",
                start_new_session=True,
                close_fds=True,
                **kwargs,
            )
        except (OSError, KeyError, ValueError) as exc:
            log.write(f"lab-systemd: {unit.name}: failed to execute {argv[:1]}: {exc}\n".encode())
            return None
        finally:
            log.close()

    def _on_stop(self, _signum: int, _frame: Any) -> None:
        self.stop_requested = True

    def run(self) -> int:
        name = self.unit.name
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        restarts = int(light.read_state(name).get("NRestarts", 0))
        while True:
            self.starts = [t for t in self.starts if time.monotonic() - t < START_LIMIT_INTERVAL]
            if len(self.starts) >= START_LIMIT_BURST:
                update_state(name, ActiveState="failed", SubState="failed", MainPID=0, Result="start-limit-hit")
                return 0
            self.starts.append(time.monotonic())
            child = self._spawn()
            if child is None:
                update_state(
                    name,
                    ActiveState="failed",
                    SubState="failed",
                    MainPID=0,
                    Result="exit-code",
                    ExecMainStatus=203,
                    ExecMainCode="exited",
                )
                return 0
            self.child = child
            update_state(
                name,
                ActiveState="active",
                SubState="running",
                MainPID=child.pid,
                ExecMainPID=child.pid,
                ExecMainStartTimestamp=_now_stamp(),
                NRestarts=restarts,
                SupervisorPID=os.getpid(),
                Result="success",
            )
            while child.poll() is None and not self.stop_requested:
                time.sleep(0.05)
            if self.stop_requested:
                result = self._stop_child(child)
                code = child.returncode
                update_state(
                    name,
                    ActiveState="failed" if result != "success" else "inactive",
                    SubState="failed" if result != "success" else "dead",
                    MainPID=0,
                    Result=result,
                    ExecMainStatus=abs(code),
                    ExecMainCode="killed" if code < 0 else "exited",
                )
                return 0
            code = child.returncode
            clean = code == 0 or (code < 0 and -code in CLEAN_SIGNALS) or code in self.unit.success_exit_status
            result = "success" if clean else ("signal" if code < 0 else "exit-code")
            restart = self.unit.restart == "always" or (self.unit.restart == "on-failure" and not clean)
            if not restart:
                update_state(
                    name,
                    ActiveState="inactive" if clean else "failed",
                    SubState="dead" if clean else "failed",
                    MainPID=0,
                    Result=result,
                    ExecMainStatus=abs(code),
                    ExecMainCode="killed" if code < 0 else "exited",
                )
                return 0
            restarts += 1
            update_state(
                name,
                ActiveState="activating",
                SubState="auto-restart",
                MainPID=0,
                Result=result,
                ExecMainStatus=abs(code),
                ExecMainCode="killed" if code < 0 else "exited",
                NRestarts=restarts,
            )
            deadline = time.monotonic() + self.unit.restart_sec
            while time.monotonic() < deadline and not self.stop_requested:
                time.sleep(0.05)
            if self.stop_requested:
                update_state(name, ActiveState="inactive", SubState="dead", MainPID=0)
                return 0

    def _stop_child(self, child: subprocess.Popen[bytes]) -> str:
        """ExecStop, then KillSignal to the group, then SIGKILL after TimeoutStopSec."""
        import subprocess

        unit = self.unit
        update_state(unit.name, ActiveState="deactivating", SubState="stop-sigterm")
        deadline = time.monotonic() + unit.timeout_stop
        if unit.exec_stop:
            env = service_environment(unit)
            env["MAINPID"] = str(child.pid)
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                subprocess.run(
                    expand(unit.exec_stop, env),
                    env=env,
                    timeout=max(0.1, unit.timeout_stop),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=False,
                )
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, unit.kill_signal)
                os.killpg(child.pid, signal.SIGCONT)
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if child.poll() is None:
            with contextlib.suppress(OSError), open(light.log_path(unit.name), "a", encoding="utf-8") as log:
                log.write(f"{unit.name}: State 'stop-sigterm' timed out. Killing.\n")  # systemd's words
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return "timeout"
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)  # leftovers in the group, as KillMode=control-group
        return "success"


# ------------------------------------------------------------------ commands


def cmd_start(unit: str) -> int:
    import subprocess

    spec = load_unit(unit)
    if spec is None:
        light.err(f"Failed to start {unit}: Unit {unit} not found.")
        return EXIT_NOT_FOUND
    if not spec.exec_start:
        light.err(f"Failed to start {unit}: Unit {unit} has a bad unit file setting.")
        return 1
    with _locked(unit, "job"):
        state = light.current(unit)
        if state.get("ActiveState") in ("active", "activating") and light.supervisor_alive(state):
            return 0
        update_state(unit, ActiveState="activating", SubState="start", MainPID=0, SupervisorPID=0, NRestarts=0)
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "__supervise", unit],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            env={**os.environ, "LAB_SYSTEMD_ROOT": light.root()},
        )
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            state = light.read_state(unit)
            if state.get("SupervisorPID") == proc.pid or proc.poll() is not None:
                break
            time.sleep(0.02)
        # The supervisor is not waited for: it outlives this command (its own session).
    return 0


def cmd_stop(unit: str) -> int:
    if load_unit(unit) is None and not light.read_state(unit):
        light.err(f"Failed to stop {unit}: Unit {unit} not loaded.")
        return EXIT_NOT_FOUND
    with _locked(unit, "job"):
        state = light.current(unit)
        pid = int(state.get("SupervisorPID") or 0)
        if not light.supervisor_alive(state):
            if state.get("ActiveState") in ("active", "activating", "deactivating"):
                update_state(unit, ActiveState="failed", SubState="failed", MainPID=0)
            return 0
        spec = load_unit(unit)
        timeout = spec.timeout_stop if spec is not None else 90.0
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + (timeout if timeout != float("inf") else 1e9) + 10.0
        while light.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    return 0


def cmd_reload(unit: str) -> int:
    import subprocess

    spec = load_unit(unit)
    if spec is None:
        light.err(f"Failed to reload {unit}: Unit {unit} not found.")
        return EXIT_NOT_FOUND
    state = light.current(unit)
    if state.get("ActiveState") != "active":
        light.err(f"{unit} is not active, cannot reload.")
        return 1
    if not spec.exec_reload:
        light.err(f"Failed to reload {unit}: Job type reload is not applicable for unit {unit}.")
        return 1
    env = service_environment(spec)
    env["MAINPID"] = str(state.get("MainPID", 0))
    try:
        done = subprocess.run(expand(spec.exec_reload, env), env=env, stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        light.err(f"Job for {unit} failed: {exc}")
        return 1
    if done.returncode != 0:
        light.err(f"Job for {unit} failed because the control process exited with error code.")
        return 1
    return 0


def cmd_enable(unit: str, enable: bool) -> int:
    if load_unit(unit) is None:
        light.err(f"Failed to {'enable' if enable else 'disable'} unit: Unit file {unit} does not exist.")
        return 1
    link = light.wants_link(unit)
    if enable and not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(light.unit_path(unit), link)
        light.err(f"Created symlink {link} \u2192 {light.unit_path(unit)}.")
    elif not enable and os.path.lexists(link):
        os.unlink(link)
        light.err(f'Removed "{link}".')
    return 0


def cmd_status(unit: str) -> int:
    props = light.properties(unit)
    if props["LoadState"] == "not-found" and not light.read_state(unit):
        light.err(f"Unit {unit} could not be found.")
        return light.EXIT_NO_UNIT
    active, sub = props["ActiveState"], props["SubState"]
    since = props["ExecMainStartTimestamp"]
    print(f"\u25cf {unit} - {props['Description']}")
    print(f"     Loaded: {props['LoadState']} ({props['FragmentPath']}; {props['UnitFileState']})")
    print(f"     Active: {active} ({sub})" + (f" since {since}" if active == "active" and since else ""))
    if props["MainPID"] != "0":
        print(f"   Main PID: {props['MainPID']}")
    try:
        with open(light.log_path(unit), "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read().decode("utf-8", "replace").splitlines()[-10:]
    except OSError:
        tail = []
    if tail:
        print()
        for line in tail:
            print(line)
    return 0 if active == "active" else light.EXIT_NOT_ACTIVE


def cmd_kill(unit: str, sig: int) -> int:
    state = light.current(unit)
    pid = int(state.get("MainPID") or 0)
    if state.get("ActiveState") != "active" or pid <= 0:
        light.err(f"Failed to kill unit {unit}: No main process to kill")
        return 1
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["__supervise"] and len(argv) == 2:
        spec = load_unit(argv[1])
        if spec is None:
            return 1
        return Supervisor(spec).run()
    args = light.parse_args(argv)
    if args is None:
        return light.EXIT_USAGE
    answered = light.query(args)  # the read verbs (systemctl_light)
    if answered is not None:
        return answered
    now, kill_signal = args.now, args.kill_signal
    command, units = args.words[0], [light.unit_name(u) for u in args.words[1:]]
    if command == "daemon-reload":
        return 0  # units are re-read by every command
    if (
        command
        in (
            "start",
            "stop",
            "restart",
            "try-restart",
            "reload",
            "reload-or-restart",
            "enable",
            "disable",
            "kill",
            "reset-failed",
            "status",
        )
        and not units
    ):
        light.err(f"Too few arguments.\n{light.USAGE}")
        return light.EXIT_USAGE
    rc = 0
    for unit in units:
        if command == "start":
            step = cmd_start(unit)
        elif command == "stop":
            step = cmd_stop(unit)
        elif command in ("restart", "reload-or-restart") or (
            command == "try-restart" and light.current(unit).get("ActiveState") == "active"
        ):
            if command == "reload-or-restart" and light.current(unit).get("ActiveState") == "active":
                step = cmd_reload(unit)
            else:
                step = cmd_stop(unit) or cmd_start(unit)
        elif command == "try-restart":
            step = 0
        elif command == "reload":
            step = cmd_reload(unit)
        elif command in ("enable", "disable"):
            step = cmd_enable(unit, command == "enable")
            if step == 0 and now:
                step = cmd_start(unit) if command == "enable" else cmd_stop(unit)
        elif command == "status":
            step = cmd_status(unit)
        elif command == "kill":
            step = cmd_kill(unit, kill_signal)
        elif command == "reset-failed":
            if light.current(unit).get("ActiveState") == "failed":
                update_state(unit, ActiveState="inactive", SubState="dead", Result="success")
            step = 0
        else:
            light.err(f"Unknown command verb {command}.")
            return light.EXIT_USAGE
        rc = rc or step
    return rc


if __name__ == "__main__":
    if os.path.basename(sys.argv[0]) == "journalctl":
        sys.exit(light.journal_main(sys.argv[1:]))
    sys.exit(main(sys.argv[1:]))
