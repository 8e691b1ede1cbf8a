"""Values that came out of Ansible Vault: known to the process so that no output ever shows them.

A vault-encrypted value is secret by the operator's choice (SPOs encrypt the block producer's address).
The loader registers each decrypted value here; the console, the JSON reports, the journal and error
messages pass their text through `redact` so that a value used on the wire (an SSH address, a node
address in a relay's topology) still never appears in what the tool prints or writes about its run.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

__all__ = ["MASK", "clear", "is_secret", "redact", "redact_data", "register", "register_yaml_text"]

MASK = "<vault-encrypted>"
_lock = threading.Lock()
_values: set[str] = set()
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_RICH_DROPS = re.compile("[\x07\x08\x0b\x0c\x0d]")  # rich.control.strip_control_codes
_MIN_LINE = 8  # a line of a multi-line secret, masked on its own when it is at least this long
_MIN_LENGTH = 3  # shorter values ("1", "no") would mask unrelated text; they are still never echoed by us


def register(value: Any) -> None:
    """Remember a decrypted value (and each string inside it) as secret."""
    if isinstance(value, dict):
        for item in value.values():
            register(item)
        return
    if isinstance(value, list | tuple):
        for item in value:
            register(item)
        return
    if value is None or isinstance(value, bool):
        return
    text = str(value)
    if len(text) < _MIN_LENGTH:
        return
    forms = {text, json.dumps(text)[1:-1]}  # as written, and as JSON writes it (a newline becomes \\n)
    for pattern in (_CONTROL, _RICH_DROPS):  # as a console prints it: rich drops \a \b \v \f \r
        printed = pattern.sub("", text)
        if len(printed.strip()) >= _MIN_LENGTH:
            forms.add(printed)
    if "\n" in text.strip():  # a multi-line secret (a PEM key, a certificate) may be printed line by line
        forms |= {line.strip() for line in text.splitlines() if len(line.strip()) >= _MIN_LINE}
    with _lock:
        _values.update(forms)


def register_yaml_text(text: str) -> None:
    """Every scalar of a whole vault-encrypted YAML file is secret."""
    from ruamel.yaml import YAML

    try:
        register(YAML(typ="safe", pure=True).load(text))
    except Exception:  # the loader reports the syntax error with its position
        return


def is_secret(value: Any) -> bool:
    with _lock:
        return isinstance(value, str | int | float) and str(value) in _values


def redact(text: str) -> str:
    """`text` with every registered secret replaced by MASK (longest first, so no partial leaks)."""
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def redact_data(data: Any) -> Any:
    """The same for JSON-like data (reports, journal records)."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact(str(k)) if isinstance(k, str) else k: redact_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(v) for v in data]
    if isinstance(data, int | float) and not isinstance(data, bool) and is_secret(data):
        return MASK
    return data


def clear() -> None:
    """Forget every secret (tests)."""
    with _lock:
        _values.clear()
