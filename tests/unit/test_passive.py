"""Passive nodes (an exchange's, a wallet provider's): their role, their two topology forms, PeerSharing,
and that no relay or block producer is wired to them. Inputs are the real reference files
(tests/fixtures/cardano-reference: the book's 8.7.3 legacy topology and config, the 8.9.0 ones) and a
real inventory file; the node's own parsing rules (cardano/node_rules.py) judge every result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.cardano import node_rules
from orchestrator.load.inventory import InventoryError, load_inventory
from orchestrator.load.runspec import compile_run
from orchestrator.model import Role
from orchestrator.plan import Plan, make_plan
from tests.unit.playbooks import read_playbook
from tests.unit.test_engine import Facts

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "fixtures" / "cardano-reference" / "book-play-environments"
UPGRADE = ROOT / "playbooks" / "upgrade-8.9.0.yml"
PIN = {"version": "8.9.0", "url": "http://198.18.0.1:8080/cardano-node-8.9.0-linux.tar.gz", "sha256": "ab" * 32}
FRIEND = "relay.partner.example"
ADDR = {"relay1": "203.0.113.11", "relay2": "203.0.113.12", "bp1": "203.0.113.21", "wallet1": "203.0.113.31",
        "wallet2": "203.0.113.32"}  # fmt: skip
TOPOLOGY = "/opt/cardano/config/topology.json"
CONFIG = "/opt/cardano/config/config.json"


def book_legacy_topology() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REF / "8.7.3" / "mainnet" / "topology-legacy.json").read_text())
    return data


def book_config(peer_sharing: Any = None) -> str:
    cfg = json.loads((REF / "8.7.3" / "mainnet" / "config.json").read_text())
    cfg["EnableP2P"] = False
    if peer_sharing is not None:
        cfg["PeerSharing"] = peer_sharing
    return json.dumps(cfg, indent=2) + "\n"


def passive_legacy(*extra: dict[str, Any]) -> str:
    """The book's legacy topology (relays-new.cardano-mainnet.iohk.io) plus the operator's own entries."""
    topo = book_legacy_topology()
    topo["Producers"] = [*topo["Producers"], *extra]
    return json.dumps(topo, indent=2) + "\n"


def inventory_file(tmp: Path, wallet_vars: dict[str, Any] | None = None, *, by_var: bool = False) -> Path:
    passive = {"wallet1": {"ansible_host": ADDR["wallet1"], **(wallet_vars or {})},
               "wallet2": {"ansible_host": ADDR["wallet2"], "passive_topology": "private"}}  # fmt: skip
    children: dict[str, Any] = {
        "relays": {"hosts": {"relay1": {"ansible_host": ADDR["relay1"]}, "relay2": {"ansible_host": ADDR["relay2"]}}},
        "block_producers": {"hosts": {"bp1": {"ansible_host": ADDR["bp1"]}}},
    }
    if by_var:
        children["wallets"] = {"vars": {"cardano_role": "passive"}, "hosts": passive}
    else:
        children["passive_nodes"] = {"hosts": passive}
    data = {"all": {"vars": {"layout": "iog", "cardano_network": "mainnet", "node_release": PIN},
                    "children": children}}  # fmt: skip
    path = tmp / "hosts.yml"
    with path.open("w") as f:
        YAML().dump(data, f)
    return path


def facts_for(host: str, config: str | None = None) -> Facts:
    others = {"relay1": ["relay2", "bp1"], "relay2": ["relay1", "bp1"], "bp1": ["relay1", "relay2"]}
    if host in others:
        producers = [{"addr": ADDR[o], "port": 3001, "valency": 1} for o in others[host]]
        return Facts(config or book_config(), json.dumps({"Producers": producers}) + "\n")
    # A passive node's legacy file: the public relays, the exchange's relay1, its BP (a mistake), a partner.
    return Facts(config or book_config(), passive_legacy({"addr": ADDR["relay1"], "port": 3001, "valency": 1},
                                                         {"addr": ADDR["bp1"], "port": 3001, "valency": 1},
                                                         {"addr": FRIEND, "port": 3001, "valency": 1}))  # fmt: skip


def plan_of(tmp: Path, extra: dict[str, Any] | None = None, facts: dict[str, Facts] | None = None,
            **inv: Any) -> Plan:  # fmt: skip
    inventory = load_inventory(inventory_file(tmp, **inv), extra_vars=extra)
    spec = compile_run(read_playbook(UPGRADE, roles_dir=ROOT / "roles"), inventory, extra_vars=extra)
    all_facts = {h.name: facts_for(h.name) for h in inventory.hosts} | (facts or {})
    return make_plan(inventory, spec.hosts, all_facts, spec.release, spec.batches, spec.programs)


def written(plan: Plan, host: str, path: str = TOPOLOGY) -> dict[str, Any]:
    hp = plan.host(host)
    assert hp.error is None, hp.error
    change = next(c for c in hp.files if c.path == path)
    data: dict[str, Any] = json.loads(change.content)
    return data


def addresses(topology: dict[str, Any]) -> set[str]:
    return {p["address"] for g in topology["localRoots"] for p in g["accessPoints"]}


def node_accepts(topology: dict[str, Any]) -> None:
    errors, _ = node_rules.check_topology("8.9.0", True, json.dumps(topology))
    assert not errors, errors


# ---- the role --------------------------------------------------------------------------------------


@pytest.mark.parametrize("by_var", [False, True], ids=["group passive_nodes", "cardano_role: passive"])
def test_a_passive_node_is_named_by_its_group_or_by_a_host_variable(tmp_path: Path, by_var: bool) -> None:
    inventory = load_inventory(inventory_file(tmp_path, by_var=by_var))
    assert {h.name for h in inventory.passive_nodes} == {"wallet1", "wallet2"}
    assert inventory.host("wallet1").role is Role.PASSIVE
    assert [h.name for h in inventory.relays] == ["relay1", "relay2"]


def test_a_host_in_two_role_groups_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  vars: {layout: iog, cardano_network: mainnet}\n  children:\n"
                    "    relays:\n      hosts:\n        relay1:\n"
                    "    passive_nodes:\n      hosts:\n        relay1:\n")  # fmt: skip
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert "host 'relay1' is in both 'relays' and 'passive_nodes'" in caught.value.message
    assert caught.value.line > 0


# ---- topology: ledger and private, from the book's legacy file ------------------------------------------


def test_ledger_form_bootstrap_and_ledger_peers_keeps_hand_picked_peers_advertises_nothing(tmp_path: Path) -> None:
    topo = written(plan_of(tmp_path), "wallet1")
    book = json.loads((REF / "8.9.0" / "mainnet" / "topology.json").read_text())
    assert topo["bootstrapPeers"] == book["bootstrapPeers"]  # the 8.9.0 book's mainnet values
    assert topo["useLedgerAfterSlot"] == book["useLedgerAfterSlot"] == 116812831
    peers = addresses(topo)
    assert {ADDR["relay1"], FRIEND} <= peers  # hand-picked: the exchange's relay and a partner's
    assert ADDR["bp1"] not in peers  # a block producer talks only to its relays
    assert "relays-new.cardano-mainnet.iohk.io" not in peers  # replaced by the bootstrap peers
    assert not any(g["advertise"] for g in (*topo["localRoots"], *topo["publicRoots"]))
    node_accepts(topo)


def test_private_form_local_roots_only_never_ledger_no_bootstrap(tmp_path: Path) -> None:
    topo = written(plan_of(tmp_path), "wallet2")  # host var passive_topology: private
    assert topo["useLedgerAfterSlot"] == -1
    assert "bootstrapPeers" not in topo  # absent = Genesis Lite off; [] would need a trustable group
    assert all(not g["accessPoints"] for g in topo["publicRoots"])
    assert addresses(topo) == {ADDR["relay1"], FRIEND}
    assert not any(g["advertise"] for g in topo["localRoots"])
    node_accepts(topo)


def test_private_form_from_a_p2p_file_moves_public_roots_to_local_roots(tmp_path: Path) -> None:
    book = json.loads((REF / "8.9.0" / "mainnet" / "topology-non-bootstrap-peers.json").read_text())
    book["publicRoots"][0]["accessPoints"].append({"address": FRIEND, "port": 3001})
    book["publicRoots"][0]["advertise"] = True
    facts = {"wallet2": Facts(book_config(), json.dumps(book, indent=2) + "\n")}
    topo = written(plan_of(tmp_path, facts=facts), "wallet2")
    assert addresses(topo) == {FRIEND}  # the backbone relays are the network's, not the operator's pick
    assert topo["useLedgerAfterSlot"] == -1 and "bootstrapPeers" not in topo
    assert all(not g["accessPoints"] for g in topo["publicRoots"])
    node_accepts(topo)


def test_private_form_with_no_peer_left_is_refused_with_the_reason(tmp_path: Path) -> None:
    facts = {"wallet2": Facts(book_config(), passive_legacy())}  # only relays-new: nothing of the operator's
    hp = plan_of(tmp_path, facts=facts).host("wallet2")
    assert hp.error is not None and "passive_topology private leaves no peer at all" in hp.error
    assert not hp.changed


def test_private_form_takes_extra_local_roots(tmp_path: Path) -> None:
    facts = {"wallet2": Facts(book_config(), passive_legacy())}
    extra = {"extra_local_roots": [{"accessPoints": [{"address": ADDR["relay2"], "port": 3001}], "valency": 1,
                                    "advertise": True}]}  # fmt: skip
    topo = written(plan_of(tmp_path, extra, facts=facts), "wallet2")
    assert addresses(topo) == {ADDR["relay2"]}
    assert not any(g["advertise"] for g in topo["localRoots"])  # a passive node advertises nothing


def test_passive_topology_is_refused_when_misspelt(tmp_path: Path) -> None:
    """Refused where the operator wrote it (here `-e`), before the role's step is rendered (issue 29)."""
    from orchestrator.load.inventory import InventoryError

    with pytest.raises(InventoryError) as caught:
        plan_of(tmp_path, {"passive_topology": "hidden"})
    assert caught.value.path == "-e"
    assert "passive_topology must be one of ledger, private, not 'hidden'" in caught.value.message


def test_nobody_is_wired_to_a_passive_node(tmp_path: Path) -> None:
    plan = plan_of(tmp_path)
    passive = {ADDR["wallet1"], ADDR["wallet2"]}
    for host in ("relay1", "relay2", "bp1"):
        assert not addresses(written(plan, host)) & passive, host
    assert addresses(written(plan, "bp1")) == {ADDR["relay1"], ADDR["relay2"]}


# ---- config: PeerSharing off unless set ------------------------------------------------------------------


@pytest.mark.parametrize(("before", "extra", "after"), [
    ("PeerSharingEnabled", None, False),  # the operator's 8.7.3 choice is not carried over to a passive node
    (None, None, False),
    (None, {"peer_sharing": True}, True),
])  # fmt: skip
def test_peer_sharing_is_off_on_a_passive_node_unless_set(tmp_path: Path, before: Any, extra: Any, after: bool) -> None:
    facts = {"wallet1": facts_for("wallet1", book_config(before))}
    config = written(plan_of(tmp_path, extra, facts=facts), "wallet1", CONFIG)
    assert config["PeerSharing"] is after


# ---- the offline command --------------------------------------------------------------------------------


def test_topology_convert_passive_ledger_turns_the_book_legacy_file_into_the_890_book_file(capsys: Any) -> None:
    """The 8.7.3 book's legacy topology (relays-new only) as a ledger passive node is exactly the
    8.9.0 book's topology.json: the form the book ships for a node that is nobody's relay."""
    from orchestrator.cli import main

    legacy = str(REF / "8.7.3" / "mainnet" / "topology-legacy.json")
    assert main(["topology", "convert", legacy, "--role", "passive", "--network", "mainnet"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads((REF / "8.9.0" / "mainnet" / "topology.json").read_text())
    assert main(["topology", "convert", legacy, "--role", "passive", "--network", "mainnet",
                 "--passive-topology", "private"]) == 1  # fmt: skip
    assert "--passive-topology private leaves no peer at all" in capsys.readouterr().err
    assert main(["topology", "convert", legacy, "--role", "passive", "--network", "mainnet",
                 "--passive-topology", "private", "--local-root", f"{ADDR['relay1']}:3001"]) == 0  # fmt: skip
    private = json.loads(capsys.readouterr().out)
    assert addresses(private) == {ADDR["relay1"]} and private["useLedgerAfterSlot"] == -1
    node_accepts(private)
