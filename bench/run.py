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
  g) db_seed  4 relays 10.5.3 -> 11.0.1 without and with `db_seed: from_upgraded` (--seed-runs)

Prints a table and writes bench/results/latest.json. `make bench` runs it; `make test` never does.
The modules of the `bench` package do the work (bench/__init__.py lists them); the pure ones
(statistics, formatting, targets, the report) are unit-tested in tests/unit/test_bench_stats.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py` (make bench): the repository's root, so `bench.*` imports
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ansible_compare import ensure_ansible  # noqa: E402 - after the path above
from bench.lab import lab_fleet, log, subnet_lease  # noqa: E402
from bench.measure import measure_size  # noqa: E402
from bench.report import render, save  # noqa: E402
from bench.rollout import rollout_once  # noqa: E402
from bench.seed import render_seed, seed_bench  # noqa: E402
from bench.settings import CHILD_TIMEOUT, RESULTS, SUBNETS  # noqa: E402
from bench.stats import parse_sizes, parse_subnets  # noqa: E402
from orchestrator.ssh.guard import LAB_ONLY_ENV  # noqa: E402


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
    parser.add_argument("--seed-runs", type=int, default=1,
                        help="runs of the db_seed comparison, each mode (default 1; 0: skip)")
    parser.add_argument("--subnets", type=parse_subnets, default=SUBNETS,
                        help="lab subnets to use, one fleet at a time: e.g. 4,5 or 241-254 (default 241-254)")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench: the lab needs root (namespaces, a bridge): run `sudo make bench`", file=sys.stderr)
        return 1
    os.environ[LAB_ONLY_ENV] = "1"  # the transport refuses anything but the lab's addresses (ssh/guard.py)
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
        if args.seed_runs > 0:
            results["db_seed"] = seed_bench(workdir, args.subnets, used, args.seed_runs)
            save(args.out, results)
    finally:
        results["machine"]["load_after"] = os.getloadavg()[0]
        shutil.rmtree(workdir, ignore_errors=True)
    print(render(results))
    if "db_seed" in results:
        print(render_seed(results["db_seed"]))
    save(args.out, results)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
