"""Issue 28: the audit's machine outputs are written on every exit, 2 included, with the exit code and a
reason in them; the Prometheus text has KES, version, duration gauges and a `fleet` label; a prompt
without a terminal is one line, never a traceback. No host is contacted: each case fails before SSH."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.audit.findings import AuditReport, Finding, HostAudit, Severity
from orchestrator.audit.policy import Policy
from orchestrator.cli import main
from orchestrator.report import audit_json, audit_prometheus
from tests.unit.test_audit_formats import _check_schema

ROOT = Path(__file__).resolve().parents[2]
VAULTED = ROOT / "tests" / "fixtures" / "inventories" / "oracle" / "vault" / "hosts.yml"
SMALL_POOL = ROOT / "inventory" / "examples" / "small-pool" / "hosts.yml"
STALE = "cardano_fleet_audit_exit_code 0\n"  # what the last good run left


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {f.name: [(s.labels, s.value) for s in f.samples] for f in text_string_to_metric_families(text)}


@pytest.mark.parametrize(("why", "argv", "says"), [
    ("vault password missing", ["-i", str(VAULTED)], "vault-encrypted and cannot be decrypted"),
    ("vault password wrong", ["-i", str(VAULTED), "--vault-password-file", "WRONG"], "decrypt"),
    ("policy typo", ["-i", str(SMALL_POOL), "--policy", "POLICY"], "did you mean 'pinned_version'"),
    ("limit typo", ["-i", str(SMALL_POOL), "--limit", "relais"], "did you mean 'relays'"),
    ("prompt without a terminal", ["-i", str(VAULTED), "--vault-id", "prod@prompt"], "needs a terminal"),
])  # fmt: skip
def test_the_prometheus_file_is_rewritten_with_exit_code_2_and_the_reason(
    why: str, argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "WRONG").write_text("not the password\n")
    (tmp_path / "POLICY").write_text("pined_version: '8.9.0'\n")
    argv = [a.replace("WRONG", str(tmp_path / "WRONG")).replace("POLICY", str(tmp_path / "POLICY")) for a in argv]
    prom = tmp_path / "cardano_fleet_audit.prom"
    prom.write_text(STALE)
    assert main(["audit", *argv, "--format", "prometheus", "-o", str(prom), "--fleet", "exchange-eu"]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    metrics = _samples(prom.read_text())
    assert metrics["cardano_fleet_audit_exit_code"] == [({"fleet": "exchange-eu"}, 2.0)]
    [(labels, value)] = metrics["cardano_fleet_audit_result_info"]
    assert value == 1.0 and labels["reason"].startswith("not run: ") and says in labels["reason"]
    assert metrics["cardano_fleet_audit_duration_seconds"][0][1] >= 0
    assert not metrics["cardano_fleet_host_reachable"]  # no host was audited: none is shown as reachable


def test_json_junit_and_markdown_are_written_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("json", "junit", "markdown", "table"):
        out = tmp_path / f"audit.{fmt}"
        out.write_text("stale")
        assert main(["audit", "-i", str(VAULTED), "--format", fmt, "-o", str(out)]) == 2
        text = out.read_text()
        assert "vault-encrypted" in text and "stale" not in text, fmt
        if fmt == "json":
            doc = json.loads(text)
            _check_schema(doc, audit_json.AUDIT_JSON_SCHEMA)
            assert doc["exit_code"] == 2 and doc["error"] and doc["reason"].startswith("not run")
            assert doc["fleet"] == str(VAULTED) and doc["hosts"] == []
        if fmt == "junit":
            error = ET.fromstring(text).find("./testsuite/testcase/error")
            assert error is not None and error.get("type") == "exit-2"
        if fmt == "markdown":
            assert text.startswith("# cardano-fleet audit: NOT RUN (exit 2)")
    capsys.readouterr()


def test_new_gauges_and_the_fleet_label() -> None:
    e = Severity.ERROR
    report = AuditReport("inventory/prod", Policy(), 1_780_000_000.0, (
        HostAudit("bp1", "block_producer", True, 2, (Finding("bp1", "host-reachable", e, True, "probed"),),
                  node_version="8.9.0", kes_periods_left=41),
        HostAudit("relay1", "relay", True, 1, (Finding("relay1", "host-reachable", e, True, "probed"),),
                  node_version="8.7.3"),
    ), duration=12.5)  # fmt: skip
    metrics = _samples(audit_prometheus.render(report))
    assert metrics["cardano_fleet_kes_periods_left"] == [({"fleet": "inventory/prod", "host": "bp1"}, 41.0)]
    assert sorted((lab["host"], lab["version"], v) for lab, v in metrics["cardano_fleet_node_version_info"]) == [
        ("bp1", "8.9.0", 1.0), ("relay1", "8.7.3", 1.0)]
    assert metrics["cardano_fleet_audit_duration_seconds"] == [({"fleet": "inventory/prod"}, 12.5)]
    assert all(lab["fleet"] == "inventory/prod" for samples in metrics.values() for lab, _ in samples)
    assert metrics["cardano_fleet_audit_result_info"][0][0]["reason"] == "compliant"
    doc = json.loads(audit_json.render(report))
    _check_schema(doc, audit_json.AUDIT_JSON_SCHEMA)
    assert doc["hosts"][0]["kes_periods_left"] == 41 and doc["hosts"][1]["node_version"] == "8.7.3"


def test_a_prompt_without_a_terminal_is_one_line_in_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "-i", str(VAULTED), "--vault-id", "prod@prompt"]) == 1
    err = capsys.readouterr().err
    assert "--vault-id prod@prompt needs a terminal" in err and "Traceback" not in err
    assert main(["inventory", "-i", str(VAULTED), "-J"]) == 1
    assert "--vault-id default@prompt needs a terminal" in capsys.readouterr().err
