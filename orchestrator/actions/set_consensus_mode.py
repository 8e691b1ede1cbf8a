"""set_consensus_mode: Praos or Genesis, per group (`consensus_mode`), with the files each mode needs.

Genesis mode (issue 26 item 4) is what a relay or a passive ledger node switches to deliberately:
config.json `ConsensusMode: GenesisMode`; a topology that does not rely on bootstrap peers
(`"bootstrapPeers": null`: the node drops them in GenesisMode anyway, TOP @11.0.1 L123) and uses
ledger peers (useLedgerAfterSlot ≥ 0, the target release's when the file has none); and the release's
own peer snapshot beside it (`peerSnapshotFile`, the release's shipped file for the host's network),
so that topology and snapshot are one versioned pair. A block producer stays on Praos with its local
roots: `genesis` for one is refused (the inventory loader refuses it at the operator's file:line;
here, a value from `-e` or a playbook). `praos` writes `PraosMode` where the config says otherwise,
touching nothing else. Unset (the role's default, null) leaves the mode as the host's config has it.
Facts and sources: cardano/consensus_mode.py.

This step runs after convert_topology and install_peer_snapshot (roles/p2p_topology/steps.yml): it
reads their output from the draft and replaces those files' changes, so one file is written once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.actions.base import (
    Action,
    ArgError,
    FileChange,
    HostDraft,
    HostPlanError,
    Operation,
    PlanContext,
    Slot,
    arg,
    args_spec,
    parse_args,
)
from orchestrator.actions.files import base_sha256
from orchestrator.actions.install_peer_snapshot import shipped_peer_snapshot, shipped_snapshot_name, snapshot_path
from orchestrator.cardano import node_rules, releases
from orchestrator.cardano.config import load_config_text, render_like, render_yaml_like
from orchestrator.cardano.consensus_mode import (
    CONFIG_KEY,
    PRODUCER_REFUSAL,
    ConsensusMode,
    accepts_genesis,
    config_mode,
    snapshot_age_fatal,
)
from orchestrator.cardano.diffs import FileDiff, unified_diff
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.shipped_topology import NoShippedTopology, release_network
from orchestrator.cardano.topology import topology_changes
from orchestrator.model import PassiveTopology, Role
from orchestrator.patterns.suggest import did_you_mean


def _current(draft: HostDraft, path: str, fallback: str | None) -> tuple[str | None, FileChange | None]:
    change = next((c for c in draft.files if c.path == path), None)
    return (change.content.decode("utf-8") if change is not None else fallback), change


def _put(draft: HostDraft, path: str, before: str | None, after: str, reason: str, base: str | None,
         old: FileChange | None) -> None:  # fmt: skip
    """Record `after` as the file's new content (replacing an earlier step's change of it)."""
    if after == before and old is None:
        return
    combined = reason
    if old is not None:
        draft.files.remove(old)
        combined = f"{old.diff.reason}; {reason}"  # the earlier step's reason is already in draft.reasons
    diff = unified_diff(path, before, after, change_reason=combined)
    draft.files.append(FileChange(path, after.encode(), diff, base if old is None else old.base_sha256))
    draft.reasons.append(reason)


def _mode(args: Mapping[str, Any], key: str, default: ConsensusMode | None) -> ConsensusMode | None:
    """praos or genesis (case as written: the setting's words); null or "" is unset; a near miss
    (`genesys`, `Genesis`) is refused with the word meant."""
    value = args.get(key, default)
    if value is None or value == "" or isinstance(value, ConsensusMode):
        return value if value != "" else None
    words = [m.value for m in ConsensusMode]
    if isinstance(value, str) and value in words:
        return ConsensusMode(value)
    hint = did_you_mean(str(value), words)
    tail = f" — did you mean '{hint}'?" if hint else ""
    raise ArgError(f"{key} must be one of {', '.join(words)} (or null: as config.json says), not {value!r}{tail}")


@dataclass(frozen=True)
class SetConsensusMode(Operation):
    """set_consensus_mode's argument, declared once (actions/base.py `arg`); null or "" is None."""

    mode: ConsensusMode | None = arg(None, "praos or genesis (None: as the host's config.json says); a block "
                                     "producer: praos only", parse=_mode)  # fmt: skip

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        host = ctx.host
        if self.mode is None:
            return
        if host.role is Role.BLOCK_PRODUCER and self.mode is ConsensusMode.GENESIS:
            raise HostPlanError(PRODUCER_REFUSAL)
        version = draft.version_after
        if version is None or not releases.is_catalogued(version):
            raise HostPlanError(f"consensus_mode {self.mode.value}: the release {host.name} will run is not known")
        if not accepts_genesis(version):
            if self.mode is ConsensusMode.GENESIS:
                raise HostPlanError(f"consensus_mode genesis: {version} does not read ConsensusMode (first read in "
                                    "10.2, POM @10.2.1 L355); pin a 10.2+ release")  # fmt: skip
            return  # Praos is all it runs
        self._config(ctx, draft, version)
        if self.mode is ConsensusMode.GENESIS:
            self._genesis_topology(ctx, draft, version)

    def _config(self, ctx: PlanContext, draft: HostDraft, version: str) -> None:
        path = ctx.host.layout.config_path
        text, old = _current(draft, path, ctx.facts.config_text)
        assert text is not None  # the planner refuses a host without its files first
        try:
            cfg, kind = load_config_text(text, path)
        except FileFormatError as exc:
            raise HostPlanError(str(exc)) from None
        assert self.mode is not None
        if config_mode(cfg, version) is self.mode and cfg.get(CONFIG_KEY) in (None, self.mode.config_value):
            if old is None:
                draft.unchanged.append(FileDiff(path, "", f"{CONFIG_KEY} already {self.mode.config_value}"))
            return
        wanted = {**cfg, CONFIG_KEY: self.mode.config_value}
        after = render_yaml_like(cfg, wanted, text, path) if kind == "yaml" else render_like(wanted, text)
        shown = cfg.get(CONFIG_KEY, "absent (PraosMode)")
        reason = f"{CONFIG_KEY}: {shown} -> {self.mode.config_value} (consensus_mode {self.mode.value})"
        _put(draft, path, ctx.facts.config_text if old is None else text, after, reason,
             base_sha256(ctx.facts, "config", ctx.facts.config_text or ""), old)  # fmt: skip

    def _genesis_topology(self, ctx: PlanContext, draft: HostDraft, version: str) -> None:
        host, facts = ctx.host, ctx.facts
        passive = host.vars.get("passive_topology", PassiveTopology.LEDGER.value)
        if host.role is Role.PASSIVE and passive == PassiveTopology.PRIVATE.value:
            raise HostPlanError("consensus_mode genesis with passive_topology private: Genesis syncs from big "
                                "ledger peers, which a private passive node does not use (TOP @11.0.1 L89-92); "
                                "use passive_topology ledger, or keep it on Praos")  # fmt: skip
        path = host.layout.topology_path
        text, old = _current(draft, path, facts.topology_text)
        try:
            topology: Any = json.loads(text or "")
        except ValueError:
            raise HostPlanError(f"{path}: not JSON; convert it first (convert_topology)") from None
        if not isinstance(topology, dict) or "localRoots" not in topology:
            raise HostPlanError(f"{path}: not a P2P topology; Genesis mode needs one (convert_topology first)")
        try:
            net = release_network(version, host.network)
        except NoShippedTopology as exc:
            raise HostPlanError(f"consensus_mode genesis: {exc}") from None
        wanted = dict(topology)
        wanted["bootstrapPeers"] = None  # no reliance on bootstrap peers (dropped in GenesisMode anyway)
        slot = wanted.get("useLedgerAfterSlot")
        if not isinstance(slot, int) or isinstance(slot, bool) or slot < 0:
            wanted["useLedgerAfterSlot"] = net.use_ledger_after_slot  # Genesis syncs from ledger peers
        name = wanted.get("peerSnapshotFile")
        if not isinstance(name, str) or not name:
            name = net.peer_snapshot_file or shipped_snapshot_name(host.network)
            wanted["peerSnapshotFile"] = name
        snapshot = shipped_peer_snapshot(version, host.network)
        if snapshot is None:
            raise HostPlanError(f"consensus_mode genesis: the catalogue has no {version} peer snapshot for "
                                f"{host.network}; copy the release's share/{host.network}/peer-snapshot.json")  # fmt: skip
        _, snap_slot, _ = node_rules.peer_snapshot_format(json.loads(snapshot))
        use = wanted["useLedgerAfterSlot"]
        too_old = snap_slot is not None and isinstance(use, int) and snap_slot < use
        if too_old and snapshot_age_fatal(version, ConsensusMode.GENESIS):
            raise HostPlanError(f"consensus_mode genesis: {version}'s {host.network} peer snapshot (slot {snap_slot}) "
                                f"is older than the topology's useLedgerAfterSlot {use}: {version} would stop at "
                                "start (LedgerPeerSnapshotTooOld); lower use_ledger_after_slot or keep it on Praos")  # fmt: skip
        after = render_like(wanted, text)
        if wanted != topology:
            changes = "; ".join(topology_changes(topology, wanted))
            _put(draft, path, facts.topology_text if old is None else text, after,
                 f"Genesis mode: no bootstrap peers, ledger peers on, the release's peer snapshot ({changes})",
                 base_sha256(facts, "topology", facts.topology_text or ""), old)  # fmt: skip
        snap_path = snapshot_path(path, name)
        if any(c.path == snap_path for c in draft.files):
            return  # install_peer_snapshot already writes the release's file there
        if facts.peer_snapshot is not None and facts.peer_snapshot.path == snap_path and \
                facts.peer_snapshot.sha256 == _sha256(snapshot):  # fmt: skip
            draft.unchanged.append(FileDiff(snap_path, "", f"{version}'s {host.network} peer snapshot already there"))
            return
        reason = (f"{snap_path}: {version}'s shipped {host.network} peer snapshot, paired with the topology's "
                  f"useLedgerAfterSlot {wanted['useLedgerAfterSlot']} (Genesis mode)")  # fmt: skip
        shown = f"(the whole file: {version}'s {host.network} peer snapshot, {len(snapshot)} bytes)\n"
        draft.files.append(FileChange(snap_path, snapshot, FileDiff(snap_path, shown, reason)))
        draft.reasons.append(reason)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse(args: Mapping[str, Any]) -> SetConsensusMode:
    return parse_args(SetConsensusMode, args)


ACTION = Action(
    args_spec(SetConsensusMode, "set_consensus_mode",
              doc="consensus_mode praos|genesis: config.json ConsensusMode; genesis (relays, passive ledger nodes): "
                  "no bootstrap peers, ledger peers on, the release's peer snapshot beside the topology; refused "
                  "for a block producer"),
    Slot.FILES,
    parse,
)  # fmt: skip
