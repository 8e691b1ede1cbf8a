"""`release-config`: the host's real config.json and topology.json, read as release V reads them.

Fails when V would refuse them at startup (no `TraceOptions` where V runs the new tracing — every
config without it before 11.1 —, a LedgerDB backend V dropped such as LMDB in 11.1, a non-P2P
topology from 10.6), or would silently ignore a setting in a way that changes how the node runs
(`EnableP2P` on a non-P2P node going to 10.6+, `UseTraceDispatcher: false` going to 11.1). The facts
and their sources are cardano/readiness.py's (the node's own parsing rules for V, the catalogue's
`keys_removed`); this module only turns its verdict into a finding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.audit.findings import Severity
from orchestrator.audit.readiness import already_past, probe_why, target
from orchestrator.audit.registry import READINESS, Result, rule
from orchestrator.cardano.readiness import config_readiness
from orchestrator.cardano.releases import NodeRelease

if TYPE_CHECKING:
    from orchestrator.audit.checks import Context


def judge(v: NodeRelease, running: str | None, config_text: str, topology_text: str | None) -> Result:
    """The finding for these files and release V (pure: the reference-file tests call it directly)."""
    verdict = config_readiness(v, running, config_text, topology_text)
    if not verdict.ready:
        first = verdict.problems[0].splitlines()[0]
        more = f" (+{len(verdict.problems) - 1} more)" if len(verdict.problems) > 1 else ""
        return False, f"not ready for {v.version}: {first}{more}", "\n".join(verdict.problems)
    note = f"; {v.version} no longer reads {', '.join(verdict.ignored)} (harmless here; `config migrate` drops them)" \
        if verdict.ignored else ""  # fmt: skip
    return True, f"cardano-node {v.version} would start with config.json and topology.json as they are{note}", ""


@rule("release-config", "release V starts with the host's config.json and topology.json and ignores none of its "
      "settings that change how the node runs (legacy tracing, EnableP2P, LedgerDB backend, non-P2P topology)",
      Severity.ERROR, category=READINESS)  # fmt: skip
def check(c: Context) -> Result:
    v = target(c)
    if (past := already_past(c, v)) is not None:
        return past
    if c.facts.config_text is None:
        return False, f"{c.host.layout.config_path} unreadable ({probe_why(c, 'config')})", ""
    if c.facts.topology_text is None:
        return False, f"{c.host.layout.topology_path} unreadable ({probe_why(c, 'topology')})", ""
    return judge(v, c.facts.node_version, c.facts.config_text, c.facts.topology_text)
