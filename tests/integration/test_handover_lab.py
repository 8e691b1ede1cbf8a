"""The forging handover against a real lab pool (2 relays, bp1 and bp1-standby on 10.6.4): forging
moves from bp1 to its standby by rename + SIGHUP over SSH, proven from both hosts' samples, in the
gap after a leader slot (which bp1 forges); the lab's per-slot forging records show no slot with two
forgers. Then a handover back with the
forging_update_error fault on bp1 stops with the standby (that run's original) forging alone. The
pool keys are never opened (their aged atimes hold).

Not covered here: the upgrades around the handover (the standby's before, the old producer's after)
— the engine's wiring of the handover is not built; `upgrade` is a no-op in this test."""

from __future__ import annotations

import time

import pytest

from orchestrator.cardano.leader_schedule import LeaderSlot
from orchestrator.cardano.networks import network
from orchestrator.lab import forging
from orchestrator.lab.faults import set_fault
from orchestrator.lab.hosts import lab_up
from orchestrator.lab.provision import layout_of
from orchestrator.load.inventory import load_inventory
from orchestrator.model import Phase
from orchestrator.roll.events import Event
from orchestrator.roll.handover import DISABLED_SUFFIX, Ending, Handover, HandoverPolicy, Means
from orchestrator.roll.handover_remote import SshHandoverRemote
from orchestrator.roll.remote import Done
from orchestrator.spec.window import WindowSettings, build_guard
from orchestrator.ssh.transport import Fleet
from tests.integration.conftest import FAST_STARTUP_SECONDS, Lab, LabPool

POLICY = HandoverPolicy(quiet_seconds=3.0, stop_timeout=40.0, forging_timeout=40.0)
POOL = ("bp1", "bp1-standby")


def _record(lab: Lab, name: str) -> set[int]:
    db = layout_of(lab.state.host(name)).db_path
    out = lab.exec(name, f"cat {db}/{forging.RECORD_FILE} 2>/dev/null || true").stdout
    return {int(line) for line in out.split() if line.isdigit()}


def _keys(lab: Lab, name: str) -> dict[str, str]:
    """Each key file's atime, by its own name (a renamed-away file counts as itself: rename keeps atime)."""
    keys = layout_of(lab.state.host(name)).keys_dir
    out = lab.exec(name, f"stat -c '%n %X' {keys}/*").stdout
    return {path.removesuffix(DISABLED_SUFFIX): atime for path, atime in (line.split() for line in out.splitlines())}


@pytest.mark.usefixtures("lab_only")
def test_forging_moves_to_the_standby_and_a_sighup_error_ends_on_the_original(fresh_lab: LabPool) -> None:
    lab_dir = fresh_lab.tmp.mktemp("handover")
    state = lab_up(lab_dir, relays=2, producers=1, subnet=fresh_lab.free_subnet(lab_dir), node_version="10.6.4",
                   target_version="11.0.1", startup_seconds=FAST_STARTUP_SECONDS, standby_producers=1)  # fmt: skip
    lab = Lab(state)
    lab.wait_in_sync(timeout=120)
    for name in POOL:  # relatime moves an atime older than a day: aged, any read of a key would show
        lab.exec(name, f"touch -a -d '3 days ago' {layout_of(state.host(name)).keys_dir}/*")
    atimes = {name: _keys(lab, name) for name in POOL}
    inv = load_inventory(lab.inventory_path)
    bp, sb = inv.host("bp1"), inv.host("bp1-standby")
    assert sb.standby_for == "bp1"
    events: list[Event] = []

    def record(host: str, phase: Phase, **data: object) -> None:
        events.append(Event(0.0, host, phase, dict(data)))

    # A leader slot 15 s ahead: the gap (100 s of proofs and SIGHUPs, 20 s of margin) must wait for it
    # and its settle time; the next one, 170 s ahead, leaves room after that.
    now = time.time()
    leader = [LeaderSlot(at, network("mainnet").expected_slot(at)) for at in (now + 15, now + 170)]
    guard = build_guard(WindowSettings(margin_seconds=20, settle_seconds=5), source="file (test)", slots=tuple(leader),
                        remaining_kes_periods=50, downtime_seconds=None)  # fmt: skip
    with Fleet([bp, sb]) as fleet:
        means = Means(SshHandoverRemote(fleet), record, lambda _h: Done(True, "no upgrade in this test"))
        first = Handover(bp, sb, means, guard, POLICY).run()
        assert first.ending is Ending.HANDED_OVER and first.forger == "bp1-standby", first.detail
        assert first.gap_seconds is not None
        before_bp, before_sb = _record(lab, "bp1"), _record(lab, "bp1-standby")
        assert before_bp and before_sb and not before_bp & before_sb  # never one slot forged by both
        assert max(before_bp) < min(before_sb)  # bp1 stopped before the standby started
        assert leader[0].slot in before_bp and max(before_bp) >= leader[0].slot + 5  # the leader slot forged, then settled

        # Back again, with bp1 answering its SIGHUP with BlockForgingUpdateError: the standby keeps forging.
        set_fault(state, "bp1", forging.FAULT)
        second = Handover(sb, bp, means, policy=POLICY).run()
        assert second.ending is Ending.STOPPED and second.forger == "bp1-standby", second.detail
        assert "BlockForgingUpdateError" in second.detail

    after_bp, after_sb = _record(lab, "bp1"), _record(lab, "bp1-standby")
    assert after_bp == before_bp and not after_bp & after_sb  # bp1 never forged again
    assert max(after_sb) > max(before_sb)  # the standby forges on
    assert {name: _keys(lab, name) for name in POOL} == atimes
    assert all(len(files) == 3 for files in atimes.values())
    steps = [e.data["step"] for e in events if e.phase is Phase.HANDOVER_STEP]
    assert "prove_forging" in steps and steps[-1] == "recover"
