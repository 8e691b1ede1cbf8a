"""PID 1 of one lab host: private mounts, hostname, then sshd and the enabled units.

Runs as `/usr/bin/python3 hostinit.py SPEC.json` inside fresh mount/UTS/PID namespaces (and the
host's own network namespace). Stdlib only. It refuses to run unless it really is PID 1 of a new
mount namespace, so that it can never remount the real machine. As PID 1 it also reaps orphans,
so that a stopped daemon never lingers as a zombie that looks alive.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

OVERLAID = ("/etc", "/opt", "/usr/local", "/root", "/var", "/home")


class _Stop(Exception):
    pass


def _mount(*args: str) -> None:
    subprocess.run(["/usr/bin/mount", *args], check=True)


def _refuse_unless_isolated(spec: dict[str, Any]) -> None:
    if os.getpid() != 1:
        sys.exit("hostinit: not PID 1 of a new PID namespace; refusing to touch mounts")
    for kind in ("mnt", "uts"):
        if os.readlink(f"/proc/self/ns/{kind}") == spec["launcher_ns"][kind]:
            sys.exit(f"hostinit: {kind} namespace is the launcher's; refusing to touch mounts")


def _setup_mounts(spec: dict[str, Any]) -> None:
    state = spec["state_dir"]
    for target in OVERLAID:
        name = target.strip("/").replace("/", "_")
        upper, work = f"{state}/upper/{name}", f"{state}/work/{name}"
        _mount("-t", "overlay", "overlay", "-o", f"lowerdir={target},upperdir={upper},workdir={work}", target)
    for target, mode in (("/run", "0755"), ("/tmp", "1777"), ("/dev/shm", "1777")):
        _mount("-t", "tmpfs", "-o", f"mode={mode},size=64m", "tmpfs", target)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    # Per-mount flag only (bind remount): the real machine's root stays writable.
    _mount("-o", "remount,bind,ro", "/")


WANTS = "/etc/systemd/system/multi-user.target.wants"


def _start_units(spec: dict[str, Any]) -> None:
    """As systemd at boot: every unit enabled (linked in multi-user.target.wants) is started, so a
    host that reboots comes back running what `systemctl enable` left enabled; the spec's list
    only when the host has no such directory."""
    env = dict(os.environ, PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    units = sorted(os.listdir(WANTS)) if os.path.isdir(WANTS) else spec.get("autostart", [])
    for unit in units:
        subprocess.run(["/usr/local/sbin/systemctl", "start", unit], env=env, check=False)


def main() -> int:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    _refuse_unless_isolated(spec)
    socket.sethostname(spec["hostname"])
    _setup_mounts(spec)
    os.environ.clear()
    os.environ.update(PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME="/root")

    def on_term(signum: int, frame: object) -> None:
        raise _Stop  # PEP 475 would otherwise resume the blocking waitpid

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    log = open("/var/log/sshd.log", "ab")  # noqa: SIM115 - lives as long as the host
    sshd = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"], stdout=log, stderr=log, stdin=subprocess.DEVNULL
    )
    _start_units(spec)
    with open("/run/hostinit.ready", "w") as f:
        f.write(str(sshd.pid))
    try:
        while True:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.2)
                continue
            if pid == sshd.pid:
                break
    except _Stop:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Stop everything in this PID namespace: units first (they may want SIGINT), then the rest.
    os.kill(-1, signal.SIGTERM)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.05)
        except ChildProcessError:
            break
    os.kill(-1, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
