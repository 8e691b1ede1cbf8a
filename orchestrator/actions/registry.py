"""The built-in actions, found by module: every module of this package with an `ACTION` is one.

Adding an action is adding one module (with its tests): the loader then accepts it in steps files,
checks its arguments, and the planner asks it in its slot's turn.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from types import MappingProxyType

import orchestrator.actions as package
from orchestrator.actions.base import Action, ActionSpec


def _discover() -> dict[str, Action]:
    found: dict[str, Action] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        action = getattr(module, "ACTION", None)
        if isinstance(action, Action):
            if action.name != info.name:
                raise RuntimeError(f"{module.__name__} defines action {action.name!r}: one module per action, same name")
            found[action.name] = action
    return found


ACTIONS: Mapping[str, Action] = MappingProxyType(_discover())
SPECS: Mapping[str, ActionSpec] = MappingProxyType({name: a.spec for name, a in ACTIONS.items()})
