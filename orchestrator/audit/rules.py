"""Compliance checks → findings: is every node pinned, P2P, wired for its role, in sync, not drifting?

Pure core: `audit_host(host, facts, inventory, policy, now)` and `audit(inventory, facts, policy, now)`
read values only (facts already gathered, the inventory, a Policy, a clock reading) and return
findings; nothing here prints or connects. `load_policy` reads the policy YAML file (the one
place with I/O, like `load_inventory`), so that errors name `file:line:col`.

Every rule has an id, a description, the roles it applies to and a default severity (RULES). A
policy can disable a rule, change its severity, and pin values (Policy). Every rule that applies
to a host yields exactly one Finding for it, passed or not; when the host could not be probed the
other rules are reported as skipped, so an unreachable host is never silently left out.

Choices, documented in docs/audit.md:
- One facts sample per host. "Advancing" is judged from that sample: a node whose tip is within
  `max_stall_slots` (default 600 = 10 minutes, gLiveView's "behind" bound) of the wall-clock slot
  has advanced recently; a stalled node falls one slot per second further behind, so it fails
  once the bound is crossed. In sync is the stricter `max_slot_lag` (default 20).
- The reference clock for the slot lag is the host's own clock (read in the same probe as the
  tip, so the probe's duration does not count as lag) unless it differs from the control
  machine's by more than `max_clock_skew_seconds`; then the control machine's clock is used.
- `node-user`: facts hold no process owner (one probe, no `ps`), so the rule uses what they do
  hold: when the layout's `run_as` is root it passes (the lab layouts, and both built-in layouts,
  say root); otherwise config.json and pool key files owned by root are a sign the node runs as
  root (or cannot read them), and fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from orchestrator.cardano import node_rules
from orchestrator.cardano.config import infer_network
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.health import metric_int
from orchestrator.cardano.networks import NETWORKS
from orchestrator.cardano.networks import network as network_named
from orchestrator.cardano.releases import CLI_VERSIONS
from orchestrator.cardano.topology import Topology, advertised_addresses, parse_topology
from orchestrator.facts.probe import HostFacts
from orchestrator.load.inventory import SourceError, did_you_mean, key_loc, load_yaml, node_loc, value_loc
from orchestrator.model import Host, Inventory
from orchestrator.plan import ReleasePin, own_peers, plan_host

# cardano-cli as shipped with each node release; a policy can pin `pinned_cli_version` explicitly.
CLI_VERSION_FOR_NODE: Mapping[str, str] = MappingProxyType(CLI_VERSIONS)


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


class Applies(StrEnum):
    ALL = "all"
    RELAY = "relay"
    BLOCK_PRODUCER = "block_producer"


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severity: Severity
    applies_to: Applies = Applies.ALL
    category: str = "node"

    def applies(self, host: Host) -> bool:
        if self.applies_to is Applies.ALL:
            return True
        return (self.applies_to is Applies.BLOCK_PRODUCER) == host.is_producer


E, W = Severity.ERROR, Severity.WARNING
RELAY, BP = Applies.RELAY, Applies.BLOCK_PRODUCER

RULES: tuple[Rule, ...] = (
    Rule("host-reachable", "the host answers SSH and the facts probe runs", E, category="reachability"),
    Rule("node-version", "cardano-node --version equals the pinned version", E, category="version"),
    Rule("cli-version", "cardano-cli --version equals the cli shipped with the pinned node version", E,
         category="version"),  # fmt: skip
    Rule("service-enabled", "the node's systemd unit is enabled (starts at boot)", E, category="service"),
    Rule("service-active", "the node's systemd unit is active (running)", E, category="service"),
    Rule("p2p-enabled", "config.json has EnableP2P: true", E, category="p2p"),
    Rule("topology-p2p-format", "topology.json is in the 8.9.0 P2P format (localRoots/publicRoots)", E,
         category="p2p"),  # fmt: skip
    Rule("topology-valid", "the running node version accepts topology.json in the mode EnableP2P selects", E,
         category="p2p"),  # fmt: skip
    Rule("config-valid", "the running node version accepts config.json (keys, types, PeerSharing type)", E,
         category="config"),  # fmt: skip
    Rule("conway-genesis-hash", "ConwayGenesisHash equals the blake2b-256 of the conway genesis file on the host",
         E, category="config"),  # fmt: skip
    Rule("network-match", "config.json's genesis hashes are those of the host's network (and the policy's)", E,
         category="config"),  # fmt: skip
    Rule("bp-no-ledger-peers", "block producer: useLedgerAfterSlot absent or negative", E, BP, "role"),
    Rule("bp-no-bootstrap-peers", "block producer: no bootstrapPeers", E, BP, "role"),
    Rule("bp-no-public-roots", "block producer: publicRoots have no access points", E, BP, "role"),
    Rule("bp-peer-sharing-off", "block producer: PeerSharing is false in config.json", E, BP, "role"),
    Rule("bp-local-roots", "block producer: local roots are exactly its relays, none advertised", E, BP, "role"),
    Rule("relay-bp-not-advertised", "relay: no block producer address is advertised in its topology", E, RELAY,
         "role"),  # fmt: skip
    Rule("relay-bootstrap-peers", "relay: bootstrapPeers are the network's defaults", W, RELAY, "role"),
    Rule("relay-ledger-peers", "relay: useLedgerAfterSlot is the network's default", W, RELAY, "role"),
    Rule("node-in-sync", "the tip is within max_slot_lag slots of the wall-clock slot", E, category="sync"),
    Rule("node-advancing", "the node reports a tip no more than max_stall_slots behind (not stalled)", E,
         category="sync"),  # fmt: skip
    Rule("hot-peers", "at least min_hot_peers hot peers (metrics, else established node connections)", E,
         category="sync"),  # fmt: skip
    Rule("drift", "the upgrade playbook would change nothing on the host (plan is empty)", E, category="drift"),
    Rule("key-permissions", "block producer: pool key files not readable by group or other", E, BP, "hygiene"),
    Rule("node-user", "the node does not run as root where the layout's run_as says otherwise", W,
         category="hygiene"),  # fmt: skip
    Rule("free-disk", "free space on the database filesystem is at least min_free_disk_bytes", W,
         category="hygiene"),  # fmt: skip
)
RULES_BY_ID: Mapping[str, Rule] = MappingProxyType({r.id: r for r in RULES})
REACHABLE = "host-reachable"


# ----------------------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class Policy:
    """What compliant means for one fleet; every field has a documented default."""

    pinned_version: str = "8.9.0"
    pinned_cli_version: str | None = None  # None: CLI_VERSION_FOR_NODE[pinned_version]
    max_slot_lag: int = 20
    max_stall_slots: int = 600
    max_clock_skew_seconds: int = 30
    min_hot_peers: int = 1
    min_free_disk_bytes: int = 20 * 1024**3
    network: str | None = None  # every host must be on this network (None: the inventory's own)
    fail_on: Severity = Severity.ERROR
    disabled: frozenset[str] = frozenset()
    severities: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "(defaults)"

    def severity(self, rule: Rule) -> Severity:
        return self.severities.get(rule.id, rule.severity)

    def enabled(self, rule: Rule) -> bool:
        return rule.id not in self.disabled

    @property
    def cli_version(self) -> str | None:
        return self.pinned_cli_version or CLI_VERSION_FOR_NODE.get(self.pinned_version)


class PolicyError(SourceError):
    """The policy file is unusable; str is `path:line:col: message`."""


_INT_KEYS: Mapping[str, int] = MappingProxyType({
    "max_slot_lag": 0, "max_stall_slots": 0, "max_clock_skew_seconds": 0, "min_hot_peers": 0,
    "min_free_disk_bytes": 0,
})  # fmt: skip  (name → minimum)
_STR_KEYS = ("pinned_version", "pinned_cli_version", "network")
_POLICY_KEYS = (*_INT_KEYS, *_STR_KEYS, "fail_on", "rules")


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy YAML file; raises PolicyError naming file:line:col."""
    where = str(path)
    data = load_yaml(Path(path), PolicyError)
    return parse_policy(data, where)


def parse_policy(data: Any, where: str) -> Policy:
    """A round-trip YAML value (positions kept) → Policy; raises PolicyError."""
    top: tuple[str, int, int] = (where, 1, 1)
    if data is None:
        return Policy(source=where)
    if not isinstance(data, Mapping):
        raise PolicyError(*node_loc(data, top), "a policy is a mapping of settings (see docs/audit.md)")
    values: dict[str, Any] = {"source": where}
    for key, value in data.items():
        kloc, vloc = key_loc(data, key, top), value_loc(data, key, top)
        name = str(key)
        if name not in _POLICY_KEYS:
            hint = did_you_mean(name, _POLICY_KEYS)
            tail = f" — did you mean '{hint}'?" if hint else f"; expected one of {', '.join(_POLICY_KEYS)}"
            raise PolicyError(*kloc, f"unknown policy key '{name}'{tail}")
        if name in _INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or value < _INT_KEYS[name]:
                raise PolicyError(*vloc, f"'{name}' must be a whole number ≥ {_INT_KEYS[name]}, not {value!r}")
            values[name] = int(value)
        elif name in _STR_KEYS:
            if value is None and name != "pinned_version":
                values[name] = None
                continue
            if not isinstance(value, str) or not value.strip():
                raise PolicyError(*vloc, f"'{name}' must be a string (quote versions: \"8.9.0\"), not {value!r}")
            if name == "network" and value not in NETWORKS:
                raise PolicyError(*vloc, f"unknown network {value!r}; expected one of {', '.join(NETWORKS)}")
            values[name] = str(value).strip()
        elif name == "fail_on":
            if value not in ("warning", "error"):
                raise PolicyError(*vloc, f"'fail_on' must be warning or error, not {value!r}")
            values[name] = Severity(value)
        elif name == "rules":
            values["disabled"], values["severities"] = _parse_rules(value, vloc, where)
    return Policy(**values)


def _parse_rules(value: Any, loc: tuple[str, int, int], where: str) -> tuple[frozenset[str], Mapping[str, Severity]]:
    if not isinstance(value, Mapping):
        raise PolicyError(*loc, "'rules' must be a mapping of rule id → {enabled: bool, severity: ...}")
    disabled: set[str] = set()
    severities: dict[str, Severity] = {}
    for rule_id, settings in value.items():
        kloc, vloc = key_loc(value, rule_id, loc), value_loc(value, rule_id, loc)
        rid = str(rule_id)
        if rid not in RULES_BY_ID:
            hint = did_you_mean(rid, RULES_BY_ID)
            tail = f" — did you mean '{hint}'?" if hint else " (cardano-fleet audit --list-rules shows them)"
            raise PolicyError(*kloc, f"unknown rule '{rid}'{tail}")
        if isinstance(settings, bool):  # shorthand: `drift: false`
            settings = {"enabled": settings}
        if isinstance(settings, str):  # shorthand: `free-disk: error`
            settings = {"severity": settings}
        if not isinstance(settings, Mapping):
            raise PolicyError(*vloc, f"rule '{rid}': expected a mapping with enabled/severity, not {settings!r}")
        for skey, svalue in settings.items():
            sloc = value_loc(settings, skey, vloc)
            if skey == "enabled":
                if not isinstance(svalue, bool):
                    raise PolicyError(*sloc, f"rule '{rid}': enabled must be true or false, not {svalue!r}")
                if not svalue:
                    if rid == REACHABLE:
                        raise PolicyError(*sloc, f"rule '{REACHABLE}' cannot be disabled: unreachable hosts are "
                                                 "always reported")  # fmt: skip
                    disabled.add(rid)
            elif skey == "severity":
                if svalue not in ("info", "warning", "error"):
                    raise PolicyError(*sloc, f"rule '{rid}': severity must be info, warning or error, not {svalue!r}")
                severities[rid] = Severity(svalue)
            else:
                raise PolicyError(*key_loc(settings, skey, vloc), f"rule '{rid}': unknown setting '{skey}'; "
                                                                   "expected enabled or severity")  # fmt: skip
    return frozenset(disabled), MappingProxyType(severities)


# --------------------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class Finding:
    host: str
    rule: str
    severity: Severity
    passed: bool
    message: str
    detail: str = ""  # more text (a diff for `drift`, the node's error text, ...)
    skipped: bool = False  # not evaluated: the host could not be probed

    @property
    def failed(self) -> bool:
        return not self.passed and not self.skipped


@dataclass(frozen=True)
class HostAudit:
    host: str
    role: str
    reachable: bool
    slot_lag: int | None
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class AuditReport:
    source: str  # the inventory
    policy: Policy
    timestamp: float
    hosts: tuple[HostAudit, ...]

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for h in self.hosts for f in h.findings)

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.failed)

    @property
    def failing(self) -> tuple[Finding, ...]:
        """Failures at or above the policy's fail_on severity."""
        bar = self.policy.fail_on.rank
        return tuple(f for f in self.failures if f.severity.rank >= bar)

    @property
    def unreachable(self) -> tuple[str, ...]:
        return tuple(f.host for f in self.findings if f.rule == REACHABLE and not f.passed)

    @property
    def exit_code(self) -> int:
        """2: a host could not be audited (unreachable/probe failed); 1: failing findings; 0: compliant."""
        if self.unreachable:
            return 2
        return 1 if self.failing else 0

    @property
    def compliant(self) -> bool:
        return self.exit_code == 0


# ----------------------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class _Ctx:
    host: Host
    facts: HostFacts
    inventory: Inventory
    policy: Policy
    now: float

    @property
    def rules_version(self) -> str:
        """Which node's rules to read the files by: the running version, else the pinned one."""
        for v in (self.facts.node_version, self.policy.pinned_version):
            if v in node_rules.VERSIONS:
                return v
        return node_rules.VERSIONS[-1]


Result = tuple[bool, str, str]  # passed, message, detail


def _probe_why(facts: HostFacts, *sections: str) -> str:
    reasons = [f"{s}: {facts.probe_errors[s]}" for s in sections if s in facts.probe_errors]
    return "; ".join(reasons) if reasons else "not reported by the host"


def _check_version(c: _Ctx) -> Result:
    want, got = c.policy.pinned_version, c.facts.node_version
    if got is None:
        return False, f"cardano-node version unknown ({_probe_why(c.facts, 'binary', 'node_version')})", ""
    if got != want:
        return False, f"cardano-node is {got}, pinned {want}", ""
    return True, f"cardano-node {got}", ""


def _check_cli(c: _Ctx) -> Result:
    want, got = c.policy.cli_version, c.facts.cli_version
    if got is None:
        return False, f"cardano-cli version unknown ({_probe_why(c.facts, 'cli_version')})", ""
    if want is None:
        return False, f"cardano-cli is {got}; no known cli version for node {c.policy.pinned_version}: " \
                      "set pinned_cli_version in the policy", ""  # fmt: skip
    if got != want:
        return False, f"cardano-cli is {got}, expected {want} (shipped with node {c.policy.pinned_version})", ""
    return True, f"cardano-cli {got}", ""


def _unit_state(c: _Ctx, state: str | None, want: str) -> Result:
    unit = c.host.layout.service_name
    if state == want:
        return True, f"{unit} is {want}", ""
    return False, f"{unit} is {state or 'unknown'} (expected {want})", ""


def _check_enabled(c: _Ctx) -> Result:
    return _unit_state(c, c.facts.service_enabled, "enabled")


def _check_active(c: _Ctx) -> Result:
    return _unit_state(c, c.facts.service_active, "active")


def _no_config(c: _Ctx) -> Result:
    return False, f"{c.host.layout.config_path} unreadable ({_probe_why(c.facts, 'config')})", ""


def _no_topology(c: _Ctx) -> Result:
    return False, f"{c.host.layout.topology_path} unreadable ({_probe_why(c.facts, 'topology')})", ""


def _check_p2p(c: _Ctx) -> Result:
    if c.facts.config_text is None:
        return _no_config(c)
    p2p = c.facts.enable_p2p
    if p2p is None:
        return False, "config.json is not a JSON object", ""
    return (True, "EnableP2P is true", "") if p2p else (False, "EnableP2P is false or absent", "")


def _check_topology_format(c: _Ctx) -> Result:
    if c.facts.topology_text is None:
        return _no_topology(c)
    fmt = c.facts.topology_format
    if fmt == "p2p":
        return True, "topology.json is in the P2P format", ""
    return False, f"topology.json is in the {fmt} format, not the 8.9.0 P2P format", ""


def _check_topology_valid(c: _Ctx) -> Result:
    if c.facts.topology_text is None:
        return _no_topology(c)
    if c.facts.enable_p2p is None:
        return False, "cannot tell which format the node expects: config.json unreadable", ""
    version = c.rules_version
    p2p = bool(c.facts.enable_p2p)
    errors, warnings = node_rules.check_topology(version, p2p, c.facts.topology_text)
    mode = "P2P" if p2p else "non-P2P"
    if errors:
        return False, f"cardano-node {version} would refuse topology.json ({mode})", "\n".join(errors)
    note = f" (warning: {warnings[0].splitlines()[0]})" if warnings else ""
    return True, f"cardano-node {version} accepts topology.json ({mode}){note}", "\n".join(warnings)


def _check_config_valid(c: _Ctx) -> Result:
    if c.facts.config_text is None:
        return _no_config(c)
    version = c.rules_version
    checked = node_rules.check_config(version, c.facts.config_text)  # genesis: conway-genesis-hash
    if not checked.ok:
        return False, f"cardano-node {version} would refuse config.json", "\n".join(checked.errors)
    return True, f"cardano-node {version} accepts config.json", ""


def _check_genesis(c: _Ctx) -> Result:
    cfg = c.facts.config
    if not isinstance(cfg, dict):
        return _no_config(c) if c.facts.config_text is None else (False, "config.json is not a JSON object", "")
    expected = cfg.get("ConwayGenesisHash")
    conway = c.facts.genesis.get("conway")
    if conway is None or conway.blake2b is None:
        where = conway.path if conway is not None else cfg.get("ConwayGenesisFile", "ConwayGenesisFile")
        return False, f"conway genesis file {where} unreadable ({_probe_why(c.facts, 'genesis', 'genesis.conway')})", ""
    if not isinstance(expected, str):
        return True, "no ConwayGenesisHash in config.json (the node does not check it)", ""
    if expected.lower() != conway.blake2b:
        return (False, f"ConwayGenesisHash {expected[:16]}… ≠ blake2b-256 of {conway.path} ({conway.blake2b[:16]}…)",
                f"config.json ConwayGenesisHash: {expected}\n{conway.path} blake2b-256: {conway.blake2b}")  # fmt: skip
    return True, f"ConwayGenesisHash matches {conway.path}", ""


def _check_network(c: _Ctx) -> Result:
    cfg = c.facts.config
    if not isinstance(cfg, dict):
        return _no_config(c) if c.facts.config_text is None else (False, "config.json is not a JSON object", "")
    want = c.policy.network
    if want is not None and c.host.network != want:
        return False, f"the inventory puts the host on {c.host.network}, the policy requires {want}", ""
    found = infer_network(cfg)
    if found is None:
        return False, "config.json's genesis hashes match no known network", ""
    if found != c.host.network:
        return False, f"config.json is for {found}, the inventory says {c.host.network}", ""
    return True, f"config.json is for {found}", ""


def _parsed_topology(c: _Ctx) -> tuple[Topology | None, Result | None]:
    if c.facts.topology_text is None:
        return None, _no_topology(c)
    data = c.facts.topology
    if data is None:
        return None, (False, "topology.json is not JSON", "")
    try:
        return parse_topology(data, c.host.layout.topology_path), None
    except FileFormatError as e:
        return None, (False, f"topology.json cannot be read: {e.message}", str(e))


def _check_bp_ledger(c: _Ctx) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    slot = topo.use_ledger_after_slot
    if slot is not None and slot >= 0:
        return False, f"useLedgerAfterSlot is {slot}: a block producer must not use ledger peers (-1 or absent)", ""
    return True, "no ledger peers" if slot is None else f"useLedgerAfterSlot is {slot}", ""


def _check_bp_bootstrap(c: _Ctx) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    if topo.bootstrap_peers:
        names = ", ".join(f"{p.address}:{p.port}" for p in topo.bootstrap_peers)
        return False, f"bootstrapPeers set on a block producer: {names}", ""
    return True, "no bootstrap peers", ""


def _check_bp_public(c: _Ctx) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    points = [f"{p.address}:{p.port}" for g in topo.public_roots for p in g.access_points]
    if points:
        return False, f"public roots on a block producer: {', '.join(points)}", ""
    return True, "no public roots", ""


def _check_bp_sharing(c: _Ctx) -> Result:
    cfg = c.facts.config
    if not isinstance(cfg, dict):
        return _no_config(c) if c.facts.config_text is None else (False, "config.json is not a JSON object", "")
    if "PeerSharing" not in cfg:
        return False, "PeerSharing is not set: set it to false explicitly on a block producer", ""
    value = cfg["PeerSharing"]
    if value is False or value == "PeerSharingDisabled":  # the 8.7.3 spelling means the same
        return True, f"PeerSharing is {json.dumps(value)}", ""
    return False, f"PeerSharing is {json.dumps(value)} on a block producer (must be false)", ""


def _key(address: str, port: int) -> tuple[str, int]:
    return address.strip().lower().rstrip("."), port


def _check_bp_local_roots(c: _Ctx) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    want = {_key(p.address, p.port) for p in own_peers(c.host, c.inventory)}
    points = [p for g in topo.local_roots for p in g.access_points] + [lp.peer for lp in topo.producers]
    have = {_key(p.address, p.port) for p in points}
    problems = []
    if missing := sorted(want - have):
        problems.append("missing relays: " + ", ".join(f"{a}:{p}" for a, p in missing))
    if extra := sorted(have - want):
        problems.append("not its relays: " + ", ".join(f"{a}:{p}" for a, p in extra))
    if any(g.advertise for g in topo.local_roots):
        problems.append("a local-root group is advertised")
    if problems:
        return False, "; ".join(problems), ""
    return True, f"local roots are its {len(want)} relay(s)", ""


def _check_relay_advertise(c: _Ctx) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None or c.facts.topology is None:
        return bad or _no_topology(c)
    producers = {_key(h.peer_address, 0)[0]: h.name for h in c.inventory.block_producers}
    leaked = sorted(a for a in advertised_addresses(c.facts.topology) if a in producers)
    if leaked:
        return False, "block producer advertised: " + ", ".join(f"{a} ({producers[a]})" for a in leaked), ""
    return True, "no block producer advertised", ""


def _check_relay_bootstrap(c: _Ctx) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    net = network_named(c.host.network)
    want = sorted(_key(p.address, p.port) for p in net.bootstrap_peers)
    if topo.bootstrap_peers is None:
        return False, f"no bootstrapPeers ({c.host.network} default: {_fmt(want)})", ""
    have = sorted(_key(p.address, p.port) for p in topo.bootstrap_peers)
    if have != want:
        return False, f"bootstrapPeers {_fmt(have) or '[]'} differ from the {c.host.network} default {_fmt(want)}", ""
    return True, f"bootstrapPeers are the {c.host.network} default", ""


def _fmt(points: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{a}:{p}" for a, p in points)


def _check_relay_ledger(c: _Ctx) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    want = network_named(c.host.network).use_ledger_after_slot
    have = topo.use_ledger_after_slot
    if have != want:
        shown = "absent" if have is None else str(have)
        return False, f"useLedgerAfterSlot is {shown}, the {c.host.network} default is {want}", ""
    return True, f"useLedgerAfterSlot is the {c.host.network} default ({want})", ""


def reference_time(facts: HostFacts, now: float, max_skew: float) -> tuple[float, str]:
    """The clock the slot lag is measured against (see the module docstring) and a note about it."""
    if facts.host_time is None:
        return now, "control machine's clock"
    skew = facts.host_time - now
    if abs(skew) > max_skew:
        return now, f"control machine's clock (host clock off by {skew:+.0f} s)"
    return float(facts.host_time), "host's clock"


def host_slot_lag(facts: HostFacts, now: float, policy: Policy) -> int | None:
    ref, _ = reference_time(facts, now, policy.max_clock_skew_seconds)
    return facts.slot_lag(ref)


def _no_tip(c: _Ctx) -> Result:
    return False, f"no tip: {c.facts.tip_error or 'the node reported no slot'}", ""


def _tip_lag(c: _Ctx) -> tuple[int, str] | None:
    """Slot lag of the tip against the reference clock (and which clock), or None without a tip."""
    if c.facts.tip is None or c.facts.tip.slot is None:
        return None
    ref, clock = reference_time(c.facts, c.now, c.policy.max_clock_skew_seconds)
    lag = c.facts.slot_lag(ref)
    assert lag is not None
    return lag, clock


def _check_in_sync(c: _Ctx) -> Result:
    measured = _tip_lag(c)
    if measured is None:
        return _no_tip(c)
    lag, clock = measured
    assert c.facts.tip is not None
    where = f"{lag} slot(s) behind" if lag >= 0 else f"{-lag} slot(s) ahead of"
    text = f"slot {c.facts.tip.slot}, {where} the wall-clock slot ({clock})"
    if lag > c.policy.max_slot_lag:
        return False, f"{text}: more than {c.policy.max_slot_lag}", ""
    return True, text, ""


def _check_advancing(c: _Ctx) -> Result:
    measured = _tip_lag(c)
    if measured is None:
        return _no_tip(c)
    lag, _clock = measured
    if lag > c.policy.max_stall_slots:
        return False, f"tip {lag} slots behind (> {c.policy.max_stall_slots}): stalled or far out of sync", ""
    ahead = max(lag, 0)
    return True, f"tip within {ahead} slot(s) of the wall clock: advanced in the last {c.policy.max_stall_slots} s", ""


def hot_peer_count(facts: HostFacts) -> tuple[int, str]:
    hot = metric_int(dict(facts.metrics), "cardano_node_metrics_peerSelection_hot")
    if hot is not None:
        return hot, "peerSelection_hot"
    return len(facts.hot_peer_addresses), "established node connections"


def _check_hot_peers(c: _Ctx) -> Result:
    count, source = hot_peer_count(c.facts)
    if count < c.policy.min_hot_peers:
        return False, f"{count} hot peer(s) ({source}); at least {c.policy.min_hot_peers} wanted", ""
    return True, f"{count} hot peer(s) ({source})", ""


def release_for(host: Host, policy: Policy) -> ReleasePin:
    """The release pinned in the inventory for this host (node_release), else the policy's version."""
    pin = host.vars.get("node_release")
    if isinstance(pin, Mapping) and isinstance(pin.get("version"), str):
        sha = pin.get("sha256")
        return ReleasePin(str(pin["version"]), str(pin.get("url") or ""), sha if isinstance(sha, str) else None,
                          str(pin.get("source") or "download"))  # fmt: skip
    return ReleasePin(policy.pinned_version, "", None)


def _check_drift(c: _Ctx) -> Result:
    # HostFacts is frozen: its read-only fields satisfy what plan_host reads (FactsLike is a Protocol).
    hp = plan_host(c.host, c.inventory, c.facts, release_for(c.host, c.policy))
    if hp.error:
        return False, f"cannot plan: {hp.error}", ""
    if not hp.changed:
        return True, "the upgrade playbook would change nothing", ""
    what = [f"binary {hp.current_version} → {hp.target_version}"] if hp.switch_binary else []
    what += [ch.path for ch in hp.files]
    diff = "\n".join(ch.diff.diff.rstrip("\n") for ch in hp.files if ch.diff.diff)
    return False, "differs from the upgrade playbook: " + ", ".join(what), diff


def _check_keys(c: _Ctx) -> Result:
    if "keys" in c.facts.probe_errors:
        return False, f"cannot stat {c.host.layout.keys_dir}: {c.facts.probe_errors['keys']}", ""
    files = [k for k in c.facts.key_files_stat if k.kind == "f"]
    if not files:
        return True, f"no key files under {c.host.layout.keys_dir}", ""
    loose = [k for k in files if k.mode & 0o077]
    if loose:
        shown = ", ".join(f"{k.path} ({k.mode:04o})" for k in loose)
        return False, f"readable by group/other: {shown}", ""
    return True, f"{len(files)} key file(s), none readable by group/other", ""


def _check_user(c: _Ctx) -> Result:
    run_as = c.host.layout.run_as
    if run_as == "root":
        return True, "the layout runs the node as root (run_as: root)", ""
    owned = []
    if c.facts.config_stat is not None and c.facts.config_stat.owner == "root":
        owned.append(c.host.layout.config_path)
    owned += [k.path for k in c.facts.key_files_stat if k.kind == "f" and k.owner == "root"]
    if owned:
        return False, f"run_as is {run_as} but owned by root (node runs as root, or cannot read them): " \
                      + ", ".join(owned), ""  # fmt: skip
    return True, f"node files are not owned by root (run_as: {run_as})", ""


def _check_disk(c: _Ctx) -> Result:
    free = c.facts.disk_free_bytes
    if free is None:
        return False, f"free disk unknown ({_probe_why(c.facts, 'disk')})", ""
    text = f"{free / 1024**3:.1f} GiB free on {c.host.layout.db_path}'s filesystem"
    if free < c.policy.min_free_disk_bytes:
        return False, f"{text}; at least {c.policy.min_free_disk_bytes / 1024**3:.1f} GiB wanted", ""
    return True, text, ""


_CHECKS = {
    "node-version": _check_version, "cli-version": _check_cli, "service-enabled": _check_enabled,
    "service-active": _check_active, "p2p-enabled": _check_p2p, "topology-p2p-format": _check_topology_format,
    "topology-valid": _check_topology_valid, "config-valid": _check_config_valid,
    "conway-genesis-hash": _check_genesis, "network-match": _check_network,
    "bp-no-ledger-peers": _check_bp_ledger, "bp-no-bootstrap-peers": _check_bp_bootstrap,
    "bp-no-public-roots": _check_bp_public, "bp-peer-sharing-off": _check_bp_sharing,
    "bp-local-roots": _check_bp_local_roots, "relay-bp-not-advertised": _check_relay_advertise,
    "relay-bootstrap-peers": _check_relay_bootstrap, "relay-ledger-peers": _check_relay_ledger,
    "node-in-sync": _check_in_sync, "node-advancing": _check_advancing, "hot-peers": _check_hot_peers,
    "drift": _check_drift, "key-permissions": _check_keys, "node-user": _check_user, "free-disk": _check_disk,
}  # fmt: skip
assert set(_CHECKS) | {REACHABLE} == set(RULES_BY_ID), "every rule has a check"


def audit_host(host: Host, facts: HostFacts, inventory: Inventory, policy: Policy, now: float) -> list[Finding]:
    """One finding per enabled rule that applies to the host, in RULES order."""
    rules = [r for r in RULES if r.applies(host) and policy.enabled(r)]
    reach = RULES_BY_ID[REACHABLE]
    findings: list[Finding] = []
    if not facts.reachable or facts.error is not None:
        why = facts.error or "unreachable"
        message = f"unreachable: {why}" if not facts.reachable else why
        findings.append(Finding(host.name, REACHABLE, policy.severity(reach), False, message))
        for rule in rules:
            if rule.id != REACHABLE:
                findings.append(Finding(host.name, rule.id, policy.severity(rule), False,
                                        "not checked: the host could not be probed", skipped=True))  # fmt: skip
        return findings
    ctx = _Ctx(host, facts, inventory, policy, now)
    for rule in rules:
        if rule.id == REACHABLE:
            passed, message, detail = True, f"probed ({facts.hostname or host.address})", ""
        else:
            passed, message, detail = _CHECKS[rule.id](ctx)
        findings.append(Finding(host.name, rule.id, policy.severity(rule), passed, message, detail))
    return findings


def audit(
    inventory: Inventory,
    facts: Mapping[str, HostFacts],
    policy: Policy,
    now: float,
    hosts: Sequence[Host] | None = None,
) -> AuditReport:
    """Audit the given hosts (default: every inventory host); a host without facts is unreachable."""
    chosen = inventory.hosts if hosts is None else tuple(hosts)
    audits = []
    for host in chosen:
        f = facts.get(host.name) or HostFacts(host.name, reachable=False, error="not probed", network=host.network)
        findings = audit_host(host, f, inventory, policy, now)
        lag = host_slot_lag(f, now, policy) if f.reachable else None
        audits.append(HostAudit(host.name, host.role.value, f.reachable and f.error is None, lag, tuple(findings)))
    return AuditReport(inventory.source, policy, now, tuple(audits))


__all__ = [
    "RULES",
    "RULES_BY_ID",
    "AuditReport",
    "Finding",
    "HostAudit",
    "Policy",
    "PolicyError",
    "Rule",
    "Severity",
    "audit",
    "audit_host",
    "load_policy",
    "parse_policy",
]
