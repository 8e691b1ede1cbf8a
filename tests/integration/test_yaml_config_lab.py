"""Issue 15: hosts whose node config is the node repository's YAML file, upgraded end to end.

The lab gives relay2 (IOG layout) and bp1 the real 8.7.3 `mainnet-config.yaml` (comments, YAML
booleans, `mainnet-*-genesis.json` names); the simulated node reads it as YAML as cardano-node does.
`validate` on the host's files, `plan`, the run and the audit must all read it the same way, and the
upgraded file must still be that YAML file: comments and key order kept, only what 8.9.0 needs changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cardano import node_yaml
from orchestrator.cli import main

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
UPGRADE = str(ROOT / "playbooks" / "upgrade-8.9.0.yml")
YAML_PATH = "/opt/cardano/config/mainnet-config.yaml"
ORIGINAL = (ROOT / "orchestrator" / "cardano" / "data" / "8.7.3" / "mainnet" / "mainnet-config.yaml").read_text()


@pytest.fixture(scope="module")
def fleet(lab_factory):
    lab = lab_factory(relays=2, producers=1, yaml_configs=("relay2", "bp1"))
    lab.wait_in_sync()
    return lab


def test_yaml_hosts_run_873_on_the_node_repository_file(fleet) -> None:
    for host in ("relay2", "bp1"):
        text = fleet.exec(host, f"cat {YAML_PATH}").stdout
        assert text.startswith(ORIGINAL)  # bp1 appends PeerSharingDisabled
        assert node_yaml.loads(text)["TurnOnLogging"] is True  # YAML 1.1 `True`, read as the node does
        assert fleet.exec(host, "/opt/cardano/bin/cardano-node --version").stdout.startswith("cardano-node 8.7.3")
        # the node is up on that file: its process runs with --config pointing at the YAML
        ps = fleet.exec(host, "cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '").stdout
        assert f"--config {YAML_PATH}" in ps


def test_plan_reads_the_yaml_and_keeps_it_yaml(fleet, capsys, tmp_path) -> None:
    assert main(["plan", "-i", str(fleet.inventory_path), UPGRADE, "--limit", "relay2", "--json"]) == 2
    plan = json.loads(capsys.readouterr().out)
    out = json.dumps(plan)
    assert YAML_PATH in out and "+EnableP2P: true" in out
    assert "+# Added for cardano-node 8.9.0 P2P" in out and "-ConwayGenesisHash: f7d46bdd" in out
    assert "not valid JSON" not in out and "Failed reading" not in out


def test_upgrade_keeps_yaml_with_comments_and_order(fleet, tmp_path) -> None:
    state = tmp_path / "state"
    assert main(["run", "-i", str(fleet.inventory_path), UPGRADE, "--yes", "--state-dir", str(state)]) == 0
    for host, role in (("relay2", "relay"), ("bp1", "block_producer")):
        text = fleet.exec(host, f"cat {YAML_PATH}").stdout
        with pytest.raises(ValueError):
            json.loads(text)  # still YAML, not rewritten as JSON
        lines = text.splitlines()
        for line in ORIGINAL.splitlines():  # every original line kept but the Conway hash
            assert line in lines or line.startswith("ConwayGenesisHash:")
        assert "ConwayGenesisHash: de609b281cb3d8ae91a9d63a00c87092975612d603aa54c0f1c6a781e33d6e1e" in lines
        assert "# Trace BlockFetch client." in lines and "TurnOnLogging: True" in lines
        cfg = node_yaml.loads(text)
        assert cfg["EnableP2P"] is True
        if role == "block_producer":
            assert cfg["PeerSharing"] is False and "PeerSharing: false" in lines
        # the upgraded node runs on it: 8.9.0, the Conway genesis next to the YAML is the pinned one
        listing = fleet.exec(host, "/opt/cardano/bin/cardano-node --version; ls /opt/cardano/config").stdout
        assert "cardano-node 8.9.0" in listing and "mainnet-conway-genesis.json" in listing
        conway = fleet.exec(host, "b2sum -l 256 /opt/cardano/config/mainnet-conway-genesis.json").stdout.split()[0]
        assert conway == cfg["ConwayGenesisHash"]
    fleet.wait_in_sync(timeout=60)


def test_validate_and_audit_read_the_yaml_after_the_upgrade(fleet, capsys, tmp_path) -> None:
    local = tmp_path / "relay2"
    local.mkdir()
    for name in ("mainnet-config.yaml", "mainnet-byron-genesis.json", "mainnet-shelley-genesis.json",
                 "mainnet-alonzo-genesis.json", "mainnet-conway-genesis.json", "topology.json"):  # fmt: skip
        (local / name).write_bytes(fleet.exec("relay2", f"cat /opt/cardano/config/{name}").stdout.encode())
    rc = main(["validate", "--config", str(local / "mainnet-config.yaml"), "--topology", str(local / "topology.json"),
               "--node-version", "8.9.0"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and "(P2P; config read as YAML)" in out
    report = tmp_path / "audit.json"
    main(["audit", "-i", str(fleet.inventory_path), "--limit", "relay2,bp1", "--format", "json",
          "--output", str(report)])  # fmt: skip
    capsys.readouterr()
    findings = {(f["host"], f["rule"]): f for f in _findings(json.loads(report.read_text()))}
    for host in ("relay2", "bp1"):
        for rule in ("config-valid", "p2p-enabled", "conway-genesis-hash", "genesis-hashes", "network-match", "drift"):
            assert findings[(host, rule)]["status"] == "pass", findings[(host, rule)]
    assert "ByronGenesisHash matches /opt/cardano/config/mainnet-byron-genesis.json" in str(
        findings[("relay2", "genesis-hashes")]["message"]
    )


def _findings(doc: dict[str, list[dict[str, object]]]) -> list[dict[str, object]]:
    return [{"host": h["host"], **f} for h in doc["hosts"] for f in h["findings"]]  # type: ignore[dict-item]
