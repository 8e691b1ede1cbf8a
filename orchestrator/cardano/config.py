"""config.json migration to 8.9.0 that changes only what 8.9.0 needs and keeps the operator's file.

Every other key, value and the key order are kept; the indentation width and the trailing newline
of the original are kept; a file that needs nothing is returned byte-for-byte. The Conway genesis
file and its hash are replaced together (docs §2: a mismatch stops the node).

PeerSharing rule: block producers always `false` (a BP must not gossip its relays' or its own
address). Relays: the 8.7.3 string maps to the boolean of the same meaning; a relay that never set
it keeps it unset (8.7.3 and 8.9.0 both default to disabled, and the 8.9.0 book config leaves it
out), unless the caller asks for a value explicitly with `peer_sharing`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from orchestrator.cardano import node_rules
from orchestrator.cardano.errors import FileFormatError, decode_text, parse_json_text
from orchestrator.cardano.networks import NETWORKS
from orchestrator.model import Role

TARGET_VERSION = "8.9.0"
# The values the 8.9.0 book and repository configs ship (the code defaults are 85/85/40/15).
SHIPPED_TARGETS: tuple[tuple[str, int], ...] = (
    ("TargetNumberOfActivePeers", 20),
    ("TargetNumberOfEstablishedPeers", 50),
    ("TargetNumberOfKnownPeers", 100),
    ("TargetNumberOfRootPeers", 100),
)
_PEER_SHARING_MAP = {"PeerSharingEnabled": True, "PeerSharingDisabled": False}


@dataclass(frozen=True)
class FileWrite:
    path: str  # the config's path, or the genesis file resolved against the config's directory
    content: bytes
    reason: str


@dataclass(frozen=True)
class ConfigMigration:
    text: str
    changes: tuple[str, ...]  # one human reason per change; empty: nothing to do
    writes: tuple[FileWrite, ...]  # config first, then the genesis file, only what changes
    network: str

    @property
    def changed(self) -> bool:
        return bool(self.changes)


# ------------------------------------------------------------------ package data


def shipped_file(version: str, network: str, name: str) -> bytes:
    """A file from orchestrator/cardano/data/<version>/<network>/ (the real public files)."""
    resource = resources.files("orchestrator.cardano").joinpath("data", version, network, name)
    return resource.read_bytes()


@cache
def _shipped_hashes() -> dict[str, tuple[str, str]]:
    """network → (ByronGenesisHash, ShelleyGenesisHash) from the shipped 8.9.0 configs."""
    out = {}
    for name in NETWORKS:
        cfg = json.loads(shipped_file(TARGET_VERSION, name, "config.json"))
        out[name] = (str(cfg["ByronGenesisHash"]), str(cfg["ShelleyGenesisHash"]))
    return out


def infer_network(config: dict[str, Any]) -> str | None:
    """From the Byron/Shelley genesis hashes (they identify the chain), else RequiresNoMagic → mainnet."""
    byron, shelley = config.get("ByronGenesisHash"), config.get("ShelleyGenesisHash")
    for name, (known_byron, known_shelley) in _shipped_hashes().items():
        if byron == known_byron or shelley == known_shelley:
            return name
    if config.get("RequiresNetworkMagic") == "RequiresNoMagic":
        return "mainnet"
    return None


# ------------------------------------------------------------------ rendering


def detect_indent(text: str) -> int | str | None:
    """The original's indent unit: a width, "\t", or None for a one-line file."""
    for line in text.splitlines()[1:]:
        match = re.match(r"^([ \t]+)\S", line)
        if match:
            lead = match.group(1)
            return "\t" if lead.startswith("\t") else len(lead)
    return None if "\n" not in text.strip() else 2


def render_json(data: Any, indent: int | str | None = 2, trailing_newline: bool = True) -> str:
    """JSON as the book files are written: `"key": value`, one item per line."""
    text = json.dumps(data, ensure_ascii=False) if indent is None else json.dumps(data, indent=indent, ensure_ascii=False)
    return text + "\n" if trailing_newline else text


def render_like(data: Any, original: str | None) -> str:
    """Rendered in the style of the file it replaces (2-space indent and a newline when new)."""
    if original is None:
        return render_json(data)
    return render_json(data, detect_indent(original), original.endswith("\n"))


def _insert_sorted(cfg: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A new key goes before the first key that sorts after it: right for the sorted book files."""
    out: dict[str, Any] = {}
    placed = False
    for existing, existing_value in cfg.items():
        if not placed and existing > key:
            out[key] = value
            placed = True
        out[existing] = existing_value
    if not placed:
        out[key] = value
    return out


# ------------------------------------------------------------------ migration


def migrate_config(
    text: str,
    role: Role,
    network: str | None = None,
    *,
    conway_genesis: bytes | None = None,
    path: str = "config.json",
    peer_sharing: bool | None = None,
) -> ConfigMigration:
    """config.json text as 8.9.0 with P2P needs it; FileFormatError when the text is unusable."""
    data = parse_json_text(text, path)
    if not isinstance(data, dict):
        found = type(data).__name__
        raise FileFormatError(path, f"a node configuration must be a JSON object, found {found}")
    cfg: dict[str, Any] = dict(data)
    net = network or infer_network(cfg)
    if net is None:
        raise FileFormatError(path, "cannot tell the network from the genesis hashes; give --network")
    if net not in NETWORKS:
        raise FileFormatError(path, f"unknown network {net!r}")
    changes: list[str] = []

    if cfg.get("EnableP2P") is not True:
        was = "absent" if "EnableP2P" not in cfg else json.dumps(cfg["EnableP2P"])
        changes.append(f"EnableP2P: {was} -> true (8.9.0 P2P mode)")
        cfg = _set(cfg, "EnableP2P", True)

    cfg = _migrate_peer_sharing(cfg, role, peer_sharing, changes, path)

    if "TestEnableDevelopmentNetworkProtocols" in cfg and "ExperimentalProtocolsEnabled" not in cfg:
        cfg = {
            ("ExperimentalProtocolsEnabled" if k == "TestEnableDevelopmentNetworkProtocols" else k): v
            for k, v in cfg.items()
        }
        changes.append(
            "TestEnableDevelopmentNetworkProtocols renamed ExperimentalProtocolsEnabled (the node rejects the old name)"
        )

    for key, value in SHIPPED_TARGETS:
        if key not in cfg:
            cfg = _insert_sorted(cfg, key, value)
            changes.append(f"{key}: absent -> {value} (the value 8.9.0 ships)")

    genesis = conway_genesis
    if genesis is None:
        genesis = shipped_file(TARGET_VERSION, net, "conway-genesis.json")
    writes_genesis: list[FileWrite] = []
    new_hash = node_rules.blake2b_256_hex(genesis)
    genesis_name = cfg.get("ConwayGenesisFile")
    if not isinstance(genesis_name, str):
        genesis_name = "conway-genesis.json"
        cfg = _insert_sorted(cfg, "ConwayGenesisFile", genesis_name)
        changes.append(f"ConwayGenesisFile: absent -> {genesis_name}")
    if cfg.get("ConwayGenesisHash") != new_hash:
        old = cfg.get("ConwayGenesisHash")
        cfg = _set(cfg, "ConwayGenesisHash", new_hash)
        changes.append(
            f"ConwayGenesisHash: {str(old)[:8] + '…' if old else 'absent'} -> {new_hash[:8]}… "
            f"together with a new {genesis_name} (the hash is blake2b-256 of the file)"
        )
        genesis_path = genesis_name
        if not os.path.isabs(genesis_name):
            genesis_path = os.path.join(os.path.dirname(path), genesis_name)
        writes_genesis.append(FileWrite(genesis_path, genesis, f"the 8.9.0 Conway genesis of {net}"))

    if not changes:
        return ConfigMigration(text, (), (), net)
    new_text = render_like(cfg, text)
    writes = (FileWrite(path, new_text.encode("utf-8"), "; ".join(changes)), *writes_genesis)
    return ConfigMigration(new_text, tuple(changes), writes, net)


def _set(cfg: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    if key in cfg:
        return {k: (value if k == key else v) for k, v in cfg.items()}
    return _insert_sorted(cfg, key, value)


def _migrate_peer_sharing(
    cfg: dict[str, Any], role: Role, wanted: bool | None, changes: list[str], path: str
) -> dict[str, Any]:
    current = cfg.get("PeerSharing")
    if current is not None and not isinstance(current, bool) and not (
        isinstance(current, str) and current in _PEER_SHARING_MAP
    ):
        raise FileFormatError(
            path,
            f"PeerSharing: expected true/false or PeerSharingEnabled/PeerSharingDisabled, found {current!r}",
        )
    if role is Role.BLOCK_PRODUCER:
        target: bool | None = False
        why = "a block producer must not share peers"
    elif wanted is not None:
        target, why = wanted, "as requested"
    elif isinstance(current, str):
        target, why = _PEER_SHARING_MAP[current], "8.9.0 reads a boolean"
    else:
        target, why = current, ""
    if target is None or current is target:
        return cfg
    was = "absent" if "PeerSharing" not in cfg else json.dumps(current)
    changes.append(f"PeerSharing: {was} -> {json.dumps(target)} ({why})")
    return _set(cfg, "PeerSharing", target)


def validate_config(text: str, version: str = TARGET_VERSION, config_dir: str | None = None) -> node_rules.StartupCheck:
    """The node's own verdict on this config text (and its Conway genesis when config_dir is given)."""
    return node_rules.check_config(version, text, config_dir)


def decode_config(data: bytes, path: str) -> str:
    """Bytes from a host as text, or FileFormatError naming the file."""
    return decode_text(data, path)
