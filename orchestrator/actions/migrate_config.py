"""migrate_config: rewrite config.json as 8.9.0 P2P needs it (P2P flags, PeerSharing type, Conway genesis + hash).

The rules are those of the version the node runs once the host is done (the new release in an
upgrade, the running one in enable-p2p); this tool writes 8.9.0's, so any other version is refused
for that host with the reason. Every other key, the key order and the indentation are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.actions.base import (
    Action,
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
from orchestrator.actions.files import base_sha256, refuse_undecodable
from orchestrator.cardano import releases
from orchestrator.cardano.config import ConfigMigration, GenesisLookup, migrate_config, validate_config
from orchestrator.cardano.diffs import FileDiff, unified_diff
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.migrations import ChainMigration, migrate_config_to
from orchestrator.cardano.node_rules import GenesisEra
from orchestrator.cardano.releases import TARGET_VERSION
from orchestrator.facts.model import HostFacts
from orchestrator.model import Host


def facts_genesis_lookup(facts: HostFacts) -> GenesisLookup:
    """A GenesisLookup over the genesis hashes the facts probe took on the host."""
    probed: Mapping[str, Any] = facts.genesis

    def lookup(era: GenesisEra, path: str) -> tuple[str | None, str | None]:
        got = probed.get(era.era.lower())
        if got is None or got.path != path:
            return None, None  # not probed (or the probe read another path): not judged here
        if got.blake2b is None:
            return None, f"cannot read {path} on the host"
        return getattr(got, "node_hash", None) or (None if era.era == "Byron" else got.blake2b), None

    return lookup


@dataclass(frozen=True)
class MigrateConfig(Operation):
    """migrate_config's argument, declared once (actions/base.py `arg`); null or "" is None."""

    peer_sharing: bool | None = arg(None, "a relay's PeerSharing (None: keep its own choice; a block producer's "
                                    "is always false)")  # fmt: skip

    def reads(self, host: Host) -> str:
        return host.layout.config_path

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        host, facts = ctx.host, ctx.facts
        path = host.layout.config_path
        after, before = draft.version_after, draft.current_version
        assert facts.config_text is not None  # the planner refuses a host without its files first
        migration: ConfigMigration | ChainMigration
        if after != TARGET_VERSION:
            if after is not None and after == before == draft.target_version and releases.is_catalogued(after):
                self._keep_if_accepted(ctx, draft, after)  # no release change: judged by its own release's rules
                return
            if self.peer_sharing is not None:  # never a setting accepted and ignored
                raise HostPlanError(f"peer_sharing cannot be applied on the way to {after}: the hop-by-hop migration "
                                    f"(cardano/migrations.py) writes each release's own PeerSharing rules")  # fmt: skip
            if after is not None and after == before:
                raise HostPlanError(
                    f"runs {after}: the P2P config this playbook writes is for {TARGET_VERSION} (PeerSharing changed "
                    "type); use the upgrade playbook"
                )
            if after is None or before is None or not (releases.is_catalogued(after) and releases.is_catalogued(before)):
                raise HostPlanError(
                    f"runs {after or 'an unknown version'}: the config migration needs catalogued releases before and "
                    f"after ({', '.join(releases.known_versions())})"
                )
            refuse_undecodable(facts.config_text, path)
            try:  # hop by hop from the running release to the one it runs once done (cardano/migrations.py)
                migration = migrate_config_to(
                    facts.config_text, after, host.role, host.network, source=before, path=path,
                    genesis_lookup=facts_genesis_lookup(facts),
                )  # fmt: skip
            except (releases.DowngradeRefused, FileFormatError) as exc:
                raise HostPlanError(str(exc)) from None
        else:
            refuse_undecodable(facts.config_text, path)
            migration = migrate_config(
                facts.config_text, host.role, host.network, path=path, peer_sharing=self.peer_sharing,
                genesis_lookup=facts_genesis_lookup(facts),
            )  # fmt: skip
        for write in migration.writes:
            if write.path == path:
                diff = unified_diff(write.path, facts.config_text, write.content.decode("utf-8", "replace"),
                                    change_reason=write.reason)  # fmt: skip
            else:  # a genesis file: the facts carry its hash, not its bytes
                diff = FileDiff(write.path, f"# {write.path}: replaced whole by {write.reason}\n", write.reason)
            base = base_sha256(facts, "config", facts.config_text) if write.path == path else None
            draft.files.append(FileChange(write.path, write.content, diff, base))
            draft.reasons.append(diff.reason)
        if not migration.changed:
            draft.unchanged.append(FileDiff(path, "", f"config.json already set for {after}"))
        if isinstance(migration, ChainMigration):  # what each boundary changed: the diff is the sum of these
            for report in migration.hops:
                done = [f"{label} {item}" for label, items in (("added", report.added), ("removed", report.removed),
                        ("converted", report.converted)) for item in items]  # fmt: skip
                if done:
                    draft.reasons.append(f"config.json at {report.hop}: " + "; ".join(done))
                if report.operator_todo:  # what no step of the run does: the operator's, said before it runs
                    draft.reasons.append(f"at {report.hop} you must still: " + "; ".join(report.operator_todo))

    def _keep_if_accepted(self, ctx: PlanContext, draft: HostDraft, target: str) -> None:
        """A target whose config.json this tool cannot write yet (it writes 8.9.0's): the host's own
        file is kept when `target`'s rules accept it and run P2P with it (cardano/node_rules.py from
        the release catalogue); otherwise the host is refused with the node's reason, never half-done."""
        path = ctx.host.layout.config_path
        assert ctx.facts.config_text is not None  # the planner refuses a host without its files first
        refuse_undecodable(ctx.facts.config_text, path)
        unsupported = f"writing config.json for {target} is not supported yet (this tool writes {TARGET_VERSION}'s)"
        if self.peer_sharing is not None:
            raise HostPlanError(f"target {target}: peer_sharing cannot be applied: {unsupported}")
        check = validate_config(ctx.facts.config_text, target)
        if not check.ok:
            raise HostPlanError(f"target {target}: cardano-node {target} would refuse {path} "
                                f"({check.errors[0].splitlines()[0]}) and {unsupported}")  # fmt: skip
        if not check.p2p:
            raise HostPlanError(f"target {target}: {path} does not run P2P under {target} and {unsupported}")
        draft.unchanged.append(FileDiff(path, "", f"config.json accepted as it is by cardano-node {target} (P2P)"))


def parse(args: Mapping[str, Any]) -> MigrateConfig:
    return parse_args(MigrateConfig, args)


ACTION = Action(
    args_spec(MigrateConfig, "migrate_config",
              doc="rewrite config.json for 8.9.0 P2P (PeerSharing type, P2P flags, conway genesis + hash); "
                  "peer_sharing: true|false sets a relay's PeerSharing (a block producer's is always false)"),
    Slot.FILES,
    parse,
)  # fmt: skip
