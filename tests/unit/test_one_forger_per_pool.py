"""Audit rule one-forger-per-pool (audit/one_forger_per_pool.py): both forging, none, one, the standby
that would forge after a restart, and what each output format says of it."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from orchestrator.audit.findings import Severity
from orchestrator.audit.policy import Policy, PolicyError, parse_policy
from orchestrator.audit.run import audit
from orchestrator.cardano.forging import Forging
from orchestrator.cardano.layouts import IOG
from orchestrator.facts.model import CredentialFile, ForgingFact, HostFacts
from orchestrator.load.inventory import parse_yaml
from orchestrator.model import Host, Inventory, Role
from orchestrator.report.audit_formats import AUDIT_FORMATS

NOW = 1_780_000_000.0
BP = Host("bp1", Role.BLOCK_PRODUCER, "198.18.0.101", IOG)
SB = Host("bp1-standby", Role.BLOCK_PRODUCER, "198.18.0.102", IOG, standby_for="bp1")
BP2 = Host("bp2", Role.BLOCK_PRODUCER, "198.18.0.103", IOG)
RELAY = Host("relay1", Role.RELAY, "198.18.0.11", IOG)
INV = Inventory("inv.yml", (RELAY, BP, SB, BP2), MappingProxyType({
    "relays": ("relay1",), "block_producers": ("bp1", "bp1-standby", "bp2"), "standby_producers": ("bp1-standby",)}))
CREDS = tuple(CredentialFile(f"/opt/cardano/keys/{n}", True, False) for n in ("kes.skey", "vrf.skey", "node.cert"))
AWAY = tuple(CredentialFile(c.path, False, True) for c in CREDS)
RULE = "one-forger-per-pool"


def forging(state: Forging, *, creds: tuple[CredentialFile, ...] = CREDS, non_producing: bool = False,
            checks: tuple[int | None, int | None] | None = None, running: bool = True) -> ForgingFact:  # fmt: skip
    before, after = checks or {Forging.ON: (10, 13)}.get(state, (5, 5))
    metric = {Forging.ON: True, Forging.ENABLED: True, Forging.OFF: False}.get(state)
    return ForgingFact(state, running, metric, before, after, 3.0, creds, non_producing)


def facts(name: str, f: ForgingFact | None) -> HostFacts:
    return HostFacts(name, True, forging=f)


def policy_of(text: str) -> Policy:
    return parse_policy(parse_yaml(text, "policy.yml", PolicyError), "policy.yml")


def verdicts(bp: ForgingFact | None, sb: ForgingFact | None, policy: Policy | None = None,
             only: tuple[Host, ...] | None = None) -> dict[str, tuple[bool, Severity, str]]:  # fmt: skip
    got = {"bp1": facts("bp1", bp), "bp1-standby": facts("bp1-standby", sb),
           "bp2": facts("bp2", forging(Forging.ON)), "relay1": facts("relay1", None)}  # fmt: skip
    hosts = only or INV.hosts
    report = audit(INV, {n: f for n, f in got.items() if any(h.name == n for h in hosts)}, policy or Policy(), NOW,
                   hosts)  # fmt: skip
    return {f.host: (f.passed, f.severity, f.message) for f in report.findings if f.rule == RULE}


def test_one_forger_passes_and_the_idle_standby_is_named() -> None:
    v = verdicts(forging(Forging.ON), forging(Forging.OFF, creds=AWAY, non_producing=True))
    assert set(v) == {"bp1", "bp1-standby", "bp2"}  # producers and standbys, never a relay
    assert v["bp1"] == (True, Severity.CRITICAL, "pool of bp1: bp1 forges, bp1-standby idle")
    assert v["bp1-standby"][0] and v["bp2"] == (True, Severity.CRITICAL, "pool of bp2: bp2 forges")


def test_both_forging_is_critical_on_both_hosts() -> None:
    v = verdicts(forging(Forging.ON), forging(Forging.ON))
    for host in ("bp1", "bp1-standby"):
        passed, severity, message = v[host]
        assert not passed and severity is Severity.CRITICAL
        assert "bp1 and bp1-standby both forge: two blocks per leader slot" in message
    assert v["bp2"][0]  # another pool is not touched


def test_a_forger_beside_one_whose_metric_claims_forging_is_critical() -> None:
    v = verdicts(forging(Forging.ON), forging(Forging.ENABLED))
    assert not v["bp1"][0] and v["bp1"][1] is Severity.CRITICAL and "reports forging_enabled 1" in v["bp1"][2]


def test_none_forging_is_critical() -> None:
    v = verdicts(forging(Forging.OFF), forging(Forging.OFF, creds=AWAY))
    assert v["bp1"] == (False, Severity.CRITICAL, "pool of bp1: no host forges: every leader slot is missed")
    stopped = verdicts(forging(Forging.OFF, running=False), forging(Forging.OFF, creds=AWAY))
    assert not stopped["bp1"][0] and stopped["bp1"][1] is Severity.CRITICAL


def test_a_metric_of_one_without_checks_rising_is_not_forging() -> None:
    """A replaying producer: forging_enabled 1 (set before the replay), no leadership check yet."""
    v = verdicts(forging(Forging.ENABLED), forging(Forging.OFF, creds=AWAY))
    assert not v["bp1"][0] and v["bp1"][1] is Severity.CRITICAL and "no host forges" in v["bp1"][2]
    # …but a node that exports no counter at all cannot be proven either way: a warning, not a false alarm
    v = verdicts(forging(Forging.ENABLED, checks=(None, None)), forging(Forging.OFF, creds=AWAY))
    assert not v["bp1"][0] and v["bp1"][1] is Severity.WARNING and "cannot be proven" in v["bp1"][2]


def test_a_standby_that_would_forge_after_a_restart_is_a_warning_with_the_reason() -> None:
    v = verdicts(forging(Forging.ON), forging(Forging.OFF, creds=CREDS, non_producing=False))
    assert v["bp1"][0]  # the producer's view of the pool is fine
    passed, severity, message = v["bp1-standby"]
    assert not passed and severity is Severity.WARNING
    assert "credential files are present" in message and "--start-as-non-producing-node" in message
    # the flag, or the files away, each make it safe
    assert verdicts(forging(Forging.ON), forging(Forging.OFF, non_producing=True))["bp1-standby"][0]
    assert verdicts(forging(Forging.ON), forging(Forging.OFF, creds=AWAY))["bp1-standby"][0]


def test_an_unknown_member_is_an_error_and_a_policy_severity_caps_every_outcome() -> None:
    v = verdicts(forging(Forging.ON), None, only=(BP,))  # --limit bp1: the standby is not audited
    assert not v["bp1"][0] and v["bp1"][1] is Severity.ERROR and "cannot tell about bp1-standby" in v["bp1"][2]
    policy = policy_of(f"rules:\n  {RULE}: {{severity: warning}}\n")
    v = verdicts(forging(Forging.ON), forging(Forging.ON), policy)
    assert v["bp1"][1] is Severity.WARNING
    low = policy_of(f"rules:\n  {RULE}: {{severity: info}}\n")
    assert verdicts(forging(Forging.ON), forging(Forging.OFF), low)["bp1-standby"][1] is Severity.INFO


def test_critical_fails_the_audit_and_fail_on_critical_lets_errors_pass() -> None:
    got = {"bp1": facts("bp1", forging(Forging.ON)), "bp1-standby": facts("bp1-standby", forging(Forging.ON))}
    report = audit(INV, got, Policy(), NOW, (BP, SB))
    assert report.exit_code == 1 and {f.severity for f in report.failing} >= {Severity.CRITICAL}
    assert policy_of("fail_on: critical\n").fail_on is Severity.CRITICAL


@pytest.mark.parametrize("fmt", sorted(AUDIT_FORMATS))
def test_every_output_format_says_critical(fmt: str) -> None:
    got = {"bp1": facts("bp1", forging(Forging.ON)), "bp1-standby": facts("bp1-standby", forging(Forging.ON))}
    report = audit(INV, got, Policy(), NOW, (BP, SB))
    text = AUDIT_FORMATS[fmt].render(report, verbose=True)
    if fmt == "prometheus":  # labels and values only: the failed check, at its severity
        assert f'host="bp1",rule="{RULE}",severity="critical"}} 0' in text
        return
    assert "critical" in text and RULE in text and "both forge" in text
    if fmt == "json":
        doc = json.loads(text)
        assert {f["severity"] for h in doc["hosts"] for f in h["findings"] if f["rule"] == RULE} == {"critical"}


def _kes(bp: ForgingFact | None, sb: ForgingFact | None, bp2: ForgingFact | None = None) -> dict[str, tuple[bool, str]]:
    """kes-expiry's verdicts, where no host exports a KES metric (remaining_kes_periods None)."""
    got = {"bp1": facts("bp1", bp), "bp1-standby": facts("bp1-standby", sb), "bp2": facts("bp2", bp2)}
    report = audit(INV, got, Policy(), NOW, (BP, SB, BP2))
    return {f.host: (f.passed, f.message) for f in report.findings if f.rule == "kes-expiry"}


def test_kes_expiry_passes_the_idle_pool_member_and_still_fails_a_producer_without_the_metric() -> None:
    """The idle one of a pool (credentials renamed away, not forging) exports no KES metric, as the node
    only does with its credentials loaded: it passes with the reason, whichever host it is after a
    handover; a forger or a lone producer without the metric still fails, and so does an idle standby
    whose files are present (a restart would load them)."""
    v = _kes(forging(Forging.ON), forging(Forging.OFF, creds=AWAY, non_producing=True), forging(Forging.ON))
    assert v["bp1-standby"][0] and "idle in the pool of bp1" in v["bp1-standby"][1], v
    assert not v["bp1"][0] and not v["bp2"][0]
    swapped = _kes(forging(Forging.OFF, creds=AWAY), forging(Forging.ON))
    assert swapped["bp1"][0] and "bp1-standby if it does" in swapped["bp1"][1] and not swapped["bp1-standby"][0]
    assert not _kes(forging(Forging.ON), forging(Forging.OFF))["bp1-standby"][0]  # files present, no flag
