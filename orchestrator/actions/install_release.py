"""install_release: point bin_dir at a release (the switch takes effect at the restart that follows).

The release must be on the host already or staged by this run; a host that runs it needs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.actions.base import Action, ArgError, HostDraft, HostPlanError, Operation, PlanContext, Slot, spec, text


@dataclass(frozen=True)
class InstallRelease(Operation):
    version: str

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        draft.target_version = self.version
        running = ctx.facts.node_version
        if running == self.version:
            return  # the plan's "nothing to do: node is <version>" says so
        staged_now = draft.stage_release and ctx.release is not None and ctx.release.version == self.version
        if not staged_now and self.version not in ctx.facts.releases:
            pinned = f"this run stages {ctx.release.version}" if ctx.release else "this run stages no release"
            raise HostPlanError(f"install_release {self.version}: not on the host and {pinned}")
        draft.switch_binary = True
        draft.reasons.append(f"binary {running or 'unknown'} → {self.version}")


def parse(args: Mapping[str, Any]) -> InstallRelease:
    version = text(args, "version")
    if not version:
        raise ArgError("version must be a release version such as 8.9.0")
    return InstallRelease(version)


ACTION = Action(
    spec("install_release", ["version"], disruptive=True,
         doc="switch bin_dir to a release on the host or staged by this run (takes effect at the restart)"),
    Slot.BINARY,
    parse,
)  # fmt: skip
