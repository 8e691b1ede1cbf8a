"""The pin an operator writes for one cardano-node release (`node_release`). Stdlib only: the lab's
simulated node and release server bundle the releases package (lab/releases.py walks its imports).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.cardano.releases.catalogue import TARGET_VERSION, release_filename

RELEASE_KEYS: tuple[str, ...] = ("version", "url", "sha256", "source")
RELEASE_SOURCES: tuple[str, ...] = ("download", "push")  # download: each host fetches; push: we upload
_SHA256 = re.compile(r"[0-9a-fA-F]{64}\Z")


class ReleasePinError(ValueError):
    """A `node_release` mapping that does not pin a release; the message names the key."""


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


@dataclass(frozen=True)
class ReleasePin:
    """The one cardano-node release a run installs, as the operator pinned it."""

    version: str
    url: str
    sha256: str | None  # None: not pinned (only with --allow-unpinned-release)
    source: str = "download"  # download: each host fetches; push: the control machine uploads

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1] or release_filename(self.version)

    @classmethod
    def from_mapping(cls, value: object) -> ReleasePin:
        """`node_release` as an inventory, a playbook's stage_release arguments or the audit give it.

        An empty url or sha256 means "not given" (a templated role argument renders a missing key as
        ""); source defaults to download. Raises ReleasePinError naming the key that is wrong.
        """
        if not isinstance(value, Mapping):
            raise ReleasePinError(f"'node_release' must be a mapping of {', '.join(RELEASE_KEYS)}, not {_type_name(value)}")
        for key in value:
            if key not in RELEASE_KEYS:
                close = difflib.get_close_matches(str(key), RELEASE_KEYS, n=1, cutoff=0.75)
                tail = f" — did you mean '{close[0]}'?" if close else f"; expected {', '.join(RELEASE_KEYS)}"
                raise ReleasePinError(f"unknown key '{key}' in node_release{tail}")
        version = value.get("version")
        if not isinstance(version, str) or not version.strip():
            raise ReleasePinError(f"node_release needs 'version' as a string, e.g. version: \"{TARGET_VERSION}\"")
        url = value.get("url")
        if url is not None and url != "" and (not isinstance(url, str) or not url.startswith(("https://", "http://", "file://"))):
            raise ReleasePinError("node_release 'url' must be an http(s):// or file:// URL")
        sha = value.get("sha256")
        if sha is not None and sha != "" and (not isinstance(sha, str) or not _SHA256.match(sha.strip())):
            raise ReleasePinError("node_release 'sha256' must be 64 hexadecimal digits")
        source = value.get("source") or "download"
        if source not in RELEASE_SOURCES:
            raise ReleasePinError(f"node_release 'source' must be one of {', '.join(RELEASE_SOURCES)}, not {source!r}")
        return cls(version.strip(), url or "", sha.strip().lower() if isinstance(sha, str) and sha else None, str(source))
