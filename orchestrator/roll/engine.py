"""Execute a plan: stage everywhere in parallel, then roll batches, gate each host, roll back failures.

Every transition is journaled before the next step starts, so a killed run can be resumed.
The core never prints: it emits Events to a callback (the console renders them).
"""

from __future__ import annotations

import hashlib
import shlex
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.load.runspec import RolloutStage
from orchestrator.model import Host, Role
from orchestrator.plan import HostPlan, Plan, ReleasePin
from orchestrator.roll.gates import (
    GatePolicy,
    GateResult,
    GateSample,
    describe,
    overall_timeout_for,
    run_gate,
    standard_checks,
)
from orchestrator.roll.journal import Event, Journal

# Not under /run/lock: that does not survive a reboot, and a reboot mid-run must still be resumable.
LOCK_DIR = "/var/lib/cardano-fleet/run.lock"

Emit = Callable[[Event], None]


@dataclass(frozen=True)
class RolloutSettings:
    gate: GatePolicy = field(default_factory=GatePolicy)


@dataclass
class HostOutcome:
    host: str
    role: str
    status: str = "untouched"  # upgraded | unchanged | rolled_back | failed | skipped | untouched
    detail: str = ""
    batch: int = 0
    downtime: float | None = None  # service stop → gate passed
    gate_seconds: float | None = None
    startup_seconds: float | None = None  # the node's own log: ChainDB opening → socket
    phases: dict[str, float] = field(default_factory=dict)  # seconds per startup phase (its log)


@dataclass
class RolloutResult:
    run_id: str
    outcomes: dict[str, HostOutcome]
    stopped_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.stopped_reason is None and all(o.status in ("upgraded", "unchanged") for o in self.outcomes.values())


class Remote:
    """The few remote operations a rollout needs, each one command on the host's one connection."""

    def __init__(self, fleet: Any, run_id: str) -> None:
        self.fleet = fleet
        self.run_id = run_id

    def sh(self, host: Host, script: str, timeout: float | None = 600) -> Any:
        return self.fleet.run(host, script, sudo=host.user != "root", timeout=timeout)

    # ---- locks
    def lock(self, host: Host) -> str | None:
        """None when taken; otherwise the holder's run id (or the error)."""
        q = shlex.quote
        script = (
            f"mkdir -p {q(LOCK_DIR.rsplit('/', 1)[0])} || exit 1; "
            f"if mkdir {q(LOCK_DIR)} 2>/dev/null; then echo {q(self.run_id)} > {q(LOCK_DIR)}/run_id; echo TAKEN; "
            f"else cat {q(LOCK_DIR)}/run_id 2>/dev/null || echo unknown; fi"
        )
        res = self.sh(host, script, timeout=30)
        if not res.ok:
            return f"error: {res.error or res.stderr.strip()}"
        holder: str = res.stdout.strip()
        return None if holder in ("TAKEN", self.run_id) else holder

    def unlock(self, host: Host) -> None:
        q = shlex.quote
        self.sh(host, f"[ \"$(cat {q(LOCK_DIR)}/run_id 2>/dev/null)\" = {q(self.run_id)} ] && rm -rf {q(LOCK_DIR)}; true",
                timeout=30)  # fmt: skip

    # ---- release staging
    def stage(self, host: Host, release: ReleasePin, local_tarball: bytes | None) -> tuple[bool, str]:
        q = shlex.quote
        rel_dir = f"{host.layout.releases_dir}/{release.version}"
        tmp = f"{host.layout.releases_dir}/.stage-{self.run_id}"
        tarball = f"{tmp}/{release.filename}"
        if local_tarball is not None:
            mk = self.sh(host, f"mkdir -p {q(tmp)}", timeout=30)
            if not mk.ok:
                return False, mk.stderr.strip() or str(mk.error)
            put = self.fleet.put_atomic(host, tarball, local_tarball, mode=0o600)
            if not put.ok:
                self.sh(host, f"rm -rf {q(tmp)}", timeout=30)
                return False, f"upload failed: {put.error}"
            fetch = ":"
        else:
            fetch = (
                f"if command -v curl >/dev/null; then curl -fsSL --retry 2 -o {q(tarball)} {q(release.url)}; "
                f"elif command -v wget >/dev/null; then wget -q -O {q(tarball)} {q(release.url)}; "
                f"else python3 -c 'import sys,urllib.request,shutil; "
                f"shutil.copyfileobj(urllib.request.urlopen(sys.argv[1], timeout=60), open(sys.argv[2], \"wb\"))' "
                f"{q(release.url)} {q(tarball)}; fi"
            )
        check = ":" if release.sha256 is None else (
            f"got=$(sha256sum {q(tarball)} | cut -d' ' -f1); "
            f"[ \"$got\" = {q(release.sha256)} ] || {{ printf 'sha256 mismatch for %s: got %s, pinned %s\\n' "
            f"{q(release.filename)} \"$got\" {q(release.sha256)} >&2; exit 3; }}"
        )  # fmt: skip
        script = "\n".join([
            "set -eu",
            f"if [ -e {q(rel_dir)}/.complete ]; then echo ALREADY; exit 0; fi",
            f"mkdir -p {q(tmp)}",
            f"trap {q('rm -rf ' + q(tmp))} EXIT",  # quoted twice: the trap's text is parsed again at exit
            fetch,
            check,
            f"mkdir {q(tmp)}/x",
            f"tar -xzf {q(tarball)} -C {q(tmp)}/x",
            f"test -x {q(tmp)}/x/bin/cardano-node || test -x {q(tmp)}/x/cardano-node",
            f"touch {q(tmp)}/x/.complete",
            f"rm -rf {q(rel_dir)}",
            f"mv -T {q(tmp)}/x {q(rel_dir)}",
            "echo STAGED",
        ])  # fmt: skip
        res = self.sh(host, script, timeout=900)
        if not res.ok:
            return False, (res.stderr.strip() or res.error or "staging failed").splitlines()[-1]
        return True, res.stdout.strip()

    # ---- backups and writes
    def backup(self, host: Host, paths: Sequence[str]) -> tuple[dict[str, bool], str | None] | str:
        """Copy each file to <file>.bak-<run id> (owner/mode kept); return which existed and the bin link."""
        q = shlex.quote
        lines = ["set -eu"]
        for p in paths:
            b = f"{p}.bak-{self.run_id}"
            # printf, quoted: a path is data, never shell (echo would also expand backslashes)
            lines.append(f"if [ -e {q(p)} ]; then [ -e {q(b)} ] || cp -p {q(p)} {q(b)}; printf 'E %s\\n' {q(p)}; "
                         f"else printf 'N %s\\n' {q(p)}; fi")  # fmt: skip
        lines.append(f"printf 'L %s\\n' \"$(readlink {q(host.layout.bin_dir)} || true)\"")
        res = self.sh(host, "\n".join(lines), timeout=60)
        if not res.ok:
            return res.stderr.strip() or str(res.error)
        existed: dict[str, bool] = {}
        link: str | None = None
        for line in res.stdout.splitlines():
            kind, _, rest = line.partition(" ")
            if kind in ("E", "N"):
                existed[rest] = kind == "E"
            elif kind == "L":
                link = rest or None
        return existed, link

    def switch_link(self, host: Host, version: str) -> Any:
        """Point bin_dir at the release's binaries (8.9.0 layout: bin/; 8.7.3: top level); prints the target."""
        q = shlex.quote
        link = host.layout.bin_dir
        tmp = f"{link}.new-{self.run_id}"
        release = f"{host.layout.releases_dir}/{version}"
        return self.sh(
            host,
            f"set -e; t={q(release + '/bin')}; [ -x \"$t/cardano-node\" ] || t={q(release)}; "
            f"ln -sfn \"$t\" {q(tmp)}; mv -T {q(tmp)} {q(link)}; printf '%s\\n' \"$t\"",
            timeout=30,
        )

    def restore(self, host: Host, existed: dict[str, bool], link: str | None) -> Any:
        q = shlex.quote
        lines = ["set -eu"]
        for p, was in existed.items():
            b = f"{p}.bak-{self.run_id}"
            if was:
                lines.append(f"cp -p {q(b)} {q(p)}.rb-{self.run_id} && mv -f {q(p)}.rb-{self.run_id} {q(p)}")
            else:
                lines.append(f"rm -f {q(p)}")
        if link:
            tmp = f"{host.layout.bin_dir}.rb-{self.run_id}"
            lines.append(f"ln -sfn {q(link)} {q(tmp)} && mv -T {q(tmp)} {q(host.layout.bin_dir)}")
        return self.sh(host, "\n".join(lines), timeout=60)

    def service(self, host: Host, verb: str) -> Any:
        return self.sh(host, f"systemctl {verb} {shlex.quote(host.layout.service_name)}", timeout=300)


def fetch_release(release: ReleasePin, opener: Callable[[str], Any] = urllib.request.urlopen) -> bytes:
    """For `source: push`: the control machine downloads once and checks the pin before any upload."""
    with opener(release.url) as response:
        data: bytes = response.read()
    if release.sha256 and hashlib.sha256(data).hexdigest() != release.sha256:
        raise ValueError(
            f"sha256 mismatch for {release.url}: got {hashlib.sha256(data).hexdigest()}, pinned {release.sha256}"
        )
    return data


class Rollout:
    """One run of a plan against a fleet; `sample` gives gate samples for a host."""

    def __init__(
        self,
        plan: Plan,
        remote: Remote,
        journal: Journal,
        settings: RolloutSettings,
        sample: Callable[[Host], GateSample],
        emit: Emit = lambda _e: None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        relays: Sequence[Host] | None = None,
    ) -> None:
        self.plan = plan
        # Every relay of the inventory counts for min_healthy_relays, also those outside --limit.
        self.relays = list(relays) if relays is not None else [
            hp.host for hp in plan.hosts if hp.host.role is Role.RELAY and hp.error is None
        ]
        self.remote = remote
        self.journal = journal
        self.settings = settings
        self.sample = sample
        self.emit = emit
        self.clock = clock
        self.sleep = sleep
        self.outcomes: dict[str, HostOutcome] = {
            hp.host.name: HostOutcome(hp.host.name, hp.host.role.value, batch=hp.batch) for hp in plan.hosts
        }

    def _record(self, host: str, phase: str, **data: Any) -> None:
        self.emit(self.journal.record(host, phase, **data))

    # ------------------------------------------------------------------ top level
    def execute(self, stages: Sequence[RolloutStage]) -> RolloutResult:
        run_id = self.remote.run_id
        pending = [hp for hp in self.plan.hosts if hp.changed]
        for hp in self.plan.hosts:
            if hp.error:
                self.outcomes[hp.host.name].status = "skipped"
                self.outcomes[hp.host.name].detail = hp.error
            elif not hp.changed:
                self.outcomes[hp.host.name].status = "unchanged"
                self.outcomes[hp.host.name].detail = "; ".join(hp.reasons)
        self._record("*", "run_started", hosts=[hp.host.name for hp in pending])
        result = RolloutResult(run_id, self.outcomes)
        if not pending:
            self._record("*", "run_ended", reason="nothing to do")
            return result
        held = self._lock_all([hp.host for hp in pending])
        if held:
            result.stopped_reason = held
            self._record("*", "run_ended", reason=held)
            return result
        try:
            result.stopped_reason = self._stage_all(pending)
            if result.stopped_reason is None:
                result.stopped_reason = self._roll(stages)
        finally:
            for hp in pending:
                self.remote.unlock(hp.host)
            self._record("*", "run_ended", reason=result.stopped_reason or "completed")
        return result

    def _lock_all(self, hosts: Sequence[Host]) -> str | None:
        holders = self.remote.fleet.map(hosts, self.remote.lock)
        refused = {h: who for h, who in holders.items() if who is not None}
        if not refused:
            return None
        for h in hosts:
            if h.name not in refused:
                self.remote.unlock(h)
        first = next(iter(refused.items()))
        return f"another run holds the lock on {first[0]}: run {first[1]} (hosts: {', '.join(sorted(refused))})"

    def _stage_all(self, pending: Sequence[HostPlan]) -> str | None:
        release = self.plan.release
        to_stage = [hp for hp in pending if hp.stage_release]
        if not to_stage or release is None:
            return None
        tarball = None
        if release.source == "push":
            try:
                tarball = fetch_release(release)
            except (OSError, ValueError) as e:
                self._record("*", "stage_failed", detail=str(e))
                return f"release not pushed: {e}; nothing was changed on any host"
        results = self.remote.fleet.map([hp.host for hp in to_stage],
                                        lambda h: self.remote.stage(h, release, tarball))  # fmt: skip
        failed = {name: why for name, (ok, why) in results.items() if not ok}
        for name, (ok, why) in results.items():
            self._record(name, "staged" if ok else "stage_failed", detail=why)
        if failed:
            for name, why in failed.items():
                self.outcomes[name].status = "failed"
                self.outcomes[name].detail = f"staging failed: {why}"
            return "staging failed on " + ", ".join(sorted(failed)) + ": nothing running was changed"
        return None

    def _healthy_relays_outside(self, batch: Sequence[str]) -> list[str]:
        """Fresh samples of every relay not in the batch: up, and within the gate's slot lag."""
        relays = [h for h in self.relays if h.name not in batch]
        samples = self.remote.fleet.map(relays, self.sample)
        limit = self.settings.gate.max_slot_lag
        return [n for n, s in samples.items() if s.reachable and s.active and s.slot_lag is not None
                and s.slot_lag <= limit]  # fmt: skip

    def _roll(self, stages: Sequence[RolloutStage]) -> str | None:
        failures_so_far = 0
        for stage in stages:
            in_scope = [n for b in stage.batches for n in b if self.plan.host(n).changed]
            failures = 0
            for batch in stage.batches:
                todo = [n for n in batch if self.plan.host(n).changed]
                if not todo:
                    continue
                producers = [n for n in todo if self.plan.host(n).host.role is Role.BLOCK_PRODUCER]
                if producers and failures_so_far:
                    return f"{', '.join(producers)} not touched: a relay failed its upgrade in this run"
                need = max(stage.min_healthy_relays, 1 if producers else 0)
                healthy = self._healthy_relays_outside(todo)
                if len(healthy) < need:
                    why = (f"paused before {', '.join(todo)}: {len(healthy)} healthy relay(s) outside the batch "
                           f"({', '.join(healthy) or 'none'}), min_healthy_relays is {need}")  # fmt: skip
                    self._record("*", "paused", reason=why)
                    return why
                results = self.remote.fleet.map([self.plan.host(n).host for n in todo], self._upgrade_host)
                failed_now = sum(1 for ok in results.values() if not ok)
                failures += failed_now
                failures_so_far += failed_now
                if failures and failures * 100.0 / len(in_scope) > stage.max_fail_percentage:
                    return (f"stopped in stage {stage.name}: {failures} of {len(in_scope)} host(s) failed "
                            f"(max_fail_percentage {stage.max_fail_percentage:g})")  # fmt: skip
        return None

    # ------------------------------------------------------------------ one host
    def _upgrade_host(self, host: Host) -> bool:
        hp = self.plan.host(host.name)
        out = self.outcomes[host.name]
        paths = [c.path for c in hp.files]
        backed = self.remote.backup(host, paths)
        if isinstance(backed, str):
            out.status, out.detail = "failed", f"backup failed: {backed}"
            self._record(host.name, "failed", reason=out.detail)
            return False
        existed, old_link = backed
        self._record(host.name, "backed_up", existed=existed, old_link=old_link, old_version=hp.current_version)
        stop_at = self.clock()
        try:
            # Genesis before config (its hash must match when the node reads the config), one round trip.
            ordered = sorted(hp.files, key=lambda c: c.path == host.layout.config_path)
            puts = self.remote.fleet.put_atomic_many(host, [(c.path, c.content, None) for c in ordered])
            failed_put = next((p for p in puts if not p.ok), None)
            if failed_put is not None:
                raise _Failed(f"write {failed_put.path}: {failed_put.error}")
            self._record(host.name, "files_written", files=paths)
            if hp.switch_binary and hp.target_version:
                res = self.remote.switch_link(host, hp.target_version)
                if not res.ok:
                    raise _Failed(f"switch binary: {res.stderr.strip() or res.error}")
                self._record(host.name, "binary_switched", target=res.stdout.strip())
            verb = "reload" if hp.action == "reload" else "restart"
            stop_at = self.clock()
            restarted_wall = time.time()
            res = self.remote.service(host, verb)
            if not res.ok:
                raise _Failed(f"systemctl {verb}: {res.stderr.strip() or res.error}")
            self._record(host.name, "restarted" if verb == "restart" else "reloaded")
            gate = self._gate(host, hp.target_version or hp.current_version or "", p2p=True)
            if not gate.ok:
                raise _Failed(f"gate: {gate.reason}")
            out.downtime = self.clock() - stop_at if verb == "restart" else 0.0
            out.gate_seconds = gate.duration
            start = gate.startup
            if verb == "restart" and start is not None and start.done and start.started_at >= restarted_wall - 5:
                out.startup_seconds = start.duration
                out.phases = start.phase_durations()
            what = f"{hp.current_version} → {hp.target_version}" if hp.switch_binary else "files rewritten"
            out.status = "upgraded"
            out.detail = f"{what}, {len(hp.files)} file(s), {verb}; in sync after {gate.duration:.0f}s"
            self._record(host.name, "gate_passed", seconds=round(gate.duration, 2))
            self._record(host.name, "done")
            return True
        except _Failed as failure:
            self._record(host.name, "failed", reason=str(failure))
            self._rollback(host, existed, old_link, hp.current_version, str(failure))
            return False

    def _gate(self, host: Host, version: str, p2p: bool) -> GateResult:
        relays = None
        if host.role is Role.BLOCK_PRODUCER and p2p:
            relays = [h.host.peer_address for h in self.plan.hosts if h.host.role is Role.RELAY]
        policy = self.settings.gate
        checks = standard_checks(version, policy, p2p=p2p, producer_relays=relays)
        cap = policy.overall_timeout
        if cap is None:  # auto: from this host's last measured start
            cap = overall_timeout_for(self.plan.host(host.name).last_start_seconds)
        seen: dict[str, Any] = {"phase": None}

        def on_sample(s: GateSample, reason: str | None) -> None:
            state = describe(s, policy.max_slot_lag, time.time())
            start = s.starting
            phase = str(start.phase) if start is not None else state.split(" (")[0]
            step = None if start is None or start.percent is None else f"{start.phase}:{int(start.percent // 10)}"
            self.emit(Event(time.time(), host.name, "gate_sample",
                            {"lag": s.slot_lag, "waiting_for": reason, "state": state, "progress_step": step}))  # fmt: skip
            if phase != seen["phase"]:
                seen["phase"] = phase
                percent = None if start is None else start.percent
                self._record(host.name, "node_phase", now=phase, percent=percent, detail=state)

        return run_gate(lambda: self.sample(host), checks, policy, self.clock, self.sleep, on_sample, cap)

    def _rollback(self, host: Host, existed: dict[str, bool], old_link: str | None, old_version: str | None,
                  why: str) -> None:  # fmt: skip
        out = self.outcomes[host.name]
        self._record(host.name, "rolling_back", reason=why)
        res = self.remote.restore(host, existed, old_link)
        if res.ok:
            res = self.remote.service(host, "restart")
        gate = self._gate(host, old_version or "", p2p=False) if res.ok else None
        if gate is not None and gate.ok:
            out.status, out.detail = "rolled_back", f"{why}; restored byte-for-byte and back in sync"
            self._record(host.name, "rolled_back")
        else:
            detail = gate.reason if gate is not None else (res.stderr.strip() or str(res.error))
            out.status, out.detail = "failed", f"{why}; ROLLBACK INCOMPLETE: {detail}"
            self._record(host.name, "rollback_failed", reason=detail)


class _Failed(Exception):
    pass


def outcomes_as_json(result: RolloutResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "ok": result.ok,
        "stopped_reason": result.stopped_reason,
        "hosts": [vars(o) for o in result.outcomes.values()],
    }
