"""Audit renderers: JUnit parsed by xml.etree, Prometheus text by prometheus_client's parser, JSON
checked against the documented schema (jsonschema when installed, else by hand), atomic -o writes."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from orchestrator.audit.findings import AuditReport, Finding, HostAudit, Severity
from orchestrator.audit.policy import Policy
from orchestrator.report import audit_json, audit_junit, audit_markdown, audit_prometheus
from orchestrator.report.atomic_file import write_atomic
from orchestrator.report.audit_table import print_audit

E, W = Severity.ERROR, Severity.WARNING
NOW = 1_780_000_000.5


def _report() -> AuditReport:
    weird = 'relay"1\\x\n'  # a host name that needs escaping everywhere
    return AuditReport(
        source="inv.yml",
        policy=Policy(),
        timestamp=NOW,
        hosts=(
            HostAudit("relay1", "relay", True, 3, (
                Finding("relay1", "host-reachable", E, True, "probed"),
                Finding("relay1", "node-version", E, False, "cardano-node is 8.7.3, pinned 8.9.0"),
                Finding("relay1", "drift", E, False, "differs: topology.json",
                        "--- a/t.json\n+++ b/t.json\n@@ -1 +1 @@\n-a\n+b\n"),
                Finding("relay1", "free-disk", W, True, "90 GiB <free> & \"ok\""),
            )),
            HostAudit("bp1", "block_producer", False, None, (
                Finding("bp1", "host-reachable", E, False, "unreachable: connection refused"),
                Finding("bp1", "node-version", E, False, "not checked", skipped=True),
            )),
            HostAudit(weird, "relay", True, -2, (
                Finding(weird, "node-in-sync", E, True, "in sync | \x1b bell\x07"),
            )),
        ),
    )  # fmt: skip


def test_exit_code_of_the_sample() -> None:
    assert _report().exit_code == 2


def test_junit_parses_one_testcase_per_host_and_rule() -> None:
    root = ET.fromstring(audit_junit.render(_report()))
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 7
    assert root.get("tests") == "7" and root.get("failures") == "2" and root.get("errors") == "1"
    assert root.get("skipped") == "1"
    by = {(c.get("classname"), c.get("name")): c for c in cases}
    failure = by[("cardano-fleet.audit.relay1", "node-version")].find("failure")
    assert failure is not None and failure.get("type") == "error" and "8.7.3" in (failure.get("message") or "")
    drift = by[("cardano-fleet.audit.relay1", "drift")].find("failure")
    assert drift is not None and "+b" in (drift.text or "")
    assert by[("cardano-fleet.audit.relay1", "host-reachable")].find("failure") is None
    assert by[("cardano-fleet.audit.bp1", "host-reachable")].find("error") is not None
    assert by[("cardano-fleet.audit.bp1", "node-version")].find("skipped") is not None
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert suites["relay1"].get("failures") == "2" and suites["bp1"].get("errors") == "1"


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_prometheus_text_parses_with_help_and_type() -> None:
    text = audit_prometheus.render(_report())
    fam = _families(text)
    assert set(fam) == {"cardano_fleet_check", "cardano_fleet_host_reachable", "cardano_fleet_slot_lag",
                        "cardano_fleet_audit_timestamp_seconds", "cardano_fleet_audit_exit_code",
                        "cardano_fleet_kes_periods_left", "cardano_fleet_node_version_info",
                        "cardano_fleet_audit_result_info"}  # fmt: skip
    for name, family in fam.items():
        assert family.type == "gauge" and family.documentation, name
        assert f"# HELP {name} " in text and f"# TYPE {name} gauge" in text
    samples = fam["cardano_fleet_check"].samples
    checks = {(s.labels["host"], s.labels["rule"]): (s.value, s.labels["severity"]) for s in samples}
    assert checks[("relay1", "node-version")] == (0.0, "error")
    assert checks[("relay1", "free-disk")] == (1.0, "warning")
    assert ("bp1", "node-version") not in checks  # skipped: not evaluated, so absent
    assert checks[('relay"1\\x\n', "node-in-sync")] == (1.0, "error")  # labels escaped and round-tripped
    reach = {s.labels["host"]: s.value for s in fam["cardano_fleet_host_reachable"].samples}
    assert reach["relay1"] == 1.0 and reach["bp1"] == 0.0
    lag = {s.labels["host"]: s.value for s in fam["cardano_fleet_slot_lag"].samples}
    assert lag == {"relay1": 3.0, 'relay"1\\x\n': -2.0}
    assert fam["cardano_fleet_audit_timestamp_seconds"].samples[0].value == pytest.approx(NOW)
    assert fam["cardano_fleet_audit_exit_code"].samples[0].value == 2.0


def _check_schema(value: Any, schema: dict[str, Any], path: str = "$") -> None:
    """A small validator for the subset of JSON Schema the documented schema uses."""
    types = schema.get("type")
    if types is not None:
        allowed = types if isinstance(types, list) else [types]
        kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
        ok = False
        for t in allowed:
            if t == "integer":
                ok |= isinstance(value, int) and not isinstance(value, bool)
            elif t == "number":
                ok |= isinstance(value, int | float) and not isinstance(value, bool)
            else:
                ok |= isinstance(value, kinds[t])
        assert ok, f"{path}: {value!r} is not {allowed}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if "const" in schema:
        assert value == schema["const"], path
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{path}: missing {key}"
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                _check_schema(item, props[key], f"{path}.{key}")
            elif extra is False:
                raise AssertionError(f"{path}: unexpected key {key}")
            elif isinstance(extra, dict):
                _check_schema(item, extra, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _check_schema(item, schema["items"], f"{path}[{i}]")


def test_json_matches_the_documented_schema() -> None:
    doc = json.loads(audit_json.render(_report()))
    _check_schema(doc, audit_json.AUDIT_JSON_SCHEMA)
    try:
        import jsonschema
    except ImportError:
        pass
    else:
        jsonschema.validate(doc, audit_json.AUDIT_JSON_SCHEMA)
    assert doc["exit_code"] == 2 and doc["compliant"] is False
    assert doc["summary"] == {"hosts": 3, "unreachable": 1, "checks": 7, "passed": 3, "failed": 3, "skipped": 1,
                              "failing": 3}  # fmt: skip
    statuses = {(h["host"], f["rule"]): f["status"] for h in doc["hosts"] for f in h["findings"]}
    assert statuses[("bp1", "node-version")] == "skip" and statuses[("relay1", "drift")] == "fail"
    assert {r["id"] for r in doc["rules"]} >= {"host-reachable", "drift", "key-permissions"}


def test_the_schema_validator_catches_mistakes() -> None:
    doc = json.loads(audit_json.render(_report()))
    del doc["hosts"][0]["findings"][0]["status"]
    with pytest.raises(AssertionError, match="missing status"):
        _check_schema(doc, audit_json.AUDIT_JSON_SCHEMA)


def test_schema_is_in_the_docs() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "audit.md"
    text = docs.read_text()
    for key in audit_json.AUDIT_JSON_SCHEMA["required"]:
        assert f'"{key}"' in text, key


def test_markdown_lists_failures_and_diffs() -> None:
    text = audit_markdown.render(_report())
    assert text.startswith("# cardano-fleet audit: INCOMPLETE")
    assert "| relay1 | relay | yes | 3 | node-version, drift |" in text
    assert "```diff\n--- a/t.json" in text
    assert "in sync \\| " in text or "relay\"1" in text  # pipes escaped in cells
    verbose = audit_markdown.render(_report(), verbose=True)
    assert "`free-disk`" in verbose and "`free-disk`" not in text


def test_table_renders_grouped_by_host() -> None:
    console = Console(record=True, width=160, file=open(os.devnull, "w"))  # noqa: SIM115
    print_audit(console, _report(), verbose=True)
    out = console.export_text()
    assert "relay1 (relay, slot lag 3)" in out and "bp1 (block_producer)" in out
    assert "INCOMPLETE" in out and "+b" in out


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "audit.prom"
    target.write_text("old\n")
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["audit.prom"]  # no temp file left behind
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_write_atomic_leaves_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "audit.prom"
    target.write_text("old\n")

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["audit.prom"]


def test_a_prometheus_label_value_stays_one_line_whatever_it_holds() -> None:
    """Backslash, quote and line feed are the format's escapes; a carriage return or another control
    character has none, and prometheus_client's parser splits at \\r: each becomes U+FFFD."""
    from prometheus_client.parser import text_string_to_metric_families

    from orchestrator.report.audit_prometheus import escape_label

    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    assert escape_label("x\ry\x07z\x85") == "x\ufffdy\ufffdz\ufffd"
    host = escape_label("re\rlay\n1")
    text = "# TYPE t gauge\n" + 't{host="' + host + '"} 1\n'
    (family,) = text_string_to_metric_families(text)
    assert [s.labels["host"] for s in family.samples] == ["re\ufffdlay\n1"]
