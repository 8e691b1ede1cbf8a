"""Audit rule peer-snapshot-age: the peer snapshot is not older than the topology's
useLedgerAfterSlot. With ledger peers on, an older snapshot stops a 10.7+ node (RUN @11.0.1
L839-848) and a 10.6.2+ node in Genesis mode (RUN @10.6.4 L797-799); otherwise it is ignored, and the
node syncs without it (cardano/consensus_mode.py snapshot_age_fatal)."""

from __future__ import annotations

from typing import Any

from orchestrator.audit.findings import Severity
from orchestrator.audit.peer_snapshot_common import pair_of
from orchestrator.audit.registry import Result, rule
from orchestrator.cardano.consensus_mode import snapshot_age_fatal


@rule("peer-snapshot-age", "the peer snapshot is not older than the topology's useLedgerAfterSlot",
      Severity.ERROR, category="genesis")  # fmt: skip
def check(c: Any) -> Result:
    pair = pair_of(c)
    if pair.named is None or pair.snapshot is None or pair.snapshot.sha256 is None:
        return True, "no peer snapshot to judge", ""
    if not pair.ledger_on:
        return True, "ledger peers off (useLedgerAfterSlot absent or negative): the snapshot is not read", ""
    if pair.slot is None:
        return False, f"{pair.snapshot.path}: no slot in it (an unknown format)", ""
    use = pair.use_ledger_after_slot
    if use is not None and pair.slot < use:
        fatal = pair.version is not None and snapshot_age_fatal(pair.version, pair.mode)
        effect = f"{pair.version} stops at start" if fatal else "the node ignores it"
        return False, f"snapshot slot {pair.slot} is older than useLedgerAfterSlot {use}: {effect} " \
                      f"({pair.mode.value}); install the release's snapshot with its topology", ""  # fmt: skip
    return True, f"snapshot slot {pair.slot} >= useLedgerAfterSlot {use}", ""


RULE = check
