"""The shared front half of `plan`, `run` and `audit`: load, validate, connect, gather, plan.

Loading and validation happen before any SSH: a bad inventory or playbook never touches a host.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from orchestrator.actions.registry import ACTIONS
from orchestrator.cardano.networks import network
from orchestrator.facts.clock import MAX_CLOCK_SKEW_SECONDS, reference_time
from orchestrator.facts.probe import HEALTH_SECTIONS, HostFacts, gather_facts
from orchestrator.load.bundled import resolve_playbook, roles_dirs
from orchestrator.load.inventory import load_inventory
from orchestrator.load.playbook import load_playbook
from orchestrator.load.runspec import RunSpec, compile_run
from orchestrator.load.vault import VaultSecrets
from orchestrator.model import Host, Inventory, Playbook
from orchestrator.plan import HostPlan, Plan, make_plan, plan_host
from orchestrator.roll.engine import Recheck
from orchestrator.roll.gates import GateSample, sample_from_facts
from orchestrator.ssh.transport import Fleet


@dataclass(frozen=True)
class Loaded:
    inventory: Inventory
    playbook: Playbook
    spec: RunSpec


def load(
    inventory_path: str,
    playbook_path: str,
    *,
    limit: str | None = None,
    extra_vars: Mapping[str, Any] | None = None,
    allow_unpinned: bool = False,
    vault: VaultSecrets | None = None,
) -> Loaded:
    """Raises InventoryError / PlaybookError (each `file:line:col: message`) before any connection."""
    inventory = load_inventory(inventory_path, extra_vars=extra_vars, vault=vault)
    playbook_file = resolve_playbook(playbook_path)  # a path, or the name of a bundled playbook
    playbook = load_playbook(playbook_file, roles_dir=roles_dirs(playbook_file))
    spec = compile_run(playbook, inventory, limit=limit, extra_vars=extra_vars, allow_unpinned=allow_unpinned)
    return Loaded(inventory, playbook, spec)


def open_fleet(hosts: tuple[Host, ...], forks: int = 20, accept_new_host_keys: bool = False) -> Fleet:
    return Fleet(hosts, forks=forks, accept_new_host_keys=accept_new_host_keys)


def plan_from_facts(loaded: Loaded, facts: Mapping[str, HostFacts]) -> Plan:
    spec = loaded.spec
    return make_plan(loaded.inventory, spec.hosts, facts, spec.release, spec.batches, spec.programs)


def probe_hosts(spec: RunSpec) -> list[Host]:
    """The run's hosts as the probe sees them: a variable the probe reads that a step owns
    (`leader_schedule`, restart_node's) as the host's step renders it (inventory, playbook or -e, by the
    documented precedence), so the facts record reads the schedule the plan will use."""
    owned = {name for action in ACTIONS.values() for name in action.probe_vars}
    hosts = []
    for host in spec.hosts:
        rendered: dict[str, Any] = {}  # the first step that owns a variable decides it
        for p in spec.programs.get(host.name, ()):
            rendered.update({k: v for k, v in p.operation.probe_vars().items() if k not in rendered})
        variables = {k: v for k, v in host.vars.items() if k not in owned}
        variables.update({k: v for k, v in rendered.items() if v is not None})
        hosts.append(replace(host, vars=MappingProxyType(variables)))
    return hosts


def gather_and_plan(loaded: Loaded, fleet: Fleet) -> tuple[dict[str, HostFacts], Plan]:
    facts = gather_facts(fleet, probe_hosts(loaded.spec))
    plan = plan_from_facts(loaded, facts)
    return facts, check_hook_hosts(plan, fleet, facts)


# A hook runs under coreutils' `timeout` on its host (roll/remote.py): the probe checks it is there.
HOOK_HOST_PROBE = "command -v timeout >/dev/null || { echo 'coreutils timeout is missing' >&2; exit 1; }"


def check_hook_hosts(plan: Plan, fleet: Fleet, facts: Mapping[str, HostFacts], timeout: float = 60.0) -> Plan:
    """Probe, with the fleet and before anything changes, every host a pending host's drain or return
    hook runs on that the facts did not already reach (a load balancer with `cardano_role: helper`,
    a host --limit leaves out). A host whose hook host does not answer is not steady
    (`live_state` "hook host NAME unreachable"): the plan says so and a run refuses before any change,
    rather than restart nodes and fail at the first drain."""
    targets: dict[str, Host] = {}
    for hp in plan.pending:
        for hook in (hp.drain, hp.return_hook):
            if hook is None:
                continue
            seen = facts.get(hook.on.name)
            if seen is None or not seen.reachable:
                targets.setdefault(hook.on.name, hook.on)
    if not targets:
        return plan
    answers = fleet.run_all(list(targets.values()), lambda _h: HOOK_HOST_PROBE, timeout=timeout)
    down = {name: (res.error or res.stderr.strip() or f"exit {res.exit_code}")
            for name, res in answers.items() if not res.ok}  # fmt: skip
    if not down:
        return plan
    hosts = []
    for hp in plan.hosts:
        bad = next((h.on.name for h in (hp.drain, hp.return_hook) if hp.changed and h is not None and h.on.name in down),
                   None)  # fmt: skip
        if bad is None:
            hosts.append(hp)
            continue
        hook = next(h for h in (hp.drain, hp.return_hook) if h is not None and h.on.name == bad)
        hosts.append(replace(hp, live_state=f"hook host {bad} unreachable",
                             error=f"its {hook.kind} hook runs on {bad}, which does not answer ({down[bad]}): "
                                   "nothing is changed anywhere until it does"))  # fmt: skip
    return replace(plan, hosts=tuple(hosts))


def recheck_host(loaded: Loaded, fleet: Fleet, hp: HostPlan, run_id: str | None = None) -> Recheck:
    """Just before a host's turn: probe it again (one round trip) and plan it from what it holds now,
    with its own program, so the rollout writes nothing computed from bytes that are no longer there.
    `run_id`: the run asking, whose own lock on the host is no reason to refuse it."""
    host = hp.host
    facts = gather_facts(fleet, [host])[host.name]
    if run_id is not None and facts.run_lock == run_id:
        facts = replace(facts, run_lock=None)
    spec = loaded.spec
    fresh = replace(plan_host(host, loaded.inventory, facts, spec.release, spec.programs.get(host.name, ())),
                    last_start_seconds=facts.last_start_seconds)  # fmt: skip
    digests: dict[str, str | None] = {}
    if facts.reachable and facts.error is None:  # otherwise nothing is known about the files now
        digests = {host.layout.config_path: facts.config_sha256, host.layout.topology_path: facts.topology_sha256}
    return Recheck(fresh, digests)


def sample_host(fleet: Fleet, host: Host, clock: Any = time.time, max_skew: float = MAX_CLOCK_SKEW_SECONDS) -> GateSample:
    """One gate sample = one facts round trip. The expected slot comes from the host's own clock, read
    in the same probe as the tip (facts/clock.py), unless it is more than `max_skew` seconds off the
    control machine's (`clock`); then from the control machine's."""
    facts = gather_facts(fleet, [host], sections=HEALTH_SECTIONS)[host.name]
    now, _which = reference_time(facts.host_time, clock(), max_skew)
    return sample_from_facts(facts, time.monotonic(), network(host.network).expected_slot(now))
