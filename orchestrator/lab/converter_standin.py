"""The lab's `snapshot-converter`: shipped in the lab's tarballs of the releases whose real tarball
has one (10.4.1+: boundaries doc §c, the 10.5 `bin/` listing), it accepts exactly the release's
command line and converts a lab snapshot (lab/ledger_db.py) of the old generation into its own.

Only the syntax family of the catalogue's one CONVERT hop is modelled, 10.4/10.5's positional one
(OC ouroboros-consensus-cardano/app/snapshot-converter.hs @release-ouroboros-consensus-cardano-0.25.1.1
L52-105 and app/DBAnalyser/Parsers.hs L216-263; actions/convert_snapshot.py cites the rest):

    snapshot-converter FORMAT-IN PATH-IN FORMAT-OUT PATH-OUT (byron|shelley|cardano) --config PATH

with formats Legacy|Mem|LMDB. A wrong command line gets optparse-applicative's kind of answer (the
error, the usage, exit 1); a path whose last component is not `<slot>[_suffix]` the tool's
"Malformed input path!"; an input of another format its `SnapshotFormatMismatch` or
"Couldn't deserialize the snapshot. Are you running the same node version that created the
snapshot?" (L130-135). The output is written as `takeSnapshot` writes it: into PATH-OUT's directory,
named by the state's slot and PATH-OUT's suffix (L221-230). The lab writes the in-memory format only
(Mem): LMDB output is refused, said as the lab's limit, never faked. Releases of the later families
(10.6.2+, 10.7/11.0) ship no stand-in: the lab never runs them.

Time: the lab models a conversion as a Legacy snapshot read and written once — shorter than a
replay from genesis, longer than nothing: CARDANO_LAB_CONVERT_SECONDS (default 1.5 s; the lab's
genesis replay is at least 5 s, lab/simnode.py startup_timing).

Fault `converter_fails` (/etc/cardano-lab/faults.json, `cardano-fleet lab fault HOST converter_fails
[--version V]`): the converter loads, leaves a half-written output and fails as the real one does
with an unreadable snapshot (exit 1).

Stdlib only: it ships inside the lab's release tarballs (lab/releases.py).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time

from orchestrator.cardano.releases.record import LedgerSnapshotFormat
from orchestrator.lab import ledger_db

PROGRAM = "snapshot-converter"
FORMATS = ("Legacy", "Mem", "LMDB")
FAULTS_PATH = "/etc/cardano-lab/faults.json"
DEFAULT_SECONDS = 1.5
_NAME = re.compile(r"^(\d+)(?:_(\S+))?$")
USAGE = (f"Usage: {PROGRAM} FORMAT-IN PATH-IN FORMAT-OUT PATH-OUT COMMAND\n\n"
         "  Utility for converting snapshots to and from UTxO-HD")  # fmt: skip
DESERIALISE = ("Couldn't deserialize the snapshot. Are you running the same node version that created the "
               "snapshot? InitFailureRead (ReadSnapshotFailed (ReadFailed (DeserialiseFailure 0 \"lab\")))")  # fmt: skip


class Usage(Exception):
    """A command line the release's parser refuses (optparse-applicative: message, usage, exit 1)."""


def _parse(argv: list[str]) -> tuple[str, str, str, str, str]:
    """(format-in, path-in, format-out, path-out, config) or Usage."""
    for arg in argv:
        if arg.startswith("-") and arg not in ("--config", "--threshold"):
            raise Usage(f"Invalid option `{arg}'")
    positional: list[str] = []
    rest = list(argv)
    while rest and len(positional) < 5 and not rest[0].startswith("-"):
        positional.append(rest.pop(0))
    names = ("FORMAT-IN", "PATH-IN", "FORMAT-OUT", "PATH-OUT", "COMMAND")
    if len(positional) < 5:
        raise Usage("Missing: " + " ".join(names[len(positional):]))
    fin, pin, fout, pout, command = positional
    for value in (fin, fout):
        if value not in FORMATS:
            raise Usage(f"cannot parse value `{value}'")
    if command not in ("byron", "shelley", "cardano"):
        raise Usage(f"Invalid argument `{command}'")
    if command != "cardano":
        raise Usage(f"the lab's {PROGRAM} models the cardano block type only, not `{command}'")
    config = None
    while rest:
        flag = rest.pop(0)
        if flag not in ("--config", "--threshold") or not rest:
            raise Usage(f"Invalid argument `{flag}'" if flag not in ("--config", "--threshold")
                        else f"The option `{flag}` expects an argument.")  # fmt: skip
        value = rest.pop(0)
        if flag == "--config":
            config = value
    if config is None:
        raise Usage("Missing: --config PATH")
    return fin, pin, fout, pout, config


def _fault(version: str) -> bool:
    try:
        with open(os.environ.get("CARDANO_LAB_FAULTS", FAULTS_PATH), encoding="utf-8") as handle:
            faults = json.load(handle)
    except (OSError, ValueError):
        return False
    spec = faults.get("converter_fails") if isinstance(faults, dict) else None
    if not isinstance(spec, dict):
        return False
    return spec.get("version") in (None, version)


def _seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("CARDANO_LAB_CONVERT_SECONDS", DEFAULT_SECONDS)))
    except ValueError:
        return DEFAULT_SECONDS


def _die(message: str) -> int:
    print(f"{PROGRAM}: {message}", file=sys.stderr)
    return 1


def main(version: str, argv: list[str]) -> int:
    """`snapshot-converter` of `version`: exit 0 with the snapshot written, else 1."""
    if argv in (["--help"], ["-h"]):
        print(USAGE)
        return 0
    try:
        fin, pin, fout, pout, config = _parse(argv)
    except Usage as exc:
        print(f"{exc}\n\n{USAGE}", file=sys.stderr)
        return 1
    name_in, name_out = os.path.basename(pin.rstrip("/")), os.path.basename(pout.rstrip("/"))
    m_in, m_out = _NAME.match(name_in), _NAME.match(name_out)
    if m_in is None:
        return _die("Malformed input path!")
    if m_out is None:
        return _die("Malformed output path!")
    if not os.path.isfile(config):
        return _die(f"{config}: openBinaryFile: does not exist (No such file or directory)")
    own = ledger_db.generation(version)
    print("Loading snapshot...", flush=True)
    snap = ledger_db.Snapshot(os.path.abspath(pin), int(m_in.group(1)), m_in.group(2))
    if fin == "Legacy" and not os.path.isfile(snap.path):
        return _die("The input snapshot does not seem to correspond to the input format:\n\tLegacy\n\t"
                    "The provided path is NOT a file")  # fmt: skip
    if fin != "Legacy" and not os.path.isdir(snap.path):
        return _die(f"The input snapshot does not seem to correspond to the input format:\n\t{fin}\n\t"
                    "The provided path is NOT a directory")  # fmt: skip
    written = ledger_db.written_generation(snap)
    readable = LedgerSnapshotFormat.LEGACY_FILE if fin == "Legacy" else own
    out_dir = os.path.dirname(os.path.abspath(pout))
    target = os.path.join(out_dir, f"{snap.slot}_{m_out.group(2)}" if m_out.group(2) else str(snap.slot))
    time.sleep(_seconds())
    if _fault(version):  # a half-written output, then the real tool's failure
        os.makedirs(os.path.join(target, "tables"), exist_ok=True)
        return _die(DESERIALISE)
    if written != readable:
        return _die(DESERIALISE)
    print("Loaded snapshot", flush=True)
    if fout != "Mem":
        return _die(f"the lab's {PROGRAM} writes the in-memory format (Mem) only, not {fout}")
    print("Writing snapshot...", flush=True)
    ledger_db.write_entry(target, own, snap.slot)
    print("Written snapshot", flush=True)
    return 0
