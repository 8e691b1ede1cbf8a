"""Hard-fork readiness (issue 26 item 5): each readiness rule passing and failing, the reference
configs of the real releases read as the next release reads them (table-driven), and the readiness
report in every output format with its exit code. No SSH: facts are built by hand."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.audit.checks import RULES
from orchestrator.audit.policy import Policy
from orchestrator.audit.readiness import ReleaseNotJudged, readiness_release, release_config
from orchestrator.audit.run import audit, audit_host
from orchestrator.cardano import releases
from orchestrator.cardano.layouts import IOG
from orchestrator.cardano.releases import forks
from orchestrator.cardano.releases.requirements import GB, requirements
from orchestrator.cli import main
from orchestrator.facts.probe import HostFacts
from orchestrator.model import Host, Inventory, Role
from orchestrator.report import audit_json, audit_junit, audit_markdown, audit_prometheus, audit_table
from tests.unit.test_audit_formats import _check_schema

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "fixtures" / "cardano-reference" / "cardano-node-repo"
SMALL_POOL = ROOT / "inventory" / "examples" / "small-pool" / "hosts.yml"
NOW = 1_796_428_800.0  # 2026-12-05 00:00 UTC: Plomin is enacted, van Rossem's date is not confirmed
GiB = 1024**3

R1 = Host("relay1", Role.RELAY, "198.18.0.11", IOG)
R2 = Host("relay2", Role.RELAY, "198.18.0.12", IOG)
BP = Host("bp1", Role.BLOCK_PRODUCER, "198.18.0.101", IOG)
INV = Inventory("inv.yml", (R1, R2, BP), MappingProxyType({"relays": ("relay1", "relay2"), "block_producers": ("bp1",)}))
READINESS_IDS = [r.id for r in RULES if r.readiness]


def ref(release_dir: str, name: str) -> str:
    return (REF / release_dir / name).read_text()


def facts(host: Host, version: str | None, config: str | None = None, topology: str | None = None,
          **fields: Any) -> HostFacts:  # fmt: skip
    """A probed host running `version` with that release's shipped mainnet files (by default)."""
    directory = {"11.1.0": "branch-f-f-prepare-11.1"}.get(version or "", version or "11.0.1")
    values: dict[str, Any] = {"disk_free_bytes": 500 * GiB, "ledger_bytes": 5 * GiB, "mem_total_bytes": 32 * GB,
                              "installed_release": version,  # staged by cardano-fleet, binaries unchanged
                              "installed_sums": (("cardano-node.tar.gz", "a" * 64, None), ("bin/cardano-node", "c" * 64,
                                                                                         "c" * 64))}  # fmt: skip
    values.update(fields)
    return HostFacts(host.name, reachable=True, node_version=version,
                     config_text=config if config is not None else ref(directory, "mainnet-config.json"),
                     topology_text=topology if topology is not None else ref(directory, "mainnet-topology.json"),
                     **values)  # fmt: skip


def findings(host: Host, f: HostFacts, release: str, policy: Policy | None = None) -> dict[str, Any]:
    return {x.rule: x for x in audit_host(host, f, INV, policy or Policy(), NOW, for_release=release)}


# --------------------------------------------------------------- the real reference configs


def _with(release_dir: str, name: str, **changes: Any) -> str:
    cfg = json.loads(ref(release_dir, name))
    for key, value in changes.items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    return json.dumps(cfg, indent=2)


# (case, running release, config text, topology text, V, ready?, what the verdict must name)
CONFIG_CASES: list[tuple[str, str, str, str, str, bool, str]] = [
    ("10.5.3 shipped -> 11.1: legacy tracing, no TraceOptions", "10.5.3", ref("10.5.3", "mainnet-config.json"),
     ref("10.5.3", "mainnet-topology.json"), "11.1.0", False, 'key "TraceOptions" not found'),
    ("11.0.1 shipped -> 11.1: new tracing, ready", "11.0.1", ref("11.0.1", "mainnet-config.json"),
     ref("11.0.1", "mainnet-topology.json"), "11.1.0", True, "no longer reads TurnOnLogMetrics, TurnOnLogging"),
    ("11.0.1 config-legacy -> 11.1: no TraceOptions", "11.0.1", ref("11.0.1", "mainnet-config-legacy.json"),
     ref("11.0.1", "mainnet-topology.json"), "11.1.0", False, 'key "TraceOptions" not found'),
    ("10.6.4 config-legacy -> 11.1: no TraceOptions", "10.6.4", ref("10.6.4", "mainnet-config-legacy.json"),
     ref("10.6.4", "mainnet-topology.json"), "11.1.0", False, 'key "TraceOptions" not found'),
    ("11.0.1 + TraceOptions but UseTraceDispatcher false -> 11.1: tracing silently switched", "11.0.1",
     _with("11.0.1", "mainnet-config.json", UseTraceDispatcher=False), ref("11.0.1", "mainnet-topology.json"),
     "11.1.0", False, "UseTraceDispatcher is false"),
    ("11.0.1 with the LMDB backend -> 11.1: V1LMDB removed", "11.0.1",
     _with("11.0.1", "mainnet-config.json", LedgerDB={"Backend": "V1LMDB"}), ref("11.0.1", "mainnet-topology.json"),
     "11.1.0", False, "V1LMDB"),
    ("11.0.1 with the LMDB backend -> 11.0.1: still read", "11.0.1",
     _with("11.0.1", "mainnet-config.json", LedgerDB={"Backend": "V1LMDB"}), ref("11.0.1", "mainnet-topology.json"),
     "11.0.1", True, "would start"),
    ("10.5.3 shipped -> 11.0.1: legacy tracing still read, EnableP2P true harmless", "10.5.3",
     ref("10.5.3", "mainnet-config.json"), ref("10.5.3", "mainnet-topology.json"), "11.0.1", True, "EnableP2P"),
    ("10.6.4 with V1InMemory -> 11.0.1: backend removed in 10.7", "10.6.4",
     _with("10.6.4", "mainnet-config.json", LedgerDB={"Backend": "V1InMemory"}), ref("10.6.4", "mainnet-topology.json"),
     "11.0.1", False, "V1InMemory"),
    ("8.9.0 shipped -> 11.0.1: no UseTraceDispatcher = new tracing since 10.2, no TraceOptions", "8.9.0",
     ref("8.9.0", "mainnet-config.json"), ref("8.9.0", "mainnet-topology.json"), "11.0.1", False,
     'key "TraceOptions" not found'),
    ("8.9.0 new-tracing config (no EnableP2P: non-P2P on 8.9.0) -> 11.0.1", "8.9.0",
     ref("8.9.0", "mainnet-config-new-tracing.json"), ref("8.9.0", "mainnet-topology.json"), "11.0.1", False,
     "EnableP2P is absent"),
    ("8.9.0 new-tracing config with EnableP2P true -> 11.0.1: ready", "8.9.0",
     _with("8.9.0", "mainnet-config-new-tracing.json", EnableP2P=True), ref("8.9.0", "mainnet-topology.json"),
     "11.0.1", True, "would start"),
    ("10.5.3 non-P2P (EnableP2P false, Producers topology) -> 11.0.1: P2P only from 10.6", "10.5.3",
     _with("10.5.3", "mainnet-config.json", EnableP2P=False),
     json.dumps({"Producers": [{"addr": "relays-new.cardano-mainnet.iohk.io", "port": 3001, "valency": 2}]}),
     "11.0.1", False, "EnableP2P is False"),
    ("10.5.3 without EnableP2P (non-P2P there) -> 11.0.1", "10.5.3", _with("10.5.3", "mainnet-config.json", EnableP2P=None),
     ref("10.5.3", "mainnet-topology.json"), "11.0.1", False, "EnableP2P is absent"),
    ("10.6.4 shipped (no EnableP2P: P2P already) -> 11.0.1", "10.6.4", ref("10.6.4", "mainnet-config.json"),
     ref("10.6.4", "mainnet-topology.json"), "11.0.1", True, "would start"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "running", "config", "topology", "v", "ready", "named"), CONFIG_CASES,
                         ids=[c[0] for c in CONFIG_CASES])  # fmt: skip
def test_reference_configs_read_as_the_next_release_reads_them(
    case: str, running: str, config: str, topology: str, v: str, ready: bool, named: str
) -> None:
    passed, message, detail = release_config.judge(releases.lookup(v), running, config, topology)
    assert passed is ready, (message, detail)
    assert named in message + detail, (message, detail)
    if not ready:
        assert message.startswith(f"not ready for {v}")


def test_the_non_p2p_topology_itself_is_named() -> None:
    cfg = _with("10.5.3", "mainnet-config.json", EnableP2P=False)
    producers = json.dumps({"Producers": [{"addr": "relays-new.cardano-mainnet.iohk.io", "port": 3001, "valency": 2}]})
    _, _, detail = release_config.judge(releases.lookup("11.0.1"), "10.5.3", cfg, producers)
    assert "topology.json: " in detail and "Expecting P2P Topology file format" in detail


# --------------------------------------------------------------- each rule through the audit


def test_a_host_on_11_0_1_with_its_shipped_files_is_ready_for_11_0_1() -> None:
    got = findings(R1, facts(R1, "11.0.1"), "11.0.1")
    assert sorted(got) == sorted(["host-reachable", *READINESS_IDS])  # no compliance rule in a readiness report
    assert all(f.passed for f in got.values()), {k: f.message for k, f in got.items()}
    assert "van Rossem 11.0.1" in got["release-fork-floors"].message


@pytest.mark.parametrize(("running", "below"), [("8.9.0", ["Plomin", "van Rossem"]), ("10.6.4", ["van Rossem"])])
def test_fork_floors_name_each_fork_the_node_is_below_with_its_date(running: str, below: list[str]) -> None:
    f = findings(R1, facts(R1, running), "11.0.1")["release-fork-floors"]
    assert not f.passed
    for name in below:
        assert name in f.message
    assert ("on mainnet 2025-01-29" in f.message) is ("Plomin" in below)
    assert "mainnet date not confirmed" in f.message and "upgrade it (to 11.0.1 or newer)" in f.message


def test_fork_floors_unknown_version_fails_and_a_release_below_the_next_floor_is_said() -> None:
    f = findings(R1, facts(R1, None), "11.0.1")["release-fork-floors"]
    assert not f.passed and "version unknown" in f.message
    f = findings(R1, facts(R1, "10.6.4"), "10.6.4")["release-fork-floors"]
    assert not f.passed and "10.6.4 itself is below the next fork's floor 11.0.1" in f.detail


def test_current_and_next_fork_follow_the_catalogue_dates() -> None:
    assert [f.name if f else None for f in forks.current_and_next("2024-12-01")] == ["Chang", "Plomin"]
    assert [f.name if f else None for f in forks.current_and_next("2026-12-05")] == ["Plomin", "van Rossem"]


def test_min_version_names_the_fork_of_its_floor() -> None:
    from orchestrator.audit.checks import RULES_BY_ID, Context

    ctx = Context(R1, facts(R1, "10.6.4"), INV, Policy(), NOW)
    passed, message, _ = RULES_BY_ID["min-version"](ctx)
    assert not passed and "van Rossem (PV 11.0, floor 11.0.1, mainnet date not confirmed)" in message


def test_release_config_fails_on_the_hosts_real_config_and_unreadable_files() -> None:
    legacy = facts(R1, "11.0.1", config=ref("11.0.1", "mainnet-config-legacy.json"))
    assert findings(R1, legacy, "11.0.1")["release-config"].passed
    f = findings(R1, facts(R1, "8.9.0"), "11.0.1")["release-config"]
    assert not f.passed and "TraceOptions" in f.message
    gone = HostFacts("relay1", reachable=True, node_version="10.6.4", probe_errors=MappingProxyType({"config": "exit 1"}))
    f = findings(R1, gone, "11.0.1")["release-config"]
    assert not f.passed and "unreadable (config: exit 1)" in f.message


def test_disk_needs_the_ledger_backup_across_a_snapshot_boundary() -> None:
    short = facts(R1, "10.6.4", disk_free_bytes=3 * GiB, ledger_bytes=5 * GiB)
    f = findings(R1, short, "11.0.1")["release-disk"]
    assert not f.passed and "short by 2.0 GiB" in f.message and "db/ledger backup" in f.detail
    same = facts(R1, "11.0.1", disk_free_bytes=3 * GiB, ledger_bytes=5 * GiB)  # same snapshot format: no backup
    assert findings(R1, same, "11.0.1")["release-disk"].passed
    swap = facts(R1, "10.7.1", disk_free_bytes=1 * GiB, ledger_bytes=5 * GiB)  # 10.7.1 -> 11.0.1: a binary swap
    assert findings(R1, swap, "11.0.1")["release-disk"].passed


def test_disk_adds_the_stated_requirement_and_fails_unknowns() -> None:
    stated = requirements("11.1.0")
    assert stated is not None and stated.free_disk_bytes == 300 * GB and "11.1.3" in stated.source
    small = facts(R1, "11.0.1", disk_free_bytes=200 * GB)
    f = findings(R1, small, "11.1.0")["release-disk"]  # provisional: the rule still reads its stated figure
    assert not f.passed and "stated for 11.1.0" in f.detail
    assert findings(R1, facts(R1, "11.0.1", disk_free_bytes=301 * GB), "11.1.0")["release-disk"].passed
    unknown = facts(R1, "11.0.1", disk_free_bytes=None)
    assert "free disk unknown" in findings(R1, unknown, "11.0.1")["release-disk"].message
    # a release the catalogue does not know: its snapshots cannot be judged
    stranger = facts(R1, "9.1.0", config=ref("11.0.1", "mainnet-config.json"),
                     topology=ref("11.0.1", "mainnet-topology.json"))
    f = findings(R1, stranger, "11.0.1")["release-disk"]
    assert not f.passed and "the catalogue does not know" in f.message


def test_memory_against_the_stated_requirement_only() -> None:
    f = findings(R1, facts(R1, "11.0.1", mem_total_bytes=8 * GB), "11.0.1")["release-memory"]
    assert f.passed and "state no memory requirement" in f.message
    f = findings(R1, facts(R1, "11.0.1", mem_total_bytes=16 * GB), "11.1.0")["release-memory"]
    assert not f.passed and "16.0 GB RAM, 11.1.0 asks for 24.0 GB" in f.message
    assert findings(R1, facts(R1, "11.0.1", mem_total_bytes=25 * GB), "11.1.0")["release-memory"].passed
    f = findings(R1, facts(R1, "11.0.1", mem_total_bytes=None), "11.1.0")["release-memory"]
    assert not f.passed and "RAM unknown" in f.message


def test_a_host_newer_than_the_release_is_never_judged_for_a_downgrade() -> None:
    got = findings(R1, facts(R1, "11.0.1", disk_free_bytes=1), "10.6.4")
    for rule_id in ("release-config", "release-disk", "release-memory"):
        assert got[rule_id].passed and "never sent back" in got[rule_id].message


def test_a_plain_audit_runs_no_readiness_rule() -> None:
    got = audit_host(R1, facts(R1, "11.0.1"), INV, Policy(), NOW)
    assert not {f.rule for f in got} & set(READINESS_IDS)


@pytest.mark.parametrize("version", ["11.1.0", "9.9.9", "latest"])
def test_unknown_or_provisional_release_is_refused(version: str) -> None:
    with pytest.raises(ReleaseNotJudged, match="provisional" if version == "11.1.0" else "not in the release catalogue"):
        readiness_release(version)
    assert readiness_release("11.0.1").version == "11.0.1"


# --------------------------------------------------------------- the report in every format


def _mixed_report() -> Any:
    f = {"relay1": facts(R1, "8.9.0"), "relay2": facts(R2, "10.6.4"), "bp1": facts(BP, "11.0.1")}
    return audit(INV, f, Policy(), NOW, for_release="11.0.1")


def test_readiness_report_exit_codes() -> None:
    report = _mixed_report()
    assert report.exit_code == 1 and report.reason.startswith("not ready for 11.0.1: ")
    assert [h.host for h in report.hosts if report.host_ready(h)] == ["bp1"]
    ready = audit(INV, {h.name: facts(h, "11.0.1") for h in INV.hosts}, Policy(), NOW, for_release="11.0.1")
    assert ready.exit_code == 0 and ready.reason == "ready for 11.0.1"
    partial = audit(INV, {"relay1": facts(R1, "11.0.1"), "bp1": facts(BP, "11.0.1")}, Policy(), NOW,
                    for_release="11.0.1")  # fmt: skip
    assert partial.exit_code == 2 and not partial.host_ready(partial.hosts[1])


def test_readiness_in_every_format() -> None:
    report = _mixed_report()
    doc = json.loads(audit_json.render(report))
    _check_schema(doc, audit_json.AUDIT_JSON_SCHEMA)
    assert doc["for_release"] == "11.0.1" and doc["exit_code"] == 1
    assert {h["host"]: h["ready"] for h in doc["hosts"]} == {"relay1": False, "relay2": False, "bp1": True}
    plain = json.loads(audit_json.render(audit(INV, {h.name: facts(h, "11.0.1") for h in INV.hosts}, Policy(), NOW)))
    _check_schema(plain, audit_json.AUDIT_JSON_SCHEMA)
    assert plain["for_release"] is None and all(h["ready"] is None for h in plain["hosts"])

    root = ET.fromstring(audit_junit.render(report))
    assert root.get("name") == "cardano-fleet readiness for 11.0.1"
    props = {s.get("name"): {p.get("name"): p.get("value") for p in s.iter("property")} for s in root.iter("testsuite")}
    assert props["bp1"]["ready"] == "true" and props["relay1"]["ready"] == "false"
    assert props["relay2"]["for_release"] == "11.0.1"
    failing = {(s.get("name"), c.get("name")) for s in root.iter("testsuite") for c in s.iter("testcase")
               if c.find("failure") is not None}  # fmt: skip
    assert ("relay1", "release-fork-floors") in failing and ("relay1", "release-config") in failing

    samples = {f.name: [(s.labels, s.value) for s in f.samples]
               for f in text_string_to_metric_families(audit_prometheus.render(report))}  # fmt: skip
    ready = {labels["host"]: value for labels, value in samples["cardano_fleet_release_ready"]}
    assert ready == {"relay1": 0.0, "relay2": 0.0, "bp1": 1.0}
    assert all(labels["release"] == "11.0.1" for labels, _ in samples["cardano_fleet_release_ready"])

    md = audit_markdown.render(report)
    assert md.startswith("# cardano-fleet readiness for cardano-node 11.0.1: NOT READY")
    assert "| bp1 | block_producer | yes | 11.0.1 | **yes** | — |" in md

    text = audit_table.render(report)
    assert "Ready for 11.0.1: bp1; not ready: relay1, relay2" in text and "NOT READY for 11.0.1" in text
    # relay2 (10.6.4) fails only its running node's floors: upgrading it is what it needs; relay1 (8.9.0)
    # also fails release-config (its legacy-tracing config), so it cannot take 11.0.1 as it is
    assert "Can take 11.0.1 now (every other check passes; upgrading them makes them ready): relay2" in text
    assert {h["host"]: h["can_take"] for h in doc["hosts"]} == {"relay1": False, "relay2": True, "bp1": False}
    assert all(h["can_take"] is None for h in plain["hosts"])


@pytest.mark.parametrize(("version", "says"), [("11.1.0", "provisional"), ("12.0.0", "not in the release catalogue")])
def test_the_command_refuses_an_unknown_or_provisional_release_with_exit_2(
    version: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ready.json"
    assert main(["audit", "-i", str(SMALL_POOL), "--for-release", version, "--format", "json", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    doc = json.loads(out.read_text())
    _check_schema(doc, audit_json.AUDIT_JSON_SCHEMA)
    assert doc["exit_code"] == 2 and doc["for_release"] == version and doc["hosts"] == [] and says in doc["error"]


# --------------------------------------------------------------- release-sha256: the staging record


def _staged(tmp_path: Path, pin_sha: str | None = None, version: str = "8.9.0",
            note: str | None = "8.9.0 publishes none (boundaries doc §c)") -> tuple[Host, str]:
    """A release staged as `run` stages it: unpacked under releases/<version>, its record written by the
    stage script's own shell (roll/remote.py), bin_dir a link into it; `note`: the sums file's outcome
    recorded (None: a record from before that check, without the line). Returns the host and the tarball's sha256."""
    import hashlib
    import os
    import subprocess
    from dataclasses import replace

    from orchestrator.roll.remote import _record_sums

    tarball = tmp_path / "stage" / f"cardano-node-{version}-linux.tar.gz"
    tarball.parent.mkdir()
    tarball.write_bytes(os.urandom(4096))
    release = tmp_path / "releases" / version
    (release / "bin").mkdir(parents=True)
    for name in ("cardano-node", "cardano-cli"):
        (release / "bin" / name).write_bytes(os.urandom(2048))
    script = _record_sums(str(release), str(tarball), tarball.name, note or "")
    assert subprocess.run(["sh", "-c", script], timeout=30).returncode == 0
    record = release / ".cardano-fleet-sha256"
    assert record.read_text().splitlines()[-1] == "# sha256sums: " + (note or "")
    if note is None:  # as written before staging checked the sums file
        record.write_text("".join(record.read_text().splitlines(keepends=True)[:-1]))
    (tmp_path / "bin").symlink_to(release / "bin")
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    pin = {"version": version, "url": f"https://example.invalid/{tarball.name}", "sha256": pin_sha or digest}
    host = replace(R1, layout=replace(R1.layout, releases_dir=str(tmp_path / "releases"), bin_dir=str(tmp_path / "bin")),
                   vars=MappingProxyType({"node_release": pin}))  # fmt: skip
    return host, digest


def _probe_sums(host: Host) -> HostFacts:
    import subprocess

    from orchestrator.facts.record import REGISTRY, Output

    record = REGISTRY["release_sums"]
    proc = subprocess.run(["sh", "-c", record.command(host)], capture_output=True, text=True, timeout=30)
    parsed = record.parse(Output(host, proc.stdout, proc.returncode))
    return facts(host, "11.0.1", **parsed.fields, probe_errors=MappingProxyType(dict(parsed.errors)))


def test_the_staging_record_is_read_back_and_the_binaries_hashed_again(tmp_path: Path) -> None:
    host, digest = _staged(tmp_path)
    f = _probe_sums(host)
    assert f.installed_release == "8.9.0" and f.installed_sums is not None
    assert f.installed_sums[0] == ("cardano-node-8.9.0-linux.tar.gz", digest, None)  # the tarball is gone
    assert [(p, was == now) for p, was, now in f.installed_sums[1:]] == [("bin/cardano-node", True), ("bin/cardano-cli", True)]
    got = findings(host, f, "11.0.1")["release-sha256"]
    assert got.passed and "= the inventory's pin" in got.message
    assert "sha256sums: 8.9.0 publishes none (boundaries doc §c)" in got.message
    assert got.severity.value == "warning"
    (tmp_path / "releases" / "8.9.0" / "bin" / "cardano-node").write_bytes(b"replaced")
    got = findings(host, _probe_sums(host), "11.0.1")["release-sha256"]
    assert not got.passed and "changed since staging: bin/cardano-node" in got.message


def test_the_recorded_tarball_must_be_the_pinned_one(tmp_path: Path) -> None:
    host, digest = _staged(tmp_path, pin_sha="b" * 64)
    got = findings(host, _probe_sums(host), "11.0.1")["release-sha256"]
    assert not got.passed and f"sha256 {digest[:12]}…, the inventory pins bbbbbbbbbbbb…" in got.message


def test_no_staging_record_or_a_binary_outside_the_releases_dir_is_not_verified(tmp_path: Path) -> None:
    host, _ = _staged(tmp_path)
    (tmp_path / "releases" / "8.9.0" / ".cardano-fleet-sha256").unlink()
    got = findings(host, _probe_sums(host), "11.0.1")["release-sha256"]
    assert not got.passed and "no staging record" in got.message
    (tmp_path / "bin").unlink()
    (tmp_path / "bin").mkdir()
    got = findings(host, _probe_sums(host), "11.0.1")["release-sha256"]
    assert not got.passed and "does not point into" in got.message


@pytest.mark.parametrize(("note", "said"), [
    ("matches cardano-node-10.6.4-sha256sums.txt", "sha256sums: matches cardano-node-10.6.4-sha256sums.txt"),
    ("not verified against cardano-node-10.6.4-sha256sums.txt: not fetched (curl: (22) The requested URL returned "
     "error: 404)", "sha256sums: not verified against cardano-node-10.6.4-sha256sums.txt: not fetched (curl: (22)"),
    (None, "staged before cardano-fleet checked cardano-node-10.6.4-sha256sums.txt: compare the pin with it by hand"),
])  # fmt: skip
def test_the_published_sums_outcome_is_read_back_from_the_record(tmp_path: Path, note: str | None, said: str) -> None:
    """A record carries the staging's sums outcome as its last line; an older record has none and the
    rule says to compare by hand. The line is not a sha256sum line: the binaries are still read."""
    host, _ = _staged(tmp_path, version="10.6.4", note=note)
    f = _probe_sums(host)
    assert f.installed_sums is not None and len(f.installed_sums) == 3
    assert f.installed_sums_published == (note or None)
    got = findings(host, f, "11.0.1")["release-sha256"]
    assert got.passed and said in got.message
