"""A `--limit` that keeps no host is one error, worded the same, in every command that takes --limit,
before any connection: exit 1 (bad input) in inventory, facts, plan and run; exit 2 in audit, whose
documented 1 means "findings" (an audit that did not run must never read as one that found something)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXCHANGE = ROOT / "inventory" / "examples" / "exchange-estate" / "hosts.yml"

COMMANDS = [
    (["inventory"], 1),
    (["facts"], 1),
    (["plan", "upgrade-exchange"], 1),
    (["run", "upgrade-exchange", "--yes"], 1),
    (["run", "upgrade-exchange", "--check"], 1),
    (["audit"], 2),
]


@pytest.mark.parametrize(("argv", "code"), COMMANDS, ids=[" ".join(a) for a, _ in COMMANDS])
def test_a_typo_in_the_limit_is_the_same_error_everywhere(
    argv: list[str], code: int, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a run's state dir, if one were made, lands here
    assert main([*argv, "-i", str(EXCHANGE), "--limit", "pasive_nodes"]) == code
    err = capsys.readouterr().err
    assert "--limit 'pasive_nodes' selects no host: 'pasive_nodes' matches no group or host" in err
    assert "did you mean 'passive_nodes'?" in err
    assert "Nothing to do" not in err
    assert not (tmp_path / ".cardano-fleet" / "runs").exists()  # no run began (the lock file may record the try)


@pytest.mark.parametrize(("argv", "code"), COMMANDS[:3] + COMMANDS[5:], ids=["inventory", "facts", "plan", "audit"])
def test_a_combination_that_leaves_no_host_is_refused_too(
    argv: list[str], code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "-i", str(EXCHANGE), "--limit", "passive_nodes:&relays"]) == code
    assert "their combination leaves none" in capsys.readouterr().err


def test_a_subscript_past_the_end_is_refused_as_ansible_does(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "-i", str(EXCHANGE), "--limit", "relays[9]"]) == 1
    assert "no host matched the subscripted pattern 'relays[9]'" in capsys.readouterr().err


def test_a_limit_file_is_read_and_a_missing_one_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    listed = tmp_path / "hosts.txt"
    listed.write_text("eu-relay01.exchange.example\nus_passive\n!us-node04.exchange.example\n")
    assert main(["inventory", "-i", str(EXCHANGE), "--json", "--limit", f"@{listed}"]) == 0
    import json

    names = [h["name"] for h in json.loads(capsys.readouterr().out)["hosts"]]
    assert names == ["eu-relay01.exchange.example", *(f"us-node0{i}.exchange.example" for i in (1, 2, 3))]
    assert main(["inventory", "-i", str(EXCHANGE), "--limit", f"@{tmp_path}/nope.txt"]) == 1
    assert "no such file" in capsys.readouterr().err


def test_cardano_and_passive_nodes_is_the_passive_nodes(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 28: `all:&passive_nodes` selected every host (the `&` was dropped)."""
    import json

    assert main(["inventory", "-i", str(EXCHANGE), "--json", "--limit", "all:&passive_nodes:!dbsync_feeders"]) == 0
    names = [h["name"] for h in json.loads(capsys.readouterr().out)["hosts"]]
    assert names == [f"{r}-node0{i}.exchange.example" for r in ("eu", "us") for i in (1, 2, 3, 4)]


def test_the_documented_exit_codes_are_the_tested_ones() -> None:
    """docs/host-patterns.md states the codes COMMANDS above checks; a change to either must change both."""
    docs = (ROOT / "docs" / "host-patterns.md").read_text()
    ones = sorted(a[0] for a, code in COMMANDS if code == 1)
    assert ones == ["facts", "inventory", "plan", "run", "run"]
    assert "**1** for `inventory`, `facts`, `plan` and `run`; **2** for `audit`" in docs.replace("\n  ", " ")
    assert [a[0] for a, code in COMMANDS if code == 2] == ["audit"]
