"""What a release V would do with a host's config.json and topology.json: the facts behind the
readiness audit's `release-config` rule (orchestrator/audit/readiness/release_config.py).

Pure and stdlib-plus-cardano only. The sources:
- What V refuses at startup is the node's own parsing for V (node_rules.check_config /
  check_topology, every rule with its source at the tag): no `TraceOptions` where V runs the new
  tracing system (absent `UseTraceDispatcher` = new tracing from 10.2, POM @10.2.1 L307, TD @10.2.1
  L43; always from 11.1, PR #6580), a `LedgerDB.Backend` V no longer has (`V1InMemory` gone in
  10.7.0, POM @10.7.1 L536-547; `V1LMDB` in 11.1, POM (prep) L546-553), a non-P2P `Producers`
  topology where V runs P2P only (10.6.0; TOP @10.1.4 L216-239 error text).
- What V silently ignores is the catalogue's `keys_removed` of every hop to V (cardano/releases/).
  Ignored keys are not errors (boundaries doc §a "Unknown keys are ignored silently"), but two of
  them change how the node runs when they are ignored: `EnableP2P` on a node that runs non-P2P
  today (V ≥ 10.6 runs P2P whatever it says: POM @10.5.3 L404 vs @10.6.0) and
  `UseTraceDispatcher: false` (V ≥ 11.1 always runs the new tracing: PR #6580, boundaries doc §a
  row 11.1). Those fail; the other ignored keys are harmless and only named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.cardano import health, node_rules, releases
from orchestrator.cardano.releases import NodeRelease


@dataclass(frozen=True)
class ConfigReadiness:
    """V's reading of a host's files: `problems` (each "config.json: …"/"topology.json: …") make the
    host not ready; `ignored` are keys V no longer reads that change nothing here."""

    release: str
    problems: tuple[str, ...]
    ignored: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.problems


def removed_on_the_way(running: str | None, v: NodeRelease) -> dict[str, str]:
    """Config keys V does not read that an older release did: key → the release that dropped it
    (`keys_removed` of every hop from the running release; from the oldest catalogued one when the
    running release is unknown, not catalogued or newer than V)."""
    known = running is not None and releases.is_catalogued(running) and not releases.is_newer(running, v.version)
    lo = running if known and running is not None else releases.CATALOGUE[0].version
    dropped: dict[str, str] = {}
    for hop in releases.path(lo, v.version):
        for key in hop.target.keys_removed:
            dropped.setdefault(key, hop.target.version)
    return dropped


def _silent_changes(cfg: dict[str, Any], v: NodeRelease, dropped: dict[str, str], running: str | None) -> list[str]:
    out = []
    catalogued = running is not None and releases.is_catalogued(running)
    # how the running node reads EnableP2P today (unknown release: only an explicit false counts)
    p2p_now = health.enable_p2p(cfg, running) if catalogued else cfg.get("EnableP2P") is not False
    if "EnableP2P" in dropped and not v.enable_p2p_read and p2p_now is False:
        shown = "absent (non-P2P up to 10.5)" if "EnableP2P" not in cfg else repr(cfg["EnableP2P"])
        out.append(f"EnableP2P is {shown}: {v.version} does not read it and always runs P2P (dropped in "
                   f"{dropped['EnableP2P']}); set up the P2P topology first (`topology convert`)")  # fmt: skip
    if "UseTraceDispatcher" in dropped and not v.use_trace_dispatcher_read and cfg.get("UseTraceDispatcher") is False:
        out.append(f"UseTraceDispatcher is false (legacy tracing): {v.version} does not read it and always runs the "
                   f"new tracing system (dropped in {dropped['UseTraceDispatcher']}): log lines and metric names "
                   "change; `config migrate` converts it")  # fmt: skip
    return out


def config_readiness(v: NodeRelease, running: str | None, config_text: str, topology_text: str | None) -> ConfigReadiness:
    """V's verdict on the host's config.json (and topology.json, when given) — see the module docstring."""
    checked = node_rules.check_config(v.version, config_text)
    problems = [f"config.json: {e}" for e in checked.errors]
    cfg: Any = checked.config
    if not isinstance(cfg, dict):
        try:
            cfg = node_rules.load_config(config_text)
        except Exception:  # noqa: BLE001 - the decode failure is already one of `problems`
            cfg = None
    if not isinstance(cfg, dict):
        cfg = {}
    dropped = removed_on_the_way(running, v)
    problems += [f"config.json: {p}" for p in _silent_changes(cfg, v, dropped, running)]
    if topology_text is not None:
        errors, _warnings = node_rules.check_topology(v.version, v.runs_p2p(cfg), topology_text)
        problems += [f"topology.json: {e}" for e in errors]
    return ConfigReadiness(v.version, tuple(problems), tuple(sorted(k for k in dropped if k in cfg)))
