"""Across a ledger-snapshot boundary the run keeps db/ledger (roll/host_run.py LEDGER_BACKUP) and a
rollback puts it back, so the old node starts from its own snapshots instead of replaying from
genesis (issue 26 item 2). The fake node replays from genesis whenever db/ledger holds no snapshot
in the format its release reads (tests/unit/fake_fleet.py, the catalogue's formats), so each test
can fail: without the restore the rolled-back node replays."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano.crossing import Crossing, cross
from orchestrator.model import HostStatus, Phase
from orchestrator.roll.host_run import HostState
from orchestrator.roll.journal import OBSERVATIONS, Event, Journal
from orchestrator.roll.resume import resume_hosts
from tests.unit import fake_fleet
from tests.unit.test_engine import World, run_killed_at, world

# A boundary the fake fleet's releases do not have (8.7.3 and 8.9.0 share LEGACY_FILE): 8.9.0 is
# made to write another format, and relay1's plan carries a real crossing that changes format.
CROSSING = cross("10.5.3", "11.0.1", network="mainnet", last_start_seconds=30.0)


def world_crossing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crossing: Crossing, new_format: str) -> World:
    """The fake fleet (relays 8.7.3 -> 8.9.0) with 8.9.0 writing `new_format` and relay1's plan
    carrying `crossing` (a real one that changes the snapshot format)."""
    monkeypatch.setattr(fake_fleet, "_snapshot_format", lambda v: new_format if v == "8.9.0" else "LEGACY_FILE")
    w = world(tmp_path, relays=2, producers=1)
    hp = w.plan.host("relay1")
    hosts = tuple(replace(h, crossing=crossing) if h is hp else h for h in w.plan.hosts)
    return replace(w, plan=replace(w.plan, hosts=hosts))


@pytest.fixture
def crossing_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    return world_crossing(tmp_path, monkeypatch, CROSSING, "UTXOHD_10_6")


def _steps(w: World, host: str) -> list[Phase]:
    return [e.phase for e in Journal.read(w.journal.path) if e.host == host and e.phase not in OBSERVATIONS]


def _ops(w: World, host: str) -> list[str]:
    return [op for op, h in w.remote.log if h == host]


def test_the_plan_says_which_switch_keeps_the_ledger(crossing_world: World) -> None:
    assert crossing_world.plan.host("relay1").backs_up_ledger
    assert not crossing_world.plan.host("relay2").backs_up_ledger  # 8.7.3 → 8.9.0: same format


def test_the_ledger_is_copied_with_the_node_stopped_before_the_restart(crossing_world: World) -> None:
    w = crossing_world
    result = w.run()
    assert result.ok, result.stopped_reason
    ops = _ops(w, "relay1")
    assert ops[ops.index("switch"):ops.index("restart") + 1] == ["switch", "stop", "backup_ledger", "restart"]
    assert Phase.LEDGER_BACKED_UP in _steps(w, "relay1") and "backup_ledger" not in _ops(w, "relay2")
    assert w.remote.nodes["relay1"].ledger_backups == {w.remote.run_id: "LEGACY_FILE"}  # the old format, kept
    assert w.remote.nodes["relay1"].genesis_replays == ["8.9.0"]  # the crossing itself replays, as planned


def test_a_rollback_restores_the_ledger_so_the_old_node_does_not_replay(crossing_world: World) -> None:
    w = crossing_world
    w.remote.nodes["relay1"].never_syncs.add("8.9.0")
    result = w.run()
    assert result.outcomes["relay1"].status is HostStatus.ROLLED_BACK
    steps = _steps(w, "relay1")
    assert steps[steps.index(Phase.ROLLING_BACK):] == [Phase.ROLLING_BACK, Phase.LEDGER_RESTORED, Phase.ROLLED_BACK]
    node = w.remote.nodes["relay1"]
    assert node.genesis_replays == ["8.9.0"]  # only the new release's; 8.7.3 found its own snapshots
    assert (node.running, node.ledger) == ("8.7.3", "LEGACY_FILE")


def test_without_the_backup_the_rollback_still_restores_the_files_and_says_the_old_node_replays(
        crossing_world: World) -> None:  # fmt: skip
    w = crossing_world
    node = w.remote.nodes["relay1"]
    node.never_syncs.add("8.9.0")
    real = w.remote.backup_ledger

    def lost(host):  # the backup vanished before the rollback (the operator cleaned the disk)
        done = real(host)
        node.ledger_backups.clear()
        return done

    w.remote.backup_ledger = lost  # type: ignore[method-assign]
    result = w.run()
    out = result.outcomes["relay1"]
    assert out.status is HostStatus.ROLLED_BACK and "db/ledger NOT restored" in out.detail
    assert "the old node replays from genesis" in out.detail
    assert node.genesis_replays == ["8.9.0", "8.7.3"]  # the test can fail: this is what the restore prevents
    assert Phase.LEDGER_NOT_RESTORED in _steps(w, "relay1")


def test_resume_after_a_kill_past_the_ledger_backup_restores_it(crossing_world: World) -> None:
    w = crossing_world
    run_killed_at(w, "relay1", Phase.LEDGER_BACKED_UP)
    events = Journal.read(w.journal.path)
    assert HostState.from_journal(events, "relay1").ledger_backup
    node = w.remote.nodes["relay1"]
    assert not node.active  # killed with the node stopped for the copy
    resume_hosts(events, w.inventory, w.spec.programs, w.spec.gate, remote=w.remote, journal=w.journal,
                 probe=lambda h, _s: w.remote.sample(h), clock=w.clock, sleep=w.clock.sleep)  # fmt: skip
    assert w.whole("relay1") == "rolled back" and node.ledger == "LEGACY_FILE" and node.genesis_replays == []


def test_a_successful_run_keeps_its_ledger_backup_and_drops_earlier_ones(crossing_world: World) -> None:
    w = crossing_world
    w.remote.nodes["relay1"].ledger_backups["20980101T000000Z-old000"] = "LEGACY_FILE"
    result = w.run()
    assert result.ok
    assert list(w.remote.nodes["relay1"].ledger_backups) == [w.remote.run_id]
    assert "ledger.bak-20980101T000000Z-old000" in result.pruned["relay1"]


def test_no_ledger_on_the_host_is_said_never_journaled_as_a_backup(crossing_world: World) -> None:
    """A db_path with no db/ledger (a wrong layout): the run says so, and a rollback does not try a
    restore it has no copy for (a trial operator read 'ledger_backed_up' where nothing was copied)."""
    w = crossing_world
    node = w.remote.nodes["relay1"]
    node.ledger = ""
    node.never_syncs.add("8.9.0")
    result = w.run()
    events = [e for e in Journal.read(w.journal.path) if e.host == "relay1"]
    (absent,) = [e for e in events if e.phase is Phase.LEDGER_ABSENT]
    assert "nothing to keep, a rollback would replay from genesis (is db_path right?)" in absent.data["reason"]
    assert Phase.LEDGER_BACKED_UP not in [e.phase for e in events] and "restore_ledger" not in _ops(w, "relay1")
    assert result.outcomes["relay1"].status is HostStatus.ROLLED_BACK


def test_the_plan_says_when_it_found_no_ledger_to_keep() -> None:
    crossing = cross("10.5.3", "11.0.1", network="mainnet", free_bytes=10**12, ledger_bytes=0)
    assert crossing.disk.basis.startswith("NO db/ledger found at the host's db_path")


def _interrupted_at(w: World, host: str, phase: Phase) -> None:
    """Run the world's plan; a SIGINT arrives right after `host`'s first `phase` is journaled (as the
    signal handler does: the stop flag set, RunInterrupted raised where the main thread is)."""
    from orchestrator.roll.engine import Rollout, RolloutSettings
    from orchestrator.roll.interrupt import RunInterrupted, StopFlag

    flag = StopFlag()

    def signal_at(event: Event) -> None:
        if event.host == host and event.phase is phase and not flag.is_set():
            flag.set("SIGINT")
            raise RunInterrupted("SIGINT")

    rollout = Rollout(w.plan, w.remote, w.journal, RolloutSettings(gate=w.spec.gate), sample=w.remote.sample,
                      emit=signal_at, clock=w.clock, sleep=w.clock.sleep, relays=w.inventory.relays, stop=flag)  # fmt: skip
    with pytest.raises(RunInterrupted):
        rollout.execute(w.spec.stages)


@pytest.mark.parametrize("phase", [Phase.BACKED_UP, Phase.FILES_WRITTEN, Phase.BINARY_SWITCHED, Phase.LEDGER_BACKED_UP])
def test_an_interrupt_before_the_new_release_started_rolls_the_host_back_at_once(crossing_world: World,
                                                                                 phase: Phase) -> None:
    """Operator trial: a SIGINT right after the ledger backup left the node stopped, with the new
    binary linked, until a resume (a producer misses its blocks meanwhile). Nothing has run on the new
    release there: the host is rolled back at once (shielded from the signal), its ledger untouched,
    and the run ends interrupted with no host mid-way."""
    w = crossing_world
    _interrupted_at(w, "relay1", phase)
    node = w.remote.nodes["relay1"]
    assert node.active and node.running == "8.7.3" and node.link == "releases/8.7.3/bin"
    assert node.files == w.original["relay1"]  # byte for byte
    steps = _steps(w, "relay1")
    assert steps[-1] is Phase.ROLLED_BACK and Phase.RESTARTED not in steps
    failed = next(e for e in Journal.read(w.journal.path) if e.host == "relay1" and e.phase is Phase.FAILED)
    assert failed.data["reason"] == "interrupted by SIGINT before 8.9.0 started: rolled back at once"
    assert "restore_ledger" not in _ops(w, "relay1")  # nothing ran on the new release: the ledger is as it was
    assert node.genesis_replays == []
    (end,) = [e.data for e in Journal.read(w.journal.path) if e.host == "*" and e.phase is Phase.RUN_ENDED]
    assert end["outcome"] == "interrupted" and end["mid_way"] == [], end


def test_an_interrupt_after_the_new_release_started_leaves_the_host_to_the_resume(crossing_world: World) -> None:
    """Once the restart onto the new release was sent, the interrupt cuts the steps short as before:
    the host is mid-way and `run --resume` judges it (a rollback then restores the ledger)."""
    w = crossing_world
    _interrupted_at(w, "relay1", Phase.RESTARTED)
    (end,) = [e.data for e in Journal.read(w.journal.path) if e.host == "*" and e.phase is Phase.RUN_ENDED]
    assert end["outcome"] == "interrupted" and end["mid_way"] == ["relay1"], end
    assert _steps(w, "relay1")[-1] is Phase.RESTARTED


def test_the_interrupt_rollback_runs_on_a_worker_thread_shielded_from_the_signal(crossing_world: World) -> None:
    """As over SSH (ssh/transport.Fleet.map: a thread per host): the signal sets the stop flag, the
    worker sees it at its next journaled step and rolls its host back with its records and the gate's
    sleeps shielded; the main thread waits for it, then journals the interrupt with nobody mid-way."""
    from concurrent.futures import ThreadPoolExecutor

    from orchestrator.roll.engine import Rollout, RolloutSettings
    from orchestrator.roll.interrupt import RunInterrupted, StopFlag

    w = crossing_world
    serial_map = w.remote.map

    def threaded_map(hosts: Any, fn: Any) -> Any:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = {h.name: pool.submit(fn, h) for h in hosts}
            return {name: f.result() for name, f in futures.items()}

    w.remote.map = threaded_map  # type: ignore[method-assign]
    flag = StopFlag()

    def signal_at(event: Event) -> None:  # only the flag, as the signal handler sets it for the workers
        if event.host == "relay1" and event.phase is Phase.LEDGER_BACKED_UP:
            flag.set("SIGTERM")

    rollout = Rollout(w.plan, w.remote, w.journal, RolloutSettings(gate=w.spec.gate), sample=w.remote.sample,
                      emit=signal_at, clock=w.clock, sleep=w.clock.sleep, relays=w.inventory.relays, stop=flag)  # fmt: skip
    with pytest.raises(RunInterrupted):
        rollout.execute(w.spec.stages)
    w.remote.map = serial_map  # type: ignore[method-assign]
    node = w.remote.nodes["relay1"]
    assert node.active and node.running == "8.7.3" and node.files == w.original["relay1"]
    assert _steps(w, "relay1")[-1] is Phase.ROLLED_BACK
    (end,) = [e.data for e in Journal.read(w.journal.path) if e.host == "*" and e.phase is Phase.RUN_ENDED]
    assert (end["outcome"], end["signal"], end["mid_way"]) == ("interrupted", "SIGTERM", []), end
