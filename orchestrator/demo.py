"""`make demo`: a lab fleet on 8.7.3, the plan with diffs, the gated upgrade, and the result.

Every step is the real command an operator would type (shown before it runs). KEEP_LAB=1 keeps
the lab running afterwards so that it can be explored with `cardano-fleet facts -i .lab-demo/inventory.yml`.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from orchestrator.cli import main as cli
from orchestrator.lab.hosts import host_exec, lab_down
from orchestrator.lab.readiness import wait_in_sync
from orchestrator.lab.state import LabError, LabState
from orchestrator.report.terminal import data

LAB_DIR = os.environ.get("DEMO_LAB_DIR", ".lab-demo")
SUBNET = os.environ.get("DEMO_SUBNET", "0")
PLAYBOOK = str(Path(__file__).resolve().parents[1] / "playbooks" / "upgrade-8.9.0.yml")


def step(console: Console, title: str, argv: list[str]) -> int:
    console.print(Rule(title))
    # one line, never broken mid-path (a terminal wraps it), and no markup read from a path
    command = Text(f"$ cardano-fleet {' '.join(shlex.quote(a) for a in argv)}", style="bold cyan")
    console.print(command, soft_wrap=True)
    rc = cli(argv)
    console.print(f"[dim](exit {rc})[/]")
    return rc


def main() -> int:
    console = Console()
    if os.geteuid() != 0:
        console.print("[red]The demo starts a lab of real sshd hosts in namespaces: run it as root (or with sudo).[/]")
        return 1
    keep = os.environ.get("KEEP_LAB") == "1"
    started = time.monotonic()
    if LabState.load(LAB_DIR) is not None:
        lab_down(LAB_DIR)
    rc = step(console, "1. Start a lab fleet: 3 relays + 1 block producer on cardano-node 8.7.3, legacy topologies",
              ["lab", "up", "--dir", LAB_DIR, "--subnet", SUBNET, "--relays", "3", "--producers", "1"])  # fmt: skip
    if rc != 0:
        return rc
    inventory = str(Path(LAB_DIR).resolve() / "inventory.yml")
    state_dir = str(Path(LAB_DIR).resolve() / "state")
    try:
        wait_in_sync(inventory, on_lags=lambda lags: console.print(
            "slot lag: " + ", ".join(f"{n} {lag}" for n, lag in lags.items())))
        step(console, "2. The inventory the lab wrote (Ansible format)", ["inventory", "-i", inventory])
        step(console, "3. Facts: one SSH connection and one round trip per host", ["facts", "-i", inventory])
        rc = step(console, "4. The plan, with a diff of every file (exit 2 = changes pending)",
                  ["plan", "-i", inventory, PLAYBOOK, "--diff"])  # fmt: skip
        if rc not in (0, 2):
            return rc
        rc = step(console, "5. The rolling upgrade: stage everywhere, relays [1, 50%], then the block producer",
                  ["run", "-i", inventory, PLAYBOOK, "--yes", "--state-dir", state_dir])  # fmt: skip
        if rc != 0:
            return rc
        step(console, "6. Every node on 8.9.0, P2P, in sync", ["facts", "-i", inventory])
        state = LabState.load(LAB_DIR)
        assert state is not None
        topo = host_exec(state, "bp1", "cat /opt/cardano/config/topology.json").stdout
        console.print(Rule("7. The block producer's topology: fed only by its own relays"))
        console.print_json(json.dumps(json.loads(topo)))
        peers = host_exec(state, "bp1", "ss -Htn state established '( sport = :3001 or dport = :3001 or dport = :6000 )'")
        relays = {h.address for h in state.hosts if h.role == "relay"}
        remote = {line.split()[-1].rsplit(":", 1)[0] for line in peers.stdout.splitlines() if line.strip()}
        strangers = sorted(remote - relays)
        verdict = "all of them its own relays" if not strangers else f"NOT its relays: {', '.join(strangers)}"
        console.print(data(f"bp1's established peers: {', '.join(sorted(remote))} — {verdict}"), soft_wrap=True)
        rc = step(console, "8. A second run changes nothing and restarts nothing",
                  ["run", "-i", inventory, PLAYBOOK, "--yes", "--state-dir", state_dir])  # fmt: skip
        console.print(Rule(f"Demo finished in {time.monotonic() - started:.0f}s"))
        return rc
    except (LabError, TimeoutError) as e:
        console.print(data(str(e), "red"), soft_wrap=True)  # the lab's message as written, never markup
        return 1
    finally:
        if keep:
            console.print(data(f"KEEP_LAB=1: the lab keeps running; `cardano-fleet lab down --dir {LAB_DIR}` stops it."))
        else:
            for line in lab_down(LAB_DIR):
                console.print(data(f"lab down: {line}"), soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
