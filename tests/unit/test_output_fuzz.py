"""Issue 29, done-when: hostile values and secrets through every offline output format.

A value an operator or a host supplied (a host name, a finding's message, a plan's reason, a run's
detail) may hold quotes, markup, XML/Prometheus/Markdown specials, control characters and newlines; a
secret (a vault value, an env lookup, a `-e` value registered as the loader registers it) may hold the
same. Each format is rendered by the command's own path (audit's `_emit`, `plan --json`, the console
plan, run's report writer) and must not raise, and must not show the secret: neither in its text nor
once the format is parsed back (an XML entity or a JSON escape is still the secret to its reader).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.audit.findings import AuditReport, Finding, HostAudit, Severity
from orchestrator.audit.policy import Policy
from orchestrator.commands import audit as audit_command
from orchestrator.commands import run as run_command
from orchestrator.commands._exit import error, warning
from orchestrator.facts.probe import facts_from_result
from orchestrator.load import secrets
from orchestrator.model import HostStatus
from orchestrator.plan import make_plan
from orchestrator.report.audit_table import print_audit
from orchestrator.report.console import LiveRollout, print_plan, print_summary
from orchestrator.report.facts_table import print_facts
from orchestrator.report.inventory_table import print_inventory
from orchestrator.report.plan_json import render_plan_json
from orchestrator.report.run_json import render_run_report
from orchestrator.report.terminal import make_console
from orchestrator.roll.engine import HostOutcome, RolloutResult
from tests.unit import test_facts_parse as tf
from tests.unit import test_plan as tp

SPECIALS = "<>&\"'|\\`*_[]{}#\n\r\t\x1b\x07é€ -"
# a secret as a vault value can be: at least 8 characters (shorter ones are never echoed, but masking
# them would mask unrelated text: load/secrets.py), of letters, digits and the specials above
_SECRET = st.text(st.sampled_from("abcdefXYZ0123456789" + SPECIALS), min_size=8, max_size=24).filter(
    lambda s: len(s.strip()) >= 8 and s.strip() == s and any(c.isalpha() for c in s)
)  # a letter: a secret of digits alone would "leak" into a timestamp
# markup a renderer could read: tags, a closing tag with nothing to close, an escape, an IPv6 address
_MARKUP_TOKENS = st.sampled_from(["[bold]", "[/]", "[/bold]", "[red on blue]", "\\[", "[fe80::1]:3001", "[link=x]"])
_HOSTILE = st.lists(
    st.one_of(st.sampled_from(SPECIALS), st.characters(blacklist_categories=("Cs",)), _MARKUP_TOKENS), max_size=40
).map("".join)
FORMATS = ("json", "junit", "prometheus", "markdown", "table")


def _carrying(hostile: str, secret: str, where: int) -> str:
    """`hostile` with the secret in it (at the front, in the middle, at the end) or without it."""
    return [hostile, secret + hostile, hostile[:5] + secret + hostile[5:], hostile + secret][where % 4]


def _leaks(secret: str, text: str) -> bool:
    """The secret as written, or any line of a multi-line one (at least 8 characters), in `text`."""
    parts = [secret, *(line.strip() for line in secret.splitlines() if len(line.strip()) >= 8)]
    return any(part in text for part in parts)


def _not_in_the_hostile_text(secret: str, fields: list[tuple[str, int]]) -> bool:
    """The hostile (non-secret) text does not already hold the secret or a line of it: otherwise the
    output shows that text as written, which is no leak (found: '000000\\a' generated in both)."""
    return not any(_leaks(secret, text) for text, _ in fields)


def _strings(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []


def _parsed(fmt: str, text: str) -> list[str]:
    """What a reader of the format gets back: JSON strings, XML text and attributes, Prometheus labels."""
    if fmt == "json":
        return _strings(json.loads(text))
    if fmt == "junit":
        root = ET.fromstring(text)
        return [s for e in root.iter() for s in (e.text or "", e.tail or "", *e.attrib.values())]
    if fmt == "prometheus":
        return [v for family in text_string_to_metric_families(text) for s in family.samples for v in s.labels.values()]
    return [text]


def _audit_report(values: list[str]) -> AuditReport:
    host, message, detail, error = values
    return AuditReport(
        source="inv.yml", policy=Policy(), timestamp=1_780_000_000.5,
        hosts=(
            HostAudit(host or "h", "relay", True, 3, (
                Finding(host or "h", "node-version", Severity.ERROR, False, message, detail),
                Finding(host or "h", "drift", Severity.WARNING, False, "differs: topology.json", "--- a\n+++ b\n" + detail),
                Finding(host or "h", "free-disk", Severity.WARNING, True, message),
            )),
            HostAudit("bp1", "block_producer", False, None, (
                Finding("bp1", "host-reachable", Severity.ERROR, False, f"unreachable: {error}"),
            )),
        ),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _no_secrets_left() -> Any:
    secrets.clear()
    yield
    secrets.clear()


_FIELDS = st.lists(st.tuples(_HOSTILE, st.integers(0, 3)), min_size=4, max_size=4)
_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_SETTINGS
@given(fields=_FIELDS, secret=_SECRET, fmt=st.sampled_from(FORMATS))
def test_fuzz_audit_formats(tmp_path: Path, fields: list[tuple[str, int]], secret: str, fmt: str) -> None:
    assume(_not_in_the_hostile_text(secret, fields))
    secrets.register(secret)  # as the loader registers a vault value, an env lookup or a secret -e value
    report = _audit_report([_carrying(text, secret, where) for text, where in fields])
    out = tmp_path / f"report.{fmt}"
    args = argparse.Namespace(format=fmt, output=str(out), verbose=True)
    assert audit_command._emit(args, report, table=True) == report.exit_code
    text = out.read_text()
    assert not _leaks(secret, text)
    assert not any(_leaks(secret, value) for value in _parsed(fmt, text))


def _pipe_and_terminal(render: Any) -> list[str]:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    outputs = []
    for stream in (io.StringIO(), Terminal()):
        render(make_console(stream))
        outputs.append(stream.getvalue())
    return outputs


@_SETTINGS
@given(fields=_FIELDS, secret=_SECRET)
# found 2026-12-05: a reason printed as rich markup lost the secret's backslash ("\\[" prints "["), past
# the mask; data is now printed with markup off
@example(fields=[("", 1), ("", 0), ("", 0), ("", 0)], secret="0000000a\r\\[")
def test_fuzz_plan_json(fields: list[tuple[str, int]], secret: str) -> None:
    assume(_not_in_the_hostile_text(secret, fields))
    secrets.register(secret)
    reason, error, hook, name = (_carrying(text, secret, where) for text, where in fields)
    inv = tp.inventory()
    plan = make_plan(inv, inv.hosts, {h.name: tp.legacy_facts(h.name) for h in inv.hosts}, tp.RELEASE,
                     [["relay1"], ["relay2"], ["bp1"]])  # fmt: skip
    first, second, *rest = plan.hosts
    hosts = (
        replace(first, reasons=(*first.reasons, reason), host=replace(first.host, name=name or "relay1")),
        replace(second, error=error, live_state=hook or None),
        *rest,
    )
    plan = replace(plan, hosts=hosts)
    as_json = render_plan_json(plan)
    assert not _leaks(secret, as_json) and not any(_leaks(secret, s) for s in _strings(json.loads(as_json)))
    # the console plan, in a pipe and on a terminal: rich expands tabs and drops \r as it prints, so the
    # console masks before rich lays the table out (report/terminal.py _MaskSecrets), not only after
    for out in _pipe_and_terminal(lambda console: print_plan(console, plan, diff=True)):
        assert not _leaks(secret, out)


@_SETTINGS
@given(fields=_FIELDS, secret=_SECRET)
def test_fuzz_run_report_and_summary(tmp_path: Path, fields: list[tuple[str, int]], secret: str) -> None:
    assume(_not_in_the_hostile_text(secret, fields))
    secrets.register(secret)
    detail, stopped, name, phase = (_carrying(text, secret, where) for text, where in fields)
    result = RolloutResult(
        "20261201T032000Z-abcd",
        {
            "relay1": HostOutcome(
                name or "relay1", "relay", HostStatus.FAILED, detail, 1, 12.5, 3.25, 9.0, {phase or "replaying_ledger": 7.0}
            ),  # fmt: skip
            "bp1": HostOutcome("bp1", "block_producer"),
        },
        stopped_reason=stopped,
    )
    path = tmp_path / "report.json"
    run_command._write_private(path, render_run_report(result))
    text = path.read_text()
    assert not _leaks(secret, text) and not any(_leaks(secret, s) for s in _strings(json.loads(text)))
    for out in _pipe_and_terminal(lambda console: print_summary(console, result, str(path))):
        assert not _leaks(secret, out)


def test_a_value_in_a_progress_line_or_a_reason_is_printed_as_written_never_as_markup() -> None:
    """A host's reason, a run's progress detail and a summary record are data: "[red]" in them is
    text, and a backslash before "[" stays (rich markup would eat it, and style the rest)."""
    inv = tp.inventory()
    plan = make_plan(inv, inv.hosts, {h.name: tp.legacy_facts(h.name) for h in inv.hosts}, tp.RELEASE,
                     [["relay1"], ["relay2"], ["bp1"]])  # fmt: skip
    first, *rest = plan.hosts
    plan = replace(plan, hosts=(replace(first, reasons=("[red]x[/red] and C:\\[dir]",)), *rest))
    for out in _pipe_and_terminal(lambda console: print_plan(console, plan)):
        assert "[red]x[/red] and C:\\[dir]" in out


# --- data is printed as written by every rich renderer, never read as markup -------------------------

# what rich markup would change: a style that eats the tag, a closing tag with nothing to close
# (MarkupError), an escape that loses its backslash, an IPv6 address in brackets read as a style
MARKUP = ("[bold]relay9[/bold]", "r[/]1", "[red]", "C:\\[dir]", "[fe80::1]:3001")


def _plain_out(render: Any) -> list[str]:
    """What a pipe and a terminal show (ANSI styles taken out: they never split a Text's characters)."""
    return [re.sub(r"\x1b\[[0-9;]*m", "", out) for out in _pipe_and_terminal(render)]


def _a_plan(value: str) -> Any:
    inv = tp.inventory()
    plan = make_plan(inv, inv.hosts, {h.name: tp.legacy_facts(h.name) for h in inv.hosts}, tp.RELEASE,
                     [["relay1"], ["relay2"], ["bp1"]])  # fmt: skip
    first, second, third = plan.hosts
    return replace(plan, hosts=(
        replace(first, host=replace(first.host, name=value)),
        replace(second, error=value, live_state=value),
        replace(third, reasons=(value,)),
    ))  # fmt: skip


def _a_result(value: str) -> RolloutResult:
    return RolloutResult("20261201T032000Z-abcd", {
        "relay1": HostOutcome(value, "relay", HostStatus.FAILED, value, 1, 12.5, 3.25, 9.0, {"replaying_ledger": 7.0}),
    }, stopped_reason=value)  # fmt: skip


def _rollout(console: Any, value: str) -> None:
    """The rollout's table and its last lines: through rich's Live on a terminal (which renders past the
    console's render hook: only what the renderer built is masked there), printed once in a pipe."""
    with LiveRollout(console, _a_plan(value)) as view:
        view.lines.append(value)


def _audit(console: Any, value: str) -> None:
    print_audit(console, _audit_report([value, value, value, value]), verbose=True)


def _facts(console: Any, value: str) -> None:
    relay = replace(tf.RELAY, name=value)
    facts = facts_from_result(relay, tf._result(host=value, stdout=tf.probe(tf.HEALTHY)))
    print_facts(console, value, (relay,), {value: replace(facts, service_active=value)}, 1_700_000_000.0)


def _inventory(console: Any, value: str) -> None:
    host = tp.inventory().hosts[0]
    hosts = (replace(host, name=value, address="fe80::1", groups=(value,)),)
    print_inventory(console, value, hosts, [value], skipped={value: value})


# renderer -> (how it prints a value, how many times the value is printed in a pipe and on a terminal:
# each place it is put)
RENDERERS: dict[str, tuple[Any, tuple[int, int]]] = {
    # host cell, error cell, the error line's host and error, a reason
    "plan (table, errors, reasons)": (lambda console, value: print_plan(console, _a_plan(value)), (5, 5)),
    # host, detail, why it stopped, the report's path
    "run summary (table and records)": (lambda console, value: print_summary(console, _a_result(value), value), (4, 4)),
    # the host's row, a line under the table; on a terminal Live's first frame (the row) too
    "live rollout": (_rollout, (2, 3)),
    # title, two findings' messages, the passed one's, three detail headings' host, the error
    "audit table": (_audit, (8, 8)),
    "facts table": (_facts, (3, 3)),  # title (the inventory's name), host, service state
    # title, the host and its group, the layout's hosts, a skipped host and why, a warning
    "inventory (table and records)": (_inventory, (7, 7)),
}


@pytest.mark.parametrize("value", MARKUP)
@pytest.mark.parametrize("renderer", RENDERERS)
def test_every_renderer_prints_data_as_written_never_as_markup(
    monkeypatch: pytest.MonkeyPatch, renderer: str, value: str
) -> None:
    """A host name, message, reason or value holding markup is printed literally by each renderer, in a
    pipe and on a terminal (wide enough that no cell wraps). As markup, "[/]" raised MarkupError, "[red]"
    vanished, and the inventory table showed an IPv6 host's address as ":3001"."""
    monkeypatch.setenv("COLUMNS", "400")
    render, places = RENDERERS[renderer]
    for out, times in zip(_plain_out(lambda console: render(console, value)), places, strict=True):
        assert out.count(value) == times
        if renderer.startswith("inventory"):
            assert "[fe80::1]:" in out


# a value from a host or a file holding control characters -> as it is printed: escaped, never sent raw to
# the operator's terminal (ESC [2J clears it; \x9b is CSI, ESC [ on 8-bit terminals; BEL rings)
CONTROLS = [("h\x1b[2Jx", "h\\x1b[2Jx"), ("bell\x07x", "bell\\x07x"), ("cr\rx", "cr\\rx"), ("csi\x9b1mx", "csi\\x9b1mx")]


@pytest.mark.parametrize(("value", "shown"), CONTROLS, ids=["esc", "bel", "cr", "csi"])
@pytest.mark.parametrize("renderer", RENDERERS)
def test_every_renderer_shows_control_characters_escaped(
    monkeypatch: pytest.MonkeyPatch, renderer: str, value: str, shown: str
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    render, places = RENDERERS[renderer]
    for out, times in zip(_plain_out(lambda console: render(console, value)), places, strict=True):
        assert out.count(shown) == times and value not in out


def test_a_tab_in_a_secret_is_masked_in_every_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich expands a tab to spaces as it renders: a secret holding one is masked before (report/terminal.py
    `data`), in every renderer, so neither its written nor its printed form appears."""
    monkeypatch.setenv("COLUMNS", "400")
    secret = "ab\tcdefgh"
    secrets.register(secret)
    for name, (render, _) in RENDERERS.items():
        for out in _plain_out(lambda console, render=render: render(console, f"x{secret}y")):
            assert secrets.MASK in out, name
            assert "cdefgh" not in out, name  # the tail after the expanded tab


# (the question, how run asks it, what the operator sees): "[y/N]" read as markup printed nothing of it
PROMPTS = [
    ("apply", lambda console: run_command._confirm(console, 3), "Apply these changes to 3 host(s)? [y/N] "),
    ("--step", lambda console: run_command._approve_on_terminal(console, None)("Continue after batch 1 ([bold]relay1)?"),
     "Continue after batch 1 ([bold]relay1)? [y/N] "),
]  # fmt: skip


@pytest.mark.parametrize(("case", "ask", "shown"), PROMPTS, ids=[p[0] for p in PROMPTS])
def test_run_prompts_keep_their_y_n_and_host_names_as_written(
    monkeypatch: pytest.MonkeyPatch, case: str, ask: Any, shown: str
) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdin", type("Tty", (io.StringIO,), {"isatty": lambda self: True})())
    monkeypatch.setattr("builtins.input", lambda *a: "y")
    assert ask(make_console(out)) is True
    assert out.getvalue() == shown


def test_an_error_line_masks_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    """An error may quote an exception's text or a host's answer (an address that is vault-encrypted)."""
    secrets.register("203.0.113.99")
    error("cannot reach 203.0.113.99: connection refused")
    warning("203.0.113.99 answered slowly")
    assert capsys.readouterr().err == (
        f"cardano-fleet: error: cannot reach {secrets.MASK}: connection refused\n"
        f"cardano-fleet: warning: {secrets.MASK} answered slowly\n"
    )


@_SETTINGS
@given(fields=_FIELDS, secret=_SECRET, renderer=st.sampled_from(sorted(RENDERERS)))
def test_fuzz_every_console_renderer(fields: list[tuple[str, int]], secret: str, renderer: str) -> None:
    """Each rich renderer, in a pipe and on a terminal: hostile data carrying a secret (tab included) never
    raises and never shows the secret."""
    assume(_not_in_the_hostile_text(secret, fields))
    secrets.register(secret)
    value = "".join(_carrying(text, secret, where) for text, where in fields)
    render, _ = RENDERERS[renderer]
    for out in _pipe_and_terminal(lambda console: render(console, value)):
        assert not _leaks(secret, out)
