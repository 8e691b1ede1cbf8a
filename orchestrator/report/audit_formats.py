"""The table of `audit --format` values: each output format is one renderer module of this package.

`--format`'s choices and help, the dispatch in commands/audit.py and docs/audit.md's "Output formats"
all come from this one table (a unit test checks the docs against it). A renderer module is imported
only when its format is asked for, so `--help` and the other formats never load it. A new format is
one module here with `render(report[, verbose]) -> str`, and one row below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from rich.console import Console

    from orchestrator.audit.findings import AuditReport


@dataclass(frozen=True)
class AuditFormat:
    """One output format: its renderer module, a one-line summary for --help, and how it is called."""

    name: str
    module: str  # orchestrator.report.<module>, whose `render(report[, verbose])` returns the text
    summary: str
    verbose: bool = False  # -v changes it (render takes `verbose`)
    terminal: str | None = None  # on stdout, printed by this function of the module (console, report, verbose)

    def render(self, report: AuditReport, *, verbose: bool = False) -> str:
        """The report as this format's text (what -o FILE holds)."""
        render = cast(Callable[..., str], getattr(self._renderer(), "render"))  # noqa: B009 - a module's entry
        return render(report, verbose=verbose) if self.verbose else render(report)

    def print_terminal(self, console: Console, report: AuditReport, *, verbose: bool = False) -> None:
        """Print to a terminal console (formats with `terminal`; the others are written as text)."""
        if self.terminal is None:
            raise ValueError(f"--format {self.name} is not printed to a console")
        cast(Callable[..., None], getattr(self._renderer(), self.terminal))(console, report, verbose=verbose)

    def _renderer(self) -> object:
        return importlib.import_module(f"orchestrator.report.{self.module}")


DEFAULT_FORMAT = "table"

AUDIT_FORMATS: Mapping[str, AuditFormat] = MappingProxyType({
    f.name: f
    for f in (
        AuditFormat("table", "audit_table", "rich tables grouped by host (-v: every check and the drift diffs)",
                    verbose=True, terminal="print_audit"),
        AuditFormat("json", "audit_json", "a stable JSON document (schema_version)"),
        AuditFormat("junit", "audit_junit", "JUnit XML, one testsuite per host, one testcase per host x rule"),
        AuditFormat("prometheus", "audit_prometheus", "Prometheus text for a textfile collector"),
        AuditFormat("markdown", "audit_markdown", "a summary for tickets and mail (-v: passing checks too)",
                    verbose=True),
    )
})  # fmt: skip


def format_help() -> str:
    """--format's help: every format with its summary, the default named."""
    parts = [f"{f.name}{' (default)' if f.name == DEFAULT_FORMAT else ''}: {f.summary}" for f in AUDIT_FORMATS.values()]
    return "output format — " + "; ".join(parts)
