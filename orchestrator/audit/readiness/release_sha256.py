"""`release-sha256`: the installed release is the tarball the operator pinned, and its binaries are
still the ones unpacked from it.

`run` checks the downloaded (or pushed) tarball against the inventory's pinned sha256 before it
unpacks it, and records the tarball's digest and its cardano-node/cardano-cli digests in the staged
release (`.cardano-fleet-sha256`, roll/remote.py). The tarball itself is not kept. This rule reads
that record for the release bin_dir points into (the `release_sums` fact, which hashes the recorded
binaries again now) and fails when
- a binary changed since it was staged (replaced or corrupted),
- the recorded tarball digest is not the sha256 the inventory pins for that release, or
- there is no record: the release was not staged by cardano-fleet (installed by hand, another tool,
  or the lab's own provisioning), so nothing ties the binary to a checked tarball.
The release's published `cardano-node-<v>-sha256sums.txt` (from 8.12.0-pre on; none for 8.9.x:
boundaries doc §c) is checked at staging (releases/sums.py: a mismatch refuses to stage) and its
outcome recorded as the record's `# sha256sums: ...` line; the rule reports it ("matches
cardano-node-<v>-sha256sums.txt", "not verified against it: why", "publishes none"). A record
written before that check has no such line: the rule then names the sums file for the operator to
compare the pin with by hand (the catalogue holds no digest values).

Default severity warning: a host installed by other means is common and the rule cannot judge it;
raise it to error in the policy (`rules: {release-sha256: error}`) where every host is staged by
cardano-fleet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.audit.findings import Severity
from orchestrator.audit.readiness import probe_why, target
from orchestrator.audit.registry import READINESS, Result, rule
from orchestrator.cardano import releases
from orchestrator.cardano.releases import ReleasePin, ReleasePinError

if TYPE_CHECKING:
    from orchestrator.audit.checks import Context


def _published(version: str, recorded: str | None = None, record: bool = False) -> str:
    """What the staging record says of the release's sums file; without that, what to do."""
    if recorded is not None:
        return f"sha256sums: {recorded}"
    if not releases.is_catalogued(version):
        return f"{version} is not in the release catalogue: check its sums file by hand"
    name = releases.sha256sums_filename(version)
    if name is None:
        return f"{version} publishes no sha256sums file (boundaries doc §c): the pin is the only check"
    if record:  # written before staging checked the sums file
        return f"staged before cardano-fleet checked {name}: compare the pin with it by hand"
    return f"compare the pin with {name}, published beside the tarball"


@rule("release-sha256", "the running release was staged from a tarball whose sha256 is the inventory's pin, and its "
      "cardano-node/cardano-cli are unchanged since (the staging record)", Severity.WARNING, category=READINESS)  # fmt: skip
def check(c: Context) -> Result:
    target(c)
    if "release_sums" in c.facts.probe_errors:
        return False, f"staging record unreadable ({probe_why(c, 'release_sums')})", ""
    installed = c.facts.installed_release
    if installed is None:
        return False, f"{c.host.layout.bin_dir} does not point into {c.host.layout.releases_dir}: the installed " \
                      "release cannot be tied to a tarball", ""  # fmt: skip
    sums = c.facts.installed_sums
    if sums is None:
        return False, f"release {installed} has no staging record: not staged by cardano-fleet, so its tarball's " \
                      f"sha256 is unknown; {_published(installed)}", ""  # fmt: skip
    (tar_name, tar_sum, _), binaries = sums[0], sums[1:]  # the record's first line is the tarball's
    changed = [f"{path} (staged {was[:12]}…, now {now[:12] + '…' if now else 'missing'})"
               for path, was, now in binaries if now != was]  # fmt: skip
    detail = "\n".join(f"{was}  {path}" for path, was, _ in sums)
    if changed:
        return False, f"release {installed}: changed since staging: {', '.join(changed)}", detail
    try:
        pin = ReleasePin.from_mapping(c.host.vars.get("node_release"))
    except ReleasePinError:
        pin = None
    pinned = pin is not None and pin.version == installed and bool(pin.sha256)
    if pin is not None and pinned and pin.sha256 and tar_sum != pin.sha256.lower():
        return False, f"release {installed} was staged from {tar_name} with sha256 {tar_sum[:12]}…, the inventory " \
                      f"pins {pin.sha256[:12]}…", detail  # fmt: skip
    how = "= the inventory's pin" if pinned else "(the inventory pins another release or no sha256 now: it matched " \
                                                 "the pin of the run that staged it)"  # fmt: skip
    return True, f"release {installed}: {tar_name} sha256 {tar_sum[:12]}… {how}; {len(binaries)} binaries unchanged " \
                 f"since staging; {_published(installed, c.facts.installed_sums_published, record=True)}", detail  # fmt: skip
