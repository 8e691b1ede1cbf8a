"""A fact section as one record: its name, the shell command that reads it, and the parser of that
command's output, side by side (pyinfra's shape: a fact is `command` + `process`).

Why together: the command's output format and the parser that reads it change at the same time;
kept in two far-apart functions they drift. A new fact is one new subclass in
orchestrator/facts/sections.py decorated with `@register`, plus its `HostFacts` fields
(orchestrator/facts/model.py) and a row in the parser's fixture table
(tests/unit/test_facts_parse.py). The probe script (orchestrator/facts/script.py) is assembled
from the registered records; the light gate probe is the subset marked `health = True`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from orchestrator.model import Host


@dataclass(frozen=True)
class Output:
    """One section's finished output: the host it ran on, its stdout+stderr and its exit status."""

    host: Host
    body: str
    rc: int


@dataclass(frozen=True)
class Parsed:
    """What a section's parser found: `HostFacts` fields by name, and probe errors by key (the
    section's name, or `name.detail` for a part of it). Both may be non-empty: a section can yield
    some fields and still report what it could not read."""

    fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, **fields: Any) -> Parsed:
        return cls(fields=fields)

    @classmethod
    def error(cls, section: str, why: str, **fields: Any) -> Parsed:
        return cls(fields=fields, errors={section: why})


class FactSection:
    """Base of every fact record. Subclasses set `name` (lower-case letters and `_`: it is used in
    the script's markers and shell function names) and implement `command` and `parse`.

    `health`: part of the light probe a sync gate samples every second (no files, no hashes).
    `check_exit`: a non-zero exit is a probe error and `parse` is not called; sections whose
    failure is itself a fact (the tip of a stopped node, a missing binary) set it False and read
    `Output.rc` themselves.
    """

    name: ClassVar[str]
    health: ClassVar[bool] = False
    # Takes seconds by design (samples over time): probed only where asked for by name (`facts`,
    # `audit`: ALL_SECTIONS), never by a plan, a run's re-check or the lab's readiness wait.
    sampled: ClassVar[bool] = False
    check_exit: ClassVar[bool] = True

    def applies(self, host: Host) -> bool:
        """Whether this host is probed for this section at all (e.g. pool keys: producers only)."""
        return True

    def command(self, host: Host) -> str:
        """POSIX sh that prints this section's raw output; every value from the inventory quoted."""
        raise NotImplementedError

    def parse(self, out: Output) -> Parsed:
        """Output → fields and errors; never raises (a parse problem is a `Parsed.error`)."""
        raise NotImplementedError

    def unavailable(self, why: str) -> Mapping[str, Any]:
        """Fields to set when the section gave no usable output (missing, cut short, failed)."""
        return {}


REGISTRY: dict[str, FactSection] = {}
_S = TypeVar("_S", bound=type[FactSection])


def register(cls: _S) -> _S:
    """Class decorator: add one instance of the record to the registry, in definition order (the
    order the sections appear in the probe's output)."""
    name = cls.name
    if not name or not all(c.islower() or c == "_" for c in name):
        raise ValueError(f"fact section name {name!r}: lower-case letters and '_' only")
    if name in REGISTRY:
        raise ValueError(f"fact section {name!r} registered twice")
    REGISTRY[name] = cls()
    return cls


def kv(body: str) -> dict[str, str]:
    """`key=value` lines → dict (first occurrence wins; lines without an identifier key are skipped)."""
    out: dict[str, str] = {}
    for line in body.splitlines():
        key, sep, value = line.partition("=")
        if sep and key and key.isidentifier():
            out.setdefault(key, value.strip())
    return out


def last_line(text: str, default: str) -> str:
    """The last non-blank line (at most 300 characters): what a failed command says about why."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else default
