"""What every action shares: its spec, its slot, typed arguments, and a planning decision from facts.

pyinfra's shape: an action's `parse` turns a step's rendered arguments into a typed operation (or an
ArgError naming the argument); the operation's `plan` reads the host's facts and contributes to the
host's plan only what is needed — and when it contributes nothing, it says why (a FileDiff with a
reason, or a line in `reasons`). Operations never run anything and never reorder the executor: the
executor (roll/engine.py) has one fixed, safe order per host, and each slot below is a part of it.
"""

from __future__ import annotations

import types
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from enum import Enum, IntEnum
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from orchestrator.cardano.diffs import FileDiff
from orchestrator.facts.model import HostFacts
from orchestrator.model import Hook, Host, Inventory, PlanAction, ReleasePin
from orchestrator.spec.gate import GatePolicy
from orchestrator.spec.window import LeaderGuard


class Slot(IntEnum):
    """What an action contributes to a host's plan, in the order the planner asks the actions.

    Each slot may read what the earlier ones decided: which binary runs afterwards decides which
    config rules apply; which files change decides how the node is told. The executor's own order is
    fixed: stage (every host, before the first batch) → backup → writes → binary switch →
    restart/reload → gate → rollback on failure; a drain hook before the backup, a return hook after
    the gate (or after a rollback back in sync).
    """

    RELEASE = 1  # a release directory to stage beside the running one
    BINARY = 2  # which release the node runs after the run
    FILES = 3  # file writes (each action owns its files)
    APPLY = 4  # restart, reload or nothing
    GATE = 5  # how the host is judged before the rollout moves on
    HOOKS = 6  # the operator's drain (before backup) and return (after the gate or rollback) commands


@dataclass(frozen=True)
class ActionSpec:
    """The arguments the loader accepts for an action; `disruptive` actions stop or restart a node."""

    name: str
    required_args: frozenset[str] = frozenset()
    optional_args: frozenset[str] = frozenset()
    disruptive: bool = False
    doc: str = ""

    @property
    def allowed_args(self) -> frozenset[str]:
        return self.required_args | self.optional_args


class ArgError(ValueError):
    """A rendered argument is invalid; the message names it. The loader adds the step's file:line."""


class HostPlanError(Exception):
    """This host cannot be planned as the playbook asks; the message is the reason shown for it."""


@dataclass(frozen=True)
class FileChange:
    path: str
    content: bytes
    diff: FileDiff
    # sha256 of the bytes the change was computed from (the write is conditional on them: compare-and-swap);
    # None: no condition (a genesis file written whole, whatever was there)
    base_sha256: str | None = None


@dataclass(frozen=True)
class PlanContext:
    """What an operation may read: the host, the whole inventory (for peers), its facts, the run's pin."""

    host: Host
    inventory: Inventory
    facts: HostFacts
    release: ReleasePin | None  # what stage_release pins for this run (None: no release staged)


@dataclass
class HostDraft:
    """A host's plan while the operations contribute to it; plan.py freezes it into a HostPlan."""

    current_version: str | None
    target_version: str | None = None  # set by install_release; None: no binary change wanted
    stage_release: bool = False
    switch_binary: bool = False
    files: list[FileChange] = field(default_factory=list)
    unchanged: list[FileDiff] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    action: PlanAction | None = None  # None: no APPLY operation decided (the planner applies "auto")
    gate: GatePolicy | None = None
    leader: LeaderGuard | None = None  # a block producer's restart guard (restart_node)
    drain: Hook | None = None  # drain_node
    return_hook: Hook | None = None  # return_node

    @property
    def version_after(self) -> str | None:
        """The version the node runs once this host is done."""
        return self.target_version if self.switch_binary else self.current_version

    @property
    def changes_files_or_binary(self) -> bool:
        return self.switch_binary or bool(self.files)


@dataclass
class RunDraft:
    """What the run compiler (load/runspec.py) gathers while it binds each step for each host; an
    operation's `check_run` checks its step against it and records its share."""

    host_names: frozenset[str]  # every inventory host and helper (a hook's delegate_to must be one)
    release: ReleasePin | None = None  # the release the run's first stage_release step pins


class RunRuleError(Exception):
    """A step breaks a run-wide rule; the message is whole (the loader adds the step's file:line)."""


class Operation(ABC):
    """One action with its typed arguments, as rendered for one host.

    `plan` is each action's own. The other methods are what the rest of the tool may ask of any
    operation (the compiler, the planner, the probe, `--resume`); each default means "not this
    action's concern", so nothing outside actions/ needs to know which action an operation is.
    """

    @abstractmethod
    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        """Contribute to `draft` from `ctx.facts`; HostPlanError when the host cannot be planned."""

    def check_run(self, run: RunDraft, host: Host) -> None:
        """Run-wide rules for this step as rendered for `host`, checked before any SSH; RunRuleError."""
        return None  # most steps answer for their own host only

    def gate_policy(self) -> GatePolicy | None:
        """How a host is judged after its change, when this operation decides it (sync_gate)."""
        return None

    def installs(self) -> str | None:
        """The release this operation switches the node's binary to (install_release): the planner
        refuses a downgrade or an uncatalogued release before asking any operation."""
        return None

    @property
    def hook_kind(self) -> str | None:
        """The kind of an operator's hook step, "drain" or "return" (drain_node, return_node)."""
        return None

    def hook(self, host: Host, inventory: Inventory) -> Hook | None:
        """The hook command for `host` and where it runs; None: no hook (or not a hook step)."""
        return None

    def reads(self, host: Host) -> str | None:
        """The host's file this operation reads, named when it fails in a way the file logic did not
        foresee; None: not a file's reader."""
        return None

    def probe_vars(self) -> Mapping[str, Any]:
        """Host variables the facts probe reads (Action.probe_vars), as this step rendered them; a
        value None: the step sets none, so the probe reads none."""
        return {}


@dataclass(frozen=True)
class Action:
    """A built-in action: its spec, its slot, and the parser of its rendered arguments."""

    spec: ActionSpec
    slot: Slot
    parse: Callable[[Mapping[str, Any]], Operation]  # raises ArgError
    # Fill in variables before the step is rendered (e.g. keys a pinned mapping may leave out).
    prepare_vars: Callable[[dict[str, Any]], None] | None = None
    # Host variables the facts probe reads that this action's step owns: the probe reads them as the
    # step renders them (Operation.probe_vars), never the inventory's raw value (workflow.probe_hosts).
    probe_vars: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.spec.name


def spec(name: str, required: Sequence[str] = (), optional: Sequence[str] = (), *, disruptive: bool = False,
         doc: str = "") -> ActionSpec:  # fmt: skip
    return ActionSpec(name, frozenset(required), frozenset(optional), disruptive, doc)


# ---- argument parsing shared by the actions (values arrive rendered: typed from YAML/JSON, or strings
# from `-e k=v`, which is why "false" and "3" are accepted as Ansible accepts them)

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def flag(args: Mapping[str, Any], key: str, default: bool) -> bool:
    value = args.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ArgError(f"{key} must be true or false, not {value!r}")


def whole(args: Mapping[str, Any], key: str, default: int, minimum: int = 0) -> int:
    value = args.get(key, default)
    try:
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise ValueError
        result = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ArgError(f"{key} must be a whole number ≥ {minimum}, not {value!r}") from None
    if result < minimum:
        raise ArgError(f"{key} must be a whole number ≥ {minimum}, not {value!r}")
    return result


def number(args: Mapping[str, Any], key: str, default: float) -> float:
    value = args.get(key, default)
    try:
        if isinstance(value, bool):
            raise ValueError
        result = float(value)
        if result < 0 or result != result:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise ArgError(f"{key} must be a number ≥ 0, not {value!r}") from None
    return result


def choice(args: Mapping[str, Any], key: str, choices: Sequence[str], default: str) -> str:
    value = args.get(key, default)
    if not isinstance(value, str) or value.strip() not in choices:
        raise ArgError(f"{key} must be one of {', '.join(choices)}, not {value!r}")
    return value.strip()


def text(args: Mapping[str, Any], key: str, default: str = "") -> str:
    value = args.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ArgError(f"{key} must be a string, not {value!r}")
    return str(value).strip()


def seconds_or_auto(args: Mapping[str, Any], key: str, default: float | None) -> float | None:
    """A number of seconds, or None for "auto" (also "" and "none": the host's own value decides)."""
    value = args.get(key, "auto" if default is None else default)
    if value is None or str(value).strip().lower() in ("auto", "", "none"):
        return None
    return number({key: value}, key, 0.0)


# ---- arguments declared once: a frozen dataclass whose fields are the action's spec (pyinfra's shape,
# where an operation's signature is its spec). Each field: its name is the argument, its type picks the
# parser, its default is the default, its metadata (from `arg`) says its one-line doc, whether the
# loader requires it, and its lower bound or its own parser.

Args = TypeVar("Args")
Parser = Callable[[Mapping[str, Any], str, Any], Any]  # (args, key, default) -> value; raises ArgError


def arg(default: Any, doc: str, *, required: bool = False, minimum: int = 0, parse: Parser | None = None,
        **meta: Any) -> Any:  # fmt: skip
    """One argument of an action's argument dataclass (a `dataclasses.field`). `required`: the loader
    refuses a step without it (the default still serves plans built in code); `minimum`: a whole
    number's lower bound; `parse`: for a type the generic parsers do not cover; `meta`: the action's own
    (`choices=(...)`: a string's vocabulary)."""
    return field(default=default, metadata={"doc": doc, "required": required, "minimum": minimum, "parse": parse, **meta})


def args_spec(cls: type[Any], name: str, *, disruptive: bool = False, doc: str = "") -> ActionSpec:
    """The loader's spec from an argument dataclass: every field an argument, required or optional."""
    required = [f.name for f in fields(cls) if f.metadata.get("required")]
    optional = [f.name for f in fields(cls) if not f.metadata.get("required")]
    return spec(name, required, optional, disruptive=disruptive, doc=doc)


def arg_docs(cls: type[Any]) -> dict[str, str]:
    """Each argument's one-line doc, in declaration order."""
    return {f.name: str(f.metadata.get("doc", "")) for f in fields(cls)}


def parse_args(cls: type[Args], args: Mapping[str, Any]) -> Args:
    """The argument dataclass from a step's rendered arguments (the loader has already refused unknown
    and missing ones); an absent argument takes its field's default; ArgError names a bad one."""
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.default is MISSING:
            raise TypeError(f"{cls.__name__}.{f.name} needs a default (arg(...))")
        parser: Parser | None = f.metadata.get("parse")
        if parser is not None:
            values[f.name] = parser(args, f.name, f.default)
        else:
            values[f.name] = _parse_typed(cls, f, hints[f.name], args, f.default)
    return cls(**values)


def _optional(kind: Any) -> Any:
    """X for `X | None`, else None."""
    if get_origin(kind) in (Union, types.UnionType):
        rest = [k for k in get_args(kind) if k is not type(None)]
        if len(rest) == 1 and len(get_args(kind)) == 2:
            return rest[0]
    return None


def _parse_typed(cls: type[Any], f: Field[Any], kind: Any, args: Mapping[str, Any], default: Any) -> Any:
    """One field by its type: bool, int (metadata `minimum`), float, str (metadata `choices`: a
    vocabulary), an Enum (its values), or `X | None` (null or "" — a role's unset variable — is None)."""
    inner = _optional(kind)
    if inner is not None:
        value = args.get(f.name, default)
        if value is None or (isinstance(value, str) and value == ""):
            return None
        return _parse_typed(cls, f, inner, {f.name: value}, value)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(choice(args, f.name, [m.value for m in kind], kind(default).value))
    if kind is bool:
        return flag(args, f.name, default)
    if kind is int:
        return whole(args, f.name, default, f.metadata.get("minimum", 0))
    if kind is float:
        return number(args, f.name, default)
    if kind is str and "choices" in f.metadata:
        return choice(args, f.name, f.metadata["choices"], default)
    if kind is str:
        return text(args, f.name, default)
    raise TypeError(f"{cls.__name__}.{f.name}: no parser for {kind!r}; give arg(parse=...)")
