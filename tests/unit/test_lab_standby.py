"""`lab up --standby-producers N` (issue 27): bp1-standby beside bp1 with its layout and credentials,
started non-producing, on a release that reads that flag; the relays peer with it; the inventory the
lab writes names it in standby_producers with standby_for, and loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.lab import provision
from orchestrator.lab.hosts import check_versions, plan_hosts
from orchestrator.lab.state import LabError, LabState
from orchestrator.load.inventory import load_inventory


def test_a_standby_is_planned_beside_its_producer() -> None:
    hosts = {h.name: h for h in plan_hosts(2, 2, 0, standbys=1)}
    sb = hosts["bp1-standby"]
    assert sb.role == "block_producer" and sb.standby_for == "bp1" and sb.layout == hosts["bp1"].layout
    assert sb.address == "198.18.0.150" and "bp2-standby" not in hosts
    assert len(sb.veth) <= 15 and len({h.address for h in hosts.values()}) == len(hosts)
    with pytest.raises(LabError, match="--standby-producers"):
        plan_hosts(2, 1, 0, standbys=2)


def test_it_starts_non_producing_with_the_credentials_named_and_its_producers_relays() -> None:
    hosts = plan_hosts(2, 1, 0, standbys=1)
    by = {h.name: h for h in hosts}
    unit = provision._unit(by["bp1-standby"], 1.0)
    assert "--start-as-non-producing-node" in unit and "--shelley-kes-key" in unit
    assert "--start-as-non-producing-node" not in provision._unit(by["bp1"], 1.0)
    files = provision.current_node_files(by["relay1"], hosts, "10.6.4")
    topo = json.loads(files[provision.layout_of(by["relay1"]).topology_path])
    listed = {p["address"] for g in topo["localRoots"] for p in g["accessPoints"]}
    assert {"198.18.0.101", "198.18.0.150"} <= listed and not any(g["advertise"] for g in topo["localRoots"])
    sb_topo = json.loads(provision.current_node_files(by["bp1-standby"], hosts, "10.6.4")[
        provision.layout_of(by["bp1-standby"]).topology_path])  # fmt: skip
    bp_topo = json.loads(provision.current_node_files(by["bp1"], hosts, "10.6.4")[provision.layout_of(by["bp1"]).topology_path])
    assert sb_topo == bp_topo  # the same relays, no ledger peers, nothing advertised


def test_a_standby_needs_a_release_with_the_non_producing_flag() -> None:
    hosts = plan_hosts(2, 1, 0, standbys=1)
    with pytest.raises(LabError, match="10.5.1"):
        check_versions(hosts, "8.9.0", "10.6.4", {})
    check_versions(hosts, "10.6.4", "11.0.1", {})


def test_the_lab_inventory_names_the_standby_and_loads(tmp_path: Path) -> None:
    hosts = plan_hosts(2, 1, 0, standbys=1)
    state = LabState(dir=str(tmp_path), subnet=0, bridge="cfleet0", gateway="198.18.0.1", node_version="10.6.4",
                     hosts=hosts, target_version="11.0.1",
                     release_urls={"11.0.1": {"url": "http://198.18.0.1:8080/x.tar.gz", "sha256": "ab" * 32}})  # fmt: skip
    keys = provision.Keys(tmp_path / "client_key", "ssh-ed25519 AAAA lab", {})
    path = tmp_path / "inventory.yml"
    path.write_text(provision._inventory(state, keys, relayed=False))
    assert "standby_producers:" in path.read_text() and "standby_for: bp1" in path.read_text()
    inv = load_inventory(path)
    sb = next(h for h in inv.hosts if h.name == "bp1-standby")
    assert sb.is_producer and sb.standby_for == "bp1"
    assert [h.name for h in inv.select("block_producers")] == ["bp1", "bp1-standby"]
    assert [h.name for h in inv.select("standby_producers")] == ["bp1-standby"]
