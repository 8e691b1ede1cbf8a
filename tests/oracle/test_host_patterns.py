"""Oracle: for a corpus of `--limit` patterns, the hosts cardano-fleet selects equal Ansible's.

Ansible's answer comes from ansible-core itself (a test extra; tests/oracle/ansible_patterns.py):
`InventoryManager.subset(PATTERN)` then `get_hosts("all")`, as `ansible all --list-hosts --limit
PATTERN` does. The inventory nests role groups under regions and under `cardano`, puts hosts in
several groups and holds helpers (balancers) and an ungrouped host, so every rule of
orchestrator/patterns/host_patterns.py is exercised. Subscripts are used only on groups whose host order
Ansible fixes (its walk of deeper descendants goes through a set, so e.g. `cardano[0]` differs between
Ansible processes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.load.inventory import load_inventory
from orchestrator.patterns.host_patterns import HostPatternError, limit_selection, select

pytest.importorskip("ansible", reason="ansible-core (a test extra: pip install -e '.[test]') is not installed")

HERE = Path(__file__).resolve().parent
CASE = HERE.parent / "fixtures" / "inventories" / "oracle" / "host-patterns"

PATTERNS = [
    "all", "*", "al*", "relays", "RELAYS", "*relays",
    "cardano:&passive_nodes",  # issue 28: was every host
    "passive_nodes:&relays",  # issue 28: was the passive nodes
    "relays:!eu_relays", "relays,block_producers", "relays:block_producers", "eu:&relays", "eu:!relays",
    "relay-eu*", "relay-*:!relay-us2", "*-us*", "bp?", "~relay-(eu|us)1", "~^node-eu0[12]", "~.*2$",
    "relays[0]", "relays[-1]", "relays[1:3]", "relays[2:]", "passive_nodes[0:1]:bp2", "eu_relays[1]",
    "eu[0:2]", "pool[-1]", "exchange[1:]", "block_producers[0],relays[0]",
    "canary,bp1", "!canary", "&eu", "ungrouped", "all:!ungrouped", "pool:!block_producers:&eu",
    "relay-eu[1:3]", "node-eu0[12]", "@limit-file.txt", "@limit-file.txt,!relay-us1", "balancers",
    "lb-*:eu", "eu_passive:us_passive:&canary", "cardano,!pool", "relay-us1:22", "bp1,bp1,!bp1",
    " relays , !relay-eu2 ", "relays[9]", "~[", "pasive_nodes", "relays:&nosuch",
]  # fmt: skip


@pytest.fixture(scope="module")
def ansible_answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("ansible")
    env = {**os.environ, "ANSIBLE_HOME": str(tmp / "home"), "ANSIBLE_LOCAL_TEMP": str(tmp / "tmp"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_PATTERN_MISMATCH": "ignore"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(HERE / "ansible_patterns.py"), str(CASE / "hosts.yml"), json.dumps(PATTERNS)],
        capture_output=True, text=True, env=env, cwd=CASE, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answers: dict[str, Any] = json.loads(done.stdout)
    return answers


def test_the_corpus_is_large_enough() -> None:
    assert len(set(PATTERNS)) >= 30


@pytest.mark.parametrize("pattern", PATTERNS)
def test_selection_equals_ansibles(pattern: str, ansible_answers: dict[str, Any]) -> None:
    inventory = load_inventory(CASE / "hosts.yml")
    theirs = ansible_answers[pattern]
    try:
        ours: Any = sorted(select(pattern, inventory.universe(), limit_base=CASE))
    except HostPatternError as exc:
        ours = {"error": str(exc)}
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"Ansible refuses {pattern!r} ({theirs['error']}); we select {ours}"
    else:
        assert ours == theirs


def test_the_issue_28_patterns_select_what_ansible_does(ansible_answers: dict[str, Any]) -> None:
    """The two selections the issue found wrong, spelled out (not only compared)."""
    assert ansible_answers["cardano:&passive_nodes"] == ["node-eu01", "node-eu02", "node-eu03", "node-us01", "node-us02"]
    assert ansible_answers["passive_nodes:&relays"] == []


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if not p.startswith("@")])
def test_no_match_is_an_error_exactly_when_ansible_selects_no_node(pattern: str, ansible_answers: dict[str, Any]) -> None:
    """`--limit` keeps node hosts only (helpers are never upgraded): an empty keep is an error."""
    inventory = load_inventory(CASE / "hosts.yml")
    theirs = ansible_answers[pattern]
    nodes = [h.name for h in inventory.hosts]
    expect_error = isinstance(theirs, dict) or not set(theirs) & set(nodes)
    try:
        kept = limit_selection(pattern, inventory.universe(), nodes)
    except HostPatternError:
        assert expect_error
    else:
        assert not expect_error
        assert sorted(kept) == sorted(set(theirs) & set(nodes))
