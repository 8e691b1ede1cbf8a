"""Files the operator wrote, read with positions: every error names `file:line:column`.

Shared by every loader of operator files (inventory, playbooks, run specs): a file read as UTF-8
text, YAML parsed round-trip (so that each key, value and item keeps its line and column), the
positions looked up, and round-trip values turned into plain Python for the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from orchestrator.load.templating import Unsafe
from orchestrator.load.vault import VaultText


class SourceError(Exception):
    """An error in a file the operator wrote, located so that an editor can jump to it."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        super().__init__(path, line, column, message)
        self.path = str(path)
        self.line = line
        self.column = column
        self.message = message

    def __str__(self) -> str:
        from orchestrator.load.secrets import redact  # a message never shows a vault-encrypted value

        if self.line <= 0:
            return redact(f"{self.path}: {self.message}")
        return redact(f"{self.path}:{self.line}:{self.column}: {self.message}")


Loc = tuple[str, int, int]  # path, 1-based line, 1-based column


def key_loc(node: Any, key: Any, fallback: Loc) -> Loc:
    """Where `key` is written in a round-trip mapping (falls back for keys pulled in by `<<:` merges)."""
    try:
        line, col = node.lc.key(key)
        return (fallback[0], int(line) + 1, int(col) + 1)
    except (AttributeError, KeyError, TypeError):
        return fallback


def value_loc(node: Any, key: Any, fallback: Loc) -> Loc:
    """Where the value of `key` is written."""
    try:
        line, col = node.lc.value(key)
        return (fallback[0], int(line) + 1, int(col) + 1)
    except (AttributeError, KeyError, TypeError):
        return fallback


def item_loc(node: Any, index: int, fallback: Loc) -> Loc:
    """Where item `index` of a round-trip sequence is written."""
    try:
        line, col = node.lc.item(index)
        return (fallback[0], int(line) + 1, int(col) + 1)
    except (AttributeError, KeyError, TypeError, IndexError):
        return fallback


def node_loc(node: Any, fallback: Loc) -> Loc:
    """Where a mapping or sequence starts."""
    try:
        return (fallback[0], int(node.lc.line) + 1, int(node.lc.col) + 1)
    except (AttributeError, TypeError):
        return fallback


def read_source_text(path: Path, error: type[SourceError]) -> str:
    """A file the operator wrote, as UTF-8 text; unreadable or not UTF-8 becomes `error` with a position."""
    where = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(where, 0, 0, f"cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(where, line, 1, "not UTF-8 text") from None


def load_yaml(path: Path, error: type[SourceError]) -> Any:
    """Round-trip parse (keeps positions); any failure becomes `error` with the best position we have."""
    return parse_yaml(read_source_text(path, error), str(path), error)


def parse_yaml(text: str, where: str, error: type[SourceError]) -> Any:
    """Parse YAML text; never lets a parser exception other than `error` escape."""
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "duplicate key" in problem:
            problem = problem.split(" with value", 1)[0]
        raise error(where, line, col, f"YAML syntax error: {problem}") from None
    except RecursionError:
        raise error(where, 1, 1, "YAML nested too deeply") from None
    except Exception as exc:  # the parser raises many types (ReaderError, ValueError for bad dates, ...)
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else 1
        raise error(where, line, 1, f"YAML error: {exc}") from None


def plain(value: Any, _depth: int = 0) -> Any:
    """Round-trip YAML values → plain Python (dict, list, str, int, float, bool, None) for the model."""
    if _depth > 200:
        raise ValueError("value nested too deeply")
    if isinstance(value, VaultText | Unsafe):
        return value
    tag = str(getattr(getattr(value, "tag", None), "value", "") or "")
    if tag == "!vault":  # decrypted (or refused) by the inventory loader, which knows the position
        return VaultText(str(getattr(value, "value", "")))
    if tag == "!unsafe":
        return Unsafe(str(getattr(value, "value", "")))
    if isinstance(value, Mapping):
        return {str(plain(k, _depth + 1)): plain(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, _depth + 1) for v in value]
    if isinstance(value, bool) or value is None:
        return value if value is None else bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    inner = getattr(value, "value", None)  # TaggedScalar
    return str(inner if inner is not None else value)


def type_name(value: Any) -> str:
    """How YAML calls a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def locator(data: Any, where: str) -> Any:
    """path of keys → (where, line, column) in round-trip parsed JSON/YAML (for --list JSON messages)."""

    def locate(path: tuple[Any, ...]) -> Loc:
        loc: Loc = (where, 1, 1)
        node = data
        for key in path:
            if isinstance(node, CommentedMap) and key in node:
                loc = key_loc(node, key, loc)
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
                loc = item_loc(node, key, loc)
                node = node[key]
            else:
                break
        return loc

    return locate
