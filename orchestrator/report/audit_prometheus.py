"""`audit --format prometheus`: Prometheus text exposition (format 0.0.4) for a textfile collector.

Every sample carries `fleet` (`--fleet NAME`, default the inventory path as given to -i), so two
audited inventories never overwrite each other's series in one Prometheus.

    cardano_fleet_check{fleet,host,rule,severity}        1 passed, 0 failed (rules not evaluated are absent)
    cardano_fleet_host_reachable{fleet,host}             1 probed, 0 unreachable or probe failed
    cardano_fleet_slot_lag{fleet,host}                   slots behind the wall-clock slot (absent: no tip)
    cardano_fleet_kes_periods_left{fleet,host}           a producer's KES periods left (absent: no metric)
    cardano_fleet_node_version_info{fleet,host,version}  1, for the version the node reports (absent: unknown)
    cardano_fleet_release_ready{fleet,host,release}      audit --for-release V only: 1 ready for V, 0 not
                                                         (absent: the host could not be probed)
    cardano_fleet_audit_timestamp_seconds{fleet}         when the audit ran
    cardano_fleet_audit_duration_seconds{fleet}          how long it took
    cardano_fleet_audit_exit_code{fleet}                 the exit code (0 compliant, 1 findings, 2 not run or incomplete)
    cardano_fleet_audit_result_info{fleet,reason}        1, with the exit code's reason in one line

Written on every exit, 2 included (a missing vault password, a policy typo): a dashboard then shows
that the audit failed and why, never the last good state.
Write it with `-o FILE`: the file is replaced atomically, so a scraper never reads half of it.
"""

from __future__ import annotations

from orchestrator.audit.findings import AuditReport


def escape_label(value: str) -> str:
    """A label value as the exposition format writes it: backslash, double quote and line feed escaped.

    The format has no escape for the other control characters, and line-based readers split at a
    carriage return (prometheus_client's own parser does), so each becomes U+FFFD: the sample stays
    one line and the scrape stays valid. The inventory refuses such host names; this guards the
    values that reach a report from elsewhere (a probe's answer, a path)."""
    value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return "".join("\ufffd" if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c for c in value)


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items()) + "}"


def _head(lines: list[str], name: str, help_text: str) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} gauge")


def render(report: AuditReport) -> str:
    fleet = report.fleet or report.source
    lines: list[str] = []
    _head(lines, "cardano_fleet_check", "Compliance rule result per host: 1 passed, 0 failed.")
    for f in report.findings:
        if not f.skipped:
            lines.append(f"cardano_fleet_check{_labels(fleet=fleet, host=f.host, rule=f.rule, severity=f.severity.value)} "
                         f"{1 if f.passed else 0}")  # fmt: skip
    _head(lines, "cardano_fleet_host_reachable", "1 when the host answered SSH and the facts probe ran.")
    for h in report.hosts:
        lines.append(f"cardano_fleet_host_reachable{_labels(fleet=fleet, host=h.host)} {1 if h.reachable else 0}")
    _head(lines, "cardano_fleet_slot_lag", "Slots the node's tip is behind the wall-clock slot.")
    for h in report.hosts:
        if h.slot_lag is not None:
            lines.append(f"cardano_fleet_slot_lag{_labels(fleet=fleet, host=h.host)} {h.slot_lag}")
    _head(lines, "cardano_fleet_kes_periods_left",
          "KES periods (36 h on mainnet) left on a block producer's operational certificate.")
    for h in report.hosts:
        if h.kes_periods_left is not None:
            lines.append(f"cardano_fleet_kes_periods_left{_labels(fleet=fleet, host=h.host)} {h.kes_periods_left}")
    _head(lines, "cardano_fleet_node_version_info", "1 for the cardano-node version the host runs.")
    for h in report.hosts:
        if h.node_version is not None:
            lines.append(f"cardano_fleet_node_version_info{_labels(fleet=fleet, host=h.host, version=h.node_version)} 1")
    if report.for_release is not None:
        _head(lines, "cardano_fleet_release_ready", "1 when the host passed every readiness check for the release.")
        for h in report.hosts:
            if h.reachable:
                lines.append(f"cardano_fleet_release_ready{_labels(fleet=fleet, host=h.host, release=report.for_release)} "
                             f"{1 if report.host_ready(h) else 0}")  # fmt: skip
    _head(lines, "cardano_fleet_audit_timestamp_seconds", "Unix time when the audit ran.")
    lines.append(f"cardano_fleet_audit_timestamp_seconds{_labels(fleet=fleet)} {report.timestamp:.3f}")
    if report.duration is not None:
        _head(lines, "cardano_fleet_audit_duration_seconds", "Seconds the audit took (load, probe, checks).")
        lines.append(f"cardano_fleet_audit_duration_seconds{_labels(fleet=fleet)} {report.duration:.3f}")
    _head(lines, "cardano_fleet_audit_exit_code", "0 compliant, 1 failing findings, 2 not run, hosts unreachable or errors.")
    lines.append(f"cardano_fleet_audit_exit_code{_labels(fleet=fleet)} {report.exit_code}")
    _head(lines, "cardano_fleet_audit_result_info", "1, labelled with the reason for the exit code.")
    lines.append(f"cardano_fleet_audit_result_info{_labels(fleet=fleet, reason=report.reason)} 1")
    return "\n".join(lines) + "\n"
