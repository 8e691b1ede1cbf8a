"""The node's startup lines → phases and progress. Text lines are real ones (issues quoted in
orchestrator/cardano/startup.py); JSON lines follow the ToObject instances of cardano-node 8.9.0."""

from __future__ import annotations

import json

import pytest

from orchestrator.cardano.startup import Kind, Phase, parse_line, summarise

T = "[4dab0472:cardano.node.ChainDB:Info:5] [2024-09-03 12:11:09.26 UTC] "


def js(kind: str, at: str = "2024-09-03T12:11:09.26Z", **data: object) -> str:
    return json.dumps({"app": [], "at": at, "data": {"kind": kind, **data}, "env": "8.9.0:0d98405a",
                       "host": "relay1", "loc": None, "msg": "", "ns": ["cardano.node.ChainDB"], "pid": "77",
                       "sev": "Info", "thread": "5"})  # fmt: skip


@pytest.mark.parametrize(
    ("line", "kind", "percent", "slot"),
    [
        (T + "Started opening Chain DB", Kind.START, None, None),
        (T + "Validating chunk no. 2256 out of 2256. Progress: 99.96%", Kind.CHUNK, 99.96, None),
        (T + "Replaying ledger from snapshot at 345c904e5201ec9ef9d21dfdb060144b8055201bedc820e84351dfe76c6e68f8 "
             "at slot 127704286", Kind.REPLAY_FROM, 0.0, 127704286),
        (T + "Replayed block: slot 66182337 out of 133745329. Progress: 49.48%", Kind.REPLAYED, 49.48, 66182337),
        (T + "Opened lgr db", Kind.LGR_OPENED, None, None),
        (T + "Started initial chain selection", Kind.CHAIN_SEL, 0.0, None),
        (T + "Pushing ledger state for block 5efd56b57a8e97c334fa0b72bc5a657b50c447a6e54bbc1a0f50ed7ce3774324 at "
             "slot 127732616. Progress: 19.67%", Kind.PUSHING, 19.67, 127732616),
        ('[oryx:cardano.node.DiffusionInitializationTracer:Info:49] [2022-02-23 02:13:35.33 UTC] LocalSocketUp '
         '(LocalAddress "node.socket") (FileDescriptor 23)', Kind.SOCKET, None, None),
        (js("TraceOpenEvent.StartedOpeningDB"), Kind.START, None, None),
        (js("TraceImmutableDBEvent.StartedValidatingChunk", initialChunk=9, finalChunk=99), Kind.CHUNK, 9.0, None),
        (js("TraceLedgerReplayEvent.ReplayFromSnapshot", tip="RealPoint {realPointSlot = SlotNo 650926, "
            "realPointHash = e59d}"), Kind.REPLAY_FROM, 0.0, 650926),
        (js("TraceFollowerEvent.StartedInitChainSelection"), Kind.CHAIN_SEL, 0.0, None),
        (js("TraceAddBlockEvent.AddBlockValidation.UpdateLedgerDbTraceEvent.StartedPushingBlockToTheLedgerDb",
            startingBlock="aa@100", currentBlock="bb@150", targetBlock="cc@300"), Kind.PUSHING, 25.0, 150),
        (js("LocalSocketUp", path='LocalAddress "/n.socket"', socket="FileDescriptor 23"), Kind.SOCKET, None, None),
    ],
)
def test_lines(line: str, kind: Kind, percent: float | None, slot: int | None) -> None:
    ev = parse_line(line)
    assert ev is not None and ev.kind is kind and ev.percent == percent and (slot is None or ev.slot == slot)


@pytest.mark.parametrize("noise", ["", "garbage", "{", '{"data": 1}', T + "Chain extended, new tip: ab at slot 5",
                                   js("TraceImmutableDBEvent.StartedValidatingChunk", initialChunk="x")])
def test_other_lines_are_ignored(noise: str) -> None:
    assert parse_line(noise) is None


def test_json_replay_percent_comes_from_the_snapshot_slot() -> None:
    lines = [js("TraceOpenEvent.StartedOpeningDB", at="2024-09-03T12:00:00.00Z"),
             js("TraceLedgerReplayEvent.ReplayFromSnapshot", at="2024-09-03T12:00:05.00Z", tip="x@1000"),
             js("TraceLedgerReplayEvent.ReplayedBlock", at="2024-09-03T12:00:09.00Z", slot=1300, tip=2000)]  # fmt: skip
    cur = summarise(lines).current
    assert cur is not None and cur.phase is Phase.REPLAYING and cur.percent == pytest.approx(30.0)
    assert cur.describe() == "replaying ledger 30%"
    assert cur.eta_seconds(cur.progress_at) == pytest.approx(4 / 0.3 - 4)  # 30% in 4 s: 70% in ~9.3 s


def test_two_starts_current_and_last_completed_with_phase_durations() -> None:
    def at(sec: int) -> str:
        return f"[r:cardano.node.ChainDB:Info:5] [2024-06-25 10:{sec // 60:02d}:{sec % 60:02d}.00 UTC] "

    lines = [
        at(0) + "Started opening Chain DB",
        at(1) + "Validating chunk no. 5000 out of 5000. Progress: 99.98%",
        at(10) + "Replaying ledger from snapshot at 34 at slot 100",
        at(20) + "Replayed block: slot 150 out of 200. Progress: 50.00%",
        at(40) + "Opened lgr db",
        at(41) + "Started initial chain selection",
        at(50) + 'LocalSocketUp (LocalAddress "node.socket") (FileDescriptor 23)',
        at(100) + "Started opening Chain DB",  # the next start, after a kill: every chunk again
        at(101) + "Validating chunk no. 0 out of 5000. Progress: 0.00%",
        at(160) + "Validating chunk no. 1200 out of 5000. Progress: 23.99%",
    ]
    s = summarise(lines)
    assert s.last_completed is not None and s.last_completed.duration == 50.0
    assert s.last_completed.phase_durations() == {
        "opening chain db": 1.0, "validating chunks": 9.0, "replaying ledger": 30.0, "initial chain selection": 10.0,
    }  # fmt: skip
    cur = s.current
    assert cur is not None and not cur.done and cur.phase is Phase.VALIDATING and cur.full_validation
    assert cur.percent == pytest.approx(23.99) and cur.progress_at - cur.started_at == 60.0
    assert "last shutdown was not clean" in cur.describe()


def test_no_start_in_the_log_is_unknown_not_zero() -> None:
    s = summarise([T + "Replayed block: slot 1 out of 2. Progress: 50.00%"])
    assert s.current is None and s.last_completed is None
