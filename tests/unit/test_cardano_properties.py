"""Properties of topology conversion over generated operator topologies."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.cardano import node_rules
from orchestrator.cardano.config import render_json
from orchestrator.cardano.networks import NETWORKS, AccessPoint
from orchestrator.cardano.topology import advertised_addresses, desired_topology
from orchestrator.model import Role
from tests.fuzz_budget import examples

PUBLIC = ["relays-new.cardano-mainnet.iohk.io", "backbone.cardano.iog.io", "preprod-node.play.dev.cardano.org"]
BPS = [f"203.0.113.{i}" for i in range(1, 3)]
RELAYS = [f"203.0.113.{i}" for i in range(10, 14)]
HANDPICKED = [f"198.51.100.{i}" for i in range(1, 6)] + ["friend.example.org", "pool.example.net"]
ports = st.sampled_from([3001, 6000, 6001])
extra = st.dictionaries(st.sampled_from(["description", "pool", "location"]), st.text(max_size=5), max_size=2)


@st.composite
def access_point(draw: st.DrawFn, legacy: bool) -> dict[str, Any]:
    address = draw(st.sampled_from(PUBLIC + BPS + RELAYS + HANDPICKED))
    point: dict[str, Any] = {("addr" if legacy else "address"): address, "port": draw(ports), **draw(extra)}
    if legacy:
        point["valency"] = draw(st.integers(0, 3))
    return point


@st.composite
def topology(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(st.sampled_from(["legacy", "p2p", "legacy-p2p"]))
    if shape == "legacy":
        return {"Producers": draw(st.lists(access_point(True), max_size=6))}
    groups = []
    for _ in range(draw(st.integers(0, 3))):
        points = draw(st.lists(access_point(False), max_size=4))
        group: dict[str, Any] = {"accessPoints": points, "advertise": draw(st.booleans())}
        group[draw(st.sampled_from(["valency", "hotValency"]))] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            group["trustable"] = draw(st.booleans())
        groups.append(group)
    publics = [{"accessPoints": draw(st.lists(access_point(False), max_size=3)), "advertise": draw(st.booleans())}]
    if shape == "legacy-p2p":
        return {
            "LocalRoots": {
                "groups": [
                    {
                        "localRoots": {"accessPoints": g["accessPoints"], "advertise": g["advertise"]},
                        "hotValency": 1,
                        "trustable": bool(g.get("trustable")),
                    }
                    for g in groups
                ]
            },
            "PublicRoots": [{"publicRoots": p} for p in publics],
        }
    top: dict[str, Any] = {"localRoots": groups, "publicRoots": publics}
    if draw(st.booleans()):
        top["bootstrapPeers"] = []
    if draw(st.booleans()):
        top["useLedgerAfterSlot"] = draw(st.integers(-1, 10**8))
    return top


@st.composite
def host(draw: st.DrawFn) -> tuple[Role, list[AccessPoint], set[str]]:
    role = draw(st.sampled_from(list(Role)))
    bps = draw(st.lists(st.sampled_from(BPS), min_size=1, max_size=2, unique=True))
    relays = draw(st.lists(st.sampled_from(RELAYS), min_size=1, max_size=4, unique=True))
    if role is Role.BLOCK_PRODUCER:
        own = [AccessPoint(r, 6000) for r in relays]
    else:
        own = [AccessPoint(b, 6000) for b in bps] + [AccessPoint(r, 6000) for r in relays[1:]]
    return role, own, set(BPS) | set(RELAYS)  # every inventory host, as the planner passes them


def points_of(top: dict[str, Any]) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    if "Producers" in top:
        return {(p["addr"], p["port"]) for p in top["Producers"]}
    groups = top.get("localRoots") or [g["localRoots"] for g in top.get("LocalRoots", {}).get("groups", [])]
    publics = top.get("publicRoots") or [p["publicRoots"] for p in top.get("PublicRoots", [])]
    for group in [*groups, *publics]:
        out.update((p["address"], p["port"]) for p in group["accessPoints"])
    return out


def is_settled(current: dict[str, Any], role: Role) -> bool:
    """A P2P file in the form 8.9.0+ reads (bootstrapPeers present; a block producer: any P2P file):
    its values are the operator's and are kept (cardano/topology.py `settled`)."""
    return "localRoots" in current and ("bootstrapPeers" in current or role is Role.BLOCK_PRODUCER)


@settings(max_examples=examples(100), deadline=None)
@given(topology(), host(), st.sampled_from(sorted(NETWORKS)))
def test_conversion_properties(current: dict[str, Any], h: tuple[Role, list[AccessPoint], set[str]], net: str) -> None:
    role, own, known = h
    desired = desired_topology(current, role, own, NETWORKS[net], known)
    kept = is_settled(current, role)
    check_890 = node_rules.check_topology("8.9.0", True, render_json(desired))
    if kept:
        # kept values the node refuses are refused by the caller with the node's reason, never rewritten
        assert check_890[0] == () or node_rules.check_topology("8.9.0", True, render_json(current))[0] != ()
    else:
        # always starts on 8.9.0 (and on 8.7.3, for a rollback of the binary with EnableP2P true)
        assert check_890 == ((), ())
        assert node_rules.check_topology("8.7.3", True, render_json(desired))[0] == ()
    # a block producer is never advertised, and a block producer advertises nothing
    assert not advertised_addresses(desired) & set(BPS)
    if role is Role.BLOCK_PRODUCER:
        assert not advertised_addresses(desired) and "bootstrapPeers" not in desired
    # no hand-picked peer is lost
    handpicked = {p for p in points_of(current) if p[0] in HANDPICKED}
    assert handpicked <= points_of(desired)
    # every own peer is in a local root, in an unadvertised group
    own_keys = {(p.address, p.port) for p in own}
    with_own = [g for g in desired["localRoots"] if own_keys & {(p["address"], p["port"]) for p in g["accessPoints"]}]
    assert own_keys <= {(p["address"], p["port"]) for g in with_own for p in g["accessPoints"]}
    assert not any(g["advertise"] for g in with_own)
    if kept and role is not Role.BLOCK_PRODUCER:
        # the operator's network-wide values stand
        assert desired.get("bootstrapPeers") == current.get("bootstrapPeers")
        if "useLedgerAfterSlot" in current:
            assert desired["useLedgerAfterSlot"] == current["useLedgerAfterSlot"]
    if not kept:
        own_group = desired["localRoots"][0]
        assert {(p["address"], p["port"]) for p in own_group["accessPoints"]} == own_keys
        assert own_group["advertise"] is False
        # trustable, unless the operator said otherwise (their word stands)
        assert own_group["trustable"] is True or '"trustable": false' in json.dumps(current)
        # public relays are gone, replaced by the bootstrap peers on a relay
        assert not any(p[0] in PUBLIC for p in points_of(desired))
    # idempotent
    assert desired_topology(desired, role, own, NETWORKS[net], known) == desired
