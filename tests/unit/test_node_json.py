"""The node's own parsing of duplicate keys, a byte-order mark and numbers (issue 29 item 5).

Each row cites the parser source it models (see orchestrator/cardano/node_json.py and node_yaml.py):
aeson v2.1.2.1 Parser/Internal.hs `json` and v2.2+ Decoding/Conversion.hs `convertR` (first duplicate
key wins), aeson `lbsToTokens`/`jsonEOF` (no BOM skipping), aeson FromJSON `parseBoundedIntegral`
(integer values only, exact Scientific), ouroboros-network `RelayAccessPoint` (port Int, then
`fromIntegral` to PortNumber), snoyberg/yaml `Data.Yaml` over libyaml (config.json: BOM accepted,
last duplicate wins).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano import node_json, node_rules, node_yaml
from orchestrator.cardano.errors import FileFormatError, parse_json_text

REF = Path("/work/shared/cardano-reference/cardano-node-repo")

# (text, what aeson's eitherDecode gives as a Python value, duplicated (path, key) pairs)
DECODE_ROWS: list[tuple[str, Any, list[tuple[str, str]]]] = [
    ('{"a": 1, "a": 2}', {"a": 1}, [("$", "a")]),  # first wins (aeson), Python json would give 2
    ('{"x": {"p": 1, "p": 2, "p": 3}}', {"x": {"p": 1}}, [("$.x", "p")]),
    ('[{"k": true, "k": false}]', [{"k": True}], [("$[0]", "k")]),
    ('{"valency": 2.0}', {"valency": 2}, []),  # Scientific 2.0 is an integer value
    ('{"n": 1e2}', {"n": 100}, []),
    ('{"n": -0.0}', {"n": 0}, []),
]


@pytest.mark.parametrize(("text", "value", "dups"), DECODE_ROWS)
def test_decode_as_aeson(text: str, value: Any, dups: list[tuple[str, str]]) -> None:
    decoded = node_json.decode(text)
    assert decoded.value == value
    assert [(d.path, d.key) for d in decoded.duplicates] == dups


def test_python_json_would_disagree_on_duplicates() -> None:
    """The reason the module exists: Python keeps the last key, aeson the first."""
    text = '{"localRoots": [{"accessPoints": [{"address": "bp", "port": 3001}]}], "localRoots": []}'
    assert json.loads(text)["localRoots"] == []
    assert node_json.loads(text)["localRoots"][0]["accessPoints"][0]["address"] == "bp"


@pytest.mark.parametrize("text", ["\ufeff{}", "\ufeff[]", '\ufeff{"localRoots": []}'])
def test_bom_refused_by_aeson(text: str) -> None:
    with pytest.raises(node_json.AesonDecodeError) as err:
        node_json.decode(text)
    assert "byte-order mark" in err.value.message and err.value.line == 1


@pytest.mark.parametrize("text", ['\ufeff{"a": 1}', '\ufeffa: 1\n'])
def test_bom_accepted_by_data_yaml(text: str) -> None:
    """libyaml's reader detects the encoding from a BOM and drops it: config.json may carry one."""
    assert node_yaml.loads(text) == {"a": 1}


def test_data_yaml_last_duplicate_wins_unlike_aeson() -> None:
    assert node_yaml.loads('{"a": 1, "a": 2}') == {"a": 2}  # the JSON fast path agrees with libyaml
    assert node_yaml.loads('a: 1\na: 2\n') == {"a": 2}


# (JSON number text, aeson type, the int the node gets, or None when aeson refuses it)
NUMBER_ROWS: list[tuple[str, str, int | None]] = [
    ("2", "Int", 2),
    ("2.0", "Int", 2),
    ("2e0", "Int", 2),
    ("20e-1", "Int", 2),
    ("2.5", "Int", None),
    ("2.0000000000000001", "Int", None),  # exact Scientific: not an integer, though float() says 2.0
    ("-1", "Word64", None),
    ("18446744073709551615", "Word64", 2**64 - 1),
    ("18446744073709551616", "Word64", None),
    ("9223372036854775808", "Int", None),
    ("1e400", "Int", None),
    ("65535", "Word16", 65535),
    ("65536", "Word16", None),
]


@pytest.mark.parametrize(("text", "kind", "expected"), NUMBER_ROWS)
def test_bounded_integral(text: str, kind: str, expected: int | None) -> None:
    value = node_json.loads(text)
    if expected is None:
        with pytest.raises(ValueError, match=f"parsing {kind} failed"):
            node_json.bounded_int(value, kind)
    else:
        assert node_json.bounded_int(value, kind) == expected


@pytest.mark.parametrize(("port", "dialled"), [(3001, 3001), (3001.0, 3001), (65537, 1), (-1, 65535), (0, 0)])
def test_port_is_int_then_fromIntegral(port: float, dialled: int) -> None:
    assert node_json.port_number(port) == dialled


def _p2p(local: str) -> str:
    return ('{"localRoots": ' + local + ', "publicRoots": [], "useLedgerAfterSlot": -1,'
            ' "bootstrapPeers": [{"address": "backbone.cardano.iog.io", "port": 3001}]}')


def test_validate_warns_of_duplicates_and_judges_the_first() -> None:
    producer = '[{"accessPoints": [{"address": "203.0.113.1", "port": 3001}], "advertise": false, "valency": 1}]'
    broken = '[{"accessPoints": [], "valency": "x"}]'
    text = _p2p(producer)[:-1] + ', "localRoots": ' + broken + "}"
    errors, warnings = node_rules.check_topology("8.9.0", True, text)
    assert errors == ()  # the node reads the first localRoots, a valid one
    assert any('key "localRoots"' in w and "first" in w for w in warnings)
    swapped = _p2p(broken)[:-1] + ', "localRoots": ' + producer + "}"
    errors, _ = node_rules.check_topology("8.9.0", True, swapped)
    assert errors and "valency" in errors[0]


@pytest.mark.parametrize(("valency", "ok"), [("2", True), ("2.0", True), ("2.5", False)])
def test_validate_valency_numbers(valency: str, ok: bool) -> None:
    text = _p2p('[{"accessPoints": [{"address": "203.0.113.1", "port": 3001.0}], "advertise": false, '
                f'"valency": {valency}}}]')
    errors, _ = node_rules.check_topology("8.9.0", True, text)
    assert (errors == ()) is ok


def test_validate_refuses_bom_topology() -> None:
    errors, _ = node_rules.check_topology("8.9.0", True, "\ufeff" + _p2p("[]"))
    assert errors and "byte-order mark" in errors[0]


def test_rewrite_refuses_duplicates_so_no_producer_is_dropped() -> None:
    text = _p2p('[{"accessPoints": [{"address": "203.0.113.1", "port": 3001}], "valency": 1}]')[:-1] + ', "localRoots": []}'
    with pytest.raises(FileFormatError) as err:
        parse_json_text(text, "/opt/cardano/cnode/files/topology.json")
    assert "localRoots" in str(err.value) and str(err.value).startswith("/opt/cardano/cnode/files/topology.json")


@pytest.mark.parametrize("name", ["mainnet-topology.json", "mainnet-p2p-toplogy.json"])
def test_real_reference_topologies_decode_like_python(name: str) -> None:
    """On the node's own shipped files (no duplicates, integer numbers) both decoders agree."""
    files = sorted(REF.glob(f"*/{name}"))
    if not files:
        pytest.skip("reference files not present")
    for path in files:
        text = path.read_text()
        decoded = node_json.decode(text)
        assert decoded.duplicates == ()
        assert decoded.value == json.loads(text)


def test_a_run_refuses_a_hosts_topology_with_a_repeated_key_instead_of_dropping_its_producer() -> None:
    """The run's path: plan_host → convert_topology reads the host's topology.json as aeson would."""
    from dataclasses import replace

    from orchestrator.plan import plan_host
    from tests.unit.test_plan import RELEASE, inventory, legacy_facts

    inv = inventory()
    relay = inv.host("relay1")
    producer = '{"accessPoints": [{"address": "203.0.113.21", "port": 3001}], "advertise": false, "valency": 1}'
    text = ('{"localRoots": [' + producer + '], "publicRoots": [], "useLedgerAfterSlot": 0,\n'
            ' "localRoots": []}\n')
    planned = plan_host(relay, inv, replace(legacy_facts("relay1"), topology_text=text), RELEASE)
    assert planned.error is not None and not planned.changed
    assert planned.error.startswith(relay.layout.topology_path)
    assert 'key "localRoots" appears more than once in $' in planned.error
    # the same topology without the repeat plans normally
    clean = text.replace(',\n "localRoots": []', "")
    ok = plan_host(relay, inv, replace(legacy_facts("relay1"), topology_text=clean), RELEASE)
    assert ok.error is None
