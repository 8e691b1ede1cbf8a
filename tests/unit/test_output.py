"""Output that reads well in terminals, CI logs and cron mail: widths, whole words, one line per line."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from rich.table import Table

from orchestrator.load import secrets
from orchestrator.plan import HostPlan, Plan, plan_host
from orchestrator.report.console import LiveRollout, print_plan, print_summary
from orchestrator.report.terminal import PIPE_WIDTH, console_width, keep_headers, make_console
from orchestrator.roll.engine import HostOutcome, RolloutResult
from orchestrator.roll.journal import Event
from tests.unit.facts_builder import host_facts
from tests.unit.test_plan import RELEASE, inventory, legacy_facts


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    yield
    secrets.clear()


def test_width_follows_columns_then_the_terminal_then_a_pipe_default() -> None:
    assert console_width({"COLUMNS": "97"}, isatty=False) == 97
    assert console_width({}, isatty=True) is None
    assert console_width({}, isatty=False) == PIPE_WIDTH
    assert console_width({"COLUMNS": "junk"}, isatty=False) == PIPE_WIDTH


def test_no_color_and_secrets_in_a_pipe() -> None:
    secrets.register("198.51.100.77")
    out = Pipe()
    make_console(out).print("[bold red]bp1[/] at 198.51.100.77")
    assert out.getvalue() == f"bp1 at {secrets.MASK}\n"


@pytest.mark.parametrize("columns", ["60", "80"])
def test_headers_and_short_cells_keep_whole_words(monkeypatch: pytest.MonkeyPatch, columns: str) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    table = Table()
    for name in ("host", "role", "reachable", "node", "service", "P2P", "topology", "tip slot", "lag", "hot peers"):
        table.add_column(name, overflow="fold")
    table.add_row("bp1", "producer", "yes", "8.7.3", "active", "no", "legacy", "204516393", "0", "3")
    out = Pipe()
    make_console(out).print(keep_headers(table), crop=False)
    text = out.getvalue()
    for word in ("reachable", "service", "topology", "producer", "204516393"):
        assert word in text, f"{word!r} was broken at COLUMNS={columns}:\n{text}"


def _plan() -> Plan:
    inv = inventory()
    changed = plan_host(inv.host("relay2"), inv, legacy_facts("relay2"), RELEASE)
    unreachable = plan_host(inv.host("bp1"), inv, host_facts(reachable=False, error="connection refused"), RELEASE)
    quiet = HostPlan(inv.host("relay1"), "8.9.0", "8.9.0", False, False, (), (), "none", ())
    return Plan((changed, unreachable, quiet), RELEASE)


def test_plan_lists_reasons_without_empty_headings_or_doubled_words() -> None:
    out = Pipe()
    print_plan(make_console(out), _plan(), diff=True)
    text = out.getvalue()
    assert not re.search(r"^relay1:\s*$", text, re.M), "an empty 'relay1:' heading"
    assert re.search(r"^bp1: unreachable: connection refused$", text, re.M)
    assert re.search(r"^relay2:$", text, re.M)
    assert not re.search(r"\b(\w+) \1\b", text), re.search(r"\b(\w+) \1\b", text)
    assert "replaced whole by the 8.9.0 Conway genesis" in text


def test_rollout_log_in_a_pipe_is_one_line_per_event_and_ends_each_line() -> None:
    out = Pipe()
    console = make_console(out)
    plan = _plan()
    with LiveRollout(console, plan) as view:
        view.on_event(Event(0.0, "relay2", "restarted"))
        view.on_event(Event(0.0, "relay2", "gate_sample", {"lag": 0, "state": "in sync"}))  # as the engine sends it
        view.on_event(Event(0.0, "relay2", "gate_passed"))
        view.on_event(Event(0.0, "*", "paused", {"reason": "0 healthy relay(s), min_healthy_relays is 1"}))
    result = RolloutResult("run-1", {"relay2": HostOutcome("relay2", "relay", "upgraded")}, "min_healthy_relays")
    print_summary(console, result, None)
    lines = out.getvalue().splitlines()
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ relay2: restarted", line) for line in lines)
    assert any(line.endswith("relay2: gate_passed (in sync)") for line in lines)
    assert any(line.endswith("min_healthy_relays is 1") for line in lines), "the pause line runs into the next"
    run_line = next(i for i, line in enumerate(lines) if line.startswith("Run run-1"))
    assert lines[run_line - 1] == "", "the rollout view runs into the summary"
    assert lines[run_line - 2] == "paused: 0 healthy relay(s), min_healthy_relays is 1"
    assert any(line.startswith("└") and line.rstrip().endswith("┘") for line in lines[:run_line])


def test_the_gate_cell_does_not_repeat_what_its_state_already_says() -> None:
    """Operator trial: "replaying ledger 31% (slot over target), ~24s left — node starting: replaying
    ledger 31% (slot over target)". What the gate waits for is added only when it says more."""
    console = make_console(Pipe())
    view = LiveRollout(console, _plan())
    state = "replaying ledger 31% (slot over target), ~24s left"
    view.on_event(Event(0.0, "relay2", "gate_sample",
                        {"state": state, "waiting_for": "node starting: replaying ledger 31% (slot over target)"}))
    assert view.rows["relay2"]["gate"] == state
    # the second trial: the two figures sampled a moment apart differ, the phase is the same
    later = "replaying ledger 10% (slot over target), ~60s left"
    view.on_event(Event(0.0, "relay2", "gate_sample",
                        {"state": later, "waiting_for": "node starting: replaying ledger 9% (slot over target)"}))
    assert view.rows["relay2"]["gate"] == later
    view.on_event(Event(0.0, "relay2", "gate_sample", {"state": "in sync, lag 40", "waiting_for": "soak: 12 s left"}))
    assert view.rows["relay2"]["gate"] == "in sync, lag 40 — soak: 12 s left"


def test_a_release_staged_without_its_sums_file_checked_is_said_in_the_log() -> None:
    """roll/remote.py's staging detail: "not verified against <sums file>: <why>" prints as its own
    line (a pipe and a terminal alike); a verified staging is one ordinary progress line."""
    out = Pipe()
    plan = _plan()
    with LiveRollout(make_console(out), plan) as view:
        view.on_event(Event(0.0, "relay2", "staged", {"detail": "STAGED; sha256sums: matches cardano-node-8.9.0-x.txt"}))
        view.on_event(Event(0.0, "relay2", "staged", {"detail": "STAGED; sha256sums: not verified against "
                                                                "cardano-node-10.6.4-sha256sums.txt: not fetched (404)"}))
    lines = out.getvalue().splitlines()
    assert any(line.endswith("relay2: staged; not verified against cardano-node-10.6.4-sha256sums.txt: not fetched (404)")
               for line in lines), lines
    assert view.lines == ["relay2: staged; not verified against cardano-node-10.6.4-sha256sums.txt: not fetched (404)"]


def test_a_pool_handover_prints_its_steps_the_forgers_when_they_change_and_who_forges_at_the_end() -> None:
    """The run's progress for a pool's handover (roll/handover_events.py) names the step and the hosts
    it acts on, the forgers seen only when they change, and the ending with the forger (kept for the
    summary), instead of bare phase names."""
    from orchestrator.roll.handover_events import ForgersSeen, HandoverEnded, HandoverStepped

    out = Pipe()
    with LiveRollout(make_console(out), _plan()) as view:
        step = HandoverStepped("disable_active", "bp1", "bp1-standby", "bp1", "renamed away, SIGHUP sent")
        view.on_event(Event(0.0, "relay2", step.phase, step.data()))
        seen = ForgersSeen("prove_stopped", "bp1", "on", "bp1-standby", "off")
        for _ in range(3):  # the same forgers sampled three times: one line
            view.on_event(Event(0.0, "relay2", seen.phase, seen.data()))
        ended = HandoverEnded("handed_over", "bp1-standby", "bp1 is the upgraded standby", 6.5)
        view.on_event(Event(0.0, "relay2", ended.phase, ended.data()))
    text = out.getvalue()
    assert "relay2: handover disable_active (forging on bp1, standby bp1-standby): renamed away, SIGHUP sent" in text
    assert text.count("forging seen (prove_stopped): bp1 on, bp1-standby off") == 1, text
    assert view.lines == ["relay2: handover handed_over: bp1-standby forges, forging gap 6.5 s; "
                          "bp1 is the upgraded standby"]  # fmt: skip
