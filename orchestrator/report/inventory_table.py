"""`inventory` without --json: the hosts as they resolve, then each distinct layout's paths once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table

from orchestrator.cardano.layouts import Layout
from orchestrator.model import Host
from orchestrator.report.terminal import keep_headers


def print_inventory(console: Console, source: str, hosts: Sequence[Host], warnings: Sequence[str],
                    helpers: Sequence[Host] = (), skipped: Mapping[str, str] | None = None) -> None:  # fmt: skip
    """Hosts first; then paths once per distinct layout, so 500 identical relays stay readable."""
    table = Table(title=f"{source}: {len(hosts)} host{'s' if len(hosts) != 1 else ''}")
    for column in ("host", "role", "ssh", "node", "layout", "network", "groups"):
        table.add_column(column, overflow="fold")
    layouts: dict[Layout, list[str]] = {}
    for h in hosts:
        ssh = f"{h.user}@{_hostport(h.address, h.port)}"
        if h.proxy_jump:
            ssh += f" via {h.proxy_jump}"
        if h.become:
            ssh += f" sudo{' ($' + h.become_password_env + ')' if h.become_password_env else ''}"
        table.add_row(
            h.name,
            h.role.value,
            ssh,
            _hostport(h.peer_address, h.peer_port),
            h.layout.name,
            h.network,
            ", ".join(h.groups),
        )
        layouts.setdefault(h.layout, []).append(h.name)
    console.print(keep_headers(table), crop=False)
    paths = Table(title="resolved paths", show_lines=True)
    paths.add_column("hosts", overflow="fold")
    paths.add_column("paths", overflow="fold")
    for layout, names in layouts.items():
        rows = (
            ("config", layout.config_path),
            ("topology", layout.topology_path),
            ("genesis", layout.genesis_dir),
            ("db", layout.db_path),
            ("socket", layout.socket_path),
            ("bin", layout.bin_dir),
            ("releases", layout.releases_dir),
            ("unit", layout.service_name),
            ("port", str(layout.node_port)),
        )
        paths.add_row("\n".join(names), "\n".join(f"{label}: {value}" for label, value in rows))
    console.print(keep_headers(paths), crop=False)
    for h in helpers:
        console.print(f"helper (no node; drain/return hooks only): {h.name} {h.user}@{_hostport(h.address, h.port)}",
                      highlight=False)  # fmt: skip
    for name, why in (skipped or {}).items():
        console.print(f"skipped: {name}: {why}", highlight=False, markup=False)
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


def _hostport(address: str, port: int) -> str:
    """IPv6 addresses in brackets, as operators write them next to a port."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
