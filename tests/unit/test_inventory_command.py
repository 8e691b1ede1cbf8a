"""`cardano-fleet inventory`: output for people and machines, --limit, -e, and exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from orchestrator.commands import inventory as command

ROOT = Path(__file__).resolve().parents[2]
SMALL_POOL = ROOT / "inventory" / "examples" / "small-pool" / "hosts.yml"
EXCHANGE = ROOT / "inventory" / "examples" / "exchange"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return command.run(parser.parse_args(argv))


def test_json_output_is_stable_and_complete(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-i", str(SMALL_POOL), "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert list(doc) == ["groups", "helpers", "hosts", "skipped", "source", "warnings"]  # sorted keys
    assert doc["source"] == str(SMALL_POOL)
    assert [h["name"] for h in doc["hosts"]] == ["relay1", "relay2", "bp1"]
    bp1 = doc["hosts"][2]
    assert sorted(bp1) == [
        "address",
        "become",
        "become_password_env",
        "groups",
        "key_file",
        "known_hosts_file",
        "layout",
        "name",
        "network",
        "node_address",
        "node_port",
        "port",
        "proxy_jump",
        "role",
        "user",
        "vars",
    ]
    assert (bp1["role"], bp1["user"], bp1["proxy_jump"]) == ("block_producer", "bpops", "ops@203.0.113.11")
    assert bp1["layout"]["config_path"] == "/opt/cardano/config/config.json"
    assert bp1["layout"]["service_name"] == "cardano-node.service"
    assert doc["groups"] == {"block_producers": ["bp1"], "relays": ["relay1", "relay2"]}
    capsys.readouterr()
    assert run(["-i", str(SMALL_POOL), "--json"]) == 0
    assert capsys.readouterr().out == out  # same input, same bytes


def test_limit_and_extra_vars(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["-i", str(EXCHANGE), "--json", "--limit", "wave1", "-e", "ansible_user=deploy node_port=6010"]
    assert run(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [h["name"] for h in doc["hosts"]] == ["eu-relay01.exchange.example", "us-relay01.exchange.example"]
    assert {h["user"] for h in doc["hosts"]} == {"deploy"}
    assert {h["node_port"] for h in doc["hosts"]} == {6010}
    assert set(doc["groups"]) == {"eu_relays", "relays", "us_relays", "wave1"}
    assert doc["groups"]["relays"] == ["eu-relay01.exchange.example", "us-relay01.exchange.example"]


def test_table_output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")
    assert run(["-i", str(SMALL_POOL), "--limit", "relays"]) == 0
    out = capsys.readouterr().out
    for text in (
        "relay1",
        "relay2",
        "ops@203.0.113.12:2222",
        "203.0.113.11:3001",
        "mainnet",
        "iog",
        "/srv/cardano/db",
        "/opt/cardano/config/topology.json",
        "cardano-node.service",
    ):
        assert text in out
    assert "bp1" not in out


def test_invalid_inventory_exits_1_with_the_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "hosts.yml"
    bad.write_text("all:\n  vars:\n    layout: iog\n    cardano_netwrk: mainnet\n")
    assert run(["-i", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"cardano-fleet: error: {bad}:4:5: unknown variable 'cardano_netwrk' — "
                            "did you mean 'cardano_network'?\n")


def test_bad_extra_var_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-i", str(SMALL_POOL), "-e", "cardano_network=testnet"]) == 1
    assert "error: -e: unknown network 'testnet'" in capsys.readouterr().err


def test_limit_matching_nothing_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-i", str(SMALL_POOL), "--limit", "nosuchhost"]) == 1
    assert "--limit 'nosuchhost' selects no host: 'nosuchhost' matches no group or host" in capsys.readouterr().err


def test_registered_in_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.cli import main

    assert main(["inventory", "-i", str(SMALL_POOL), "--json", "-l", "bp1"]) == 0
    assert [h["name"] for h in json.loads(capsys.readouterr().out)["hosts"]] == ["bp1"]
