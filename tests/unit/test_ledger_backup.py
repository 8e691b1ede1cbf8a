"""Across a ledger-snapshot boundary the run keeps db/ledger (roll/host_run.py LEDGER_BACKUP) and a
rollback puts it back, so the old node starts from its own snapshots instead of replaying from
genesis (issue 26 item 2). The fake node replays from genesis whenever db/ledger holds no snapshot
in the format its release reads (tests/unit/fake_fleet.py, the catalogue's formats), so each test
can fail: without the restore the rolled-back node replays."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.cardano.crossing import cross
from orchestrator.model import HostStatus, Phase
from orchestrator.roll.host_run import HostState
from orchestrator.roll.journal import OBSERVATIONS, Journal
from orchestrator.roll.resume import resume_hosts
from tests.unit import fake_fleet
from tests.unit.test_engine import World, run_killed_at, world

# A boundary the fake fleet's releases do not have (8.7.3 and 8.9.0 share LEGACY_FILE): 8.9.0 is
# made to write another format, and relay1's plan carries a real crossing that changes format.
CROSSING = cross("10.5.3", "11.0.1", network="mainnet", last_start_seconds=30.0)


@pytest.fixture
def crossing_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr(fake_fleet, "_snapshot_format", lambda v: "UTXOHD_10_6" if v == "8.9.0" else "LEGACY_FILE")
    w = world(tmp_path, relays=2, producers=1)
    hp = w.plan.host("relay1")
    hosts = tuple(replace(h, crossing=CROSSING) if h is hp else h for h in w.plan.hosts)
    return replace(w, plan=replace(w.plan, hosts=hosts))


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
