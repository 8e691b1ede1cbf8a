"""One error type for every unusable Cardano file, so commands can print `path:line:col: message`."""

from __future__ import annotations

import json
from typing import Any


class FileFormatError(ValueError):
    """A file that cannot be used as it is; line/column when the position is known."""

    def __init__(self, path: str, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_text(text: str, path: str) -> Any:
    """Strict JSON (no NaN/Infinity, no comments) with the position of the first error."""
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise FileFormatError(path, f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except ValueError as exc:
        raise FileFormatError(path, f"not valid JSON: {exc}") from None


def decode_text(data: bytes, path: str) -> str:
    """UTF-8 only, as cardano-node reads its files; say where the bad byte is."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FileFormatError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line, column) from None


def read_text_file(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise FileFormatError(path, f"cannot read file: {exc.strerror or exc}") from None
    return decode_text(data, path)


def read_json_file(path: str) -> tuple[str, Any]:
    """The text (to keep its style) and the parsed value."""
    text = read_text_file(path)
    return text, parse_json_text(text, path)
