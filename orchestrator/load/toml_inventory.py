"""Ansible's TOML inventory format (its `toml` plugin, enabled by default, for files ending in .toml).

    [all.vars]
    layout = "guild"
    cardano_network = "mainnet"

    [pool]
    children = ["relays", "block_producers"]

    [relays.hosts]
    "relay[1:2].pool.example.com" = {}
    relay3 = { ansible_port = 2222 }

    [block_producers.hosts]
    bp1 = { ansible_host = "198.51.100.21" }

Each top-level table is a group with `vars` (a table), `children` (a list of group names) and
`hosts` (host pattern → table of variables; ranges and `host:PORT` as in the other formats).
tomllib gives no positions, so an error names the line where the group or host is written.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from typing import Any

from orchestrator.load.ini import IniError, Sink, split_host_port

__all__ = ["parse_toml"]

Loc = tuple[str, int, int]


def _line_of(text: str, name: str) -> int:
    """The first line that writes `name` as a table header or a key (1 when not found)."""
    quoted = re.escape(name)
    pattern = re.compile(rf"""^\s*(\[[^\]]*\b{quoted}\b[^\]]*\]|["']?{quoted}["']?\s*=)""", re.M)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def parse_toml(text: str, where: str, sink: Sink, expand: Callable[[str, Loc], list[str]]) -> None:
    """Feed a TOML inventory to `sink`; raises IniError (a located source error) on the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(at.group(1)), int(at.group(2))) if at else (1, 1)
        message = str(exc).replace(at.group(0), "").strip() if at else str(exc)
        raise IniError((where, line, column), f"TOML syntax error: {message}") from None
    for group, body in data.items():
        _group(text, where, sink, expand, group, body)


def _group(text: str, where: str, sink: Sink, expand: Callable[[str, Loc], list[str]], group: str, body: Any) -> None:
    loc: Loc = (where, _line_of(text, group), 1)
    if not isinstance(body, dict):
        raise IniError(loc, f"group '{group}' must be a table of hosts/vars/children, not {type(body).__name__}")
    sink.add_group(group, loc)
    for key, value in body.items():
        if key == "vars":
            if not isinstance(value, dict):
                raise IniError(loc, f"'vars' of group '{group}' must be a table")
            for name, item in value.items():
                sink.group_var(group, name, item, (where, _line_of(text, name), 1))
        elif key == "children":
            if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
                raise IniError(loc, f"'children' of group '{group}' must be a list of group names")
            for child in value:
                sink.add_group(child, loc)
                sink.add_child(group, child, loc)
        elif key == "hosts":
            if not isinstance(value, dict):
                raise IniError(loc, f"'hosts' of group '{group}' must be a table of host names")
            for pattern, variables in value.items():
                hloc: Loc = (where, _line_of(text, pattern), 1)
                if not isinstance(variables, dict):
                    raise IniError(hloc, f"host '{pattern}' must map to a table of variables")
                try:
                    name_pattern, port = split_host_port(pattern)
                except ValueError as exc:
                    raise IniError(hloc, str(exc)) from None
                for name in expand(name_pattern, hloc):
                    sink.add_host(group, name, hloc)
                    if port is not None:
                        sink.host_var(name, "ansible_port", port, hloc)
                    for var, item in variables.items():
                        sink.host_var(name, var, item, hloc)
        else:
            raise IniError(loc, f"unknown key '{key}' in group '{group}': expected hosts, vars or children")
