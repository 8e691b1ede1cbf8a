"""Read-only probes of each host, as one shell script per host, parsed into `HostFacts`.

Why one script: a round trip costs ~50 ms and a connection ~70 ms, so a fleet of 500 hosts is
probed in one parallel pass of one command each. The script is assembled from the fact records
(orchestrator/facts/sections.py: each section's command and parser together); its output is cut
back into sections and each record parses its own, so a missing or garbled section becomes a
`probe_errors` entry and never hides the others. An unreachable host is a fact with a reason,
not an exception.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from orchestrator.facts.model import FileStat, GenesisFile, HostFacts, KeyFileStat
from orchestrator.facts.record import REGISTRY, FactSection, Output, last_line
from orchestrator.facts.script import Section, build_script, split_sections
from orchestrator.facts.sections import GENESIS_KEYS, METRICS_URL, network_args
from orchestrator.model import Host

if TYPE_CHECKING:
    from orchestrator.ssh.transport import CommandResult, Fleet

__all__ = [
    "GENESIS_KEYS",
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
    "facts_to_json",
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


def records_for(host: Host, sections: Collection[str] | None = None) -> list[FactSection]:
    """The records probed on `host` (all, or only those named), in registry order."""
    return [r for r in REGISTRY.values() if r.applies(host) and (sections is None or r.name in sections)]


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


def facts_from_result(host: Host, result: CommandResult, sections: Collection[str] | None = None) -> HostFacts:
    """A probe's CommandResult → HostFacts: unreachable, failed to run, or parsed."""
    if not result.connected:
        return HostFacts(host=host.name, reachable=False, error=result.error or "unreachable", network=host.network)
    if result.error is not None and "@@cf-begin" not in result.stdout:
        return HostFacts(host=host.name, reachable=True, error=f"probe failed: {result.error}", network=host.network)
    if result.exit_code not in (0, None) and "@@cf-begin" not in result.stdout:
        why = last_line(result.stderr, f"exit {result.exit_code}")
        return HostFacts(host=host.name, reachable=True, error=f"probe failed: {why}", network=host.network)
    facts = parse_probe(host, result.stdout, sections)
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
    chosen = list(hosts)
    by_name = {h.name: h for h in chosen}
    results = transport.run_all(chosen, lambda h: build_probe(h, sections), sudo=True, timeout=timeout)
    return {name: facts_from_result(by_name[name], res, sections) for name, res in results.items()}


# --------------------------------------------------------------------------------------------
# Machine-readable form (stable keys: scripts and CI rely on them)


def facts_to_json(facts: HostFacts, unix_now: float | None = None) -> dict[str, Any]:
    """A JSON-ready summary with stable keys; file contents and pool-key paths' contents never appear."""
    tip = facts.tip
    return {
        "host": facts.host,
        "reachable": facts.reachable,
        "error": facts.error,
        "network": facts.network,
        "hostname": facts.hostname,
        "os": {"id": facts.os_id, "version": facts.os_version, "kernel": facts.kernel},
        "node_version": facts.node_version,
        "node_rev": facts.node_rev,
        "cli_version": facts.cli_version,
        "binary_path": facts.binary_path,
        "binary_target": facts.binary_target,
        "service": {"active": facts.service_active, "enabled": facts.service_enabled},
        "enable_p2p": facts.enable_p2p,
        "topology_format": facts.topology_format,
        "config": _file_json(facts.config_sha256, facts.config_stat),
        "topology": _file_json(facts.topology_sha256, facts.topology_stat),
        "genesis": {
            name: {"path": g.path, "sha256": g.sha256, "blake2b_256": g.blake2b, "node_hash": g.node_hash}
            for name, g in sorted(facts.genesis.items())
        },
        "tip": None
        if tip is None
        else {
            "slot": tip.slot,
            "block": tip.block,
            "epoch": tip.epoch,
            "era": tip.era,
            "hash": tip.hash,
            "sync_progress": tip.sync_progress,
        },
        "tip_error": facts.tip_error,
        "slot_lag": facts.slot_lag(unix_now) if unix_now is not None else None,
        "hot_peers": facts.hot_peers,
        "hot_peer_addresses": list(facts.hot_peer_addresses),
        "disk_free_bytes": facts.disk_free_bytes,
        "releases": list(facts.releases),
        "key_files": [
            {"path": k.path, "mode": f"{k.mode:04o}", "owner": k.owner, "group": k.group, "kind": k.kind}
            for k in facts.key_files_stat
        ],
        "startup": _startup_json(facts),
        "remaining_kes_periods": facts.remaining_kes_periods,
        "leader_schedule": _schedule_json(facts, unix_now),
        "probe_errors": dict(sorted(facts.probe_errors.items())),
    }


def _schedule_json(facts: HostFacts, unix_now: float | None) -> dict[str, Any] | None:
    """Whether the schedule was read and when the next leader slot is: never the slots themselves
    (the schedule tells an attacker when the pool forges)."""
    if facts.leader_schedule is None and facts.leader_schedule_error is None:
        return None
    upcoming = None
    if facts.leader_schedule is not None and unix_now is not None:
        upcoming = next((s for s in facts.leader_schedule if s.at >= unix_now), None)
    return {
        "read": facts.leader_schedule is not None,
        "error": facts.leader_schedule_error,
        "next_slot_time": None if upcoming is None else datetime.fromtimestamp(upcoming.at, tz=UTC).isoformat(),
    }


def _startup_json(facts: HostFacts) -> dict[str, Any] | None:
    if facts.startups is None:
        return None
    cur = facts.startups.current
    done = facts.startups.last_completed
    return {
        "source": facts.startup_source,
        "phase": None if cur is None else str(cur.phase),
        "percent": None if cur is None else cur.percent,
        "full_validation": None if cur is None else cur.full_validation,
        "last_start_seconds": facts.last_start_seconds,
        "last_start_phases": None if done is None else done.phase_durations(),
    }


def _file_json(sha: str | None, stat: FileStat | None) -> dict[str, Any] | None:
    if sha is None and stat is None:
        return None
    return {
        "sha256": sha,
        "owner": stat.owner if stat else None,
        "group": stat.group if stat else None,
        "mode": f"{stat.mode:04o}" if stat else None,
        "size": stat.size if stat else None,
    }
