"""`audit --format table` (the default): rich tables grouped by host; -v adds passing checks and diffs."""

from __future__ import annotations

import io

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from orchestrator.audit.findings import AuditReport, Finding
from orchestrator.report.terminal import data, data_str, keep_headers

_SEVERITY_STYLE = {"critical": "bold white on red", "error": "bold red", "warning": "yellow", "info": "cyan"}


def _status(f: Finding) -> Text:
    if f.skipped:
        return Text("skipped", "magenta")
    if f.passed:
        return Text("pass", "green")
    return Text("FAIL", _SEVERITY_STYLE.get(f.severity.value, "red"))


def print_audit(console: Console, report: AuditReport, verbose: bool = False) -> None:
    for h in report.hosts:
        shown = [f for f in h.findings if verbose or not f.passed]
        lag = "" if h.slot_lag is None else f", slot lag {h.slot_lag}"
        title = f"{h.host} ({h.role}{lag})"
        passed = sum(1 for f in h.findings if f.passed)
        if not shown:
            console.print(data(f"{title}: all {len(h.findings)} checks passed", "green"))
            continue
        table = Table(title=data(title, "table.title"), title_justify="left", show_lines=False)
        for col in ("rule", "severity", "status", "message"):
            table.add_column(col, overflow="fold", no_wrap=col == "rule")
        for f in shown:
            table.add_row(data(f.rule), Text(f.severity.value, _SEVERITY_STYLE.get(f.severity.value, "")), _status(f),
                          data(f.message))  # fmt: skip
        console.print(keep_headers(table), crop=False)
        if not verbose and passed:
            console.print(Text(f"  {passed} other check(s) passed (-v shows them)", "dim"))
        for f in shown:
            if f.detail and verbose:
                console.print(data(f"--- {h.host}: {f.rule}", "bold"))
                if f.rule == "drift":
                    console.print(Syntax(data_str(f.detail), "diff", theme="ansi_dark", background_color="default"))
                else:
                    console.print(data(f.detail))
    if report.error is not None:
        console.print(Text.assemble("Audit: ", ("NOT RUN", "bold red"), data(f" — {report.error}; exit {report.exit_code}")))
        return
    verdict = {0: Text("COMPLIANT", "bold green"), 1: Text("NOT COMPLIANT", "bold red"),
               2: Text("INCOMPLETE: hosts unreachable", "bold red")}[report.exit_code]  # fmt: skip
    if report.for_release is not None:
        verdict = {0: Text(f"READY for {report.for_release}", "bold green"),
                   1: Text(f"NOT READY for {report.for_release}", "bold red"),
                   2: Text("INCOMPLETE: hosts unreachable", "bold red")}[report.exit_code]  # fmt: skip
        ready = [h.host for h in report.hosts if report.host_ready(h)]
        console.print(data(f"Ready for {report.for_release}: {', '.join(ready) or 'none'}; not ready: "
                           f"{', '.join(h.host for h in report.hosts if h.host not in ready) or 'none'}"))  # fmt: skip
        can = [h.host for h in report.hosts if report.host_can_take(h)]
        if can:  # not ready only because they have not been upgraded yet
            console.print(data(f"Can take {report.for_release} now (every other check passes; upgrading them makes "
                               f"them ready): {', '.join(can)}"))  # fmt: skip
    summary = Text("Audit: ")
    summary.append_text(verdict)
    summary.append(
        f" — {len(report.hosts)} host(s), {len(report.unreachable)} unreachable, {len(report.failures)} failed "
        f"check(s), {len(report.failing)} at or above {report.policy.fail_on.value}; exit {report.exit_code}"
    )
    console.print(summary)


def render(report: AuditReport, verbose: bool = False) -> str:
    """The tables as plain text, 140 columns wide (what `-o FILE` holds for --format table)."""
    console = Console(record=True, width=140, file=io.StringIO())
    print_audit(console, report, verbose=verbose)
    return console.export_text()
