"""config.json as cardano-node decodes it: Data.Yaml's rules (snoyberg/yaml, Data/Yaml/Internal.hs)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.cardano import node_rules, node_yaml

# `textToValue`: (YAML text of one value, the aeson Value the node gets).
SCALARS: list[tuple[str, Any]] = [
    # YAML 1.1 booleans, in lower, UPPER and Title case only (Data.Yaml's isLike)
    ("true", True), ("True", True), ("TRUE", True), ("yes", True), ("Yes", True), ("YES", True),
    ("on", True), ("On", True), ("y", True), ("Y", True),
    ("false", False), ("False", False), ("no", False), ("NO", False), ("off", False), ("n", False),
    ("tRUE", "tRUE"), ("oN", "oN"),  # mixed case is a string
    # null
    ("null", None), ("Null", None), ("NULL", None), ("~", None), ("", None),
    # numbers: decimal, scientific (exact: 1e3 is the integer 1000), 0x hex, 0o octal, a + sign
    ("3", 3), ("-7", -7), ("+5", 5), ("1.5", 1.5), ("1e3", 1000), ("2.0", 2), ("0x1F", 31), ("0o17", 15),
    (".5", ".5"), ("1_000", "1_000"), ("0b11", "0b11"), ("1.", "1."), ("inf", "inf"), (".inf", ".inf"),
    # quoted, folded and !!str values are always strings; a literal block is resolved like a plain one
    ("'true'", "true"), ('"3"', "3"), ("!!str 3", "3"), ("!!str true", "true"), (">\n  true\n", "true\n"),
    ("|-\n  true\n", True), ("|\n  true\n", "true\n"),
    # words the node's config really uses
    ("PeerSharingDisabled", "PeerSharingDisabled"), ("RequiresNoMagic", "RequiresNoMagic"),
    ("mainnet-byron-genesis.json", "mainnet-byron-genesis.json"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "value"), SCALARS, ids=[repr(t) for t, _ in SCALARS])
def test_scalar_values(text: str, value: Any) -> None:
    got = node_yaml.loads(f"k: {text}" if "\n" not in text else f"k: {text}")["k"]
    assert got == value and type(got) is type(value)


STRUCTURES: list[tuple[str, str, Any]] = [
    ("flow mapping with a trailing comma (JSON-like, still YAML)", '{"a": 1,}', {"a": 1}),
    ("JSON is read as JSON", '{"a": [1, true, null, "x"]}', {"a": [1, True, None, "x"]}),
    ("duplicated key: the last wins", "a: 1\na: 2\n", {"a": 2}),
    ("keys are always text", "1: a\ntrue: b\n~: c\n", {"1": "a", "true": "b", "~": "c"}),
    ("anchors and aliases", "a: &x {b: 1}\nc: *x\n", {"a": {"b": 1}, "c": {"b": 1}}),
    ("merge key, the mapping's own keys win", "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 3\n",
     {"base": {"x": 1, "y": 2}, "m": {"x": 3, "y": 2}}),
    ("merge of a list of mappings, the first wins", "a: &a {x: 1}\nb: &b {x: 2, z: 3}\nm: {<<: [*a, *b]}\n",
     {"a": {"x": 1}, "b": {"x": 2, "z": 3}, "m": {"x": 1, "z": 3}}),
    ("empty document", "# only a comment\n", None),
    ("a second document is not read", "a: 1\n---\nb: 2\n", {"a": 1}),
    ("nested block sequences", "s:\n  - - a\n    - b\n", {"s": [["a", "b"]]}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "value"), [s[1:] for s in STRUCTURES], ids=[s[0] for s in STRUCTURES])
def test_structures(text: str, value: Any) -> None:
    assert node_yaml.loads(text) == value


ERRORS: list[tuple[str, str, int, int, str]] = [
    ("mapping value on a plain scalar line", "a: b: c\n", 1, 5, "mapping values are not allowed"),
    ("unclosed flow sequence", "a: [1, 2\n", 2, 1, "expected ',' or ']'"),
    ("bad indentation", "a: 1\n  b: 2\n", 2, 4, "mapping values are not allowed"),
    ("tab indentation", "a:\n\tb: 1\n", 2, 1, "found character '\\t'"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "column", "problem"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_say_where(text: str, line: int, column: int, problem: str) -> None:
    with pytest.raises(node_yaml.YamlDecodeError) as info:
        node_yaml.loads(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert problem in info.value.problem
    # the node's own rendering (prettyPrintParseException): 0-based marks
    assert str(info.value).startswith(f"YAML parse exception at line {line - 1}, column {column - 1}")


def test_unknown_alias_has_the_node_text_and_no_position() -> None:
    with pytest.raises(node_yaml.YamlDecodeError, match="^Unknown alias `nope`$") as info:
        node_yaml.loads("a: *nope\n")
    assert info.value.line is None  # Data.Yaml's UnknownAlias carries no mark either


def test_check_config_refuses_yaml_with_the_node_text() -> None:
    check = node_rules.check_config("8.7.3", "Protocol: Cardano\nfoo: [\n")
    assert not check.ok and check.config is None
    assert check.errors[0].startswith("YAML parse exception at line 2, column 0")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        # Decodes, then fails the configuration's own parser: aeson's words, as with JSON.
        ("Protocol: Cardano\nEnableP2P: yes please\n", "Error in $.EnableP2P: parsing Bool failed"),
        ("Protocol: Cardano\nPeerSharing: true\n", "Error in $.PeerSharing: parsing PeerSharing failed"),
        ("- a\n", "Error in $: parsing PartialNodeConfiguration failed, expected Object, but encountered Array"),
    ],
)
def test_yaml_that_decodes_but_is_not_a_config(text: str, error: str) -> None:
    check = node_rules.check_config("8.7.3", text)
    assert not check.ok and check.errors[0].startswith(error)


def test_yaml_booleans_are_read_as_the_node_reads_them() -> None:
    """`EnableP2P: on` is true for the node (YAML 1.1), though a YAML 1.2 reader sees the string "on"."""
    base = "Protocol: Cardano\nByronGenesisFile: b\nShelleyGenesisFile: s\nAlonzoGenesisFile: a\nConwayGenesisFile: c\n"
    base += "LastKnownBlockVersion-Major: 3\nLastKnownBlockVersion-Minor: 0\n"
    for word, p2p in (("on", True), ("Yes", True), ("off", False), ("n", False)):
        check = node_rules.check_config("8.9.0", base + f"EnableP2P: {word}\n")
        assert check.ok and check.p2p is p2p
    assert not node_rules.check_config("8.9.0", base + "EnableP2P: 'on'\n").ok  # quoted: a String
