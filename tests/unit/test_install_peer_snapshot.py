"""install_peer_snapshot (actions/install_peer_snapshot.py): the topology and its peer snapshot move
to the target release together. On the real reference files: a 10.6.4 relay with the shipped
topology switched to 11.0.1 gets 11.0.1's shipped snapshot where its topology points, and the
target's own start rule (node_rules.check_peer_snapshot, RUN @11.0.1) accepts the result — while
the file 10.6.4 shipped is fatal there, so without the write the node would not start."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.cardano import node_rules
from orchestrator.cardano.layouts import IOG
from orchestrator.model import Host, Inventory, Role
from orchestrator.plan import ReleasePin, make_plan
from tests.unit.facts_builder import host_facts

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "fixtures" / "cardano-reference" / "cardano-node-repo"


def _plan(source: str, target: str, role: Role = Role.RELAY, network: str = "mainnet"):  # type: ignore[no-untyped-def]
    name = "bp1" if role is Role.BLOCK_PRODUCER else "relay1"
    host = Host(name, role, "203.0.113.10", IOG, network=network)
    group = "block_producers" if role is Role.BLOCK_PRODUCER else "relays"
    inv = Inventory("hosts.yml", (host,), {group: (name,)})
    facts = host_facts(name, node_version=source, releases=(source,), last_start_seconds=30.0, network=network,
                       config_text=(REF / source / "mainnet-config.json").read_text(),
                       topology_text=(REF / source / "mainnet-topology.json").read_text())  # fmt: skip
    pin = ReleasePin(target, f"http://198.18.0.1:8080/cardano-node-{target}-linux-amd64.tar.gz", "ab" * 32)
    return make_plan(inv, (host,), {name: facts}, pin, [[name]]).host(name)


def test_the_shipped_10_6_4_snapshot_is_fatal_at_11_0_1_so_the_plan_writes_11_0_1s(tmp_path: Path) -> None:
    topology = json.loads((REF / "10.6.4" / "mainnet-topology.json").read_text())
    assert topology["peerSnapshotFile"] == "mainnet-peer-snapshot.json"
    (tmp_path / "mainnet-peer-snapshot.json").write_bytes((REF / "10.6.4" / "mainnet-peer-snapshot.json").read_bytes())
    errors, _warnings = node_rules.check_peer_snapshot("11.0.1", topology, str(tmp_path))
    assert errors and "Unsupported legacy peer snapshot version" in errors[0]  # what the run would meet
    hp = _plan("10.6.4", "11.0.1")
    assert hp.error is None, hp.error
    path = f"{IOG.topology_path.rsplit('/', 1)[0]}/mainnet-peer-snapshot.json"
    (change,) = [c for c in hp.files if c.path == path]
    assert change.content == (REF / "11.0.1" / "mainnet-peer-snapshot.json").read_bytes()  # the real shipped file
    assert change.base_sha256 is None and any(r.startswith(f"{path}: 11.0.1's shipped peer snapshot") for r in hp.reasons)
    (tmp_path / "mainnet-peer-snapshot.json").write_bytes(change.content)
    assert node_rules.check_peer_snapshot("11.0.1", topology, str(tmp_path))[0] == ()  # the target starts


def test_nothing_to_write_when_the_formats_agree_or_for_a_producer() -> None:
    same = _plan("10.7.1", "11.0.1")  # 10.7.1 shipped the 11.0.1 format
    assert same.error is None and not any(c.path.endswith("peer-snapshot.json") for c in same.files)
    producer = _plan("10.6.4", "11.0.1", role=Role.BLOCK_PRODUCER)
    assert not any(c.path.endswith("peer-snapshot.json") for c in producer.files)


def test_a_topology_slot_newer_than_the_target_s_snapshot_is_refused_not_started_into_a_crash() -> None:
    """RUN @11.0.1 L839-848: a snapshot older than useLedgerAfterSlot stops the node (ledger peers on)."""
    host = Host("relay1", Role.RELAY, "203.0.113.10", IOG)
    inv = Inventory("hosts.yml", (host,), {"relays": ("relay1",)})
    topology = json.loads((REF / "10.6.4" / "mainnet-topology.json").read_text())
    topology["useLedgerAfterSlot"] = 190_000_000  # the operator's, past 11.0.1's snapshot slot 185831188
    facts = host_facts("relay1", node_version="10.6.4", releases=("10.6.4",), last_start_seconds=30.0,
                       config_text=(REF / "10.6.4" / "mainnet-config.json").read_text(),
                       topology_text=json.dumps(topology, indent=2) + "\n")  # fmt: skip
    pin = ReleasePin("11.0.1", "http://198.18.0.1:8080/cardano-node-11.0.1-linux-amd64.tar.gz", "ab" * 32)
    hp = make_plan(inv, (host,), {"relay1": facts}, pin, [["relay1"]]).host("relay1")
    assert hp.error is not None and "(slot 185831188) is older than the topology's useLedgerAfterSlot 190000000" in hp.error
