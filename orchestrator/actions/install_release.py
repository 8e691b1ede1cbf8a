"""install_release: point bin_dir at a release (the switch takes effect at the restart that follows).

The release must be on the host already or staged by this run; a host that runs it needs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.actions.base import (
    Action,
    ArgError,
    HostDraft,
    HostPlanError,
    Operation,
    PlanContext,
    Slot,
    arg,
    args_spec,
    parse_args,
    text,
)


def _version(args: Mapping[str, Any], key: str, default: str) -> str:
    version = text(args, key, default)
    if not version:
        raise ArgError(f"{key} must be a release version such as 8.9.0")
    return version


@dataclass(frozen=True)
class InstallRelease(Operation):
    """install_release's argument, declared once (actions/base.py `arg`)."""

    version: str = arg("", "the release bin_dir points at afterwards (the role's node_release.version)",
                       required=True, parse=_version)

    def installs(self) -> str:
        return self.version

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
    return parse_args(InstallRelease, args)


ACTION = Action(
    args_spec(InstallRelease, "install_release", disruptive=True,
              doc="switch bin_dir to a release on the host or staged by this run (takes effect at the restart)"),
    Slot.BINARY,
    parse,
)  # fmt: skip
