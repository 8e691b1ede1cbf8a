"""`facts --json`: the facts of each host with stable keys (scripts and CI rely on them).

File contents never appear (only their sha256, owner, group, mode and size), nor the contents of
pool key files (only their paths and modes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestrator.cardano.leader_schedule import next_leader_slot
from orchestrator.facts.model import FileStat, HostFacts
from orchestrator.load.secrets import redact
from orchestrator.model import Host

if TYPE_CHECKING:
    from orchestrator.ssh.transport import HostStats


def facts_to_json(facts: HostFacts, unix_now: float | None = None) -> dict[str, Any]:
    """A JSON-ready summary with stable keys; file contents and pool-key paths' contents never appear."""
    tip = facts.tip
    return {
        "host": facts.host,
        "reachable": facts.reachable,
        "error": facts.error,
        "network": facts.network,
        "hostname": facts.hostname,
        "clock_skew_seconds": None if facts.clock_skew is None else round(facts.clock_skew, 1),
        "os": {"id": facts.os_id, "version": facts.os_version, "kernel": facts.kernel},
        "node_version": facts.node_version,
        "node_rev": facts.node_rev,
        "running_version": facts.running_version,  # the process's cardano_build_info; None: not exported
        "tracing": None if facts.tracing is None else facts.tracing.value,  # "legacy" | "new"
        "cli_version": facts.cli_version,
        "binary_path": facts.binary_path,
        "binary_target": facts.binary_target,
        "service": {"active": facts.service_active, "enabled": facts.service_enabled},
        "enable_p2p": facts.enable_p2p,  # the config's EnableP2P as written (10.6+ does not read it)
        "runs_p2p": facts.runs_p2p,  # the stack the node runs with it, as its release reads it
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
        "ledger_bytes": facts.ledger_bytes,  # du -sk of db/ledger: what a ledger backup costs (plan's crossing)
        "releases": list(facts.releases),
        "key_files": [
            {"path": k.path, "mode": f"{k.mode:04o}", "owner": k.owner, "group": k.group, "kind": k.kind}
            for k in facts.key_files_stat
        ],
        "startup": _startup_json(facts),
        "remaining_kes_periods": facts.remaining_kes_periods,
        "forging_enabled": facts.forging_enabled,
        "forging": _forging_json(facts),  # producers and standbys: who forges (facts/forging.py); else null
        "replay_progress": facts.replay_progress,
        "leader_schedule": _schedule_json(facts, unix_now),
        "probe_errors": dict(sorted(facts.probe_errors.items())),
    }


def _forging_json(facts: HostFacts) -> dict[str, Any] | None:
    """The forging fact: state (on|enabled|off|unknown, and its words), the two samples, the credential
    files the command line names with whether each is there (paths only: never their contents)."""
    f = facts.forging
    if f is None:
        return None
    return {
        "state": f.state.value, "label": f.state.label, "running": f.running, "forging_enabled": f.forging_metric,
        "leadership_checks": {"before": f.checks_before, "after": f.checks_after, "interval_seconds": f.interval_seconds},
        "credentials": [{"path": c.path, "present": c.present, "renamed_away": c.renamed_away} for c in f.credentials],
        "credentials_present": f.credentials_present, "non_producing": f.non_producing, "kes_agent": f.kes_agent,
        "note": f.note,
    }  # fmt: skip


def _schedule_json(facts: HostFacts, unix_now: float | None) -> dict[str, Any] | None:
    """Whether the schedule was read and when the next leader slot is: never the slots themselves
    (the schedule tells an attacker when the pool forges)."""
    if facts.leader_schedule is None and facts.leader_schedule_error is None:
        return None
    upcoming = None
    if facts.leader_schedule is not None and unix_now is not None:
        upcoming = next_leader_slot(facts.leader_schedule, unix_now)
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
        "unobserved": [] if cur is None else list(cur.unobserved),
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


def facts_document(
    source: str, hosts: Sequence[Host], facts: Mapping[str, HostFacts], stats: Mapping[str, HostStats], now: float
) -> dict[str, Any]:
    """The `facts --json` document: each host's facts, its role and the SSH work it cost."""
    return {
        "source": source,
        "probed_at": int(now),
        "hosts": [
            {
                **facts_to_json(facts[h.name], now),
                "role": h.role.value,
                "ssh": {
                    "connections": stats[h.name].connections_opened if h.name in stats else 0,
                    "commands": stats[h.name].commands_run if h.name in stats else 0,
                },
            }
            for h in hosts
        ],
    }


def render_facts_json(
    source: str, hosts: Sequence[Host], facts: Mapping[str, HostFacts], stats: Mapping[str, HostStats], now: float
) -> str:
    """What `facts --json` prints (vault-decrypted values stay secret)."""
    return redact(json.dumps(facts_document(source, hosts, facts, stats, now), indent=2, sort_keys=True))
