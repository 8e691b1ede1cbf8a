"""ReleasePin.from_mapping: the one parser of `node_release` (inventory, stage_release arguments, audit)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.actions import stage_release
from orchestrator.actions.base import ArgError
from orchestrator.cardano.health import hot_peer_count
from orchestrator.cardano.releases import ReleasePin, ReleasePinError

SHA = "ab" * 32
URL = "https://github.com/IntersectMBO/cardano-node/releases/download/8.9.0/cardano-node-8.9.0-linux.tar.gz"


@pytest.mark.parametrize(
    ("value", "pin"),
    [
        ({"version": "8.9.0"}, ReleasePin("8.9.0", "", None, "download")),
        ({"version": "8.9.0", "url": URL, "sha256": SHA.upper(), "source": "push"}, ReleasePin("8.9.0", URL, SHA, "push")),
        # what a templated role argument renders for a key the inventory left out
        ({"version": " 8.9.0 ", "url": "", "sha256": "", "source": ""}, ReleasePin("8.9.0", "", None, "download")),
    ],
)
def test_pins(value: dict[str, Any], pin: ReleasePin) -> None:
    assert ReleasePin.from_mapping(value) == pin


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["8.9.0"], "'node_release' must be a mapping of version, url, sha256, source, not list"),
        ({"version": "8.9.0", "sorce": "push"}, "unknown key 'sorce' in node_release — did you mean 'source'?"),
        ({"version": "8.9.0", "mirror": "x"}, "unknown key 'mirror' in node_release; expected version, url, sha256, source"),
        ({"url": URL}, 'node_release needs \'version\' as a string, e.g. version: "8.9.0"'),
        ({"version": 8.9}, "node_release needs 'version' as a string"),
        ({"version": "8.9.0", "url": "ftp://mirror/x.tar.gz"}, "node_release 'url' must be an http(s):// or file:// URL"),
        ({"version": "8.9.0", "sha256": "abc"}, "node_release 'sha256' must be 64 hexadecimal digits"),
        ({"version": "8.9.0", "source": "rsync"}, "node_release 'source' must be one of download, push, not 'rsync'"),
    ],
)
def test_refusals_name_the_key(value: Any, message: str) -> None:
    with pytest.raises(ReleasePinError) as err:
        ReleasePin.from_mapping(value)
    assert str(err.value).startswith(message)


def test_stage_release_arguments_parse_through_the_same_pin() -> None:
    action = stage_release.parse({"version": "8.9.0", "url": URL, "sha256": SHA, "source": "download"})
    assert action.pin == ReleasePin.from_mapping({"version": "8.9.0", "url": URL, "sha256": SHA})
    with pytest.raises(ArgError, match="node_release 'sha256' must be 64 hexadecimal digits"):
        stage_release.parse({"version": "8.9.0", "sha256": "zz"})


def test_filename_follows_the_release_asset_name() -> None:
    assert ReleasePin("8.9.0", "", None).filename == "cardano-node-8.9.0-linux.tar.gz"
    assert ReleasePin("8.9.0", "https://mirror.example/n.tgz", None).filename == "n.tgz"


@pytest.mark.parametrize(
    ("metrics", "established", "count"),
    [
        ({"cardano_node_metrics_peerSelection_hot": 3.0}, ["203.0.113.1:3001"], (3, "peerSelection_hot")),
        ({}, ["203.0.113.1:3001", "203.0.113.2:3001"], (2, "established node connections")),
        ({}, [], (0, "established node connections")),
    ],
)
def test_hot_peer_count_prefers_the_nodes_own_metric(
    metrics: dict[str, float], established: list[str], count: tuple[int, str]
) -> None:
    assert hot_peer_count(metrics, established) == count
