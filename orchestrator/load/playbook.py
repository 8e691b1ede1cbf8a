"""Playbook + roles (YAML data) → model.Playbook, validated at load time against an action registry.

A typo in a playbook must fail before the first SSH connection, with file:line:column, so every name
(keys, roles, actions, arguments) is checked here against the actions' own specs
(orchestrator/actions/: each action module declares its arguments; DEFAULT_ACTIONS is that registry).
The values of the arguments are checked per host once rendered (load/runspec.py).

Playbook file:

    name: Upgrade to cardano-node 8.9.0 with P2P
    vars: {...}                       # playbook vars
    max_fail_percentage: 0            # defaults for every stage (0..100)
    min_healthy_relays: 1
    min_healthy: {passive_nodes: 2}   # per group: members healthy outside every batch
    pause_after: canary               # ask for approval after the first batch (as `run --step`)
    stages:                           # run in order; a failed stage stops the playbook
      - name: stage
        hosts: all                    # an Inventory.select() pattern
        parallel: true                # every host at once: only for steps that disturb nothing
        roles: [{role: node_release, steps_from: stage}]
      - name: relays
        hosts: relays
        serial: [1, "50%"]            # Ansible's serial: int, "N%", or a list whose last size repeats
        roles: [node_release, p2p_config, p2p_topology, sync_gate]

Without `stages:`, top-level `hosts:`/`serial:`/`roles:` make one stage (an Ansible-like play)
named after the playbook.
A stage whose steps disturb a running node must say `serial:` or, explicitly, `parallel: true`.

Role: `roles/NAME/defaults.yml` (a mapping, optional) and `roles/NAME/steps.yml` (or another steps
file chosen with `steps_from`, like Ansible's tasks_from), a list of steps written Ansible-style:

    - name: Wait until the node is back in sync
      sync_gate: {max_slot_lag: "{{ sync_max_slot_lag }}", timeout_seconds: 1800}

Variable precedence, lowest first: role defaults < inventory group vars < inventory host vars
(both already merged in Host.vars) < playbook vars < stage vars < role params < `-e` extra vars.
Templating is plain `{{ name }}` (dotted names index mappings: `{{ node_release.version }}`);
a value that is exactly one placeholder keeps its type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from orchestrator.actions.base import ActionSpec
from orchestrator.actions.registry import SPECS
from orchestrator.load.settings import DEPRECATED_SETTINGS, check_setting, deprecated_setting, given_twice, role_settings
from orchestrator.load.source import (
    Loc,
    SourceError,
    item_loc,
    key_loc,
    load_yaml,
    node_loc,
    plain,
    type_name,
    value_loc,
)
from orchestrator.load.templating import has_template
from orchestrator.model import HealthFloor, Host, Playbook, RoleRef, Serial, Stage, Step
from orchestrator.patterns.suggest import did_you_mean

__all__ = [
    "DEFAULT_ACTIONS",
    "ActionSpec",
    "PlaybookError",
    "TemplateError",
    "load_playbook",
    "parse_serial",
    "render",
    "render_step",
    "serial_batches",
    "step_vars",
]

T = TypeVar("T")


class PlaybookError(SourceError):
    """The playbook or one of its roles is invalid; str is `path:line:col: message`."""


class TemplateError(ValueError):
    """A `{{ … }}` that cannot be rendered (undefined name, unsupported expression, loop)."""


DEFAULT_ACTIONS: Mapping[str, ActionSpec] = SPECS


_PLAYBOOK_KEYS = (
    "name",
    "vars",
    "stages",
    "hosts",
    "serial",
    "parallel",
    "roles",
    "max_fail_percentage",
    "min_healthy_relays",
    "min_healthy",
    "pause_after",
)
# pause_after's values: where a run stops for the operator's approval (`canary`: after the first batch).
PAUSE_POINTS = ("canary",)
_STAGE_KEYS = (
    "name",
    "hosts",
    "serial",
    "parallel",
    "roles",
    "vars",
    "max_fail_percentage",
    "min_healthy_relays",
    "min_healthy",
)
_ROLE_ENTRY_KEYS = ("role", "steps_from", "vars")
_STEP_META_KEYS = ("name",)
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_PLAIN_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\Z")
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_PERCENT = re.compile(r"\s*(\d+)\s*%\s*\Z")


# --- serial: Ansible semantics --------------------------------------------------------------------


def parse_serial(value: Any) -> Serial:
    """int, "N%" or a list of them → Serial; ValueError for 0, negatives, "0%" or more than 100%."""
    if value is None:
        return Serial()
    items = list(value) if isinstance(value, list | tuple) else [value]
    if not items:
        raise ValueError("serial list is empty")
    sizes: list[int | str] = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"serial must be a number or a percentage, not {type_name(item)}")
        if isinstance(item, int):
            if item <= 0:
                raise ValueError(f"serial must be at least 1, not {item}")
            sizes.append(int(item))
            continue
        if isinstance(item, str):
            match = _PERCENT.match(item)
            if match:
                pct = int(match.group(1))
                if not 1 <= pct <= 100:
                    raise ValueError(f"serial percentage must be 1%..100%, not {item.strip()!r}")
                sizes.append(f"{pct}%")
                continue
            if item.strip().lstrip("-").isdigit():
                number = int(item.strip())
                if number <= 0:
                    raise ValueError(f"serial must be at least 1, not {number}")
                sizes.append(number)
                continue
        raise ValueError(f'serial must be a number or a percentage like "50%", not {item!r}')
    return Serial(tuple(sizes))


def _batch_size(size: int | str, total: int) -> int:
    """Ansible's pct_to_int: a percentage of *all* hosts, rounded down, at least 1."""
    if isinstance(size, str):
        return int(int(size.rstrip("%")) / 100.0 * total) or 1
    return size


def serial_batches(hosts: Sequence[T], serial: Serial | int | str | Sequence[int | str] | None) -> list[list[T]]:
    """Split hosts into batches exactly as Ansible's `serial` does; the last size repeats."""
    spec = serial if isinstance(serial, Serial) else parse_serial(serial)
    remaining = list(hosts)
    if not spec.sizes:
        return [remaining] if remaining else []
    total = len(remaining)
    batches: list[list[T]] = []
    index = 0
    while remaining:
        size = _batch_size(spec.sizes[index], total)
        batches.append(remaining[:size])
        remaining = remaining[size:]
        index = min(index + 1, len(spec.sizes) - 1)
    return batches


# --- templating -----------------------------------------------------------------------------------


def _lookup(name: str, variables: Mapping[str, Any]) -> Any:
    head, *rest = name.split(".")
    if head not in variables:
        raise TemplateError(f"undefined variable '{head}'")
    value = variables[head]
    walked = head
    for part in rest:
        if not isinstance(value, Mapping) or part not in value:
            raise TemplateError(f"undefined variable '{walked}.{part}'")
        value = value[part]
        walked = f"{walked}.{part}"
    return value


def check_template(text: str) -> None:
    """Refuse anything but plain `{{ name }}` placeholders (no filters, no expressions)."""
    for match in _PLACEHOLDER.finditer(text):
        if not _PLAIN_NAME.match(match.group(1)):
            raise TemplateError(f"only plain {{{{ name }}}} substitution is supported, not '{match.group(0)}'")
    rest = _PLACEHOLDER.sub("", text)
    if "{{" in rest or "}}" in rest:
        raise TemplateError(f"unbalanced '{{{{' or '}}}}' in {text!r}")


def referenced_names(value: Any) -> set[str]:
    """The variable names (first part of a dotted name) that templates in `value` refer to."""
    if isinstance(value, Mapping):
        return set().union(*(referenced_names(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(referenced_names(v) for v in value)) if value else set()
    if not isinstance(value, str):
        return set()
    names = set()
    for match in _PLACEHOLDER.finditer(value):
        plain_name = _PLAIN_NAME.match(match.group(1))
        if plain_name:
            names.add(plain_name.group(1).split(".")[0])
    return names


def render(value: Any, variables: Mapping[str, Any], _stack: tuple[str, ...] = ()) -> Any:
    """Substitute `{{ name }}` in strings, recursively through lists and mappings and through values."""
    if isinstance(value, Mapping):
        return {k: render(v, variables, _stack) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, variables, _stack) for v in value]
    if not isinstance(value, str) or "{{" not in value and "}}" not in value:
        return value
    check_template(value)

    def resolve(name: str) -> Any:
        if name in _stack:
            raise TemplateError(f"variable '{name}' refers to itself ({' → '.join((*_stack, name))})")
        return render(_lookup(name, variables), variables, (*_stack, name))

    whole = _PLACEHOLDER.fullmatch(value)
    if whole and value.count("{{") == 1:
        return resolve(whole.group(1).strip())

    def substitute(match: re.Match[str]) -> str:
        result = resolve(match.group(1).strip())
        if isinstance(result, bool):
            return "true" if result else "false"
        return "" if result is None else str(result)

    return _PLACEHOLDER.sub(substitute, value)


def step_vars(
    playbook: Playbook,
    stage: Stage,
    role: RoleRef,
    host: Host,
    extra_vars: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The variables a step of `role` sees on `host`, merged by the documented precedence."""
    merged: dict[str, Any] = dict(role.defaults)
    merged.update(host.vars)
    merged.update(playbook.vars)
    merged.update(stage.vars)
    merged.update(role.params)
    merged.update(extra_vars or {})
    merged.setdefault("inventory_hostname", host.name)
    return merged


def render_step(step: Step, variables: Mapping[str, Any]) -> Step:
    """The step with its args rendered; an undefined variable is a PlaybookError at the step."""
    try:
        args = render(dict(step.args), variables)
    except TemplateError as exc:
        raise PlaybookError(step.path, step.line, step.column, f"{step.action}: {exc}") from None
    return replace(step, args=MappingProxyType(args))


# --- loading --------------------------------------------------------------------------------------


class _Loader:
    """One load; scratch state lives here, not at module level."""

    def __init__(self, path: Path, roles_dirs: Sequence[Path], actions: Mapping[str, ActionSpec]) -> None:
        self.path = path
        self.where = str(path)
        self.roles_dirs = roles_dirs
        self.actions = actions
        self.role_cache: dict[tuple[str, str], tuple[Mapping[str, Any], tuple[Step, ...], str]] = {}
        self.set_vars: list[tuple[str, Loc]] = []  # variables the playbook sets, with where
        self.warnings: list[str] = []  # deprecated names read, with where

    @staticmethod
    def fail(loc: Loc, message: str) -> PlaybookError:
        return PlaybookError(loc[0], loc[1], loc[2], message)

    def check_keys(self, node: CommentedMap, allowed: Sequence[str], loc: Loc, what: str) -> None:
        for key in node:
            if key not in allowed:
                kloc = key_loc(node, key, loc)
                hint = did_you_mean(str(key), allowed)
                tail = f" — did you mean '{hint}'?" if hint else f"; expected {', '.join(allowed)}"
                raise self.fail(kloc, f"unknown key {plain(key)!r} in {what}{tail}")

    def mapping(self, node: CommentedMap, key: str, loc: Loc, what: str) -> dict[str, Any]:
        value = node.get(key)
        vloc = value_loc(node, key, loc)
        if value is None:
            return {}
        if not isinstance(value, CommentedMap):
            raise self.fail(vloc, f"'{key}' of {what} must be a mapping, not {type_name(plain(value))}")
        twice = given_twice(value)
        if twice is not None:
            old = next(k for k in value if k in DEPRECATED_SETTINGS)
            raise self.fail(key_loc(value, old, vloc), twice)
        out: dict[str, Any] = {}
        for k in value:
            if not isinstance(k, str):
                raise self.fail(key_loc(value, k, vloc), f"variable name must be a string, not {type_name(plain(k))}")
            name, warning = deprecated_setting(k, key_loc(value, k, vloc))
            if warning is not None:
                self.warnings.append(warning)
            self.check_templates(value[k], value_loc(value, k, vloc))
            if not has_template(plain(value[k])):  # the same schema as the inventory's and -e's
                why = check_setting(name, plain(value[k]))
                if why is not None:
                    raise self.fail(value_loc(value, k, vloc), why)
            self.set_vars.append((name, key_loc(value, k, vloc)))
            out[name] = plain(value[k])
        return out

    def refuse_unread_vars(self, stages: Sequence[Stage], play_vars: Mapping[str, Any]) -> None:
        """A variable the playbook sets that no step, role default or other variable refers to would
        change nothing: refuse it at its line rather than let the operator believe it is honoured."""
        read: set[str] = set()
        for stage in stages:
            read |= referenced_names([dict(step.args) for step in stage.steps])
            read |= referenced_names([dict(r.defaults) for r in stage.roles] + [dict(r.params) for r in stage.roles])
            read |= referenced_names(dict(stage.vars))
        read |= referenced_names(dict(play_vars))
        for name, loc in self.set_vars:
            if name not in read:
                hint = did_you_mean(name, read | set(role_settings()))
                tail = f" — did you mean '{hint}'?" if hint else ""
                raise self.fail(loc, f"variable '{name}' is set but nothing in this playbook or its roles reads it{tail}")

    def check_templates(self, value: Any, loc: Loc) -> None:
        if isinstance(value, Mapping):
            for v in value.values():
                self.check_templates(v, loc)
        elif isinstance(value, list):
            for v in value:
                self.check_templates(v, loc)
        elif isinstance(value, str):
            try:
                check_template(value)
            except TemplateError as exc:
                raise self.fail(loc, str(exc)) from None

    def load(self) -> Playbook:
        data = load_yaml(self.path, PlaybookError)
        top: Loc = (self.where, 1, 1)
        if not isinstance(data, CommentedMap):
            raise self.fail(node_loc(data, top), f"a playbook is a mapping (name, stages, ...), not {type_name(data)}")
        self.check_keys(data, _PLAYBOOK_KEYS, top, "the playbook")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(
                key_loc(data, "name", top) if "name" in data else top, "a playbook needs a 'name' (a string)"
            )
        play_vars = self.mapping(data, "vars", top, "the playbook")
        defaults = {
            "max_fail_percentage": self.max_fail(data, top, 0.0),
            "min_healthy_relays": self.min_healthy(data, top, 0),
            "min_healthy": self.min_healthy_groups(data, top, ()),
        }
        stages: list[Stage] = []
        if "stages" in data:
            for key in ("hosts", "roles", "serial", "parallel"):
                if key in data:
                    raise self.fail(
                        key_loc(data, key, top), f"'{key}' belongs in a stage when the playbook has 'stages'"
                    )
            nodes = data["stages"]
            sloc = value_loc(data, "stages", top)
            if not isinstance(nodes, CommentedSeq) or not nodes:
                raise self.fail(sloc, "'stages' must be a non-empty list of stages")
            seen: dict[str, Loc] = {}
            for i, node in enumerate(nodes):
                iloc = item_loc(nodes, i, sloc)
                if not isinstance(node, CommentedMap):
                    raise self.fail(
                        iloc, f"a stage is a mapping (name, hosts, roles, ...), not {type_name(plain(node))}"
                    )
                stage = self.stage(node, iloc, defaults, require_name=True)
                if stage.name in seen:
                    raise self.fail(
                        iloc, f"stage '{stage.name}' is defined twice (first at line {seen[stage.name][1]})"
                    )
                seen[stage.name] = iloc
                stages.append(stage)
        else:
            if "roles" not in data:
                raise self.fail(top, "a playbook needs 'stages' (or 'hosts' and 'roles' for a single stage)")
            stages.append(self.stage(data, top, defaults, require_name=False, own_vars=False))
        self.refuse_unread_vars(stages, play_vars)
        pause_after = None
        if "pause_after" in data:
            pause_after = plain(data["pause_after"])
            if pause_after not in PAUSE_POINTS:
                raise self.fail(value_loc(data, "pause_after", top),
                                f"pause_after must be one of {', '.join(PAUSE_POINTS)}, not {pause_after!r}")  # fmt: skip
        return Playbook(name=name.strip(), source=self.where, stages=tuple(stages), vars=MappingProxyType(play_vars),
                        pause_after=pause_after, warnings=tuple(self.warnings))  # fmt: skip

    def max_fail(self, node: CommentedMap, loc: Loc, default: float) -> float:
        if "max_fail_percentage" not in node:
            return default
        value = node["max_fail_percentage"]
        vloc = value_loc(node, "max_fail_percentage", loc)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise self.fail(vloc, f"max_fail_percentage must be a number 0..100, not {plain(value)!r}")
        return float(value)

    def min_healthy(self, node: CommentedMap, loc: Loc, default: int) -> int:
        if "min_healthy_relays" not in node:
            return default
        value = node["min_healthy_relays"]
        vloc = value_loc(node, "min_healthy_relays", loc)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(vloc, f"min_healthy_relays must be an integer ≥ 0, not {plain(value)!r}")
        return int(value)

    def min_healthy_groups(self, node: CommentedMap, loc: Loc, default: Any) -> tuple[HealthFloor, ...]:
        """`min_healthy: {group: N, ...}`: N members of each group healthy outside every batch."""
        if "min_healthy" not in node:
            return tuple(default)
        value = node["min_healthy"]
        vloc = value_loc(node, "min_healthy", loc)
        if not isinstance(value, CommentedMap) or not value:
            raise self.fail(vloc, f"min_healthy must be a mapping of group names to counts, not {plain(value)!r}")
        floors = []
        for group, count in value.items():
            gloc = value_loc(value, group, vloc)
            if not isinstance(group, str) or not group.strip():
                raise self.fail(key_loc(value, group, vloc), f"min_healthy: a group name, not {plain(group)!r}")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise self.fail(gloc, f"min_healthy.{group} must be an integer ≥ 0, not {plain(count)!r}")
            floors.append(HealthFloor(group, int(count), key_loc(value, group, vloc)))
        return tuple(floors)

    def stage(
        self,
        node: CommentedMap,
        loc: Loc,
        defaults: Mapping[str, Any],
        require_name: bool,
        own_vars: bool = True,
    ) -> Stage:
        if require_name:
            self.check_keys(node, _STAGE_KEYS, loc, "a stage")
        name = node.get("name")
        if require_name and (not isinstance(name, str) or not name.strip()):
            raise self.fail(loc, "a stage needs a 'name' (a string)")
        label = f"stage '{name}'" if require_name else "the playbook"
        hosts = node.get("hosts")
        if not isinstance(hosts, str) or not hosts.strip():
            at = value_loc(node, "hosts", loc) if "hosts" in node else loc
            raise self.fail(at, f"{label} needs 'hosts' (a host pattern such as all, relays or block_producers)")
        serial = Serial()
        if "serial" in node:
            try:
                serial = parse_serial(plain(node["serial"]))
            except ValueError as exc:
                raise self.fail(value_loc(node, "serial", loc), str(exc)) from None
        parallel = node.get("parallel", False)
        if not isinstance(parallel, bool):
            raise self.fail(
                value_loc(node, "parallel", loc), f"'parallel' must be true or false, not {plain(parallel)!r}"
            )
        if parallel and serial.sizes:
            raise self.fail(key_loc(node, "parallel", loc), f"{label} has both 'serial' and 'parallel: true'")
        roles_node = node.get("roles")
        rloc = value_loc(node, "roles", loc) if "roles" in node else loc
        if not isinstance(roles_node, CommentedSeq) or not roles_node:
            raise self.fail(rloc, f"{label} needs 'roles' (a non-empty list of role names)")
        roles = tuple(self.role(entry, item_loc(roles_node, i, rloc)) for i, entry in enumerate(roles_node))
        disruptive = [s for r in roles for s in r.steps if self.actions[s.action].disruptive]
        if disruptive and not serial.sizes and not parallel:
            step = disruptive[0]
            raise self.fail(
                key_loc(node, "hosts", loc),
                f"{label} restarts nodes ({step.action} in role '{step.role}') on every host at once; "
                "set 'serial' (e.g. serial: 1) or, if you mean it, 'parallel: true'",
            )
        return Stage(
            name=name.strip() if isinstance(name, str) else "main",
            hosts=hosts.strip(),
            roles=roles,
            serial=serial,
            parallel=parallel,
            max_fail_percentage=self.max_fail(node, loc, float(defaults["max_fail_percentage"])),
            min_healthy_relays=self.min_healthy(node, loc, int(defaults["min_healthy_relays"])),
            min_healthy=self.min_healthy_groups(node, loc, defaults["min_healthy"]),
            vars=MappingProxyType(self.mapping(node, "vars", loc, label) if own_vars else {}),
        )

    def role(self, entry: Any, loc: Loc) -> RoleRef:
        params: dict[str, Any] = {}
        steps_from = "steps"
        name_loc = loc
        if isinstance(entry, CommentedMap):
            self.check_keys(entry, _ROLE_ENTRY_KEYS, loc, "a role entry")
            name = entry.get("role")
            name_loc = value_loc(entry, "role", loc) if "role" in entry else loc
            if "steps_from" in entry:
                steps_from = entry["steps_from"]
                sfloc = value_loc(entry, "steps_from", loc)
                if not isinstance(steps_from, str) or not _FILE_NAME.match(steps_from):
                    raise self.fail(
                        sfloc,
                        f"'steps_from' must be a steps file name like 'stage', not {plain(steps_from)!r}",
                    )
            params = self.mapping(entry, "vars", loc, "a role entry")
        else:
            name = entry
        if not isinstance(name, str) or not _FILE_NAME.match(name):
            raise self.fail(name_loc, f"a role is a name or {{role: NAME, vars: ...}}, not {plain(name)!r}")
        directory = self.find_role(name, name_loc)
        defaults, steps, path = self.read_role(name, directory, steps_from, name_loc)
        return RoleRef(
            name=name,
            steps=steps,
            defaults=MappingProxyType(dict(defaults)),
            params=MappingProxyType(params),
            steps_from=steps_from,
            path=path,
        )

    def find_role(self, name: str, loc: Loc) -> Path:
        for base in self.roles_dirs:
            if (base / name).is_dir():
                return base / name
        available = sorted({p.name for base in self.roles_dirs if base.is_dir() for p in base.iterdir() if p.is_dir()})
        hint = did_you_mean(name, available)
        searched = ", ".join(str(b) for b in self.roles_dirs)
        tail = f" — did you mean '{hint}'?" if hint else f" (searched {searched})"
        raise self.fail(loc, f"unknown role '{name}'{tail}")

    def read_role(
        self, name: str, directory: Path, steps_from: str, loc: Loc
    ) -> tuple[Mapping[str, Any], tuple[Step, ...], str]:
        cached = self.role_cache.get((name, steps_from))
        if cached is not None:
            return cached
        defaults: Mapping[str, Any] = {}
        for candidate in ("defaults.yml", "defaults.yaml"):
            file = directory / candidate
            if file.is_file():
                data = load_yaml(file, PlaybookError)
                floc: Loc = (str(file), 1, 1)
                if data is None:
                    data = CommentedMap()
                if not isinstance(data, CommentedMap):
                    raise self.fail(floc, f"role defaults must be a mapping, not {type_name(plain(data))}")
                for k in data:
                    if not isinstance(k, str):
                        raise self.fail(key_loc(data, k, floc), "variable name must be a string")
                    self.check_templates(data[k], value_loc(data, k, floc))
                defaults = plain(data)
                break
        steps_file = next(
            (
                directory / f"{steps_from}{ext}"
                for ext in (".yml", ".yaml")
                if (directory / f"{steps_from}{ext}").is_file()
            ),
            None,
        )
        if steps_file is None:
            raise self.fail(loc, f"role '{name}' has no {steps_from}.yml in {directory}")
        steps = self.read_steps(name, steps_file)
        result = (defaults, steps, str(directory))
        self.role_cache[(name, steps_from)] = result
        return result

    def read_steps(self, role: str, file: Path) -> tuple[Step, ...]:
        data = load_yaml(file, PlaybookError)
        floc: Loc = (str(file), 1, 1)
        if not isinstance(data, CommentedSeq) or not data:
            raise self.fail(node_loc(data, floc), "a steps file is a non-empty list of steps")
        steps: list[Step] = []
        for i, node in enumerate(data):
            iloc = item_loc(data, i, floc)
            if not isinstance(node, CommentedMap):
                raise self.fail(iloc, f"a step is a mapping like '- restart_node: {{}}', not {type_name(plain(node))}")
            steps.append(self.step(role, node, iloc))
        return tuple(steps)

    def step(self, role: str, node: CommentedMap, loc: Loc) -> Step:
        action: str | None = None
        for key in node:
            kloc = key_loc(node, key, loc)
            if key in _STEP_META_KEYS:
                continue
            if key in self.actions:
                if action is not None:
                    raise self.fail(kloc, f"a step does one action; this one has '{action}' and '{key}'")
                action = key
                continue
            hint = did_you_mean(str(key), (*self.actions, *_STEP_META_KEYS))
            tail = f" — did you mean '{hint}'?" if hint else f"; actions are {', '.join(sorted(self.actions))}"
            raise self.fail(kloc, f"unknown action {plain(key)!r}{tail}")
        if action is None:
            raise self.fail(loc, f"a step needs an action, one of {', '.join(sorted(self.actions))}")
        name = node.get("name", "")
        if not isinstance(name, str):
            raise self.fail(
                value_loc(node, "name", loc),
                f"a step's 'name' must be a string, not {type_name(plain(name))}",
            )
        spec = self.actions[action]
        aloc = key_loc(node, action, loc)
        args_node = node[action]
        argsloc = value_loc(node, action, aloc)
        if args_node is None:
            args_node = CommentedMap()
        if not isinstance(args_node, CommentedMap):
            raise self.fail(argsloc, f"arguments of '{action}' must be a mapping, not {type_name(plain(args_node))}")
        twice = given_twice(args_node)
        if twice is not None:
            old = next(k for k in args_node if k in DEPRECATED_SETTINGS)
            raise self.fail(key_loc(args_node, old, argsloc), twice)
        args: dict[str, Any] = {}
        for arg in args_node:
            if isinstance(arg, str) and DEPRECATED_SETTINGS.get(arg) in spec.allowed_args:
                renamed, warning = deprecated_setting(arg, key_loc(args_node, arg, argsloc))
                if warning is not None:
                    self.warnings.append(warning)
                args[renamed] = plain(args_node[arg])
                self.check_templates(args_node[arg], value_loc(args_node, arg, argsloc))
                continue
            if arg not in spec.allowed_args:
                hint = did_you_mean(str(arg), spec.allowed_args)
                allowed = ", ".join(sorted(spec.allowed_args)) or "none"
                tail = f" — did you mean '{hint}'?" if hint else f"; it takes {allowed}"
                raise self.fail(
                    key_loc(args_node, arg, argsloc), f"unknown argument {plain(arg)!r} for '{action}'{tail}"
                )
            self.check_templates(args_node[arg], value_loc(args_node, arg, argsloc))
            args[arg] = plain(args_node[arg])
        missing = sorted(spec.required_args - set(args))
        if missing:
            raise self.fail(aloc, f"'{action}' needs argument{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        return Step(
            action=action,
            args=MappingProxyType(args),
            name=name or action,
            role=role,
            path=aloc[0],
            line=aloc[1],
            column=aloc[2],
        )


def load_playbook(
    path: str | Path,
    roles_dir: str | Path | Sequence[str | Path] | None = None,
    *,
    actions: Mapping[str, ActionSpec] | None = None,
) -> Playbook:
    """Read and validate a playbook and its roles; roles are found in roles_dir (the first that has
    the role, when several), or beside the playbook."""
    file = Path(path)
    if isinstance(roles_dir, str | Path):
        dirs: tuple[Path, ...] = (Path(roles_dir),)
    elif roles_dir is not None:
        dirs = tuple(Path(d) for d in roles_dir)
    else:
        dirs = (file.parent / "roles", file.parent.parent / "roles")
    return _Loader(file, dirs, actions if actions is not None else DEFAULT_ACTIONS).load()
