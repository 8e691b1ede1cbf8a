"""cardano-fleet benchmark (issue 9): how close to the SSH floor is a fleet-wide read, and how far
ahead of Ansible; what a rolling upgrade costs beyond the node's own restart and sync.

Runs against lab fleets (real sshd hosts in namespaces on 198.18.N.0/24, needs root) that it
boots and tears down itself. Measures, for fleets of 4, 16 and 32 hosts (N-1 relays + 1 block
producer), medians of several runs with min–max:

  a) floor    one parallel paramiko connect + `true` on every host (strict known_hosts)
  b) facts    orchestrator.facts.probe.gather_facts over one Fleet: wall time, connections and round
              trips per host (the design wants exactly 1 connection)
  c) audit    `cardano-fleet audit -i INV --format json` (when orchestrator/audit.py exists) and
              `cardano-fleet facts -i INV --json`, both as the operator runs them (a subprocess)
  d) ansible  an equivalent read-only playbook (bench/ansible/read-state.yml), forks = N,
              pipelining and ControlPersist on, gather_facts off, strict host keys
  e) rollout  `cardano-fleet run ... --yes --report FILE` on 3+1 and 8+1 fleets: wall time and
              orchestrator overhead per host = (total - sum of restart-to-in-sync times) / hosts
  f) memory   peak RSS (ru_maxrss) of the child process running audit/facts for the largest N

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
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
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
FIRST_SUBNET = 150  # lab fleets of the benchmark use 198.18.150+.0/24 (tests use 40+)

# Targets of issue 9.
AUDIT_FLOOR_RATIO = 2.0  # audit of 32 hosts within 2x the SSH floor
ANSIBLE_SPEEDUP = 10.0  # at least 10x faster than Ansible
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


def check_targets(audit_vs_floor: float | None, ansible_vs_fleet: float | None, overheads: Sequence[float]) -> list[Verdict]:
    """The issue's three targets, each met, missed or not measured."""
    worst = max(overheads) if overheads else None
    return [
        Verdict(
            f"audit/facts of the largest fleet within {AUDIT_FLOOR_RATIO:g}x the SSH floor",
            fmt_ratio(audit_vs_floor),
            None if audit_vs_floor is None else audit_vs_floor <= AUDIT_FLOOR_RATIO,
        ),
        Verdict(
            f"at least {ANSIBLE_SPEEDUP:g}x faster than Ansible",
            fmt_ratio(ansible_vs_fleet),
            None if ansible_vs_fleet is None else ansible_vs_fleet >= ANSIBLE_SPEEDUP,
        ),
        Verdict(
            f"rolling-upgrade overhead < {OVERHEAD_PER_HOST:g} s per host",
            "-" if worst is None else f"{worst:.2f} s/host (worst)",
            None if worst is None else worst < OVERHEAD_PER_HOST,
        ),
    ]


def parse_sizes(text: str) -> list[int]:
    sizes = [int(x) for x in text.split(",") if x.strip()]
    if not sizes or any(n < 2 or n > 80 for n in sizes):
        raise argparse.ArgumentTypeError("sizes are 2..80 hosts, comma separated")
    return sizes


# ------------------------------------------------------------------ lab plumbing


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def lab_fleet(workdir: Path, hosts: int, subnet: int, node_version: str = "8.7.3") -> Iterator[Any]:
    """hosts-1 relays + 1 block producer, booted, nodes serving; always torn down."""
    from orchestrator.lab.hosts import lab_down, lab_up

    lab_dir = workdir / f"lab{subnet}"
    # The benchmark measures the orchestrator, not node starts: the short start the tests use.
    state = lab_up(lab_dir, relays=hosts - 1, producers=1, subnet=subnet, node_version=node_version, startup_seconds=2.0)
    try:
        wait_nodes_ready(state)
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


def fleet_hosts(state: Any) -> list[Any]:
    return [h for h in state.hosts if h.role != "chain_source"]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CARDANO_FLEET_LAB_ONLY"] = "1"
    env.pop("SSH_AUTH_SOCK", None)
    return env


def cardano_fleet_bin() -> str:
    exe = Path(sys.executable).with_name("cardano-fleet")
    return str(exe) if exe.exists() else "cardano-fleet"


# ------------------------------------------------------------------ (a) the floor


def probe_commands(state: Any) -> dict[str, str]:
    """address → the facts probe script cardano-fleet runs there (for the 'floor + remote work' figure)."""
    from orchestrator.facts.probe import build_probe
    from orchestrator.load.inventory import load_inventory

    inventory = load_inventory(str(state.inventory_path))
    return {str(h.address): build_probe(h) for h in inventory.hosts}


def floor_once(state: Any, commands: dict[str, str] | None = None) -> float:
    """One parallel paramiko connect + one command per host (`true`, or the given per-address
    command), strict known_hosts; wall seconds."""
    import paramiko

    lab = Path(state.dir)
    key = str(lab / "keys" / "client_key")
    known = str(lab / "known_hosts")
    hosts = fleet_hosts(state)

    def one(address: str) -> None:
        client = paramiko.SSHClient()
        client.load_host_keys(known)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(address, 22, "root", key_filename=key, look_for_keys=False, allow_agent=False, timeout=10)
            command = commands[address] if commands else "true"
            _in, out, _err = client.exec_command(command)
            out.read()
            if out.channel.recv_exit_status() != 0:
                raise RuntimeError(f"{address}: {command[:40]} failed")
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        started = time.perf_counter()
        list(pool.map(one, [h.address for h in hosts]))
        return time.perf_counter() - started


# ------------------------------------------------------------------ (b) facts in-process


def facts_once(state: Any) -> dict[str, Any]:
    from orchestrator.facts.probe import gather_facts
    from orchestrator.load.inventory import load_inventory
    from orchestrator.ssh.transport import Fleet

    inventory = load_inventory(str(state.inventory_path))
    hosts = list(inventory.hosts)
    started = time.perf_counter()
    with Fleet(hosts, forks=max(len(hosts), 1)) as fleet:
        facts = gather_facts(fleet, hosts)
        stats = fleet.all_stats()
    wall = time.perf_counter() - started
    errors = {n: f.error or ", ".join(sorted(f.probe_errors)) for n, f in facts.items() if f.error or f.probe_errors}
    return {
        "wall": wall,
        "connections_per_host": sorted({s.connections_opened for s in stats.values()}),
        "round_trips_per_host": sorted({s.commands_run for s in stats.values()}),
        "errors": errors,
    }


# ------------------------------------------------------------------ (c) the CLI, (f) memory


def run_child(argv: list[str], ok_codes: Sequence[int] = (0,)) -> tuple[float, int, int, str]:
    """(wall seconds, exit code, peak RSS in KiB, stderr tail) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=cli_env(), cwd=REPO
    )
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, proc.returncode, int(usage.ru_maxrss), err[-600:]


def audit_available() -> bool:
    return (REPO / "orchestrator" / "audit.py").exists()


def audit_argv(state: Any) -> list[str]:
    return [cardano_fleet_bin(), "audit", "-i", str(state.inventory_path), "--format", "json"]


def facts_argv(state: Any) -> list[str]:
    return [cardano_fleet_bin(), "facts", "-i", str(state.inventory_path), "--json", "--forks", "64"]


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


def ansible_env(state: Any, home: Path, control: Path, forks: int) -> dict[str, str]:
    """Ansible kept to itself: config, ANSIBLE_HOME and control sockets in temp dirs."""
    lab = Path(state.dir)
    ssh_args = (
        "-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=yes "
        f"-o UserKnownHostsFile={lab / 'known_hosts'} -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes "
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


def close_masters(state: Any, env: dict[str, str]) -> None:
    """ControlPersist masters outlive ansible-playbook: close each one (ssh -O exit)."""
    control = env["ANSIBLE_SSH_CONTROL_PATH"].replace("%%", "%")
    for h in fleet_hosts(state):
        subprocess.run(
            ["ssh", "-F", "/dev/null", "-o", f"ControlPath={control}", "-O", "exit", f"root@{h.address}"],
            capture_output=True, check=False, timeout=10,
        )  # fmt: skip


def ansible_once(playbook_bin: Path, state: Any, home: Path) -> tuple[float, str | None]:
    """One cold ansible-playbook run (no master left from a previous run); (wall, error)."""
    hosts = fleet_hosts(state)
    control = Path(tempfile.mkdtemp(prefix="cfb-", dir="/tmp"))  # short: unix socket paths max 108 bytes
    env = ansible_env(state, home, control, forks=len(hosts))
    argv = [str(playbook_bin), "-i", str(state.inventory_path), str(PLAYBOOK)]
    try:
        started = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=home, timeout=600)
        wall = time.perf_counter() - started
    finally:
        close_masters(state, env)
        shutil.rmtree(control, ignore_errors=True)
    if proc.returncode != 0:
        why = [line for line in proc.stdout.splitlines() if "UNREACHABLE" in line or "FAILED" in line][:3]
        return wall, "\n".join(why) or (proc.stdout + proc.stderr)[-1500:]
    recap = [line for line in proc.stdout.splitlines() if " ok=" in line and "failed=0" in line and "unreachable=0" in line]
    return wall, None if len(recap) == len(hosts) else f"{len(recap)} hosts ok of {len(hosts)}: {proc.stdout[-800:]}"


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
    result: dict[str, Any] = {"total": total, "exit_code": proc.returncode, "hosts": len(fleet_hosts(state))}
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


def measure_size(n: int, subnet: int, runs: int, workdir: Path, ansible_bin: Path | None, memory: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"hosts": n}
    with lab_fleet(workdir, n, subnet) as state:
        facts_once(state)  # warm-up: the nodes' first tip, page cache, imports
        floor = [floor_once(state) for _ in range(runs)]
        probes = probe_commands(state)
        floor_probe = [floor_once(state, probes) for _ in range(runs)]
        fact_runs = [facts_once(state) for _ in range(runs)]
        out["floor"] = summarize(floor).as_json()
        out["floor_probe"] = summarize(floor_probe).as_json()
        out["facts"] = summarize([r["wall"] for r in fact_runs]).as_json()
        out["connections_per_host"] = sorted({c for r in fact_runs for c in r["connections_per_host"]})
        out["round_trips_per_host"] = sorted({c for r in fact_runs for c in r["round_trips_per_host"]})
        out["facts_errors"] = fact_runs[-1]["errors"]
        cli = [run_child(facts_argv(state), ok_codes=(0, 2)) for _ in range(runs)]
        out["facts_cli"] = summarize([c[0] for c in cli]).as_json()
        out["facts_cli_exit"] = sorted({c[1] for c in cli})
        if memory:
            out["facts_cli_maxrss_kib"] = max(c[2] for c in cli)
        if audit_available():
            audits = [run_child(audit_argv(state), ok_codes=(0, 1)) for _ in range(runs)]
            out["audit"] = summarize([a[0] for a in audits]).as_json()
            out["audit_exit"] = sorted({a[1] for a in audits})
            if any(a[1] not in (0, 1) for a in audits):
                out["audit_error"] = audits[-1][3] or "exit 2: some hosts unreachable or not probed"
            if memory:
                out["audit_maxrss_kib"] = max(a[2] for a in audits)
        if ansible_bin is not None:
            home = Path(tempfile.mkdtemp(prefix="ansible-home-", dir=workdir))
            samples: list[float] = []
            for _ in range(runs):
                wall, error = ansible_once(ansible_bin, state, home)
                if error:
                    out["ansible_error"] = error
                    break
                samples.append(wall)
            if samples:
                out["ansible"] = summarize(samples).as_json()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from orchestrator.lab.readiness import wait_in_sync

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=parse_sizes, default=[4, 16, 32], help="fleet sizes (default 4,16,32)")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    parser.add_argument("--rollouts", default="3,8", help="relays of the rolling-upgrade fleets, +1 BP (default 3,8)")
    parser.add_argument("--no-ansible", action="store_true", help="skip the Ansible comparison")
    parser.add_argument("--no-rollout", action="store_true", help="skip the rolling upgrades")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench: the lab needs root (namespaces, a bridge): run `sudo make bench`", file=sys.stderr)
        return 1
    os.environ["CARDANO_FLEET_LAB_ONLY"] = "1"  # the transport refuses anything but the lab's addresses
    ansible_bin = None if args.no_ansible else ensure_ansible()
    workdir = Path(tempfile.mkdtemp(prefix="cardano-fleet-bench-"))
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0]},
        "runs": args.runs,
        "audit_available": audit_available(),
        "sizes": [],
        "rollouts": [],
    }
    try:
        largest = max(args.sizes)
        for i, n in enumerate(args.sizes):
            log(f"fleet of {n} hosts ({n - 1} relays + 1 BP): floor, facts, CLI{', audit' if audit_available() else ''}"
                f"{', ansible' if ansible_bin else ''}")  # fmt: skip
            results["sizes"].append(measure_size(n, FIRST_SUBNET + i, args.runs, workdir, ansible_bin, memory=n == largest))
        if not args.no_rollout:
            for j, relays in enumerate(int(x) for x in args.rollouts.split(",") if x.strip()):
                log(f"rolling upgrade of {relays}+1")
                with lab_fleet(workdir, relays + 1, FIRST_SUBNET + 20 + j) as state:
                    wait_in_sync(state.inventory_path, timeout=90)  # a rollout refuses an unsynced fleet
                    results["rollouts"].append({"relays": relays, "producers": 1, **rollout_once(state, workdir)})
    finally:
        results["machine"]["load_after"] = os.getloadavg()[0]
        shutil.rmtree(workdir, ignore_errors=True)
    print(render(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    log(f"wrote {args.out}")
    return 0


def _summary(d: dict[str, Any] | None) -> Summary | None:
    return None if not d else Summary(d["median"], d["min"], d["max"], d["runs"])


def render(results: dict[str, Any]) -> str:
    """The console report: per-size table, rollouts, targets."""
    headers = ["hosts", "SSH floor", "floor+probe", "facts (in-process)", "conn/host", "trips/host", "facts CLI",
               "audit CLI", "ansible", "ansible/fleet", "fleet/floor"]  # fmt: skip
    rows = []
    for s in results["sizes"]:
        fleet_cli = _summary(s.get("audit")) or _summary(s.get("facts_cli"))
        ansible = _summary(s.get("ansible"))
        rows.append([
            str(s["hosts"]), fmt_summary(_summary(s["floor"])), fmt_summary(_summary(s.get("floor_probe"))),
            fmt_summary(_summary(s["facts"])),
            ",".join(map(str, s["connections_per_host"])), ",".join(map(str, s["round_trips_per_host"])),
            fmt_summary(_summary(s["facts_cli"])),
            fmt_summary(_summary(s.get("audit"))) if results["audit_available"] else "pending",
            fmt_summary(ansible) if ansible else ("failed" if "ansible_error" in s else "-"),
            fmt_ratio(ratio(ansible.median if ansible else None, fleet_cli.median if fleet_cli else None)),
            fmt_ratio(ratio(_summary(s["facts"]).median, _summary(s["floor"]).median)),  # type: ignore[union-attr]
        ])  # fmt: skip
    parts = [format_table(headers, rows)]
    for s in results["sizes"]:
        if s.get("facts_errors"):
            parts.append(f"  {s['hosts']} hosts: probe errors: {s['facts_errors']}")
        if s.get("ansible_error"):
            parts.append(f"  {s['hosts']} hosts: ansible failed: {s['ansible_error'][-400:]}")
        if s.get("audit_error"):
            parts.append(f"  {s['hosts']} hosts: audit failed: {s['audit_error'][-400:]}")
        for key in ("audit_maxrss_kib", "facts_cli_maxrss_kib"):
            if key in s:
                parts.append(f"  peak RSS, {key.split('_')[0]} CLI child for {s['hosts']} hosts: {s[key] / 1024:.0f} MiB")
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
    biggest = max(results["sizes"], key=lambda s: s["hosts"]) if results["sizes"] else None
    audit_vs_floor = ansible_vs_fleet = None
    if biggest:
        fleet_cli = _summary(biggest.get("audit")) or _summary(biggest.get("facts"))
        floor = _summary(biggest["floor"])
        audit_vs_floor = ratio(fleet_cli.median if fleet_cli else None, floor.median if floor else None)
        ansible = _summary(biggest.get("ansible"))
        cli = _summary(biggest.get("audit")) or _summary(biggest.get("facts_cli"))
        ansible_vs_fleet = ratio(ansible.median if ansible else None, cli.median if cli else None)
    overheads = [r["overhead_per_host"] for r in results["rollouts"] if "overhead_per_host" in r]
    verdicts = check_targets(audit_vs_floor, ansible_vs_fleet, overheads)
    results["targets"] = [{"target": v.target, "measured": v.measured, "ok": v.ok} for v in verdicts]
    parts.append("")
    parts.append(format_table(["target", "measured", "met"],
                              [[v.target, v.measured, {True: "yes", False: "MISSED", None: "n/a"}[v.ok]]
                               for v in verdicts]))  # fmt: skip
    if not results["audit_available"]:
        parts.append("audit: orchestrator/audit.py is not there yet; the facts figures stand in for it (pending)")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
