"""cardano-fleet benchmark (issues 9 and 18): how close to the SSH floor is a fleet-wide read, how far
ahead of Ansible, at which cost per host on the control machine, near and far; what a rolling
upgrade costs beyond the node's own restart and sync.

Runs against lab fleets (real sshd hosts in namespaces on 198.18.N.0/24, needs root) that it boots
and tears down itself, one fleet per size (N-1 relays + 1 block producer), on subnets 241..254
(pytest's labs use 40..240). Every fleet gets the lab's delay relay (`lab up --rtt-ms`), and each
measurement is taken at 0 ms (the direct inventory) and at the relay's distance (default 80 ms), the
same hosts, the same strict known_hosts. Medians of several runs with min–max:

  a) floor    one parallel paramiko connect + `true` on every host, at that distance
  b) facts    orchestrator.facts.probe.gather_facts over one Fleet (forks = N), in this process:
              wall time, connections and round trips per host, control-side CPU (getrusage)
  c) CLI      `cardano-fleet facts --json` and `cardano-fleet audit --format json` (forks = N) as
              the operator runs them (a subprocess): wall, CPU and peak RSS (os.wait4)
  d) ansible  an equivalent read-only playbook (bench/ansible/read-state.yml), forks = N,
              pipelining and ControlPersist on, gather_facts off, strict host keys; wall and CPU
  e) probe    on the smallest fleet: the probe's sections one after another vs at once, and the
              same with a section that sleeps 1 s (a stand-in for a slow `query tip`)
  f) rollout  `cardano-fleet run ... --yes --report FILE` on 3+1 and 8+1 fleets (--rollouts)

Prints a table and writes bench/results/latest.json. `make bench` runs it; `make test` never does.
The pure helpers at the top (statistics, formatting, targets) are unit-tested in
tests/unit/test_bench_stats.py; everything that touches the lab is below them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
ANSIBLE_VENV = BENCH / ".venv-ansible"
PLAYBOOK = BENCH / "ansible" / "read-state.yml"
UPGRADE_PLAYBOOK = REPO / "playbooks" / "upgrade-8.9.0.yml"
SUBNETS = tuple(range(241, 255))  # default lab fleets: 198.18.241-254.0/24 (pytest's labs use 40..240); --subnets
CHILD_TIMEOUT = {"ansible": 900.0}  # seconds before a hung ansible-playbook is killed (--ansible-timeout)
SLOW_SECTION_SECONDS = 1.0  # the stand-in for a slow `cardano-cli query tip` on a real mainnet host

# Targets of issue 18 (issue 9's rollout target kept).
ANSIBLE_SPEEDUP = {0.0: 10.0, 80.0: 20.0}  # audit vs Ansible at 16 and 32 hosts, by distance (ms)
SPEEDUP_SIZES = (16, 32)
CPU_PER_HOST = 0.015  # control-side CPU seconds per host
PEAK_RSS_MIB = 150.0  # at 128 hosts
PEAK_RSS_SIZE = 128
FLAT_TOLERANCE = 1.10  # "flat": the per-host cost of a larger fleet within 10% of the smallest's
OVERHEAD_PER_HOST = 1.0  # rolling upgrade: < 1 s of orchestrator overhead per host


# ------------------------------------------------------------------ pure helpers (unit-tested)


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    runs: int

    def as_json(self) -> dict[str, float | int]:
        return {
            "median": round(self.median, 4),
            "min": round(self.low, 4),
            "max": round(self.high, 4),
            "runs": self.runs,
        }


def summarize(samples: Sequence[float]) -> Summary:
    """Median with min–max of a non-empty list of samples."""
    if not samples:
        raise ValueError("no samples")
    return Summary(statistics.median(samples), min(samples), max(samples), len(samples))


def fmt_seconds(value: float | None) -> str:
    """Short human form: 12 ms, 0.45 s, 12.3 s; '-' when missing."""
    if value is None:
        return "-"
    if value < 0.1:
        return f"{value * 1000:.0f} ms"
    if value < 10:
        return f"{value:.2f} s"
    return f"{value:.1f} s"


def fmt_summary(s: Summary | None) -> str:
    """'0.45 s (0.41–0.52)'; a single run shows no range."""
    if s is None:
        return "-"
    if s.runs == 1 or s.low == s.high:
        return fmt_seconds(s.median)
    return f"{fmt_seconds(s.median)} ({fmt_seconds(s.low).split()[0]}–{fmt_seconds(s.high)})"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def overhead_per_host(total: float, node_seconds: Sequence[float | None], hosts: int) -> float:
    """(total wall time - time the nodes themselves spent restarting and syncing) / hosts."""
    if hosts <= 0:
        raise ValueError("hosts must be positive")
    return (total - sum(s for s in node_seconds if s is not None)) / hosts


def node_critical_path(rows: Sequence[dict[str, Any]], key: str = "downtime") -> float:
    """Seconds the rollout had to wait for nodes: hosts of one batch restart together, so each batch
    costs its slowest host's `key` (stop → back in sync), and batches run one after another."""
    per_batch: dict[Any, float] = {}
    for row in rows:
        value = row.get(key)
        if value is not None:
            batch = row.get("batch", 0)
            per_batch[batch] = max(per_batch.get(batch, 0.0), float(value))
    return sum(per_batch.values())


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        out = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=False))]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    ok: bool | None  # None: not measured


def per_host(value: float | None, hosts: int) -> float | None:
    """A fleet-wide figure divided by the fleet's size (None stays None)."""
    if hosts <= 0:
        raise ValueError("hosts must be positive")
    return None if value is None else value / hosts


def marginal_per_host(points: Sequence[tuple[int, float]]) -> float | None:
    """Least-squares slope of (hosts, value): what one more host costs, fixed start-up cost excluded."""
    if len({n for n, _ in points}) < 2:
        return None
    mean_n = statistics.fmean(n for n, _ in points)
    mean_v = statistics.fmean(v for _, v in points)
    num = sum((n - mean_n) * (v - mean_v) for n, v in points)
    den = sum((n - mean_n) ** 2 for n, _ in points)
    return num / den


def flat_or_falling(per_host_by_size: Mapping[int, float], tolerance: float = FLAT_TOLERANCE) -> bool | None:
    """True when no larger fleet costs more per host than the smallest one (within `tolerance`)."""
    if len(per_host_by_size) < 2:
        return None
    sizes = sorted(per_host_by_size)
    base = per_host_by_size[sizes[0]]
    return all(per_host_by_size[n] <= base * tolerance for n in sizes[1:])


def check_targets(
    speedups: Mapping[tuple[int, float], float | None],
    cpu_per_host: Mapping[int, float],
    peak_rss_mib: Mapping[int, float],
    audit_per_host: Mapping[float, Mapping[int, float]],
    overheads: Sequence[float],
) -> list[Verdict]:
    """Issue 18's targets (and issue 9's rollout overhead), each met, missed or not measured.

    speedups: (hosts, rtt ms) → Ansible wall / audit wall; cpu_per_host: hosts → control-side CPU
    seconds per host; peak_rss_mib: hosts → peak RSS of the audit; audit_per_host: rtt → hosts →
    audit wall seconds per host; overheads: rollout overhead seconds per host.
    """
    verdicts: list[Verdict] = []
    for rtt, want in sorted(ANSIBLE_SPEEDUP.items()):
        got = {n: speedups.get((n, rtt)) for n in SPEEDUP_SIZES}
        known = [v for v in got.values() if v is not None]
        verdicts.append(
            Verdict(
                f"audit >= {want:g}x faster than Ansible at {rtt:g} ms, 16 and 32 hosts",
                ", ".join(f"{n}: {fmt_ratio(v)}" for n, v in got.items()),
                None if not known else all(v >= want for v in known) and len(known) == len(got),
            )
        )
    worst_cpu = max(cpu_per_host.values()) if cpu_per_host else None
    verdicts.append(
        Verdict(
            f"control-side CPU <= {CPU_PER_HOST * 1000:g} ms per host",
            "-" if worst_cpu is None else f"{worst_cpu * 1000:.1f} ms (worst size)",
            None if worst_cpu is None else worst_cpu <= CPU_PER_HOST,
        )
    )
    rss = peak_rss_mib.get(PEAK_RSS_SIZE)
    verdicts.append(
        Verdict(
            f"peak memory <= {PEAK_RSS_MIB:g} MB at {PEAK_RSS_SIZE} hosts",
            "-" if rss is None else f"{rss:.0f} MiB",
            None if rss is None else rss <= PEAK_RSS_MIB,
        )
    )
    trends = {rtt: flat_or_falling(by_size) for rtt, by_size in sorted(audit_per_host.items())}
    shown = "; ".join(
        f"{rtt:g} ms: " + ", ".join(f"{n}: {v * 1000:.0f} ms" for n, v in sorted(by_size.items()))
        for rtt, by_size in sorted(audit_per_host.items())
    )
    known_trends = [t for t in trends.values() if t is not None]
    verdicts.append(
        Verdict(
            "audit wall time per host flat or falling with fleet size",
            shown or "-",
            None if not known_trends else all(known_trends),
        )
    )
    worst = max(overheads) if overheads else None
    verdicts.append(
        Verdict(
            f"rolling-upgrade overhead < {OVERHEAD_PER_HOST:g} s per host",
            "-" if worst is None else f"{worst:.2f} s/host (worst)",
            None if worst is None else worst < OVERHEAD_PER_HOST,
        )
    )
    return verdicts


def parse_subnets(text: str) -> tuple[int, ...]:
    """'4,5' or '241-254' (or both, comma separated) → the third octets of 198.18.N.0/24 to use."""
    out: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            low, _, high = part.partition("-")
            first, last = int(low), int(high or low)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: subnets are numbers or ranges like 241-254") from None
        if not 0 <= first <= last <= 254:
            raise argparse.ArgumentTypeError(f"{part!r}: subnets are 0..254")
        out.extend(n for n in range(first, last + 1) if n not in out)
    if not out:
        raise argparse.ArgumentTypeError("no subnets given")
    return tuple(out)


def parse_sizes(text: str) -> list[int]:
    sizes = [int(x) for x in text.split(",") if x.strip()]
    if not sizes or any(n < 2 or n > 188 for n in sizes):
        raise argparse.ArgumentTypeError("sizes are 2..188 hosts, comma separated")
    return sorted(set(sizes))


# ------------------------------------------------------------------ lab plumbing


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def subnet_lease(subnets: Sequence[int], used: set[int]) -> Iterator[int]:
    """A subnet of `subnets` that no lab (ours or anyone's) uses now, held until the block ends."""
    for subnet in subnets:
        if subnet not in used and not Path(f"/sys/class/net/cfleet{subnet}").exists():
            used.add(subnet)
            try:
                yield subnet
            finally:
                used.discard(subnet)
            return
    raise RuntimeError(f"no free lab subnet in {','.join(map(str, subnets))}: `cardano-fleet lab down` old labs")


@contextlib.contextmanager
def lab_fleet(workdir: Path, hosts: int, subnet: int, rtt_ms: float = 0.0, node_version: str = "8.7.3") -> Iterator[Any]:
    """hosts-1 relays + 1 block producer (behind the delay relay when rtt_ms > 0), booted, nodes
    serving; always torn down."""
    from orchestrator.lab.hosts import lab_down, lab_up

    lab_dir = workdir / f"lab{subnet}"
    # The benchmark measures the orchestrator, not node starts: the short start the tests use.
    state = lab_up(
        lab_dir, relays=hosts - 1, producers=1, subnet=subnet, node_version=node_version, rtt_ms=rtt_ms,
        startup_seconds=2.0,
    )
    try:
        wait_nodes_ready(state, timeout=60 + hosts)
        yield state
    finally:
        lab_down(lab_dir)


def wait_nodes_ready(state: Any, timeout: float = 60) -> None:
    """Every node's socket exists (so that a probe sees a running, answering node)."""
    from orchestrator.cardano.layouts import LAYOUTS
    from orchestrator.lab.hosts import host_exec

    deadline = time.monotonic() + timeout
    for h in state.hosts:
        sock = LAYOUTS[h.layout].socket_path
        while host_exec(state, h.name, f"test -S {sock}").returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{h.name}: node socket {sock} did not appear within {timeout:.0f}s")
            time.sleep(0.2)


def inventories(state: Any) -> dict[float, Path]:
    """Distance (ms) → the inventory that reaches the fleet at that distance."""
    if state.rtt_ms > 0:
        return {0.0: state.direct_inventory_path, float(state.rtt_ms): state.inventory_path}
    return {0.0: state.inventory_path}


def load_hosts(inventory: Path) -> list[Any]:
    from orchestrator.load.inventory import load_inventory

    return list(load_inventory(str(inventory)).hosts)


def cpu_seconds(usage: Any) -> float:
    return float(usage.ru_utime + usage.ru_stime)


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CARDANO_FLEET_LAB_ONLY"] = "1"
    env.pop("SSH_AUTH_SOCK", None)
    return env


def cardano_fleet_bin() -> str:
    exe = Path(sys.executable).with_name("cardano-fleet")
    return str(exe) if exe.exists() else "cardano-fleet"


# ------------------------------------------------------------------ (a) the floor, (e) the probe's shape


def floor_once(hosts: Sequence[Any], commands: Mapping[str, str] | None = None) -> float:
    """One parallel paramiko connect + one command per host (`true`, or the given per-host command),
    strict known_hosts, at the inventory's distance; wall seconds."""
    import paramiko

    def one(h: Any) -> None:
        client = paramiko.SSHClient()
        client.load_host_keys(h.known_hosts_file)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(h.address, h.port, h.user, key_filename=h.key_file, look_for_keys=False, allow_agent=False,
                           timeout=30)  # fmt: skip
            command = commands[h.name] if commands else "true"
            _in, out, _err = client.exec_command(command)
            out.read()
            if out.channel.recv_exit_status() != 0:
                raise RuntimeError(f"{h.name}: {command[:40]} failed")
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        started = time.perf_counter()
        list(pool.map(one, hosts))
        return time.perf_counter() - started


def probe_scripts(hosts: Sequence[Any], *, concurrent: bool, slow_tip: bool) -> dict[str, str]:
    """host → the facts probe, its sections at once or one after another; with `slow_tip`, the tip
    section first sleeps SLOW_SECTION_SECONDS (a real mainnet `query tip` can take that long)."""
    from orchestrator.facts.probe import records_for
    from orchestrator.facts.record import FactSection, Output, Parsed
    from orchestrator.facts.script import build_script

    class SlowTip(FactSection):
        name = "tip"

        def __init__(self, real: FactSection) -> None:
            self.real = real

        def command(self, host: Any) -> str:
            return f"sleep {SLOW_SECTION_SECONDS:g}; {self.real.command(host)}"

        def parse(self, out: Output) -> Parsed:
            return self.real.parse(out)

    out = {}
    for h in hosts:
        records = records_for(h)
        if slow_tip:
            records = [SlowTip(r) if r.name == "tip" else r for r in records]
        out[h.name] = build_script(h, records, concurrent=concurrent)
    return out


def probe_shape(hosts: Sequence[Any], runs: int) -> dict[str, Any]:
    """floor + the probe, sections one after another vs at once, with and without a slow tip."""
    out: dict[str, Any] = {}
    for slow in (False, True):
        for concurrent in (False, True):
            scripts = probe_scripts(hosts, concurrent=concurrent, slow_tip=slow)
            key = f"{'concurrent' if concurrent else 'serial'}{'_slow_tip' if slow else ''}"
            out[key] = summarize([floor_once(hosts, scripts) for _ in range(runs)]).as_json()
    return out


# ------------------------------------------------------------------ (b) facts in-process


def facts_once(hosts: Sequence[Any]) -> dict[str, Any]:
    """gather_facts over one Fleet: wall, control-side CPU (this process's getrusage), SSH counts."""
    import resource

    from orchestrator.facts.probe import gather_facts
    from orchestrator.ssh.transport import Fleet

    cpu0 = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF))
    started = time.perf_counter()
    with Fleet(hosts, forks=max(len(hosts), 1)) as fleet:
        facts = gather_facts(fleet, hosts)
        stats = fleet.all_stats()
    wall = time.perf_counter() - started
    cpu = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)) - cpu0
    errors = {n: f.error or ", ".join(sorted(f.probe_errors)) for n, f in facts.items() if f.error or f.probe_errors}
    return {
        "wall": wall,
        "cpu": cpu,
        "connections_per_host": sorted({s.connections_opened for s in stats.values()}),
        "round_trips_per_host": sorted({s.commands_run for s in stats.values()}),
        "errors": errors,
    }


# ------------------------------------------------------------------ (c) the CLI


@dataclass(frozen=True)
class Child:
    wall: float
    exit_code: int
    maxrss_kib: int
    cpu: float  # user + system seconds of the child and every descendant it waited for
    output_tail: str  # the end of stdout, then of stderr


def run_child(argv: list[str], env: Mapping[str, str] | None = None, cwd: Path = REPO, timeout: float = 900) -> Child:
    """Run one child process to its end: wall, exit code, peak RSS and CPU from os.wait4. After
    `timeout` seconds its whole process group is killed (seen: ansible-playbook with 128 forks hung,
    its workers blocked writing results)."""
    import threading

    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env=dict(env) if env is not None else cli_env(), cwd=cwd, start_new_session=True,
    )  # fmt: skip
    killer = threading.Timer(timeout, lambda: _kill_group(proc.pid))
    killer.start()
    try:
        out, err = _drain(proc)
    finally:
        killer.cancel()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Child(wall, proc.returncode, int(usage.ru_maxrss), cpu_seconds(usage), out[-65536:] + err[-1500:])


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _drain(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Read stdout and stderr to EOF without reaping the child (wait4 must see it)."""
    assert proc.stdout is not None and proc.stderr is not None
    with ThreadPoolExecutor(max_workers=2) as pool:
        fut_out = pool.submit(proc.stdout.read)
        fut_err = pool.submit(proc.stderr.read)
        return fut_out.result().decode(errors="replace"), fut_err.result().decode(errors="replace")


def audit_argv(inventory: Path, forks: int) -> list[str]:
    return [cardano_fleet_bin(), "audit", "-i", str(inventory), "--format", "json", "--forks", str(forks)]


def facts_argv(inventory: Path, forks: int) -> list[str]:
    return [cardano_fleet_bin(), "facts", "-i", str(inventory), "--json", "--forks", str(forks)]


# ------------------------------------------------------------------ (d) Ansible


def ensure_ansible() -> Path | None:
    """bench/.venv-ansible with ansible-core (created once; gitignored)."""
    playbook = ANSIBLE_VENV / "bin" / "ansible-playbook"
    if playbook.exists():
        return playbook
    log("creating bench/.venv-ansible with ansible-core (once)")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True)
        subprocess.run(
            [str(ANSIBLE_VENV / "bin" / "pip"), "install", "-q", "ansible-core"],
            check=True, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"cannot install ansible-core ({exc}); the Ansible comparison is skipped")
        return None
    return playbook if playbook.exists() else None


def ansible_env(known_hosts: str, home: Path, control: Path, forks: int) -> dict[str, str]:
    """Ansible kept to itself: config, ANSIBLE_HOME and control sockets in temp dirs."""
    ssh_args = (
        "-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=yes "
        f"-o UserKnownHostsFile={known_hosts} -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes "
        "-o IdentitiesOnly=yes"
    )
    cfg = home / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "SSH_AUTH_SOCK"}
    env.update(
        ANSIBLE_CONFIG=str(cfg),
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_FORKS=str(forks),
        ANSIBLE_PIPELINING="True",
        ANSIBLE_HOST_KEY_CHECKING="True",
        ANSIBLE_SSH_ARGS=ssh_args,
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(control),
        ANSIBLE_SSH_CONTROL_PATH=f"{control}/%%C",  # %-formatted by Ansible: ssh sees %C
        ANSIBLE_GATHERING="explicit",
        ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_TIMEOUT="30",  # connect timeout (default 10 s): as patient as cardano-fleet's 10+10+15 s
    )
    return env


def close_masters(hosts: Sequence[Any], env: Mapping[str, str]) -> None:
    """ControlPersist masters outlive ansible-playbook: close each one (ssh -O exit)."""
    control = env["ANSIBLE_SSH_CONTROL_PATH"].replace("%%", "%")
    for h in hosts:
        subprocess.run(
            ["ssh", "-F", "/dev/null", "-o", f"ControlPath={control}", "-p", str(h.port), "-O", "exit",
             f"{h.user}@{h.address}"],
            capture_output=True, check=False, timeout=10,
        )  # fmt: skip


def ansible_once(playbook_bin: Path, inventory: Path, hosts: Sequence[Any], home: Path) -> tuple[Child, str | None]:
    """One cold ansible-playbook run (no master left from a previous run); (child, error)."""
    control = Path(tempfile.mkdtemp(prefix="cfb-", dir="/tmp"))  # short: unix socket paths max 108 bytes
    env = ansible_env(str(hosts[0].known_hosts_file), home, control, forks=len(hosts))
    try:
        child = run_child(
            [str(playbook_bin), "-i", str(inventory), str(PLAYBOOK)], env=env, cwd=home, timeout=CHILD_TIMEOUT["ansible"]
        )
    finally:
        close_masters(hosts, env)
        shutil.rmtree(control, ignore_errors=True)
    lines = child.output_tail.splitlines()
    if child.exit_code == -signal.SIGKILL:
        return child, f"killed after {child.wall:.0f} s without finishing (--ansible-timeout)"
    if child.exit_code != 0:
        why = [line for line in lines if "UNREACHABLE" in line or "FAILED" in line][:3]
        return child, "\n".join(why) or child.output_tail
    recap = [line for line in lines if " ok=" in line and "failed=0" in line and "unreachable=0" in line]
    return child, None if len(recap) == len(hosts) else f"{len(recap)} hosts ok of {len(hosts)}: {child.output_tail[-800:]}"


# ------------------------------------------------------------------ (e) rolling upgrade


def rollout_once(state: Any, workdir: Path) -> dict[str, Any]:
    report = workdir / f"report-{state.subnet}.json"
    argv = [
        cardano_fleet_bin(),
        "run",
        "-i",
        str(state.inventory_path),
        str(UPGRADE_PLAYBOOK),
        "--yes",
        "--report",
        str(report),
    ]
    wall_start = time.time()
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=cli_env(), cwd=workdir, timeout=1800)
    total = time.perf_counter() - started
    result: dict[str, Any] = {"total": total, "exit_code": proc.returncode, "hosts": len(load_hosts(state.inventory_path))}
    if not report.exists():
        result["error"] = (proc.stdout + proc.stderr)[-1500:]
        return result
    data = json.loads(report.read_text())
    rows = data.get("hosts", [])
    downtime = [r.get("downtime") for r in rows]
    gates = [r.get("gate_seconds") for r in rows]
    critical = node_critical_path(rows)
    result.update(
        ok=data.get("ok"),
        statuses={r.get("host"): r.get("status") for r in rows},
        batches=sorted({r.get("batch", 0) for r in rows}),
        sum_downtime=sum(d for d in downtime if d is not None),
        sum_gate=sum(g for g in gates if g is not None),
        node_critical_path=critical,
        # Batches overlap hosts' restarts: subtract the batches' critical path, not the plain sum.
        overhead_per_host=overhead_per_host(total, [critical], len(rows) or 1),
        overhead_per_host_gate_only=overhead_per_host(total, [node_critical_path(rows, "gate_seconds")], len(rows) or 1),
    )
    result["timeline"] = journal_timeline(workdir, wall_start)
    if proc.returncode != 0:
        result["error"] = (proc.stdout + proc.stderr)[-1500:]
    return result


def journal_timeline(workdir: Path, wall_start: float) -> list[tuple[float, str, str]]:
    """(seconds since the command started, host, phase) of the newest run journal under workdir:
    where the time between the nodes' restarts goes."""
    journals = sorted(workdir.rglob("journal.jsonl"), key=lambda p: p.stat().st_mtime)
    if not journals:
        return []
    events = []
    for line in journals[-1].read_text().splitlines():
        with contextlib.suppress(ValueError, KeyError):
            raw = json.loads(line)
            events.append((round(float(raw["at"]) - wall_start, 2), str(raw["host"]), str(raw["phase"])))
    return events


# ------------------------------------------------------------------ main


def measure_distance(
    inventory: Path, runs: int, ansible_bin: Path | None, ansible_runs: int, workdir: Path
) -> dict[str, Any]:
    """Every figure of one fleet at one distance."""
    hosts = load_hosts(inventory)
    n = len(hosts)
    out: dict[str, Any] = {}
    facts_once(hosts)  # warm-up: the nodes' first tip, page cache, imports, the relay's first connections
    out["floor"] = summarize([floor_once(hosts) for _ in range(runs)]).as_json()
    fact_runs = [facts_once(hosts) for _ in range(runs)]
    out["facts"] = summarize([r["wall"] for r in fact_runs]).as_json()
    out["facts_cpu_per_host"] = summarize([r["cpu"] / n for r in fact_runs]).as_json()
    out["connections_per_host"] = sorted({c for r in fact_runs for c in r["connections_per_host"]})
    out["round_trips_per_host"] = sorted({c for r in fact_runs for c in r["round_trips_per_host"]})
    out["facts_errors"] = fact_runs[-1]["errors"]
    for name, argv, ok in (("facts_cli", facts_argv(inventory, n), (0,)), ("audit", audit_argv(inventory, n), (0, 1))):
        children = [run_child(argv) for _ in range(runs)]
        out[name] = summarize([c.wall for c in children]).as_json()
        out[f"{name}_cpu"] = summarize([c.cpu for c in children]).as_json()
        out[f"{name}_maxrss_kib"] = max(c.maxrss_kib for c in children)
        out[f"{name}_exit"] = sorted({c.exit_code for c in children})
        if any(c.exit_code not in ok for c in children):
            out[f"{name}_error"] = children[-1].output_tail[-600:]
    if ansible_bin is not None and ansible_runs > 0:
        home = Path(tempfile.mkdtemp(prefix="ansible-home-", dir=workdir))
        walls: list[float] = []
        cpus: list[float] = []
        for _ in range(ansible_runs):
            child, error = ansible_once(ansible_bin, inventory, hosts, home)
            if error:
                out["ansible_error"] = error
                break
            walls.append(child.wall)
            cpus.append(child.cpu)
        if walls:
            out["ansible"] = summarize(walls).as_json()
            out["ansible_cpu"] = summarize(cpus).as_json()
    return out


def measure_size(
    n: int, subnet: int, rtt_ms: float, runs: int, workdir: Path, ansible_bin: Path | None, ansible_runs: int,
    shape: bool,
) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {"hosts": n, "distances": []}
    with lab_fleet(workdir, n, subnet, rtt_ms=rtt_ms) as state:
        for rtt, inventory in inventories(state).items():
            log(f"  {n} hosts at {rtt:g} ms")
            try:
                out["distances"].append(
                    {"rtt_ms": rtt, **measure_distance(inventory, runs, ansible_bin, ansible_runs, workdir)}
                )
            except Exception as exc:  # noqa: BLE001 - one distance failing keeps the other's figures
                log(f"  {n} hosts at {rtt:g} ms failed: {exc}")
                out.setdefault("failed_distances", []).append({"rtt_ms": rtt, "error": str(exc)[-1000:]})
        if shape:
            log(f"  {n} hosts: the probe's sections one after another vs at once (0 ms)")
            try:
                out["probe_shape"] = probe_shape(load_hosts(inventories(state)[0.0]), runs)
            except Exception as exc:  # noqa: BLE001 - reported; the size's other figures stay
                log(f"  {n} hosts: probe shape failed: {exc}")
                out["probe_shape_error"] = str(exc)[-1000:]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from orchestrator.lab.readiness import wait_in_sync

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=parse_sizes, default=[16, 32, 64, 128], help="fleet sizes (default 16,32,64,128)")
    parser.add_argument("--rtt-ms", type=float, default=80.0, help="the far distance, besides 0 ms (default 80; 0: near only)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument("--ansible-runs", type=int, default=None, help="runs of the Ansible playbook (default: --runs)")
    parser.add_argument("--rollouts", default="3,8", help="relays of the rolling-upgrade fleets, +1 BP (default 3,8)")
    parser.add_argument("--no-ansible", action="store_true", help="skip the Ansible comparison")
    parser.add_argument("--ansible-timeout", type=float, default=CHILD_TIMEOUT["ansible"],
                        help="seconds before a hung ansible-playbook run is killed and reported (default 900)")
    parser.add_argument("--no-rollout", action="store_true", help="skip the rolling upgrades")
    parser.add_argument("--subnets", type=parse_subnets, default=SUBNETS,
                        help="lab subnets to use, one fleet at a time: e.g. 4,5 or 241-254 (default 241-254)")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench: the lab needs root (namespaces, a bridge): run `sudo make bench`", file=sys.stderr)
        return 1
    os.environ["CARDANO_FLEET_LAB_ONLY"] = "1"  # the transport refuses anything but the lab's addresses
    CHILD_TIMEOUT["ansible"] = args.ansible_timeout
    ansible_bin = None if args.no_ansible else ensure_ansible()
    ansible_runs = args.runs if args.ansible_runs is None else args.ansible_runs
    workdir = Path(tempfile.mkdtemp(prefix="cardano-fleet-bench-"))
    used: set[int] = set()
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0]},
        "runs": args.runs,
        "ansible_runs": ansible_runs,
        "rtt_ms": args.rtt_ms,
        "sizes": [],
        "rollouts": [],
    }
    try:
        for i, n in enumerate(args.sizes):
            log(f"fleet of {n} hosts ({n - 1} relays + 1 BP) at 0{f' and {args.rtt_ms:g}' if args.rtt_ms else ''} ms")
            try:
                with subnet_lease(args.subnets, used) as subnet:
                    results["sizes"].append(measure_size(
                        n, subnet, args.rtt_ms, args.runs, workdir, ansible_bin, ansible_runs, shape=i == 0
                    ))  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - a fleet that cannot boot is reported, the other sizes stay
                log(f"fleet of {n} hosts failed: {exc}")
                results.setdefault("failed_sizes", []).append({"hosts": n, "error": str(exc)[-1000:]})
            save(args.out, results)  # what was measured survives a later failure
        if not args.no_rollout:
            for relays in (int(x) for x in args.rollouts.split(",") if x.strip()):
                log(f"rolling upgrade of {relays}+1")
                with subnet_lease(args.subnets, used) as subnet, lab_fleet(workdir, relays + 1, subnet) as state:
                    wait_in_sync(state.inventory_path, timeout=90)  # a rollout refuses an unsynced fleet
                    results["rollouts"].append({"relays": relays, "producers": 1, **rollout_once(state, workdir)})
    finally:
        results["machine"]["load_after"] = os.getloadavg()[0]
        shutil.rmtree(workdir, ignore_errors=True)
    print(render(results))
    save(args.out, results)
    log(f"wrote {args.out}")
    return 0


def save(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(tmp, path)


def _summary(d: dict[str, Any] | None) -> Summary | None:
    return None if not d else Summary(d["median"], d["min"], d["max"], d["runs"])


def _median(d: dict[str, Any] | None) -> float | None:
    return None if not d else float(d["median"])


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def render(results: dict[str, Any]) -> str:
    """The console report: one row per (size, distance), the probe's shape, rollouts, targets."""
    headers = ["hosts", "rtt", "SSH floor", "facts (in-process)", "conn/trips", "CPU/host", "facts CLI", "audit CLI",
               "audit CPU/host", "audit RSS", "ansible", "ansible CPU/host", "ansible/audit", "audit/floor"]  # fmt: skip
    rows = []
    speedups: dict[tuple[int, float], float | None] = {}
    cpu_per_host: dict[int, float] = {}
    rss: dict[int, float] = {}
    audit_per_host: dict[float, dict[int, float]] = {}
    cli_cpu_points: dict[float, list[tuple[int, float]]] = {}
    for s in results["sizes"]:
        n = s["hosts"]
        for d in s["distances"]:
            rtt = float(d["rtt_ms"])
            audit, ansible = _median(d.get("audit")), _median(d.get("ansible"))
            speedups[(n, rtt)] = ratio(ansible, audit)
            cpu = _median(d.get("facts_cpu_per_host"))
            if cpu is not None:
                cpu_per_host[n] = max(cpu, cpu_per_host.get(n, 0.0))
            if "audit_maxrss_kib" in d:
                rss[n] = max(d["audit_maxrss_kib"] / 1024, rss.get(n, 0.0))
            if audit is not None:
                audit_per_host.setdefault(rtt, {})[n] = audit / n
            audit_cpu = _median(d.get("audit_cpu"))
            if audit_cpu is not None:
                cli_cpu_points.setdefault(rtt, []).append((n, audit_cpu))
            ansible_cpu = _median(d.get("ansible_cpu"))
            rows.append([
                str(n), f"{rtt:g} ms", fmt_summary(_summary(d["floor"])), fmt_summary(_summary(d["facts"])),
                f"{','.join(map(str, d['connections_per_host']))}/{','.join(map(str, d['round_trips_per_host']))}",
                fmt_ms(cpu), fmt_summary(_summary(d.get("facts_cli"))), fmt_summary(_summary(d.get("audit"))),
                fmt_ms(per_host(audit_cpu, n)), f"{d['audit_maxrss_kib'] / 1024:.0f} MiB" if "audit_maxrss_kib" in d else "-",
                fmt_summary(_summary(d.get("ansible"))) if d.get("ansible") else ("failed" if "ansible_error" in d else "-"),
                fmt_ms(per_host(ansible_cpu, n)), fmt_ratio(speedups[(n, rtt)]),
                fmt_ratio(ratio(audit, _median(d["floor"]))),
            ])  # fmt: skip
    parts = [format_table(headers, rows)]
    for failed in results.get("failed_sizes", []):
        parts.append(f"  {failed['hosts']} hosts: not measured: {failed['error'][-300:]}")
    for s in results["sizes"]:
        for failed in s.get("failed_distances", []):
            parts.append(f"  {s['hosts']} hosts at {failed['rtt_ms']:g} ms: not measured: {failed['error'][-300:]}")
    for rtt, points in sorted(cli_cpu_points.items()):
        slope = marginal_per_host(points)
        if slope is not None:
            parts.append(f"  audit CLI CPU at {rtt:g} ms: {fmt_ms(slope)} per extra host (least squares over sizes)")
    for s in results["sizes"]:
        for d in s["distances"]:
            where = f"{s['hosts']} hosts at {d['rtt_ms']:g} ms"
            if d.get("facts_errors"):
                parts.append(f"  {where}: probe errors: {d['facts_errors']}")
            for key in ("ansible_error", "audit_error", "facts_cli_error"):
                if d.get(key):
                    parts.append(f"  {where}: {key.removesuffix('_error')} failed: {d[key][-400:]}")
    for s in results["sizes"]:
        if "probe_shape" in s:
            p = s["probe_shape"]
            parts.append("")
            parts.append(f"the probe's sections, {s['hosts']} hosts at 0 ms (floor + the probe):")
            parts.append(format_table(
                ["probe", "one after another", "at once", "speed-up"],
                [["as is", fmt_summary(_summary(p["serial"])), fmt_summary(_summary(p["concurrent"])),
                  fmt_ratio(ratio(_median(p["serial"]), _median(p["concurrent"])))],
                 [f"tip takes {SLOW_SECTION_SECONDS:g} s longer", fmt_summary(_summary(p["serial_slow_tip"])),
                  fmt_summary(_summary(p["concurrent_slow_tip"])),
                  fmt_ratio(ratio(_median(p["serial_slow_tip"]), _median(p["concurrent_slow_tip"])))]],
            ))  # fmt: skip
    if results["rollouts"]:
        rrows = [[f"{r['relays']}+{r['producers']}", str(len(r.get("batches", []))), fmt_seconds(r["total"]),
                  fmt_seconds(r.get("node_critical_path")), fmt_seconds(r.get("sum_downtime")),
                  fmt_seconds(r.get("overhead_per_host")), str(r.get("ok")), str(r["exit_code"])]
                 for r in results["rollouts"]]  # fmt: skip
        parts.append("")
        parts.append(
            format_table(["rollout", "batches", "total", "node time", "sum downtime", "overhead/host", "ok", "exit"], rrows)
        )
        for r in results["rollouts"]:
            if r.get("error"):
                parts.append(f"  {r['relays']}+1: {r['error'][-600:]}")
    overheads = [r["overhead_per_host"] for r in results["rollouts"] if "overhead_per_host" in r]
    verdicts = check_targets(speedups, cpu_per_host, rss, audit_per_host, overheads)
    results["targets"] = [{"target": v.target, "measured": v.measured, "ok": v.ok} for v in verdicts]
    parts.append("")
    parts.append(format_table(["target", "measured", "met"],
                              [[v.target, v.measured, {True: "yes", False: "MISSED", None: "n/a"}[v.ok]]
                               for v in verdicts]))  # fmt: skip
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
