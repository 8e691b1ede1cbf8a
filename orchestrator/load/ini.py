"""Ansible's INI inventory format (its original and default one), read as Ansible's `ini` plugin reads it.

    # comment (also ';')
    relay1.pool.example.com ansible_user=deploy      # a host line: name, then key=value (shell quoting)
    relay[01:03] ansible_port=2222                   # ranges expand; `host:PORT` sets ansible_port
    [block_producers]
    bp1 ansible_host=198.51.100.21
    [pool:children]                                  # one group name a line
    relays
    block_producers
    [all:vars]                                       # key=value, the whole rest of the line is the value
    layout=guild

Values are typed as Ansible types them (plugins/inventory/ini.py, `_parse_value`): each value is a
Python literal if it parses as one (`2222` → int, `True` → bool, `[1, 2]` → list, `'x'` → the string x),
else the text as written. On a host line shell quoting is removed first, so `port="2222"` is an int
there too (Ansible's own rule). A `[g:vars]` or `[g:children]` naming a group that is never defined is
an error at the line of that section, as in Ansible.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["IniError", "Sink", "looks_like_ini", "parse_ini", "split_host_port", "typed_value"]

Loc = tuple[str, int, int]

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
_HOST_LINE = re.compile(r"^[^\s=\[\]{}:#;]+(?:\[[^\]]+\][^\s=]*)?(?::\d+)?(?:\s+[\w.-]+=\S.*)?\s*$")


class IniError(Exception):
    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(loc, message)
        self.loc = loc
        self.message = message


class Sink(Protocol):
    """What an inventory source reports while it is parsed (the loader implements it)."""

    def add_group(self, name: str, loc: Loc) -> None: ...
    def add_child(self, parent: str, child: str, loc: Loc) -> None: ...
    def add_host(self, group: str, name: str, loc: Loc) -> None: ...
    def group_var(self, group: str, key: str, value: Any, loc: Loc) -> None: ...
    def host_var(self, host: str, key: str, value: Any, loc: Loc) -> None: ...


def looks_like_ini(text: str) -> bool:
    """A `[section]` header, or a first content line shaped like `host key=value` (never YAML's `key:`)."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line == "---" or line.startswith(("- ", "{")):
            return False
        if _SECTION.match(line):
            return True
        if re.match(r"^[\w.-]+:(\s|$)", line):  # `all:` / `relays:`: YAML
            return False
        return bool(_HOST_LINE.match(line))
    return False


def _coerce(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_coerce(v) for v in value]
    if isinstance(value, dict):
        return {str(_coerce(k)): _coerce(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if value is ...:
        return "..."
    return str(value)  # complex numbers and the like: the text


def typed_value(text: str) -> Any:
    """A Python literal if `text` is one, else `text` (Ansible's INI value typing)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return _coerce(value)


def split_host_port(pattern: str) -> tuple[str, int | None]:
    """`name:PORT`, `[v6]:PORT`, bare IPv6, and `name[01:03]` ranges (whose colon is not a port)."""
    if pattern.startswith("[") and "]:" in pattern and pattern.rsplit("]:", 1)[1].isdigit():
        inside = pattern[1:].rsplit("]:", 1)
        return inside[0], int(inside[1])
    outside = re.sub(r"\[[^\]]*\]", "", pattern)
    if outside.count(":") == 1:
        head, _, port = pattern.rpartition(":")
        if port.isdigit() and head:
            return head, int(port)
        raise ValueError(f"invalid host pattern {pattern!r}: a ':' is followed by a port number")
    return pattern, None


def parse_ini(
    text: str,
    where: str,
    sink: Sink,
    expand: Callable[[str, Loc], list[str]],
) -> None:
    """Feed an INI inventory to `sink`; raises IniError at the line of the first problem."""
    pending: dict[str, tuple[str, Loc, list[str]]] = {}  # group → (section kind, where, parents)
    defined: set[str] = {"all", "ungrouped"}
    group, state = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        loc: Loc = (where, number, 1)
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        section = _SECTION.match(line)
        if section:
            group, kind = section.group(1), section.group(2) or "hosts"
            if kind not in ("hosts", "children", "vars"):
                raise IniError(loc, f"section [{group}:{kind}] has unknown type '{kind}' (hosts, children or vars)")
            if group not in defined:
                if kind == "vars":
                    pending.setdefault(group, ("vars", loc, []))
                else:
                    defined.add(group)
                    _resolve_pending(group, pending, sink, defined)
                sink.add_group(group, loc)
            state = kind
            continue
        if line.startswith("[") and line.endswith("]"):
            raise IniError(loc, f"invalid section header {line!r}: no spaces, and at most one ':' (like [relays:vars])")
        if state == "hosts":
            _host_line(line, loc, group, sink, expand)
        elif state == "vars":
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise IniError(loc, f"expected key=value in [{group}:vars], got {line!r}")
            sink.group_var(group, key.strip(), typed_value(value.strip()), loc)
        else:  # children
            match = _GROUP_NAME.match(line)
            if match is None:
                raise IniError(loc, f"expected a group name in [{group}:children], got {line!r}")
            child = match.group(1)
            if child in defined:
                sink.add_child(group, child, loc)
            else:
                entry = pending.setdefault(child, ("children", loc, []))
                if entry[0] == "vars":
                    pending[child] = ("children", loc, [group])
                else:
                    entry[2].append(group)
    for name, (kind, loc, parents) in pending.items():
        if kind == "vars":
            raise IniError(loc, f"section [{name}:vars] is for group '{name}', which is not defined anywhere")
        raise IniError(loc, f"[{parents[-1]}:children] names group '{name}', which is not defined anywhere")


def _resolve_pending(group: str, pending: dict[str, tuple[str, Loc, list[str]]], sink: Sink, defined: set[str]) -> None:
    entry = pending.pop(group, None)
    if entry is None or entry[0] != "children":
        return
    sink.add_group(group, entry[1])
    for parent in entry[2]:
        sink.add_child(parent, group, entry[1])


def _host_line(line: str, loc: Loc, group: str, sink: Sink, expand: Callable[[str, Loc], list[str]]) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise IniError(loc, f"cannot parse host line: {exc}") from None
    if not tokens:
        return
    if tokens[0] == "---" or tokens[0].endswith(":") and len(tokens) == 1:
        raise IniError(loc, f"'{tokens[0]}' is not a host: this looks like a YAML inventory, not INI")
    try:
        pattern, port = split_host_port(tokens[0])
    except ValueError as exc:
        raise IniError(loc, str(exc)) from None
    variables: list[tuple[str, Any]] = []
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise IniError(loc, f"expected key=value after the host name, got {token!r}")
        variables.append((key, typed_value(value)))
    for name in expand(pattern, loc):
        sink.add_host(group, name, loc)
        if port is not None:
            sink.host_var(name, "ansible_port", port, loc)
        for key, value in variables:
            sink.host_var(name, key, value, loc)
