"""`facts` without --json: one row per host (version, service, P2P, topology, tip, lag, hot peers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.cardano.forging import Forging
from orchestrator.cardano.health import sync_state
from orchestrator.cardano.leader_schedule import next_leader_slot
from orchestrator.facts.clock import MAX_CLOCK_SKEW_SECONDS
from orchestrator.facts.model import ForgingFact, HostFacts
from orchestrator.model import Host
from orchestrator.report.terminal import data, keep_headers


def print_facts(
    console: Console, source: str, hosts: Sequence[Host], facts: Mapping[str, HostFacts], now: float
) -> None:
    """One row per host; what a probe could not read is listed under the table, host by host."""
    table = Table(title=data(f"{source}: facts of {len(hosts)} host{'s' if len(hosts) != 1 else ''}", "table.title"))
    for column in ("host", "role", "reachable", "node", "service", "P2P", "topology", "tip slot", "lag", "hot peers",
                   "forging"):
        table.add_column(column, overflow="fold", no_wrap=column in ("host", "tip slot"))
    problems: list[str] = []
    for h in hosts:
        f = facts[h.name]
        role = h.role_label  # a standby says whose
        if not f.reachable:
            table.add_row(data(h.name), role, Text("no", "red"), "", "", "", "", "", "", "", "")
            problems.append(f"{h.name}: {f.error}")
            continue
        lag = f.slot_lag(now)
        lag_text = Text("" if lag is None else str(lag), "yellow" if lag is not None and sync_state(lag) != "in-sync" else "")
        p2p = {True: "yes", False: "no", None: "?"}[f.runs_p2p]  # as its release reads the config
        peers = str(f.hot_peer_count[0])  # the addresses are in --json
        service = data(f.service_active or "?", "" if f.service_active == "active" else "yellow")  # the host's word
        table.add_row(
            data(h.name),
            role,
            Text("yes") if f.error is None else Text("partly", "yellow"),
            data(f.node_version or "?"),
            service,
            p2p,
            data(f.topology_format or "?"),
            "" if f.tip is None or f.tip.slot is None else str(f.tip.slot),
            lag_text,
            peers,
            _forging_cell(f),
        )
        skew = f.clock_skew
        if skew is not None and abs(skew) > MAX_CLOCK_SKEW_SECONDS:
            problems.append(f"{h.name}: clock {skew:+.0f} s off the control machine's (run refuses it above "
                            f"max_clock_skew_seconds, default {MAX_CLOCK_SKEW_SECONDS})")  # fmt: skip
        if h.is_producer:
            problems.append(producer_line(h.name, f, now))
            if f.forging is not None:
                problems.append(forging_line(h, f.forging))
        if f.error:
            problems.append(f"{h.name}: {f.error}")
        for section, why in sorted(f.probe_errors.items()):
            problems.append(f"{h.name}: {section}: {why}")
    console.print(keep_headers(table), crop=False)
    for line in problems:
        console.print(data(f"  {line}"))


def producer_line(name: str, facts: HostFacts, now: float) -> str:
    """A block producer's KES periods left and its leader schedule's next slot time (never the
    schedule itself): what `run` checks before it touches the producer (spec/window.py)."""
    kes = facts.remaining_kes_periods
    kes_text = "KES periods left unknown (no remainingKESPeriods metric)" if kes is None else f"KES periods left {kes}"
    if facts.leader_schedule_error is not None:
        schedule = f"leader schedule unreadable: {facts.leader_schedule_error}"
    elif facts.leader_schedule is None:
        schedule = "no leader schedule configured"
    else:
        upcoming = next_leader_slot(facts.leader_schedule, now)
        schedule = ("leader schedule read, no leader slot ahead" if upcoming is None else
                    "leader schedule read, next leader slot at "
                    + datetime.fromtimestamp(upcoming.at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))  # fmt: skip
    return f"{name}: {kes_text}; {schedule}"


_FORGING_STYLE = {Forging.ON: "green", Forging.ENABLED: "yellow", Forging.OFF: "", Forging.UNKNOWN: "yellow"}


def _forging_cell(facts: HostFacts) -> Text:
    f = facts.forging
    return Text("") if f is None else Text(f.state.label, _FORGING_STYLE[f.state])


def forging_line(host: Host, f: ForgingFact) -> str:
    """A producer's (or standby's) forging with its evidence: the leadership checks of the two
    samples, the metric, the credential files its command line names (present or not; never read)."""
    who = f"{host.name} (standby for {host.standby_for})" if host.standby_for else host.name
    if not f.running:
        return f"{who}: not forging: {f.note}"
    checks = ("leadership checks not exported" if f.checks_before is None or f.checks_after is None
              else f"leadership checks {f.checks_before} → {f.checks_after} in {f.interval_seconds:g} s")  # fmt: skip
    metric = {True: "forging_enabled 1", False: "forging_enabled 0", None: "no forging_enabled metric"}[f.forging_metric]
    if f.credentials:
        present = sum(1 for c in f.credentials if c.present)
        away = sum(1 for c in f.credentials if c.renamed_away and not c.present)
        files = f"credential files present {present}/{len(f.credentials)}" + (f" ({away} renamed away)" if away else "")
    else:
        files = "no credential files on its command line"
    flag = "; started non-producing" if f.non_producing else ""
    note = f"; {f.note}" if f.note else ""
    return f"{who}: {f.state.label} ({checks}; {metric}); {files}{flag}{note}"
