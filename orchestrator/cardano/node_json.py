"""topology.json as cardano-node reads it: aeson's `eitherDecode`, not Python's `json`.

Sources (read, not copied):

- cardano-node `Cardano/Node/Configuration/TopologyP2P.hs` (8.9.0 … 11.x) and `Topology.hs` read the
  file with `Data.Aeson.eitherDecode`; the node is built with aeson 2.1/2.2.
- haskell/aeson v2.1.2.1 `src/Data/Aeson/Parser/Internal.hs` (`json`: "If an object contains
  duplicate keys, only the first one will be kept", `KM.fromList` over a reversed accumulator) and
  v2.2.0.0 … v2.3.1.0 `src/Data/Aeson/Decoding/Conversion.hs` (`convertR`: "the first duplicate key in
  objects wins"). Python's `json` keeps the *last* one: the same text gives two different topologies.
- aeson v2.2 `Decoding/ByteString/Lazy.hs` `lbsToTokens` skips only space, tab, CR and LF before a
  value, and v2.1's `jsonEOF` likewise: a UTF-8 byte-order mark is a parse error for the node's
  topology (Data.Yaml/libyaml, which reads config.json, accepts one: see node_yaml).
- aeson `Types/FromJSON.hs` `parseBoundedIntegral` (Int, Word16, Word64 …): a Scientific that is an
  integer *value* is accepted (`2.0`, `2e0`), anything else fails with "value is either floating or
  will cause over or underflow"; Scientific is exact, so `2.0000000000000001` is not an integer, though
  a Python float would round it to 2.0.
- ouroboros-network `RelayAccessPoint` `parseJSON`: the port is read as an `Int`, then
  `fromIntegral` to `PortNumber` (a Word16): the node wraps 65537 to 1 instead of refusing it.

Stdlib only: the lab's simulated node imports this module under a bare python3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

BOM = "\ufeff"
INT_BOUNDS: dict[str, tuple[int, int]] = {
    "Int": (-(2**63), 2**63 - 1),
    "Word16": (0, 2**16 - 1),
    "Word32": (0, 2**32 - 1),
    "Word64": (0, 2**64 - 1),
}


class NonIntegral(float):
    """A number whose exact (Scientific) value has a fraction, though its float may look whole.

    `2.0000000000000001` is 2.0 as a Python float but not an integer to aeson; this keeps the verdict.
    """

    def is_integer(self) -> bool:
        return False


@dataclass(frozen=True)
class DuplicateKey:
    """One repeated object key: where it is and which occurrence the node keeps (the first)."""

    path: str  # aeson's JSON path of the object, e.g. `$.localRoots[0]`
    key: str

    def __str__(self) -> str:
        return (f'key "{self.key}" appears more than once in {self.path}; cardano-node (aeson) '
                f"uses the first one and ignores the others")


@dataclass(frozen=True)
class Decoded:
    value: Any
    duplicates: tuple[DuplicateKey, ...]


class AesonDecodeError(ValueError):
    """Text aeson would refuse; line/column (1-based) for the operator."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _number(text: str) -> int | float:
    exact = Decimal(text)
    exponent = exact.as_tuple().exponent
    if isinstance(exponent, int) and abs(exponent) < 400 and exact == exact.to_integral_value():
        return int(exact)  # aeson's Int/Word parsers take 2.0 and 2e0 as 2
    as_float = float(text)
    return NonIntegral(as_float) if as_float.is_integer() else as_float


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON literal {name}")


def decode(text: str) -> Decoded:
    """The aeson Value `eitherDecode` gives for `text`, and the duplicate keys it silently dropped."""
    if text.startswith(BOM):
        raise AesonDecodeError("starts with a UTF-8 byte-order mark, which aeson (the node's topology "
                               "parser) refuses; save the file without a BOM", 1, 1)
    try:
        raw = json.loads(text, object_pairs_hook=_Pairs, parse_float=_number,
                         parse_int=int, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise AesonDecodeError(f"Failed reading: {exc.msg}", exc.lineno, exc.colno) from None
    except ValueError as exc:
        raise AesonDecodeError(f"Failed reading: {exc}") from None
    duplicates: list[DuplicateKey] = []
    value = _first_wins(raw, "$", duplicates)
    return Decoded(value, tuple(duplicates))


def loads(text: str) -> Any:
    """Only the value (first occurrence of a key wins); AesonDecodeError when aeson would refuse."""
    return decode(text).value


class _Pairs(list[tuple[str, Any]]):
    """An object's members in document order, before the first-wins rule is applied."""


def _first_wins(value: Any, path: str, duplicates: list[DuplicateKey]) -> Any:
    if isinstance(value, _Pairs):
        out: dict[str, Any] = {}
        for key, item in value:
            child = f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"
            if key in out:
                if all(d.path != path or d.key != key for d in duplicates):
                    duplicates.append(DuplicateKey(path, key))
                continue
            out[key] = _first_wins(item, child, duplicates)
        return out
    if isinstance(value, list):
        return [_first_wins(v, f"{path}[{i}]", duplicates) for i, v in enumerate(value)]
    return value


def bounded_int(value: Any, name: str = "Int") -> int:
    """aeson's `parseBoundedIntegral name`: the int, or ValueError in aeson's words."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "Null" if value is None else "Boolean" if isinstance(value, bool) else \
            "String" if isinstance(value, str) else "Array" if isinstance(value, list) else "Object"
        raise ValueError(f"parsing {name} failed, expected Number, but encountered {kind}")
    low, high = INT_BOUNDS[name]
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"parsing {name} failed, value is either floating or will cause over or underflow {value}")
    number = int(value)
    if not low <= number <= high:
        raise ValueError(f"parsing {name} failed, value is either floating or will cause over or underflow {number}")
    return number


def port_number(value: Any) -> int:
    """The port the node dials: `fromIntegral (port :: Int) :: PortNumber`, i.e. modulo 2^16."""
    return bounded_int(value, "Int") % 2**16
