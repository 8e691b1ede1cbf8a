"""The renderers in orchestrator/report/ print byte for byte what the commands printed before they
moved there (tests/fixtures/report/ was written by the earlier code from these same inputs).

A change to a document's shape is a change of these files too: keys are only ever added.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.cardano.leader_schedule import REMAINING_KES_METRIC, LeaderSlot
from orchestrator.cli import main
from orchestrator.facts.model import HostFacts
from orchestrator.facts.probe import facts_from_result
from orchestrator.model import HostStatus
from orchestrator.plan import make_plan
from orchestrator.report.facts_json import render_facts_json
from orchestrator.report.facts_table import print_facts, producer_line
from orchestrator.report.plan_json import render_plan_json
from orchestrator.report.run_json import render_run_report
from orchestrator.report.terminal import make_console
from orchestrator.roll.engine import HostOutcome, RolloutResult
from orchestrator.ssh.transport import HostStats
from tests.unit import test_facts_parse as tf
from tests.unit import test_plan as tp

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "report"
NOW = 1700000000.0


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


def two_hosts_facts() -> dict[str, HostFacts]:
    """A healthy relay and a block producer the probe could not reach."""
    return {
        tf.RELAY.name: facts_from_result(tf.RELAY, tf._result(stdout=tf.probe(tf.HEALTHY))),
        tf.BP.name: facts_from_result(
            tf.BP, tf._result(host="bp1", ok=False, stdout="", exit_code=255, error="connection refused")
        ),
    }


def test_facts_json() -> None:
    stats = {tf.RELAY.name: HostStats(connections_opened=1, commands_run=1)}
    rendered = render_facts_json("inventory.yml", (tf.RELAY, tf.BP), two_hosts_facts(), stats, NOW)
    assert rendered + "\n" == golden("facts.json")


def test_plan_json() -> None:
    inv = tp.inventory()
    plan = make_plan(inv, inv.hosts, {h.name: tp.legacy_facts(h.name) for h in inv.hosts}, tp.RELEASE,
                     [["relay1"], ["relay2"], ["bp1"]])  # fmt: skip
    assert render_plan_json(plan) + "\n" == golden("plan.json")


def test_run_report_json() -> None:
    result = RolloutResult(
        "20261201T032000Z-abcd",
        {
            "relay1": HostOutcome("relay1", "relay", HostStatus.UPGRADED, "in sync", 1, 12.5, 3.25, 9.0,
                                  {"validating_chunks": 1.0, "replaying_ledger": 7.0}),  # fmt: skip
            "relay2": HostOutcome("relay2", "relay", HostStatus.ROLLED_BACK, "gate failed; restored byte-for-byte", 2),
            "bp1": HostOutcome("bp1", "block_producer"),
        },
        stopped_reason="failures exceed max_fail_percentage 0",
    )
    assert render_run_report(result) == golden("run-report.json")


# The tables (report/inventory_table.py, report/facts_table.py) moved out of the commands too: at a
# fixed width, and without colour (a pipe), they print what the commands printed before.


@pytest.mark.parametrize("suffix", ["json", "txt"], ids=["json", "table"])
@pytest.mark.parametrize(
    ("fixture", "argv"),
    [
        ("inventory-small-pool", ["-i", "inventory/examples/small-pool/hosts.yml", "-l", "all:!relay2"]),
        ("inventory-exchange", ["-i", "inventory/examples/exchange"]),
    ],
)
def test_inventory_through_the_command(
    suffix: str, fixture: str, argv: list[str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.chdir(ROOT)  # the document names the inventory path as given
    monkeypatch.setenv("HOME", "/root")  # key paths are written with ~ and expanded
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["inventory", *argv, *(["--json"] if suffix == "json" else [])]) == 0
    assert capsys.readouterr().out == golden(f"{fixture}.{suffix}")


def test_facts_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    out = io.StringIO()
    print_facts(make_console(out), "inventory.yml", (tf.RELAY, tf.BP), two_hosts_facts(), NOW)
    assert out.getvalue() == golden("facts.txt")


@pytest.mark.parametrize(
    "kes, schedule, error, expected",
    [
        (None, None, None, "bp1: KES periods left unknown (no remainingKESPeriods metric); no leader schedule configured"),
        (52, (), None, "bp1: KES periods left 52; leader schedule read, no leader slot ahead"),
        (7, (LeaderSlot(NOW - 60, 1), LeaderSlot(NOW + 90, 2)), None,
         "bp1: KES periods left 7; leader schedule read, next leader slot at 2023-11-14 22:14:50 UTC"),
        (3, None, "blocklog.db: no such file", "bp1: KES periods left 3; leader schedule unreadable: blocklog.db: no such file"),
    ],
)  # fmt: skip
def test_the_facts_table_tells_a_producers_kes_and_next_leader_slot_not_the_schedule(
    kes: int | None, schedule: tuple[LeaderSlot, ...] | None, error: str | None, expected: str
) -> None:
    metrics = {} if kes is None else {REMAINING_KES_METRIC: float(kes)}
    facts = replace(two_hosts_facts()["relay1"], host="bp1", metrics=metrics, leader_schedule=schedule,
                    leader_schedule_error=error)  # fmt: skip
    line = producer_line("bp1", facts, NOW)
    assert line == expected
    assert "slot 1" not in line and "slot 2" not in line  # slot numbers stay private
