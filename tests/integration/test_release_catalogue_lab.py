"""The release catalogue against real lab hosts: a host newer than the target is left alone with the
reason (never downgraded), and upgrade-node takes the inventory's pinned release as its target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano import releases
from orchestrator.cli import main
from tests.integration.helpers import fleet_fingerprints, node_version

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]


def pinned_inventory(lab: Any, version: str, tmp: Path) -> Path:
    """The lab's inventory with node_release pinned to `version` (served by the lab's release server)."""
    text = lab.inventory_path.read_text()
    served = lab.state.release_urls
    current = releases.TARGET_VERSION  # what `lab up` pins
    for key in ("url", "sha256"):
        text = text.replace(f"{key}: {served[current][key]}", f"{key}: {served[version][key]}")
    text = text.replace(f'version: "{current}"', f'version: "{version}"')
    out = tmp / "inventory.yml"
    out.write_text(text)
    return out


def test_a_host_newer_than_the_target_is_left_alone(fresh_lab: Any, tmp_path: Path, capsys: Any) -> None:
    newer, older = releases.TARGET_VERSION, releases.FROM_VERSION
    lab = fresh_lab(relays=1, producers=1, node_version=newer)
    lab.wait_in_sync()  # its nodes up, so that the fingerprints below hold their process ids
    assert node_version(lab, "relay1") == newer  # what the host's own binary reports
    inventory = pinned_inventory(lab, older, tmp_path)
    before = fleet_fingerprints(lab)
    assert main(["plan", "-i", str(inventory), str(ROOT / "playbooks" / "upgrade-8.9.0.yml"), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    for host in plan["hosts"]:
        assert host["error"] is None, host
        assert host["current_version"] == newer and host["files"] == []
        assert f"newer than the target ({newer} > {older}): left alone" in host["reasons"]
    assert main(["run", "-i", str(inventory), "upgrade-node", "--yes", "--state-dir", str(tmp_path / "state")]) == 0
    after = fleet_fingerprints(lab)
    for name, fp in before.items():  # nothing written, no binary switched back, no restart
        assert {k: (v, after[name].get(k)) for k, v in fp.items() if after[name].get(k) != v} == {}, name
    assert node_version(lab, "relay1") == newer


def test_upgrade_node_plans_the_inventorys_pinned_release(lab: Any, capsys: Any) -> None:
    target = releases.TARGET_VERSION  # a catalogued release newer than the lab's hosts, which the lab serves
    assert main(["plan", "-i", str(lab.inventory_path), "upgrade-node", "--json"]) == 2
    plan = json.loads(capsys.readouterr().out)
    assert {h["host"] for h in plan["hosts"]} == {h.name for h in lab.hosts}
    for host in plan["hosts"]:
        assert host["error"] is None, host
        assert (host["current_version"], host["target_version"]) == (releases.FROM_VERSION, target)
        assert f"binary {releases.FROM_VERSION} → {target}" in host["reasons"]
        # the crossing from the host's own facts: a binary swap in one snapshot format, no backup needed
        crossing = host["crossing"]
        assert crossing["hops"] == [f"{releases.FROM_VERSION} -> {target}"] and crossing["replay"] == "none"
        assert crossing["disk"]["needed_bytes"] == 0 and crossing["disk"]["free_bytes"] > 0
        assert crossing["disk"]["ledger_bytes"] is not None and crossing["disk"]["enough"] is True
