"""The lab node's block forging: its start (producing or not), the SIGHUP credential reload with its
three outcomes, a leadership check per slot while it forges, and a per-slot record of it (stdlib
only: the lab node runs on the hosts' bare python3).

What the real node does (cardano-node 10.6.4; /work/shared/docs/cardano-runtime-signals-10x.md §4):
- `--start-as-non-producing-node` (10.5.1+, or the deprecated `--non-producing-node`) skips
  `setBlockForging` at the start (Run.hs L503-504): the node runs without forging although its
  command line names credentials.
- SIGHUP, once consensus runs, calls `updateBlockForging`, which re-reads the credential files the
  command line names (Run.hs L714-747; Protocol/Shelley.hs L176-205): a missing file disables
  forging, valid files enable it, any other error keeps the old state and traces
  `Startup.BlockForgingUpdateError` (Error) "Block forging is not reconfigured" (Run.hs L725-731).
  During the replay it traces `BlockForgingUpdate NotEffective` instead (Run.hs L518-540).
- `Startup.BlockForgingUpdate` says "Performing block forging reconfiguration: Enabling…/Disabling…"
  at Info (Startup.hs L203-206, L552-564): the shipped config (Startup at Notice) does not log it.
- A forging node checks its leadership every slot: `Forge.Loop.StartLeadershipCheck` "Checking for
  leadership in slot N" (Consensus.hs L1444; Info, logged by the shipped config's `Forge.Loop`) and
  the `Forge.about_to_lead` counter (L1612).

The lab cannot tell valid credentials from invalid ones without opening them, and it never opens
a key file (tests check the files' atimes): present files are valid, and the `forging_update_error`
fault stands in for any other error. What the `forging_enabled` metric does after a SIGHUP is not
confirmed from the source (the lab sets it from the new state, as a BlockForgingUpdate trace would).

Per-slot record: each slot the node checked its leadership in, one per line, appended to
`<db>/lab-forging.log` (RECORD_FILE), so that a test can prove no slot had two forgers and no
leader slot had none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

RECORD_FILE = "lab-forging.log"
FAULT = "forging_update_error"  # the lab fault: a SIGHUP with the files present fails, state kept


class Update(Enum):
    """What a SIGHUP did to forging (the `enabled` field of Startup.BlockForgingUpdate, or the error)."""

    ENABLED = "EnabledBlockForging"
    DISABLED = "DisabledBlockForging"
    NOT_EFFECTIVE = "NotEffective"
    ERROR = "BlockForgingUpdateError"


@dataclass
class Forging:
    """A node's forging: the credential paths its command line names (never opened), whether it forges
    now, its leadership checks so far, and its BlockForgingUpdateError count."""

    paths: tuple[str, ...]
    enabled: bool
    record: str | None = None  # where each checked slot is appended (None: not recorded)
    checks: int = 0
    errors: int = 0
    last_slot: int | None = None
    history: list[int] = field(default_factory=list, repr=False)  # the slots checked by this process

    @classmethod
    def at_start(cls, paths: Sequence[str], non_producing: bool, record: str | None = None) -> Forging:
        """Forging from the start when credentials are named, all present, and the node was not
        started non-producing."""
        enabled = bool(paths) and not non_producing and all(os.path.lexists(p) for p in paths)
        return cls(tuple(paths), enabled, record)

    def reload(self, ready: bool, error_fault: bool) -> Update:
        """A SIGHUP: NotEffective before consensus runs; else a missing file disables, an error (the
        fault, with the files present) keeps the state, present files enable. Only stat(2): no open."""
        if not ready:
            return Update.NOT_EFFECTIVE
        if not self.paths or any(not os.path.lexists(p) for p in self.paths):
            self.enabled = False
            return Update.DISABLED
        if error_fault:
            self.errors += 1
            return Update.ERROR
        self.enabled = True
        return Update.ENABLED

    def tick(self, slot: int) -> list[int]:
        """The wall-clock slot is `slot`: the slots since the last tick in which the node checked its
        leadership (every one while forging), appended to the record."""
        last, self.last_slot = self.last_slot, slot
        if last is None or slot <= last or not self.enabled:
            return []
        checked = list(range(last + 1, slot + 1))
        self.checks += len(checked)
        self.history.extend(checked)
        if self.record is not None:
            try:
                with open(self.record, "a", encoding="utf-8") as handle:
                    handle.write("".join(f"{s}\n" for s in checked))
            except OSError:
                pass  # the record is the lab's evidence, not the node's: a full disk must not stop it
        return checked


def update_error_fault(version: str, path: str) -> bool:
    """Whether the `forging_update_error` fault is on for this version in the lab's faults file (read
    at each SIGHUP: set it any time before)."""
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except (OSError, ValueError):
        return False
    entry = raw.get(FAULT) if isinstance(raw, dict) else None
    if not isinstance(entry, dict):
        return False
    wanted = entry.get("version")
    return wanted is None or wanted == version


def read_record(path: str) -> list[int]:
    """The slots a record holds (a missing file: none)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return [int(line) for line in handle if line.strip().isdigit()]
    except OSError:
        return []


def update_text(update: Update) -> str:
    """The node's words for a reconfiguration (Startup.hs L552-564; the wording is UNCONFIRMED)."""
    return {
        Update.ENABLED: "Performing block forging reconfiguration: Enabling block forging",
        Update.DISABLED: "Performing block forging reconfiguration: Disabling block forging",
        Update.NOT_EFFECTIVE: "Performing block forging reconfiguration: not effective during the ledger replay",
        Update.ERROR: "Block forging is not reconfigured: lab fault forging_update_error",
    }[update]
