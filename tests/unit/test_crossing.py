"""cardano/crossing.py against the real release catalogue: every pair class (no replay, convert,
replay), the refusals, the downtime's basis and the disk headroom.

The expected classes are the boundaries doc's (§d table: →10.4/10.5 "Yes, unless converted", →10.6
and →10.7 replay only, 10.7→11.0 "Not expected"), written here independently of the catalogue.
"""

from __future__ import annotations

import itertools

import pytest

from orchestrator.cardano import releases
from orchestrator.cardano.crossing import HOUR, Replay, cross, downtime_text
from orchestrator.cardano.releases import LedgerCrossing

TAGGED = releases.known_versions(include_provisional=False)
GIB = 1024**3


@pytest.mark.parametrize(
    ("source", "target", "ledger", "replay", "converter"),
    [
        ("8.7.3", "8.9.0", LedgerCrossing.NONE, Replay.NONE, None),  # both one file per snapshot
        ("8.9.0", "10.1.4", LedgerCrossing.NONE, Replay.NONE, None),
        ("10.1.4", "10.5.3", LedgerCrossing.CONVERT, Replay.FROM_GENESIS, "10.5.3"),  # UTxO-HD: convertible
        ("8.9.0", "10.5.3", LedgerCrossing.CONVERT, Replay.FROM_GENESIS, "10.5.3"),
        ("10.5.3", "10.6.4", LedgerCrossing.REPLAY, Replay.FROM_GENESIS, None),  # serialisation: replay only
        ("10.6.4", "10.7.1", LedgerCrossing.REPLAY, Replay.FROM_GENESIS, None),
        ("10.1.4", "10.6.4", LedgerCrossing.REPLAY, Replay.FROM_GENESIS, None),  # a later replay voids the conversion
        ("10.7.1", "11.0.1", LedgerCrossing.NONE, Replay.NONE, None),  # the cheapest hop
        ("8.9.0", "11.0.1", LedgerCrossing.REPLAY, Replay.FROM_GENESIS, None),
        ("10.5.3", "11.0.1", LedgerCrossing.REPLAY, Replay.FROM_GENESIS, None),
        ("11.0.1", "11.0.1", LedgerCrossing.NONE, Replay.NONE, None),
    ],
)
def test_each_pair_class_replays_as_the_boundaries_doc_says(
    source: str, target: str, ledger: LedgerCrossing, replay: Replay, converter: str | None
) -> None:
    c = cross(source, target, network="mainnet", last_start_seconds=40.0)
    assert c.refusal is None
    assert c.ledger is ledger and c.replay is replay
    assert (c.converter.version if c.converter else None) == converter
    assert c.path_text.startswith(source) and c.path_text.endswith(target)
    if converter is not None:
        assert "snapshot-converter" in c.why and "does not convert" in c.why
        assert "snapshot-converter" in c.summary and c.converter is not None
        assert c.converter.converter is not None and c.converter.converter in c.why
    if replay is Replay.FROM_GENESIS:
        assert "would replay from genesis" in c.rollback and f"{source} cannot read {target}" in c.rollback
        assert "a rollback restores it" in c.rollback  # the run keeps db/ledger (roll/host_run.py)


@pytest.mark.parametrize(("source", "target"), list(itertools.combinations_with_replacement(TAGGED, 2)))
def test_every_tagged_pair_replays_exactly_when_the_snapshot_format_changes(source: str, target: str) -> None:
    c = cross(source, target, network="mainnet", last_start_seconds=40.0, free_bytes=100 * GIB, ledger_bytes=3 * GIB)
    same = releases.lookup(source).ledger_snapshot_format == releases.lookup(target).ledger_snapshot_format
    assert c.refusal is None and len(c.hops) == TAGGED.index(target) - TAGGED.index(source)
    assert (c.replay is Replay.NONE) == same
    assert c.downtime.estimate == (not same)  # the host's own start, or a reported figure
    assert c.disk.needed_bytes == (0 if same else 3 * GIB)
    assert c.summary == ("no replay" if same else c.summary)
    if not same:
        assert c.summary.startswith("replay from genesis") and "est. 8-10 h" in c.summary


def test_a_run_that_converts_starts_from_the_converted_snapshot() -> None:
    c = cross("10.1.4", "10.5.3", network="mainnet", converts=True)
    assert c.replay is Replay.FROM_SNAPSHOT and c.converter is not None and c.converter.version == "10.5.3"
    assert c.downtime.seconds is None and c.downtime.estimate  # no source reports a conversion time
    # a conversion cannot save a crossing that replays later anyway
    assert cross("10.1.4", "11.0.1", network="mainnet", converts=True).replay is Replay.FROM_GENESIS


@pytest.mark.parametrize(
    ("source", "target", "part"),
    [
        ("11.0.1", "10.7.1", "downgrade from 11.0.1 to 10.7.1 refused"),
        ("10.7.1", "10.5.3", "cannot read 10.7.1's ledger snapshots"),
        ("10.7.1", "11.1.0", "provisional"),
        ("9.9.9", "11.0.1", "9.9.9, a release the catalogue does not know"),
        ("10.7.1", "12.0.0", "12.0.0 is not in the release catalogue"),
    ],
)
def test_refusals_say_why(source: str, target: str, part: str) -> None:
    c = cross(source, target, network="mainnet")
    assert c.refusal is not None and part in c.refusal
    assert c.replay is None and c.summary == "refused"


def test_a_same_format_downgrade_is_refused_without_a_replay_claim() -> None:
    refusal = cross("11.0.1", "10.7.1", network="mainnet").refusal
    assert refusal is not None and "replay" not in refusal


def test_no_replay_costs_the_hosts_own_last_start() -> None:
    c = cross("10.7.1", "11.0.1", network="preprod", last_start_seconds=42.4)
    assert c.downtime.seconds == 42.4 and not c.downtime.estimate and "own log" in c.downtime.basis
    assert downtime_text(c.downtime) == "~42s (its last start)"
    unknown = cross("10.7.1", "11.0.1", network="preprod")
    assert unknown.downtime.seconds is None and downtime_text(unknown.downtime) == "unknown"


def test_a_genesis_replay_is_an_estimate_from_reported_mainnet_times_only() -> None:
    c = cross("10.5.3", "10.6.4", network="mainnet", last_start_seconds=40.0)
    d = c.downtime
    assert d.estimate and d.low_seconds == 8 * HOUR and d.seconds == 10 * HOUR
    assert "cardano-wallet PR #5102" in d.basis and "cardano-graphql#894" in d.basis and "estimate" in d.basis
    assert downtime_text(d) == "est. 8-10 h"
    testnet = cross("10.5.3", "10.6.4", network="preview", last_start_seconds=40.0).downtime
    assert testnet.seconds is None and testnet.estimate and "no replay time is reported for preview" in testnet.basis


def test_the_running_release_not_read_leaves_the_cost_unknown_not_refused() -> None:
    c = cross(None, "11.0.1", network="mainnet", free_bytes=GIB)
    assert c.refusal is None and c.replay is None and c.summary == "unknown"
    assert c.disk.enough is None and c.downtime.seconds is None


@pytest.mark.parametrize(
    ("free", "ledger", "enough"),
    [(10 * GIB, 4 * GIB, True), (4 * GIB, 4 * GIB, True), (3 * GIB, 4 * GIB, False), (None, 4 * GIB, None),
     (10 * GIB, None, None)],
)  # fmt: skip
def test_disk_headroom_against_the_ledger_backup(free: int | None, ledger: int | None, enough: bool | None) -> None:
    c = cross("10.6.4", "10.7.1", network="mainnet", free_bytes=free, ledger_bytes=ledger)
    assert c.disk.enough is enough
    short = c.disk.shortfall
    assert (short is not None) == (enough is False)
    if short is not None:
        assert "4.0 GiB needed" in short and "3.0 GiB free" in short and "db/ledger" in short


def test_a_crossing_that_keeps_the_format_needs_no_backup_room() -> None:
    c = cross("10.7.1", "11.0.1", network="mainnet", free_bytes=0, ledger_bytes=50 * GIB)
    assert c.disk.needed_bytes == 0 and c.disk.enough is True and c.disk.shortfall is None
