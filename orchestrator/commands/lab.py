"""`cardano-fleet lab up|down|status|fault|leader-slots|exec`: a local replica fleet of real sshd hosts."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from orchestrator.cardano.releases import FROM_VERSION, TARGET_VERSION
from orchestrator.commands._exit import error
from orchestrator.lab.releases import LAB_VERSIONS, lab_version

if TYPE_CHECKING:
    from orchestrator.lab.state import LabState

from orchestrator.lab.faults import FAULTS


def _lab_version(value: str) -> str:
    try:
        return lab_version(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _host_version(value: str) -> tuple[str, str]:
    host, eq, version = value.partition("=")
    if not eq or not host:
        raise argparse.ArgumentTypeError(f"expected HOST=VERSION, e.g. relay2=10.6.4 (got {value!r})")
    return host, _lab_version(version)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    up = sub.add_parser(
        "up",
        help="start relays + producers + a chain source host, each a real sshd in its own namespaces",
        description=(
            "Start a lab fleet: every host is a real sshd in its own mount/UTS/PID/network namespaces on a "
            "bridge in 198.18.SUBNET.0/24, running a simulated cardano-node in the pre-upgrade state. "
            "Writes a client key, known_hosts and inventory.yml under --dir; the last line printed is the "
            "inventory path. Needs root."
        ),
    )
    up.add_argument("--relays", type=int, default=3, help="number of relays (default 3)")
    up.add_argument("--producers", type=int, default=1, help="number of block producers (default 1)")
    up.add_argument("--standby-producers", type=int, default=0, metavar="N",
                    help="a standby for each of the first N producers (bp1-standby, …): same relays and credentials, "
                         "started non-producing; group standby_producers (default 0)")  # fmt: skip
    up.add_argument("--passive", type=int, default=0,
                    help="number of passive nodes (an exchange's; group passive_nodes): odd ones follow ledger "
                         "peers, even ones are private (default 0)")  # fmt: skip
    up.add_argument("--node-version", default=FROM_VERSION, type=_lab_version, metavar="VERSION",
                    help=f"the release every host boots on: one the lab can boot ({', '.join(LAB_VERSIONS)}; "
                         f"default {FROM_VERSION})")  # fmt: skip
    up.add_argument("--target-version", default=TARGET_VERSION, type=_lab_version, metavar="VERSION",
                    help="the release inventory.yml pins as node_release (url and sha256 from the lab's release "
                         f"server): one the lab serves ({', '.join(LAB_VERSIONS)}; default {TARGET_VERSION})")  # fmt: skip
    up.add_argument("--host-version", action="append", default=[], type=_host_version, metavar="HOST=VERSION",
                    help="HOST boots VERSION instead of --node-version (a mixed fleet), e.g. relay2=10.6.4; "
                         "repeatable")  # fmt: skip
    up.add_argument("--subnet", type=int, default=0, help="third octet of 198.18.N.0/24 (default 0)")
    up.add_argument(
        "--rtt-ms", type=float, default=0.0, metavar="MS",
        help="put a TCP relay adding MS milliseconds of round trip in front of every host's sshd (distance; "
        "test equipment on the bridge address) and write inventory.yml through it; node-to-node traffic is "
        "not delayed; inventory-direct.yml is the same fleet direct (default 0: no relay)",
    )  # fmt: skip
    up.add_argument(
        "--yaml-config",
        action="append",
        default=[],
        metavar="HOST",
        help="give HOST the node repository's YAML config (mainnet-config.yaml) instead of config.json; repeatable",
    )
    up.add_argument(
        "--startup-seconds", type=float, default=None, metavar="N",
        help="how long each node's start takes, ChainDB opening to socket, time-compressed from a mainnet "
             "start: chunk validation, ledger replay, initial chain selection (default 12)",
    )  # fmt: skip
    up.add_argument("--no-wait", action="store_true",
                    help="return once the hosts answer SSH, without waiting for every node to be in sync")  # fmt: skip
    for p in (up, *(sub.add_parser(n, help=h) for n, h in _OTHER)):
        p.add_argument("--dir", default=".lab", help="the lab's directory (default .lab)")
    fault = sub.choices["fault"]
    fault.add_argument("host", help="lab host name, e.g. relay2")
    fault.add_argument("fault", choices=(*FAULTS, "clear"), help="the fault to switch on, or clear")
    fault.add_argument("--version", dest="fault_version", default=None, help="only this node version misbehaves")
    fault.add_argument(
        "--seconds", type=float, default=30.0,
        help="slow_start: the ledger replay lasts N s; ignore_stop: the node exits N s after a stop request, "
             "read when the request comes (past the unit's TimeoutStopSec it is killed, and its next start "
             "validates every chunk); dies_after: the node crashes N s after its socket is up (exit 1, so "
             "Restart=on-failure starts it again); drop_ssh: every SSH connection is cut now and new ones "
             "are refused for N s; reboot: the host is down N s, then boots with its files and enabled units; "
             "clock_skew: the host's clock runs N s ahead (negative: behind) (default 30)",
    )  # fmt: skip
    fault.add_argument("--percent", type=float, default=37.0,
                       help="replay_stalls: the ledger replay stops at this percentage (default 37)")  # fmt: skip
    fault.add_argument("--periods", type=int, default=1,
                       help="kes_low: a block producer's remainingKESPeriods metric shows N (default 1; "
                            "read at every scrape, no restart needed)")  # fmt: skip
    slots = sub.choices["leader-slots"]
    slots.add_argument("host", help="lab block producer, e.g. bp1")
    slots.add_argument("--in", dest="offsets", type=float, action="append", required=True, metavar="SECONDS",
                       help="a leader slot this many seconds from now (negative: past); repeatable")  # fmt: skip
    ex = sub.choices["exec"]
    ex.add_argument("host")
    ex.add_argument("cmd", nargs=argparse.REMAINDER, help="shell command run as root inside the host")


_OTHER = (
    ("down", "stop every host and remove every namespace, link and process of the lab"),
    ("status", "list hosts, addresses and whether each answers SSH"),
    ("fault", "switch a node or host fault on for one host (a node fault optionally only for one node version), "
              "or clear"),
    ("leader-slots", "give a block producer a leader schedule (blocklog.db and the cli's JSON) with slots "
                     "at chosen offsets from now"),
    ("exec", "run a command inside a lab host out of band (nsenter), for debugging"),
)


def run(args: argparse.Namespace) -> int:
    from orchestrator.lab.hosts import host_exec_bytes, lab_down, lab_status, lab_up
    from orchestrator.lab.state import LabError, LabState

    try:
        if args.lab_command == "up":
            from orchestrator.lab.provision import DEFAULT_STARTUP_SECONDS
            from orchestrator.lab.readiness import wait_in_sync

            startup = DEFAULT_STARTUP_SECONDS if args.startup_seconds is None else args.startup_seconds
            state = lab_up(
                args.dir, relays=args.relays, producers=args.producers, passive=args.passive, subnet=args.subnet,
                node_version=args.node_version, progress=lambda m: _progress(f"lab: {m}"),
                rtt_ms=args.rtt_ms,
                yaml_configs=args.yaml_config,
                startup_seconds=startup,
                target_version=args.target_version,
                host_versions=dict(args.host_version),
                standby_producers=args.standby_producers,
            )  # fmt: skip
            for h in state.hosts:
                print(f"{h.name:10} {h.role:15} {h.address:15} {h.layout}")
            if not args.no_wait:
                _progress(f"lab: waiting until every node is in sync (each start takes ~{startup:g}s)")
                wait_in_sync(state.inventory_path, timeout=60 + 2 * startup, on_lags=lambda lags: _progress(
                    "lab: slot lag "
                    + ", ".join(f"{n} {'starting' if lag is None else lag}" for n, lag in lags.items())))  # fmt: skip
            print(state.inventory_path)
            return 0
        if args.lab_command == "down":
            for line in lab_down(args.dir):
                print(line)
            return 0
        if args.lab_command == "status":
            rows = list(lab_status(args.dir))
            if not rows:
                print(f"no lab in {args.dir}")
                return 1
            for host, alive, answers in rows:
                print(f"{host.name:10} {host.role:15} {host.address:15} {'up' if alive else 'down':5} "
                      f"ssh={'yes' if answers else 'no'}")  # fmt: skip
            return 0 if all(a for _, _, a in rows) else 1
        loaded = LabState.load(args.dir)
        if loaded is None:
            error(f"no lab in {args.dir}")
            return 1
        if args.lab_command == "fault":
            return _set_fault(loaded, args.host, args.fault, args.fault_version, args.seconds, args.percent,
                              args.periods)  # fmt: skip
        if args.lab_command == "leader-slots":
            return _leader_slots(loaded, args.host, args.offsets)
        proc = host_exec_bytes(loaded, args.host, " ".join(args.cmd))
        sys.stdout.flush()
        sys.stdout.buffer.write(proc.stdout)  # bytes as the host wrote them: binary output is no error
        sys.stdout.buffer.flush()
        sys.stderr.buffer.write(proc.stderr)
        return proc.returncode
    except (LabError, TimeoutError) as e:
        error(str(e))
        return 1


def _leader_slots(state: LabState, host: str, offsets: list[float]) -> int:
    import time

    from orchestrator.lab.hosts import host_exec as run_in_host
    from orchestrator.lab.leader_slots import BLOCKLOG_PATH, SCHEDULE_PATH, schedule_rows, write_command

    if state.host(host).role != "block_producer":
        error(f"{host} is not a block producer")
        return 1
    rows = schedule_rows("mainnet", offsets, time.time())  # the lab runs mainnet's slot clock
    done = run_in_host(state, host, write_command(rows))
    if done.returncode != 0:
        error(f"could not write the schedule on {host}: {done.stderr.strip()}")
        return 1
    for slot, at, *_ in rows:
        print(f"{host}: leader slot {slot} at {at}")
    print(f"{host}: wrote {BLOCKLOG_PATH} and {SCHEDULE_PATH}; inventory: "
          f"leader_schedule: {{source: blocklog, path: {BLOCKLOG_PATH}}} (or source: file, path: {SCHEDULE_PATH})")
    return 0


def _set_fault(state: LabState, host: str, fault: str, version: str | None, seconds: float, percent: float,
               periods: int = 1) -> int:  # fmt: skip
    from orchestrator.lab.faults import set_fault

    print(set_fault(state, host, fault, version, seconds, percent, periods))
    return 0


def _progress(text: str) -> None:
    from orchestrator.report.terminal import progress_line

    print(progress_line(text), file=sys.stderr)
