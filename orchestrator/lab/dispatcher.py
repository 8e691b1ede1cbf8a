"""The lab node's new tracing system (trace-dispatcher), as a 10.6+/11.x cardano-node runs it: which
messages its config lets through, the line forms it writes to stdout, and its PrometheusSimple page.

Written from the node's rules, not from this tool's readers (cardano/startup.py, trace_forms.py and
health.py are never imported here), so that a lab test of those readers checks them against an
independent rendering. Sources: /work/shared/docs/cardano-runtime-signals-10x.md (keys as there: CONF,
CMP, FMT, TMSG, TYP, EKG, EXP, TCP at cardano-node 10.6.2 trace-dispatcher; BRP, NVR at 11.0.1).
Stdlib only: the lab's node bundles it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# TYP L273-283, lowest first; "Silence" (CONF) is above every severity: nothing passes.
SEVERITIES = ("Debug", "Info", "Notice", "Warning", "Error", "Critical", "Alert", "Emergency")
SILENCE = "Silence"
# CONF L368-372, L416-428: no TraceOptions entry on the namespace or any prefix of it.
DEFAULT_SEVERITY = "Warning"
# FMT L227-245: the prefix's colour by severity (Debug plain).
COLOURS = {"Info": "34", "Notice": "35", "Warning": "33", "Error": "31", "Critical": "31", "Alert": "31", "Emergency": "31"}
# CMP L144-150: one stdout backend, the first of these the root's backends name.
STDOUT_FORMATS = ("HumanFormatColoured", "HumanFormatUncoloured", "MachineFormat")
DEFAULT_METRICS_PREFIX = "cardano.node.metrics."


class MetricKind:
    """EKG L60-78: how a metric's kind shows in its exposed name (suffix) and TYPE line."""

    INT = "_int"
    DOUBLE = "_real"
    COUNTER = "_counter"


@dataclass(frozen=True)
class Prometheus:
    """`PrometheusSimple [suffix|nosuffix] [host] port` (TYP L405-423; API L171-179)."""

    suffix: bool
    host: str
    port: int


def parse_prometheus_simple(entry: str) -> Prometheus | None:
    """A root backend entry as PrometheusSimple, or None when it is another backend or malformed.
    With no host the lab binds 127.0.0.1 (the default host is UNCONFIRMED in the runtime-signals doc)."""
    words = entry.split()
    if not words or words[0] != "PrometheusSimple":
        return None
    rest = words[1:]
    suffix = True
    if rest and rest[0] in ("suffix", "nosuffix"):
        suffix = rest.pop(0) == "suffix"
    if not rest or not rest[-1].isdigit() or len(rest) > 2:
        return None
    host = rest[0] if len(rest) == 2 else "127.0.0.1"
    return Prometheus(suffix, host, int(rest[-1]))


class TraceConfig:
    """A config's TraceOptions: root backends and per-namespace severities."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        options = config.get("TraceOptions")
        self.options: dict[str, dict[str, Any]] = (
            {str(k): v for k, v in options.items() if isinstance(v, dict)} if isinstance(options, dict) else {}
        )
        backends = self.options.get("", {}).get("backends")
        self.backends: list[str] = [b for b in backends if isinstance(b, str)] if isinstance(backends, list) else []
        if not self.options:  # DTC L17-22: no TraceOptions → Stdout MachineFormat + EKGBackend
            self.backends = ["Stdout MachineFormat", "EKGBackend"]
        prefix = config.get("TraceOptionMetricsPrefix")
        self.metrics_prefix = prefix if isinstance(prefix, str) else DEFAULT_METRICS_PREFIX

    @property
    def stdout_format(self) -> str | None:
        named = {b.split()[1] for b in self.backends if b.startswith("Stdout ") and len(b.split()) == 2}
        return next((f for f in STDOUT_FORMATS if f in named), None)

    @property
    def prometheus(self) -> Prometheus | None:
        for backend in self.backends:
            found = parse_prometheus_simple(backend)
            if found is not None:
                return found
        return None

    def severity(self, namespace: str) -> str:
        """The configured severity of `namespace`: the longest prefix (whole dotted components, the
        root "" last) whose entry sets one (CONF L368-372, L416-428)."""
        parts = namespace.split(".")
        for i in range(len(parts), -1, -1):
            entry = self.options.get(".".join(parts[:i]))
            if entry is not None and isinstance(entry.get("severity"), str):
                return str(entry["severity"])
        return DEFAULT_SEVERITY

    def passes(self, namespace: str, severity: str) -> bool:
        wanted = self.severity(namespace)
        if wanted == SILENCE or wanted not in SEVERITIES:
            return False
        return SEVERITIES.index(severity) >= SEVERITIES.index(wanted)


def short_host(hostname: str, override: str | None = None) -> str:
    """FMT L46-55 (10.6.2+): the hostname up to its first dot, or TRACE_DISPATCHER_LOGGING_HOSTNAME."""
    return override if override else hostname.split(".", 1)[0]


def json_at(now: float) -> str:
    """aeson's UTCTime: `%FT%T%QZ`, the fraction without trailing zeros (microseconds here)."""
    fraction = f"{now % 1:.6f}"[2:].rstrip("0")
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + (f".{fraction}" if fraction else "") + "Z"


def human_at(now: float) -> str:
    """`%F %H:%M:%S%4QZ` (FMT L193-213): at most 4 fraction digits, trailing zeros dropped."""
    fraction = f"{int(now % 1 * 10000):04d}".rstrip("0")
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + (f".{fraction}" if fraction else "") + "Z"


def machine_line(now: float, ns: str, data: Mapping[str, Any], sev: str, thread: str, host: str) -> str:
    """TMSG L58-73: one JSON object, keys at, ns, data, sev, thread, host in that order."""
    obj = {"at": json_at(now), "ns": ns, "data": dict(data), "sev": sev, "thread": thread, "host": host}
    return json.dumps(obj, separators=(",", ":"))


def human_line(now: float, ns: str, data: Mapping[str, Any], sev: str, thread: str, host: str, text: str | None,
               coloured: bool) -> str:  # fmt: skip
    """`[time][host:ns](Sev,thread) text`; a message without human text prints `{"data":…}` (TYP
    L157-163). Coloured: the prefix in the severity's SGR colour, reset before the text (FMT L227-245;
    where the reset falls is UNCONFIRMED)."""
    prefix = f"[{human_at(now)}][{host}:{ns}]({sev},{thread})"
    if coloured and sev in COLOURS:
        prefix = f"\x1b[{COLOURS[sev]}m{prefix}\x1b[0m"
    body = text if text is not None else json.dumps({"data": dict(data)}, separators=(",", ":"))
    return f"{prefix} {body}"


def haskell_show_double(value: float) -> str:
    """Haskell's `show :: Double`: the shortest digits that read back, `ddd.d` for 0.1 <= |x| < 10^7,
    else `d.ddde<exp>` (so 0.05 is `5.0e-2`): the replay progress before 10.7.1 (BRP L55-90)."""
    if value == 0:
        return "0.0"
    if 0.1 <= abs(value) < 1e7:
        text = repr(float(value))
        return text if "." in text or "e" in text else text + ".0"
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    assert isinstance(exponent, int)
    shown = "".join(str(d) for d in digits)
    mantissa = shown[0] + "." + (shown[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}e{exponent + len(digits) - 1}"


def metric_name(prefix: str, name: str, kind: str, suffix: bool) -> str:
    """The exposed name: prefix + name (+ kind suffix), `.`, `-` and space made `_` (EXP L48-53)."""
    full = prefix + name + (kind if suffix else "")
    return full.replace(".", "_").replace("-", "_").replace(" ", "_")


def exposition(prefix: str, suffix: bool, metrics: Sequence[tuple[str, str, float | int]],
               labelled: Sequence[tuple[str, Mapping[str, str]]]) -> str:  # fmt: skip
    """The PrometheusSimple page (EXP L96; TCP L126-140): a TYPE line for int and counter metrics,
    none for doubles, PrometheusM metrics as `name{labels} 1`, and the final `# EOF`."""
    lines: list[str] = []
    for name, kind, value in metrics:
        exposed = metric_name(prefix, name, kind, suffix)
        if kind == MetricKind.INT:
            lines.append(f"# TYPE {exposed} gauge")
        elif kind == MetricKind.COUNTER:
            lines.append(f"# TYPE {exposed} counter")
        lines.append(f"{exposed} {value}")
    for name, labels in labelled:
        shown = ",".join(f'{k}="{v}"' for k, v in labels.items())
        lines.append(f"{name}{{{shown}}} 1")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
