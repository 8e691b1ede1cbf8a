"""Ansible-compatible YAML inventory → model.Inventory, with every error naming file:line:column.

Operators (exchanges especially) already keep Ansible inventories, so we read that format as Ansible
does and refuse, at load time and with a position, whatever would otherwise fail at 2 am on a host.

Format: top-level `all:` (other top-level keys are groups too, as in Ansible), each group a mapping of
`hosts:` (name → vars or null; `relay[01:12]` ranges expand), `vars:` and `children:`. Beside the
file, `group_vars/NAME{,.yml,.yaml,.json}` or `group_vars/NAME/*.yml`, and the same for `host_vars/`.

Variable precedence, lowest first (Ansible's default VARIABLE_PRECEDENCE, hash_behaviour=replace —
a mapping value replaces, never merges):
  1. inventory-file vars of `all`
  2. inventory-file vars of the host's other groups, by (depth, ansible_group_priority, name) —
     a child group beats its parent
  3. group_vars/all
  4. group_vars/<group>, same order as 2
  5. inventory-file vars of the host (inline under `hosts:`)
  6. host_vars/<host>
  7. extra vars (`-e`)
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from orchestrator.actions.convert_snapshot import LedgerConversion
from orchestrator.actions.seed_db import check_db_seed, check_mib_per_second
from orchestrator.cardano.consensus_mode import PRODUCER_REFUSAL, ConsensusMode
from orchestrator.cardano.layouts import LAYOUTS, PATH_VARIABLES, Layout
from orchestrator.cardano.leader_schedule import check_schedule_setting
from orchestrator.cardano.networks import NETWORKS
from orchestrator.cardano.releases import ReleasePin, ReleasePinError
from orchestrator.load import secrets as secret_values
from orchestrator.load.ansible_cfg import AnsibleConfig, find_config, read_config
from orchestrator.load.dynamic import DynamicError, is_list_json, is_script, parse_list_json, run_script
from orchestrator.load.ini import IniError, looks_like_ini, parse_ini, split_host_port
from orchestrator.load.settings import DEPRECATED_SETTINGS, check_setting, deprecated_setting, given_twice, role_settings
from orchestrator.load.source import (
    Loc,
    SourceError,
    item_loc,
    key_loc,
    load_yaml,
    locator,
    node_loc,
    parse_yaml,
    plain,
    read_source_text,
    type_name,
    value_loc,
)
from orchestrator.load.templating import Renderer, TemplateRefused, has_template
from orchestrator.load.toml_inventory import parse_toml
from orchestrator.load.vars_files import VARS_EXTENSIONS, inventory_dir_entries, var_files
from orchestrator.load.vault import VaultError, VaultSecrets, VaultText, is_encrypted, secrets_from_options
from orchestrator.model import ROLE_GROUPS, STANDBY_GROUP, STANDBY_ROLE, Host, Inventory, Role
from orchestrator.patterns.host_patterns import HostPatternError
from orchestrator.patterns.suggest import did_you_mean, edit_distance

# SourceError, the position helpers and did_you_mean/edit_distance live in load/source.py and
# patterns/suggest.py; they stay importable from here for the modules that import them from here.
__all__ = [
    "KNOWN_VARIABLES",
    "InventoryError",
    "Loc",
    "SourceError",
    "did_you_mean",
    "edit_distance",
    "key_loc",
    "item_loc",
    "limited",
    "load_inventory",
    "load_selection",
    "load_yaml",
    "node_loc",
    "parse_extra_vars",
    "parse_yaml",
    "plain",
    "read_source_text",
    "type_name",
    "value_loc",
]


class InventoryError(SourceError):
    """The inventory (or its group_vars/host_vars, or `-e`) is invalid; str is `path:line:col: message`."""


EXTRA_VARS_SOURCE = "-e"  # the `path` of errors in extra vars (line 0: no position)

# Variables the tool reads. Any other name is the operator's own, unless it looks like a typo of one.
TOOL_VARIABLES: tuple[str, ...] = (
    "proxy_jump",
    "node_address",
    "node_port",
    "cardano_network",
    "cardano_role",
    "layout",
    "known_hosts_file",
    "node_release",
    "become_password_env",
    "leader_schedule",
    "standby_for",
    "ledger_conversion",
    "db_seed",
    "db_seed_mib_per_second",
    *PATH_VARIABLES,
)
ANSIBLE_VARIABLES: tuple[str, ...] = (
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_become",
    "ansible_become_user",
    "ansible_become_method",
    "ansible_become_password",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_group_priority",
    "ansible_connection",
    "ansible_python_interpreter",
    # old spellings Ansible still honours
    "ansible_ssh_host",
    "ansible_ssh_port",
    "ansible_ssh_user",
    # literal passwords: recognised only to be refused
    "ansible_become_pass",
    "ansible_sudo_pass",
    "ansible_password",
    "ansible_ssh_pass",
)
KNOWN_VARIABLES: frozenset[str] = frozenset(TOOL_VARIABLES + ANSIBLE_VARIABLES)
_PASSWORD_VARIABLES = ("ansible_become_password", "ansible_become_pass", "ansible_sudo_pass")
_LOGIN_PASSWORD_VARIABLES = ("ansible_password", "ansible_ssh_pass")
_SSH_CONNECTIONS = ("ssh", "paramiko", "smart")
_GROUP_KEYS = ("hosts", "vars", "children")
# The groups that make a host a node: the role groups, and the standby producers' (a block producer
# standing by another one, `standby_for`; roll/handover.py).
_ROLE_GROUPS: Mapping[str, Role] = {**ROLE_GROUPS, STANDBY_GROUP: Role.BLOCK_PRODUCER}
# `cardano_role` values: the roles, and a standby producer's.
_ROLE_NAMES: Mapping[str, Role] = {**{r.value: r for r in Role}, STANDBY_ROLE: Role.BLOCK_PRODUCER}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ENV_LOOKUP = re.compile(r"""\{\{\s*lookup\(\s*['"]env['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)\s*\}\}\Z""")
_RANGE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\]")
_MAX_RANGE = 10_000
_INI_SECTION = re.compile(r"^\[[^:\]\s]+(?::\w+)?\]\s*(?:#.*)?$")
# Accepted because real inventories carry them, but nothing here could honour them: a warning says so.
_INERT_VARIABLES = {
    "ansible_python_interpreter": "cardano-fleet runs no Python on hosts (only sh, systemctl and the node's own tools)",
}
# Where a template left unrendered would reach the wire or the filesystem.
_NO_TEMPLATE_LEFT = (
    "ansible_host", "ansible_ssh_host", "ansible_user", "ansible_ssh_user", "ansible_ssh_private_key_file",
    "ansible_private_key_file", "known_hosts_file", "proxy_jump", "node_address", *PATH_VARIABLES,
)


# --- the loader -----------------------------------------------------------------------------------


@dataclass
class _Var:
    value: Any
    loc: Loc
    problem: InventoryError | None = None  # why the value is wrong: raised for a host that uses it


@dataclass
class _Group:
    name: str
    loc: Loc
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    inv_vars: dict[str, _Var] = field(default_factory=dict)
    file_vars: dict[str, _Var] = field(default_factory=dict)


@dataclass
class _HostDef:
    name: str
    loc: Loc
    inv_vars: dict[str, _Var] = field(default_factory=dict)
    file_vars: dict[str, _Var] = field(default_factory=dict)


class _Loader:
    """One load: mutable scratch state lives here, never at module level."""

    def __init__(self, path: Path, known: frozenset[str], vault: VaultSecrets | None = None) -> None:
        self.path = path
        self.where = str(path)
        self.known = known
        self.vault = vault if vault is not None else VaultSecrets(prompt_if_tty=False)
        self.groups: dict[str, _Group] = {"all": _Group("all", (str(path), 1, 1))}
        self.hosts: dict[str, _HostDef] = {}
        self.warnings: list[str] = []
        self.spellings: dict[tuple[int, str], str] = {}  # (variables' home, setting) → the name it was given as
        self.sources: list[str] = []
        self.config = AnsibleConfig()
        self.standby_locs: dict[str, Loc] = {}  # standby producer → where its `standby_for` is written

    def fail(self, loc: Loc, message: str) -> InventoryError:
        return InventoryError(loc[0], loc[1], loc[2], message)

    # reading sources: a file (YAML, INI, --list JSON), an inventory script, or a directory of them

    def read_source(self, path: Path, top: bool = True) -> None:
        where = str(path)
        if path.is_dir():
            entries = inventory_dir_entries(path)
            for entry in entries:
                self.read_source(entry, top=False)
            if top and not self.sources:
                raise InventoryError(where, 0, 0, "directory holds no inventory source (YAML, INI, JSON or a script)")
            return
        if not path.exists() and "," in where and top:
            self.read_host_list(where)
            return
        if not path.exists():
            raise InventoryError(where, 0, 0, "cannot read: no such file or directory")
        self.sources.append(where)
        if is_script(path):
            self.read_script(path)
            return
        text, where = self.read_text(path)
        suffix = path.suffix.lower()
        if suffix == ".toml":
            try:
                parse_toml(text, where, self, expand_host_range)
            except IniError as exc:
                raise self.fail(exc.loc, f"{exc.message} (read as a TOML inventory)") from None
            return
        stripped = text.lstrip()
        if suffix == ".ini" or (suffix != ".json" and not stripped.startswith("{") and looks_like_ini(text)):
            self.read_ini(text, where)
            return
        data = self.parse_yaml_text(text, where)
        shape = _other_document(data) if isinstance(data, Mapping) else None
        if shape:
            raise InventoryError(where, 1, 1, shape)
        if is_list_json(data):
            try:
                parse_list_json(data, where, self, locator(data, where))
            except DynamicError as exc:
                raise self.fail(exc.loc, f"{exc.message} (read as --list JSON)") from None
            return
        self.parse_tree(data, where)

    def read_host_list(self, text: str) -> None:
        """`-i 'relay1,relay2:2222,'`: Ansible's host_list source (hosts with no group and no variables)."""
        loc: Loc = ("-i", 0, 0)
        self.sources.append("-i")
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                name, port = split_host_port(item)
            except ValueError as exc:
                raise self.fail(loc, str(exc)) from None
            self.add_host("ungrouped", name, loc)
            if port is not None:
                self.host_var(name, "ansible_port", port, loc)

    def read_text(self, path: Path) -> tuple[str, str]:
        """A source's text, decrypted when the whole file is vault-encrypted; (text, where for messages)."""
        where = str(path)
        text = read_source_text(path, InventoryError)
        if is_encrypted(text):
            text = self.decrypt(text, (where, 1, 1), "the file")
            secret_values.register_yaml_text(text)
            where = f"{where} (decrypted)"
        return text, where

    def decrypt(self, text: str, loc: Loc, what: str) -> str:
        try:
            return self.vault.decrypt(text)
        except VaultError as exc:
            hint = (
                "; give the password with --vault-password-file FILE, --vault-id [LABEL@]FILE|prompt "
                "or ANSIBLE_VAULT_PASSWORD_FILE"
                if not self.vault.given
                else ""
            )
            raise self.fail(loc, f"{what} is vault-encrypted and cannot be decrypted: {exc}{hint}") from None

    def read_ini(self, text: str, where: str) -> None:
        try:
            parse_ini(text, where, self, expand_host_range)
        except IniError as exc:
            raise self.fail(exc.loc, f"{exc.message} (read as an INI inventory)") from None

    def read_script(self, path: Path) -> None:
        where = f"{path} --list"
        try:
            text = run_script(path, "--list")
            data = self.parse_yaml_text(text, where)

            def host_vars(name: str) -> Any:
                out = run_script(path, "--host", name)
                return plain(self.parse_yaml_text(out, f"{path} --host {name}")) if out.strip() else {}

            parse_list_json(data, where, self, locator(data, where), host_vars)
        except DynamicError as exc:
            raise self.fail(exc.loc, exc.message) from None

    def parse_yaml_text(self, text: str, where: str) -> Any:
        try:
            return parse_yaml(text, where, InventoryError)
        except InventoryError as exc:
            if any(_INI_SECTION.match(line.strip()) for line in text.splitlines()):
                exc.message = (
                    f"{exc.message} — but this looks like an INI inventory ([section] lines); "
                    "check the INI syntax, or name it with an .ini extension"
                )
            raise

    # the sink that INI and --list JSON sources feed (see orchestrator.load.ini.Sink)

    def add_group(self, name: str, loc: Loc) -> None:
        if name not in self.groups:
            self.groups[name] = _Group(name, loc)

    def add_child(self, parent: str, child: str, loc: Loc) -> None:
        if child == "all":
            raise self.fail(loc, "group 'all' cannot be the child of another group")
        self.add_group(parent, loc)
        self.add_group(child, loc)
        if parent == child or parent in self.descendants(child):
            raise self.fail(loc, f"group '{child}' is its own ancestor (through '{parent}')")
        group = self.groups[child]
        if parent not in group.parents:
            group.parents.append(parent)
            self.groups[parent].children.append(child)

    def add_host(self, group: str, name: str, loc: Loc) -> None:
        if name not in self.hosts:
            self.hosts[name] = _HostDef(name, loc)
        if group not in ("all", "ungrouped"):
            self.add_group(group, loc)
            if name not in self.groups[group].hosts:
                self.groups[group].hosts.append(name)

    def group_var(self, group: str, key: str, value: Any, loc: Loc) -> None:
        self.add_group(group, loc)
        self.set_var(self.groups[group].inv_vars, key, value, loc, loc, f"group '{group}'")

    def host_var(self, host: str, key: str, value: Any, loc: Loc) -> None:
        self.set_var(self.hosts[host].inv_vars, key, value, loc, loc, f"host '{host}'")

    def walk(self, todo: list[str], edge: str) -> set[str]:
        """Every group reached from `todo` (included) along `parents` or `children`."""
        found: set[str] = set()
        while todo:
            name = todo.pop()
            if name not in found:
                found.add(name)
                todo.extend(getattr(self.groups[name], edge))
        return found

    def descendants(self, name: str) -> set[str]:
        return self.walk(list(self.groups[name].children), "children")

    # parsing a YAML inventory

    def parse_tree(self, data: Any, where: str) -> None:
        top: Loc = (where, 1, 1)
        if data is None:
            return
        if not isinstance(data, CommentedMap):
            raise self.fail(node_loc(data, top), _not_an_inventory(data))
        shape = _other_document(data)
        if shape:
            raise self.fail(top, shape)
        for key in data:
            loc = key_loc(data, key, top)
            if not isinstance(key, str) or not key:
                raise self.fail(loc, f"unknown top-level key {plain(key)!r}: expected 'all' or a group name")
            if key in _GROUP_KEYS:
                raise self.fail(loc, f"unknown top-level key '{key}': '{key}:' belongs under 'all:' or a group")
            suggestion = did_you_mean(key, ("all", *_GROUP_KEYS)) if key != "all" else None
            value = data[key]
            if suggestion:  # "al:", "hots:" at the top are typos, not groups
                raise self.fail(loc, f"unknown top-level key '{key}' — did you mean '{suggestion}'?")
            if value is not None and not isinstance(value, CommentedMap):
                raise self.fail(
                    value_loc(data, key, loc),
                    f"unknown top-level key '{key}': a group is a mapping of hosts/vars/children, "
                    f"not {type_name(value)}",
                )
            self.parse_group(key, value, loc, parent=None if key == "all" else "all", stack=())

    def parse_group(self, name: str, node: Any, loc: Loc, parent: str | None, stack: tuple[str, ...]) -> None:
        if name in stack:
            raise self.fail(loc, f"group '{name}' is its own ancestor ({' → '.join((*stack, name))})")
        if name == "all" and parent is not None:
            raise self.fail(loc, "group 'all' cannot be the child of another group")
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = _Group(name, loc)
        if parent is not None and parent != "all" and (name == parent or name in self.ancestors_of(parent)):
            raise self.fail(loc, f"group '{name}' is its own ancestor (through '{parent}')")
        if parent is not None and parent not in group.parents:
            group.parents.append(parent)
            self.groups[parent].children.append(name)
        if node is None:
            return
        if not isinstance(node, CommentedMap):
            raise self.fail(loc, f"group '{name}' must be a mapping of hosts/vars/children, not {type_name(node)}")
        for key in node:
            kloc = key_loc(node, key, loc)
            if key not in _GROUP_KEYS:
                hint = did_you_mean(str(key), _GROUP_KEYS)
                tail = f" — did you mean '{hint}'?" if hint else ": expected hosts, vars or children"
                raise self.fail(kloc, f"unknown key {plain(key)!r} in group '{name}'{tail}")
        if "vars" in node:
            self.merge_vars(group.inv_vars, node["vars"], value_loc(node, "vars", loc), f"group '{name}'")
        if "hosts" in node:
            self.parse_hosts(group, node["hosts"], value_loc(node, "hosts", loc))
        if "children" in node:
            children = node["children"]
            cloc = value_loc(node, "children", loc)
            if children is None:
                return
            if not isinstance(children, CommentedMap):
                raise self.fail(
                    cloc,
                    f"'children' of group '{name}' must be a mapping of group names, not {type_name(children)}",
                )
            for child in children:
                chloc = key_loc(children, child, cloc)
                if not isinstance(child, str) or not child:
                    raise self.fail(chloc, f"group name must be a string, not {type_name(plain(child))}")
                self.parse_group(child, children[child], chloc, parent=name, stack=(*stack, name))

    def parse_hosts(self, group: _Group, node: Any, loc: Loc) -> None:
        if node is None:
            return
        if isinstance(node, CommentedSeq):
            raise self.fail(
                loc,
                f"'hosts' of group '{group.name}' must be a mapping (write 'name:' with a colon), not a list",
            )
        if not isinstance(node, CommentedMap):
            raise self.fail(
                loc, f"'hosts' of group '{group.name}' must be a mapping of host names, not {type_name(node)}"
            )
        for key in node:
            hloc = key_loc(node, key, loc)
            if not isinstance(key, str | int | float) or isinstance(key, bool) or str(key) == "":
                raise self.fail(hloc, f"host name must be a string, not {type_name(plain(key))}")
            value = node[key]
            if value is not None and not isinstance(value, CommentedMap):
                raise self.fail(
                    value_loc(node, key, hloc),
                    f"host '{key}' must map to its variables (or nothing), not {type_name(plain(value))}",
                )
            for name in expand_host_range(str(key), hloc):
                host = self.hosts.get(name)
                if host is None:
                    host = self.hosts[name] = _HostDef(name, hloc)
                if name not in group.hosts:
                    group.hosts.append(name)
                if value is not None:
                    self.merge_vars(host.inv_vars, value, hloc, f"host '{name}'")

    # variables

    def merge_vars(self, into: dict[str, _Var], node: Any, loc: Loc, owner: str, conflict: bool = True) -> None:
        """Check names and types, then add; the same name defined twice with two values is an error."""
        if node is None:
            return
        if not isinstance(node, CommentedMap):
            raise self.fail(loc, f"variables of {owner} must be a mapping, not {type_name(plain(node))}")
        for key in node:
            kloc = key_loc(node, key, loc)
            self.set_var(into, key, node[key], kloc, value_loc(node, key, kloc), owner, conflict)

    def set_var(
        self, into: dict[str, _Var], key: Any, raw: Any, kloc: Loc, vloc: Loc, owner: str, conflict: bool = True
    ) -> None:
        """One variable: decrypt vault values, check name and type, then add (a conflicting redefinition fails)."""
        if not isinstance(key, str) or not key:
            raise self.fail(kloc, f"variable name must be a string, not {type_name(plain(key))}")
        key = self.read_as(into, key, kloc)
        try:
            value = self.reveal(plain(raw), vloc, key)
        except ValueError as exc:
            raise self.fail(kloc, f"'{key}': {exc}") from None
        problem: InventoryError | None = None
        if check_name(key, kloc, self.known):
            try:  # a wrong value matters only to a host that runs a node with it: judged per host
                check_value(key, value, vloc)
            except InventoryError as exc:
                problem = exc
        if key in _INERT_VARIABLES:
            self.warnings.append(f"{kloc[0]}:{kloc[1]}:{kloc[2]}: '{key}' has no effect: {_INERT_VARIABLES[key]}")
        previous = into.get(key)
        if conflict and previous is not None and previous.value != value:
            first = f"{previous.loc[0]}:{previous.loc[1]}"
            raise self.fail(kloc, f"{owner} is defined again with a different value for '{key}' (first at {first})")
        into[key] = _Var(value, kloc, problem)

    def read_as(self, into: dict[str, _Var], key: str, kloc: Loc) -> str:
        """A deprecated setting's name → its new name, with a warning; the old and the new name in the same
        place (one host, one group, one vars file tree) are refused as given twice."""
        new, warning = deprecated_setting(key, kloc)
        if warning is not None:
            self.warnings.append(warning)
        if new in DEPRECATED_SETTINGS.values():
            spelled = self.spellings.setdefault((id(into), new), key)
            if spelled != key:
                raise self.fail(kloc, f"'{new}' is given twice (as '{spelled}' and '{key}')")
        return new

    def reveal(self, value: Any, loc: Loc, key: str) -> Any:
        """Vault-encrypted values (`!vault`, or `{"__ansible_vault": …}` in JSON) decrypted and made secret."""
        if isinstance(value, VaultText):
            text = self.decrypt(str(value), loc, f"'{key}'")
            secret_values.register(text)
            return text
        if isinstance(value, dict):
            if set(value) == {"__ansible_vault"} and isinstance(value["__ansible_vault"], str):
                return self.reveal(VaultText(value["__ansible_vault"]), loc, key)
            return {k: self.reveal(v, loc, key) for k, v in value.items()}
        if isinstance(value, list):
            return [self.reveal(v, loc, key) for v in value]
        return value

    def read_var_dirs(self) -> None:
        base = self.path if self.path.is_dir() else self.path.parent
        scopes: tuple[tuple[str, Mapping[str, _Group | _HostDef]], ...] = (
            ("group_vars", self.groups),
            ("host_vars", self.hosts),
        )
        for kind, names in scopes:
            directory = base / kind
            if not directory.is_dir():
                continue
            files_of, unread = var_files(directory, names)
            for file, instead in unread:
                self.warnings.append(f"{file}: not read, as Ansible does not read it: {instead} is read instead "
                                     "(Ansible reads the first of NAME/, NAME, NAME.yml, NAME.yaml, NAME.json)")
            for entry in sorted(directory.iterdir()):
                stem = entry.name if entry.name in names or entry.suffix not in VARS_EXTENSIONS else entry.stem
                if entry.name.startswith(".") or stem in names:
                    continue
                hint = did_you_mean(stem, names)
                if hint:
                    raise InventoryError(str(entry), 0, 0, f"{kind} for unknown {kind[:-5]} '{stem}' — did you mean "
                                                           f"'{hint}'?")  # fmt: skip
                # otherwise Ansible ignores vars of groups/hosts that are not in the inventory
            for stem, files in sorted(files_of.items()):
                target = names[stem]
                for file in files:
                    text, where = self.read_text(file)
                    data = parse_yaml(text, where, InventoryError)
                    if data is None:
                        continue
                    self.merge_vars(target.file_vars, data, (where, 1, 1), f"{kind[:-5]} '{stem}'", conflict=False)

    # resolution

    def depths(self) -> dict[str, int]:
        memo: dict[str, int] = {"all": 0}

        def depth(name: str) -> int:
            if name not in memo:
                parents = self.groups[name].parents or ["all"]
                memo[name] = max(depth(p) for p in parents) + 1
            return memo[name]

        for name in self.groups:
            depth(name)
        return memo

    def ancestors_of(self, group: str) -> set[str]:
        return self.walk(list(self.groups[group].parents), "parents")

    def ancestors(self, host: str) -> set[str]:
        return self.walk([g.name for g in self.groups.values() if host in g.hosts], "parents") | {"all"}

    def priority(self, group: _Group) -> int:
        for scope in (group.file_vars, group.inv_vars):
            var = scope.get("ansible_group_priority")
            if var is not None:
                return int(var.value)
        return 1

    def resolve(self, extra: Mapping[str, _Var]) -> Inventory:
        depth = self.depths()
        hosts: list[Host] = []
        membership: dict[str, list[str]] = {}
        resolved: dict[str, tuple[tuple[str, ...], dict[str, _Var]]] = {}
        for name, hdef in self.hosts.items():
            groups = self.ancestors(name)
            ordered = sorted(
                (self.groups[g] for g in groups if g != "all"),
                key=lambda g: (depth[g.name], self.priority(g), g.name),
            )
            merged: dict[str, _Var] = dict(self.groups["all"].inv_vars)
            for g in ordered:
                merged.update(g.inv_vars)
            merged.update(self.groups["all"].file_vars)
            for g in ordered:
                merged.update(g.file_vars)
            merged.update(hdef.inv_vars)
            merged.update(hdef.file_vars)
            merged.update(extra)
            by_depth = sorted(ordered, key=lambda g: (depth[g.name], g.name))
            group_names = tuple(g.name for g in by_depth) or ("ungrouped",)
            for group_name in group_names:
                membership.setdefault(group_name, []).append(name)
            resolved[name] = (group_names, merged)
        skipped = {name: why for name, (group_names, merged) in resolved.items()
                   if (why := self.skip_reason(name, group_names, merged)) is not None}  # fmt: skip
        rendered = self.render(resolved, membership, skip=frozenset(skipped))
        for name, (group_names, _merged) in resolved.items():
            if name in skipped:
                continue
            for var in rendered[name].values():
                if var.problem is not None:
                    raise var.problem
            hosts.append(self.build_host(self.hosts[name], group_names, rendered[name]))
        self.check_fleet(hosts)
        return Inventory(
            source=self.where,
            hosts=tuple(h for h in hosts if h.role is not Role.HELPER),
            helpers=tuple(h for h in hosts if h.role is Role.HELPER),
            groups={g: tuple(members) for g, members in sorted(membership.items())},
            warnings=tuple(self.warnings),
            pattern_groups=self.pattern_groups(membership),
            skipped=MappingProxyType(skipped),
        )

    def pattern_groups(self, membership: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
        """Every group's hosts in Ansible's order, for host patterns (orchestrator.patterns.host_patterns):
        `all`, `ungrouped`, then the groups as first seen; a group's own hosts, then its descendants'
        breadth first (ansible-core 2.19 lib/ansible/inventory/group.py Group._get_hosts)."""
        ungrouped = [h for h in self.hosts if membership.get("ungrouped") and h in membership["ungrouped"]]
        top = [g for g in self.groups if g != "all" and ("all" in self.groups[g].parents or not self.groups[g].parents)]

        def walk(name: str) -> tuple[str, ...]:
            hosts: list[str] = list(ungrouped) if name == "all" else list(self.groups[name].hosts)
            level = top if name == "all" else list(self.groups[name].children)
            seen = {name}
            while level:
                nxt: list[str] = []
                for child in level:
                    if child in seen:
                        continue
                    seen.add(child)
                    hosts.extend(self.groups[child].hosts)
                    nxt.extend(self.groups[child].children)
                level = nxt
            return tuple(dict.fromkeys(hosts))

        out = {"all": walk("all"), "ungrouped": tuple(ungrouped)}
        out.update({g: walk(g) for g in self.groups if g not in ("all", "ungrouped")})
        return out

    def skip_reason(self, name: str, groups: tuple[str, ...], merged: Mapping[str, _Var]) -> str | None:
        """Why a host is listed and left alone (it runs no node the tool could reach), or None.

        Ansible inventories often hold a control host (`localhost ansible_connection=local`) and hosts
        of other services; they are no reason to refuse the inventory. A host in a role's group, or
        with `cardano_role`, runs a node: a non-SSH connection there is an error, not a skip. A group
        named like a role's group (`relay`) is a typo, refused with a suggestion, never a silent skip.
        """
        role_var = merged.get("cardano_role")
        connection = merged.get("ansible_connection")
        has_role = role_var is not None or any(g in _ROLE_GROUPS for g in groups)
        if not has_role:
            for group in groups:
                hint = did_you_mean(group, _ROLE_GROUPS)
                if hint:
                    loc = self.groups[group].loc
                    raise self.fail(loc, f"host '{name}' is in group '{group}', not a role's group — did you mean "
                                         f"'{hint}'? (a host in none of {', '.join(_ROLE_GROUPS)} and without "
                                         "cardano_role runs no node and is skipped)")  # fmt: skip
        if connection is not None and isinstance(connection.value, str) and not has_template(connection.value) \
                and connection.value not in _SSH_CONNECTIONS:
            if has_role:
                raise self.fail(connection.loc, f"host '{name}' runs a node (its role says so) but has "
                                                f"ansible_connection: {connection.value}; cardano-fleet only "
                                                "connects over SSH")  # fmt: skip
            return f"ansible_connection {connection.value}: not reached over SSH (a control host)"
        if not has_role:
            return (f"runs no cardano node: in none of the groups {', '.join(_ROLE_GROUPS)} and no cardano_role "
                    "(cardano_role: helper for a load balancer that runs drain/return hooks)")
        return None

    def render(
        self, resolved: Mapping[str, tuple[tuple[str, ...], dict[str, _Var]]], membership: Mapping[str, list[str]],
        skip: frozenset[str] = frozenset(),
    ) -> dict[str, dict[str, _Var]]:
        """Every host's variables with `{{ … }}` rendered in the host's scope (see orchestrator.load.templating)."""
        all_groups = {"all": list(self.hosts), **{g: list(m) for g, m in membership.items()}}
        magic: dict[str, dict[str, Any]] = {}
        for name, (group_names, _merged) in resolved.items():
            source = self.hosts[name].loc[0].removesuffix(" (decrypted)").removesuffix(" --list")
            magic[name] = {
                "inventory_hostname": name,
                "inventory_hostname_short": name.split(".", 1)[0],
                "group_names": sorted(g for g in group_names if g != "ungrouped"),
                "groups": all_groups,
                "inventory_file": source,
                "inventory_dir": os.path.dirname(source),
            }
        raw = {name: {k: var.value for k, var in merged.items()} for name, (_g, merged) in resolved.items()}
        renderer = Renderer(raw, magic, literal=frozenset(_PASSWORD_VARIABLES + _LOGIN_PASSWORD_VARIABLES))
        out: dict[str, dict[str, _Var]] = {}
        for name, (_groups, merged) in resolved.items():
            if name in skip:  # left alone: its templates (often facts only Ansible gathers) are never rendered
                continue
            host_vars: dict[str, _Var] = {}
            for key, var in merged.items():
                if not has_template(var.value) or key in renderer.literal:
                    host_vars[key] = var
                    continue
                try:
                    value = renderer.value(name, key)
                    if isinstance(var.value, str) and "lookup" in var.value:  # read from the environment:
                        secret_values.register(value)  # secret wherever it goes, like a vault value
                except TemplateRefused as exc:
                    where = merged[exc.name].loc if exc.host == name and exc.name in merged else var.loc
                    raise self.fail(where, f"host '{name}': {exc.message}") from None
                if isinstance(value, str) and key in _NO_TEMPLATE_LEFT and "{{" in value:
                    raise self.fail(var.loc, f"'{key}' of host '{name}' still holds '{{{{' after rendering: {value!r}")
                check_variable(key, value, var.loc, var.loc, self.known)
                host_vars[key] = _Var(value, var.loc)
            for key in _NO_TEMPLATE_LEFT:
                left = host_vars.get(key)
                if left is not None and isinstance(left.value, str) and ("{{" in left.value or "{%" in left.value):
                    raise self.fail(
                        left.loc, f"'{key}' of host '{name}' holds an unrendered template (marked !unsafe?): {left.value!r}"
                    )
            out[name] = host_vars
        return out

    def build_host(self, hdef: _HostDef, groups: tuple[str, ...], v: dict[str, _Var]) -> Host:
        name = hdef.name

        def get(*names: str) -> _Var | None:
            for n in names:
                if n in v:
                    return v[n]
            return None

        for secret in _LOGIN_PASSWORD_VARIABLES:
            if secret in v:
                raise self.fail(v[secret].loc, f"'{secret}': password logins are not supported; use an SSH key")
        role = self.host_role(hdef, groups, get("cardano_role"))
        standby_for = self.standby_for(hdef, groups, get("cardano_role"), get("standby_for"))
        mode = get("consensus_mode")
        # Written for this host or a group it is in: refused at that line. From -e (every host), each
        # block producer the run reaches is refused by set_consensus_mode instead (--limit relays works).
        if role is Role.BLOCK_PRODUCER and mode is not None and mode.value == ConsensusMode.GENESIS.value \
                and mode.loc[0] != "-e":  # fmt: skip
            raise self.fail(mode.loc, f"host '{name}': {PRODUCER_REFUSAL}")
        layout_var = get("layout")
        if role is Role.HELPER and layout_var is None:  # no node there: paths are never used
            layout_var = _Var("iog", hdef.loc)
        if role is Role.HELPER and get("cardano_network") is None:
            v = {**v, "cardano_network": _Var("mainnet", hdef.loc)}
        if layout_var is None:
            raise self.fail(hdef.loc, f"host '{name}' has no 'layout' (guild or iog); set it in group_vars/all.yml")
        network_var = get("cardano_network")
        if network_var is None:
            raise self.fail(
                hdef.loc,
                f"host '{name}' has no 'cardano_network' ({', '.join(NETWORKS)}); set it in group_vars/all.yml",
            )
        layout = _layout_for(LAYOUTS[layout_var.value], {k: v[k].value for k in PATH_VARIABLES if k in v})
        # Both spellings set: Ansible's ssh plugin takes the ansible_ssh_* one (its option's last `vars`
        # entry wins; constants.MAGIC_VARIABLE_MAPPING lists it first) — the oracle test checks it.
        address = get("ansible_ssh_host", "ansible_host")
        port = get("ansible_ssh_port", "ansible_port")
        user = get("ansible_ssh_user", "ansible_user")
        key_file = get("ansible_ssh_private_key_file", "ansible_private_key_file")
        become = get("ansible_become")
        proxy_jump, known_hosts = self.ssh_args(get("ansible_ssh_common_args"), get("ansible_ssh_extra_args"))
        if "proxy_jump" in v:
            proxy_jump = v["proxy_jump"].value or None
        if "known_hosts_file" in v:
            known_hosts = v["known_hosts_file"].value or None
        if proxy_jump is not None and proxy_jump in (name, str(address.value) if address else name):
            jump_var = get("proxy_jump", "ansible_ssh_common_args", "ansible_ssh_extra_args")
            raise self.fail(jump_var.loc if jump_var else hdef.loc, f"host '{name}' cannot jump through itself")
        node_port = get("node_port")
        node_address = get("node_address")
        return Host(
            name=name,
            role=role,
            address=str(address.value) if address else name,
            layout=layout,
            port=int(port.value) if port else (self.config.remote_port or 22),
            user=str(user.value) if user else (self.config.remote_user or "root"),
            key_file=os.path.expanduser(str(key_file.value)) if key_file else self.config.private_key_file,
            known_hosts_file=os.path.expanduser(str(known_hosts)) if known_hosts else None,
            proxy_jump=str(proxy_jump) if proxy_jump else None,
            become=to_bool(become.value) if become else False,
            become_password_env=self.password_env(get),
            node_address=str(node_address.value) if node_address else "",
            node_port=int(node_port.value) if node_port else 0,
            network=str(network_var.value),
            groups=groups,
            vars={k: var.value for k, var in sorted(v.items())},
            standby_for=standby_for,
        )

    def host_role(self, hdef: _HostDef, groups: tuple[str, ...], role_var: _Var | None) -> Role:
        by_group = [g for g in _ROLE_GROUPS if g in groups]
        if len(by_group) > 1:
            raise self.fail(
                hdef.loc,
                f"host '{hdef.name}' is in both '{by_group[0]}' and '{by_group[1]}'; a host has exactly one role",
            )
        group_role = _ROLE_GROUPS[by_group[0]] if by_group else None
        var_role = _ROLE_NAMES[role_var.value] if role_var else None
        standby_group = by_group[0] == STANDBY_GROUP if by_group else None
        standby_var = role_var.value == STANDBY_ROLE if role_var else None
        if group_role and var_role and (group_role is not var_role or standby_group is not standby_var):
            assert role_var is not None
            raise self.fail(
                role_var.loc,
                f"host '{hdef.name}' is in group '{by_group[0]}' but has cardano_role: {role_var.value}",
            )
        role = group_role or var_role
        if role is None:
            raise self.fail(
                hdef.loc,
                f"host '{hdef.name}' has no role: put it in group 'relays', 'block_producers' or 'passive_nodes', "
                "or set cardano_role",
            )
        return role

    def standby_for(self, hdef: _HostDef, groups: tuple[str, ...], role_var: _Var | None,
                    tie: _Var | None) -> str | None:  # fmt: skip
        """The producer a standby producer stands by (its `standby_for`), None for any other host. A
        standby without it, and `standby_for` on a host that is no standby, are refused where written;
        the producer it names is checked against the whole inventory (check_fleet)."""
        standby = STANDBY_GROUP in groups or (role_var is not None and role_var.value == STANDBY_ROLE)
        if not standby:
            if tie is not None:
                raise self.fail(tie.loc, f"host '{hdef.name}' has standby_for but is no standby producer: put it in "
                                         f"group '{STANDBY_GROUP}' or set cardano_role: {STANDBY_ROLE}")  # fmt: skip
            return None
        if tie is None:
            raise self.fail(hdef.loc, f"host '{hdef.name}' is a standby producer but has no 'standby_for': name the "
                                      "block producer it stands by (standby_for: bp1)")  # fmt: skip
        self.standby_locs[hdef.name] = tie.loc
        return str(tie.value)

    def password_env(self, get: Any) -> str | None:
        env: _Var | None = get("become_password_env")
        literal: _Var | None = get(*_PASSWORD_VARIABLES)
        if literal is not None:
            match = _ENV_LOOKUP.match(str(literal.value)) if isinstance(literal.value, str) else None
            if match is None:
                # never echo the value: it is a password
                raise self.fail(
                    literal.loc,
                    "a literal sudo password is not accepted in inventory files; put it in an environment "
                    "variable and set 'become_password_env: THAT_VARIABLE'",
                )
            if env is None:  # an explicit become_password_env wins over the lookup form
                return match.group(1)
        return str(env.value) if env else None

    def ssh_args(self, *args: _Var | None) -> tuple[str | None, str | None]:
        """ProxyJump and UserKnownHostsFile from ansible_ssh_{common,extra}_args; others refused or noted."""
        jump: str | None = None
        known: str | None = None
        for var in args:
            if var is None:
                continue
            try:
                words = shlex.split(str(var.value))
            except ValueError as exc:
                raise self.fail(var.loc, f"cannot parse SSH arguments: {exc}") from None
            i = 0
            while i < len(words):
                word = words[i]
                if word in ("-o", "-J") and i + 1 < len(words):
                    option, i = (word, words[i + 1]), i + 2
                elif word.startswith(("-o", "-J")) and len(word) > 2:
                    option, i = (word[:2], word[2:]), i + 1
                else:
                    self.warnings.append(f"{var.loc[0]}:{var.loc[1]}:{var.loc[2]}: SSH argument '{word}' ignored")
                    i += 1
                    continue
                flag, text = option
                if flag == "-J":
                    key, value = "proxyjump", text
                else:
                    parts = re.split(r"\s*=\s*|\s+", text.strip(), maxsplit=1)
                    key, value = parts[0].lower(), (parts[1].strip() if len(parts) > 1 else "")
                if key == "proxyjump":
                    if "," in value:
                        raise self.fail(var.loc, "only one ProxyJump hop is supported")
                    jump = value
                elif key == "userknownhostsfile":
                    known = value
                elif key == "stricthostkeychecking" and value.lower() not in ("yes", "true"):
                    raise self.fail(
                        var.loc,
                        "host keys are always checked strictly; remove StrictHostKeyChecking "
                        "and add the key to known_hosts_file",
                    )
                elif key == "proxycommand":
                    jump = _jump_from_proxy_command(value)
                    if jump is None:
                        raise self.fail(
                            var.loc,
                            "only 'ssh -W %h:%p [user@]host' ProxyCommands are supported; use ProxyJump",
                        )
                else:
                    self.warnings.append(f"{var.loc[0]}:{var.loc[1]}:{var.loc[2]}: SSH option '{text}' ignored")
        return jump, known

    def check_fleet(self, hosts: Sequence[Host]) -> None:
        self.check_standbys(hosts)
        if any(h.role is Role.BLOCK_PRODUCER for h in hosts) and not any(h.role is Role.RELAY for h in hosts):
            bp = next(h for h in hosts if h.role is Role.BLOCK_PRODUCER)
            raise self.fail(
                self.hosts[bp.name].loc,
                f"block producer '{bp.name}' has no relay in the inventory; a block producer only talks to its relays",
            )

    def check_standbys(self, hosts: Sequence[Host]) -> None:
        """Each standby producer against the producer it names, at its `standby_for`'s file:line."""
        by_name = {h.name: h for h in hosts}
        taken: dict[str, str] = {}
        for h in hosts:
            if h.standby_for is None:
                continue
            why = _standby_problem(h, by_name, taken)
            if why is not None:
                raise self.fail(self.standby_locs.get(h.name, self.hosts[h.name].loc), why)
            taken[h.standby_for] = h.name


def _standby_problem(standby: Host, hosts: Mapping[str, Host], taken: Mapping[str, str]) -> str | None:
    """Why `standby`'s `standby_for` cannot stand: the producer must be in the inventory, an active
    block producer (not a relay, a passive node or another standby) on the same network (the standby
    then has the same relays: a producer's local roots are its network's relays, and every relay lists
    both), with no other standby."""
    target = standby.standby_for
    assert target is not None
    producer = hosts.get(target)
    if target == standby.name:
        return f"standby producer '{standby.name}' cannot stand by itself"
    if producer is None:
        hint = did_you_mean(target, [h for h, x in hosts.items() if x.is_producer and not x.is_standby])
        tail = f" — did you mean '{hint}'?" if hint else ""
        return f"standby producer '{standby.name}': standby_for names '{target}', which is not in the inventory{tail}"
    if not producer.is_producer:
        return (f"standby producer '{standby.name}': standby_for names '{target}', a {producer.role.value}, not a "
                "block producer")  # fmt: skip
    if producer.is_standby:
        return (f"standby producer '{standby.name}': standby_for names '{target}', itself a standby producer; name "
                f"the active producer ('{producer.standby_for}'?)")  # fmt: skip
    if producer.network != standby.network:
        return (f"standby producer '{standby.name}' is on {standby.network} but its producer '{target}' is on "
                f"{producer.network}: a standby must be on its producer's network, with the same relays")  # fmt: skip
    other = taken.get(target)
    if other is not None:
        return (f"standby producer '{standby.name}': '{target}' already has the standby '{other}' (one standby per "
                "producer: the handover moves forging between exactly two hosts)")  # fmt: skip
    return None


def _layout_for(base: Layout, overrides: dict[str, Any]) -> Layout:
    """The layout with the host's overrides; `root` moves every default path under it (like CNODE_HOME)."""
    root = overrides.get("root")
    if isinstance(root, str) and root != base.root:
        old = base.root.rstrip("/") + "/"
        for name in PATH_VARIABLES:
            value = getattr(base, name)
            if name not in overrides and isinstance(value, str) and value.startswith(old):
                overrides[name] = root.rstrip("/") + "/" + value[len(old) :]
    return base.with_overrides(overrides)


def _jump_from_proxy_command(command: str) -> str | None:
    """`ssh -W %h:%p [-p PORT] [user@]host` is what ProxyJump replaced; anything else we cannot honour."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words or words[0] not in ("ssh", "/usr/bin/ssh") or "-W" not in words:
        return None
    port = None
    target = None
    i = 1
    while i < len(words):
        w = words[i]
        if w in ("-W", "-p", "-l", "-i"):
            if w == "-p" and i + 1 < len(words):
                port = words[i + 1]
            i += 2
            continue
        if w.startswith("-"):
            i += 1
            continue
        if target is not None:
            return None
        target = w
        i += 1
    if target is None:
        return None
    return f"{target}:{port}" if port else target


def expand_host_range(pattern: str, loc: Loc) -> list[str]:
    """Ansible host ranges: `relay[01:12]`, `r[a:f]`, `r[0:10:2]` (inclusive; zero padding kept)."""
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    start, end, step_text = match.group(1), match.group(2), match.group(3)
    step = int(step_text) if step_text else 1
    head, tail = pattern[: match.start()], pattern[match.end() :]
    if step < 1:
        raise InventoryError(*loc, f"host range '{pattern}': step must be at least 1")
    if start.isdigit() and end.isdigit():
        if int(end) < int(start):
            raise InventoryError(*loc, f"host range '{pattern}': end is before start")
        width = len(start) if start.startswith("0") and len(start) > 1 else 0
        values = [str(n).zfill(width) for n in range(int(start), int(end) + 1, step)]
    elif len(start) == 1 and len(end) == 1 and start.isalpha() and end.isalpha():
        if ord(end) < ord(start):
            raise InventoryError(*loc, f"host range '{pattern}': end is before start")
        values = [chr(c) for c in range(ord(start), ord(end) + 1, step)]
    else:
        raise InventoryError(*loc, f"host range '{pattern}': expected [NUM:NUM] or [a:z]")
    if len(values) > _MAX_RANGE:
        raise InventoryError(*loc, f"host range '{pattern}' expands to more than {_MAX_RANGE} hosts")
    out: list[str] = []
    for value in values:
        out.extend(expand_host_range(head + value + tail, loc))
    return out


# --- type checks of known variables ---------------------------------------------------------------


def to_bool(value: Any) -> bool:
    """Ansible's booleans: true/false and the yes/no/on/off/1/0 strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return str(value).strip().lower() in ("yes", "true", "on", "1", "y")


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or (
        isinstance(value, str)
        and value.strip().lower() in ("yes", "no", "true", "false", "on", "off", "y", "n", "1", "0")
    )


def _port(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= 65535 else None


def check_variable(name: str, value: Any, kloc: Loc, vloc: Loc, known: frozenset[str] = KNOWN_VARIABLES) -> None:
    """Refuse typos of known names and wrong values of known variables, at the position they are written."""
    if check_name(name, kloc, known):
        check_value(name, value, vloc)


def check_name(name: str, kloc: Loc, known: frozenset[str]) -> bool:
    """Whether the tool reads `name`; a name close to one it reads is a typo, refused with a suggestion.
    Any other name is the operator's own (Ansible inventories carry many the tool never reads)."""
    if name in known:
        return True
    hint = did_you_mean(name, known)
    if hint:
        raise InventoryError(kloc[0], kloc[1], kloc[2], f"unknown variable '{name}' — did you mean '{hint}'?")
    return False


def check_value(name: str, value: Any, vloc: Loc) -> None:
    """A known variable's value, judged for its kind; raises InventoryError at `vloc` (never echoing a secret)."""

    def fail(message: str, at: Loc = vloc) -> InventoryError:
        return InventoryError(at[0], at[1], at[2], message)

    if name in _PASSWORD_VARIABLES or name in _LOGIN_PASSWORD_VARIABLES:
        return  # judged after resolution, where the env-lookup form is recognised; never echo it
    if has_template(value):
        return  # checked again once rendered in the host's scope
    try:
        if name not in KNOWN_VARIABLES:
            why = check_setting(name, value)  # a bundled role's setting: its action's own parser judges it
            if why is not None:
                raise fail(why)
            return
        _check_value(name, value, vloc)
    except InventoryError as exc:  # never echo a vault-encrypted value
        if secret_values.redact(exc.message) != exc.message:
            raise fail(f"{secret_values.redact(exc.message)} (the value is vault-encrypted)") from None
        raise


def _check_value(name: str, value: Any, vloc: Loc) -> None:
    def fail(message: str, at: Loc = vloc) -> InventoryError:
        return InventoryError(at[0], at[1], at[2], message)

    if name in ("ansible_port", "ansible_ssh_port", "node_port"):
        if _port(value) is None:
            raise fail(f"'{name}' must be a port number 1..65535, not {value!r}")
    elif name == "leader_schedule":
        why = check_schedule_setting(plain(value))
        if why is not None:
            raise fail(why)
    elif name == "cardano_network":
        if not isinstance(value, str) or value not in NETWORKS:
            hint = did_you_mean(str(value), NETWORKS) if isinstance(value, str) else None
            tail = f" — did you mean '{hint}'?" if hint else f"; expected one of {', '.join(NETWORKS)}"
            raise fail(f"unknown network {value!r}{tail}")
    elif name == "ledger_conversion":  # actions/convert_snapshot.py: where the catalogue allows a conversion
        modes = [m.value for m in LedgerConversion]
        if not isinstance(value, str) or value not in modes:
            hint = did_you_mean(str(value), modes) if isinstance(value, str) else None
            tail = f" — did you mean '{hint}'?" if hint else f"; expected one of {', '.join(modes)}"
            raise fail(f"'ledger_conversion': unknown value {value!r}{tail}")
    elif name == "standby_for":
        if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
            raise fail(f"'standby_for' must name the block producer this standby stands by (a host name), "
                       f"not {value!r}")  # fmt: skip
    elif name in ("db_seed", "db_seed_mib_per_second"):
        why = (check_db_seed if name == "db_seed" else check_mib_per_second)(plain(value))
        if why is not None:
            raise fail(why)
    elif name == "cardano_role":
        roles = list(_ROLE_NAMES)
        if not isinstance(value, str) or value not in roles:
            hint = did_you_mean(str(value), roles) if isinstance(value, str) else None
            tail = f" — did you mean '{hint}'?" if hint else f"; expected one of {', '.join(roles)}"
            raise fail(f"unknown role {value!r}{tail}")
    elif name == "layout":
        if not isinstance(value, str) or value not in LAYOUTS:
            hint = did_you_mean(str(value), LAYOUTS) if isinstance(value, str) else None
            tail = f" — did you mean '{hint}'?" if hint else f"; expected one of {', '.join(LAYOUTS)}"
            raise fail(f"unknown layout {value!r}{tail}")
    elif name in ("ansible_become",):
        if not _is_bool(value):
            raise fail(f"'{name}' must be a boolean, not {type_name(value)}")
    elif name == "ansible_become_user":
        if value != "root":
            raise fail(
                f"'ansible_become_user: {value}' is refused: every step cardano-fleet runs with become needs root "
                "(installing the node binary under /usr/local, writing root-owned config and topology files, "
                "systemctl stop/start of the node's service); remove ansible_become_user and let sudo run as root — "
                "file owners and modes are preserved, so the node's files stay the cardano user's"
            )
    elif name == "ansible_become_method":
        if value != "sudo":
            raise fail(f"'{name}': only sudo is supported, not {value!r}")
    elif name == "ansible_connection":  # another plugin (local, docker, ...) skips the host: Loader.skip_reason
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.]+", value):
            raise fail(f"'{name}' must be a connection plugin's name (ssh), not {value!r}")
    elif name == "ansible_group_priority":
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"'{name}' must be an integer, not {type_name(value)}")
    elif name == "become_password_env":
        if not isinstance(value, str) or not _ENV_NAME.match(value):
            raise fail(f"'{name}' must be the name of an environment variable (like SUDO_PASSWORD)")
    elif name == "node_release":
        _check_release(value, vloc)
    elif name == "genesis_dir":
        raise fail(
            "'genesis_dir' cannot be set: cardano-node finds its genesis files where config.json's *GenesisFile "
            "keys point (relative to config.json's directory), and cardano-fleet follows config.json; "
            "set config_path instead"
        )
    elif name in PATH_VARIABLES:
        if not isinstance(value, str) or not value:
            raise fail(f"'{name}' must be a non-empty string, not {type_name(value)}")
        if (name.endswith(("_path", "_dir")) or name == "root") and not value.startswith("/"):
            raise fail(f"'{name}' must be an absolute path, not {value!r}")
        why = _kind_problem(_USER_KIND if name == "run_as" else _UNIT_KIND if name == "service_name" else _PATH_KIND,
                            value)  # fmt: skip
        if why:
            raise fail(f"'{name}' {why}")
    elif name in ("proxy_jump", "known_hosts_file", "node_address"):
        if value is not None and not isinstance(value, str):
            raise fail(f"'{name}' must be a string, not {type_name(value)}")
        if name == "proxy_jump" and isinstance(value, str) and "," in value:
            raise fail("only one ProxyJump hop is supported")
        why = _kind_problem(_PATH_KIND if name == "known_hosts_file" else _JUMP_KIND if name == "proxy_jump"
                            else _ADDRESS_KIND, value) if value else None  # fmt: skip
        if why:
            raise fail(f"'{name}' {why}")
    elif name in ("ansible_host", "ansible_ssh_host", "ansible_user", "ansible_ssh_user",
                  "ansible_ssh_private_key_file", "ansible_private_key_file"):
        if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
            raise fail(f"'{name}' must be a non-empty string, not {type_name(value)}")
        kind = (_ADDRESS_KIND if name.endswith("_host") else _USER_KIND if name.endswith("_user") else _PATH_KIND)
        why = _kind_problem(kind, str(value))
        if why:
            raise fail(f"'{name}' {why}")
    elif not isinstance(value, str) or not value:
        raise fail(f"'{name}' must be a non-empty string, not {type_name(value)}")


# Kinds of values that reach a command line or a path (issue 29): (what, allowed characters).
# Addresses: DNS names, IPv4, IPv6 (with brackets or a %zone). Users: POSIX portable names (useradd's
# rule, plus a trailing $ for machine accounts). Units: systemd's unit-name characters.
_ADDRESS_KIND = ("an address (a host name or IP)", re.compile(r"[A-Za-z0-9_.:%\[\]-]+\Z"))
_JUMP_KIND = ("a ProxyJump hop ([user@]host[:port])", re.compile(r"[A-Za-z0-9_.:%@\[\]-]+\Z"))
_USER_KIND = ("a user name", re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\$?\Z"))
_UNIT_KIND = ("a systemd unit name", re.compile(r"[A-Za-z0-9:_.@\\-]+\Z"))
_PATH_KIND = ("a path", re.compile(r"[^\x00-\x1f\x7f]+\Z"))


def _kind_problem(kind: tuple[str, re.Pattern[str]], value: str) -> str | None:
    """Why `value` is not of `kind` (refused rather than quoted: it would reach ssh, sh or a path), or None."""
    what, allowed = kind
    if value.startswith("-"):
        return f"must be {what}, not {value!r}: a leading '-' would be read as an option"
    if not allowed.match(value):
        return f"must be {what}, not {value!r}: spaces, control or shell characters are refused"
    if kind is _PATH_KIND and ".." in value.split("/"):
        return f"must be a path without '..' components, not {value!r} (paths are confined to what they name)"
    return None


def _check_release(value: Any, loc: Loc) -> None:
    try:
        ReleasePin.from_mapping(value)
    except ReleasePinError as exc:
        raise InventoryError(loc[0], loc[1], loc[2], str(exc)) from None


# --- public entry points --------------------------------------------------------------------------


def _not_an_inventory(data: Any) -> str:
    if isinstance(data, list) and data and isinstance(data[0], Mapping) and {"hosts", "roles", "tasks"} & set(data[0]):
        return "this looks like an Ansible playbook (a list of plays), not an inventory"
    return f"an inventory is a mapping with 'all:' at the top, not {type_name(data)}"


def _other_document(data: Mapping[str, Any]) -> str | None:
    """Name a cardano-node file or a cardano-fleet playbook given where an inventory was expected."""
    keys = set(data)
    if keys & {"localRoots", "publicRoots", "Producers", "bootstrapPeers"}:
        return "this looks like a cardano-node topology.json, not an inventory"
    if keys & {"Protocol", "ByronGenesisFile", "ShelleyGenesisFile", "RequiresNetworkMagic"}:
        return "this looks like a cardano-node config.json, not an inventory"
    if "stages" in keys or ("roles" in keys and "hosts" in keys):
        return "this looks like a playbook, not an inventory"
    return None


def known_names(extra: Iterable[str] = ()) -> frozenset[str]:
    """Every name the tool reads: its own and Ansible's variables, the bundled roles' settings, `extra`."""
    return KNOWN_VARIABLES | frozenset(role_settings()) | frozenset(extra)


def load_inventory(
    path: str | Path,
    extra_vars: Mapping[str, Any] | None = None,
    *,
    known_vars: Iterable[str] = (),
    vault: VaultSecrets | None = None,
    config: AnsibleConfig | None = None,
) -> Inventory:
    """Read, validate and resolve an inventory (a file in any format Ansible reads, a script, a directory).

    `known_vars` adds names (role defaults) to typo checks; `vault` holds the vault passwords; `config` is
    ansible.cfg's connection defaults (default: the file Ansible would read, see load/ansible_cfg.py).
    Raises InventoryError naming file:line:column.
    """
    source = Path(path)
    if config is None:
        try:
            config = read_config(find_config())
        except ValueError as exc:
            raise InventoryError(str(exc).split(": ", 1)[0], 0, 0, str(exc).split(": ", 1)[1]) from None
    if vault is None:
        vault = VaultSecrets(prompt_if_tty=False)
    if not vault.given and config.vault_password_file:
        try:  # Ansible's order: --vault-* flags, then ANSIBLE_VAULT_PASSWORD_FILE, then ansible.cfg
            vault.given.extend(secrets_from_options([config.vault_password_file], [], environ={}).given)
        except VaultError as exc:
            raise InventoryError(config.path or "ansible.cfg", 0, 0, f"vault_password_file: {exc}") from None
    loader = _Loader(source, known_names(known_vars), vault)
    loader.config = config
    loader.warnings.extend(config.warnings)
    loader.read_source(source)
    loader.read_var_dirs()
    extra: dict[str, _Var] = {}
    twice = given_twice(extra_vars or {})
    if twice is not None:
        raise InventoryError(EXTRA_VARS_SOURCE, 0, 0, twice)
    for key, value in (extra_vars or {}).items():
        loc: Loc = (EXTRA_VARS_SOURCE, 0, 0)
        try:
            value = plain(value)
        except ValueError as exc:
            raise InventoryError(*loc, f"'{key}': {exc}") from None
        name, warning = deprecated_setting(str(key), loc)
        if warning is not None:
            loader.warnings.append(warning)
        check_variable(name, value, loc, loc, loader.known)
        extra[name] = _Var(value, loc)
    inventory = loader.resolve(extra)
    return inventory


def parse_extra_vars(values: Sequence[str]) -> dict[str, Any]:
    """`-e` as Ansible takes it: `k=v k2=v2` (strings), a YAML/JSON mapping, or `@file.yml`; later wins."""
    out: dict[str, Any] = {}
    for text in values:
        stripped = text.strip()
        if stripped.startswith("@"):
            file = Path(stripped[1:])
            data = load_yaml(file, InventoryError)
            if data is not None and not isinstance(data, Mapping):
                raise InventoryError(str(file), 1, 1, f"extra vars must be a mapping, not {type_name(data)}")
            out.update(plain(data or {}))
        elif stripped.startswith("{"):
            data = parse_yaml(stripped, EXTRA_VARS_SOURCE, InventoryError)
            if not isinstance(data, Mapping):
                raise InventoryError(EXTRA_VARS_SOURCE, 0, 0, "extra vars must be a mapping")
            out.update(plain(data))
        else:
            try:
                words = shlex.split(stripped)
            except ValueError as exc:
                raise InventoryError(EXTRA_VARS_SOURCE, 0, 0, f"cannot parse {text!r}: {exc}") from None
            for word in words:
                key, sep, value = word.partition("=")
                if not sep or not key:
                    raise InventoryError(EXTRA_VARS_SOURCE, 0, 0, f"expected key=value, not {word!r}")
                out[key] = value
    return out


def load_selection(
    path: str | Path, extra_vars: Sequence[str], limit: str | None, vault: VaultSecrets | None = None
) -> tuple[Inventory, tuple[Host, ...]]:
    """The inventory and the hosts `--limit` picks, as every command takes them; none picked is an error."""
    inventory = load_inventory(path, parse_extra_vars(extra_vars), vault=vault)
    hosts = limited(inventory, limit)
    if not hosts:  # no --limit, and every host of the inventory is listed and left alone
        left_alone = "; ".join(f"{name}: {why}" for name, why in inventory.skipped.items())
        tail = f" (skipped — {left_alone})" if left_alone else ""
        raise InventoryError(str(path), 0, 0, f"no host of the inventory runs a cardano node{tail}")
    return inventory, hosts


def limited(inventory: Inventory, limit: str | None) -> tuple[Host, ...]:
    """The hosts `--limit` keeps (Ansible's host patterns); InventoryError when it keeps none or is
    malformed — the same message (and each command's documented bad-input exit code) everywhere. A
    limit that names a host listed and left alone (a control host) says why it was left alone."""
    try:
        return inventory.limit(limit)
    except HostPatternError as exc:
        named = [f"{name}: {why}" for name, why in inventory.skipped.items() if limit and name in limit]
        tail = f" (skipped — {'; '.join(named)})" if named else ""
        raise InventoryError(inventory.source, 0, 0, f"{exc}{tail}") from None
