"""Fact records: one per section, command and parser together; the probe is assembled from them."""

from __future__ import annotations

import subprocess
from dataclasses import fields

import pytest

from orchestrator.cardano.layouts import GUILD, IOG
from orchestrator.facts.model import HostFacts
from orchestrator.facts.probe import ALL_SECTIONS, HEALTH_SECTIONS, SECTIONS, records_for
from orchestrator.facts.record import REGISTRY, FactSection, Output, Parsed, register
from orchestrator.facts.script import build_script, split_sections
from orchestrator.model import Host, Role

RELAY = Host("relay1", Role.RELAY, "203.0.113.11", GUILD)
BP = Host("bp1", Role.BLOCK_PRODUCER, "203.0.113.21", IOG)


def test_registry_is_the_probe() -> None:
    assert tuple(REGISTRY) == SECTIONS
    assert {"os", "node_version", "service", "tip", "metrics", "peers", "startup"} == HEALTH_SECTIONS
    assert [r.name for r in records_for(RELAY)] == [n for n in SECTIONS if n not in ("keys", "leader_schedule", "forging")]
    # not configured: leader_schedule; sampled (seconds): forging, only where asked for by name
    assert [r.name for r in records_for(BP)] == [n for n in SECTIONS if n not in ("leader_schedule", "forging")]
    assert [r.name for r in records_for(BP, ALL_SECTIONS)] == [n for n in SECTIONS if n != "leader_schedule"]
    assert [r.name for r in records_for(BP, {"tip", "keys"})] == ["tip", "keys"]


@pytest.mark.parametrize("name", ["Bad", "with-dash", "", "os"])
def test_register_refuses_bad_or_duplicate_names(name: str) -> None:
    class Odd(FactSection):
        pass

    Odd.name = name
    with pytest.raises(ValueError):
        register(Odd)
    assert REGISTRY["os"].__class__.__name__ == "OsSection"


class _Uptime(FactSection):
    """A record as another module would write one (not registered: the test keeps the registry clean)."""

    name = "uptime"

    def command(self, host: Host) -> str:
        return "printf 'up=%s\\n' 42; printf 'host=%s\\n' " + host.name

    def parse(self, out: Output) -> Parsed:
        up = dict(line.split("=", 1) for line in out.body.splitlines())
        return Parsed.of(host_time=int(up["up"]))


def test_a_record_runs_as_its_own_section_and_parses_its_own_output() -> None:
    script = build_script(RELAY, [REGISTRY["os"], _Uptime()])
    proc = subprocess.run(script, shell=True, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0
    found = split_sections(proc.stdout)
    assert set(found) == {"os", "uptime"} and found["uptime"].rc == 0
    parsed = _Uptime().parse(Output(RELAY, found["uptime"].body, 0))
    assert parsed.fields == {"host_time": 42} and not parsed.errors


def test_every_field_a_parser_can_set_is_a_host_facts_field() -> None:
    """Each record's `unavailable` fields, and the fields parsers return, must exist on HostFacts."""
    known = {f.name for f in fields(HostFacts)}
    for record in REGISTRY.values():
        assert set(record.unavailable("why")) <= known, record.name
