"""From 10.6 the node reads no EnableP2P and always runs P2P (POM @10.6.x; catalogue `enable_p2p_read`).
`facts` and `audit` judged the shipped 10.6.4/11.0.1 config (no EnableP2P key) as non-P2P — "P2P no",
"would refuse topology.json (non-P2P)" — while `plan` and the node said P2P (seen by a trial operator).
Both now ask the release, on the real reference files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.audit.checks import _check_p2p, _check_topology_valid
from orchestrator.cardano.layouts import IOG
from orchestrator.model import Host, Role
from tests.unit.facts_builder import host_facts

REF = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "cardano-reference" / "cardano-node-repo"


@dataclass(frozen=True)
class _Ctx:
    facts: Any
    host: Host
    rules_version: str


@pytest.mark.parametrize("version", ["10.6.4", "11.0.1"])
def test_a_shipped_config_without_enable_p2p_runs_p2p_on_10_6_and_later(version: str) -> None:
    config = (REF / version / "mainnet-config.json").read_text()
    assert '"EnableP2P"' not in config
    facts = host_facts("relay1", node_version=version, config_text=config,
                       topology_text=(REF / version / "mainnet-topology.json").read_text())  # fmt: skip
    assert facts.enable_p2p is False and facts.runs_p2p is True
    ctx = _Ctx(facts, Host("relay1", Role.RELAY, "203.0.113.1", IOG), version)
    assert _check_p2p(ctx)[0]  # type: ignore[arg-type]
    ok, message, _detail = _check_topology_valid(ctx)  # type: ignore[arg-type]
    assert ok and "(P2P)" in message, message


def test_before_10_6_an_absent_enable_p2p_is_still_non_p2p() -> None:
    facts = host_facts("relay1", node_version="10.5.3", config_text='{"Protocol": "Cardano"}')
    assert facts.runs_p2p is False  # POM @10.5.3 L404: a missing EnableP2P reads as false
