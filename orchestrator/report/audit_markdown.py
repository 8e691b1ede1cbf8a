"""`audit --format markdown`: a report to paste into a ticket or mail (GitHub/GitLab flavoured)."""

from __future__ import annotations

from datetime import UTC, datetime

from orchestrator.audit.findings import AuditReport, Finding


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _status(f: Finding) -> str:
    return "⏭ skipped" if f.skipped else "✅ pass" if f.passed else "❌ fail"


def render(report: AuditReport, verbose: bool = False) -> str:
    when = datetime.fromtimestamp(report.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    verdict = {0: "compliant", 1: "NOT compliant", 2: "INCOMPLETE (hosts unreachable)"}[report.exit_code]
    title = "cardano-fleet audit"
    if report.for_release is not None:
        title = f"cardano-fleet readiness for cardano-node {report.for_release}"
        verdict = {0: "READY", 1: "NOT READY", 2: "INCOMPLETE (hosts unreachable)"}[report.exit_code]
    if report.error is not None:
        return "\n".join([f"# {title}: NOT RUN (exit {report.exit_code})", "",
                          f"- inventory: `{report.source}`", f"- when: {when}", f"- why: {_cell(report.error)}", ""])
    ready_col = report.for_release is not None
    out = [
        f"# {title}: {verdict}",
        "",
        f"- inventory: `{report.source}`",
        f"- policy: `{report.policy.source}` (pinned {report.policy.pinned_version}, fail on "
        f"{report.policy.fail_on.value})",
        f"- when: {when}",
        f"- hosts: {len(report.hosts)}, unreachable: {len(report.unreachable)}, "
        f"failed checks: {len(report.failures)} ({len(report.failing)} at or above {report.policy.fail_on.value}), "
        f"exit code: {report.exit_code}",
        "",
        "| host | role | reachable | " + ("node | ready |" if ready_col else "slot lag |") + " failed checks |",
        "|---|---|---|---|" + ("---|" if ready_col else "") + "---|",
    ]
    for h in report.hosts:
        failed = [f.rule for f in h.findings if f.failed]
        middle = (f"{h.node_version or '?'} | {'**yes**' if report.host_ready(h) else 'no'}" if ready_col
                  else f"{'' if h.slot_lag is None else h.slot_lag}")  # fmt: skip
        out.append(f"| {_cell(h.host)} | {h.role} | {'yes' if h.reachable else '**no**'} | "
                   f"{middle} | {_cell(', '.join(failed)) or '—'} |")  # fmt: skip
    for h in report.hosts:
        shown = [f for f in h.findings if verbose or not f.passed]
        out += ["", f"## {h.host} ({h.role})", ""]
        if not shown:
            out.append(f"All {len(h.findings)} checks passed.")
            continue
        out += ["| rule | severity | status | message |", "|---|---|---|---|"]
        for f in shown:
            out.append(f"| `{f.rule}` | {f.severity.value} | {_status(f)} | {_cell(f.message)} |")
        passed = sum(1 for f in h.findings if f.passed)
        if not verbose and passed:
            out += ["", f"{passed} other check(s) passed."]
        for f in shown:
            if f.detail and (f.failed or verbose):
                lang = "diff" if f.rule == "drift" else "text"
                fence = "````" if "```" in f.detail else "```"
                out += ["", f"<details><summary>{f.rule}: details</summary>", "", f"{fence}{lang}",
                        f.detail.rstrip("\n"), fence, "", "</details>"]  # fmt: skip
    return "\n".join(out) + "\n"
