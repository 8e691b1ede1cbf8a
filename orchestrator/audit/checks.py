"""The audit's checks, each made a rule by `@rule` (id, description, roles, severity, category) and
listed in RULES, the one table of rules.

Pure: a check reads a `Context` (facts already gathered, the inventory, the policy, a clock reading)
and returns (passed, message, detail); nothing here prints or connects.

Choices, documented in docs/audit.md:
- One facts sample per host. "Advancing" is judged from that sample: a node whose tip is within
  `max_stall_slots` (default 600 = 10 minutes, gLiveView's "behind" bound) of the wall-clock slot
  has advanced recently; a stalled node falls one slot per second further behind, so it fails
  once the bound is crossed. In sync is the stricter `max_slot_lag` (default 20).
- The reference clock for the slot lag is the host's own clock (read in the same probe as the
  tip, so the probe's duration does not count as lag) unless it differs from the control
  machine's by more than `max_clock_skew_seconds`; then the control machine's clock is used.
- `node-user`: the unit's own `User=` (the `service` fact: `systemctl show -p User`; unset is
  root): a node run as root fails, whatever the layout assumes (guild and IOG deployments run it as
  a non-root user). Where the unit's user is unknown (no such property), config.json and pool key
  files owned by root are the sign the node runs as root (or cannot read them), and fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from orchestrator.audit.findings import REACHABLE, Severity
from orchestrator.audit.one_forger_per_pool import RULE as _one_forger_per_pool
from orchestrator.audit.peer_snapshot_age import RULE as _peer_snapshot_age
from orchestrator.audit.peer_snapshot_common import pair_of
from orchestrator.audit.peer_snapshot_format import RULE as _peer_snapshot_format
from orchestrator.audit.peer_snapshot_present import RULE as _peer_snapshot_present
from orchestrator.audit.readiness import disk_headroom, fork_floors, memory_headroom, release_config, release_sha256
from orchestrator.audit.registry import Applies, Result, Rule, index, rule
from orchestrator.cardano import node_rules, releases
from orchestrator.cardano.config import infer_network
from orchestrator.cardano.consensus_mode import ConsensusMode
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.leader_schedule import REMAINING_KES_METRIC, KesVerdict, kes_check
from orchestrator.cardano.networks import Network
from orchestrator.cardano.networks import network as network_named
from orchestrator.cardano.releases import ReleasePin, ReleasePinError, at_least, forks
from orchestrator.cardano.shipped_topology import release_network
from orchestrator.cardano.targets import is_newer
from orchestrator.cardano.topology import (
    Topology,
    address_notes,
    advertised_addresses,
    bp_advertised_local_roots,
    bp_bootstrap_peers,
    bp_ledger_peers,
    bp_public_roots,
    parse_topology,
    passive_form_problems,
    peer_key,
)
from orchestrator.facts import clock
from orchestrator.facts.probe import HostFacts
from orchestrator.model import Host, Inventory, PassiveTopology
from orchestrator.plan import own_peers, plan_host

if TYPE_CHECKING:  # annotations only: policy reads this module's RULES to check a policy file's rule ids
    from orchestrator.audit.policy import Policy

E, W = Severity.ERROR, Severity.WARNING
RELAY, BP, PASSIVE = Applies.RELAY, Applies.BLOCK_PRODUCER, Applies.PASSIVE

# decided in audit_host, before any check runs
REACHABLE_RULE = Rule(REACHABLE, "the host answers SSH and the facts probe runs", E, category="reachability")


@dataclass(frozen=True)
class Context:
    host: Host
    facts: HostFacts
    inventory: Inventory
    policy: Policy
    now: float
    # host → why a run's journal (STATE_DIR) says it is out of rotation (roll/journal.out_of_rotation_in)
    out_of_rotation: Mapping[str, str] = field(default_factory=dict)
    # `audit --for-release V`: the release the readiness rules judge the host against (None: a plain audit)
    for_release: str | None = None
    # every audited host's facts by name: a rule about a pool (one-forger-per-pool) reads its other hosts'
    fleet_facts: Mapping[str, HostFacts] = field(default_factory=dict)

    @property
    def pinned_version(self) -> str:
        """The version this host must run: the policy's pinned_version when the policy file names one,
        else the inventory's pin for the host (node_release, what `run` would install), else the
        policy's default. A fleet pinned to 11.0.1 is not audited against 8.9.0."""
        if not self.policy.pinned_version_given:
            pin = self.host.vars.get("node_release")
            version = pin.get("version") if isinstance(pin, Mapping) else None
            if isinstance(version, str) and version:
                return version
        return self.policy.pinned_version

    @property
    def rules_version(self) -> str:
        """Which node's rules to read the files by: the running version, else the pinned one."""
        for v in (self.facts.node_version, self.pinned_version):
            if v is not None and releases.is_catalogued(v):  # node_rules judges every catalogued release
                return v
        return releases.TARGET_VERSION


def _probe_why(facts: HostFacts, *sections: str) -> str:
    reasons = [f"{s}: {facts.probe_errors[s]}" for s in sections if s in facts.probe_errors]
    return "; ".join(reasons) if reasons else "not reported by the host"


@rule("node-version", "cardano-node --version equals the pinned version", E, category="version")
def _check_version(c: Context) -> Result:
    want, got = c.pinned_version, c.facts.node_version
    if got is None:
        return False, f"cardano-node version unknown ({_probe_why(c.facts, 'binary', 'node_version')})", ""
    if is_newer(got, want):  # the fix is a newer pin, never a downgrade
        return False, f"cardano-node is {got}, newer than the pinned {want}: raise the pin (never downgraded)", ""
    if got != want:
        return False, f"cardano-node is {got}, pinned {want}", ""
    return True, f"cardano-node {got}", ""


@rule(
    "min-version", "cardano-node is at least min_version (default: the release catalogue's hard-fork floor for the "
    "host's network)", E, category="version",
)
def _check_min_version(c: Context) -> Result:
    got, floor = c.facts.node_version, c.policy.floor(c.host.network)
    if floor is None:
        return True, f"no hard-fork floor known for {c.host.network} (set min_version in the policy)", ""
    why = "min_version" if c.policy.min_version is not None else f"the hard-fork floor for {c.host.network}"
    if got is None:
        return False, f"cardano-node version unknown ({_probe_why(c.facts, 'binary', 'node_version')})", ""
    try:
        ok = at_least(got, floor)
    except ValueError:
        return False, f"cardano-node reports {got!r}, not a version x.y.z to compare with {floor}", ""
    fork = forks.fork_with_floor(floor) if c.policy.min_version is None else None
    named = f"; the floor of {forks.describe(fork)}" if fork is not None else ""
    if not ok:
        return False, f"cardano-node {got} is below {floor} ({why}): upgrade it{named}", ""
    return True, f"cardano-node {got} ≥ {floor} ({why}){named}", ""


@rule(
    "cli-version", "cardano-cli --version equals the cli shipped with the pinned node version", E, category="version",
)
def _check_cli(c: Context) -> Result:
    want, got = c.policy.cli_version_for(c.pinned_version), c.facts.cli_version
    if got is None:
        return False, f"cardano-cli version unknown ({_probe_why(c.facts, 'cli_version')})", ""
    if want is None:
        return False, f"cardano-cli is {got}; no known cli version for node {c.pinned_version}: " \
                      "set pinned_cli_version in the policy", ""  # fmt: skip
    if got != want:
        return False, f"cardano-cli is {got}, expected {want} (shipped with node {c.pinned_version})", ""
    return True, f"cardano-cli {got}", ""


def _unit_state(c: Context, state: str | None, want: str) -> Result:
    unit = c.host.layout.service_name
    if state == want:
        return True, f"{unit} is {want}", ""
    return False, f"{unit} is {state or 'unknown'} (expected {want})", ""


@rule("service-enabled", "the node's systemd unit is enabled (starts at boot)", E, category="service")
def _check_enabled(c: Context) -> Result:
    return _unit_state(c, c.facts.service_enabled, "enabled")


@rule("service-active", "the node's systemd unit is active (running)", E, category="service")
def _check_active(c: Context) -> Result:
    return _unit_state(c, c.facts.service_active, "active")


def _no_config(c: Context) -> Result:
    return False, f"{c.host.layout.config_path} unreadable ({_probe_why(c.facts, 'config')})", ""


def _no_topology(c: Context) -> Result:
    return False, f"{c.host.layout.topology_path} unreadable ({_probe_why(c.facts, 'topology')})", ""


@rule("p2p-enabled", "config.json has EnableP2P: true", E, category="p2p")
def _check_p2p(c: Context) -> Result:
    if c.facts.config_text is None:
        return _no_config(c)
    p2p = c.facts.enable_p2p
    if p2p is None:
        return False, "config.json is not a JSON object", ""
    if p2p:
        return True, "EnableP2P is true", ""
    running = c.facts.node_version
    if c.facts.runs_p2p:
        return True, f"cardano-node {running} runs P2P whatever EnableP2P says (the release catalogue)", ""
    return False, "EnableP2P is false or absent", ""


@rule("topology-p2p-format", "topology.json is in the 8.9.0 P2P format (localRoots/publicRoots)", E, category="p2p")
def _check_topology_format(c: Context) -> Result:
    if c.facts.topology_text is None:
        return _no_topology(c)
    fmt = c.facts.topology_format
    if fmt == "p2p":
        return True, "topology.json is in the P2P format", ""
    return False, f"topology.json is in the {fmt} format, not the 8.9.0 P2P format", ""


@rule(
    "topology-valid", "the running node version accepts topology.json in the mode EnableP2P selects", E, category="p2p",
)
def _check_topology_valid(c: Context) -> Result:
    if c.facts.topology_text is None:
        return _no_topology(c)
    if c.facts.enable_p2p is None:
        return False, "cannot tell which format the node expects: config.json unreadable", ""
    version = c.rules_version
    p2p = bool(c.facts.enable_p2p)
    if releases.is_catalogued(version) and isinstance(c.facts.config, dict):  # 10.6+: P2P whatever EnableP2P says
        p2p = releases.p2p_mode(version, c.facts.config)
    errors, warnings = node_rules.check_topology(version, p2p, c.facts.topology_text)
    mode = "P2P" if p2p else "non-P2P"
    if errors:
        return False, f"cardano-node {version} would refuse topology.json ({mode})", "\n".join(errors)
    note = f" (warning: {warnings[0].splitlines()[0]})" if warnings else ""
    # Accepted, but an address the node reads as a DNS name by mistake never connects: say so.
    misread = [n for n in address_notes(c.facts.topology, c.host.layout.topology_path) if "DNS name" in n]
    if misread:
        note += f" (warning: {len(misread)} address(es) the node would look up as DNS names and never reach)"
    return True, f"cardano-node {version} accepts topology.json ({mode}){note}", "\n".join([*warnings, *misread])


@rule(
    "config-valid", "the running node version accepts config.json (keys, types, PeerSharing type)", E, category="config",
)
def _check_config_valid(c: Context) -> Result:
    if c.facts.config_text is None:
        return _no_config(c)
    version = c.rules_version
    checked = node_rules.check_config(version, c.facts.config_text)  # genesis: conway-genesis-hash
    if not checked.ok:
        return False, f"cardano-node {version} would refuse config.json", "\n".join(checked.errors)
    return True, f"cardano-node {version} accepts config.json", ""


@rule(
    "conway-genesis-hash",
    "ConwayGenesisHash equals the blake2b-256 of the conway genesis file on the host",
    E,
    category="config",
)
def _check_genesis(c: Context) -> Result:
    return _genesis_verdict(c, node_rules.GENESIS_ERAS[3:])


@rule(
    "genesis-hashes",
    "the Byron, Shelley and Alonzo genesis files config.json names are readable and hash to its *GenesisHash "
    "(Byron: of the canonical JSON)",
    E,
    category="config",
)
def _check_genesis_kept(c: Context) -> Result:
    return _genesis_verdict(c, node_rules.GENESIS_ERAS[:3])


def _genesis_verdict(c: Context, eras: Sequence[node_rules.GenesisEra]) -> Result:
    """Each era's file as the node would judge it: era, path, expected and found hash in the detail."""
    cfg = c.facts.config
    if not isinstance(cfg, dict):
        return _no_config(c) if c.facts.config_text is None else (False, "config.json is not a mapping", "")
    config_dir = str(PurePosixPath(c.host.layout.config_path).parent)
    bad: list[str] = []
    good: list[str] = []
    details: list[str] = []
    for era in eras:
        path = node_rules.genesis_file_path(cfg, era, config_dir)
        if path is None:
            continue  # config-valid says when a required *GenesisFile key is missing
        probed = c.facts.genesis.get(era.era.lower())
        expected = cfg.get(era.hash_key)
        if probed is None or probed.path != path or probed.blake2b is None:
            why = _probe_why(c.facts, "genesis", f"genesis.{era.era.lower()}")
            bad.append(f"{era.era} genesis file {path} unreadable ({why})")
            continue
        found = probed.node_hash or (None if era.era == "Byron" else probed.blake2b)
        if not isinstance(expected, str):
            good.append(f"{era.era}: no {era.hash_key} (the node does not check it)")
        elif found is None:
            good.append(f"{era.era}: {path} read, its canonical hash not probed")
        elif expected.lower() != found:
            bad.append(f"{era.era}: {era.hash_key} {expected[:16]}… ≠ {found[:16]}… of {path}")
            details.append(f"{era.era} ({era.file_key}) {path}\n  expected {era.hash_key}: {expected}\n  found: {found}")
        else:
            good.append(f"{era.hash_key} matches {path}")
    if bad:
        return False, "; ".join(bad), "\n".join(details)
    return True, "; ".join(good) or "no genesis file named", ""


@rule(
    "network-match", "config.json's genesis hashes are those of the host's network (and the policy's)", E, category="config",
)
def _check_network(c: Context) -> Result:
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


def _parsed_topology(c: Context) -> tuple[Topology | None, Result | None]:
    if c.facts.topology_text is None:
        return None, _no_topology(c)
    data = c.facts.topology
    if data is None:
        return None, (False, "topology.json is not JSON", "")
    try:
        return parse_topology(data, c.host.layout.topology_path), None
    except FileFormatError as e:
        return None, (False, f"topology.json cannot be read: {e.message}", str(e))


@rule("bp-no-ledger-peers", "block producer: useLedgerAfterSlot absent or negative", E, BP, "role")
def _check_bp_ledger(c: Context) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    if problem := bp_ledger_peers(topo):
        return False, problem, ""
    slot = topo.use_ledger_after_slot
    return True, "no ledger peers" if slot is None else f"useLedgerAfterSlot is {slot}", ""


@rule("bp-no-bootstrap-peers", "block producer: no bootstrapPeers", E, BP, "role")
def _check_bp_bootstrap(c: Context) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    if problem := bp_bootstrap_peers(topo):
        return False, problem, ""
    return True, "no bootstrap peers", ""


@rule("bp-no-public-roots", "block producer: publicRoots have no access points", E, BP, "role")
def _check_bp_public(c: Context) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    if problem := bp_public_roots(topo):
        return False, problem, ""
    return True, "no public roots", ""


@rule("bp-peer-sharing-off", "block producer: PeerSharing is false in config.json", E, BP, "role")
def _check_bp_sharing(c: Context) -> Result:
    cfg = c.facts.config
    if not isinstance(cfg, dict):
        return _no_config(c) if c.facts.config_text is None else (False, "config.json is not a JSON object", "")
    if "PeerSharing" not in cfg:
        return False, "PeerSharing is not set: set it to false explicitly on a block producer", ""
    value = cfg["PeerSharing"]
    if value is False or value == "PeerSharingDisabled":  # the 8.7.3 spelling means the same
        return True, f"PeerSharing is {json.dumps(value)}", ""
    return False, f"PeerSharing is {json.dumps(value)} on a block producer (must be false)", ""


@rule("bp-local-roots", "block producer: local roots are exactly its relays, none advertised", E, BP, "role")
def _check_bp_local_roots(c: Context) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    want = {peer_key(p.address, p.port) for p in own_peers(c.host, c.inventory)}
    points = [p for g in topo.local_roots for p in g.access_points] + [lp.peer for lp in topo.producers]
    have = {peer_key(p.address, p.port) for p in points}
    problems = []
    if missing := sorted(want - have):
        problems.append("missing relays: " + ", ".join(f"{a}:{p}" for a, p in missing))
    if extra := sorted(have - want):
        problems.append("not its relays: " + ", ".join(f"{a}:{p}" for a, p in extra))
    if advertised := bp_advertised_local_roots(topo):
        problems.append(advertised)
    if problems:
        return False, "; ".join(problems), ""
    return True, f"local roots are its {len(want)} relay(s)", ""


@rule("relay-bp-not-advertised", "relay: no block producer address is advertised in its topology", E, RELAY, "role")
def _check_relay_advertise(c: Context) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None or c.facts.topology is None:
        return bad or _no_topology(c)
    producers = {peer_key(h.peer_address, 0)[0]: h.name for h in c.inventory.block_producers}
    leaked = sorted(a for a in advertised_addresses(c.facts.topology) if a in producers)
    if leaked:
        return False, "block producer advertised: " + ", ".join(f"{a} ({producers[a]})" for a in leaked), ""
    return True, "no block producer advertised", ""


@rule("relay-bootstrap-peers", "relay: bootstrapPeers are the network's defaults", W, RELAY, "role")
def _check_relay_bootstrap(c: Context) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    net = _release_network(c)
    want = sorted(peer_key(p.address, p.port) for p in net.bootstrap_peers)
    if topo.bootstrap_peers is None:
        return False, f"no bootstrapPeers ({c.host.network} default: {_fmt(want)})", ""
    have = sorted(peer_key(p.address, p.port) for p in topo.bootstrap_peers)
    if have != want:
        return False, f"bootstrapPeers {_fmt(have) or '[]'} differ from the {c.host.network} default {_fmt(want)}", ""
    return True, f"bootstrapPeers are the {c.host.network} default", ""


def _release_network(c: Context) -> Network:
    """The network's defaults as the newer of the host's pinned and running release ships them (its
    topology: 10.x mainnet has three bootstrap peers and a later useLedgerAfterSlot than 8.9.0's
    table); the 8.9.0 table for a release that reads no bootstrapPeers (8.7.3) or has no file."""
    known = [v for v in (c.pinned_version, c.facts.node_version) if v is not None and releases.is_catalogued(v)]
    version = releases.sort_versions(known)[-1] if known else None
    if version is None or not releases.lookup(version).bootstrap_peers:
        return network_named(c.host.network)
    try:
        return release_network(version, c.host.network)
    except ValueError:
        return network_named(c.host.network)


def _fmt(points: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{a}:{p}" for a, p in points)


@rule("relay-ledger-peers", "relay: useLedgerAfterSlot is the network's default", W, RELAY, "role")
def _check_relay_ledger(c: Context) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    want = _release_network(c).use_ledger_after_slot
    have = topo.use_ledger_after_slot
    if have != want:
        shown = "absent" if have is None else str(have)
        return False, f"useLedgerAfterSlot is {shown}, the {c.host.network} default is {want}", ""
    return True, f"useLedgerAfterSlot is the {c.host.network} default ({want})", ""


def _passive_mode(c: Context) -> PassiveTopology:
    """The form the inventory asks of this passive node (passive_topology; the role's default: ledger)."""
    value = c.host.vars.get("passive_topology", PassiveTopology.LEDGER.value)
    return PassiveTopology(value) if value in [m.value for m in PassiveTopology] else PassiveTopology.LEDGER


@rule("passive-not-advertised", "passive node: no local or public root is advertised", E, PASSIVE, "role")
def _check_passive_advertise(c: Context) -> Result:
    if c.facts.topology is None:
        return _no_topology(c)
    try:
        shown = sorted(advertised_addresses(c.facts.topology))
    except FileFormatError as e:
        return False, f"topology.json cannot be read: {e.message}", str(e)
    if shown:
        return False, "advertised on a passive node: " + ", ".join(shown), ""
    return True, "nothing advertised", ""


@rule("passive-topology-form", "passive node: private = no ledger and no bootstrap peers; ledger = the network's",
      E, PASSIVE, "role")  # fmt: skip
def _check_passive_form(c: Context) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    mode = _passive_mode(c)
    genesis = pair_of(c).mode is ConsensusMode.GENESIS
    problems = passive_form_problems(topo, mode, _release_network(c), genesis)
    if problems:
        return False, f"{mode.value} passive node: " + "; ".join(problems), ""
    if mode is PassiveTopology.PRIVATE:
        return True, "private: local roots only", ""
    return True, f"ledger: the {c.host.network} bootstrap peers and ledger peers", ""


@rule("passive-not-wired-to-bp", "passive node: no block producer among its peers, and none lists it",
      E, PASSIVE, "role")  # fmt: skip
def _check_passive_bp(c: Context) -> Result:
    topo, bad = _parsed_topology(c)
    if topo is None:
        return bad or _no_topology(c)
    producers = {peer_key(h.peer_address, 0)[0]: h.name for h in c.inventory.block_producers}
    points = [p.peer for p in topo.producers] + [p for g in (*topo.local_roots, *topo.public_roots)
                                                 for p in g.access_points]  # fmt: skip
    names = {p.address: producers.get(peer_key(p.address, 0)[0]) for p in points}
    wired = sorted(f"{address} ({name})" for address, name in names.items() if name is not None)
    if wired:
        return False, "block producer among a passive node's peers: " + ", ".join(wired), ""
    return True, "no block producer among its peers", ""


def reference_time(facts: HostFacts, now: float, max_skew: float) -> tuple[float, str]:
    """The clock the slot lag is measured against (see the module docstring and facts/clock.py)."""
    return clock.reference_time(facts.host_time, now, max_skew)


def host_slot_lag(facts: HostFacts, now: float, policy: Policy) -> int | None:
    ref, _ = reference_time(facts, now, policy.max_clock_skew_seconds)
    return facts.slot_lag(ref)


def _no_tip(c: Context) -> Result:
    return False, f"no tip: {c.facts.tip_error or 'the node reported no slot'}", ""


def _tip_lag(c: Context) -> tuple[int, str] | None:
    """Slot lag of the tip against the reference clock (and which clock), or None without a tip."""
    if c.facts.tip is None or c.facts.tip.slot is None:
        return None
    ref, clock = reference_time(c.facts, c.now, c.policy.max_clock_skew_seconds)
    lag = c.facts.slot_lag(ref)
    assert lag is not None
    return lag, clock


@rule("node-in-sync", "the tip is within max_slot_lag slots of the wall-clock slot", E, category="sync")
def _check_in_sync(c: Context) -> Result:
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


@rule(
    "node-advancing", "the node reports a tip no more than max_stall_slots behind (not stalled)", E, category="sync",
)
def _check_advancing(c: Context) -> Result:
    measured = _tip_lag(c)
    if measured is None:
        return _no_tip(c)
    lag, _clock = measured
    if lag > c.policy.max_stall_slots:
        return False, f"tip {lag} slots behind (> {c.policy.max_stall_slots}): stalled or far out of sync", ""
    ahead = max(lag, 0)
    return True, f"tip within {ahead} slot(s) of the wall clock: advanced in the last {c.policy.max_stall_slots} s", ""


@rule(
    "hot-peers", "at least min_hot_peers hot peers (metrics, else established node connections)", E, category="sync",
)
def _check_hot_peers(c: Context) -> Result:
    count, source = c.facts.hot_peer_count
    if count < c.policy.min_hot_peers:
        return False, f"{count} hot peer(s) ({source}); at least {c.policy.min_hot_peers} wanted", ""
    return True, f"{count} hot peer(s) ({source})", ""


@rule(
    "kes-expiry", "a block producer's operational certificate has more than kes_expiry_alert_periods KES periods left "
    "(remainingKESPeriods metric)", E, BP, category="keys",
)
def _check_kes(c: Context) -> Result:
    check = kes_check(c.facts.remaining_kes_periods, c.policy.kes_expiry_alert_periods)
    idle = _idle_pool_member(c)
    if check.verdict is KesVerdict.UNKNOWN and idle is not None:
        return True, idle, ""
    if check.verdict is KesVerdict.UNKNOWN:
        return False, (f"{check.reason}: the node exports no {REMAINING_KES_METRIC} "
                       f"({_probe_why(c.facts, 'metrics')})"), ""  # fmt: skip
    return check.verdict is KesVerdict.OK, check.reason, ""


def _idle_pool_member(c: Context) -> str | None:
    """Why an idle member of a pool with a standby has no KES metric to judge (None: it is not one).
    A node exports its KES metrics only with its credentials loaded (`Forge.StateInfo`, runtime-signals
    doc §2 [KES L110-120]); the idle one of a pool has them renamed away or starts non-producing (the
    handover, docs/handover.md), and the certificate is the pool's, judged on the host that forges."""
    from orchestrator.audit.one_forger_per_pool import pool_of
    from orchestrator.cardano.forging import Forging

    producer, standby = pool_of(c.host, c.inventory)
    f = c.facts.forging
    if standby is None or f is None or f.state is not Forging.OFF or not f.running:
        return None
    if f.credentials_present and not f.non_producing:
        return None  # a restart would load them: its certificate matters, and the metric should be there
    other = standby if c.host.name == producer.name else producer
    return (f"idle in the pool of {producer.name} (not forging, credentials not loaded): no KES metric to read here; "
            f"the pool's certificate is judged on the host that forges ({other.name} if it does)")


def release_for(host: Host, policy: Policy) -> ReleasePin:
    """The release pinned in the inventory for this host (node_release), else the policy's version."""
    try:
        return ReleasePin.from_mapping(host.vars.get("node_release"))
    except ReleasePinError:  # none pinned (the inventory loader refuses a malformed one)
        return ReleasePin(policy.pinned_version, "", None)


@rule("drift", "the upgrade playbook would change nothing on the host (plan is empty)", E, category="drift")
def _check_drift(c: Context) -> Result:
    hp = plan_host(c.host, c.inventory, c.facts, release_for(c.host, c.policy), judge_live=False)  # service-active judges that
    if hp.error:
        return False, f"cannot plan: {hp.error}", ""
    if not hp.changed:  # a host newer than the pin is never sent back: the reason says so
        newer = [r for r in hp.reasons if r.startswith("newer than the target")]
        return True, f"the upgrade playbook would change nothing ({newer[0]})" if newer else \
            "the upgrade playbook would change nothing", ""  # fmt: skip
    what = [f"binary {hp.current_version} → {hp.target_version}"] if hp.switch_binary else []
    what += [ch.path for ch in hp.files]
    diff = "\n".join(ch.diff.diff.rstrip("\n") for ch in hp.files if ch.diff.diff)
    return False, "differs from the upgrade playbook: " + ", ".join(what), diff


@rule("key-permissions", "block producer: pool key files not readable by group or other", E, BP, "hygiene")
def _check_keys(c: Context) -> Result:
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


@rule("node-user", "the node's unit does not run it as root (its User=)", W, category="hygiene")
def _check_user(c: Context) -> Result:
    unit = c.host.layout.service_name
    user = getattr(c.facts, "service_user", None)
    if user is not None:
        if user in ("root", "0"):
            return False, f"{unit} runs cardano-node as root (its User= is {user} or unset): run it as a " \
                          "dedicated user", ""  # fmt: skip
        return True, f"{unit} runs cardano-node as {user} (the unit's User=)", ""
    run_as = c.host.layout.run_as
    if run_as == "root":
        return True, "the unit's User= is unknown; the layout runs the node as root (run_as: root)", ""
    owned = []
    if c.facts.config_stat is not None and c.facts.config_stat.owner == "root":
        owned.append(c.host.layout.config_path)
    owned += [k.path for k in c.facts.key_files_stat if k.kind == "f" and k.owner == "root"]
    if owned:
        return False, f"run_as is {run_as} but owned by root (node runs as root, or cannot read them): " \
                      + ", ".join(owned), ""  # fmt: skip
    return True, f"node files are not owned by root (run_as: {run_as})", ""


@rule("free-disk", "free space on the database filesystem is at least min_free_disk_bytes", W, category="hygiene")
def _check_disk(c: Context) -> Result:
    free = c.facts.disk_free_bytes
    if free is None:
        return False, f"free disk unknown ({_probe_why(c.facts, 'disk')})", ""
    text = f"{free / 1024**3:.1f} GiB free on {c.host.layout.db_path}'s filesystem"
    if free < c.policy.min_free_disk_bytes:
        return False, f"{text}; at least {c.policy.min_free_disk_bytes / 1024**3:.1f} GiB wanted", ""
    return True, text, ""


@rule("in-rotation", "no run of this control machine left the host drained (out of rotation) without a return",
      E, category="rotation")  # fmt: skip
def _check_rotation(c: Context) -> Result:
    why = c.out_of_rotation.get(c.host.name)
    if why is not None:
        return False, f"OUT OF ROTATION: {why}; put it back with `cardano-fleet return` or `run --resume`", ""
    return True, "no run journal in the state dir leaves it drained", ""


# Every rule, in report order: the one table (tests/unit/test_audit_rules.py fails on a rule left out).
RULES: tuple[Rule, ...] = (
    REACHABLE_RULE,
    _check_version,
    _check_min_version,
    _check_cli,
    _check_enabled,
    _check_active,
    _check_p2p,
    _check_topology_format,
    _check_topology_valid,
    _check_config_valid,
    _check_genesis,
    _check_genesis_kept,
    _check_network,
    _check_bp_ledger,
    _check_bp_bootstrap,
    _check_bp_public,
    _check_bp_sharing,
    _check_bp_local_roots,
    _check_relay_advertise,
    _check_relay_bootstrap,
    _check_relay_ledger,
    _check_passive_advertise,
    _check_passive_form,
    _check_passive_bp,
    _peer_snapshot_present,
    _peer_snapshot_format,
    _peer_snapshot_age,
    _check_in_sync,
    _check_advancing,
    _check_hot_peers,
    _check_kes,
    _check_drift,
    _check_keys,
    _check_user,
    _check_disk,
    _check_rotation,
    _one_forger_per_pool,
    fork_floors.check,
    release_config.check,
    release_sha256.check,
    disk_headroom.check,
    memory_headroom.check,
)
RULES_BY_ID: Mapping[str, Rule] = index(RULES)
assert all(r.check is not None for r in RULES if r.id != REACHABLE), "every rule but host-reachable has a check"
