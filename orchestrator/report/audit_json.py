"""`audit --format json`: a stable, documented document (schema below, also in docs/audit.md).

Compatibility: keys are only ever added (`for_release` and each host's `ready` came with `audit
--for-release`); a removal or change of meaning bumps `schema_version`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from orchestrator.audit.checks import RULES
from orchestrator.audit.findings import AuditReport, Finding

SCHEMA_VERSION = 1

_STR_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
_INT_OR_NULL: dict[str, Any] = {"type": ["integer", "null"]}
_SEVERITY: dict[str, Any] = {"type": "string", "enum": ["info", "warning", "error", "critical"]}

FINDING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["rule", "severity", "status", "passed", "message", "detail"],
    "additionalProperties": False,
    "properties": {
        "rule": {"type": "string", "description": "rule id, see `rules`"},
        "severity": _SEVERITY,
        "status": {"type": "string", "enum": ["pass", "fail", "skip"],
                   "description": "skip: not evaluated because the host could not be probed"},
        "passed": {"type": "boolean"},
        "message": {"type": "string"},
        "detail": {"type": "string", "description": "more text: the unified diff for `drift`, node errors, ..."},
    },
}  # fmt: skip

AUDIT_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://cardano-fleet.invalid/schemas/audit-v1.json",
    "title": "cardano-fleet audit report",
    "type": "object",
    "required": ["schema_version", "generated_at", "timestamp", "inventory", "exit_code", "compliant", "policy",
                 "summary", "rules", "hosts"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"type": "integer", "const": SCHEMA_VERSION},
        "generated_at": {"type": "string", "description": "ISO 8601, UTC"},
        "timestamp": {"type": "number", "description": "unix seconds"},
        "inventory": {"type": "string"},
        "exit_code": {"type": "integer", "enum": [0, 1, 2]},
        "compliant": {"type": "boolean"},
        "reason": {"type": "string", "description": "one line: why the exit code is what it is"},
        "error": {**_STR_OR_NULL, "description": "the audit did not run: why (then `hosts` is empty)"},
        "fleet": {"type": "string", "description": "--fleet, default the inventory path as given"},
        "duration_seconds": {"type": ["number", "null"]},
        "for_release": {**_STR_OR_NULL, "description": "audit --for-release V: a readiness report for release V "
                                                       "(readiness rules only); null: the compliance audit"},
        "policy": {
            "type": "object",
            "required": ["source", "pinned_version", "pinned_cli_version", "max_slot_lag", "max_stall_slots",
                         "max_clock_skew_seconds", "min_hot_peers", "min_free_disk_bytes", "kes_expiry_alert_periods",
                         "network", "fail_on", "disabled", "severities"],
            "additionalProperties": False,
            "properties": {
                "source": {"type": "string"},
                "pinned_version": {"type": "string"},
                "pinned_cli_version": _STR_OR_NULL,
                "max_slot_lag": {"type": "integer"},
                "max_stall_slots": {"type": "integer"},
                "max_clock_skew_seconds": {"type": "integer"},
                "min_hot_peers": {"type": "integer"},
                "min_free_disk_bytes": {"type": "integer"},
                "kes_expiry_alert_periods": {"type": "integer"},
                "network": _STR_OR_NULL,
                "fail_on": {"type": "string", "enum": ["warning", "error", "critical"]},
                "disabled": {"type": "array", "items": {"type": "string"}},
                "severities": {"type": "object", "additionalProperties": _SEVERITY},
            },
        },
        "summary": {
            "type": "object",
            "required": ["hosts", "unreachable", "checks", "passed", "failed", "skipped", "failing"],
            "additionalProperties": False,
            "properties": {k: {"type": "integer"} for k in
                           ("hosts", "unreachable", "checks", "passed", "failed", "skipped", "failing")},
        },
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "description", "severity", "default_severity", "applies_to", "category",
                             "enabled"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"},
                    "description": {"type": "string"},
                    "severity": _SEVERITY,
                    "default_severity": _SEVERITY,
                    "applies_to": {"type": "string", "enum": ["all", "relay", "block_producer", "passive"]},
                    "category": {"type": "string"},
                    "enabled": {"type": "boolean"},
                },
            },
        },
        "hosts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["host", "role", "reachable", "slot_lag", "findings"],
                "additionalProperties": False,
                "properties": {
                    "host": {"type": "string"},
                    "role": {"type": "string", "enum": ["relay", "block_producer", "passive"]},
                    "reachable": {"type": "boolean"},
                    "slot_lag": _INT_OR_NULL,
                    "node_version": _STR_OR_NULL,
                    "kes_periods_left": _INT_OR_NULL,
                    "ready": {"type": ["boolean", "null"],
                              "description": "readiness report: reachable and no failing check at or above fail_on; "
                                             "null: not a readiness report"},
                    "can_take": {"type": ["boolean", "null"],
                                 "description": "readiness report: not ready only because the running node is below "
                                                "a fork's floor, every other check passing (upgrading it to the "
                                                "release makes it ready); null: not a readiness report"},
                    "findings": {"type": "array", "items": FINDING_SCHEMA},
                },
            },
        },
    },
}  # fmt: skip


def _status(f: Finding) -> str:
    return "skip" if f.skipped else "pass" if f.passed else "fail"


def audit_document(report: AuditReport) -> dict[str, Any]:
    policy = report.policy
    findings = report.findings
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.fromtimestamp(report.timestamp, UTC).isoformat().replace("+00:00", "Z"),
        "timestamp": report.timestamp,
        "inventory": report.source,
        "exit_code": report.exit_code,
        "compliant": report.compliant,
        "reason": report.reason,
        "error": report.error,
        "fleet": report.fleet or report.source,
        "duration_seconds": None if report.duration is None else round(report.duration, 3),
        "for_release": report.for_release,
        "policy": {
            "source": policy.source,
            "pinned_version": policy.pinned_version,
            "pinned_cli_version": policy.cli_version,
            "max_slot_lag": policy.max_slot_lag,
            "max_stall_slots": policy.max_stall_slots,
            "max_clock_skew_seconds": policy.max_clock_skew_seconds,
            "min_hot_peers": policy.min_hot_peers,
            "min_free_disk_bytes": policy.min_free_disk_bytes,
            "kes_expiry_alert_periods": policy.kes_expiry_alert_periods,
            "network": policy.network,
            "fail_on": policy.fail_on.value,
            "disabled": sorted(policy.disabled),
            "severities": {k: v.value for k, v in sorted(policy.severities.items())},
        },
        "summary": {
            "hosts": len(report.hosts),
            "unreachable": len(report.unreachable),
            "checks": len(findings),
            "passed": sum(1 for f in findings if f.passed),
            "failed": len(report.failures),
            "skipped": sum(1 for f in findings if f.skipped),
            "failing": len(report.failing),
        },
        "rules": [
            {
                "id": r.id,
                "description": r.description,
                "severity": policy.severity(r).value,
                "default_severity": r.severity.value,
                "applies_to": r.applies_to.value,
                "category": r.category,
                "enabled": policy.enabled(r),
            }
            for r in RULES
        ],
        "hosts": [
            {
                "host": h.host,
                "role": h.role,
                "reachable": h.reachable,
                "slot_lag": h.slot_lag,
                "node_version": h.node_version,
                "kes_periods_left": h.kes_periods_left,
                "ready": report.host_ready(h) if report.for_release is not None else None,
                "can_take": report.host_can_take(h) if report.for_release is not None else None,
                "findings": [
                    {"rule": f.rule, "severity": f.severity.value, "status": _status(f), "passed": f.passed,
                     "message": f.message, "detail": f.detail}
                    for f in h.findings
                ],
            }
            for h in report.hosts
        ],
    }  # fmt: skip


def render(report: AuditReport) -> str:
    return json.dumps(audit_document(report), indent=2, ensure_ascii=False) + "\n"
