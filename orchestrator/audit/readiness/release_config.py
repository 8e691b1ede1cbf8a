"""`release-config`: the host's real config.json and topology.json, read as release V reads them.

Fails when V would refuse them at startup — judged by the node's own parsing rules for V
(cardano/node_rules.py, each rule with its source at the tag): no `TraceOptions` where V runs the
new tracing system (from 10.2 when `UseTraceDispatcher` is absent; always from 11.1, PR #6580), a
`LedgerDB.Backend` V no longer has (`V1InMemory` gone in 10.7.0, `V1LMDB` in 11.1: POM @10.7.1
L536-547, POM (prep) L546-553), a non-P2P `Producers` topology where V only runs P2P (10.6.0) —
and when a setting the operator made would be silently ignored by V in a way that changes how the
node runs (the catalogue's `keys_removed` on the path to V): `EnableP2P` false/absent where V always
runs P2P (10.6.0: POM @10.5.3 vs @10.6.0), `UseTraceDispatcher: false` where V always runs the new
tracing (11.1, PR #6580). Other keys V no longer reads (legacy tracing keys beside `TraceOptions`,
`EnableP2P: true`) change nothing: they pass, named in the message, for `config migrate` to drop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.audit.findings import Severity
from orchestrator.audit.readiness import already_past, probe_why, target
from orchestrator.audit.registry import READINESS, Result, rule
from orchestrator.cardano import node_rules, releases
from orchestrator.cardano.releases import NodeRelease

if TYPE_CHECKING:
    from orchestrator.audit.checks import Context


def removed_on_the_way(running: str | None, v: NodeRelease) -> dict[str, str]:
    """Config keys V does not read that an older release did: key → the release that dropped it
    (the catalogue's `keys_removed`, every hop from the running release; every older release when
    the running one is unknown or not catalogued, or newer than V)."""
    lo = running if running is not None and releases.is_catalogued(running) and not releases.is_newer(running, v.version) \
        else releases.CATALOGUE[0].version  # fmt: skip
    dropped: dict[str, str] = {}
    for hop in releases.path(lo, v.version):
        for key in hop.target.keys_removed:
            dropped.setdefault(key, hop.target.version)
    return dropped


def silent_changes(cfg: dict[str, Any], v: NodeRelease, dropped: dict[str, str], running: str | None) -> list[str]:
    """Settings V would ignore although they change how the node runs (see the module docstring).
    An absent EnableP2P means non-P2P only to a release that reads the key (the running one, when
    known): a 10.6+ config has none and runs P2P already."""
    out = []
    reads_p2p = running is not None and releases.is_catalogued(running) and releases.lookup(running).enable_p2p_read
    p2p_off = cfg.get("EnableP2P") is False or ("EnableP2P" not in cfg and reads_p2p)
    if "EnableP2P" in dropped and not v.enable_p2p_read and p2p_off:
        shown = "absent (non-P2P up to 10.5)" if "EnableP2P" not in cfg else f"{cfg['EnableP2P']!r}"
        out.append(f"EnableP2P is {shown}: {v.version} does not read it and always runs P2P (dropped in "
                   f"{dropped['EnableP2P']}); set up the P2P topology first (`topology convert`)")
    if "UseTraceDispatcher" in dropped and not v.use_trace_dispatcher_read and cfg.get("UseTraceDispatcher") is False:
        out.append(f"UseTraceDispatcher is false (legacy tracing): {v.version} does not read it and always runs the "
                   f"new tracing system (dropped in {dropped['UseTraceDispatcher']}): logs and metrics change names; "
                   "`config migrate` converts it")  # fmt: skip
    return out


def judge(v: NodeRelease, running: str | None, config_text: str, topology_text: str | None) -> Result:
    """The verdict on these files for release V (pure: the reference-file tests call it directly)."""
    checked = node_rules.check_config(v.version, config_text)
    problems = [f"config.json: {e}" for e in checked.errors]
    cfg = checked.config if isinstance(checked.config, dict) else None
    if cfg is None:
        try:
            loaded = node_rules.load_config(config_text)
        except Exception:  # noqa: BLE001 - any decode failure is already one of `problems`
            loaded = None
        cfg = loaded if isinstance(loaded, dict) else {}
    dropped = removed_on_the_way(running, v)
    problems += [f"config.json: {p}" for p in silent_changes(cfg, v, dropped, running)]
    if topology_text is not None:
        errors, _warnings = node_rules.check_topology(v.version, v.runs_p2p(cfg), topology_text)
        problems += [f"topology.json: {e}" for e in errors]
    ignored = sorted(k for k in dropped if k in cfg)
    note = f"; {v.version} no longer reads {', '.join(ignored)} (harmless here; `config migrate` drops them)" \
        if ignored else ""  # fmt: skip
    if problems:
        first = problems[0].splitlines()[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return False, f"not ready for {v.version}: {first}{more}", "\n".join(problems)
    return True, f"cardano-node {v.version} would start with config.json and topology.json as they are{note}", ""


@rule("release-config", "release V starts with the host's config.json and topology.json and ignores none of its "
      "settings that change how the node runs (legacy tracing, EnableP2P, LedgerDB backend, non-P2P topology)",
      Severity.ERROR, category=READINESS)  # fmt: skip
def check(c: Context) -> Result:
    v = target(c)
    running = c.facts.node_version
    if (past := already_past(c, v)) is not None:
        return past
    if c.facts.config_text is None:
        return False, f"{c.host.layout.config_path} unreadable ({probe_why(c, 'config')})", ""
    if c.facts.topology_text is None:
        return False, f"{c.host.layout.topology_path} unreadable ({probe_why(c, 'topology')})", ""
    return judge(v, running, c.facts.config_text, c.facts.topology_text)
