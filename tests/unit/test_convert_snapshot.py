"""Issue 26 item 2's conversion half: where the catalogue says a conversion is the supported path
(10.1.4 -> 10.5.3, Legacy -> UTxO-HD), the run converts the kept Legacy snapshot with the target's
own snapshot-converter before the restart (actions/convert_snapshot.py, roll/host_run.py CONVERT).

- the command line per syntax family, against the catalogue's records;
- the host's script run for real (`sh`) on a tmp tree with the lab's stand-in converter from the
  lab's 10.5.3 tarball: the result is what the 10.5.3 lab node opens as its own snapshot; a killed
  attempt's half-written output is removed and the conversion re-run; a failing converter leaves the
  kept copy untouched;
- the engine over the fake fleet: CONVERTED, then the restart without a replay; a failure journals
  CONVERT_FAILED and the rollback restores the kept ledger.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from orchestrator.actions import convert_snapshot
from orchestrator.actions.convert_snapshot import LedgerConversion, SyntaxFamily
from orchestrator.cardano import releases
from orchestrator.cardano.crossing import Replay, cross
from orchestrator.lab import ledger_db
from orchestrator.lab.releases import build_tarball, ships_converter
from orchestrator.model import HostStatus, Phase
from orchestrator.roll.journal import OBSERVATIONS, Journal
from tests.unit.test_engine import World

RUN = "20261206T010000Z-abcd"


# ---------------------------------------------------------------- the command line
def test_the_10_5_3_command_line_is_the_positional_one_of_its_docs() -> None:
    """migrating.mdx: `snapshot-converter Legacy ./snapshots/<slotno> Mem ./snapshots/<slotno>_mem cardano
    --config <path-to-config.json>`; snapshot-converter.hs @0.25.1.1 L76-105 + Parsers.hs L216-263."""
    record = releases.lookup("10.5.3")
    assert convert_snapshot.family(record) is SyntaxFamily.POSITIONAL
    assert convert_snapshot.converter_argv(record, "./100007913", "./100007913_mem", "/cfg/config.json") == [
        "Legacy", "./100007913", "Mem", "./100007913_mem", "cardano", "--config", "/cfg/config.json"]
    path = convert_snapshot.converter_path("/opt/cardano/releases", record)
    assert path == "/opt/cardano/releases/10.5.3/bin/snapshot-converter"


@pytest.mark.parametrize("version", ["8.9.0", "10.1.4", "10.6.4", "10.7.1", "11.0.1"])
def test_no_other_catalogued_release_has_a_converter_this_tool_runs(version: str) -> None:
    """Before 10.4.1 there is none; from 10.6 the converter reads no Legacy snapshot (migrating.mdx)."""
    record = releases.lookup(version)
    assert convert_snapshot.family(record) is None
    with pytest.raises(ValueError):
        convert_snapshot.converter_argv(record, "./1", "./1_mem", "c")


def test_every_convert_hop_of_the_catalogue_has_a_converter_the_tool_runs() -> None:
    for source in releases.known_versions(include_provisional=False):
        for target in releases.known_versions(include_provisional=False):
            if releases.is_older(source, target):
                c = cross(source, target, network="mainnet", converts=True)
                if c.replay is Replay.FROM_SNAPSHOT:
                    assert c.converter is not None and convert_snapshot.family(c.converter) is not None, (source, target)


def test_ledger_conversion_values() -> None:
    assert convert_snapshot.chosen({}) is LedgerConversion.CONVERT
    assert convert_snapshot.chosen({"ledger_conversion": "replay"}) is LedgerConversion.REPLAY


def test_a_wrong_ledger_conversion_is_refused_at_its_line(tmp_path: Path) -> None:
    from orchestrator.load.inventory import InventoryError, load_inventory

    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  vars:\n    layout: iog\n    cardano_network: mainnet\n    ledger_conversion: replays\n"
                   "  children:\n    relays:\n      hosts:\n        relay1: {ansible_host: 203.0.113.10}\n")
    with pytest.raises(InventoryError) as exc:
        load_inventory(inv)
    assert exc.value.line == 5 and "did you mean 'replay'" in str(exc.value)


# ---------------------------------------------------------------- the host's script, run for real
def _tree(tmp_path: Path, *, leftover: bool = False) -> tuple[Path, Path, str]:
    """<db>/ledger with two 10.1.4 Legacy snapshots, its kept copy, the staged 10.5.3 (the lab's tarball)."""
    db = tmp_path / "db"
    ledger_db.write_snapshot(str(db), "10.1.4", 1000)
    ledger_db.write_snapshot(str(db), "10.1.4", 2000)
    subprocess.run(["cp", "-a", str(db / "ledger"), str(db / f"ledger.bak-{RUN}")], check=True)
    if leftover:  # a killed attempt's half-written output
        (db / "ledger.convert-20261205T230000Z-0000" / "2000_mem" / "tables").mkdir(parents=True)
    rel = tmp_path / "releases"
    with tarfile.open(fileobj=io.BytesIO(build_tarball("10.5.3"))) as tar:
        member = tar.extractfile("./bin/snapshot-converter")
        assert member is not None
        (rel / "10.5.3" / "bin").mkdir(parents=True)
        (rel / "10.5.3" / "bin" / "snapshot-converter").write_bytes(member.read())
    os.chmod(rel / "10.5.3" / "bin" / "snapshot-converter", 0o755)
    config = tmp_path / "config.json"
    config.write_text("{}")
    script = convert_snapshot.convert_script(releases.lookup("10.5.3"), releases_dir=str(rel), db_path=str(db),
                                             config=str(config), run_id=RUN)  # fmt: skip
    return db, config, script


def _sh(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "CARDANO_LAB_CONVERT_SECONDS": "0.2", **env})  # fmt: skip


@pytest.mark.parametrize("leftover", [False, True], ids=["fresh", "after-a-killed-attempt"])
def test_the_script_converts_the_newest_legacy_snapshot_into_what_10_5_3_opens(tmp_path: Path, leftover: bool) -> None:
    db, _config, script = _tree(tmp_path, leftover=leftover)
    done = _sh(script)
    assert done.returncode == 0, done.stderr
    converted = convert_snapshot.parse_converted(done.stdout)
    assert converted is not None and converted.snapshot == 2000 and converted.seconds >= 0.2
    assert sorted(os.listdir(db / "ledger")) == ["2000"]
    assert not [n for n in os.listdir(db) if n.startswith("ledger.convert-")]  # work dirs, old and own, gone
    opening = ledger_db.open_ledger(str(db), "10.5.3", 0)
    assert opening.snapshot is not None and opening.snapshot.slot == 2000 and not opening.deleted
    assert sorted(os.listdir(db / f"ledger.bak-{RUN}")) == ["1000", "2000"]  # the kept copy, untouched


def test_a_failing_converter_fails_the_script_and_leaves_the_kept_copy(tmp_path: Path) -> None:
    db, _config, script = _tree(tmp_path)
    faults = tmp_path / "faults.json"
    faults.write_text('{"converter_fails": {"version": null, "seconds": 30}}')
    done = _sh(script, CARDANO_LAB_FAULTS=str(faults))
    assert done.returncode != 0 and "Couldn't deserialize the snapshot" in done.stderr
    assert sorted(os.listdir(db / f"ledger.bak-{RUN}")) == ["1000", "2000"]
    assert sorted(os.listdir(db / "ledger")) == ["1000", "2000"]  # not replaced: the rollback restores it anyway


def test_a_staged_release_without_the_converter_is_a_clear_failure(tmp_path: Path) -> None:
    db, _config, script = _tree(tmp_path)
    os.unlink(tmp_path / "releases" / "10.5.3" / "bin" / "snapshot-converter")
    done = _sh(script)
    assert done.returncode == 1 and "the staged 10.5.3 has no snapshot-converter" in done.stderr
    assert sorted(os.listdir(db / "ledger")) == ["1000", "2000"]


def test_the_lab_ships_the_converter_only_where_the_release_has_its_syntax() -> None:
    assert ships_converter("10.5.3") and not ships_converter("10.1.4") and not ships_converter("11.0.1")


# ---------------------------------------------------------------- the engine (fake fleet)
CONVERTING = cross("10.1.4", "10.5.3", network="mainnet", last_start_seconds=30.0, converts=True)


@pytest.fixture
def converting_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    from tests.unit.test_ledger_backup import world_crossing

    return world_crossing(tmp_path, monkeypatch, CONVERTING, "UTXOHD_10_4")


def _steps(w: World, host: str) -> list[Phase]:
    return [e.phase for e in Journal.read(w.journal.path) if e.host == host and e.phase not in OBSERVATIONS]


def test_the_run_converts_after_the_backup_and_the_node_starts_without_a_replay(converting_world: World) -> None:
    w = converting_world
    assert w.plan.host("relay1").converts and not w.plan.host("relay2").converts
    result = w.run()
    assert result.ok, result.stopped_reason
    ops = [op for op, h in w.remote.log if h == "relay1"]
    assert ops[ops.index("switch"):ops.index("restart") + 1] == ["switch", "stop", "backup_ledger", "convert_ledger", "restart"]
    steps = _steps(w, "relay1")
    assert steps.index(Phase.LEDGER_BACKED_UP) < steps.index(Phase.CONVERTED) < steps.index(Phase.RESTARTED)
    node = w.remote.nodes["relay1"]
    assert node.genesis_replays == [] and node.ledger == "UTXOHD_10_4"
    assert "converted with" in (result.outcomes["relay1"].detail or "")


def test_a_failed_conversion_rolls_back_to_the_kept_ledger(converting_world: World) -> None:
    w = converting_world
    w.remote.nodes["relay1"].fail.add("convert_ledger")
    result = w.run()
    assert result.outcomes["relay1"].status is HostStatus.ROLLED_BACK
    steps = _steps(w, "relay1")
    assert Phase.CONVERT_FAILED in steps and Phase.RESTARTED not in steps[: steps.index(Phase.CONVERT_FAILED)]
    assert steps[steps.index(Phase.ROLLING_BACK):] == [Phase.ROLLING_BACK, Phase.LEDGER_RESTORED, Phase.ROLLED_BACK]
    node = w.remote.nodes["relay1"]
    assert (node.running, node.ledger, node.genesis_replays) == ("8.7.3", "LEGACY_FILE", [])


def test_resume_after_a_kill_past_the_conversion_restores_the_kept_ledger(converting_world: World) -> None:
    """Killed after CONVERTED, before the restart: db/ledger holds the converted snapshot the old
    release cannot read. `run --resume` takes the host to the rollback, which puts the kept Legacy
    ledger back, so the old node starts from it (no replay)."""
    from orchestrator.roll.host_run import HostState
    from orchestrator.roll.resume import resume_hosts
    from tests.unit.test_engine import run_killed_at

    w = converting_world
    run_killed_at(w, "relay1", Phase.CONVERTED)
    events = Journal.read(w.journal.path)
    assert HostState.from_journal(events, "relay1").ledger_backup
    node = w.remote.nodes["relay1"]
    assert node.ledger == "UTXOHD_10_4" and not node.active
    resume_hosts(events, w.inventory, w.spec.programs, w.spec.gate, remote=w.remote, journal=w.journal,
                 probe=lambda h, _s: w.remote.sample(h), clock=w.clock, sleep=w.clock.sleep)  # fmt: skip
    assert w.whole("relay1") == "rolled back"
    assert (node.ledger, node.genesis_replays) == ("LEGACY_FILE", [])


def test_an_interrupt_after_the_conversion_rolls_back_at_once_restoring_the_ledger(converting_world: World) -> None:
    """A SIGINT between the conversion and the restart: the new release never ran, but db/ledger was
    replaced, so the immediate rollback restores it (not the "untouched" shortcut of a plain backup)."""
    from tests.unit.test_ledger_backup import _interrupted_at

    w = converting_world
    _interrupted_at(w, "relay1", Phase.CONVERTED)
    steps = _steps(w, "relay1")
    assert Phase.LEDGER_RESTORED in steps and Phase.RESTARTED not in steps[: steps.index(Phase.ROLLING_BACK)]
    node = w.remote.nodes["relay1"]
    assert (node.running, node.ledger, node.genesis_replays) == ("8.7.3", "LEGACY_FILE", [])


# ---------------------------------------------------------------- the lab's stand-in, its command line
@pytest.mark.parametrize(("argv", "error"), [
    (["--mem-in", "./1", "--mem-out", "./1_mem", "--config", "c"], "Invalid option `--mem-in'"),  # 10.6.2+ syntax
    (["--input-mem", "./1", "--output-mem", "./1_x", "--config", "c"], "Invalid option `--input-mem'"),  # 10.7/11.0
    (["convert", "--config", "c", "--snapshot-in", "./1", "--snapshot-out", "./2"], "Invalid option `--snapshot-in'"),
    (["Legacy", "./1", "Mem", "./1_mem"], "Missing: COMMAND"),
    (["Legacy", "./1", "Mem", "./1_mem", "cardano"], "Missing: --config PATH"),
    (["legacy", "./1", "Mem", "./1_mem", "cardano", "--config", "c"], "cannot parse value `legacy'"),
])  # fmt: skip
def test_the_stand_in_refuses_any_other_syntax_as_the_real_parser_does(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestrator.lab.converter_standin import main

    assert main("10.5.3", argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(error) and "Usage: snapshot-converter FORMAT-IN PATH-IN FORMAT-OUT PATH-OUT COMMAND" in err


def test_the_stand_in_refuses_a_path_that_is_not_a_snapshot_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.lab.converter_standin import main

    config = tmp_path / "config.json"
    config.write_text("{}")
    assert main("10.5.3", ["Legacy", str(tmp_path / "snap"), "Mem", "./1_mem", "cardano", "--config", str(config)]) == 1
    assert "Malformed input path!" in capsys.readouterr().err
