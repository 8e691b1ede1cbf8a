"""Topology conversion to 8.9.0 P2P: the real files and the shapes operators really run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano import node_rules
from orchestrator.cardano.config import render_json
from orchestrator.cardano.diffs import unified_diff
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.networks import NETWORKS, AccessPoint
from orchestrator.cardano.topology import (
    advertised_addresses,
    desired_topology,
    handpicked_peers,
    parse_topology,
    role_problems,
    validate_topology,
)
from orchestrator.model import Role

REF = Path(__file__).resolve().parents[1] / "fixtures" / "cardano-reference"
BOOK = REF / "book-play-environments"
MAINNET = NETWORKS["mainnet"]
# The 8.x topologies (10.x/11.x ones are converted by test_release_migrations.py).
ALL_TOPOLOGIES = sorted(
    p for p in REF.rglob("*.json")
    if ("topolog" in p.name or "toplogy" in p.name) and not any(x.startswith(("10.", "11.", "branch-")) for x in p.parts)
)  # fmt: skip

BP = AccessPoint("203.0.113.10", 6000)
RELAY1 = AccessPoint("203.0.113.11", 6000)
RELAY2 = AccessPoint("203.0.113.12", 6000)
KNOWN = {BP.address, RELAY1.address, RELAY2.address}
FRIEND = {"addr": "198.51.100.7", "port": 3001, "valency": 1, "pool": "FRIEND", "description": "friend's relay"}


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def valid_890(top: dict[str, Any]) -> bool:
    return node_rules.check_topology("8.9.0", True, render_json(top)) == ((), ())


def local_points(top: dict[str, Any]) -> list[tuple[str, int]]:
    return [(p["address"], p["port"]) for g in top["localRoots"] for p in g["accessPoints"]]


@pytest.mark.parametrize("path", ALL_TOPOLOGIES, ids=lambda p: str(p.relative_to(REF)))
@pytest.mark.parametrize("role", list(Role))
def test_every_reference_topology_converts_to_a_valid_890_file(path: Path, role: Role) -> None:
    own = [RELAY1, RELAY2] if role is Role.BLOCK_PRODUCER else [BP, RELAY2]
    desired = desired_topology(load(path), role, own, MAINNET, KNOWN)
    assert valid_890(desired)
    assert desired_topology(desired, role, own, MAINNET, KNOWN) == desired  # idempotent
    assert "peerSnapshotFile" not in desired and "Producers" not in desired and "LocalRoots" not in desired
    assert not advertised_addresses(desired) & {BP.address}


@pytest.mark.parametrize("net", ["mainnet", "preprod", "preview"])
def test_890_book_topology_is_already_right_for_a_relay(net: str) -> None:
    text = (BOOK / "8.9.0" / net / "topology.json").read_text()
    desired = desired_topology(json.loads(text), Role.RELAY, [], NETWORKS[net], set())
    assert render_json(desired) == text
    diff = unified_diff(
        "/opt/cardano/cnode/files/topology.json",
        text,
        render_json(desired),
        unchanged_reason="already P2P with the desired local roots",
    )
    assert not diff.changed and diff.reason == "already P2P with the desired local roots"


@pytest.mark.parametrize("net", ["mainnet", "preprod", "preview"])
def test_873_book_topology_converts_to_the_890_book_file(net: str) -> None:
    desired = desired_topology(load(BOOK / "8.7.3" / net / "topology.json"), Role.RELAY, [], NETWORKS[net], set())
    assert render_json(desired) == (BOOK / "8.9.0" / net / "topology.json").read_text()


def test_legacy_book_topology_converts_to_the_890_book_file() -> None:
    desired = desired_topology(
        load(BOOK / "8.9.0" / "mainnet" / "topology-legacy.json"), Role.RELAY, [], MAINNET, set()
    )
    assert render_json(desired) == (BOOK / "8.9.0" / "mainnet" / "topology.json").read_text()


def test_block_producer_listing_its_relays() -> None:
    legacy = {
        "Producers": [
            {"addr": RELAY1.address, "port": RELAY1.port, "valency": 1, "description": "relay 1"},
            {"addr": RELAY2.address, "port": RELAY2.port, "valency": 1},
        ]
    }
    desired = desired_topology(legacy, Role.BLOCK_PRODUCER, [RELAY1, RELAY2], MAINNET, KNOWN)
    assert desired == {
        "localRoots": [
            {
                "accessPoints": [
                    {"address": "203.0.113.11", "port": 6000, "description": "relay 1"},
                    {"address": "203.0.113.12", "port": 6000},
                ],
                "advertise": False,
                "trustable": True,
                "valency": 2,
            }
        ],
        "publicRoots": [{"accessPoints": [], "advertise": False}],
        "useLedgerAfterSlot": -1,
    }
    assert role_problems(desired, Role.BLOCK_PRODUCER) == []
    assert valid_890(desired)


def test_relay_with_bp_sibling_public_relay_and_friend() -> None:
    legacy = {
        "Producers": [
            {"addr": BP.address, "port": BP.port, "valency": 1},
            {"addr": RELAY2.address, "port": RELAY2.port, "valency": 1},
            {"addr": "relays-new.cardano-mainnet.iohk.io", "port": 3001, "valency": 2},
            FRIEND,
        ]
    }
    desired = desired_topology(legacy, Role.RELAY, [BP, RELAY2], MAINNET, KNOWN)
    own, friend = desired["localRoots"]
    assert own["accessPoints"] == [{"address": BP.address, "port": 6000}, {"address": RELAY2.address, "port": 6000}]
    assert own["advertise"] is False and own["valency"] == 2
    assert friend == {
        "accessPoints": [{"address": "198.51.100.7", "port": 3001, "pool": "FRIEND", "description": "friend's relay"}],
        "advertise": False,
        "trustable": False,
        "valency": 1,
    }
    assert desired["bootstrapPeers"] == [
        {"address": "backbone.cardano.iog.io", "port": 3001},
        {"address": "backbone.mainnet.emurgornd.com", "port": 3001},
    ]
    assert desired["useLedgerAfterSlot"] == 116812831
    assert "relays-new" not in json.dumps(desired)
    assert list(desired) == ["bootstrapPeers", "localRoots", "publicRoots", "useLedgerAfterSlot"]
    assert valid_890(desired)


def test_existing_p2p_keeps_operator_groups_and_keys() -> None:
    current = {
        "localRoots": [
            {
                "accessPoints": [{"address": BP.address, "port": BP.port, "description": "my BP"}],
                "advertise": True,
                "valency": 1,
                "description": "core",
            },
            {
                "accessPoints": [
                    {"address": "friend.example.org", "port": 3001, "location": "DE"},
                    {"address": "backbone.cardano.iog.io", "port": 3001},
                ],
                "advertise": True,
                "hotValency": 2,
                "warmValency": 3,
                "trustable": False,
            },
        ],
        "publicRoots": [{"accessPoints": [{"address": "backbone.cardano.iog.io", "port": 3001}], "advertise": False}],
        "useLedgerAfterSlot": 100,
        "x-comment": "kept",
    }
    desired = desired_topology(current, Role.RELAY, [BP], MAINNET, KNOWN)
    own, friend = desired["localRoots"]
    assert own["advertise"] is False  # advertising the BP would leak its address
    assert own["accessPoints"] == [{"address": BP.address, "port": BP.port, "description": "my BP"}]
    assert own["description"] == "core"
    assert friend["accessPoints"] == [{"address": "friend.example.org", "port": 3001, "location": "DE"}]
    assert friend["advertise"] is True and friend["hotValency"] == 1 and friend["warmValency"] == 1
    assert desired["publicRoots"] == [{"accessPoints": [], "advertise": False}]
    assert desired["x-comment"] == "kept"
    assert desired["useLedgerAfterSlot"] == MAINNET.use_ledger_after_slot
    assert valid_890(desired)


def test_bp_never_gets_bootstrap_peers_or_ledger_peers() -> None:
    current = load(BOOK / "8.9.0" / "mainnet" / "topology.json")
    desired = desired_topology(current, Role.BLOCK_PRODUCER, [RELAY1], MAINNET, KNOWN)
    assert "bootstrapPeers" not in desired and desired["useLedgerAfterSlot"] == -1
    assert desired["localRoots"] == [
        {
            "accessPoints": [{"address": RELAY1.address, "port": 6000}],
            "advertise": False,
            "trustable": True,
            "valency": 1,
        }
    ]
    assert role_problems(current, Role.BLOCK_PRODUCER)


def test_handpicked_peers_and_legacy_valency() -> None:
    legacy = {
        "Producers": [
            FRIEND,
            {"addr": "pool.example.net", "port": 3001, "valency": 2},
            {"addr": BP.address, "port": BP.port, "valency": 1},
        ]
    }
    assert [p.address for p in handpicked_peers(legacy, KNOWN)] == ["198.51.100.7", "pool.example.net"]
    desired = desired_topology(legacy, Role.RELAY, [], MAINNET, set())
    assert [g["valency"] for g in desired["localRoots"]] == [1, 2, 1]  # DNS name keeps its valency


def test_legacy_p2p_shape_is_converted() -> None:
    current = {
        "LocalRoots": {
            "groups": [
                {
                    "localRoots": {"accessPoints": [{"address": "198.51.100.9", "port": 3001}], "advertise": False},
                    "hotValency": 1,
                    "trustable": False,
                }
            ]
        },
        "PublicRoots": [
            {
                "publicRoots": {
                    "accessPoints": [{"address": "relays-new.cardano-mainnet.iohk.io", "port": 3001}],
                    "advertise": False,
                }
            }
        ],
    }
    assert parse_topology(current).format == "legacy-p2p"
    desired = desired_topology(current, Role.RELAY, [], MAINNET, set())
    assert local_points(desired) == [("198.51.100.9", 3001)]
    assert "LocalRoots" not in desired and valid_890(desired)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([], "$: expected an object"),
        ({"Producers": [{"addr": "x", "port": "1", "valency": 1}]}, "$.Producers[0].port"),
        (
            {"localRoots": [{"accessPoints": [{"address": "x", "port": 1}]}], "publicRoots": []},
            'missing key "hotValency"',
        ),
        ({"localRoots": []}, 'missing key "publicRoots"'),
        ({"something": 1}, "not a topology"),
    ],
)
def test_malformed_topologies(data: Any, where: str) -> None:
    with pytest.raises(FileFormatError, match=None) as info:
        desired_topology(data, Role.RELAY, [], MAINNET, set())
    assert where in str(info.value) and str(info.value).startswith("topology.json: ")


def test_validate_by_both_versions() -> None:
    text = json.dumps(
        {
            "localRoots": [{"accessPoints": [{"address": "203.0.113.5", "port": 1}], "valency": 1}],
            "publicRoots": [],
            "bootstrapPeers": [],
        }
    )
    by_version = {c.version: c for c in validate_topology(text)}
    assert by_version["8.7.3"].ok
    assert not by_version["8.9.0"].ok
    assert by_version["8.9.0"].errors[0].startswith("You seem to have not configured any trustable peers")
