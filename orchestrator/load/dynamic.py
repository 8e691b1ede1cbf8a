"""Dynamic inventories: an executable that prints Ansible's `--list` JSON, or a file holding that JSON.

    {"_meta": {"hostvars": {"bp1": {"ansible_host": "198.51.100.21"}}},
     "all": {"children": ["relays", "block_producers"], "vars": {"layout": "guild"}},
     "relays": {"hosts": ["relay1", "relay2"]},
     "block_producers": ["bp1"]}                       # a bare list is the hosts (old form)

As Ansible's `script` plugin: the program is run with `--list`; when the output has no
`_meta.hostvars`, it is run again with `--host NAME` for each host. A value written as
`{"__ansible_vault": "$ANSIBLE_VAULT;…"}` is vault-encrypted (what `ansible-inventory --list` prints).
Ansible reads this JSON only from a program; cardano-fleet also reads it from a plain `.json` file
(an export of `ansible-inventory --list`), which is how CMDB exports usually arrive.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.load.ini import Sink

__all__ = ["DynamicError", "is_list_json", "is_script", "parse_list_json", "run_script"]

Loc = tuple[str, int, int]
SCRIPT_TIMEOUT = 300.0  # seconds: a CMDB query can be slow, but a hung script must not hang a cron run


class DynamicError(Exception):
    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(loc, message)
        self.loc = loc
        self.message = message


def is_script(path: Path) -> bool:
    """Ansible's rule: an executable regular file is an inventory script, whatever its name."""
    return path.is_file() and os.access(path, os.X_OK)


def is_list_json(data: Any) -> bool:
    """`--list` JSON rather than a YAML-shaped inventory: `_meta`, or groups whose hosts are a list."""
    if not isinstance(data, dict):
        return False
    if "_meta" in data:
        return True
    for value in data.values():
        if isinstance(value, list):
            return True
        if isinstance(value, dict) and isinstance(value.get("hosts", {}), list | type(None)) and (
            isinstance(value.get("hosts"), list) or isinstance(value.get("children"), list)
        ):
            return True
    return False


def run_script(path: Path, *args: str, timeout: float = SCRIPT_TIMEOUT) -> str:
    """The script's stdout; raises DynamicError naming the script when it fails."""
    where: Loc = (str(path), 0, 0)
    try:
        done = subprocess.run(
            [str(path.resolve()), *args], capture_output=True, timeout=timeout, check=False, cwd=path.parent
        )
    except subprocess.TimeoutExpired:
        raise DynamicError(where, f"inventory script did not finish within {timeout:.0f} s ({' '.join(args)})") from None
    except OSError as exc:
        raise DynamicError(where, f"cannot run inventory script: {exc.strerror or exc}") from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = f": {tail[-1]}" if tail else ""
        raise DynamicError(where, f"inventory script exited {done.returncode} ({' '.join(args)}){reason}")
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise DynamicError(where, f"inventory script output ({' '.join(args)}) is not UTF-8 text") from None


def parse_list_json(
    data: Any,
    where: str,
    sink: Sink,
    locate: Callable[[tuple[Any, ...]], Loc],
    host_vars: Callable[[str], Any] | None = None,
) -> None:
    """Feed `--list` data to `sink`. `locate(path_of_keys)` gives positions; `host_vars(name)` is `--host`.

    Raises DynamicError at the position of the first malformed entry.
    """
    if not isinstance(data, dict):
        raise DynamicError(locate(()), f"the --list JSON is a mapping of groups, not {type(data).__name__}")
    hosts_seen: list[str] = []
    meta = data.get("_meta")
    hostvars: Any = None
    if meta is not None:
        if not isinstance(meta, dict) or not isinstance(meta.get("hostvars", {}), dict):
            raise DynamicError(locate(("_meta",)), "'_meta' must be a mapping with 'hostvars' (a mapping of hosts)")
        hostvars = meta.get("hostvars")
    for group, gdata in data.items():
        if group == "_meta":
            continue
        loc = locate((group,))
        sink.add_group(str(group), loc)
        if isinstance(gdata, list):
            gdata = {"hosts": gdata}
        elif not isinstance(gdata, dict):
            raise DynamicError(loc, f"group '{group}' must be a mapping of hosts/vars/children or a list of hosts")
        elif not any(k in gdata for k in ("hosts", "vars", "children")):
            raise DynamicError(loc, f"group '{group}' has none of hosts, vars, children")
        for name, at in _names(gdata, str(group), "hosts", "host", locate):
            sink.add_host(str(group), name, at)
            if name not in hosts_seen:
                hosts_seen.append(name)
        variables = gdata.get("vars", {})
        if not isinstance(variables, dict):
            raise DynamicError(locate((group, "vars")), f"'{group}.vars' must be a mapping")
        for key, value in variables.items():
            sink.group_var(str(group), str(key), value, locate((group, "vars", key)))
        for child, at in _names(gdata, str(group), "children", "group", locate):
            sink.add_group(child, at)
            sink.add_child(str(group), child, at)
    for name in hosts_seen:
        path: tuple[Any, ...] = ()
        if hostvars is not None:
            got, path = hostvars.get(name, {}), ("_meta", "hostvars", name)
        elif host_vars is not None:
            got, path = host_vars(name), ()
        else:
            got, path = {}, ()
        if not isinstance(got, dict):
            raise DynamicError(locate(path), f"variables of host '{name}' must be a mapping")
        for key, value in got.items():
            sink.host_var(name, str(key), value, locate((*path, key)) if path else locate(()))


def _names(
    gdata: dict[str, Any], group: str, key: str, what: str, locate: Callable[[tuple[Any, ...]], Loc]
) -> list[tuple[str, Loc]]:
    """`hosts` or `children` of a group: a list of non-empty names, each with where it is written."""
    names = gdata.get(key, [])
    if not isinstance(names, list):
        raise DynamicError(locate((group, key)), f"'{group}.{key}' must be a list of {what} names")
    out: list[tuple[str, Loc]] = []
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name:
            raise DynamicError(locate((group, key, i)), f"a {what} name must be a non-empty string")
        out.append((name, locate((group, key, i))))
    return out
