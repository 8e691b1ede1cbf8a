"""The handover's operations over SSH (roll/handover.py HandoverRemote): each one command on the host's
one connection (ssh/transport.Fleet). None of them opens a credential file: the command line is read
from /proc, the files are tested with `test -e` (stat) and renamed with `mv -T` within their own
directory (one rename(2)), and the SIGHUP goes to the unit's MainPID.

Samples: the node's Prometheus page (the facts probe's own command, facts/sections.py MetricsSection)
for `forging_enabled`, the leadership-check counter (`Forge.about_to_lead`, cardano-node
Tracers/Consensus.hs L1612: `Forge_about_to_lead_counter` with suffixes, without) and the tip; and
the unit's journal for `BlockForgingUpdateError` lines (Error: logged by the shipped config; a node
whose log goes to a file, legacy FileSK scribes, is not read here: its errors show only as a proof
that does not arrive).
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence

from orchestrator.cardano import health
from orchestrator.cardano.forging import DISABLED_SUFFIX, ForgingSample, forging_metric, leadership_checks
from orchestrator.facts.sections import MetricsSection
from orchestrator.model import Host
from orchestrator.roll.remote import Done
from orchestrator.ssh.exec import CommandResult
from orchestrator.ssh.transport import Fleet

_MARK = "--- cardano-fleet handover journal ---"
_JOURNAL_LINES = 50000  # the facts probe's window (facts/sections.py): hours of a producer's log


def _main_pid(host: Host) -> str:
    unit = shlex.quote(host.layout.service_name)
    return f'p=$(systemctl show -p MainPID --value {unit} 2>/dev/null); [ "${{p:-0}}" -gt 0 ] 2>/dev/null || ' \
           '{ echo "the node is not running (no MainPID)" >&2; exit 3; }'  # fmt: skip


def rename_script(paths: Sequence[str], present: bool) -> str:
    """Check every file first (each under exactly one of its two names), then rename the ones not yet
    as wanted: a path under neither name or both is an error and nothing is renamed."""
    q = shlex.quote
    checks, moves = [], []
    for path in paths:
        on, off = q(path), q(path + DISABLED_SUFFIX)
        src, dst = (off, on) if present else (on, off)
        checks.append(f'if [ -e {on} ] && [ -e {off} ]; then echo "both {path} and its {DISABLED_SUFFIX} name exist" >&2; '
                      f'exit 2; fi; if [ ! -e {on} ] && [ ! -e {off} ]; then echo "{path}: absent under both names" >&2; '
                      "exit 2; fi")  # fmt: skip
        moves.append(f"if [ -e {src} ]; then mv -T {src} {dst} || exit 1; fi")
    return "\n".join(["set -u", *checks, *moves])


class SshHandoverRemote:
    """HandoverRemote over SSH. `clock`: the machine's monotonic clock (a sample's `at`); `wall`: unix
    seconds, for the slot lag."""

    def __init__(self, fleet: Fleet, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.fleet = fleet
        self.clock = clock
        self.wall = wall

    def _sh(self, host: Host, script: str, timeout: float = 60) -> CommandResult:
        return self.fleet.run(host, script, sudo=host.user != "root", timeout=timeout)

    @staticmethod
    def _done(res: CommandResult) -> Done:
        if res.ok:
            return Done(True, res.stdout.strip())
        return Done(False, res.stderr.strip() or str(res.error or f"exit {res.exit_code}"))

    def command_line(self, host: Host) -> tuple[str, ...] | str:
        res = self._sh(host, _main_pid(host) + "\ntr '\\000' '\\n' < /proc/$p/cmdline")
        if not res.ok:
            return self._done(res).detail
        return tuple(res.stdout.split("\n")[:-1] if res.stdout.endswith("\n") else res.stdout.split("\n"))

    def sighup(self, host: Host) -> Done:
        return self._done(self._sh(host, _main_pid(host) + '\nkill -HUP "$p"'))

    def set_credentials(self, host: Host, paths: Sequence[str], present: bool) -> Done:
        return self._done(self._sh(host, rename_script(paths, present)))

    def sample(self, host: Host) -> ForgingSample:
        unit = shlex.quote(host.layout.service_name)
        script = "\n".join([
            "{", MetricsSection().command(host), "} 2>/dev/null", f"echo {shlex.quote(_MARK)}",
            f"journalctl -u {unit} -o cat --no-pager -a -n {_JOURNAL_LINES} 2>/dev/null | grep -c BlockForgingUpdateError",
            "true",
        ])  # fmt: skip
        res = self._sh(host, script, timeout=30)
        at = self.clock()
        if not res.connected or res.exit_code is None:
            return ForgingSample(at, reachable=False, error=res.error or res.stderr.strip() or "no answer")
        page, _, tail = res.stdout.partition(_MARK)
        metrics = health.parse_prometheus(page)
        slot = health.metric_value_int(metrics, health.Metric.SLOT)
        errors = tail.strip().splitlines()[-1] if tail.strip() else ""
        return ForgingSample(
            at, True, forging_metric(metrics), leadership_checks(metrics),
            int(errors) if errors.isdigit() else None,
            None if slot is None else health.slot_lag(slot, host.network, self.wall()),
            None if metrics else "no metrics from the node",
        )  # fmt: skip
