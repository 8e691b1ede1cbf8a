"""`inventory` without --json: the hosts as they resolve, then each distinct layout's paths once.

On a terminal, two tables; in a pipe, CI log or cron mail, one record (line) per host and one block per
layout (as report/console.py prints a run's summary): a table's long cells (a sudo password variable, a
ProxyJump, twenty groups) would wrap inside its borders past 160 columns, and grep finds a host's line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.cardano.layouts import Layout
from orchestrator.model import Host
from orchestrator.report.terminal import data, keep_headers, one_line

_PATH_LABELS = ("config", "topology", "genesis", "db", "socket", "bin", "releases", "unit", "port")


def print_inventory(console: Console, source: str, hosts: Sequence[Host], warnings: Sequence[str],
                    helpers: Sequence[Host] = (), skipped: Mapping[str, str] | None = None) -> None:  # fmt: skip
    """Hosts first; then paths once per distinct layout, so 500 identical relays stay readable."""
    title = f"{source}: {len(hosts)} host{'s' if len(hosts) != 1 else ''}"
    layouts: dict[Layout, list[str]] = {}
    for h in hosts:
        layouts.setdefault(h.layout, []).append(h.name)
    if console.is_terminal:
        _print_tables(console, title, hosts, layouts)
    else:
        for line in inventory_records(title, hosts, layouts):
            console.print(data(line), soft_wrap=True)
    for h in helpers:
        console.print(data(f"helper (no node; drain/return hooks only): {h.name} {h.user}@{_hostport(h.address, h.port)}"),
                      soft_wrap=True)  # fmt: skip
    for name, why in (skipped or {}).items():
        console.print(data(f"skipped: {name}: {why}"), soft_wrap=True)
    for warning in warnings:
        console.print(Text.assemble(("warning:", "yellow"), data(f" {warning}")), soft_wrap=True)


def _ssh(h: Host) -> str:
    ssh = f"{h.user}@{_hostport(h.address, h.port)}"
    if h.proxy_jump:
        ssh += f" via {h.proxy_jump}"
    if h.become:
        ssh += f" sudo{' ($' + h.become_password_env + ')' if h.become_password_env else ''}"
    return ssh


def _paths(layout: Layout) -> tuple[str, ...]:
    return (layout.config_path, layout.topology_path, layout.genesis_dir, layout.db_path, layout.socket_path,
            layout.bin_dir, layout.releases_dir, layout.service_name, str(layout.node_port))  # fmt: skip


def inventory_records(title: str, hosts: Sequence[Host], layouts: Mapping[Layout, list[str]]) -> list[str]:
    """The inventory as records: `host: role; ssh …; node …; layout …; network …; groups …` per host,
    then per layout its hosts and one `  label: path` line per path. Values redacted as the table's cells."""
    lines = [title]
    for h in hosts:
        lines.append(
            one_line(
                f"{h.name}: {h.role_label}; ssh {_ssh(h)}; node {_hostport(h.peer_address, h.peer_port)}; "
                f"layout {h.layout.name}; network {h.network}; groups {', '.join(h.groups) or '-'}"
            )
        )
    for layout, names in layouts.items():
        lines.append(one_line(f"resolved paths of layout {layout.name} ({', '.join(names)}):"))
        lines.extend(one_line(f"  {label}: {value}") for label, value in zip(_PATH_LABELS, _paths(layout), strict=True))
    return lines


def _print_tables(console: Console, title: str, hosts: Sequence[Host], layouts: Mapping[Layout, list[str]]) -> None:
    table = Table(title=data(title, "table.title"))
    for column in ("host", "role", "ssh", "node", "layout", "network", "groups"):
        table.add_column(column, overflow="fold")
    for h in hosts:
        table.add_row(data(h.name), data(h.role_label), data(_ssh(h)), data(_hostport(h.peer_address, h.peer_port)),
                      data(h.layout.name), data(h.network), data(", ".join(h.groups)))  # fmt: skip
    console.print(keep_headers(table), crop=False)
    paths = Table(title="resolved paths", show_lines=True)
    paths.add_column("hosts", overflow="fold")
    paths.add_column("paths", overflow="fold")
    for layout, names in layouts.items():
        paths.add_row(
            data("\n".join(names)),
            data("\n".join(f"{label}: {value}" for label, value in zip(_PATH_LABELS, _paths(layout), strict=True))),
        )
    console.print(keep_headers(paths), crop=False)


def _hostport(address: str, port: int) -> str:
    """IPv6 addresses in brackets, as operators write them next to a port."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
