"""Output rules of every command (issue 29 item 6): one error prefix, documented exit codes that
`--help` lists, usage errors that never look like "changes pending", no traceback on binary data (nor
on a closed pipe: a real process's exit, tests/process/test_cli_pipe.py), UTC ISO-8601 timestamps on
progress lines in a pipe, no trailing blanks."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import paramiko
import pytest
from rich.console import Console

from orchestrator import cli
from orchestrator.commands import _exit
from orchestrator.report.console import LiveRollout, utc_stamp
from orchestrator.report.terminal import make_console
from orchestrator.roll.journal import Event
from orchestrator.ssh.host_keys import KnownHosts

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [name for name, _, _ in cli.COMMANDS]


def test_every_command_has_its_exit_codes() -> None:
    assert sorted(_exit.EXIT_CODES) == sorted(COMMANDS)
    for codes in _exit.EXIT_CODES.values():
        assert len({c for c, _ in codes}) == len(codes), "each code listed once"
        assert (0, "done") in codes or codes[0][0] == 0


@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_the_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    block = out[out.index("exit codes:"):]
    for code, meaning in (*_exit.EXIT_CODES[command], *_exit.COMMON):
        shown = "*" if code < 0 else str(code)
        assert re.search(rf"^\s+{re.escape(shown)}\s+{re.escape(meaning[:30])}", block, re.M), (command, code)


# (argv, the exit code of the usage error): never argparse's 2 after plan/run (2 = changes pending)
USAGE_ROWS = [
    (["plan"], 1),
    (["plan", "-i", "x", "pb", "--no-such-flag"], 1),
    (["run", "--no-such-flag"], 1),
    (["facts", "--bogus"], 1),
    (["inventory"], 1),
    (["audit", "--bogus"], 2),  # audit's contract: 2 = not run (docs/audit.md)
    (["lab", "frobnicate"], 1),
    (["no-such-command"], 1),
]


@pytest.mark.parametrize(("argv", "code"), USAGE_ROWS)
def test_usage_errors_have_the_prefix_and_the_commands_code(
    argv: list[str], code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == code
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(_exit.PREFIX)
    assert "Traceback" not in err


BINARY_ROWS = [
    ["inventory", "-i", "{bad}"],
    ["plan", "-i", "{bad}", "upgrade-8.9.0"],
    ["facts", "-i", "{bad}"],
    ["audit", "-i", "{bad}"],
    ["config", "migrate", "{bad}", "--to", "8.9.0", "--role", "relay"],
    ["validate", "--config", "{bad}", "--node-version", "8.9.0"],  # was "{bad}: not UTF-8 text", no prefix
]


@pytest.mark.parametrize("argv", BINARY_ROWS, ids=lambda a: a[0])
def test_binary_input_is_an_error_line_not_a_traceback(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "hosts.yml"
    bad.write_bytes(b"\xff\xfe[all]\n\x00\x93binary\n")
    code = cli.main([a.replace("{bad}", str(bad)) for a in argv])
    err = capsys.readouterr().err
    assert code == _exit.USAGE_ERROR[argv[0]]
    assert err.startswith(_exit.PREFIX) and f"{bad}:1:1: not UTF-8" in err and "Traceback" not in err


def test_a_corrupted_known_hosts_line_is_the_hosts_reason_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_bytes(b"198.18.4.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n\xff\xfe\x00 garbage\n")
    with pytest.raises(paramiko.SSHException, match=rf"^{re.escape(str(path))}:2: not text \(byte 0xff\)"):
        KnownHosts().keys_for(path, "198.18.4.11")


class _Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_progress_lines_in_a_pipe_carry_a_utc_iso_timestamp_across_midnight() -> None:
    from tests.unit.test_output import _plan

    ticks = iter([1798761598.0, 1798761599.0, 1798761600.0, 1798761601.0, 1798761602.0])  # 2026-12-31T23:59:58Z …
    out = _Pipe()
    with LiveRollout(make_console(out), _plan(), clock=lambda: next(ticks)) as view:
        view.on_event(Event(0.0, "relay2", "restarted"))
        view.on_event(Event(0.0, "relay2", "node_phase", {"detail": "replaying the ledger"}))
        view.on_event(Event(0.0, "relay2", "gate_passed"))
    lines = [line for line in out.getvalue().splitlines() if "relay2: " in line and "│" not in line]
    assert [line[:21] for line in lines] == ["2026-12-31T23:59:58Z ", "2026-12-31T23:59:59Z ", "2027-01-01T00:00:00Z "]
    assert all(not line.endswith((" ", "\t")) for line in out.getvalue().splitlines())


@pytest.mark.parametrize(("seconds", "text"), [(0.0, "1970-01-01T00:00:00Z"), (1798761599.9, "2026-12-31T23:59:59Z")])
def test_utc_stamp(seconds: float, text: str) -> None:
    assert utc_stamp(seconds) == text


def test_pipes_get_no_trailing_blanks_but_a_terminal_keeps_its_prompt_space() -> None:
    out = _Pipe()
    console = make_console(out)
    console.print("title   \nrow  ")
    assert out.getvalue() == "title\nrow\n"


# (remaining KES periods, threshold) -> refused in the plan? (leader_schedule.kes_check: at or below)
KES_ROWS = [(None, 3, False), (100, 3, False), (4, 3, False), (3, 3, True), (0, 3, True), (10, 14, True)]


@pytest.mark.parametrize(("remaining", "threshold", "refused"), KES_ROWS)
def test_a_producer_the_run_would_refuse_for_kes_plans_as_refused(
    remaining: int | None, threshold: int, refused: bool
) -> None:
    from dataclasses import replace

    from orchestrator.plan import Plan
    from orchestrator.report.console import plan_table, print_plan
    from orchestrator.report.plan_json import plan_as_json
    from orchestrator.spec.window import WindowSettings, build_guard
    from tests.unit.test_output import _plan

    base = _plan()
    relay2 = base.hosts[0]
    guard = build_guard(WindowSettings(kes_refuse_restart_periods=threshold), source=None, slots=(),
                        remaining_kes_periods=remaining, downtime_seconds=30.0)
    plan = Plan((replace(relay2, leader=guard),), base.release)
    hp = plan.hosts[0]
    assert hp.changed and hp.action == "restart"
    assert (hp.refusal is not None) is refused
    out = _Pipe()
    console = make_console(out)
    console.print(plan_table(plan), crop=False)
    print_plan(make_console(out), plan)
    text = out.getvalue()
    assert ("refused (KES)" in text) is refused
    if refused:
        assert f"  - refused: KES expires in {remaining} period(s)" in text
        assert plan_as_json(plan, 0.0)["hosts"][0]["refused"].startswith("refused: KES expires")
    else:
        assert plan_as_json(plan, 0.0)["hosts"][0]["refused"] is None


def test_the_demo_shows_each_command_on_one_line_even_in_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator import demo

    monkeypatch.setattr(demo, "cli", lambda argv: 2)
    out = io.StringIO()
    argv = ["plan", "-i", "/very/long/path/to/the/lab/inventory.yml", "/opt/x/[bold]playbooks/upgrade-8.9.0.yml"]
    assert demo.step(Console(file=out, width=40), "4. The plan", argv) == 2
    lines = out.getvalue().splitlines()
    assert f"$ cardano-fleet plan -i {argv[2]} '{argv[3]}'" in lines  # whole, and markup-free
    assert "(exit 2)" in lines


def test_run_summary_in_a_pipe_is_one_record_per_host_and_a_terminal_keeps_the_table() -> None:
    from orchestrator.report.console import print_summary
    from orchestrator.roll.engine import HostOutcome, RolloutResult

    long_detail = "8.7.3 → 8.9.0, 3 file(s), restart; in sync after 14s; " + "x" * 120
    phases = {"opening chain db": 0.0, "validating chunks": 1.2, "replaying ledger": 8.4, "initial chain selection": 2.4}
    outcomes = {n: HostOutcome(n, "relay", "upgraded", batch=i + 1, downtime=14.8, phases=phases, detail=long_detail)
                for i, n in enumerate(("relay1", "relay2"))}
    result = RolloutResult("run-9", outcomes, None)
    out = _Pipe()
    print_summary(make_console(out), result, None)
    lines = [line for line in out.getvalue().splitlines() if line]
    assert lines[0] == "Run run-9: OK"
    assert [line.split(":")[0] for line in lines[1:3]] == ["relay1", "relay2"] and lines[3] == "2 upgraded"
    assert lines[1].startswith("relay1: upgraded (relay, batch 1); downtime 14.8s; start phases opening chain db 0.0s")
    assert not any(ch in out.getvalue() for ch in "┏│└")

    class _Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = _Tty()
    print_summary(Console(file=tty, width=160, force_terminal=True, color_system=None), result, None)
    assert "┏" in tty.getvalue() and all(len(line) <= 160 for line in tty.getvalue().splitlines())


@pytest.mark.parametrize(("tty", "expected"), [(False, "2026-12-31T23:59:59Z lab: booting hosts"), (True, "lab: booting hosts")])
def test_stderr_progress_lines_are_stamped_off_a_terminal(tty: bool, expected: str) -> None:
    from orchestrator.report.terminal import progress_line

    class _Err(io.StringIO):
        def isatty(self) -> bool:
            return tty

    assert progress_line("lab: booting hosts", _Err(), now=1798761599.0) == expected


@pytest.mark.parametrize("command", ["plan", "run"])
def test_a_warning_names_the_operators_file_as_written_even_with_brackets_in_it(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deprecation warning names the file it is in; printed as rich markup, "x[ok]/hosts.yml" came out
    as "x/hosts.yml" (the "[ok]" taken for a style): the operator would look in the wrong file. The one
    host is on loopback port 9, which refuses: nothing is reached, and the warning comes before."""
    monkeypatch.chdir(tmp_path)
    inventory = tmp_path / "x[ok]" / "hosts.yml"
    inventory.parent.mkdir()
    inventory.write_text(
        "all:\n  children:\n    relays:\n      hosts:\n        relay1: {ansible_host: 127.0.0.1, ansible_port: 9,"
        " layout: iog, cardano_network: mainnet, kes_min_periods: 5}\n"
    )
    args = [command, "-i", "x[ok]/hosts.yml", "upgrade-8.9.0", "--allow-unpinned-release"]
    cli.main(args + (["--check"] if command == "run" else []))
    out = capsys.readouterr().out
    assert "x[ok]/hosts.yml:5:" in out and "'kes_min_periods' is deprecated" in out, out


def test_the_demo_runs_the_repositorys_own_playbook() -> None:
    """`make demo` types `plan`/`run` with this path: it must be the repository's playbook (the demo
    module moved from lab/ to the package root once, and its path then pointed outside the checkout)."""
    from orchestrator import demo

    assert Path(demo.PLAYBOOK) == ROOT / "playbooks" / "upgrade-8.9.0.yml"
    assert Path(demo.PLAYBOOK).is_file()


def _plan_at_160(console: Console) -> None:
    from orchestrator.plan import make_plan
    from orchestrator.report.console import print_plan
    from tests.unit import test_plan as tp

    inv = tp.inventory()
    plan = make_plan(inv, inv.hosts, {h.name: tp.legacy_facts(h.name) for h in inv.hosts}, tp.RELEASE,
                     [["relay1"], ["relay2"], ["bp1"]])  # fmt: skip
    print_plan(console, plan)


def _audit_at_160(console: Console) -> None:
    from orchestrator.audit.findings import AuditReport, Finding, HostAudit, Severity
    from orchestrator.audit.policy import Policy
    from orchestrator.report.audit_table import print_audit

    message = "cardano-node.service runs cardano-node as root (its User= is root or unset): run it as a dedicated user"
    hosts = tuple(HostAudit(name, "relay", True, 0, (
        Finding(name, "min-version", Severity.ERROR, False, "cardano-node 8.9.0 is below 11.0.1 (the hard-fork "
                "floor for mainnet): upgrade it"),
        Finding(name, "node-user", Severity.WARNING, False, message),
    )) for name in ("relay1", "relay2", "bp1"))  # fmt: skip
    print_audit(console, AuditReport(source="inv.yml", policy=Policy(), timestamp=1_780_000_000.0, hosts=hosts))


# (what prints a table, its rows): the lab transcript's plan and audit (issue 29: "cells wrap even at 160 columns")
TABLES_AT_160 = [("plan", _plan_at_160, 3), ("audit", _audit_at_160, 6)]


@pytest.mark.parametrize(("case", "render", "rows"), TABLES_AT_160, ids=[t[0] for t in TABLES_AT_160])
def test_the_plan_and_audit_tables_fit_160_columns_one_line_per_row(
    monkeypatch: pytest.MonkeyPatch, case: str, render: Callable[[Console], None], rows: int
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    out = _Pipe()
    render(make_console(out))
    table = [line for line in out.getvalue().splitlines() if line.startswith(("│", "┃", "┏", "┡", "└"))]
    assert table and max(len(line) for line in table) <= 160
    assert sum(1 for line in table if line.startswith("│")) == rows  # no cell wrapped onto a second line


def test_lab_exec_passes_binary_output_through_byte_for_byte(
    monkeypatch: pytest.MonkeyPatch, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    """`lab exec relay1 cat chunk` on a binary file ended in a UnicodeDecodeError (issue 29): the host's
    bytes, stdout and stderr, reach ours unchanged, and its exit code is the command's."""
    import subprocess

    from orchestrator.lab import hosts, state

    payload = b"\x1f\x8b\x08\x00\xff\xfe\x00\x93binary\n"
    monkeypatch.setattr(state.LabState, "load", staticmethod(lambda directory: object()))
    monkeypatch.setattr(hosts, "host_exec_bytes",
                        lambda lab, host, command: subprocess.CompletedProcess(command, 3, payload, b"\xff on stderr"))
    assert cli.main(["lab", "exec", "relay1", "cat", "chunk"]) == 3
    captured = capfdbinary.readouterr()
    assert (captured.out, captured.err) == (payload, b"\xff on stderr")


# (what prints in a pipe, the multi-line value in it) -> each of its lines: one record per host, or a progress
# line that starts with its timestamp; the line break shown as \n (a failed hook's stderr has several lines)
MULTILINE = "hook failed:\nstderr line 2\r\nline 3"


def _summary_in_a_pipe(out: io.StringIO) -> list[str]:
    from orchestrator.report.console import print_summary
    from orchestrator.roll.engine import HostOutcome, RolloutResult

    outcomes = {n: HostOutcome(n, "relay", "failed", batch=1, detail=MULTILINE) for n in ("relay1", "relay2")}
    print_summary(make_console(out), RolloutResult("run-9", outcomes, None), None)
    return [line for line in out.getvalue().splitlines() if line.startswith("relay")]


def _progress_in_a_pipe(out: io.StringIO) -> list[str]:
    from tests.unit.test_output import _plan

    with LiveRollout(make_console(out), _plan(), clock=lambda: 1798761599.0) as view:
        view.on_event(Event(0.0, "relay2", "node_phase", {"detail": MULTILINE}))
        view.on_event(Event(0.0, "relay2", "connection_lost", {"during": "restart", "detail": MULTILINE}))
    return [line for line in out.getvalue().splitlines() if line and not line.startswith(("│", "┃", "┏", "┡", "└", "Rollout"))]


@pytest.mark.parametrize(("render", "lines", "prefixes"), [
    (_summary_in_a_pipe, 2, ("relay1: failed", "relay2: failed")),
    # two progress lines, and the rollout's recap line under its table
    (_progress_in_a_pipe, 3, ("2026-12-31T23:59:59Z relay2: ", "relay2: ")),
])  # fmt: skip
def test_a_multi_line_value_stays_on_its_record_or_progress_line_in_a_pipe(
    render: Callable[[io.StringIO], list[str]], lines: int, prefixes: tuple[str, ...]
) -> None:
    printed = render(_Pipe())
    assert len(printed) == lines
    assert all(line.startswith(prefixes) and "hook failed:\\nstderr line 2\\r\\nline 3" in line for line in printed)
