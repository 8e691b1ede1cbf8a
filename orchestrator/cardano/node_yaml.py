"""config.json as cardano-node reads it: a YAML document, decoded by Data.Yaml into an aeson Value.

Source (read, not copied): IntersectMBO/cardano-node at tags 8.7.3 and 8.9.0,
`cardano-node/src/Cardano/Node/Configuration/POM.hs` — `parseNodeConfigurationFP` calls
`Data.Yaml.decodeFileThrow` (so JSON and YAML are both accepted; topology.json, by contrast, goes
through aeson's strict `eitherDecode` in Topology.hs / TopologyP2P.hs). The scalar rules are those
of snoyberg/yaml `yaml/src/Data/Yaml/Internal.hs` (`textToValue`, `parseM`):

- quoted ('single', "double") and folded (>) scalars, and anything tagged !!str, are strings;
- a plain or literal (|) scalar is null for `null Null NULL ~` and the empty text; a Bool for
  y/yes/on/true and n/no/off/false in lower, UPPER or Title case (YAML 1.1: `True` is a bool,
  `on` too); a number for `0x..` hex, `0o..` octal or a decimal/scientific number; else a string;
- mapping keys are always text; a duplicated key: the last one wins; `<<` merges a mapping (or a
  list of mappings) without overriding keys already there; aliases repeat their anchor's value.

Stdlib at import: the lab's simulated node runs under a bare python3. The YAML syntax itself is
read by ruamel.yaml's pure-Python parser (the lab's release bundles it, as the node binary bundles
libyaml), imported only when the text is not plain JSON: a strict JSON document decodes to the same
value under both parsers, so the JSON fast path changes no verdict.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_NULLS = frozenset(("null", "Null", "NULL", "~", ""))
_STR_TAG = "tag:yaml.org,2002:str"
_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _variants(*words: str) -> frozenset[str]:
    return frozenset(v for w in words for v in (w, w.upper(), w[0].upper() + w[1:]))


_TRUE = _variants("y", "yes", "on", "true")
_FALSE = _variants("n", "no", "off", "false")


class YamlDecodeError(ValueError):
    """Why Data.Yaml would refuse the text, in the words `prettyPrintParseException` uses.

    line/column are 1-based for people; `node_text` is what the node prints (libyaml marks are
    0-based there). The problem wording is ruamel.yaml's, not libyaml's: UNCONFIRMED per character.
    """

    def __init__(self, problem: str, context: str = "", line: int | None = None, column: int | None = None) -> None:
        self.problem = problem
        self.context = context
        self.line = line
        self.column = column
        if line is None or column is None:
            text = problem
        else:
            where = f"YAML parse exception at line {line - 1}, column {column - 1}"
            text = f"{where},\n{context}:\n{problem}" if context else f"{where}:\n{problem}"
        super().__init__(text)

    @property
    def node_text(self) -> str:
        return str(self)


def scalar_value(text: str, style: str | None, tag: str | None) -> Any:
    """Data.Yaml's `textToValue`: the aeson Value of one scalar (see the module docstring)."""
    if style in ("'", '"', ">") or tag == _STR_TAG:
        return text
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    number = _number(text)
    return text if number is None else number


def _number(text: str) -> int | float | None:
    """attoparsec's `"0x" *> hexadecimal <|> "0o" *> octal <|> scientific`, whole text only."""
    if text.startswith("0x") and len(text) > 2 and all(c in "0123456789abcdefABCDEF" for c in text[2:]):
        return int(text[2:], 16)
    if text.startswith("0o") and len(text) > 2 and all(c in "01234567" for c in text[2:]):
        return int(text[2:], 8)
    if not _DECIMAL.fullmatch(text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and abs(exponent) < 400 and value == value.to_integral_value():
        return int(value)  # Scientific is exact: 1e3 is the integer 1000, as aeson's Int sees it
    return float(value)


def loads(text: str) -> Any:
    """The aeson Value cardano-node decodes config text to; YamlDecodeError when it would refuse."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError:
        pass  # not strict JSON: read it as YAML, as the node always does
    return _load_yaml(text)


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN/Infinity are not JSON; under YAML they are plain strings


def _load_yaml(text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    events = YAML(typ="safe", pure=True).parse(text)
    try:
        return _Decoder(events).document()
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        column = None if mark is None else mark.column + 1
        raise YamlDecodeError(str(exc.problem or exc), str(exc.context or ""), line, column) from None
    except YAMLError as exc:
        raise YamlDecodeError(f"YAML exception:\n{exc}") from None
    except RecursionError:
        raise YamlDecodeError("YAML exception:\nnesting too deep") from None


class _Decoder:
    """Data.Yaml's `parseO`/`parseS`/`parseM` over ruamel.yaml parser events."""

    def __init__(self, events: Any) -> None:
        self.events = iter(events)
        self.anchors: dict[str, Any] = {}

    def _next(self) -> Any:
        return next(self.events)

    def document(self) -> Any:
        event = self._next()  # StreamStart
        event = self._next()
        if type(event).__name__ == "StreamEndEvent":
            return None  # an empty file: Null, which the configuration parser then refuses
        return self._value(self._next())  # a second document is never read

    def _value(self, event: Any) -> Any:
        kind = type(event).__name__
        if kind == "ScalarEvent":
            value = scalar_value(event.value, event.style, _tag(event))
        elif kind == "AliasEvent":
            if event.anchor not in self.anchors:
                raise YamlDecodeError(f"Unknown alias `{event.anchor}`")
            return self.anchors[event.anchor]
        elif kind == "SequenceStartEvent":
            items = []
            while True:
                item = self._next()
                if type(item).__name__ == "SequenceEndEvent":
                    break
                items.append(self._value(item))
            value = items
        elif kind == "MappingStartEvent":
            value = self._mapping()
        else:  # pragma: no cover - the parser emits no other event here
            raise YamlDecodeError(f"Unexpected event {kind}")
        if getattr(event, "anchor", None):
            self.anchors[event.anchor] = value
        return value

    def _mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while True:
            event = self._next()
            kind = type(event).__name__
            if kind == "MappingEndEvent":
                return out
            if kind == "ScalarEvent":
                key = event.value
                if event.anchor:
                    self.anchors[event.anchor] = scalar_value(event.value, event.style, _tag(event))
            elif kind == "AliasEvent":
                target = self.anchors.get(event.anchor)
                if event.anchor not in self.anchors:
                    raise YamlDecodeError(f"Unknown alias `{event.anchor}`")
                if not isinstance(target, str):
                    raise YamlDecodeError(f"Non-string key alias:\n  Anchor name: {event.anchor}")
                key = target
            else:
                raise YamlDecodeError("Non-string keys are not supported")
            value = self._value(self._next())
            if key == "<<" and isinstance(value, dict | list):
                sources = [value] if isinstance(value, dict) else [v for v in value if isinstance(v, dict)]
                union: dict[str, Any] = {}
                for source in sources:
                    for k, v in source.items():
                        union.setdefault(k, v)
                for k, v in union.items():
                    out.setdefault(k, v)  # keys already there win over merged ones
                continue
            out[key] = value  # a duplicated key: the last one wins (Data.Yaml only warns)


def _tag(event: Any) -> str | None:
    tag = getattr(event, "tag", None)
    return None if tag is None else str(tag)
