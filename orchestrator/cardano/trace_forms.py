"""The line envelope of the node's new tracing system (trace-dispatcher), JSON and human forms.

The meaning of a line (which startup phase it marks) lives in orchestrator/cardano/startup.py;
this module only cuts a line into its fields. Pure parsing, no I/O; never raises.

Forms, from /work/shared/docs/cardano-runtime-signals-10x.md §1.2, read at IntersectMBO/cardano-node
tag 10.6.2, `trace-dispatcher/src/Cardano/Logging/` (10.7+ take trace-dispatcher 2.12.0 from CHaP;
11.0.1 still builds the same envelope, `bench/cardano-recon-framework/app/Cardano/ReCon/TraceMessage.hs`
L61-68 — that 2.12 prints the same is UNCONFIRMED):

- JSON (`Stdout MachineFormat`): one object per line, keys in the order `at, ns, data, sev, thread,
  host` (`Types/TraceMessage.hs` L58-73; 10.6.0 `Formatter.hs` L143-156). `ns` is a dotted string —
  the legacy system wrote a list there, plus `app/env/loc/msg/pid` — which is how the two JSON forms
  are told apart. `sev` is `Debug` … `Emergency` (`Types.hs` L273-283); `thread` digits
  (`Formatter.hs` L91); `host` cut at its first `.` (L46-55).
- human (`Stdout HumanFormatColoured` in the shipped mainnet config, or `…Uncoloured`):
  `[%F %H:%M:%S%4QZ][host:ns](Sev,thread) text` (`Formatter.hs` L193-213); the coloured form wraps
  the prefix in ANSI SGR codes 31/33/35/34 (L227-245), stripped here. `%4Q` prints a dot and up to
  four digits, or nothing for a whole second. A message without a human text prints
  `{"data":{…}}` there (`Types.hs` L157-163), parsed into `data`.
"""

from __future__ import annotations

import json
import re
from calendar import timegm
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_HUMAN = re.compile(
    r"^\[(\d{4}-\d\d-\d\d) (\d\d):(\d\d):(\d\d(?:\.\d{0,4})?)Z\]"  # [%F %H:%M:%S%4QZ]
    r"\[([^:\]]*):([A-Za-z0-9_.]+)\]"  # [host:ns]
    r"\(([A-Za-z]+),(\d+)\) ?(.*)$",  # (Sev,thread) text
    re.DOTALL,
)
_ISO = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d):(\d\d):(\d\d(?:\.\d+)?)Z$")
SEVERITIES: tuple[str, ...] = ("Debug", "Info", "Notice", "Warning", "Error", "Critical", "Alert", "Emergency")


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class TraceLine:
    """One new-tracing message: when (unix seconds), its namespace, severity, and its payload.

    `data` is the JSON form's `data` object (or a human line's `{"data":…}` text); `text` the human
    form's message ("" for JSON lines).
    """

    at: float
    ns: str
    sev: str
    host: str
    thread: str
    data: Mapping[str, Any] = field(default_factory=_empty)
    text: str = ""
    human: bool = False


def unix_seconds(date: str, hh: str, mm: str, ss: str) -> float:
    """`YYYY-MM-DD`, hours, minutes, seconds (maybe fractional) in UTC → unix seconds."""
    y, mo, d = (int(p) for p in date.split("-"))
    sec = float(ss) if ss.rstrip(".") else 0.0
    return timegm((y, mo, d, int(hh), int(mm), int(sec), 0, 0, 0)) + (sec - int(sec))


def strip_ansi(line: str) -> str:
    return _ANSI.sub("", line)


def parse(line: str) -> TraceLine | None:
    """A log line in either new-tracing form → TraceLine; None for anything else (legacy forms too)."""
    line = strip_ansi(line).strip()
    if line.startswith("{"):
        return _parse_json(line)
    m = _HUMAN.match(line)
    if m is None:
        return None
    date, hh, mm, ss, host, ns, sev, thread, text = m.groups()
    if sev not in SEVERITIES:
        return None
    data: Mapping[str, Any] = _empty()
    if text.startswith('{"data":'):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("data"), dict):
            data, text = MappingProxyType(obj["data"]), ""
    return TraceLine(unix_seconds(date, hh, mm, ss.rstrip(".")), ns, sev, host, thread, data, text, human=True)


def _parse_json(line: str) -> TraceLine | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    ns, data, sev = obj.get("ns"), obj.get("data"), obj.get("sev")
    if not isinstance(ns, str) or not isinstance(data, dict) or sev not in SEVERITIES:
        return None  # a legacy JSON line has a list in `ns`
    m = _ISO.match(str(obj.get("at", "")))
    if m is None:
        return None
    return TraceLine(unix_seconds(*m.groups()), ns, str(sev), str(obj.get("host", "")), str(obj.get("thread", "")),
                     MappingProxyType(data))  # fmt: skip
