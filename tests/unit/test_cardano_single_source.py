"""Cardano knowledge lives once, in orchestrator/cardano/: no other module writes its facts as literals.

The scan reads every module's syntax tree (docstrings and comments may still name versions: prose is
not a copy of a fact) and names the file and line of each literal that should be an import.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from orchestrator.cardano import health, networks, releases

PACKAGE = Path(__file__).resolve().parents[2] / "orchestrator"

# literal → the name in orchestrator/cardano/ to import instead
FACTS: dict[object, str] = {
    **{v: "cardano.releases.VERSIONS / FROM_VERSION / TARGET_VERSION" for v in releases.VERSIONS},
    networks.MAINNET_MAGIC: "cardano.networks.MAINNET_MAGIC",
    networks.NETWORKS["mainnet"].epoch_length: "cardano.networks.Network.epoch_length",
    networks.BYRON_EPOCH_SLOTS: "cardano.networks.BYRON_EPOCH_SLOTS",
    health.METRICS_PORT: "cardano.health.METRICS_PORT",
    health.METRICS_URL: "cardano.health.METRICS_URL",
    health.HOT_PEERS_METRIC: "cardano.health.HOT_PEERS_METRIC",
    releases.release_filename("{version}"): "cardano.releases.release_filename",
}


def _reads_enable_p2p(node: ast.AST) -> bool:
    """`cfg.get("EnableP2P")` or `cfg["EnableP2P"]` as a value: how the node reads the flag (absent is
    false, only `true` is true) is cardano/health.py's enable_p2p. Writing it (the lab's files) is fine."""
    key = None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
        key = node.args[0]
    elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        key = node.slice
    return isinstance(key, ast.Constant) and key.value == "EnableP2P"


@functools.lru_cache(maxsize=512)
def _tree(source: str, filename: str) -> ast.Module:
    """One parse of each module for both scans below (they only read the tree)."""
    return ast.parse(source, filename)


def literal_copies(source: str, filename: str) -> list[str]:
    """`file:line: literal (use NAME)` for each constant of FACTS in `source`."""
    found = []
    for node in ast.walk(_tree(source, filename)):
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            value = node.value
            if isinstance(value, str | int) and value in FACTS:
                found.append(f"{filename}:{node.lineno}: {value!r} (use {FACTS[value]})")
        elif _reads_enable_p2p(node):
            found.append(f"{filename}:{node.lineno}: reads 'EnableP2P' (use cardano.health.enable_p2p)")
        elif isinstance(node, ast.JoinedStr):  # f"cardano-node-{version}-linux.tar.gz"
            shape = "".join(p.value if isinstance(p, ast.Constant) else "{version}" for p in node.values)
            if shape in FACTS and isinstance(shape, str) and "{" in shape:
                found.append(f"{filename}:{node.lineno}: f{shape!r} (use {FACTS[shape]})")
    return found


def test_no_module_outside_cardano_copies_a_cardano_fact() -> None:
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        if rel.parts[1] == "cardano":
            continue
        found += literal_copies(path.read_text(encoding="utf-8"), str(rel))
    assert not found, "Cardano facts copied outside orchestrator/cardano/:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('DEFAULT = "8.9.0"\n', ["m.py:1: '8.9.0' (use cardano.releases.VERSIONS / FROM_VERSION / TARGET_VERSION)"]),
        ('x = 1\nchoices = ("8.7.3", "8.9.0")\n', ["m.py:2: '8.7.3'", "m.py:2: '8.9.0'"]),
        ("MAGIC = 764824073\n", ["m.py:1: 764824073 (use cardano.networks.MAINNET_MAGIC)"]),
        ("EPOCH = 432000\n", ["m.py:1: 432000"]),
        ('URL = "http://127.0.0.1:12798/metrics"\n', ["m.py:1: 'http://127.0.0.1:12798/metrics'"]),
        ('name = f"cardano-node-{v}-linux.tar.gz"\n', ["m.py:1: f'cardano-node-{version}-linux.tar.gz'"]),
        ('"""Upgrades to 8.9.0 (prose is not a copy)."""\nlag = 20\n', []),
        ('p2p = cfg.get("EnableP2P") is True\n', ["m.py:1: reads 'EnableP2P' (use cardano.health.enable_p2p)"]),
        ('on = cfg["EnableP2P"]\n', ["m.py:1: reads 'EnableP2P'"]),
        ('cfg["EnableP2P"] = False  # the lab writes a pre-upgrade config\n', []),
    ],
)
def test_the_scan_finds_each_kind_of_copy(source: str, expected: list[str]) -> None:
    found = literal_copies(source, "m.py")
    assert len(found) == len(expected)
    for line, prefix in zip(found, expected, strict=True):
        assert line.startswith(prefix)


def test_the_roles_defaults_say_what_cardano_says() -> None:
    """The roles are data an operator reads; their defaults must be the facts the code holds."""
    from ruamel.yaml import YAML

    roles = PACKAGE.parent / "roles"
    gate = YAML(typ="safe").load((roles / "sync_gate" / "defaults.yml").read_text())
    release = YAML(typ="safe").load((roles / "node_release" / "defaults.yml").read_text())["node_release"]
    assert gate["sync_max_slot_lag"] == health.IN_SYNC_SLOTS
    assert gate["sync_min_hot_peers"] == health.MIN_HOT_PEERS
    assert release["version"] == releases.TARGET_VERSION
    assert release["url"].endswith("/" + releases.release_filename(releases.TARGET_VERSION))


# A release version as a literal: "8.9.0", "10.1.4", a cli's "8.20.3.0" (a whole string, not prose).
_VERSION = re.compile(r"\d+\.\d+\.\d+(\.\d+)?\Z")
# Literals of that shape that are not releases: the bind-all address.
_NOT_A_RELEASE = frozenset({"0.0.0.0", "127.0.0.1"})  # addresses, not releases


def _is_catalogue(rel: Path) -> bool:
    """The release catalogue: cardano/releases.py or the package cardano/releases/ (issue 23)."""
    return rel.parts[1:3] == ("cardano", "releases") or rel.parts[1:] == ("cardano", "releases.py")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _version_literal(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value not in _NOT_A_RELEASE
            and bool(_VERSION.match(node.value)))  # fmt: skip


def version_knowledge(source: str, filename: str) -> list[str]:
    """`file:line: ...` for each comparison with a version string and each version literal: what a
    release is and how releases order is the catalogue's alone (cardano/targets.py asks it)."""
    tree = _tree(source, filename)
    docs = _docstrings(tree)
    found, compared = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                if _version_literal(operand):
                    assert isinstance(operand, ast.Constant)
                    compared.add(id(operand))
                    found.append(f"{filename}:{node.lineno}: compares with the version {operand.value!r} "
                                 "(ask the catalogue: cardano/targets.py)")  # fmt: skip
    for node in ast.walk(tree):
        if _version_literal(node) and id(node) not in docs and id(node) not in compared:
            assert isinstance(node, ast.Constant)
            if filename.endswith("orchestrator/__init__.py") and node.value.count(".") == 2:
                targets = [t for t in ast.walk(tree) if isinstance(t, ast.Name) and t.id == "__version__"]
                if targets:  # the tool's own version, not a cardano release
                    continue
            found.append(f"{filename}:{node.lineno}: version literal {node.value!r} outside the release catalogue")
    return found


def test_no_version_comparison_or_literal_outside_the_catalogue() -> None:
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        if _is_catalogue(rel):
            continue
        found += version_knowledge(path.read_text(encoding="utf-8"), str(rel))
    assert not found, "Release knowledge outside the catalogue:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('if version == "8.7.3":\n    pass\n', ["m.py:1: compares with the version '8.7.3'"]),
        ('ok = "10.6.4" <= running\n', ["m.py:1: compares with the version '10.6.4'"]),
        ('x = 1\nif v in ("8.7.3",):\n    pass\n', ["m.py:2: version literal '8.7.3'"]),
        ('FLOOR = "10.1.4"\n', ["m.py:1: version literal '10.1.4' outside the release catalogue"]),
        ('CLI = {"x": "8.20.3.0"}\n', ["m.py:1: version literal '8.20.3.0'"]),
        ('"""Upgrades to 10.1.4 (prose)."""\nmsg = "runs 8.9.0 now"\n', []),
        ('host = "0.0.0.0"\n', []),
        ('if a == b:\n    pass\n', []),
    ],
)
def test_the_version_scan_finds_comparisons_and_literals(source: str, expected: list[str]) -> None:
    found = version_knowledge(source, "m.py")
    assert len(found) == len(expected), found
    for line, prefix in zip(found, expected, strict=True):
        assert line.startswith(prefix)
