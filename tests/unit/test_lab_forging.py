"""The lab node's forging rules (lab/forging.py), pure: start, the SIGHUP reload's three outcomes
(and NotEffective before consensus runs), one leadership check per slot while forging, the record."""

from __future__ import annotations

import json
import os
from pathlib import Path

from orchestrator.lab import forging
from orchestrator.lab.forging import Forging, Update


def keys(tmp_path: Path) -> tuple[str, ...]:
    paths = []
    for name in ("kes.skey", "vrf.skey", "node.cert"):
        (tmp_path / name).write_text("stand-in\n")
        paths.append(str(tmp_path / name))
    return tuple(paths)


def test_start_forges_only_with_every_file_and_without_the_non_producing_flag(tmp_path: Path) -> None:
    paths = keys(tmp_path)
    assert Forging.at_start(paths, non_producing=False).enabled
    assert not Forging.at_start(paths, non_producing=True).enabled
    assert not Forging.at_start((), non_producing=False).enabled
    os.rename(paths[0], paths[0] + ".away")
    assert not Forging.at_start(paths, non_producing=False).enabled


def test_sighup_three_outcomes_and_not_effective_in_the_replay(tmp_path: Path) -> None:
    paths = keys(tmp_path)
    f = Forging.at_start(paths, non_producing=True)
    assert f.reload(ready=False, error_fault=False) is Update.NOT_EFFECTIVE and not f.enabled
    assert f.reload(ready=True, error_fault=False) is Update.ENABLED and f.enabled
    os.rename(paths[1], paths[1] + ".away")
    assert f.reload(ready=True, error_fault=True) is Update.DISABLED and not f.enabled  # missing wins
    os.rename(paths[1] + ".away", paths[1])
    assert f.reload(ready=True, error_fault=True) is Update.ERROR and not f.enabled and f.errors == 1  # kept
    f.enabled = True
    assert f.reload(ready=True, error_fault=True) is Update.ERROR and f.enabled and f.errors == 2  # kept on
    assert "not reconfigured" in forging.update_text(Update.ERROR)


def test_one_check_per_slot_while_forging_and_the_record(tmp_path: Path) -> None:
    record = tmp_path / "db" / forging.RECORD_FILE
    record.parent.mkdir()
    f = Forging.at_start(keys(tmp_path), non_producing=False, record=str(record))
    assert f.tick(100) == []  # the first look only sets the clock
    assert f.tick(103) == [101, 102, 103] and f.checks == 3
    assert f.tick(103) == [] and f.tick(102) == []
    f.enabled = False
    assert f.tick(110) == [] and f.checks == 3
    f.enabled = True
    assert f.tick(111) == [111]
    assert forging.read_record(str(record)) == [101, 102, 103, 111]
    assert forging.read_record(str(tmp_path / "none")) == []


def test_the_fault_applies_by_version(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    assert not forging.update_error_fault("10.6.4", str(path))
    path.write_text(json.dumps({forging.FAULT: {"version": "11.0.1"}}))
    assert not forging.update_error_fault("10.6.4", str(path)) and forging.update_error_fault("11.0.1", str(path))
    path.write_text(json.dumps({forging.FAULT: {"version": None}}))
    assert forging.update_error_fault("10.6.4", str(path))
    path.write_text("[]")
    assert not forging.update_error_fault("10.6.4", str(path))
