"""db_seed: from_upgraded (actions/seed_db.py, the SEED step of roll/host_run.py, the engine's waves).

The copy's host programs are run for real here, on two local directories standing for the source's
and the destination's db, through the same `Run` the SSH transport provides (only the transport is
local): the manifest, the resumed copy and the verification are the code that runs on hosts."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from orchestrator.actions import seed_db
from orchestrator.actions.seed_db import (
    Held,
    Manifest,
    ManifestError,
    Seeded,
    mismatches,
    parse_manifest,
    seed,
    seeded_estimate,
    to_fetch,
)
from orchestrator.cardano.crossing import cross
from orchestrator.cardano.layouts import LAYOUTS
from orchestrator.load.inventory import InventoryError, load_inventory
from orchestrator.model import Host, HostStatus, Phase, Role
from orchestrator.roll.journal import OBSERVATIONS, Journal
from orchestrator.ssh.exec import CommandResult
from tests.unit import fake_fleet
from tests.unit.test_engine import World, world

CHUNK = 100  # slots per chunk in these tests


def _host(name: str, db: Path) -> Host:
    return Host(name, Role.RELAY, "127.0.0.1", replace(LAYOUTS["iog"], db_path=str(db)))


class Local:
    """A Run over local `sh` (what the SSH transport does on a host); `corrupt` flips the first byte
    of every piece written to that path suffix; `fail_after` writes fail after N pieces."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.corrupt: str | None = None
        self.fail_after: int | None = None
        self.writes = 0

    def __call__(self, host: Host, command: str, stdin: bytes | None, timeout: float) -> CommandResult:
        self.calls.append((host.name, command[:40]))
        if stdin and self.corrupt and self.corrupt in command and "O_WRONLY" in command:
            stdin = bytes([stdin[0] ^ 0xFF]) + stdin[1:]
        if "O_WRONLY" in command:
            self.writes += 1
            if self.fail_after is not None and self.writes > self.fail_after:
                return CommandResult(host.name, False, None, "", "", 0.0, "connection lost", connected=False)
        t0 = time.monotonic()
        p = subprocess.run(["sh", "-c", command], input=stdin or b"", capture_output=True, timeout=timeout)
        return CommandResult(host.name, p.returncode == 0, p.returncode, p.stdout.decode(), p.stderr.decode(),
                             time.monotonic() - t0)  # fmt: skip


def _source_db(root: Path, chunks: int = 4, snapshots: tuple[int, ...] = (250, 350)) -> Path:
    """chunks 00000..N-1 (the newest still growing), 10.7-style snapshot directories at `snapshots`."""
    db = root / "src"
    (db / "immutable").mkdir(parents=True)
    for c in range(chunks):
        for ext, size in (("chunk", 10_000 + 137 * c), ("primary", 40), ("secondary", 300)):
            (db / "immutable" / f"{c:05d}.{ext}").write_bytes(os.urandom(size))
    for s in snapshots:
        d = db / "ledger" / str(s)
        d.mkdir(parents=True)
        (d / "state").write_bytes(os.urandom(5000))
        (d / "tables").write_bytes(b"")
        (d / "meta").write_text('{"backend": "utxohd-mem"}')
    (db / "immutable" / "00001.chunk").chmod(0o640)
    return db


def _files(db: Path) -> dict[str, bytes]:
    return {str(p.relative_to(db)): p.read_bytes() for p in db.rglob("*") if p.is_file()
            and seed_db.STAGING not in str(p)}  # fmt: skip


def test_the_manifest_takes_completed_chunks_and_the_newest_complete_snapshot(tmp_path: Path) -> None:
    src = _source_db(tmp_path)
    (src / "ledger" / ".400.tmp").mkdir()  # being written: not complete
    (src / "ledger" / "450").mkdir()  # no meta: not complete
    run = Local()
    res = run(_host("s", src), seed_db._py(seed_db._SOURCE, str(src)), None, 60)
    manifest = parse_manifest(res.stdout)
    paths = {e.path for e in manifest.files}
    assert manifest.newest_chunk == 3
    assert "immutable/00002.chunk" in paths and not any(p.startswith("immutable/00003") for p in paths)
    assert (manifest.snapshot, manifest.snapshot_slot) == ("350", 350)
    assert "ledger/350/state" in paths and not any(p.startswith(("ledger/250", "ledger/4")) for p in paths)
    chunk1 = next(e for e in manifest.files if e.path == "immutable/00001.chunk")
    assert chunk1.mode == 0o640 and chunk1.size == 10_137


def test_a_snapshot_ahead_of_the_chunks_the_destination_would_hold_is_not_copied(tmp_path: Path) -> None:
    """350 lies in chunk 3, which the source is still writing (not copied): only a destination that
    holds its own chunk 3 covers it; else the node would skip the snapshot (InitFailureTooRecent)."""
    src = _source_db(tmp_path, snapshots=(350,))
    dst = tmp_path / "dst"
    got = seed(Local(), _host("s", src), _host("d", dst), chunk_slots=CHUNK)
    assert not got.ok and "ahead of the chunks the destination would hold" in got.detail and not dst.exists()
    (dst / "immutable").mkdir(parents=True)
    (dst / "immutable" / "00003.chunk").write_bytes(b"its own, as its node wrote it")
    got = seed(Local(), _host("s", src), _host("d", dst), chunk_slots=CHUNK)
    assert got.ok, got.detail
    assert (dst / "ledger" / "350" / "state").read_bytes() == (src / "ledger" / "350" / "state").read_bytes()
    assert (dst / "immutable" / "00003.chunk").read_bytes() == b"its own, as its node wrote it"


def test_a_db_path_overlapping_the_keys_dir_is_never_read(tmp_path: Path) -> None:
    src = _source_db(tmp_path)
    run = Local()
    inside = replace(_host("s", src), layout=replace(LAYOUTS["iog"], db_path=str(src), keys_dir=str(src)))
    got = seed(run, inside, _host("d", tmp_path / "dst"), chunk_slots=CHUNK)
    assert not got.ok and "overlap" in got.detail and run.calls == []


def test_no_complete_snapshot_is_a_failure_with_the_reason(tmp_path: Path) -> None:
    src = _source_db(tmp_path, snapshots=())
    got = seed(Local(), _host("s", src), _host("d", tmp_path / "dst"), chunk_slots=CHUNK)
    assert not got.ok and "no complete ledger snapshot" in got.detail


@pytest.mark.parametrize("path", ["../etc/passwd", "immutable/../../x", "keys/kes.skey", "/etc/shadow",
                                  "ledger/250/../../../x"])  # fmt: skip
def test_a_manifest_naming_another_path_is_refused(path: str) -> None:
    with pytest.raises(ManifestError):
        parse_manifest(f"C 3\nS 250 250\nF 1 644 0 0 {'a' * 64} {path}\n")


def test_a_full_copy_is_verified_and_keeps_modes_and_owner(tmp_path: Path) -> None:
    src = _source_db(tmp_path, snapshots=(250,))
    dst = tmp_path / "dst"
    got = seed(Local(), _host("s", src), _host("d", dst), chunk_slots=CHUNK, piece=4096)
    assert got.ok, got.detail
    wanted = {k: v for k, v in _files(src).items() if not k.startswith(("immutable/00003", "ledger/350"))}
    assert {k: v for k, v in _files(dst).items()} == wanted
    assert got.verified == len(wanted) and got.files == len(wanted) and got.bytes == sum(map(len, wanted.values()))
    assert not (dst / seed_db.STAGING).exists()  # verified: the staging directory is gone
    assert stat.S_IMODE((dst / "immutable" / "00001.chunk").stat().st_mode) == 0o640
    assert (dst / "immutable" / "00001.chunk").stat().st_uid == (src / "immutable" / "00001.chunk").stat().st_uid


def test_a_killed_copy_resumes_where_it_stopped_and_a_second_seed_copies_nothing(tmp_path: Path) -> None:
    src = _source_db(tmp_path, snapshots=(250,))
    dst = tmp_path / "dst"
    run = Local()
    run.fail_after = 5  # the connection drops mid-way, in the middle of a chunk file
    first = seed(run, _host("s", src), _host("d", dst), chunk_slots=CHUNK, piece=4096)
    assert not first.ok and "connection lost" in first.detail
    staged = list((dst / seed_db.STAGING).rglob("*.chunk"))
    assert staged  # the part written so far is kept
    run2 = Local()
    second = seed(run2, _host("s", src), _host("d", dst), chunk_slots=CHUNK, piece=4096)
    assert second.ok, second.detail
    total = sum(len(v) for k, v in _files(src).items() if not k.startswith(("immutable/00003", "ledger/350")))
    assert second.bytes == total - first.bytes  # only what the first did not copy
    third = seed(Local(), _host("s", src), _host("d", dst), chunk_slots=CHUNK, piece=4096)
    assert third.ok and (third.files, third.bytes) == (0, 0)


def test_a_copy_that_would_fill_the_destinations_disk_is_refused_before_any_byte(tmp_path: Path) -> None:
    src = _source_db(tmp_path, snapshots=(250,))
    dst = tmp_path / "dst"
    local = Local()

    def tight(host: Host, command: str, stdin: bytes | None, timeout: float) -> CommandResult:
        res = local(host, command, stdin, timeout)
        return replace(res, stdout=re.sub(r"(?m)^FREE \d+$", "FREE 1000", res.stdout))

    got = seed(tight, _host("s", src), _host("d", dst), chunk_slots=CHUNK)
    assert not got.ok and "not enough disk on d" in got.detail and "1000 free" in got.detail
    assert local.writes == 0 and not (dst / seed_db.STAGING).exists()
    assert seed(Local(), _host("s", src), _host("d", dst), chunk_slots=CHUNK).ok  # the real free space is enough


def test_a_destination_file_that_differs_is_copied_again(tmp_path: Path) -> None:
    src = _source_db(tmp_path, snapshots=(250,))
    dst = tmp_path / "dst"
    assert seed(Local(), _host("s", src), _host("d", dst), chunk_slots=CHUNK).ok
    (dst / "immutable" / "00000.chunk").write_bytes(b"garbage")
    again = seed(Local(), _host("s", src), _host("d", dst), chunk_slots=CHUNK)
    assert again.ok and again.files == 1
    assert (dst / "immutable" / "00000.chunk").read_bytes() == (src / "immutable" / "00000.chunk").read_bytes()


def test_a_corrupted_transfer_fails_the_verification(tmp_path: Path) -> None:
    src = _source_db(tmp_path, snapshots=(250,))
    run = Local()
    run.corrupt = "00002.chunk"
    got = seed(run, _host("s", src), _host("d", tmp_path / "dst"), chunk_slots=CHUNK)
    assert not got.ok and "differ from the manifest" in got.detail and "00002.chunk" in got.detail


def test_to_fetch_and_mismatches_against_what_the_destination_holds() -> None:
    sha = "b" * 64
    m = parse_manifest(f"C 2\nS 10 10\nF 100 644 0 0 {sha} immutable/00000.chunk\n"
                       f"F 50 644 0 0 {sha} immutable/00000.primary\nF 7 644 0 0 {sha} ledger/10\n")  # fmt: skip
    held = {"immutable/00000.chunk": Held(100, sha), "immutable/00000.primary": Held(None, None, 20),
            "ledger/10": Held(7, "c" * 64, 99)}  # fmt: skip
    assert [(e.path, off) for e, off in to_fetch(m, held)] == [("immutable/00000.primary", 20), ("ledger/10", 0)]
    bad = mismatches(m, held)
    assert len(bad) == 2 and "missing" in bad[0] and "sha256" in bad[1]
    assert isinstance(m, Manifest) and m.total_bytes == 157


def test_db_seed_is_validated_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  vars: {layout: iog, cardano_network: mainnet}\n  children:\n    relays:\n"
                    "      vars:\n        db_seed: from_upgradd\n      hosts:\n        r1: {}\n")  # fmt: skip
    with pytest.raises(InventoryError) as err:
        load_inventory(path)
    assert err.value.line == 6 and "off, from_upgraded" in err.value.message
    path.write_text(path.read_text().replace("from_upgradd", "from_upgraded"))
    assert seed_db.db_seed_of(load_inventory(path).host("r1")) is seed_db.DbSeed.FROM_UPGRADED


def test_the_two_estimates() -> None:
    assert seeded_estimate(4, 36000.0, 600.0, 60.0) == (144000.0, 36000.0 + 3 * 660.0)
    assert seeded_estimate(4, None, 600.0, 60.0) == (None, None)
    assert seeded_estimate(4, 100.0, None, 60.0) == (400.0, None)
    assert seed_db.copy_seconds(100 * 1024 * 1024, 50.0) == 2.0 and seed_db.copy_seconds(None) is None


# ---------------------------------------------------------------- the engine and the SEED step
CROSSING = cross("10.5.3", "11.0.1", network="mainnet", last_start_seconds=30.0)


@pytest.fixture
def seeding_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """Three relays crossing a replaying boundary, db_seed: from_upgraded; the seed copies the
    source's ledger (the fake node then has a snapshot its release reads: no replay)."""
    monkeypatch.setattr(fake_fleet, "_snapshot_format", lambda v: "UTXOHD_10_6" if v == "8.9.0" else "LEGACY_FILE")
    w = world(tmp_path, relays=3, producers=1)
    hosts = []
    for h in w.plan.hosts:
        if h.host.role is Role.RELAY:
            host = replace(h.host, vars=MappingProxyType({**h.host.vars, "db_seed": "from_upgraded"}))
            h = replace(h, host=host, crossing=CROSSING)
        hosts.append(h)
    w = replace(w, plan=replace(w.plan, hosts=tuple(hosts)))
    seeds: list[tuple[str, str]] = []

    def over(remote: object):  # noqa: ANN202 - the seeder of the fake fleet
        def copy(source: Host, dest: Host) -> Seeded:
            nodes = w.remote.nodes
            assert not nodes[dest.name].active  # stopped before the copy
            seeds.append((source.name, dest.name))
            if "seed" in nodes[dest.name].fail:
                return Seeded(False, "1 file(s) differ from the manifest")
            nodes[dest.name].ledger = nodes[source.name].ledger
            return Seeded(True, "3 file(s) verified", 3, 4096, 0.5, "250", 3)
        return copy

    monkeypatch.setattr(seed_db, "over", over)
    w.seeds = seeds  # type: ignore[attr-defined]
    return w


def _steps(w: World, host: str) -> list[Phase]:
    return [e.phase for e in Journal.read(w.journal.path) if e.host == host and e.phase not in OBSERVATIONS]


def test_the_first_relay_replays_and_the_others_are_seeded_from_it(seeding_world: World) -> None:
    w = seeding_world
    result = w.run()
    assert result.ok, result.stopped_reason
    first = [n for n in ("relay1", "relay2", "relay3") if Phase.SEEDED not in _steps(w, n)]
    assert len(first) == 1
    src = first[0]
    assert sorted(w.seeds) == sorted((src, n) for n in ("relay1", "relay2", "relay3") if n != src)  # type: ignore[attr-defined]
    assert w.remote.nodes[src].genesis_replays == ["8.9.0"]
    for n in ("relay1", "relay2", "relay3"):
        if n != src:
            assert w.remote.nodes[n].genesis_replays == []  # started from the copied snapshot
            steps = _steps(w, n)
            assert steps.index(Phase.LEDGER_BACKED_UP) < steps.index(Phase.SEEDING) < steps.index(Phase.SEEDED) \
                < steps.index(Phase.RESTARTED)  # fmt: skip
            seeded = next(e for e in Journal.read(w.journal.path) if e.host == n and e.phase is Phase.SEEDED)
            assert seeded.data["source"] == src and seeded.data["bytes"] == 4096 and seeded.data["files"] == 3


def test_without_db_seed_every_relay_replays(seeding_world: World) -> None:
    w = seeding_world
    hosts = tuple(replace(h, host=replace(h.host, vars=MappingProxyType({**h.host.vars, "db_seed": "off"})))
                  for h in w.plan.hosts)  # fmt: skip
    w = replace(w, plan=replace(w.plan, hosts=hosts))
    assert w.run().ok
    assert all(w.remote.nodes[n].genesis_replays == ["8.9.0"] for n in ("relay1", "relay2", "relay3"))
    assert not any(Phase.SEEDING in _steps(w, n) for n in ("relay1", "relay2", "relay3"))


def test_a_failed_seed_rolls_the_host_back_with_its_own_ledger(seeding_world: World) -> None:
    w = seeding_world
    for n in ("relay1", "relay2", "relay3"):
        w.remote.nodes[n].fail.add("seed")
    result = w.run()
    failed = [n for n in ("relay1", "relay2", "relay3") if Phase.SEED_FAILED in _steps(w, n)]
    assert failed
    for n in failed:
        assert result.outcomes[n].status is HostStatus.ROLLED_BACK
        assert "db seed from" in result.outcomes[n].detail
        steps = _steps(w, n)
        assert Phase.RESTARTED not in steps and Phase.LEDGER_RESTORED in steps
        assert w.remote.nodes[n].running == "8.7.3"


def test_plan_shows_both_estimates_for_a_seeding_role(seeding_world: World) -> None:
    crossing = cross("10.5.3", "11.0.1", network="mainnet", last_start_seconds=30.0, free_bytes=100 * 1024**3,
                     ledger_bytes=10 * 1024**3)  # fmt: skip
    hosts = tuple(replace(h, crossing=crossing, last_start_seconds=40.0 + i) if h.host.role is Role.RELAY else h
                  for i, h in enumerate(seeding_world.plan.hosts))  # fmt: skip
    plan = replace(seeding_world.plan, hosts=hosts)
    (estimate,) = seed_db.role_estimates(plan.pending)
    replay = crossing.downtime.seconds
    assert replay is not None and estimate.hosts == 3 and estimate.role == "relay"
    starts = [hp.last_start_seconds for hp in hosts if hp.host.role is Role.RELAY][1:]
    copy = 10 * 1024 / 50.0  # 10 GiB at the default 50 MiB/s
    assert estimate.without_seconds == 3 * replay
    assert estimate.with_seconds == pytest.approx(replay + 2 * (copy + max(s for s in starts if s is not None)))
    assert "without seeding 3 x replay = 30.0 h" in estimate.line() and "50 MiB/s" in estimate.line()
    from orchestrator.report.plan_json import plan_as_json  # noqa: PLC0415

    assert plan_as_json(plan)["db_seed"][0]["with_seconds"] == estimate.with_seconds
    faster = tuple(replace(h, host=replace(h.host, vars=MappingProxyType({**h.host.vars, "db_seed_mib_per_second": 500})))
                   for h in hosts)  # fmt: skip
    (fast,) = seed_db.role_estimates(replace(plan, hosts=faster).pending)
    assert fast.with_seconds is not None and fast.with_seconds < estimate.with_seconds  # type: ignore[operator]
    off = tuple(replace(h, host=replace(h.host, vars=MappingProxyType({**h.host.vars, "db_seed": "off"}))) for h in hosts)
    assert seed_db.role_estimates(replace(plan, hosts=off).pending) == []
    assert "db_seed" not in plan_as_json(replace(plan, hosts=off))


@pytest.mark.parametrize("phase", [Phase.SEEDING, Phase.SEEDED])
def test_a_kill_mid_seed_is_resumed_by_continuing_the_copy(seeding_world: World, phase: Phase) -> None:
    from orchestrator.roll.engine import Rollout, RolloutSettings  # noqa: PLC0415
    from orchestrator.roll.resume import resume_hosts  # noqa: PLC0415
    from tests.unit.test_engine import Killed  # noqa: PLC0415

    w = seeding_world
    killed: list[str] = []

    def kill_at(event: Any) -> None:
        if event.phase is phase and not killed:
            killed.append(event.host)
            raise Killed

    rollout = Rollout(w.plan, w.remote, w.journal, RolloutSettings(gate=w.spec.gate), sample=w.remote.sample,
                      emit=kill_at, clock=w.clock, sleep=w.clock.sleep, relays=w.inventory.relays)  # fmt: skip
    with pytest.raises(Killed):
        rollout.execute(w.spec.stages)
    (host,) = killed
    node = w.remote.nodes[host]
    assert not node.active and node.running != "8.9.0"  # stopped for the seed, the new release never started
    events = Journal.read(w.journal.path)
    resume_hosts(events, w.inventory, w.spec.programs, w.spec.gate, remote=w.remote, journal=w.journal,
                 probe=lambda h, _s: w.remote.sample(h), clock=w.clock, sleep=w.clock.sleep)  # fmt: skip
    assert w.whole(host) == "upgraded"
    # killed as the copy began: the resume makes it; killed once verified: the resume verifies it again
    assert [d for _s, d in w.seeds].count(host) == (1 if phase is Phase.SEEDING else 2)  # type: ignore[attr-defined]
    assert node.genesis_replays == [] and node.running == "8.9.0"
    resumed = [e.phase for e in Journal.read(w.journal.path) if e.host == host and e.data.get("resumed")]
    assert resumed[:2] == [Phase.SEEDING, Phase.SEEDED] and Phase.RESTARTED in resumed
