"""Standby producers in the inventory (issue 27): group `standby_producers` or `cardano_role:
standby_producer`, tied to its active producer by `standby_for`; a producer's files, peers and key
safety (its role stays block_producer); the relays list it, unadvertised; every mistake refused at
the operator's file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestrator.actions.convert_topology import own_peers
from orchestrator.cardano.networks import network
from orchestrator.cardano.topology import desired_topology
from orchestrator.load.inventory import InventoryError, load_inventory
from orchestrator.model import Role

# Lines 1-18; a case appends to it (the standby's own lines from line 19 on, 8 spaces of indent).
BASE = """\
all:
  vars:
    layout: iog
    cardano_network: mainnet
  children:
    relays:
      hosts:
        r1: {ansible_host: 198.18.0.11}
        r2: {ansible_host: 198.18.0.12}
    passive_nodes:
      hosts:
        w1: {ansible_host: 198.18.0.31}
    block_producers:
      hosts:
        bp1: {ansible_host: 198.18.0.20}
        bp2: {ansible_host: 198.18.0.22}
    standby_producers:
      hosts:
"""


def load(tmp_path: Path, extra: str) -> object:
    path = tmp_path / "hosts.yml"
    path.write_text(BASE + extra)
    return load_inventory(path)


def refused(tmp_path: Path, extra: str) -> InventoryError:
    with pytest.raises(InventoryError) as caught:
        load(tmp_path, extra)
    return caught.value


def test_a_standby_in_its_group_is_a_block_producer_tied_to_its_producer(tmp_path: Path) -> None:
    inv = load(tmp_path, "        bp1-standby: {ansible_host: 198.18.0.21, standby_for: bp1}\n")
    hosts = {h.name: h for h in inv.hosts}  # type: ignore[attr-defined]
    sb = hosts["bp1-standby"]
    assert sb.role is Role.BLOCK_PRODUCER and sb.is_standby and sb.standby_for == "bp1"
    assert not hosts["bp1"].is_standby and hosts["bp1"].standby_for is None
    # host patterns: the group selects it; block_producers does too (it is one)
    assert [h.name for h in inv.select("standby_producers")] == ["bp1-standby"]  # type: ignore[attr-defined]
    assert "bp1-standby" in [h.name for h in inv.select("block_producers")]  # type: ignore[attr-defined]


def test_cardano_role_standby_producer_is_the_same(tmp_path: Path) -> None:
    text = BASE.replace("    standby_producers:\n      hosts:\n", "") + textwrap.dedent("""\
        ungrouped:
          hosts:
            sb: {ansible_host: 198.18.0.21, cardano_role: standby_producer, standby_for: bp2}
        """).replace("\n", "\n    ").rstrip() + "\n"
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    inv = load_inventory(path)
    sb = next(h for h in inv.hosts if h.name == "sb")
    assert sb.role is Role.BLOCK_PRODUCER and sb.standby_for == "bp2"
    assert [h.name for h in inv.select("standby_producers")] == ["sb"]


def test_the_standby_has_its_producers_relays_and_the_relays_list_it_unadvertised(tmp_path: Path) -> None:
    inv = load(tmp_path, "        bp1-standby: {ansible_host: 198.18.0.21, standby_for: bp1}\n")
    hosts = {h.name: h for h in inv.hosts}  # type: ignore[attr-defined]
    assert own_peers(hosts["bp1-standby"], inv) == own_peers(hosts["bp1"], inv)  # type: ignore[arg-type]
    relay_peers = own_peers(hosts["r1"], inv)  # type: ignore[arg-type]
    assert "198.18.0.21" in {p.address for p in relay_peers}
    topo = desired_topology(None, Role.RELAY, relay_peers, network("mainnet"), set())
    own = [g for g in topo["localRoots"] if any(a["address"] == "198.18.0.21" for a in g["accessPoints"])]
    assert own and not any(g["advertise"] for g in own)
    standby_topo = desired_topology(None, Role.BLOCK_PRODUCER, own_peers(hosts["bp1-standby"], inv),  # type: ignore[arg-type]
                                    network("mainnet"), set())  # fmt: skip
    assert not any(g["advertise"] for g in standby_topo["localRoots"])
    assert {a["address"] for g in standby_topo["localRoots"] for a in g["accessPoints"]} == {"198.18.0.11", "198.18.0.12"}


@pytest.mark.parametrize("extra,line,col,message", [
    ("        sb: {ansible_host: 198.18.0.21}\n", 19, 9,
     "host 'sb' is a standby producer but has no 'standby_for'"),
    ("        sb: {ansible_host: 198.18.0.21, standby_for: bp3}\n", 19, 41,
     "standby_for names 'bp3', which is not in the inventory — did you mean 'bp1'?"),
    ("        sb: {ansible_host: 198.18.0.21, standby_for: r1}\n", 19, 41, "'r1', a relay, not a block producer"),
    ("        sb: {ansible_host: 198.18.0.21, standby_for: w1}\n", 19, 41, "'w1', a passive, not a block producer"),
    ("        sb: {ansible_host: 198.18.0.21, standby_for: sb}\n", 19, 41, "cannot stand by itself"),
    ("        sb: {ansible_host: 198.18.0.21, standby_for: bp1}\n        sb2: {standby_for: bp1}\n", 20, 15,
     "'bp1' already has the standby 'sb'"),
    ("        sb: {ansible_host: 198.18.0.21, standby_for: bp1}\n        sb2: {standby_for: sb}\n", 20, 15,
     "'sb', itself a standby producer; name the active producer ('bp1'?)"),
    ("        sb: {ansible_host: 198.18.0.21, standby_for: bp1, cardano_network: preprod}\n", 19, 41,
     "standby producer 'sb' is on preprod but its producer 'bp1' is on mainnet"),
    ("        sb: {ansible_host: 198.18.0.21, standby_for: [bp1]}\n", 19, 54,
     "'standby_for' must name the block producer this standby stands by"),
    ("        sb: {ansible_host: 198.18.0.21, standby_for: bp1, cardano_role: block_producer}\n", 19, 59,
     "host 'sb' is in group 'standby_producers' but has cardano_role: block_producer"),
    ("        sb: {ansible_host: 198.18.0.21, standby_fro: bp1}\n", 19, 41,
     "unknown variable 'standby_fro' — did you mean 'standby_for'?"),
])  # fmt: skip
def test_standby_mistakes_are_refused_where_written(tmp_path: Path, extra: str, line: int, col: int,
                                                    message: str) -> None:  # fmt: skip
    err = refused(tmp_path, extra)
    assert message in err.message, err.message
    assert (Path(err.path).name, err.line, err.column) == ("hosts.yml", line, col), str(err)


def test_standby_for_on_a_host_that_is_no_standby_is_refused(tmp_path: Path) -> None:
    bp2 = "        bp2: {ansible_host: 198.18.0.22"
    text = BASE.replace(bp2 + "}\n", bp2 + ", standby_for: bp1}\n")
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert "host 'bp2' has standby_for but is no standby producer" in caught.value.message
    assert (caught.value.line, caught.value.column) == (16, 42)


def test_a_host_in_block_producers_and_standby_producers_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path, "        bp1: {standby_for: bp2}\n")
    assert "is in both 'block_producers' and 'standby_producers'" in err.message


def test_a_typo_of_the_group_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    text = BASE.replace("    standby_producers:\n", "    standby_producer:\n") + "        sb: {standby_for: bp1}\n"
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert "did you mean 'standby_producers'?" in caught.value.message


def test_an_ini_inventory_names_a_standby_the_same_way_and_reports_show_it(tmp_path: Path) -> None:
    import json

    from orchestrator.report.inventory_json import render_inventory_json
    from orchestrator.report.inventory_table import inventory_records

    path = tmp_path / "hosts.ini"
    path.write_text(textwrap.dedent("""\
        [relays]
        r1 ansible_host=198.18.0.11
        [block_producers]
        bp1 ansible_host=198.18.0.20
        [standby_producers]
        sb ansible_host=198.18.0.21 standby_for=bp9
        [all:vars]
        layout=iog
        cardano_network=mainnet
        """))
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert (caught.value.line, "did you mean 'bp1'?" in caught.value.message) == (6, True), str(caught.value)
    path.write_text(path.read_text().replace("standby_for=bp9", "standby_for=bp1"))
    inv = load_inventory(path)
    doc = json.loads(render_inventory_json(inv, inv.hosts))
    rows = {h["name"]: h for h in doc["hosts"]}
    assert rows["sb"]["standby_for"] == "bp1" and "standby_for" not in rows["bp1"]
    assert rows["sb"]["role"] == "block_producer"
    assert any(line.startswith("sb: block_producer (standby for bp1);") for line in inventory_records("t", inv.hosts, {}))
