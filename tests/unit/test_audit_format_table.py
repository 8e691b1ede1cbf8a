"""The audit's output formats are one table (orchestrator/report/audit_formats.py): --format's choices
and help, the dispatch, and docs/audit.md's "Output formats" list all follow it, and each row reaches
its own renderer module."""

from __future__ import annotations

import argparse
import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator.commands import audit as audit_command
from orchestrator.report import audit_json, audit_junit, audit_markdown, audit_prometheus, audit_table
from orchestrator.report.audit_formats import AUDIT_FORMATS, DEFAULT_FORMAT, format_help
from tests.unit.test_audit_formats import _report

DOCS = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    audit_command.add_arguments(parser)
    return parser


def test_format_choices_default_and_help_come_from_the_table() -> None:
    action = next(a for a in _parser()._actions if a.dest == "format")
    assert tuple(action.choices or ()) == tuple(AUDIT_FORMATS) == ("table", "json", "junit", "prometheus", "markdown")
    assert action.default == DEFAULT_FORMAT == "table"
    assert action.help == format_help()
    for name, fmt in AUDIT_FORMATS.items():
        assert f"{name}{' (default)' if name == DEFAULT_FORMAT else ''}: {fmt.summary}" in format_help()
    with pytest.raises(SystemExit):
        _parser().parse_args(["--format", "yaml"])


def test_docs_list_exactly_the_formats_of_the_table() -> None:
    section = DOCS.read_text().split("## Output formats", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^- `([a-z]+)`", section, flags=re.MULTILINE)
    assert documented == list(AUDIT_FORMATS)
    synopsis = re.search(r"--format ([a-z|]+)\]", DOCS.read_text())
    assert synopsis is not None and synopsis.group(1).split("|") == list(AUDIT_FORMATS)


@pytest.mark.parametrize("verbose", [False, True])
def test_each_row_renders_with_its_own_module(verbose: bool) -> None:
    report = _report()
    direct = {
        "json": audit_json.render(report),
        "junit": audit_junit.render(report),
        "prometheus": audit_prometheus.render(report),
        "markdown": audit_markdown.render(report, verbose=verbose),
        "table": audit_table.render(report, verbose=verbose),
    }
    assert set(direct) == set(AUDIT_FORMATS)
    for name, fmt in AUDIT_FORMATS.items():
        assert fmt.render(report, verbose=verbose) == direct[name], name
    # -v changes exactly the formats whose row says so
    changes = {n for n, f in AUDIT_FORMATS.items() if f.render(report, verbose=True) != f.render(report)}
    assert changes == {n for n, f in AUDIT_FORMATS.items() if f.verbose}


def test_only_the_table_prints_to_a_console_and_it_prints_what_render_writes() -> None:
    report = _report()
    console = Console(record=True, width=140, file=io.StringIO())
    AUDIT_FORMATS["table"].print_terminal(console, report, verbose=True)
    assert console.export_text() == audit_table.render(report, verbose=True)
    assert [n for n, f in AUDIT_FORMATS.items() if f.terminal] == ["table"]
    with pytest.raises(ValueError, match="json"):
        AUDIT_FORMATS["json"].print_terminal(console, report)
