"""Each audit rule, passing and failing, over hand-made HostFacts (no SSH, no clock)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from orchestrator.audit.checks import RULES, RULES_BY_ID
from orchestrator.audit.findings import AuditReport, Severity
from orchestrator.audit.policy import Policy, PolicyError, load_policy, parse_policy
from orchestrator.audit.run import audit, audit_host
from orchestrator.cardano.config import shipped_file
from orchestrator.cardano.forging import Forging
from orchestrator.cardano.health import Tip
from orchestrator.cardano.layouts import GUILD, IOG
from orchestrator.cardano.leader_schedule import REMAINING_KES_METRIC
from orchestrator.cardano.networks import network
from orchestrator.facts.model import ForgingFact
from orchestrator.facts.probe import FileStat, GenesisFile, HostFacts, KeyFileStat
from orchestrator.load.inventory import parse_yaml
from orchestrator.model import Host, Inventory, Role
from orchestrator.plan import ReleasePin, plan_host

NOW = 1_780_000_000.0
PIN = {"version": "8.9.0", "url": "https://example.invalid/cardano-node-8.9.0-linux.tar.gz", "sha256": "a" * 64}
R1 = Host("relay1", Role.RELAY, "198.18.0.11", GUILD, vars=MappingProxyType({"node_release": PIN}))
R2 = Host("relay2", Role.RELAY, "198.18.0.12", IOG, vars=MappingProxyType({"node_release": PIN}))
BP = Host("bp1", Role.BLOCK_PRODUCER, "198.18.0.101", IOG, vars=MappingProxyType({"node_release": PIN}))
P1 = Host("wallet1", Role.PASSIVE, "198.18.0.51", IOG, vars=MappingProxyType({"node_release": PIN}))
P2 = Host("wallet2", Role.PASSIVE, "198.18.0.52", IOG,
          vars=MappingProxyType({"node_release": PIN, "passive_topology": "private"}))
GROUPS = MappingProxyType({"relays": ("relay1", "relay2"), "block_producers": ("bp1",),
                           "passive_nodes": ("wallet1", "wallet2")})  # fmt: skip
INV = Inventory("inv.yml", (R1, R2, BP, P1, P2), GROUPS)
CONWAY_890 = hashlib.blake2b(shipped_file("8.9.0", "mainnet", "conway-genesis.json"), digest_size=32).hexdigest()
# The unit fleet is the seed's 8.9.0 one, so its floor is pinned to it; the default floor (the
# catalogue's hard-fork floor) has its own tests in test_downgrade.py.
POLICY = Policy(min_version="8.9.0")
_MAINNET = json.loads(shipped_file("8.9.0", "mainnet", "config.json"))
KEPT_HASHES = {era: _MAINNET[f"{era}GenesisHash"] for era in ("Byron", "Shelley", "Alonzo")}


def _legacy_topology(host: Host) -> str:
    others = [h for h in INV.hosts if h.name != host.name and (not host.is_producer or h.role is Role.RELAY)]
    producers = [{"addr": h.peer_address, "port": h.peer_port, "valency": 1} for h in others]
    if not host.is_producer:
        producers.append({"addr": "relays-new.cardano-mainnet.iohk.io", "port": 3001, "valency": 2})
    return json.dumps({"Producers": producers}, indent=2) + "\n"


def _genesis(f: HostFacts, era: str, **changes: str | None) -> HostFacts:
    """The facts with one era's probed genesis file changed (a hash, or None: unreadable)."""
    files = dict(f.genesis)
    files[era] = files[era]._replace(**changes)
    return replace(f, genesis=MappingProxyType(files))


def compliant(host: Host) -> HostFacts:
    """What an upgraded host looks like: the files are exactly what the upgrade playbook writes."""
    legacy = HostFacts(
        host.name, True, config_text=shipped_file("8.7.3", "mainnet", "config.json").decode(),
        topology_text=_legacy_topology(host), node_version="8.7.3",
    )  # fmt: skip
    hp = plan_host(host, INV, legacy, ReleasePin("8.9.0", PIN["url"], PIN["sha256"]))  # type: ignore[arg-type]
    files = {c.path: c.content.decode() for c in hp.files}
    lay = host.layout
    keys: tuple[KeyFileStat, ...] = ()
    if host.is_producer:
        keys = tuple(KeyFileStat(f"{lay.keys_dir}/{n}", 0o600, "root", "root", "f") for n in ("kes.skey", "vrf.skey"))
        keys += (KeyFileStat(lay.keys_dir, 0o700, "root", "root", "d"),)
    slot = network("mainnet").expected_slot(NOW)
    return HostFacts(
        host=host.name, reachable=True, network="mainnet", hostname=host.name, host_time=int(NOW),
        node_version="8.9.0", node_rev="0d98405a", cli_version="8.20.3.0",
        service_active="active", service_enabled="enabled",
        config_text=files[lay.config_path], config_stat=FileStat("root", "root", 0o644, 100),
        topology_text=files[lay.topology_path], topology_stat=FileStat("root", "root", 0o644, 100),
        genesis=MappingProxyType({
            "conway": GenesisFile(f"{lay.genesis_dir}/conway-genesis.json", "c" * 64, CONWAY_890),
            **{era.lower(): GenesisFile(f"{lay.genesis_dir}/{era.lower()}-genesis.json", "c" * 64, h, h)
               for era, h in KEPT_HASHES.items()},
        }),
        tip=Tip(slot - 3, 1, 1, "Babbage", "ab" * 32, 1, 1, 100.0),
        metrics=MappingProxyType({"cardano_node_metrics_peerSelection_hot": 2.0,
                                  **({REMAINING_KES_METRIC: 52.0} if host.is_producer else {})}),
        hot_peer_addresses=("198.18.0.12",), disk_free_bytes=100 * 1024**3, releases=("8.7.3", "8.9.0"),
        key_files_stat=keys,
        forging=ForgingFact(Forging.ON, True, True, 10, 13, 3.0) if host.is_producer else None,
    )  # fmt: skip


def at_slot(facts: HostFacts, slot: int, **changes: Any) -> HostFacts:
    assert facts.tip is not None
    return replace(facts, tip=replace(facts.tip, slot=slot), **changes)


EXPECTED_SLOT = network("mainnet").expected_slot(NOW)


def failed(host: Host, facts: HostFacts, policy: Policy = POLICY) -> set[str]:
    return {f.rule for f in audit_host(host, facts, INV, policy, NOW) if f.failed}


def edit_json(text: str, change: Callable[[Any], None]) -> str:
    data = json.loads(text)
    change(data)
    return json.dumps(data, indent=2) + "\n"


def cfg(host: Host, change: Callable[[Any], None]) -> Callable[[HostFacts], HostFacts]:
    return lambda f: replace(f, config_text=edit_json(f.config_text or "", change))


def topo(change: Callable[[Any], None]) -> Callable[[HostFacts], HostFacts]:
    return lambda f: replace(f, topology_text=edit_json(f.topology_text or "", change))


def _set(key: str, value: Any) -> Callable[[Any], None]:
    def change(d: Any) -> None:
        d[key] = value

    return change


def _advertise_all(d: Any) -> None:
    for g in d["localRoots"]:
        g["advertise"] = True


def _add_local(address: str, port: int) -> Callable[[Any], None]:
    def change(d: Any) -> None:
        d["localRoots"][0]["accessPoints"].append({"address": address, "port": port})

    return change


def _drop_first_local(d: Any) -> None:
    d["localRoots"][0]["accessPoints"].pop(0)


def test_compliant_hosts_pass_every_rule() -> None:
    for host in INV.hosts:
        findings = audit_host(host, compliant(host), INV, POLICY, NOW)
        assert [f for f in findings if not f.passed] == [], host.name
        expected = {r.id for r in RULES if r.applies(host) and not r.readiness}  # readiness: --for-release only
        assert {f.rule for f in findings} == expected


def test_every_rule_has_id_description_severity() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for r in RULES:
        assert r.description and r.severity in Severity and r.id == r.id.lower()


LEGACY_CFG = shipped_file("8.7.3", "mainnet", "config.json").decode()

# (case id, host, mutation, rules that must fail — exactly)
CASES: list[tuple[str, Host, Callable[[HostFacts], HostFacts], set[str]]] = [
    ("old-node", R1, lambda f: replace(f, node_version="8.7.3"), {"node-version", "min-version", "drift"}),
    ("unknown-node", R1, lambda f: replace(f, node_version=None, probe_errors=MappingProxyType(
        {"node_version": "exit 127: not found"})), {"node-version", "min-version", "drift"}),  # fmt: skip
    ("old-cli", R1, lambda f: replace(f, cli_version="8.17.0.0"), {"cli-version"}),
    ("disabled-unit", R2, lambda f: replace(f, service_enabled="disabled"), {"service-enabled"}),
    ("stopped", R2, lambda f: replace(f, service_active="inactive", tip=None, tip_error="socket missing",
                                     metrics=MappingProxyType({}), hot_peer_addresses=()),
     {"service-active", "node-in-sync", "node-advancing", "hot-peers"}),  # fmt: skip
    ("p2p-off", R1, cfg(R1, _set("EnableP2P", False)), {"p2p-enabled", "topology-valid", "drift"}),
    ("legacy-topology", R1, lambda f: replace(f, topology_text=_legacy_topology(R1)),
     {"topology-p2p-format", "topology-valid", "relay-bootstrap-peers", "relay-ledger-peers", "drift"}),
    # a topology the node refuses cannot be judged for its role either: those rules fail too
    ("bad-topology-type", R1, topo(_set("useLedgerAfterSlot", "soon")),
     {"topology-valid", "relay-bp-not-advertised", "relay-bootstrap-peers", "relay-ledger-peers", "drift"}),
    ("peer-sharing-string-on-890", R1, cfg(R1, _set("PeerSharing", "PeerSharingEnabled")),
     {"config-valid", "drift"}),
    ("wrong-conway-hash", R2, cfg(R2, _set("ConwayGenesisHash", "f" * 64)), {"conway-genesis-hash", "drift"}),
    ("genesis-unprobed", R2, lambda f: replace(f, genesis=MappingProxyType({})),
     {"conway-genesis-hash", "genesis-hashes"}),
    # (the planner would write the 8.9.0 Conway file again: drift)
    ("conway-unreadable", R2, lambda f: _genesis(f, "conway", blake2b=None), {"conway-genesis-hash", "drift"}),
    # A kept era's file that is not the config's: the node stops, and the planner refuses the host.
    ("wrong-shelley-file", R2, lambda f: _genesis(f, "shelley", blake2b="e" * 64, node_hash="e" * 64),
     {"genesis-hashes", "drift"}),
    ("wrong-byron-file", R1, lambda f: _genesis(f, "byron", node_hash="e" * 64), {"genesis-hashes", "drift"}),
    ("shelley-unreadable", R1, lambda f: _genesis(f, "shelley", blake2b=None, node_hash=None),
     {"genesis-hashes", "drift"}),
    # A preprod config on a host the inventory puts on mainnet, whose genesis files are mainnet's:
    # its Byron/Shelley/Alonzo hashes are preprod's, so the node would stop (genesis-hashes) and the
    # planner refuses the host (drift). (Preprod's Conway genesis is the same file as mainnet's.)
    ("preprod-config-on-mainnet-host", R2,
     lambda f: replace(f, config_text=shipped_file("8.9.0", "preprod", "config.json").decode()),
     {"network-match", "genesis-hashes", "drift"}),  # fmt: skip
    ("bp-ledger", BP, topo(_set("useLedgerAfterSlot", 0)), {"bp-no-ledger-peers", "drift"}),
    ("bp-bootstrap", BP, topo(_set("bootstrapPeers", [{"address": "backbone.cardano.iog.io", "port": 3001}])),
     {"bp-no-bootstrap-peers", "drift"}),
    ("bp-public-roots", BP, topo(_set("publicRoots", [{"accessPoints": [{"address": "a.example", "port": 3001}],
                                                        "advertise": False}])),
     {"bp-no-public-roots", "drift"}),  # fmt: skip  (the planner moves them into a local-roots group)
    ("bp-peer-sharing-on", BP, cfg(BP, _set("PeerSharing", True)), {"bp-peer-sharing-off", "drift"}),
    # A settled file's operator values are kept by the playbook (cardano/topology.py `settled`): the
    # audit's role rules say what is wrong with them; the playbook does not rewrite them (no drift).
    ("bp-stranger-local-root", BP, topo(_add_local("203.0.113.9", 3001)), {"bp-local-roots"}),
    ("bp-missing-relay", BP, topo(_drop_first_local), {"bp-local-roots", "drift"}),
    ("bp-advertises", BP, topo(_advertise_all), {"bp-local-roots", "drift"}),
    ("relay-advertises-bp", R1, topo(_advertise_all), {"relay-bp-not-advertised", "drift"}),
    ("relay-own-bootstrap", R1, topo(_set("bootstrapPeers", [{"address": "boot.example", "port": 3001}])),
     {"relay-bootstrap-peers"}),
    ("relay-ledger-slot", R1, topo(_set("useLedgerAfterSlot", 1)), {"relay-ledger-peers"}),
    ("passive-advertises", P1, topo(_advertise_all), {"passive-not-advertised", "drift"}),
    ("passive-private-uses-ledger", P2, topo(_set("useLedgerAfterSlot", 5)), {"passive-topology-form", "drift"}),
    ("passive-private-bootstrap", P2, topo(_set("bootstrapPeers", [{"address": "backbone.cardano.iog.io", "port": 3001}])),
     {"passive-topology-form", "drift"}),
    ("passive-ledger-no-bootstrap", P1, topo(_set("bootstrapPeers", None)), {"passive-topology-form"}),
    ("passive-wired-to-bp", P1, topo(_add_local(BP.address, 3001)), {"passive-not-wired-to-bp", "drift"}),
    ("bp-lists-a-passive-node", BP, topo(_add_local(P1.address, 3001)), {"bp-local-roots", "drift"}),
    ("behind", R1, lambda f: at_slot(f, EXPECTED_SLOT - 100), {"node-in-sync"}),
    ("stalled", R1, lambda f: at_slot(f, EXPECTED_SLOT - 5000), {"node-in-sync", "node-advancing"}),
    ("no-hot-peers", R1,
     lambda f: replace(f, metrics=MappingProxyType({"cardano_node_metrics_peerSelection_hot": 0.0})),
     {"hot-peers"}),  # fmt: skip
    ("hot-from-connections", R1, lambda f: replace(f, metrics=MappingProxyType({})), set()),
    ("world-readable-key", BP, lambda f: replace(f, key_files_stat=(
        KeyFileStat("/opt/cardano/keys/kes.skey", 0o644, "root", "root", "f"),)), {"key-permissions"}),  # fmt: skip
    ("keys-unstatable", BP, lambda f: replace(f, probe_errors=MappingProxyType({"keys": "exit 1: denied"})),
     {"key-permissions"}),
    ("low-disk", R1, lambda f: replace(f, disk_free_bytes=1024**3), {"free-disk"}),
    ("kes-expiring", BP, lambda f: replace(f, metrics=MappingProxyType({**f.metrics, REMAINING_KES_METRIC: 14.0})),
     {"kes-expiry"}),  # 14 periods (21 days) is the policy's default threshold: flagged
    ("kes-enough", BP, lambda f: replace(f, metrics=MappingProxyType({**f.metrics, REMAINING_KES_METRIC: 15.0})),
     set()),
    ("kes-unknown", BP, lambda f: replace(f, metrics=MappingProxyType({"cardano_node_metrics_peerSelection_hot": 2.0})),
     {"kes-expiry"}),
    ("disk-unknown", R1, lambda f: replace(f, disk_free_bytes=None), {"free-disk"}),
    ("config-missing", R1, lambda f: replace(f, config_text=None, probe_errors=MappingProxyType({"config": "exit 1"})),
     {"p2p-enabled", "config-valid", "conway-genesis-hash", "genesis-hashes", "network-match", "topology-valid",
      "drift"}),  # fmt: skip
]


@pytest.mark.parametrize(("host", "mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_fails_exactly(host: Host, mutate: Callable[[HostFacts], HostFacts], expected: set[str]) -> None:
    assert failed(host, mutate(compliant(host))) == expected


def test_every_rule_is_exercised_failing() -> None:
    # in-rotation is judged from the run journals, not the facts: test_run_lifecycle.py fails it
    covered = set().union(*(c[3] for c in CASES)) | {"host-reachable", "node-user", "in-rotation"}
    covered |= {r.id for r in RULES if r.readiness}  # --for-release only: test_audit_readiness.py fails each
    covered |= {"peer-snapshot-present", "peer-snapshot-format", "peer-snapshot-age"}  # test_genesis_mode.py fails each
    covered |= {"one-forger-per-pool"}  # test_one_forger_per_pool.py fails it every way
    assert covered == set(RULES_BY_ID)


def test_unreachable_host_is_a_finding_and_the_rest_skipped() -> None:
    facts = HostFacts("relay1", reachable=False, error="connection refused")
    findings = audit_host(R1, facts, INV, POLICY, NOW)
    reach = [f for f in findings if f.rule == "host-reachable"]
    assert len(reach) == 1 and not reach[0].passed and "connection refused" in reach[0].message
    others = [f for f in findings if f.rule != "host-reachable"]
    assert others and all(f.skipped and not f.failed for f in others)


def test_probe_failure_counts_as_unreachable() -> None:
    facts = HostFacts("relay1", reachable=True, error="probe failed: timeout")
    assert failed(R1, facts) == {"host-reachable"}


def test_node_user_by_layout_run_as() -> None:
    host = replace(R1, layout=replace(GUILD, run_as="cardano"))
    facts = compliant(R1)
    assert "node-user" in failed(host, facts)  # config.json owned by root
    owned = replace(facts, config_stat=FileStat("cardano", "cardano", 0o640, 100))
    assert "node-user" not in failed(host, owned)
    bp = replace(BP, layout=replace(IOG, run_as="cardano"))
    bp_facts = replace(compliant(BP), config_stat=FileStat("cardano", "cardano", 0o640, 100))
    assert "node-user" in failed(bp, bp_facts)  # keys owned by root


def test_host_clock_skew_falls_back_to_control_clock() -> None:
    facts = compliant(R1)
    # the host's clock is 1 hour behind: by the host's clock the tip would look 3600 slots ahead
    skewed = at_slot(facts, EXPECTED_SLOT - 3 - 3600, host_time=int(NOW) - 3600)
    assert {"node-in-sync", "node-advancing"} <= failed(R1, skewed)
    # within the allowed skew the host's clock is the reference (the probe's own duration is not lag)
    near = at_slot(facts, EXPECTED_SLOT - 3 - 10, host_time=int(NOW) - 10)
    assert "node-in-sync" not in failed(R1, near)


def test_policy_pins_values_disables_and_changes_severity() -> None:
    policy = parse_policy(parse_yaml(
        "pinned_version: '8.7.3'\nmax_slot_lag: 200\nmin_free_disk_bytes: 1\nfail_on: warning\n"
        "rules:\n  drift: false\n  free-disk: {severity: error}\n  cli-version: {enabled: false}\n", "p.yml",
        PolicyError), "p.yml")  # fmt: skip
    assert policy.pinned_version == "8.7.3" and policy.cli_version == "8.17.0.0"
    assert policy.disabled == {"drift", "cli-version"} and policy.severities["free-disk"] is Severity.ERROR
    assert policy.fail_on is Severity.WARNING and policy.max_slot_lag == 200
    facts = compliant(R1)
    rules = {f.rule for f in audit_host(R1, facts, INV, policy, NOW)}
    assert "drift" not in rules and "cli-version" not in rules
    # no min_version in this policy: the default floor is the catalogue's hard-fork floor, above 8.9.0
    assert failed(R1, facts, policy) == {"node-version", "min-version"}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("max_slot_lag: -1\n", "p.yml:1:15"),
        ("pinned_version: 8.9\n", "p.yml:1:17"),
        ("fail_on: info\n", "p.yml:1:10"),
        ("max_slot_lagg: 3\n", "p.yml:1:1"),
        ("rules:\n  drfit: false\n", "p.yml:2:3"),
        ("rules:\n  host-reachable: false\n", "p.yml:2:19"),
        ("rules:\n  drift: {severity: fatal}\n", "p.yml:2:21"),
        ("network: mainnett\n", "p.yml:1:10"),
        ("- a\n", "p.yml:1:1"),
        ("a: [\n", "p.yml:2:1"),
    ],
)
def test_bad_policy_names_file_line_column(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "p.yml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value).startswith(str(tmp_path / where)), str(info.value)


def test_example_policy_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "inventory" / "examples" / "audit-policy.yml"
    policy = load_policy(example)
    assert policy.network == "mainnet" and "node-user" in policy.disabled


def test_typo_in_policy_suggests_the_key() -> None:
    with pytest.raises(PolicyError, match="did you mean 'max_slot_lag'"):
        parse_policy(parse_yaml("max_slot_lagg: 3\n", "p.yml", PolicyError), "p.yml")
    with pytest.raises(PolicyError, match="did you mean 'drift'"):
        parse_policy(parse_yaml("rules: {drfit: false}\n", "p.yml", PolicyError), "p.yml")


def _report(facts: dict[str, HostFacts], policy: Policy = POLICY) -> AuditReport:
    return audit(INV, facts, policy, NOW)


def test_exit_codes() -> None:
    good = {h.name: compliant(h) for h in INV.hosts}
    assert _report(good).exit_code == 0
    warn = {**good, "relay1": replace(good["relay1"], disk_free_bytes=1)}
    assert _report(warn).exit_code == 0  # a warning is below the default fail_on (error)
    assert _report(warn, Policy(fail_on=Severity.WARNING)).exit_code == 1
    err = {**good, "relay1": replace(good["relay1"], node_version="8.7.3")}
    assert _report(err).exit_code == 1
    down = {**err, "relay2": HostFacts("relay2", reachable=False, error="timed out")}
    assert _report(down).exit_code == 2  # incomplete wins over findings
    missing = {k: v for k, v in good.items() if k != "bp1"}
    report = _report(missing)
    assert report.exit_code == 2 and report.unreachable == ("bp1",)


# (systemctl show output, service_user fact): User= empty is systemd's default, root
SERVICE_ROWS = [
    ("ActiveState=active\nUnitFileState=enabled\nUser=cardano\n", "cardano"),
    ("ActiveState=active\nUnitFileState=enabled\nUser=\n", "root"),
    ("ActiveState=active\nUnitFileState=enabled\nUser=root\n", "root"),
    ("ActiveState=active\nUnitFileState=enabled\n", None),  # no such property: unknown
]


@pytest.mark.parametrize(("body", "user"), SERVICE_ROWS)
def test_service_fact_reads_the_units_user(body: str, user: str | None) -> None:
    from orchestrator.facts.record import Output
    from orchestrator.facts.sections import ServiceSection

    section = ServiceSection()
    assert "-p User" in section.command(R1)
    assert section.parse(Output(R1, body, 0)).fields["service_user"] == user


# (layout run_as, the unit's User=, config owner, node-user fails?)
NODE_USER_ROWS = [
    ("root", "root", "root", True),  # both built-in layouts assume root: the unit decides, and root fails
    ("root", "cnode", "cnode", False),  # guild deployments: a dedicated user
    ("cardano", "cardano", "root", False),  # the unit says who runs it; file owners are not the test then
    ("cardano", "root", "cardano", True),
    ("cardano", None, "root", True),  # unit user unknown: files owned by root are the sign
    ("cardano", None, "cardano", False),
]


@pytest.mark.parametrize(("run_as", "unit_user", "owner", "fails"), NODE_USER_ROWS)
def test_node_user_reads_the_units_user(run_as: str, unit_user: str | None, owner: str, fails: bool) -> None:
    host = replace(R1, layout=replace(GUILD, run_as=run_as))
    facts = replace(compliant(R1), service_user=unit_user, config_stat=FileStat(owner, owner, 0o640, 100))
    assert ("node-user" in failed(host, facts)) is fails


# (policy text, kes_expiry_alert_periods read, a deprecation warning?, an error?)
KES_NAME_ROWS = [
    ("kes_expiry_alert_periods: 20\n", 20, False, False),
    ("min_kes_periods: 20\n", 20, True, False),  # the old name: read, never silently
    ("min_kes_periods: 20\nkes_expiry_alert_periods: 21\n", None, True, True),
    ("{}\n", 14, False, False),
]


@pytest.mark.parametrize(("text", "value", "warned", "error"), KES_NAME_ROWS)
def test_audit_kes_threshold_is_named_for_what_it_does(text: str, value: int | None, warned: bool, error: bool) -> None:
    data = parse_yaml(text, "policy.yml", PolicyError)
    if error:
        with pytest.raises(PolicyError, match="given twice"):
            parse_policy(data, "policy.yml")
        return
    policy = parse_policy(data, "policy.yml")
    assert policy.kes_expiry_alert_periods == value
    assert bool(policy.warnings) is warned
    if warned:
        assert policy.warnings[0].startswith("policy.yml:1:1: 'min_kes_periods' is deprecated")


def test_every_rule_defined_in_checks_is_in_the_one_table_once() -> None:
    """Every Rule defined anywhere in orchestrator/audit/ (checks.py, or a rule module of its own such
    as audit/readiness/) is listed in RULES, once."""
    import importlib
    import pkgutil

    import orchestrator.audit
    from orchestrator.audit.registry import Rule, index

    defined: dict[str, Rule] = {}
    for info in pkgutil.walk_packages(orchestrator.audit.__path__, "orchestrator.audit."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, Rule) and getattr(value.check, "__module__", info.name) == info.name:
                defined[f"{info.name}.{name}"] = value
    missing = sorted(name for name, r in defined.items() if r not in RULES)
    assert not missing, f"rules defined in orchestrator/audit/ but missing from RULES: {missing}"
    assert len(RULES) == len(RULES_BY_ID) == len({r.id for r in defined.values()})
    with pytest.raises(ValueError, match="listed twice"):
        index([RULES[1], RULES[1]])


def test_a_rule_is_still_called_as_its_check_and_the_reachability_rule_has_none() -> None:
    from orchestrator.audit.findings import REACHABLE

    with pytest.raises(TypeError, match="no check"):
        RULES_BY_ID[REACHABLE](object())
