"""audit's node-version rule judges a host against the pin it will be upgraded to: the inventory's
node_release for the host, unless the policy file names pinned_version (a trial operator's fleet
pinned to 11.0.1 was told "newer than the pinned 8.9.0: raise the pin", while the drift rule on the
same host read the inventory's 11.0.1)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from orchestrator.audit.checks import Context, _check_version
from orchestrator.audit.policy import Policy, load_policy
from orchestrator.cardano.layouts import IOG
from orchestrator.model import Host, Inventory, Role
from tests.unit.facts_builder import host_facts

PIN = {"version": "11.0.1", "url": "http://198.18.0.1:8080/cardano-node-11.0.1-linux-amd64.tar.gz", "sha256": "ab" * 32}


def _ctx(policy: Policy, running: str) -> Context:
    host = Host("relay1", Role.RELAY, "203.0.113.1", IOG, vars=MappingProxyType({"node_release": PIN}))
    return Context(host, host_facts("relay1", node_version=running), Inventory("hosts.yml", (host,), {}), policy, 0.0)


def test_the_inventory_pin_is_the_want_unless_the_policy_file_names_one(tmp_path: Path) -> None:
    ok, message, _ = _check_version(_ctx(Policy(), "11.0.1"))
    assert ok and message == "cardano-node 11.0.1"
    ok, message, _ = _check_version(_ctx(Policy(), "10.6.4"))
    assert not ok and message == "cardano-node is 10.6.4, pinned 11.0.1"
    (tmp_path / "policy.yml").write_text('pinned_version: "10.6.4"\n')
    explicit = load_policy(tmp_path / "policy.yml")
    assert explicit.pinned_version_given and _check_version(_ctx(explicit, "10.6.4"))[0]  # the file wins
