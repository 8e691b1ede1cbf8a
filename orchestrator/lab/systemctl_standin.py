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

if TYPE_CHECKING:  # imported where used: `is-active`/`show` (the facts probe) never start a process
    import subprocess

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
START_LIMIT_BURST = 5
START_LIMIT_INTERVAL = 10.0
CLEAN_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE)
EXIT_USAGE = 1
EXIT_NOT_ACTIVE = 3
EXIT_NO_UNIT = 4  # `status` of a unit that does not exist
EXIT_NOT_FOUND = 5  # `start` of a unit that does not exist


# ------------------------------------------------------------------ paths


def root() -> str:
    return os.environ.get("LAB_SYSTEMD_ROOT", "/") or "/"


def _under(*parts: str) -> str:
    return os.path.join(root(), *parts)


def unit_dir() -> str:
    return _under("etc", "systemd", "system")


def state_dir() -> str:
    return _under("run", "lab-systemd")


def log_dir() -> str:
    return _under("var", "log", "lab-systemd")


def unit_name(name: str) -> str:
    return name if "." in name else f"{name}.service"


def unit_path(unit: str) -> str:
    return os.path.join(unit_dir(), unit)


def wants_link(unit: str) -> str:
    return os.path.join(unit_dir(), "multi-user.target.wants", unit)


def log_path(unit: str) -> str:
    """/var/log/lab-systemd/<unit>.log, e.g. cnode.service.log."""
    return os.path.join(log_dir(), f"{unit}.log")


def _state_file(unit: str) -> str:
    return os.path.join(state_dir(), f"{unit}.json")


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


def parse_timespan(text: str) -> float:
    """systemd time spans: "60", "90s", "1min 30s", "500ms", "infinity"."""
    text = text.strip()
    if text == "infinity":
        return float("inf")
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "us": 1e-6, "": 1}
    total = 0.0
    for number, unit in re.findall(r"([\d.]+)\s*([a-z]*)", text):
        total += float(number) * units.get(unit, 1)
    return total


def parse_signal(text: str) -> int:
    name = text.strip().upper()
    if name.isdigit():
        return int(name)
    if not name.startswith("SIG"):
        name = "SIG" + name
    return int(getattr(signal, name, signal.SIGTERM))


def _logical_lines(text: str) -> list[str]:
    """Join backslash-continued lines; drop comments."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def _exec_words(value: str) -> list[str]:
    """ExecStart value: strip the special prefixes (-@:+!) and split like systemd (no shell)."""
    value = value.strip()
    while value and value[0] in "-@:+!":
        value = value[1:]
    return shlex.split(value)


def parse_unit(name: str, text: str) -> Unit:
    unit = Unit(name=name)
    section = ""
    for line in _logical_lines(text):
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
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
            unit.kill_signal = parse_signal(value)
        elif key in ("TimeoutStopSec", "TimeoutSec"):
            unit.timeout_stop = parse_timespan(value)
        elif key == "Restart":
            unit.restart = value
        elif key == "RestartSec":
            unit.restart_sec = parse_timespan(value)
        elif key == "User":
            unit.user = value
        elif key == "Group":
            unit.group = value
        elif key == "SuccessExitStatus":
            for word in value.split():
                unit.success_exit_status.add(int(word) if word.isdigit() else 128 + parse_signal(word))
    return unit


def load_unit(unit: str) -> Unit | None:
    try:
        with open(unit_path(unit), encoding="utf-8") as handle:
            return parse_unit(unit, handle.read())
    except OSError:
        return None


def _read_env_file(path: str) -> dict[str, str]:
    optional = path.startswith("-")
    path = path.lstrip("-")
    env: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in _logical_lines(handle.read()):
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
        with open(_under("etc", "systemd", "system.conf"), encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return env
    for line in _logical_lines(text):
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


def read_state(unit: str) -> dict[str, Any]:
    try:
        with open(_state_file(unit), encoding="utf-8") as handle:
            data = json.load(handle)
            return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write_state(unit: str, state: dict[str, Any]) -> None:
    os.makedirs(state_dir(), exist_ok=True)
    path = _state_file(unit)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def update_state(unit: str, **changes: Any) -> dict[str, Any]:
    with _locked(unit, "state"):
        state = read_state(unit)
        state.update(changes)
        write_state(unit, state)
        return state


@contextlib.contextmanager
def _locked(unit: str, what: str) -> Any:
    os.makedirs(state_dir(), exist_ok=True)
    with open(os.path.join(state_dir(), f"{unit}.{what}.lock"), "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _supervisor_alive(state: dict[str, Any]) -> bool:
    pid = int(state.get("SupervisorPID") or 0)
    if not _alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"__supervise" in handle.read()
    except OSError:
        return True


def current(unit: str) -> dict[str, Any]:
    """The unit's state, with a dead supervisor's leftovers turned into 'failed'."""
    state = read_state(unit)
    active = state.get("ActiveState", "inactive")
    if active in ("active", "activating", "deactivating") and not _supervisor_alive(state):
        state.update(ActiveState="failed", SubState="failed", MainPID=0, Result="signal")
    return state


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
        os.makedirs(log_dir(), exist_ok=True)
        log = open(log_path(unit.name), "ab")  # noqa: SIM115 - handed to the child
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
        restarts = int(read_state(name).get("NRestarts", 0))
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
            with contextlib.suppress(OSError), open(log_path(unit.name), "a", encoding="utf-8") as log:
                log.write(f"{unit.name}: State 'stop-sigterm' timed out. Killing.\n")  # systemd's words
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return "timeout"
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)  # leftovers in the group, as KillMode=control-group
        return "success"


# ------------------------------------------------------------------ commands


def _print(text: str, quiet: bool = False) -> None:
    if not quiet:
        print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cmd_start(unit: str) -> int:
    import subprocess

    spec = load_unit(unit)
    if spec is None:
        _err(f"Failed to start {unit}: Unit {unit} not found.")
        return EXIT_NOT_FOUND
    if not spec.exec_start:
        _err(f"Failed to start {unit}: Unit {unit} has a bad unit file setting.")
        return 1
    with _locked(unit, "job"):
        state = current(unit)
        if state.get("ActiveState") in ("active", "activating") and _supervisor_alive(state):
            return 0
        update_state(unit, ActiveState="activating", SubState="start", MainPID=0, SupervisorPID=0, NRestarts=0)
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "__supervise", unit],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            env={**os.environ, "LAB_SYSTEMD_ROOT": root()},
        )
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            state = read_state(unit)
            if state.get("SupervisorPID") == proc.pid or proc.poll() is not None:
                break
            time.sleep(0.02)
        # The supervisor is not waited for: it outlives this command (its own session).
    return 0


def cmd_stop(unit: str) -> int:
    if load_unit(unit) is None and not read_state(unit):
        _err(f"Failed to stop {unit}: Unit {unit} not loaded.")
        return EXIT_NOT_FOUND
    with _locked(unit, "job"):
        state = current(unit)
        pid = int(state.get("SupervisorPID") or 0)
        if not _supervisor_alive(state):
            if state.get("ActiveState") in ("active", "activating", "deactivating"):
                update_state(unit, ActiveState="failed", SubState="failed", MainPID=0)
            return 0
        spec = load_unit(unit)
        timeout = spec.timeout_stop if spec is not None else 90.0
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + (timeout if timeout != float("inf") else 1e9) + 10.0
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    return 0


def cmd_reload(unit: str) -> int:
    import subprocess

    spec = load_unit(unit)
    if spec is None:
        _err(f"Failed to reload {unit}: Unit {unit} not found.")
        return EXIT_NOT_FOUND
    state = current(unit)
    if state.get("ActiveState") != "active":
        _err(f"{unit} is not active, cannot reload.")
        return 1
    if not spec.exec_reload:
        _err(f"Failed to reload {unit}: Job type reload is not applicable for unit {unit}.")
        return 1
    env = service_environment(spec)
    env["MAINPID"] = str(state.get("MainPID", 0))
    try:
        done = subprocess.run(expand(spec.exec_reload, env), env=env, stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        _err(f"Job for {unit} failed: {exc}")
        return 1
    if done.returncode != 0:
        _err(f"Job for {unit} failed because the control process exited with error code.")
        return 1
    return 0


def is_enabled(unit: str) -> bool:
    return os.path.lexists(wants_link(unit))


def cmd_enable(unit: str, enable: bool) -> int:
    if load_unit(unit) is None:
        _err(f"Failed to {'enable' if enable else 'disable'} unit: Unit file {unit} does not exist.")
        return 1
    link = wants_link(unit)
    if enable and not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(unit_path(unit), link)
        _err(f"Created symlink {link} \u2192 {unit_path(unit)}.")
    elif not enable and os.path.lexists(link):
        os.unlink(link)
        _err(f'Removed "{link}".')
    return 0


def properties(unit: str) -> dict[str, str]:
    state = current(unit)
    spec = load_unit(unit)
    stop_usec = "infinity"
    if spec is not None and spec.timeout_stop != float("inf"):
        stop_usec = f"{spec.timeout_stop:g}s"
    return {
        "Id": unit,
        "Description": spec.description if spec else "",
        "LoadState": "loaded" if spec else "not-found",
        "ActiveState": str(state.get("ActiveState", "inactive")),
        "SubState": str(state.get("SubState", "dead")),
        "Result": str(state.get("Result", "success")),
        "MainPID": str(state.get("MainPID", 0)),
        "ExecMainPID": str(state.get("ExecMainPID", 0)),
        "ExecMainStartTimestamp": str(state.get("ExecMainStartTimestamp", "")),
        "ExecMainStatus": str(state.get("ExecMainStatus", 0)),
        "ExecMainCode": str(state.get("ExecMainCode", "")),
        "NRestarts": str(state.get("NRestarts", 0)),
        "UnitFileState": ("enabled" if is_enabled(unit) else "disabled") if spec else "",
        "FragmentPath": unit_path(unit) if spec else "",
        "KillSignal": str(spec.kill_signal if spec else int(signal.SIGTERM)),
        "TimeoutStopUSec": stop_usec,
        "User": (spec.user or "") if spec else "",
    }


def cmd_status(unit: str) -> int:
    props = properties(unit)
    if props["LoadState"] == "not-found" and not read_state(unit):
        _err(f"Unit {unit} could not be found.")
        return EXIT_NO_UNIT
    active, sub = props["ActiveState"], props["SubState"]
    since = props["ExecMainStartTimestamp"]
    print(f"\u25cf {unit} - {props['Description']}")
    print(f"     Loaded: {props['LoadState']} ({props['FragmentPath']}; {props['UnitFileState']})")
    print(f"     Active: {active} ({sub})" + (f" since {since}" if active == "active" and since else ""))
    if props["MainPID"] != "0":
        print(f"   Main PID: {props['MainPID']}")
    try:
        with open(log_path(unit), "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read().decode("utf-8", "replace").splitlines()[-10:]
    except OSError:
        tail = []
    if tail:
        print()
        for line in tail:
            print(line)
    return 0 if active == "active" else EXIT_NOT_ACTIVE


def cmd_show(units: list[str], props_wanted: list[str], value_only: bool) -> int:
    for index, unit in enumerate(units):
        props = properties(unit)
        names = props_wanted or list(props)
        if index:
            print()
        for name in names:
            value = props.get(name, "")
            print(value if value_only else f"{name}={value}")
    return 0


def cmd_kill(unit: str, sig: int) -> int:
    state = current(unit)
    pid = int(state.get("MainPID") or 0)
    if state.get("ActiveState") != "active" or pid <= 0:
        _err(f"Failed to kill unit {unit}: No main process to kill")
        return 1
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    return 0


USAGE = (
    "usage: systemctl [--quiet] [--value] [-p PROP,...] [-s SIGNAL] COMMAND [UNIT...]\n"
    "commands: start stop restart try-restart reload reload-or-restart is-active is-failed is-enabled\n"
    "          enable [--now] disable [--now] status show kill reset-failed daemon-reload"
)


def main(argv: list[str]) -> int:
    if argv[:1] == ["__supervise"] and len(argv) == 2:
        spec = load_unit(argv[1])
        if spec is None:
            return 1
        return Supervisor(spec).run()
    quiet = False
    value_only = False
    now = False
    props: list[str] = []
    kill_signal: int = signal.SIGTERM
    words: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-q", "--quiet"):
            quiet = True
        elif arg == "--value":
            value_only = True
        elif arg == "--now":
            now = True
        elif arg in ("--no-pager", "--no-block", "--system", "--full", "-l", "--no-ask-password"):
            pass
        elif arg in ("-p", "--property", "-s", "--signal", "-n", "--lines"):
            if i + 1 >= len(argv):
                _err(f"systemctl: option '{arg}' requires an argument")
                return EXIT_USAGE
            if arg in ("-p", "--property"):
                props += [p for p in argv[i + 1].split(",") if p]
            elif arg in ("-s", "--signal"):
                kill_signal = parse_signal(argv[i + 1])
            i += 1
        elif arg.startswith("--property="):
            props += [p for p in arg.split("=", 1)[1].split(",") if p]
        elif arg.startswith("--signal="):
            kill_signal = parse_signal(arg.split("=", 1)[1])
        elif arg.startswith("-") and arg != "-":
            _err(f"systemctl: unrecognized option '{arg}'")
            return EXIT_USAGE
        else:
            words.append(arg)
        i += 1
    if not words:
        _err(USAGE)
        return EXIT_USAGE
    command, units = words[0], [unit_name(u) for u in words[1:]]
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
            "is-enabled",
        )
        and not units
    ):
        _err(f"Too few arguments.\n{USAGE}")
        return EXIT_USAGE
    rc = 0
    if command == "is-active" or command == "is-failed":
        for unit in units:
            active = str(current(unit).get("ActiveState", "inactive"))
            _print(active, quiet)
            if (command == "is-active" and active != "active") or (command == "is-failed" and active != "failed"):
                rc = EXIT_NOT_ACTIVE if command == "is-active" else 1
        return rc
    if command == "is-enabled":
        for unit in units:
            if load_unit(unit) is None:
                _err(f"Failed to get unit file state for {unit}: No such file or directory")
                rc = 1
                continue
            enabled = is_enabled(unit)
            _print("enabled" if enabled else "disabled", quiet)
            rc = rc or (0 if enabled else 1)
        return rc
    if command == "show":
        return cmd_show(units, props, value_only)
    for unit in units:
        if command == "start":
            step = cmd_start(unit)
        elif command == "stop":
            step = cmd_stop(unit)
        elif command in ("restart", "reload-or-restart") or (
            command == "try-restart" and current(unit).get("ActiveState") == "active"
        ):
            if command == "reload-or-restart" and current(unit).get("ActiveState") == "active":
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
            if current(unit).get("ActiveState") == "failed":
                update_state(unit, ActiveState="inactive", SubState="dead", Result="success")
            step = 0
        else:
            _err(f"Unknown command verb {command}.")
            return EXIT_USAGE
        rc = rc or step
    return rc


# ------------------------------------------------------------------ journalctl


JOURNAL_USAGE = "usage: journalctl -u UNIT [-o cat] [-n LINES] [-a] [--no-pager] [-q]"


def format_bytes(size: int) -> str:
    """systemd's FORMAT_BYTES: `123B`, then one decimal and a binary prefix (`1.2K`, `3.4M`)."""
    if size < 1024:
        return f"{size}B"
    value = float(size)
    for prefix in "KMGTPE":
        value /= 1024
        if value < 1024 or prefix == "E":
            return f"{value:.1f}{prefix}"
    return f"{size}B"  # unreachable


def shown_message(line: str, show_all: bool) -> str:
    """What journalctl prints for a message: a message with characters that are not printable (the
    ESC of a coloured log line) is stored as binary and shown as `[N blob data]` unless `--all`/`-a`
    (journalctl(1), --all: "Show all fields in full, even if they include unprintable characters")."""
    if show_all or all(ch == "\t" or ch >= " " and ch != "\x7f" for ch in line):
        return line
    return f"[{format_bytes(len(line.encode('utf-8', errors='replace')))} blob data]"


def journal_main(argv: list[str]) -> int:
    """`journalctl -u UNIT [-n N] [-o cat]`: the unit's stdout and stderr, oldest first, as one
    journal keeps them across restarts. The lab keeps message text only, so every output mode
    prints what `-o cat` prints (no per-line metadata)."""
    units: list[str] = []
    lines: int | None = None
    show_all = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        short = arg[:2] in ("-u", "-n", "-o") and not arg.startswith("--")
        if name in ("-u", "--unit", "-n", "--lines", "-o", "--output") or short:
            name = arg[:2] if short else name
            if eq:
                value = inline
            elif short and len(arg) > 2:
                value = arg[2:]
            elif i + 1 < len(argv):
                value = argv[i + 1]
                i += 1
            else:
                _err(f"journalctl: option '{arg}' requires an argument")
                return EXIT_USAGE
            if name in ("-u", "--unit"):
                units.append(unit_name(value))
            elif name in ("-n", "--lines"):
                if value == "all":
                    lines = None
                elif value.isdigit():
                    lines = int(value)
                else:
                    _err(f"journalctl: failed to parse lines '{value}'")
                    return EXIT_USAGE
        elif arg in ("-a", "--all"):
            show_all = True
        elif arg in ("--no-pager", "-q", "--quiet", "--no-hostname", "-e", "--pager-end"):
            pass
        else:
            _err(f"journalctl: unsupported option '{arg}' (lab stand-in)\n{JOURNAL_USAGE}")
            return EXIT_USAGE
        i += 1
    if not units:
        _err(f"journalctl: the lab keeps per-unit journals only\n{JOURNAL_USAGE}")
        return EXIT_USAGE
    out: list[str] = []
    for unit in units:
        try:
            with open(log_path(unit), encoding="utf-8", errors="replace") as handle:
                out += handle.read().splitlines()
        except FileNotFoundError:
            continue
    if lines is not None:
        out = out[-lines:] if lines else []
    out = [shown_message(line, show_all) for line in out]
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    else:
        _print("-- No entries --")
    return 0


if __name__ == "__main__":
    if os.path.basename(sys.argv[0]) == "journalctl":
        sys.exit(journal_main(sys.argv[1:]))
    sys.exit(main(sys.argv[1:]))
