"""Where the benchmark keeps things, which lab subnets it takes, how long it lets a child run."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
ANSIBLE_VENV = BENCH / ".venv-ansible"
PLAYBOOK = BENCH / "ansible" / "read-state.yml"
UPGRADE_PLAYBOOK = REPO / "playbooks" / "upgrade-8.9.0.yml"
SUBNETS = tuple(range(241, 255))  # default lab fleets: 198.18.241-254.0/24 (pytest's labs use 40..240); --subnets
CHILD_TIMEOUT = {"ansible": 900.0}  # seconds before a hung ansible-playbook is killed (--ansible-timeout)
SLOW_SECTION_SECONDS = 1.0  # the stand-in for a slow `cardano-cli query tip` on a real mainnet host
PROBE_HOST_RUNS = 20  # runs of the probe inside one relay and the producer (its host-side cost)
