"""convert_snapshot: across a ledger-snapshot boundary the catalogue says can be converted (today only
≤10.3 -> 10.4/10.5: `LedgerCrossing.CONVERT`, cardano/releases/catalogue.py), run the TARGET release's
own `snapshot-converter` on the host's newest Legacy snapshot before the restart, so the new node
starts from a converted snapshot instead of replaying the chain from genesis (hours on mainnet).

It runs in the host's procedure (roll/host_run.py, step CONVERT) after LEDGER_BACKUP: the node is
stopped and the old `db/ledger/` is kept as `<db>/ledger.bak-<run id>`. Any failure journals
CONVERT_FAILED and takes the normal rollback, which restores the kept ledger (the old node then
starts from its own snapshot). `ledger_conversion: replay` (inventory, validated by load/inventory.py)
makes the run leave the snapshots to the node instead: it replays from genesis.

Facts, with their sources (ouroboros-consensus = OC; node 10.5.3 builds ouroboros-consensus-cardano
^>= 0.25, cardano-node.cabal @10.5.3 L197; app/snapshot-converter.hs is byte-identical at
release-ouroboros-consensus-cardano-0.25.0.0 and 0.25.1.1):
- The 10.4/10.5 command line is positional: `FORMAT-IN PATH-IN FORMAT-OUT PATH-OUT`, formats
  `Legacy | Mem | LMDB` (read with `auto`: the constructor names), then the block type subcommand
  `cardano --config PATH` (OC snapshot-converter.hs @0.25.1.1 L52-56, L69-105; app/DBAnalyser/
  Parsers.hs L216-263, `blockTypeParser`, `parseCardanoArgs`, `--config`). optparse-applicative
  answers a wrong command line with its usage on stderr and exit 1.
- A path's last component must be a snapshot name `<slot>[_suffix]` (`pathToDiskSnapshot`, L109-112;
  "Malformed input path!" otherwise). A Legacy input must be a file (L137-139); the `Mem` output is
  written by `takeSnapshot` into PATH-OUT's directory, named by the state's tip slot and PATH-OUT's
  suffix (L221-230). It prints "Loading snapshot..." ... "Written snapshot" (L253-258); an input of
  another format fails with "Couldn't deserialize the snapshot. Are you running the same node version
  that created the snapshot? ..." (L131).
- The procedure the node's docs give (OC docs/website/contents/references/miscellaneous/utxo-hd/
  migrating.mdx @e7fe578a L145-200, "Upgrading a Ledger snapshots from 10.4.x to 10.5.x", the command
  at L189; boundaries doc §d): back up
  the snapshots, copy the legacy snapshot to `<tmp>/<slot>`, `cd <tmp>`, `snapshot-converter Legacy
  ./<slot> Mem ./<slot>_mem cardano --config <config.json>`, empty `<db>/ledger/` and copy the result
  in as `<db>/ledger/<slot>` (no suffix); "it must be performed with the snapshot-converter version that
  was released with nodes 10.5.x". The same page: from 10.6 the converter reads no Legacy snapshot
  (so no other catalogued hop is a CONVERT hop).
- `Mem` is the output for the default backend V2InMemory (10.5.3 `ledgerdb_default_backend`); a target
  config that names another `LedgerDB.Backend` is not converted (the plan says so and it replays).

Resume: the conversion reads the kept copy (never the live `db/ledger/`, which it replaces), in a work
directory `<db>/ledger.convert-<run id>`. Every attempt first removes what a killed attempt left there
(a half-written output), so a conversion is always re-run from the untouched copy; a `run --resume`
of a host killed mid-conversion takes it to the rollback (roll/host_run.py `resume_entry`), which puts
the kept ledger back.
"""

from __future__ import annotations

import enum
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.cardano.releases import NodeRelease

VARIABLE = "ledger_conversion"
PROGRAM = "snapshot-converter"
WORK_PREFIX = "ledger.convert-"  # <db>/ledger.convert-<run id>: the converter's work directory
OUTPUT_SUFFIX = "mem"  # ./<slot>_mem, as migrating.mdx names it
BACKENDS_CONVERTED_TO = {None: "Mem", "V2InMemory": "Mem"}  # LedgerDB.Backend -> FORMAT-OUT
_DONE = re.compile(r"^converted (\d+) (\d+(?:\.\d+)?)$")


class LedgerConversion(enum.Enum):
    """`ledger_conversion`: what a run does with the snapshots where the catalogue allows a conversion."""

    CONVERT = "convert"  # the target's snapshot-converter, then a normal start (the default)
    REPLAY = "replay"  # leave them: the new node replays from genesis


DEFAULT = LedgerConversion.CONVERT


def chosen(host_vars: Mapping[str, Any]) -> LedgerConversion:
    """The host's `ledger_conversion` (load/inventory.py validated it at its file:line), else the default."""
    value = host_vars.get(VARIABLE)
    return DEFAULT if value in (None, "") else LedgerConversion(value)


class SyntaxFamily(enum.Enum):
    """The converter's command-line families (boundaries doc §d, "Converter syntax")."""

    POSITIONAL = "10.4/10.5 positional"  # FORMAT-IN PATH-IN FORMAT-OUT PATH-OUT cardano --config F


def family(release: NodeRelease) -> SyntaxFamily | None:
    """The syntax family of `release`'s converter, from its catalogue record (`converter`); None when
    it has none, or one this tool does not run (only the positional family converts a Legacy
    snapshot: the later ones read UTxO-HD snapshots only, migrating.mdx)."""
    if release.converter is not None and release.converter.startswith("positional:"):
        return SyntaxFamily.POSITIONAL
    return None


def unconvertible(release: NodeRelease, config_text: str | None) -> str | None:
    """Why this run cannot convert with `release`'s converter (None: it can). config_text: the config
    the target node will read (its `LedgerDB.Backend` picks the output format)."""
    if family(release) is None:
        return f"{release.version} ships no snapshot-converter that reads a Legacy snapshot ({release.converter})"
    backend = _backend(config_text)
    if backend not in BACKENDS_CONVERTED_TO:
        return (f"the target config's LedgerDB.Backend is {backend}: this tool converts to the in-memory format "
                "(V2InMemory) only")
    return None


def _backend(config_text: str | None) -> str | None:
    try:
        config = json.loads(config_text or "{}")
    except ValueError:
        return None  # a YAML config: the node's default unless it says otherwise (not read here)
    section = config.get("LedgerDB") if isinstance(config, dict) else None
    value = section.get("Backend") if isinstance(section, dict) else None
    return value if isinstance(value, str) else None


def converter_argv(release: NodeRelease, path_in: str, path_out: str, config: str) -> list[str]:
    """The converter's arguments (after the program) for a Legacy snapshot at `path_in` into the
    in-memory format at `path_out`, per `release`'s syntax family. ValueError: no family."""
    if family(release) is not SyntaxFamily.POSITIONAL:
        raise ValueError(f"{release.version}: no snapshot-converter syntax this tool runs ({release.converter})")
    return ["Legacy", path_in, BACKENDS_CONVERTED_TO[None], path_out, "cardano", "--config", config]


def converter_path(releases_dir: str, release: NodeRelease) -> str:
    """Where the staged release keeps its converter (beside cardano-node: `binary_subdir`)."""
    sub = f"/{release.binary_subdir}" if release.binary_subdir else ""
    return f"{releases_dir.rstrip('/')}/{release.version}{sub}/{PROGRAM}"


def convert_script(release: NodeRelease, *, releases_dir: str, db_path: str, config: str, run_id: str) -> str:
    """The sh the host runs (as root, the node stopped, the ledger kept): convert the kept copy's
    newest unsuffixed Legacy snapshot, then make it `<db>/ledger/<slot>` alone (owner and mode of the
    old `db/ledger/`). Prints `converted <slot> <seconds>`; a failure exits non-zero with the reason
    on stderr, leaving `db/ledger/` for the rollback to replace."""
    q = shlex.quote
    db = db_path.rstrip("/")
    ledger, kept, work = f"{db}/ledger", f"{db}/ledger.bak-{run_id}", f"{db}/{WORK_PREFIX}{run_id}"
    tool = converter_path(releases_dir, release)
    argv = converter_argv(release, "./$snap", f"./${{snap}}_{OUTPUT_SUFFIX}", config)
    args = " ".join(a if a.startswith("./") else q(a) for a in argv)
    return "\n".join([
        "set -eu",
        f"[ -x {q(tool)} ] || {{ echo 'the staged {release.version} has no {PROGRAM} at {tool}' >&2; exit 1; }}",
        f"[ -d {q(kept)} ] || {{ echo 'no ledger backup of this run ({kept}): nothing is converted without one' >&2; exit 1; }}",
        f"for old in {q(db)}/{WORK_PREFIX}*; do [ -e \"$old\" ] && rm -rf -- \"$old\"; done  # a killed attempt's output",
        f"snap=$(ls -1 -- {q(kept)} | grep -E '^[0-9]+$' | sort -n | tail -n 1 || true)",
        f"if [ -z \"$snap\" ] || [ ! -f {q(kept)}/\"$snap\" ]; then",
        f"  echo 'no Legacy snapshot (a file <slot>) in {kept} to convert' >&2; exit 1",
        "fi",
        f"mkdir -m 700 -- {q(work)}",
        f"cp -a -- {q(kept)}/\"$snap\" {q(work)}/\"$snap\"",
        f"[ ! -f {q(kept)}/\"$snap.checksum\" ] || cp -a -- {q(kept)}/\"$snap.checksum\" {q(work)}/",
        "start=$(date +%s.%N)",
        f"if ! (cd {q(work)} && {q(tool)} {args}) > {q(work)}/converter.log 2>&1; then",
        f"  tail -n 5 {q(work)}/converter.log >&2; exit 1",
        "fi",
        "end=$(date +%s.%N)",
        f"out=$(ls -1d -- {q(work)}/*_{OUTPUT_SUFFIX} 2>/dev/null | head -n 1 || true)",
        f"[ -n \"$out\" ] && [ -d \"$out\" ] || {{ echo '{PROGRAM} reported success and wrote no *_{OUTPUT_SUFFIX} "
        "snapshot' >&2; exit 1; }",
        f"mkdir -- {q(work)}/ledger",
        f"mv -T -- \"$out\" {q(work)}/ledger/\"$snap\"",
        f"chown -R --reference={q(ledger)} {q(work)}/ledger; chmod --reference={q(ledger)} {q(work)}/ledger",
        f"rm -rf -- {q(ledger)}; mv -T -- {q(work)}/ledger {q(ledger)}; rm -rf -- {q(work)}",
        "printf 'converted %s %s\\n' \"$snap\" \"$(awk -v a=\"$start\" -v b=\"$end\" 'BEGIN {printf \"%.2f\", b - a}')\"",
    ])  # fmt: skip


@dataclass(frozen=True)
class Converted:
    """What the host said: the slot of the snapshot converted, and the converter's seconds."""

    snapshot: int
    seconds: float


def parse_converted(detail: str) -> Converted | None:
    """The script's last line, `converted <slot> <seconds>`; None when it is not that."""
    lines = detail.strip().splitlines()
    m = _DONE.match(lines[-1].strip()) if lines else None
    return Converted(int(m.group(1)), float(m.group(2))) if m else None
