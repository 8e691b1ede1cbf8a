"""`make demo`: a lab fleet, the plan with diffs, the gated upgrade, and the result.

By default it rehearses 8.7.3 → 8.9.0 (legacy topologies to P2P, `playbooks/upgrade-8.9.0.yml`).
`make demo-current` (or DEMO_FROM=10.6.4 DEMO_TO=11.0.1) rehearses a current release instead: the lab
boots DEMO_FROM with that release's shipped config, pins DEMO_TO in the inventory it writes
(`lab up --node-version … --target-version …`), and the default upgrade playbook
(`playbooks/upgrade-node.yml`) takes the fleet there. Both must be releases the lab boots.

Every step is the real command an operator would type (shown before it runs). KEEP_LAB=1 keeps
the lab running afterwards so that it can be explored with `cardano-fleet facts -i .lab-demo/inventory.yml`.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from orchestrator.cardano.releases import FROM_VERSION, TARGET_VERSION, is_newer
from orchestrator.cli import main as cli
from orchestrator.lab.hosts import host_exec, lab_down
from orchestrator.lab.readiness import wait_in_sync
from orchestrator.lab.releases import LAB_VERSIONS
from orchestrator.lab.state import LabError, LabState
from orchestrator.report.terminal import data

LAB_DIR = os.environ.get("DEMO_LAB_DIR", ".lab-demo")
SUBNET = os.environ.get("DEMO_SUBNET", "0")
PLAYBOOKS = Path(__file__).resolve().parents[1] / "playbooks"
PLAYBOOK = str(PLAYBOOKS / "upgrade-8.9.0.yml")  # the seed's boundary: legacy topologies to P2P
CURRENT_PLAYBOOK = str(PLAYBOOKS / "upgrade-node.yml")  # the default upgrade playbook: any pinned release


@dataclass(frozen=True)
class Rehearsal:
    """Which releases the demo's fleet starts on and is upgraded to, and the playbook that does it."""

    start: str
    target: str
    playbook: str

    @property
    def lab_args(self) -> list[str]:
        if (self.start, self.target) == (FROM_VERSION, TARGET_VERSION):
            return []  # `lab up`'s own defaults: the command the README shows
        return ["--node-version", self.start, "--target-version", self.target]


def rehearsal(environ: Mapping[str, str] = os.environ) -> Rehearsal | str:
    """The rehearsal DEMO_FROM/DEMO_TO ask for (default 8.7.3 → 8.9.0), or why it cannot run."""
    start, target = environ.get("DEMO_FROM") or FROM_VERSION, environ.get("DEMO_TO") or TARGET_VERSION
    for name, version in (("DEMO_FROM", start), ("DEMO_TO", target)):
        if version not in LAB_VERSIONS:
            return f"{name}={version}: the lab boots {', '.join(LAB_VERSIONS)}"
    if not is_newer(target, start):
        return f"DEMO_TO={target} is not newer than DEMO_FROM={start}: the demo rehearses an upgrade"
    default = (start, target) == (FROM_VERSION, TARGET_VERSION)
    return Rehearsal(start, target, PLAYBOOK if default else CURRENT_PLAYBOOK)


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
    chosen = rehearsal()
    if isinstance(chosen, str):
        console.print(f"[red]{chosen}[/]")
        return 1
    keep = os.environ.get("KEEP_LAB") == "1"
    started = time.monotonic()
    if LabState.load(LAB_DIR) is not None:
        lab_down(LAB_DIR)
    how = "legacy topologies" if chosen.playbook == PLAYBOOK else f"its shipped config, {chosen.target} pinned"
    rc = step(console, f"1. Start a lab fleet: 3 relays + 1 block producer on cardano-node {chosen.start}, {how}",
              ["lab", "up", "--dir", LAB_DIR, "--subnet", SUBNET, "--relays", "3", "--producers", "1",
               *chosen.lab_args])  # fmt: skip
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
                  ["plan", "-i", inventory, chosen.playbook, "--diff"])  # fmt: skip
        if rc not in (0, 2):
            return rc
        rc = step(console, "5. The rolling upgrade: stage everywhere, relays [1, 50%], then the block producer",
                  ["run", "-i", inventory, chosen.playbook, "--yes", "--state-dir", state_dir])  # fmt: skip
        if rc != 0:
            return rc
        step(console, f"6. Every node on {chosen.target}, P2P, in sync", ["facts", "-i", inventory])
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
                  ["run", "-i", inventory, chosen.playbook, "--yes", "--state-dir", state_dir])  # fmt: skip
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
