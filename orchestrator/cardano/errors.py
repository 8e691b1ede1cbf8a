"""One error type for every unusable Cardano file, so commands can print `path:line:col: message`."""

from __future__ import annotations

from typing import Any

from orchestrator.cardano.node_json import AesonDecodeError, decode


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


def parse_json_text(text: str, path: str) -> Any:
    """A JSON file the tool will rewrite, decoded as cardano-node's aeson decodes it (node_json).

    Strict JSON (no NaN/Infinity, no byte-order mark) with the position of the first error. A key
    repeated within one object is refused: the node keeps the *first* occurrence and Python the last,
    so rewriting such a file could silently drop what the node uses today (a relay's producer in a
    second `localRoots`, say); the operator removes the duplicate and nothing is guessed.
    """
    try:
        decoded = decode(text)
    except AesonDecodeError as exc:
        raise FileFormatError(path, f"not valid JSON: {exc.message.removeprefix('Failed reading: ')}",
                              exc.line, exc.column) from None
    if decoded.duplicates:
        raise FileFormatError(path, "; ".join(map(str, decoded.duplicates)) + ": remove the duplicates "
                              "first (the tool will not guess which one you meant)")
    return decoded.value


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
