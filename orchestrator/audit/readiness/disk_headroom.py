"""`release-disk`: free space on the database filesystem for release V.

What is needed is the sum of
- the free disk V's notes ask for (cardano/releases/requirements.py, with its source; none stated
  for most releases, and then nothing is assumed), and
- the copy of `db/ledger/` a run keeps when the crossing to V changes the ledger-snapshot format, so
  that a rollback does not replay from genesis (cardano/crossing.py `cross`: its `DiskHeadroom`,
  the same figure `plan` shows; boundaries doc §d, §f "Back up … db/ledger/ (check disk first)").
Free space and the ledger's size are the probe's `disk` and `ledger` facts (`df -P`, `du -sk`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.audit.findings import Severity
from orchestrator.audit.readiness import already_past, probe_why, target
from orchestrator.audit.registry import READINESS, Result, rule
from orchestrator.cardano import crossing
from orchestrator.cardano.crossing import gib
from orchestrator.cardano.releases.requirements import requirements

if TYPE_CHECKING:
    from orchestrator.audit.checks import Context


@rule("release-disk", "free space on the database filesystem covers release V's stated free-disk requirement plus "
      "the db/ledger backup its crossing needs", Severity.ERROR, category=READINESS)  # fmt: skip
def check(c: Context) -> Result:
    v = target(c)
    running = c.facts.node_version
    if (past := already_past(c, v)) is not None:
        return past
    free = c.facts.disk_free_bytes
    if free is None:
        return False, f"free disk unknown ({probe_why(c, 'disk')})", ""
    stated = requirements(v.version)
    parts: list[tuple[int, str]] = []
    if stated is not None and stated.free_disk_bytes is not None:
        parts.append((stated.free_disk_bytes, f"{gib(stated.free_disk_bytes)} stated for {v.version} ({stated.source})"))
    cross = crossing.cross(running, v.version, network=c.host.network, free_bytes=free, ledger_bytes=c.facts.ledger_bytes)
    if cross.refusal is not None and not v.provisional:  # e.g. a running release the catalogue does not know
        return False, f"cannot tell the ledger backup the crossing to {v.version} needs: {cross.refusal}", ""
    backup = cross.disk.needed_bytes if cross.refusal is None else 0  # provisional V: its stated need only
    if backup is None:
        return False, f"cannot tell the disk {v.version} needs: {cross.disk.basis or cross.why}" \
                      f" ({probe_why(c, 'ledger', 'node_version')})", ""  # fmt: skip
    if backup:
        parts.append((backup, f"{gib(backup)} for the db/ledger backup ({cross.path_text}: {cross.disk.basis})"))
    needed = sum(n for n, _ in parts)
    why = "; ".join(t for _, t in parts) or f"no stated requirement for {v.version} and no ledger backup needed " \
                                                f"({cross.disk.basis or 'same snapshot format'})"  # fmt: skip
    where = f"{gib(free)} free on {c.host.layout.db_path}'s filesystem"
    if free < needed:
        return False, f"{where}, {gib(needed)} needed for {v.version}: short by {gib(needed - free)}", why
    return True, f"{where}, {gib(needed)} needed for {v.version}", why
