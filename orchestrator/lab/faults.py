"""`cardano-fleet lab fault`: switch a fault on for one lab host, or clear them.

Two kinds. Node faults are switches in /etc/cardano-lab/faults.json that the simulated node reads
(simnode.load_faults: at its start, or when a stop comes). Host faults act on the host itself, as
the fault would on a real machine:
- `drop_ssh --seconds N`: every SSH connection to the host is cut (its sshd sessions killed, as a
  network blip or a stateful firewall's reset does) and new ones are refused for N seconds; the
  node keeps running.
- `reboot --seconds N`: the host goes down as a machine does (every process stopped: units get
  SIGTERM, then SIGKILL), stays down N seconds, and boots from the same disks, starting its
  enabled units; returns once sshd answers again.
- `clock_skew --seconds N`: the host's clock, as `date` shows it (what the probe reads), runs N
  seconds ahead (negative: behind). The node's tip is unaffected, as a real node's is: its chain
  comes from its peers. `clear` puts the clock back.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports FAULTS for its --help: the lab's machinery only when a fault is set
    from orchestrator.lab.state import LabState

FAULTS_FILE = "/etc/cardano-lab/faults.json"
CLOCK_OFFSET_FILE = "/etc/cardano-lab/clock_offset"
DATE_WRAPPER = "/usr/local/bin/date"  # first in root's PATH on a lab host (before /usr/bin)
NODE_FAULTS = ("crash_at_start", "never_sync", "slow_start", "ignore_stop", "replay_stalls", "kes_low", "dies_after",
               "forging_update_error",  # a SIGHUP with the credentials present fails (lab/forging.py)
               "converter_fails")  # the release's snapshot-converter fails (lab/converter_standin.py)
HOST_FAULTS = ("drop_ssh", "clock_skew", "reboot")
FAULTS = NODE_FAULTS + HOST_FAULTS

_DATE = f"""#!/bin/sh
# cardano-fleet lab fault clock_skew: this host's clock runs $(cat {CLOCK_OFFSET_FILE}) s off.
off=$(cat {CLOCK_OFFSET_FILE} 2>/dev/null || echo 0)
case " $* " in *" -d"*|*" --date"*|*" -s"*|*" --set"*|*" -r"*|*" --reference"*) exec /usr/bin/date "$@";; esac
exec /usr/bin/date -d "@$(( $(/usr/bin/date +%s) + off ))" "$@"
"""


def _run(state: LabState, host: str, command: str) -> subprocess.CompletedProcess[str]:
    from orchestrator.lab.hosts import host_exec
    from orchestrator.lab.state import LabError

    done = host_exec(state, host, command)
    if done.returncode != 0:
        raise LabError(f"fault on {host} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


def set_fault(state: LabState, host: str, fault: str, version: str | None = None, seconds: float = 30.0,
              percent: float = 37.0, periods: int = 1) -> str:  # fmt: skip
    """Switch `fault` on for `host` (or "clear" every fault); returns what was done. Raises LabError."""
    if fault == "drop_ssh":
        return drop_ssh(state, host, seconds)
    if fault == "clock_skew":
        return skew_clock(state, host, int(seconds))
    if fault == "reboot":
        from orchestrator.lab.hosts import reboot_host

        took = reboot_host(state, host, seconds)
        return f"{host}: rebooted (down {seconds:g} s; unreachable {took:.1f} s in all)"
    read = _run(state, host, f"cat {FAULTS_FILE} 2>/dev/null || echo '{{}}'")
    faults = json.loads(read.stdout or "{}")
    if fault == "clear":
        faults = {}
        _run(state, host, f"rm -f {DATE_WRAPPER} {CLOCK_OFFSET_FILE}")
    elif fault == "replay_stalls":
        faults[fault] = {"version": version, "percent": percent}
    elif fault == "kes_low":
        faults[fault] = {"version": version, "periods": periods}
    else:
        faults[fault] = {"version": version, "seconds": seconds}
    text = json.dumps(faults, indent=2)
    tmp = f"{FAULTS_FILE}.tmp"
    _run(state, host, f"printf %s {shlex.quote(text)} > {tmp} && mv {tmp} {FAULTS_FILE}")
    return f"{host}: faults = {json.dumps(faults)}"


def drop_ssh(state: LabState, host: str, seconds: float) -> str:
    """Cut every SSH connection to `host` now and refuse new ones for `seconds`; returns at once.

    sshd re-execs on SIGHUP (same PID) to listen on loopback only, the per-connection sshd processes
    are killed (the client sees its connection closed), and a detached timer puts the address back.
    """
    script = f"""
set -e
listen=$(sed -n 's/^ListenAddress //p' /etc/ssh/sshd_config)
sed -i 's/^ListenAddress .*/ListenAddress 127.0.0.1:22/' /etc/ssh/sshd_config
main=$(cat /run/sshd.pid)
kill -HUP "$main"
for p in $(pgrep -x sshd); do [ "$p" = "$main" ] || kill -9 "$p" 2>/dev/null || true; done
setsid sh -c "sleep {seconds:g}; sed -i \\"s/^ListenAddress .*/ListenAddress $listen/\\" /etc/ssh/sshd_config; \\
  kill -HUP \\$(cat /run/sshd.pid)" </dev/null >/dev/null 2>&1 &
"""
    _run(state, host, script)
    return f"{host}: SSH connections dropped; new ones refused for {seconds:g} s"


def skew_clock(state: LabState, host: str, seconds: int) -> str:
    """`date` on the host shows the real time + `seconds` from now on (until `clear`)."""
    _run(state, host, f"printf '%s\\n' {seconds} > {CLOCK_OFFSET_FILE} && printf %s {shlex.quote(_DATE)} > "
                      f"{DATE_WRAPPER} && chmod 0755 {DATE_WRAPPER}")  # fmt: skip
    return f"{host}: clock runs {seconds:+d} s off"
