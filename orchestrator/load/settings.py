"""The settings the bundled roles read: one schema for every source (inventory, group_vars/host_vars,
`-e`, playbook vars, role params).

A role setting is a name in a bundled role's `defaults.yml` that one of its steps passes to an action
argument (`passive_topology: "{{ passive_topology }}"` in roles/p2p_topology/steps.yml). Its type and
allowed values are the action's own parser (orchestrator/actions/): checking a value is rendering
that one step with the role's defaults and the value, and letting the action parse it. So the schema
has one home — the action — and a wrong value (`passive_topology=Private` in hosts.ini) is refused at
the line the operator wrote, not at the role's steps file, and a typo of a setting (`drain_comand`)
is refused with "did you mean" wherever it is written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from orchestrator.actions.base import ArgError
from orchestrator.actions.registry import ACTIONS
from orchestrator.model import Step

__all__ = ["DEPRECATED_SETTINGS", "RoleSetting", "check_setting", "deprecated_setting", "given_twice", "role_settings"]

# old name → new name: still read, as the new name, each time with a warning naming the file, line and
# column, never silently (the same rule as audit/policy.py DEPRECATED_KEYS). Both names in one mapping
# is refused as given twice.
DEPRECATED_SETTINGS: Mapping[str, str] = MappingProxyType({"kes_min_periods": "kes_refuse_restart_periods"})

_WHOLE_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\Z")


@dataclass(frozen=True)
class RoleSetting:
    name: str
    role: str  # the bundled role whose defaults.yml declares it
    default: Any
    defaults: Mapping[str, Any]  # the role's other defaults: the step is rendered with them
    step: Step  # the step that passes it to an action
    arg: str  # the action's argument it becomes

    @property
    def reads_as(self) -> str:
        return f"{self.step.action}.{self.arg} (role {self.role})"


@functools.cache
def role_settings() -> Mapping[str, RoleSetting]:
    """Every setting of the bundled roles, by name (read once per process)."""
    from orchestrator.load.bundled import bundled_root
    from orchestrator.load.playbook import DEFAULT_ACTIONS, _Loader

    roles = bundled_root() / "roles"
    loader = _Loader(roles, (roles,), DEFAULT_ACTIONS)
    found: dict[str, RoleSetting] = {}
    for directory in sorted(p for p in roles.iterdir() if p.is_dir()):
        for steps_file in sorted(directory.glob("*.yml")):
            if steps_file.stem.startswith("defaults"):
                continue
            defaults, steps, _path = loader.read_role(directory.name, directory, steps_file.stem,
                                                      (str(steps_file), 1, 1))  # fmt: skip
            for step in steps:
                for arg, value in step.args.items():
                    match = _WHOLE_PLACEHOLDER.match(value) if isinstance(value, str) else None
                    if match is None or match.group(1) not in defaults or match.group(1) in found:
                        continue
                    name = match.group(1)
                    found[name] = RoleSetting(name, directory.name, defaults[name],
                                              MappingProxyType(dict(defaults)), step, arg)  # fmt: skip
    return MappingProxyType(found)


def check_setting(name: str, value: Any) -> str | None:
    """Why `value` is not a valid `name` (as its action parses it), or None (also for other names)."""
    from orchestrator.load.playbook import TemplateError, render_step

    setting = role_settings().get(name)
    if setting is None:
        return None
    variables: dict[str, Any] = {**setting.defaults, name: value, "inventory_hostname": "host"}
    action = ACTIONS[setting.step.action]
    try:
        if action.prepare_vars is not None:
            action.prepare_vars(variables)
        rendered = render_step(setting.step, variables)
        action.parse(rendered.args)
    except ArgError as exc:
        return f"'{name}' (read as {setting.reads_as}): {exc}"
    except (TemplateError, ValueError, TypeError, KeyError) as exc:
        return f"'{name}' (read as {setting.reads_as}): {exc}"
    except Exception as exc:  # a PlaybookError from render_step: the value itself is what is wrong
        return f"'{name}' (read as {setting.reads_as}): {getattr(exc, 'message', exc)}"
    return None


def deprecated_setting(name: str, where: tuple[str, int, int]) -> tuple[str, str | None]:
    """The name `name` is read as, and the warning to print when it is a deprecated one (else None)."""
    new = DEPRECATED_SETTINGS.get(name)
    if new is None:
        return name, None
    return new, f"{where[0]}:{where[1]}:{where[2]}: '{name}' is deprecated: it is now '{new}'"


def given_twice(names: Any) -> str | None:
    """Why one mapping's keys `names` name a setting twice (old and new name together), or None."""
    keys = {str(k) for k in names}
    for old, new in DEPRECATED_SETTINGS.items():
        if old in keys and new in keys:
            return f"'{new}' is given twice (as '{new}' and '{old}')"
    return None
