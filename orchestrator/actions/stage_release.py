"""stage_release: fetch (or receive) the release tarball, check its sha256, unpack it beside the running one.

Staging touches nothing running, so the executor stages every host at once before the first batch;
a host that already has the release (or already runs it) needs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.actions.base import Action, ArgError, HostDraft, PlanContext, Slot, spec, text
from orchestrator.model import ReleasePin

SOURCES = ("download", "push")


@dataclass(frozen=True)
class StageRelease:
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
    version = text(args, "version")
    if not version:
        raise ArgError("version must be a release version such as 8.9.0")
    sha = text(args, "sha256").lower() or None
    if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        raise ArgError(f"sha256 {sha!r} is not 64 hex digits")
    source = text(args, "source", "download") or "download"
    if source not in SOURCES:
        raise ArgError(f"source must be download or push, not {source!r}")
    return StageRelease(ReleasePin(version, text(args, "url"), sha, source))


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
