"""`{{ … }}` in inventory variables, rendered as Ansible renders them, or refused where we cannot.

Ansible keeps inventory values as written and renders a template when the value is used, in the
host's scope: every variable the host resolves (after precedence) plus the magic variables
`inventory_hostname`, `inventory_hostname_short`, `group_names`, `groups`, `hostvars`,
`inventory_dir` and `inventory_file`. We render once, after precedence, with the same scope, with
Jinja2 (the engine Ansible uses) and ansible-core 2.19's typing: a value that is exactly one
`{{ expression }}` keeps the expression's type (`{{ 3000 + 1 }}` is the integer 3001), anything else
renders to a string. `lookup('env', NAME)` reads the environment as Ansible's env lookup does.

Refused (TemplateRefused, which the loader turns into file:line): an undefined name (facts such as
`ansible_default_ipv4` do not exist before a connection), Ansible's own filters, tests and lookups
(their exact behaviour lives in ansible-core, not in Jinja2), and a variable that refers to itself.
Values tagged `!unsafe` are never rendered, as in Ansible.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["Renderer", "TemplateRefused", "Unsafe", "has_template"]

_TEMPLATE = re.compile(r"\{\{|\{%|\{#")
_SINGLE = re.compile(r"\A\{\{(?P<expr>.*)\}\}\Z", re.S)


class Unsafe(str):
    """A value tagged `!unsafe`: used literally, never rendered."""


class TemplateRefused(Exception):
    """A template we cannot render exactly as Ansible would; `host`/`name` say whose variable it is."""

    def __init__(self, host: str, name: str, message: str) -> None:
        super().__init__(host, name, message)
        self.host = host
        self.name = name
        self.message = message


def has_template(value: Any) -> bool:
    """Whether a value (or anything inside it) holds `{{`, `{%` or `{#` that Ansible would render."""
    if isinstance(value, Unsafe):
        return False
    if isinstance(value, str):
        return bool(_TEMPLATE.search(value))
    if isinstance(value, Mapping):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_template(v) for v in value)
    return False


def _lookup(plugin: str, *terms: Any, **options: Any) -> str:
    if plugin not in ("env", "ansible.builtin.env"):
        raise jinja2.TemplateError(f"lookup('{plugin}', …) is Ansible's own plugin; only lookup('env', NAME) is rendered")
    default = options.get("default", "")
    return ",".join(str(os.environ.get(str(t), default)) for t in terms)


class _Environment(ImmutableSandboxedEnvironment):
    pass


def _environment() -> jinja2.Environment:
    env = _Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    env.globals["lookup"] = _lookup
    return env


class _HostView(Mapping[str, Any]):
    """`hostvars[NAME]`: another host's variables, each rendered when it is read."""

    def __init__(self, renderer: Renderer, host: str) -> None:
        self._renderer = renderer
        self._host = host

    def __getitem__(self, key: str) -> Any:
        if key not in self._renderer.scope(self._host):
            raise KeyError(key)
        return self._renderer.value(self._host, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._renderer.scope(self._host))

    def __len__(self) -> int:
        return len(self._renderer.scope(self._host))


class _HostVars(Mapping[str, Any]):
    def __init__(self, renderer: Renderer) -> None:
        self._renderer = renderer

    def __getitem__(self, host: str) -> _HostView:
        if host not in self._renderer.raw:
            raise KeyError(host)
        return _HostView(self._renderer, host)

    def __iter__(self) -> Iterator[str]:
        return iter(self._renderer.raw)

    def __len__(self) -> int:
        return len(self._renderer.raw)


class Renderer:
    """Renders every host's variables on demand, across hosts (`hostvars`), with loop detection.

    `raw[host]` are the host's variables after precedence (values as written), `magic[host]` the magic
    variables; names in `literal` (become passwords: never rendered into memory) stay as written.
    """

    def __init__(
        self,
        raw: Mapping[str, Mapping[str, Any]],
        magic: Mapping[str, Mapping[str, Any]],
        literal: frozenset[str] = frozenset(),
    ) -> None:
        self.raw = raw
        self.magic = magic
        self.literal = literal
        self._env = _environment()
        self._done: dict[tuple[str, str], Any] = {}
        self._active: list[tuple[str, str]] = []

    def scope(self, host: str) -> Mapping[str, Any]:
        return {**self.magic.get(host, {}), **self.raw[host]}

    def host(self, host: str) -> dict[str, Any]:
        """Every variable of `host`, rendered; raises TemplateRefused."""
        return {name: self.value(host, name) for name in self.raw[host]}

    def value(self, host: str, name: str) -> Any:
        key = (host, name)
        if key in self._done:
            return self._done[key]
        variables = self.raw[host]
        if name not in variables:
            return self.magic[host][name]
        raw = variables[name]
        if name in self.literal or not has_template(raw):
            self._done[key] = raw
            return raw
        if key in self._active:
            loop = " → ".join(n for _h, n in self._active[self._active.index(key) :])
            raise TemplateRefused(host, name, f"'{name}' refers to itself ({loop} → {name})")
        self._active.append(key)
        try:
            result = self._render(host, name, raw)
        finally:
            self._active.pop()
        self._done[key] = result
        return result

    def _context(self, host: str, source: str) -> dict[str, Any]:
        """The names a template uses, each rendered first (so precedence decides, as in Ansible)."""
        from jinja2 import meta

        try:
            names = meta.find_undeclared_variables(self._env.parse(source))
        except jinja2.TemplateSyntaxError as exc:
            raise jinja2.TemplateError(f"template syntax error: {exc.message}") from None
        context: dict[str, Any] = {"hostvars": _HostVars(self)}
        for used in names:
            if used in self.raw[host] or used in self.magic.get(host, {}):
                context[used] = self.value(host, used)
        return context

    def _render(self, host: str, name: str, raw: Any) -> Any:
        if isinstance(raw, Mapping):
            return {k: self._render(host, name, v) for k, v in raw.items()}
        if isinstance(raw, list | tuple):
            return [self._render(host, name, v) for v in raw]
        if not isinstance(raw, str) or isinstance(raw, Unsafe) or not _TEMPLATE.search(raw):
            return raw
        try:
            context = self._context(host, raw)
            single = _SINGLE.match(raw)
            if single and "{{" not in single.group("expr") and "}}" not in single.group("expr"):
                result = self._env.compile_expression(single.group("expr"), undefined_to_none=False)(**context)
                if isinstance(result, jinja2.Undefined):
                    result._fail_with_undefined_error()
                return result
            return self._env.from_string(raw).render(**context)
        except TemplateRefused:
            raise
        except jinja2.UndefinedError as exc:
            raise TemplateRefused(
                host,
                name,
                f"'{name}': {exc.message} (inventory variables are rendered before any connection: "
                "facts gathered from hosts do not exist here)",
            ) from None
        except jinja2.TemplateError as exc:
            text = str(exc.message or exc)
            if "No filter named" in text or "No test named" in text:
                text += " (an Ansible-only filter/test: cardano-fleet renders Jinja2's built-in ones, exactly)"
            raise TemplateRefused(host, name, f"'{name}': cannot render: {text}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
            raise TemplateRefused(host, name, f"'{name}': cannot render: {exc}") from None
