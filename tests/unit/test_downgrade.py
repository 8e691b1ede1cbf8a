"""Never a silent downgrade, never a guess: the planner and the audit judge a host's release by the
catalogue's order (cardano/targets.py). Real shipped files; no SSH."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cardano import releases
from orchestrator.cardano.targets import Standing, UnknownRelease, is_newer, require_known, standing
from orchestrator.plan import ReleasePin, plan_host
from tests.unit.facts_builder import host_facts
from tests.unit.playbooks import read_playbook
from tests.unit.test_plan import inventory, legacy_config, legacy_topology_for

KNOWN = releases.known_versions()  # the whole catalogue, oldest first
OLDEST, NEWEST = KNOWN[0], KNOWN[-1]


def pin(version: str) -> ReleasePin:
    return ReleasePin(version, f"http://198.18.0.1:8080/{releases.release_filename(version)}", "ab" * 32)


def test_the_catalogue_order_decides_newer_older_and_same() -> None:
    assert standing(NEWEST, OLDEST).standing is Standing.NEWER
    assert standing(OLDEST, NEWEST).standing is Standing.OLDER
    assert standing(NEWEST, NEWEST).standing is Standing.SAME
    assert standing(NEWEST, OLDEST).reason == f"newer than the target ({NEWEST} > {OLDEST}): left alone"
    assert is_newer(NEWEST, OLDEST) and not is_newer(OLDEST, NEWEST) and not is_newer("99.0.0", OLDEST)


@pytest.mark.parametrize("version", ["9.9.9", "8.9", "8.9.0-pre", "10.1.4 ", ""])
def test_a_release_the_catalogue_does_not_know_is_refused_with_the_known_ones(version: str) -> None:
    verdict = standing(version, NEWEST)
    assert verdict.standing is Standing.UNKNOWN
    assert f"runs cardano-node {version}," in verdict.reason and f"(known: {', '.join(KNOWN)})" in verdict.reason
    with pytest.raises(UnknownRelease, match="known releases: " + ", ".join(KNOWN)):
        require_known(version)
    assert standing(NEWEST, version).standing is Standing.UNKNOWN  # nor an unknown target


def test_a_host_newer_than_the_target_is_left_alone_with_the_reason() -> None:
    inv = inventory()
    facts = host_facts(node_version=NEWEST, config_text=legacy_config(), topology_text=legacy_topology_for("relay1"),
                      releases=(NEWEST,))  # fmt: skip
    hp = plan_host(inv.host("relay1"), inv, facts, pin(OLDEST))
    assert hp.error is None and not hp.changed
    assert (hp.switch_binary, hp.stage_release, hp.files, hp.action) == (False, False, (), "none")
    assert hp.reasons == (f"newer than the target ({NEWEST} > {OLDEST}): left alone",)


def test_a_host_on_an_unknown_release_is_refused_not_planned() -> None:
    inv = inventory()
    facts = host_facts(node_version="9.9.9", config_text=legacy_config(), topology_text=legacy_topology_for("relay1"))
    hp = plan_host(inv.host("relay1"), inv, facts, pin(NEWEST))
    assert hp.error is not None and "9.9.9" in hp.error and ", ".join(KNOWN) in hp.error
    assert not hp.changed


def test_an_unknown_target_is_refused_on_every_host() -> None:
    inv = inventory()
    facts = host_facts(config_text=legacy_config(), topology_text=legacy_topology_for("relay1"))
    hp = plan_host(inv.host("relay1"), inv, facts, pin("9.9.9"))
    assert hp.error is not None and "target cardano-node 9.9.9" in hp.error


def test_an_older_host_is_still_upgraded() -> None:
    inv = inventory()
    facts = host_facts(node_version=OLDEST, config_text=legacy_config(), topology_text=legacy_topology_for("relay1"))
    hp = plan_host(inv.host("relay1"), inv, facts, pin(releases.TARGET_VERSION))
    assert hp.error is None and hp.switch_binary and hp.changed


def test_the_audit_never_recommends_a_downgrade() -> None:
    """A compliant 8.9.0 relay audited against an older pin: node-version says raise the pin, and
    drift does not ask for the older binary (the planner leaves a newer host alone)."""
    from dataclasses import replace as _replace
    from types import MappingProxyType

    from orchestrator.audit.policy import Policy
    from orchestrator.audit.run import audit_host
    from tests.unit.test_audit_rules import INV, NOW, R1, compliant

    running = releases.TARGET_VERSION
    older = releases.VERSIONS[releases.VERSIONS.index(running) - 1]
    host = _replace(R1, vars=MappingProxyType({"node_release": {"version": older, "url": "", "sha256": "a" * 64}}))
    findings = {f.rule: f for f in audit_host(host, compliant(R1), INV, Policy(pinned_version=older), NOW)}
    assert not findings["drift"].failed
    assert f"newer than the target ({running} > {older}): left alone" in findings["drift"].message
    assert findings["node-version"].failed
    assert "raise the pin (never downgraded)" in findings["node-version"].message


def test_the_p2p_mode_before_and_after_comes_from_the_host_config() -> None:
    """The engine's gate and its rollback gate read these (roll/engine.py), not constants."""
    import json

    inv = inventory()
    legacy = host_facts(config_text=legacy_config(), topology_text=legacy_topology_for("relay1"))
    hp = plan_host(inv.host("relay1"), inv, legacy, pin(releases.TARGET_VERSION))
    assert (hp.p2p_before, hp.p2p_after) == (False, True)
    on = json.loads(legacy_config())
    on["EnableP2P"] = True
    p2p = host_facts(config_text=json.dumps(on), topology_text=legacy_topology_for("relay1"))
    hp = plan_host(inv.host("relay1"), inv, p2p, pin(releases.TARGET_VERSION))
    assert (hp.p2p_before, hp.p2p_after) == (True, True)


def _pinned_inventory(version: str):  # type: ignore[no-untyped-def]
    from dataclasses import replace as _replace
    from types import MappingProxyType

    from orchestrator.model import Inventory

    inv = inventory()
    release = {"version": version, "url": f"http://198.18.0.1:8080/{releases.release_filename(version)}",
               "sha256": "cd" * 32, "source": "download"}  # fmt: skip
    hosts = tuple(_replace(h, vars=MappingProxyType({"node_release": release})) for h in inv.hosts)
    return Inventory(inv.source, hosts, inv.groups)


UPGRADE_NODE = Path(__file__).resolve().parents[2] / "playbooks" / "upgrade-node.yml"


def test_upgrade_node_targets_the_inventorys_pin_and_leaves_newer_hosts_alone() -> None:
    from orchestrator.load.runspec import compile_run
    from orchestrator.plan import make_plan

    inv = _pinned_inventory(releases.TARGET_VERSION)
    spec = compile_run(read_playbook(UPGRADE_NODE), inv)
    assert spec.release is not None and spec.release.version == releases.TARGET_VERSION
    facts = {
        "relay1": host_facts(config_text=legacy_config(), topology_text=legacy_topology_for("relay1")),
        "relay2": host_facts(node_version=releases.TARGET_VERSION, config_text=legacy_config(),
                            topology_text=legacy_topology_for("relay2"), releases=(releases.TARGET_VERSION,)),
        "bp1": host_facts(config_text=legacy_config(), topology_text=legacy_topology_for("bp1")),
    }
    older = releases.VERSIONS[0]
    plan = make_plan(inv, inv.hosts, facts, spec.release, spec.batches, spec.programs)
    assert plan.host("relay1").switch_binary and plan.host("relay1").target_version == releases.TARGET_VERSION
    assert not plan.host("relay2").switch_binary  # already on the pin
    # the same fleet pinned to an older release: nobody is sent back
    inv_old = _pinned_inventory(older)
    spec_old = compile_run(read_playbook(UPGRADE_NODE), inv_old)
    plan_old = make_plan(inv_old, inv_old.hosts, facts, spec_old.release, spec_old.batches, spec_old.programs)
    assert plan_old.host("relay2").reasons == (f"newer than the target ({releases.TARGET_VERSION} > {older}): left alone",)
    assert not plan_old.host("relay2").changed and plan_old.host("relay2").error is None


def test_a_pin_the_catalogue_does_not_know_stops_the_run_before_any_host() -> None:
    from orchestrator.load.playbook import PlaybookError
    from orchestrator.load.runspec import compile_run

    with pytest.raises(PlaybookError, match=r"node_release.version 9\.9\.9 is not a release this tool knows \(known: ") as err:
        compile_run(read_playbook(UPGRADE_NODE), _pinned_inventory("9.9.9"))
    assert "stage.yml" in str(err.value)  # the step's file and line


def test_the_issues_example_a_10_6_4_host_under_the_8_9_0_playbook_is_left_alone() -> None:
    inv = inventory()
    facts = host_facts(node_version="10.6.4", config_text=legacy_config(), topology_text=legacy_topology_for("relay1"),
                      releases=("10.6.4",))  # fmt: skip
    hp = plan_host(inv.host("relay1"), inv, facts, pin("8.9.0"))
    assert hp.reasons == ("newer than the target (10.6.4 > 8.9.0): left alone",) and not hp.changed


def test_the_p2p_mode_of_an_absent_enable_p2p_is_the_releases() -> None:
    """Up to 10.5 an absent EnableP2P is non-P2P; from 10.6 the node runs P2P whatever it says."""
    import json

    from orchestrator.actions.restart_node import p2p_enabled

    cfg = json.loads(legacy_config())
    cfg.pop("EnableP2P")
    text = json.dumps(cfg)
    assert p2p_enabled(text, "8.9.0") is False and p2p_enabled(text, "10.5.3") is False
    assert p2p_enabled(text, "10.6.4") is True and p2p_enabled(text, "11.0.1") is True
    assert p2p_enabled(text, None) is False  # not read: the file's own flag decides


def test_a_provisional_target_is_said_in_the_plan() -> None:
    from orchestrator.load.runspec import compile_run

    provisional = [r.version for r in releases.CATALOGUE if r.provisional]
    assert provisional, "the catalogue holds 11.1 as provisional"
    spec = compile_run(read_playbook(UPGRADE_NODE), _pinned_inventory(provisional[0]))
    assert any(f"cardano-node {provisional[0]} is PROVISIONAL" in w for w in spec.warnings)
    spec = compile_run(read_playbook(UPGRADE_NODE), _pinned_inventory("11.0.1"))
    assert not any("PROVISIONAL" in w for w in spec.warnings)


@pytest.mark.parametrize(
    ("running", "min_version", "fails", "says"),
    [
        ("8.9.0", None, True, f"cardano-node 8.9.0 is below {releases.hard_fork_floor('mainnet')} "
                              "(the hard-fork floor for mainnet): upgrade it"),
        (releases.hard_fork_floor("mainnet"), None, False, "(the hard-fork floor for mainnet)"),
        ("10.1.4", "10.1.4", False, "cardano-node 10.1.4 ≥ 10.1.4 (min_version)"),
        ("8.9.0", "10.1.4", True, "below 10.1.4 (min_version)"),
    ],
)
def test_min_version_defaults_to_the_hard_fork_floor(running: str, min_version: str | None, fails: bool,
                                                     says: str) -> None:  # fmt: skip
    from dataclasses import replace as _replace

    from orchestrator.audit.policy import Policy
    from orchestrator.audit.run import audit_host
    from tests.unit.test_audit_rules import INV, NOW, R1, compliant

    facts = _replace(compliant(R1), node_version=running)
    finding = next(f for f in audit_host(R1, facts, INV, Policy(min_version=min_version), NOW) if f.rule == "min-version")
    assert finding.failed is fails and says in finding.message


def test_a_policy_min_version_must_be_a_version() -> None:
    from orchestrator.audit.policy import PolicyError, parse_policy
    from orchestrator.load.inventory import parse_yaml

    assert parse_policy(parse_yaml("min_version: '10.1.4'\n", "p.yml", PolicyError), "p.yml").min_version == "10.1.4"
    with pytest.raises(PolicyError, match=r"p.yml:1:\d+: 'min_version' must be a cardano-node version x.y.z"):
        parse_policy(parse_yaml("min_version: 'latest'\n", "p.yml", PolicyError), "p.yml")


def test_the_audit_p2p_rule_reads_the_releases_p2p_mode() -> None:
    """A 10.6+ node runs P2P without EnableP2P (the catalogue): p2p-enabled does not flag it;
    an 8.9.0 node without it is non-P2P and is flagged."""
    import json
    from dataclasses import replace as _replace

    from orchestrator.audit.run import audit_host
    from tests.unit.test_audit_rules import INV, NOW, POLICY, R1, compliant

    base = compliant(R1)
    cfg = json.loads(base.config_text or "")
    cfg.pop("EnableP2P")
    without = _replace(base, config_text=json.dumps(cfg, indent=2))
    assert without.enable_p2p is False

    def p2p_finding(version: str):  # type: ignore[no-untyped-def]
        facts = _replace(without, node_version=version)
        return next(f for f in audit_host(R1, facts, INV, POLICY, NOW) if f.rule == "p2p-enabled")

    assert p2p_finding("8.9.0").failed
    assert not p2p_finding("10.6.4").failed and "10.6.4 runs P2P" in p2p_finding("10.6.4").message


def test_pinning_10_1_4_migrates_the_config_hop_by_hop_from_890_and_from_legacy_873() -> None:
    """An 8.9.0 P2P host and a legacy 8.7.3 host pinned to 10.1.4: the binary switches and config.json
    is migrated hop by hop (cardano/migrations.py) into a file 10.1.4's rules accept — never the old
    'use the upgrade playbook', never a config the target would refuse."""
    import json

    from orchestrator.cardano.config import shipped_file, validate_config

    inv = inventory()
    p2p_config = shipped_file("8.9.0", "mainnet", "config.json").decode()
    assert json.loads(p2p_config)["EnableP2P"] is True
    on_890 = host_facts(node_version="8.9.0", config_text=p2p_config, topology_text=legacy_topology_for("relay1"),
                       releases=("8.9.0",))  # fmt: skip
    legacy = host_facts(config_text=legacy_config(), topology_text=legacy_topology_for("relay1"))
    for facts, before in ((on_890, "8.9.0"), (legacy, "8.7.3")):
        hp = plan_host(inv.host("relay1"), inv, facts, pin("10.1.4"))
        assert hp.error is None, hp.error
        assert hp.switch_binary and hp.target_version == "10.1.4" and f"binary {before} → 10.1.4" in hp.reasons
        assert f"migrated {before} -> 10.1.4" in hp.reasons
        written = next(c for c in hp.files if c.path.endswith("config.json"))
        check = validate_config(written.content.decode(), "10.1.4")
        assert check.ok and check.p2p, check.errors
