"""`cardano-fleet handover`: its arguments and refusals, all before any connection (no SSH here; the
lab test tests/integration/test_handover_lab.py runs the command against real hosts)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.commands import handover
from orchestrator.load.inventory import load_inventory
from orchestrator.model import Phase
from orchestrator.roll.journal import Journal
from tests.unit.test_inventory_standby import BASE

INVENTORY = BASE + "        bp1-standby: {ansible_host: 198.18.0.21, standby_for: bp1}\n"  # bp1 has one, bp2 none


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    return path


class _NoTty(io.StringIO):
    def isatty(self) -> bool:
        return False


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", _NoTty(""))
    code = main(["handover", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def _no_ssh(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("a refusal must come before any connection")

    monkeypatch.setattr("orchestrator.workflow.open_fleet", refuse)


def test_help_documents_the_command_and_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["handover", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for needle in ("--producer BP", "--yes", "--resume [RUN_ID]", "--state-dir", "exit codes:",
                   "143  SIGTERM", "129  SIGHUP", "130  interrupted", "handed over: the standby forges"):  # fmt: skip
        assert needle in text, needle


@pytest.mark.parametrize(("producer", "why"), [
    ("bp9", "--producer bp9: not a host of the inventory"),
    ("r1", "--producer r1: it is a relay, not a block producer"),
    ("bp1-standby", "it is the standby for bp1; name the producer that forges (--producer bp1"),
    ("bp2", "--producer bp2: it has no standby producer (a host in group standby_producers with standby_for: bp2"),
])  # fmt: skip
def test_a_producer_without_a_standby_or_not_a_producer_is_refused(
        inv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        producer: str, why: str) -> None:  # fmt: skip
    _no_ssh(monkeypatch)
    code, text = _run(monkeypatch, capsys, "-i", str(inv), "--producer", producer, "--yes",
                      "--state-dir", str(tmp_path / "state"))  # fmt: skip
    assert code == 1 and why in text, text
    assert not (tmp_path / "state").exists()  # no journal, no lock: nothing was started


def test_the_pool_is_found_by_standby_for(inv: Path) -> None:
    pool = handover.find_pool(load_inventory(inv), "bp1")
    assert not isinstance(pool, str)
    assert [h.name for h in pool] == ["bp1", "bp1-standby"]


def test_without_a_terminal_it_needs_yes(inv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    _no_ssh(monkeypatch)
    code, text = _run(monkeypatch, capsys, "-i", str(inv), "--producer", "bp1", "--state-dir", str(tmp_path / "s"))
    assert code == 1 and "stdin is not a terminal (pass --yes in scripts); nothing was changed" in text


def test_a_bad_inventory_is_refused_at_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    bad = tmp_path / "hosts.yml"
    bad.write_text(INVENTORY.replace("standby_for: bp1", "standby_for: bpX"))
    _no_ssh(monkeypatch)
    code, text = _run(monkeypatch, capsys, "-i", str(bad), "--producer", "bp1", "--yes")
    assert code == 1 and f"{bad}:" in text and "bpX" in text, text


@pytest.mark.parametrize(("version", "refused"), [("10.5.1", False), ("10.6.4", False), ("11.0.1", False),
                                                  ("10.5.0", True), ("10.4.1", True), ("8.9.0", True), (None, True)])
def test_a_standby_release_that_cannot_start_non_producing_is_refused(version: str | None, refused: bool) -> None:
    why = handover.release_problem("bp1-standby", version)
    assert (why is not None) is refused
    if why is not None:
        assert "bp1-standby" in why and (version is None or "10.5.1" in why)


def _journal_a_handover(state: Path, run_id: str, ended: bool) -> None:
    j = Journal(state, run_id)
    j.record("bp1", Phase.HANDOVER_STEP, step="disable_active", active="bp1", standby="bp1-standby", preferred="bp1")
    if ended:
        j.record("bp1", Phase.HANDOVER_ENDED, ending="stopped", forger="bp1", reason="x")
    j.close()


def test_an_unfinished_handover_is_refused_with_its_resume_command(
        inv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    state = tmp_path / "state"
    _journal_a_handover(state, "20261205T230000Z-aaaaaa", ended=True)
    _journal_a_handover(state, "20261205T231000Z-bbbbbb", ended=False)
    _no_ssh(monkeypatch)
    code, text = _run(monkeypatch, capsys, "-i", str(inv), "--producer", "bp1", "--yes", "--state-dir", str(state))
    assert code == 1, text
    assert "the handover of bp1 in run 20261205T231000Z-bbbbbb is unfinished" in text
    assert f"--state-dir {state.resolve()} --resume 20261205T231000Z-bbbbbb" in text
    assert handover.unfinished_handover(state, "bp1") == "20261205T231000Z-bbbbbb"
    assert handover.unfinished_handover(state, "bp2") is None


@pytest.mark.parametrize(("resume", "why"), [
    ("../x", "--resume '../x' is not a run id"),
    ("20261205T230000Z-aaaaaa", "(run 20261205T230000Z-aaaaaa ended it)"),
    ("20261205T000000Z-nonono", "(run 20261205T000000Z-nonono holds none)"),
])  # fmt: skip
def test_resume_needs_an_unfinished_handover_of_that_producer(
        inv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        resume: str, why: str) -> None:  # fmt: skip
    state = tmp_path / "state"
    _journal_a_handover(state, "20261205T230000Z-aaaaaa", ended=True)
    _no_ssh(monkeypatch)
    code, text = _run(monkeypatch, capsys, "-i", str(inv), "--producer", "bp1", "--yes", "--state-dir", str(state),
                      "--resume", resume)  # fmt: skip
    assert code == 1 and why in text, text
    code, text = _run(monkeypatch, capsys, "-i", str(inv), "--producer", "bp1", "--yes", "--state-dir", str(state),
                      "--resume")  # fmt: skip
    assert code == 1 and "no unfinished handover of bp1 to resume" in text


def test_an_unfinished_run_is_refused(inv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    state = tmp_path / "state"
    j = Journal(state, "20261205T220000Z-cccccc")
    j.record("*", Phase.RUN_STARTED, hosts=["r1"])
    j.close()
    _no_ssh(monkeypatch)
    code, text = _run(monkeypatch, capsys, "-i", str(inv), "--producer", "bp1", "--yes", "--state-dir", str(state))
    assert code == 1 and "run 20261205T220000Z-cccccc is unfinished" in text, text


def test_the_report_names_the_forger(tmp_path: Path) -> None:
    from orchestrator.roll.handover import Ending, HandoverResult

    r = HandoverResult("bp1", "bp1-standby", Ending.STOPPED, "bp1", "interrupted by SIGTERM; bp1 forges", None,
                       ["precheck", "recover"])  # fmt: skip
    handover._write_report(tmp_path / "report.json", "rid", r)
    got = json.loads((tmp_path / "report.json").read_text())
    assert got["ending"] == "stopped" and got["forger"] == "bp1" and got["steps"] == ["precheck", "recover"]
    assert (tmp_path / "report.json").stat().st_mode & 0o777 == 0o600


def test_once_the_handover_runs_a_first_signal_only_asks_it_to_recover_and_a_second_stops_at_once() -> None:
    import os
    import signal

    from orchestrator.roll.interrupt import RunInterrupted, StopFlag, stop_on_signals

    flag = StopFlag()
    before = signal.getsignal(signal.SIGHUP)
    with stop_on_signals(flag, first_raises=False):
        os.kill(os.getpid(), signal.SIGHUP)  # delivered to the main thread before kill returns
        assert flag.signal_name == "SIGHUP" and flag.wait(0)  # a wait is cut short from now on
        with pytest.raises(RunInterrupted):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGHUP) is before


@pytest.mark.parametrize("began", [False, True])
def test_an_interrupt_exits_128_plus_the_signal_and_says_what_to_do(
        inv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        began: bool) -> None:  # fmt: skip
    from orchestrator.roll.interrupt import RunInterrupted

    def interrupted(*args: object) -> int:
        if began:
            args[-1].set()  # type: ignore[attr-defined]  # the handover had begun: this was the second signal
        args[-2].set("SIGTERM")  # type: ignore[attr-defined]
        raise RunInterrupted("SIGTERM")

    monkeypatch.setattr(handover, "_handover", interrupted)
    state = tmp_path / "state"
    code, text = _run(monkeypatch, capsys, "-i", str(inv), "--producer", "bp1", "--yes", "--state-dir", str(state))
    assert code == 143
    if began:
        assert "interrupted twice (SIGTERM)" in text and f"--state-dir {state.resolve()} --resume " in text
    else:
        assert "interrupted by SIGTERM before the handover began: nothing was changed" in text


def test_the_gap_reads_the_producers_restart_window_variables_with_restart_nodes_checks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY.replace("bp1: {ansible_host: 198.18.0.20}",
                                      "bp1: {ansible_host: 198.18.0.20, leader_settle_seconds: 5, "
                                      "leader_schedule: {source: file, path: /var/lib/pool/schedule.json}}"))  # fmt: skip
    inventory = load_inventory(path)
    got = handover.window_of(inventory.host("bp1"))
    assert not isinstance(got, str)
    settings, source = got
    assert settings.settle_seconds == 5 and settings.margin_seconds == 120
    assert source == "file /var/lib/pool/schedule.json"
    bare = handover.window_of(inventory.host("bp2"))
    assert not isinstance(bare, str) and bare[1] is None
    # a bad value: refused at its line, before any connection (the inventory judges it as restart_node does)
    path.write_text(INVENTORY.replace("bp1: {ansible_host: 198.18.0.20}",
                                      "bp1: {ansible_host: 198.18.0.20, leader_margin_seconds: soon}"))  # fmt: skip
    _no_ssh(monkeypatch)
    code, text = _run(monkeypatch, capsys, "-i", str(path), "--producer", "bp1", "--yes")
    assert code == 1 and f"{path}:" in text and "leader_margin_seconds must be a number" in text, text
