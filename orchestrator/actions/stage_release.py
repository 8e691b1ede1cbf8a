"""stage_release: fetch (or receive) the release tarball, check its sha256, unpack it beside the running one.

Staging touches nothing running, so the executor stages every host at once before the first batch;
a host that already has the release (or already runs it) needs nothing.

The arguments are declared once, in `StageReleaseArgs` (the keys of an inventory's `node_release`,
which the bundled role passes); `ReleasePin.from_mapping` (cardano/releases/pin.py) then checks them
as it checks an inventory's pin, with the same words. One run installs one release: `check_run`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from orchestrator.actions.base import (
    Action,
    ArgError,
    HostDraft,
    Operation,
    PlanContext,
    RunDraft,
    RunRuleError,
    Slot,
    arg,
    args_spec,
    parse_args,
)
from orchestrator.cardano.releases import ReleasePin, ReleasePinError
from orchestrator.model import Host


@dataclass(frozen=True)
class StageReleaseArgs:
    """stage_release's arguments (actions/base.py `arg`); `omit`: an inventory's node_release may leave
    the key out, and it then means this default (prepare_vars)."""

    version: str = arg("", "the release, one the catalogue knows (e.g. 8.9.0)", required=True)
    url: str = arg("", "where the tarball is fetched (http(s):// or file://)")
    sha256: str = arg("", "the tarball's digest the operator verified (empty: not pinned, refused unless "
                      "--allow-unpinned-release)", omit=True)
    source: str = arg("download", "download: each host fetches url; push: the control machine uploads it",
                      omit=True)  # fmt: skip


@dataclass(frozen=True)
class StageRelease(Operation):
    pin: ReleasePin

    def check_run(self, run: RunDraft, host: Host) -> None:
        """One run installs one release: every stage_release step of the run pins the same one."""
        if run.release is not None and self.pin != run.release:
            raise RunRuleError(f"{host.name} pins release {self.pin} but others pin {run.release}; "
                               "one run installs one release")  # fmt: skip
        run.release = self.pin

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        version = self.pin.version
        if ctx.facts.node_version == version:
            return  # the node runs it: the plan's "nothing to do: node is <version>" says so
        if version in ctx.facts.releases:
            draft.reasons.append(f"release {version}: already staged on the host")
        else:
            draft.stage_release = True


def parse(args: Mapping[str, Any]) -> StageRelease:
    try:
        return StageRelease(ReleasePin.from_mapping(asdict(parse_args(StageReleaseArgs, args))))
    except ReleasePinError as exc:
        raise ArgError(str(exc)) from None


OMITTED = {f.name: f.default for f in fields(StageReleaseArgs) if f.metadata.get("omit")}


def prepare_vars(variables: dict[str, Any]) -> None:
    """An inventory's node_release replaces the role default whole: the keys it may leave out get
    their documented meaning (no sha256: refused unless --allow-unpinned-release), not 'undefined'."""
    pinned = variables.get("node_release")
    if isinstance(pinned, Mapping):
        variables["node_release"] = {**OMITTED, **pinned}


ACTION = Action(
    args_spec(StageReleaseArgs, "stage_release",
              doc="download (or push) the release tarball, verify sha256, unpack beside the running one"),
    Slot.RELEASE,
    parse,
    prepare_vars,
)  # fmt: skip
