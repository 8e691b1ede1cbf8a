"""(a) the SSH floor, (b) facts in-process, (c) the CLI as a child process, (e) the probe's shape; and
every figure of one fleet at one distance."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.ansible_compare import ansible_once
from bench.child import run_child
from bench.lab import cardano_fleet_bin, cpu_seconds, inventories, lab_fleet, load_hosts, log
from bench.settings import PROBE_HOST_RUNS, SLOW_SECTION_SECONDS
from bench.stats import summarize


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


# Run inside a lab host: the command `n` times, each its own process tree; [wall, CPU] of each run
# (os.wait4: the shell's own CPU and every child it waited for — the probe waits for all its sections).
_TIMER_PY = (
    "import json,os,sys,time\n"
    "cmd,n=sys.argv[1],int(sys.argv[2])\n"
    "out=[]\n"
    "for _ in range(n):\n"
    " t=time.perf_counter()\n"
    " pid=os.fork()\n"
    " if pid==0:\n"
    "  fd=os.open(os.devnull,os.O_WRONLY);os.dup2(fd,1);os.dup2(fd,2)\n"
    "  os.execv('/bin/sh',['sh','-c',cmd])\n"
    " _,st,ru=os.wait4(pid,0)\n"
    " out.append([time.perf_counter()-t,ru.ru_utime+ru.ru_stime])\n"
    "print(json.dumps(out))\n"
)


def probe_on_host(state: Any, hosts: Sequence[Any], runs: int) -> dict[str, Any]:
    """What the facts probe costs on the host itself (the lab's stand-ins included): the probe script
    run `runs` times inside one relay and the block producer (nsenter, as root, no SSH), CPU of its
    whole process tree and wall, medians. On real hosts this CPU is each host's own; in the lab every
    host's probe shares the control machine's cores, so it bounds what a fleet-wide read can reach."""
    import json
    import shlex

    from orchestrator.facts.probe import records_for
    from orchestrator.facts.script import build_script
    from orchestrator.lab.hosts import host_exec

    out: dict[str, Any] = {}
    relay = next((h for h in hosts if not h.is_producer), None)
    producer = next((h for h in hosts if h.is_producer), None)
    for role, h in (("relay", relay), ("producer", producer)):
        if h is None:
            continue
        script = build_script(h, records_for(h))
        command = f"python3 -I -S -c {shlex.quote(_TIMER_PY)} {shlex.quote(script)} {runs}"
        done = host_exec(state, h.name, command, timeout=60 + 10 * runs)
        if done.returncode != 0:
            raise RuntimeError(f"{h.name}: probe timing failed: {done.stderr[-300:]}")
        samples = json.loads(done.stdout)
        out[role] = {"host": h.name, "wall": summarize([w for w, _ in samples]).as_json(),
                     "cpu": summarize([c for _, c in samples]).as_json()}  # fmt: skip
    return out


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


def audit_argv(inventory: Path, forks: int) -> list[str]:
    return [cardano_fleet_bin(), "audit", "-i", str(inventory), "--format", "json", "--forks", str(forks)]


def facts_argv(inventory: Path, forks: int) -> list[str]:
    return [cardano_fleet_bin(), "facts", "-i", str(inventory), "--json", "--forks", str(forks)]


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
            log(f"  {n} hosts: the probe's cost on a relay and the producer themselves")
            try:
                out["probe_on_host"] = probe_on_host(state, load_hosts(inventories(state)[0.0]), PROBE_HOST_RUNS)
            except Exception as exc:  # noqa: BLE001 - reported; the size's other figures stay
                log(f"  {n} hosts: probe on host failed: {exc}")
                out["probe_on_host_error"] = str(exc)[-1000:]
            log(f"  {n} hosts: the probe's sections one after another vs at once (0 ms)")
            try:
                out["probe_shape"] = probe_shape(load_hosts(inventories(state)[0.0]), runs)
            except Exception as exc:  # noqa: BLE001 - reported; the size's other figures stay
                log(f"  {n} hosts: probe shape failed: {exc}")
                out["probe_shape_error"] = str(exc)[-1000:]
    return out
