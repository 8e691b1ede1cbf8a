"""Immutable values that flow one way through the program: inventory → facts → plan → outcome.

Nothing here does I/O. Modules add their own frozen dataclasses next to their logic when the
value is private to them; the ones shared by several modules live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from orchestrator.cardano.layouts import Layout
from orchestrator.cardano.releases import ReleasePin as ReleasePin  # re-exported: hosts, plans and runs name it
from orchestrator.cardano.roles import PassiveTopology as PassiveTopology  # re-exported: inventories name it
from orchestrator.cardano.roles import Role as Role  # re-exported: every stage names a host's role
from orchestrator.patterns.host_patterns import HostUniverse, limit_selection, universe_from
from orchestrator.patterns.host_patterns import select as select_hosts

# The run lock on each host (a directory: mkdir is atomic; its run_id file names the holder): taken by
# roll/remote.py, read by the facts probe (facts/sections.py). Not under /run/lock: that does not
# survive a reboot, and a reboot mid-run must still be resumable.
LOCK_DIR = "/var/lib/cardano-fleet/run.lock"

# The inventory groups that give a host its role (or `cardano_role` on the host).
ROLE_GROUPS: Mapping[str, Role] = MappingProxyType(
    {"relays": Role.RELAY, "block_producers": Role.BLOCK_PRODUCER, "passive_nodes": Role.PASSIVE}
)


# A standby producer: its group and its `cardano_role` (a block producer that stands by another one).
STANDBY_GROUP = "standby_producers"
STANDBY_ROLE = "standby_producer"


class PlanAction(StrEnum):
    """How a host's change is applied: a restart, a SIGHUP (topology only, P2P on), or nothing."""

    RESTART = "restart"
    RELOAD = "reload"
    NONE = "none"


class HostStatus(StrEnum):
    """A host's outcome in a run report."""

    UPGRADED = "upgraded"  # changed and passed its gate
    UNCHANGED = "unchanged"  # the plan had nothing to do
    ROLLED_BACK = "rolled_back"  # failed, restored byte for byte, back in sync
    FAILED = "failed"  # failed and not (fully) restored
    SKIPPED = "skipped"  # could not be planned (unreachable, unusable files)
    UNTOUCHED = "untouched"  # the rollout stopped before its turn
    DEFERRED = "deferred"  # a block producer left untouched: no restart window between its leader slots
    REFUSED = "refused"  # a block producer left untouched: its KES expires within the threshold


class Phase(StrEnum):
    """The journal's vocabulary. Host phases in order: planned, staged, backed_up, files_written,
    binary_switched, restarted (or reloaded), gate_passed, done; or failed, rolling_back, rolled_back
    (rollback_failed). The run's own events are recorded on host "*"."""

    PLANNED = "planned"
    STAGED = "staged"
    STAGE_FAILED = "stage_failed"
    BACKED_UP = "backed_up"
    FILES_WRITTEN = "files_written"
    BINARY_SWITCHED = "binary_switched"
    RESTARTED = "restarted"
    RELOADED = "reloaded"
    GATE_PASSED = "gate_passed"
    DONE = "done"
    FAILED = "failed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    RUN_STARTED = "run_started"
    PAUSED = "paused"
    RUN_ENDED = "run_ended"
    DRAINED = "drained"  # the drain hook ran: the node is out of rotation
    DRAIN_FAILED = "drain_failed"  # the drain hook failed: nothing else was done on the host
    RETURNED = "returned"  # the return hook ran: the node is back in rotation
    RETURN_FAILED = "return_failed"  # the return hook failed: the node may be out of rotation
    GATE_SAMPLE = "gate_sample"  # live view only, never journaled
    NODE_PHASE = "node_phase"  # an observation (the node's start-up phase changed), not a rollout step
    LEADER_WAIT = "leader_wait"  # a block producer waits for a leader slot to pass before its restart
    DEFERRED = "deferred"  # a block producer left untouched (no window, or KES): nothing changed
    WINDOW_COUNTDOWN = "window_countdown"  # live view only, never journaled
    REPLANNED = "replanned"  # a file changed on the host since the plan: planned again from its new bytes
    LEFT_UNTOUCHED = "left_untouched"  # changed since the plan and not re-plannable (or a write conflict)
    SOAK_PASSED = "soak_passed"  # in sync held for the soak after the gate
    CONNECTION_LOST = "connection_lost"  # an observation: SSH to the host dropped (it is tried again)
    RECONNECTED = "reconnected"  # an observation: the host answers again
    RUN_RESUMED = "run_resumed"  # `run --resume` took the run up again (and says how its last attempt ended)
    APPROVED = "approved"  # the operator approved the rest of the rollout after the canary batch (--step)
    BACKUPS_PRUNED = "backups_pruned"  # a successful run removed backups beyond the retention (not a step)
    LEDGER_BACKED_UP = "ledger_backed_up"  # across a ledger-snapshot boundary: db/ledger copied, node stopped
    LEDGER_ABSENT = "ledger_absent"  # no db/ledger at the layout's db_path: nothing kept (a rollback replays)
    CONVERTED = "converted"  # the target's snapshot-converter converted the kept Legacy snapshot (slot, seconds)
    CONVERT_FAILED = "convert_failed"  # it did not: the rollback restores the kept ledger
    SEEDING = "seeding"  # db_seed: the copy from an upgraded host of the role began (actions/seed_db.py)
    SEEDED = "seeded"  # the copy was verified against the source's manifest (source, files, bytes, seconds)
    SEED_FAILED = "seed_failed"  # the copy or its verification failed: the host is rolled back
    LEDGER_RESTORED = "ledger_restored"  # a rollback put db/ledger back as the backup holds it
    LEDGER_NOT_RESTORED = "ledger_not_restored"  # it could not: the old node replays from genesis
    # The block producer handover (roll/handover.py; payloads in roll/handover_events.py), journaled on
    # the pool's original producer: a step it entered, what it saw of the two producers' forging (an
    # observation), and how it ended (which host forges).
    HANDOVER_STEP = "handover_step"
    FORGERS_SEEN = "forgers_seen"
    HANDOVER_ENDED = "handover_ended"


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Host:
    """One cardano-node host, with every inventory variable already resolved."""

    name: str
    role: Role
    address: str  # where SSH connects (ansible_host, default: name)
    layout: Layout  # paths and unit name, per-host overrides applied
    port: int = 22
    user: str = "root"
    key_file: str | None = None
    known_hosts_file: str | None = None  # None: ~/.ssh/known_hosts
    proxy_jump: str | None = None  # "[user@]host[:port]" or an inventory host name
    become: bool = False
    become_password_env: str | None = None  # name of the env var holding the sudo password
    node_address: str = ""  # where peers reach the node (default: address)
    node_port: int = 0  # default: the layout's port
    network: str = "mainnet"
    groups: tuple[str, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=_frozen)  # all resolved vars, for templating
    # A standby block producer (group `standby_producers` or `cardano_role: standby_producer`): the
    # active producer it stands by, for the forging handover (roll/handover.py). Its role stays
    # BLOCK_PRODUCER: its files, peers and key safety are a producer's.
    standby_for: str | None = None

    @property
    def is_producer(self) -> bool:
        return self.role is Role.BLOCK_PRODUCER

    @property
    def is_standby(self) -> bool:
        return self.standby_for is not None

    @property
    def role_label(self) -> str:
        """The role as reports show it: a standby producer says whose."""
        return f"{self.role.value} (standby for {self.standby_for})" if self.standby_for else self.role.value

    @property
    def peer_address(self) -> str:
        return self.node_address or self.address

    @property
    def peer_port(self) -> int:
        return self.node_port or self.layout.node_port


@dataclass(frozen=True)
class Inventory:
    source: str  # the file it was read from, for messages
    hosts: tuple[Host, ...]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=_frozen)  # group → host names
    warnings: tuple[str, ...] = ()  # "path:line:col: message" for things accepted but ignored
    helpers: tuple[Host, ...] = ()  # cardano_role: helper — no node; only drain/return hooks run there
    # group → hosts in Ansible's order (`all`, `ungrouped` first), helpers included, for host patterns;
    # empty: derived from `groups` (orchestrator.patterns.host_patterns.universe_from)
    pattern_groups: Mapping[str, tuple[str, ...]] = field(default_factory=_frozen)
    # hosts listed and left alone (a control host, hosts of other services): name → why
    skipped: Mapping[str, str] = field(default_factory=_frozen)

    def host(self, name: str) -> Host:
        """A node host or a helper (a delegate_to target) by name; KeyError when neither."""
        for h in (*self.hosts, *self.helpers):
            if h.name == name:
                return h
        raise KeyError(name)

    @property
    def relays(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role is Role.RELAY)

    @property
    def block_producers(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role is Role.BLOCK_PRODUCER)

    @property
    def passive_nodes(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role is Role.PASSIVE)

    def universe(self) -> HostUniverse:
        """What host patterns match against: Ansible's groups, role groups widened by `cardano_role`."""
        names = tuple(h.name for h in (*self.hosts, *self.helpers))
        groups = dict(self.pattern_groups) if self.pattern_groups else dict(universe_from(names, self.groups).groups)
        for group, role in ROLE_GROUPS.items():
            listed = list(groups.get(group, ()))
            extra = [h.name for h in self.hosts if h.role is role and h.name not in listed]
            if extra or group in groups:
                groups[group] = (*listed, *extra)
        listed = list(groups.get(STANDBY_GROUP, ()))
        extra = [h.name for h in self.hosts if h.is_standby and h.name not in listed]
        if extra or STANDBY_GROUP in groups:
            groups[STANDBY_GROUP] = (*listed, *extra)
        return HostUniverse(names, groups)

    def select(self, pattern: str | None, *, is_limit: bool = False) -> tuple[Host, ...]:
        """The node hosts an Ansible host pattern selects (orchestrator.patterns.host_patterns), in inventory
        order; `is_limit`: a `--limit` (its `@FILE` terms read). Helpers are never selected."""
        if not pattern:
            return self.hosts
        chosen = set(select_hosts(pattern, self.universe(), is_limit=is_limit))
        return tuple(h for h in self.hosts if h.name in chosen)

    def limit(self, pattern: str | None) -> tuple[Host, ...]:
        """The node hosts a `--limit` keeps; HostPatternError (naming the terms that matched nothing,
        with a close name) when it keeps none."""
        if not pattern:
            return self.hosts
        kept = set(limit_selection(pattern, self.universe(), [h.name for h in self.hosts]))
        return tuple(h for h in self.hosts if h.name in kept)


@dataclass(frozen=True)
class Hook:
    """An operator's command run for one host around its change: `drain` before anything is touched
    (take it out of a load balancer, stop db-sync), `return` after its gate passed or after its
    rollback (put it back, restart what follows the node). It runs with `sh -c` on `on`: the node's
    own host or another inventory host (delegate_to, e.g. the balancer), killed after `timeout`
    seconds. A non-zero exit or the timeout is a failure."""

    kind: str  # "drain" or "return"
    command: str
    on: Host
    timeout: float  # seconds
    source: str = ""  # the step's file:line:col

    def __str__(self) -> str:
        return f"{self.kind} on {self.on.name}"


# --- playbooks: what to do, in which order, to which hosts (see orchestrator/playbook.py) -------------


@dataclass(frozen=True)
class Serial:
    """Ansible's `serial`: batch sizes (int or "N%"), the last one repeating; empty = all hosts at once."""

    sizes: tuple[int | str, ...] = ()

    def __str__(self) -> str:
        if not self.sizes:
            return "all"
        return ", ".join(str(s) for s in self.sizes)


@dataclass(frozen=True)
class Step:
    """One built-in action with its (still templated) arguments, and where it was written."""

    action: str
    args: Mapping[str, Any] = field(default_factory=_frozen)
    name: str = ""
    role: str = ""
    path: str = ""  # the steps file, for messages
    line: int = 0  # 1-based
    column: int = 0  # 1-based

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class RoleRef:
    """A role as a stage applies it: its defaults, its params from the playbook and its ordered steps."""

    name: str
    steps: tuple[Step, ...]
    defaults: Mapping[str, Any] = field(default_factory=_frozen)  # lowest precedence
    params: Mapping[str, Any] = field(default_factory=_frozen)  # `vars:` on the role entry in the playbook
    steps_from: str = "steps"  # which steps file of the role (like Ansible's tasks_from)
    path: str = ""  # the role's directory


@dataclass(frozen=True)
class HealthFloor:
    """`min_healthy: {GROUP: COUNT}`: never fewer than COUNT members of GROUP (in the whole inventory,
    --limit or not) healthy outside the next batch, from fresh samples; otherwise the rollout pauses.
    Kubernetes' maxUnavailable in spirit; min_healthy_relays is the same rule for the relays."""

    group: str
    count: int
    loc: tuple[str, int, int] = ("", 0, 0)  # where the playbook says it, for errors


@dataclass(frozen=True)
class Stage:
    """One play: a host pattern, how to batch it, and the roles to apply to each host in order."""

    name: str
    hosts: str  # an Inventory.select() pattern
    roles: tuple[RoleRef, ...]
    serial: Serial = Serial()
    parallel: bool = False  # all matching hosts at once (only for steps that disturb nothing)
    max_fail_percentage: float = 0.0
    min_healthy_relays: int = 0
    vars: Mapping[str, Any] = field(default_factory=_frozen)
    min_healthy: tuple[HealthFloor, ...] = ()

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(step for role in self.roles for step in role.steps)


Play = Stage  # Ansible's word for the same thing


@dataclass(frozen=True)
class Playbook:
    """Ordered stages; the rollout runs them one after the other and stops at the first failed stage."""

    name: str
    source: str  # the file it was read from, for messages
    stages: tuple[Stage, ...]
    vars: Mapping[str, Any] = field(default_factory=_frozen)
    pause_after: str | None = None  # "canary": the run asks for approval after the first batch (run --step)
    warnings: tuple[str, ...] = ()  # "path:line:col: message": deprecated names read as their new ones
