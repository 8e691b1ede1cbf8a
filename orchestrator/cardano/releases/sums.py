"""The release's published sums file, `cardano-node-<v>-sha256sums.txt`, checked at staging.

Format (the release workflow, IntersectMBO/cardano-node `.github/workflows/release-upload.yaml`,
step "Checksums": `sha256sum cardano-node-* >> "$sha256sums_filename"`; @10.6.2 L51-129 the same
file name): GNU `sha256sum` output, one `<64 hex>␠␠<bare file name>` line per asset (`␠*<name>`
if written in binary mode; boundaries doc §c: "check it with `sha256sum -c --ignore-missing`, no
signatures"). Published from 8.12.0-pre on, none for 8.9.x (the catalogue's `sha256sums`).

The outcome is one line of the staging record (`# sha256sums: ...`, roll/remote.py), read back by
the readiness audit's `release-sha256`:
- MATCHES: the sums file's line for the tarball is the tarball's digest;
- MISMATCH: it is not — staging is refused (the pin may be wrong, or the sums file or the tarball
  was tampered with; either way the operator must look);
- NOT_VERIFIED: the sums file could not be fetched, is malformed or has no line for the tarball —
  recorded and printed, not a refusal: the pinned sha256 already ties the tarball to the operator's
  choice, and a mirror that carries only the tarball is common;
- NONE: the release publishes no sums file (8.9.x and older).
Stdlib only (the releases package is bundled into the lab's simulated node).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from orchestrator.cardano.releases.catalogue import is_catalogued, sha256sums_filename

_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](.+)")
RECORD_PREFIX = "# sha256sums: "  # the staging record's line; not a `sha256sum` line, so older readers skip it


class SumsFileError(ValueError):
    """A sums file that is not `sha256sum` output; the message names the line."""


class SumsOutcome(enum.Enum):
    MATCHES = "matches"
    MISMATCH = "mismatch"
    NOT_VERIFIED = "not verified"
    NONE = "publishes none"


@dataclass(frozen=True)
class SumsCheck:
    """What the published sums file says about one tarball. `expected`: its digest there (None
    when not known); `note`: the staging record's line text (after RECORD_PREFIX)."""

    outcome: SumsOutcome
    name: str | None  # the sums file's name (None: the release publishes none)
    expected: str | None = None
    why: str = ""

    @property
    def note(self) -> str:
        if self.outcome is SumsOutcome.NONE:
            return self.why or "publishes none"
        if self.outcome is SumsOutcome.NOT_VERIFIED:
            return f"not verified against {self.name}: {self.why}"
        return f"matches {self.name}" if self.outcome is SumsOutcome.MATCHES else f"does not match {self.name}: {self.why}"


def published_name(version: str) -> str | None:
    """The sums file's name where the catalogue says the release publishes one (None otherwise,
    including an uncatalogued version: see `expected_for`)."""
    return sha256sums_filename(version) if is_catalogued(version) else None


def sums_url(tarball_url: str, name: str) -> str:
    """The sums file beside the tarball: the release page publishes both as assets of one release."""
    return f"{tarball_url.rsplit('/', 1)[0]}/{name}"


def parse(text: str) -> dict[str, str]:
    """File name → lower-case sha256, from `sha256sum` output; blank lines skipped. Raises
    SumsFileError for any other line, or a name listed twice with different digests."""
    sums: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        match = _LINE.fullmatch(line)
        if not match:
            raise SumsFileError(f"line {n} is not `<sha256>  <file>`: {line[:80]!r}")
        digest, name = match[1].lower(), match[2]
        if sums.get(name, digest) != digest:
            raise SumsFileError(f"line {n} lists {name} a second time with another sha256")
        sums[name] = digest
    return sums


def expected_for(version: str, filename: str, text: str | None, fetch_error: str = "") -> SumsCheck:
    """Before the tarball is hashed: what the sums file (its text, or why it could not be fetched)
    says the tarball `filename` must hash to."""
    if not is_catalogued(version):
        return SumsCheck(SumsOutcome.NOT_VERIFIED, f"cardano-node-{version}-sha256sums.txt",
                         why=f"{version} is not in the release catalogue, so whether it publishes one is unknown")  # fmt: skip
    name = published_name(version)
    if name is None:
        return SumsCheck(SumsOutcome.NONE, None, why=f"{version} publishes none (boundaries doc §c)")
    if text is None:
        return SumsCheck(SumsOutcome.NOT_VERIFIED, name, why=fetch_error or "not fetched")
    try:
        sums = parse(text)
    except SumsFileError as e:
        return SumsCheck(SumsOutcome.NOT_VERIFIED, name, why=str(e))
    if filename not in sums:
        return SumsCheck(SumsOutcome.NOT_VERIFIED, name, why=f"it has no line for {filename}")
    return SumsCheck(SumsOutcome.MATCHES, name, expected=sums[filename])


def against(check: SumsCheck, filename: str, digest: str) -> SumsCheck:
    """The tarball's actual digest against what the sums file expects: MISMATCH names both."""
    if check.expected is None or check.expected == digest.lower():
        return check
    return SumsCheck(SumsOutcome.MISMATCH, check.name, check.expected,
                     why=mismatch(filename, digest.lower(), check.name or "", check.expected))  # fmt: skip


def mismatch(filename: str, digest: str, name: str, expected: str) -> str:
    """The refusal's reason, naming both digests and the sums file (roll/remote.py prints the same
    words from the host's shell)."""
    return f"sha256 mismatch for {filename}: it has {digest}, {name} says {expected}"
