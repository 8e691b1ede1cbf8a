"""`cardano-cli query tip` as the cardano-cli of each catalogued node release has it.

Which cardano-cli a node release ships is its record's `cli_version` (with the source). What that
CLI accepts and prints was read at the cardano-cli tags (IntersectMBO/cardano-cli; "Output" is
`cardano-cli/src/Cardano/CLI/Types/Output.hs` up to 8.x, `…/Type/Output.hs` from 10.x; "Run" is
`…/EraBased/Run/Query.hs` up to 8.x, `…/EraBased/Query/Run.hs` from 10.x):

- Keys (ToJSON QueryTipLocalStateOutput, Output @cardano-cli-8.20.3.0 L168-188, @10.15.0.0 and
  @11.0.0.0 L210-254, the same code): `slot`, `hash`, `block` (absent while the tip is genesis),
  `era`, `epoch`, `slotInEpoch`, `slotsToEpochEnd` (absent when the epoch is past the era
  history's horizon), `syncProgress` (a string, `printf "%.2f"`, 100.00 within 600 s of the wall
  clock: Run @11.0.0.0 L164-187, L272; absent when the system start is unknown): the same keys at
  8.20.3.0, 10.15.0.0 and 11.0.0.0. Printed pretty (4-space indent) with the keys sorted: aeson-pretty's `encodePretty`
  up to 8.x (aeson's ordered KeyMap), `encodePretty'` with `confCompare = compare` from 10.x
  (`…/Json/Encode.hs` @10.15.0.0 L22-26).
- When the local state query fails the CLI prints `null` (the Maybe it encodes, Run @11.0.0.0
  L231-301, @8.20.3.0 L255-307) after "Warning: Local state unavailable: …" on stderr.
- The final newline: `LBS.putStrLn` up to 8.20.3.0 (Run L307); from 8.21.0.0 cardano-api's
  `writeLazyByteStringOutput`, which writes with `putStr`: no newline after the closing brace.
- `--output-json` (the default) and `--output-yaml`: query tip takes them from 10.9.0.0
  (`pFormatFlags … [flagFormatJson & setDefault, flagFormatYaml]`, EraBased/Query/Option.hs
  @10.15.0.0 L365-375); before, any such flag is an invalid option.
- Command forms: the top-level `query tip` (Option.hs @10.15.0.0 and @11.0.0.0 L70-86, still
  there) and the era-based `latest query tip` / `conway query tip` (EraBased/Option.hs @11.0.0.0
  L48-63; 11.0 adds a `dijkstra` group with node commands only). The network comes from
  `--mainnet`, `--testnet-magic N` or CARDANO_NODE_NETWORK_ID, the socket from `--socket-path` or
  CARDANO_NODE_SOCKET_PATH (EraBased/Common/Option.hs @11.0.0.0 L128-157, L238-258), as at
  8.20.3.0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.cardano.releases.catalogue import lookup

# The sorted key order both forms print (the JSON object a synced node's CLI writes).
TIP_KEYS: tuple[str, ...] = ("block", "epoch", "era", "hash", "slot", "slotInEpoch", "slotsToEpochEnd", "syncProgress")

NO_FINAL_NEWLINE_FROM = (8, 21, 0, 0)  # writeLazyByteStringOutput (putStr) in runQueryTipCmd
FORMAT_FLAGS_FROM = (10, 9, 0, 0)  # --output-json / --output-yaml on query tip
_CLI_VERSION = re.compile(r"\d+(?:\.\d+){1,3}\Z")


def _cli_numeric(version: str) -> tuple[int, ...]:
    if not _CLI_VERSION.match(version):
        raise ValueError(f"not a cardano-cli version (a.b.c.d): {version!r}")
    parts = tuple(int(p) for p in version.split("."))
    return parts + (0,) * (4 - len(parts))


@dataclass(frozen=True)
class TipForm:
    """How one cardano-cli release's `query tip` prints (see the module docstring for sources)."""

    cli_version: str
    final_newline: bool  # a newline after the closing brace (up to 8.20.x)
    format_flags: bool  # --output-json (default) / --output-yaml accepted (from 10.9.0.0)


def tip_form_of_cli(cli_version: str) -> TipForm:
    number = _cli_numeric(cli_version)
    return TipForm(
        cli_version=cli_version,
        final_newline=number < NO_FINAL_NEWLINE_FROM,
        format_flags=number >= FORMAT_FLAGS_FROM,
    )


def tip_form(node_version: str) -> TipForm | None:
    """The `query tip` of the cardano-cli a catalogued node release ships; None where the
    catalogue has not confirmed which cardano-cli that is (its record says why)."""
    cli_version = lookup(node_version).cli_version
    return None if cli_version is None else tip_form_of_cli(cli_version)
