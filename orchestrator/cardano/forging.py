"""Whether a block producer forges: the one home of what its command line, its forging metric and its
leadership checks say (issue 27). The handover (roll/handover.py, its SSH side roll/handover_remote.py)
and the `forging` fact (facts/forging.py: `facts`, `audit`'s one-forger-per-pool) read it the same way.

The node's own rules (cardano-node 10.6.4, /work/shared/docs/cardano-runtime-signals-10x.md §4):
- On SIGHUP, once consensus runs, the node re-reads the credential files its *command line* names
  (Cardano/Node/Run.hs `updateBlockForging` L714-747, Protocol/Shelley.hs L176-205): a missing file
  disables forging, valid files enable it. `--start-as-non-producing-node` (from 10.5.1, Parsers.hs
  L431-439) starts it with forging off whatever files are there (Run.hs L503-504).
- The `forging_enabled` metric (`forging_enabled_int` in the new tracing, `forging_enabled` legacy:
  the doc's metrics table) is set before the ledger replay (Run.hs L277-282) and so reads 1 while the
  node replays and forges nothing: it is a claim, not a proof.
- Proof of forging: a forging node checks its leadership every slot, `Forge.Loop.StartLeadershipCheck`
  "Checking for leadership in slot N", counted by `Forge.about_to_lead` (Tracers/Consensus.hs L1444,
  L1612): that counter rising between two samples is the proof. Its exact Prometheus name is
  UNCONFIRMED: `Forge_about_to_lead_counter` (the doc's table), `_int` and no suffix are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from orchestrator.cardano import health

_P = "cardano_node_metrics_"
# The leadership-check counter's names, in the order they are looked for.
LEADERSHIP_CHECKS = (_P + "Forge_about_to_lead_counter", _P + "Forge_about_to_lead_int", _P + "Forge_about_to_lead")


class Forging(StrEnum):
    """What two samples of a producer show of its forging."""

    ON = "on"  # leadership checks rose between the two samples: proven forging
    ENABLED = "enabled"  # the forging metric reads 1, no check seen rising: may forge (the metric reads 1 in a replay)
    OFF = "off"  # the metric reads 0 and no check rose
    UNKNOWN = "unknown"  # unreachable, or nothing exported

    @property
    def may_forge(self) -> bool:
        return self in (Forging.ON, Forging.ENABLED)

    @property
    def label(self) -> str:
        """How `facts` and `audit` name it."""
        return {Forging.ON: "forging", Forging.ENABLED: "enabled, not proven", Forging.OFF: "not forging",
                Forging.UNKNOWN: "unknown"}[self]  # fmt: skip


@dataclass(frozen=True)
class ForgingSample:
    """One look at a producer: `at` the machine's clock (monotonic seconds). `leadership_checks`: the
    node's running count of leadership checks (`Forge.Loop.StartLeadershipCheck` lines, or the
    `Forge_about_to_lead` counter, cardano-node Tracers/Consensus.hs L1444, L1612: a forging node
    checks every slot); `update_errors`: `Startup.BlockForgingUpdateError` lines since its start;
    `slot_lag`: slots behind the wall clock. None where the probe could not tell."""

    at: float
    reachable: bool = True
    forging_metric: bool | None = None
    leadership_checks: int | None = None
    update_errors: int | None = None
    slot_lag: int | None = None
    error: str | None = None


def forging_metric(metrics: Mapping[str, float]) -> bool | None:
    """The node's `forging_enabled` metric (either naming) as a flag; None: not exported."""
    value = health.metric(metrics, health.Metric.FORGING_ENABLED)
    return None if value is None else value != 0


def leadership_checks(metrics: Mapping[str, float]) -> int | None:
    """The leadership-check counter (LEADERSHIP_CHECKS, first found); None: not exported (a node that
    never checked may not export it yet)."""
    return next((int(metrics[n]) for n in LEADERSHIP_CHECKS if n in metrics), None)


def classify(prev: ForgingSample | None, cur: ForgingSample) -> Forging:
    """A producer's forging from its last two samples (`prev` None: the first)."""
    if not cur.reachable:
        return Forging.UNKNOWN
    if (prev is not None and prev.reachable and prev.leadership_checks is not None
            and cur.leadership_checks is not None and cur.leadership_checks > prev.leadership_checks):  # fmt: skip
        return Forging.ON
    if cur.forging_metric is True:
        return Forging.ENABLED
    if cur.forging_metric is False:
        return Forging.OFF
    return Forging.UNKNOWN


# The node's command-line flags that name forging credentials (cardano-node 10.6.4
# Cardano/Node/Parsers.hs, runtime-signals doc §4 [PAR]; Byron files, bulk credentials, Shelley
# KES/VRF/opcert). The KES agent socket (10.7+) is recognised and refused: its handover is not built.
CREDENTIAL_FLAGS = ("--shelley-kes-key", "--shelley-vrf-key", "--shelley-operational-certificate",
                    "--bulk-credentials-file", "--byron-delegation-certificate", "--byron-signing-key")  # fmt: skip
KES_AGENT_FLAG = "--shelley-kes-agent-socket"
NON_PRODUCING_FLAGS = ("--start-as-non-producing-node", "--non-producing-node")
# What a credential file is renamed to while its node must not forge (same directory: one rename(2)).
DISABLED_SUFFIX = ".handover-disabled"


@dataclass(frozen=True)
class Credentials:
    """What a node's command line says of its forging: the credential paths it names (in order),
    the KES agent socket, whether it was started non-producing, or why it cannot be handed over."""

    paths: tuple[str, ...] = ()
    kes_agent: str | None = None
    non_producing: bool = False
    error: str | None = None


def _safe_path(path: str) -> bool:
    return path.startswith("/") and not any(c in path for c in "\n\r\0") and "/../" not in path + "/"


def credentials(argv: Sequence[str]) -> Credentials:
    """The credential paths a cardano-node command line names (`--flag PATH` or `--flag=PATH`).
    A relative or odd path is refused (it reaches a rename on the host), as is none at all (a SIGHUP
    would then have nothing to re-read) and a KES agent socket (not built yet)."""
    paths: list[str] = []
    agent: str | None = None
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if name in CREDENTIAL_FLAGS or name == KES_AGENT_FLAG:
            if not eq:
                i += 1
                value = args[i] if i < len(args) else ""
            if name == KES_AGENT_FLAG:
                agent = value
            elif value not in paths:
                paths.append(value)
        i += 1
    non_producing = any(a in NON_PRODUCING_FLAGS for a in args)
    error = None
    if agent is not None:
        error = f"the node takes its KES key from an agent ({KES_AGENT_FLAG} {agent}): its handover is not built yet"
    elif not paths:
        error = ("its command line names no credential files (" + ", ".join(CREDENTIAL_FLAGS[:3]) + "): "
                 "a SIGHUP cannot enable or disable its forging")  # fmt: skip
    else:
        bad = [p for p in paths if not _safe_path(p)]
        if bad:
            error = f"credential path(s) {', '.join(repr(p) for p in bad)} are not plain absolute paths"
    return Credentials(tuple(paths), agent, non_producing, error)
