"""Read-only probes of each host, as one shell script per host, parsed into `HostFacts`.

Why one script: a round trip costs ~50 ms and a connection ~70 ms, so a fleet of 500 hosts is
probed in one parallel pass of one command each. The script is assembled from the fact records
(orchestrator/facts/sections.py: each section's command and parser together); its output is cut
back into sections and each record parses its own, so a missing or garbled section becomes a
`probe_errors` entry and never hides the others. An unreachable host is a fact with a reason,
not an exception.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from orchestrator.cardano.health import METRICS_URL
from orchestrator.facts import forging as _forging  # noqa: F401  (registers its section, after sections')
from orchestrator.facts import peer_snapshot as _peer_snapshot  # noqa: F401  (registers its section, after sections')
from orchestrator.facts.model import FileStat, GenesisFile, HostFacts, KeyFileStat
from orchestrator.facts.record import REGISTRY, FactSection, Output, last_line
from orchestrator.facts.script import Section, build_script, split_sections
from orchestrator.facts.sections import GENESIS_KEYS, network_args
from orchestrator.model import Host

if TYPE_CHECKING:
    from orchestrator.ssh.transport import CommandResult, Fleet

__all__ = [
    "GENESIS_KEYS",
    "ALL_SECTIONS",
    "HEALTH_SECTIONS",
    "METRICS_URL",
    "PROBE_TIMEOUT",
    "SECTIONS",
    "FileStat",
    "GenesisFile",
    "HostFacts",
    "KeyFileStat",
    "Section",
    "build_probe",
    "facts_from_result",
    "gather_facts",
    "network_args",
    "parse_probe",
    "records_for",
    "split_sections",
]

PROBE_TIMEOUT = 60.0
SECTIONS: tuple[str, ...] = tuple(REGISTRY)
# What a sync gate or a pre-batch health check reads: no files, no genesis hashes.
HEALTH_SECTIONS = frozenset(name for name, record in REGISTRY.items() if record.health)
# Every section, the sampled ones (seconds each: the forging fact) included: what `facts` and `audit` read.
ALL_SECTIONS = frozenset(REGISTRY)


def records_for(host: Host, sections: Collection[str] | None = None) -> list[FactSection]:
    """The records probed on `host` (all but the sampled ones, or only those named), in registry order."""
    return [r for r in REGISTRY.values()
            if r.applies(host) and (not r.sampled if sections is None else r.name in sections)]  # fmt: skip


def build_probe(host: Host, sections: Collection[str] | None = None) -> str:
    """The whole probe for one host as one POSIX sh command line (every value quoted).

    `sections` keeps only those (HEALTH_SECTIONS is what a sync gate needs): a gate samples every
    second, and need not re-read files and genesis hashes each time.
    """
    return build_script(host, records_for(host, sections))


def parse_probe(host: Host, output: str, sections: Collection[str] | None = None) -> HostFacts:
    """Turn the probe's stdout into HostFacts; every problem is a `probe_errors` entry, never raised.

    `sections`: the ones that were asked for (all by default); only their absence is an error.
    """
    found = split_sections(output)
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for record in records_for(host, sections):
        got = _output(host, record, found.get(record.name))
        if isinstance(got, str):
            errors[record.name] = got
            fields.update(record.unavailable(got))
            continue
        parsed = record.parse(got)
        fields.update(parsed.fields)
        errors.update(parsed.errors)
    return HostFacts(
        host=host.name,
        reachable=True,
        network=host.network,
        probe_errors=MappingProxyType(errors),
        **fields,
    )


def _output(host: Host, record: FactSection, sec: Section | None) -> Output | str:
    """The section's finished output for its parser, or why there is none."""
    if sec is None:
        return "missing from probe output"
    if sec.rc is None:
        return "output cut short"
    if record.check_exit and sec.rc != 0:
        return f"exit {sec.rc}: {last_line(sec.body, 'no output')}"
    return Output(host, sec.body, sec.rc)


def facts_from_result(
    host: Host, result: CommandResult, sections: Collection[str] | None = None, control_time: float | None = None
) -> HostFacts:
    """A probe's CommandResult → HostFacts: unreachable, failed to run, or parsed.

    control_time: the control machine's clock (unix seconds) at the probe's midpoint, for the skew."""
    if not result.connected:
        return HostFacts(host=host.name, reachable=False, error=result.error or "unreachable", network=host.network)
    if result.error is not None and "@@cf-begin" not in result.stdout:
        return HostFacts(host=host.name, reachable=True, error=f"probe failed: {result.error}", network=host.network)
    if result.exit_code not in (0, None) and "@@cf-begin" not in result.stdout:
        why = last_line(result.stderr, f"exit {result.exit_code}")
        return HostFacts(host=host.name, reachable=True, error=f"probe failed: {why}", network=host.network)
    facts = replace(parse_probe(host, result.stdout, sections), control_time=control_time)
    if result.error is not None:  # e.g. a timeout with partial output
        return replace(facts, error=f"probe failed: {result.error}")
    return facts


def gather_facts(
    transport: Fleet,
    hosts: Iterable[Host],
    *,
    timeout: float = PROBE_TIMEOUT,
    sections: Collection[str] | None = None,
) -> dict[str, HostFacts]:
    """Probe every host in parallel over its single connection: one command per host."""

    def one(h: Host) -> HostFacts:
        res = transport.run(h, build_probe(h, sections), sudo=True, timeout=timeout)
        # the host read its clock somewhere in the round trip: its midpoint is the fairest guess
        control = time.time() - res.duration / 2
        return facts_from_result(h, res, sections, control_time=control)

    return transport.map(list(hosts), one)
