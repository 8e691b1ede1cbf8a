"""stage_release: fetch (or receive) the release tarball, check its sha256, unpack it beside the running one.

Staging touches nothing running, so the executor stages every host at once before the first batch;
a host that already has the release (or already runs it) needs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.actions.base import Action, ArgError, HostDraft, Operation, PlanContext, Slot, spec, text
from orchestrator.cardano.releases import RELEASE_KEYS, ReleasePin, ReleasePinError


@dataclass(frozen=True)
class StageRelease(Operation):
    pin: ReleasePin

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
        return StageRelease(ReleasePin.from_mapping({k: text(args, k) for k in RELEASE_KEYS if k in args}))
    except ReleasePinError as exc:
        raise ArgError(str(exc)) from None


def prepare_vars(variables: dict[str, Any]) -> None:
    """An inventory's node_release replaces the role default whole: the keys it may leave out get
    their documented meaning (no sha256: refused unless --allow-unpinned-release), not 'undefined'."""
    pinned = variables.get("node_release")
    if isinstance(pinned, Mapping):
        variables["node_release"] = {"sha256": "", "source": "download", **pinned}


ACTION = Action(
    spec("stage_release", ["version"], ["url", "sha256", "source"],
         doc="download (or push) the release tarball, verify sha256, unpack beside the running one"),
    Slot.RELEASE,
    parse,
    prepare_vars,
)  # fmt: skip
