"""`audit --format prometheus`: Prometheus text exposition (format 0.0.4) for a textfile collector.

    cardano_fleet_check{host,rule,severity}   1 passed, 0 failed (rules not evaluated are absent)
    cardano_fleet_host_reachable{host}        1 probed, 0 unreachable or probe failed
    cardano_fleet_slot_lag{host}              slots behind the wall-clock slot (absent: no tip)
    cardano_fleet_audit_timestamp_seconds     when the audit ran
    cardano_fleet_audit_exit_code             the exit code of the run (0 compliant, 1 findings, 2 unreachable)

Write it with `-o FILE`: the file is replaced atomically, so a scraper never reads half of it.
"""

from __future__ import annotations

from orchestrator.audit.findings import AuditReport


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items()) + "}"


def _head(lines: list[str], name: str, help_text: str) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} gauge")


def render(report: AuditReport) -> str:
    lines: list[str] = []
    _head(lines, "cardano_fleet_check", "Compliance rule result per host: 1 passed, 0 failed.")
    for f in report.findings:
        if not f.skipped:
            lines.append(f"cardano_fleet_check{_labels(host=f.host, rule=f.rule, severity=f.severity.value)} "
                         f"{1 if f.passed else 0}")  # fmt: skip
    _head(lines, "cardano_fleet_host_reachable", "1 when the host answered SSH and the facts probe ran.")
    for h in report.hosts:
        lines.append(f"cardano_fleet_host_reachable{_labels(host=h.host)} {1 if h.reachable else 0}")
    _head(lines, "cardano_fleet_slot_lag", "Slots the node's tip is behind the wall-clock slot.")
    for h in report.hosts:
        if h.slot_lag is not None:
            lines.append(f"cardano_fleet_slot_lag{_labels(host=h.host)} {h.slot_lag}")
    _head(lines, "cardano_fleet_audit_timestamp_seconds", "Unix time when the audit ran.")
    lines.append(f"cardano_fleet_audit_timestamp_seconds {report.timestamp:.3f}")
    _head(lines, "cardano_fleet_audit_exit_code", "0 compliant, 1 failing findings, 2 hosts unreachable or errors.")
    lines.append(f"cardano_fleet_audit_exit_code {report.exit_code}")
    return "\n".join(lines) + "\n"
