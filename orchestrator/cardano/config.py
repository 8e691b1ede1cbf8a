"""config.json migration to 8.9.0 that changes only what 8.9.0 needs and keeps the operator's file.

The node reads config.json as YAML (node_yaml.py), so a config may be JSON or YAML and stays what
it was: a JSON file keeps its key order, indentation width and trailing newline; a YAML file keeps
every line that does not change, comments and key order included (ruamel.yaml's round-trip loader
finds each key's line; only the changed values are rewritten in place, new keys are appended at the
end, and the result is decoded again by the node's rules to prove it means what was intended).
A file that needs nothing is returned byte-for-byte. The Conway genesis file and its hash are
replaced together (docs §2: a mismatch stops the node).

PeerSharing rule: block producers always `false` (a BP must not gossip its relays' or its own
address). Relays: the 8.7.3 string maps to the boolean of the same meaning; a relay that never set
it keeps it unset (8.7.3 and 8.9.0 both default to disabled, and the 8.9.0 book config leaves it
out), unless the caller asks for a value explicitly with `peer_sharing`. Passive nodes: `false` unless
the caller asks (an exchange's node serves its own wallets, not the network's peer gossip).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from orchestrator.cardano import node_rules, node_yaml
from orchestrator.cardano.errors import FileFormatError, decode_text
from orchestrator.cardano.health import enable_p2p
from orchestrator.cardano.networks import NETWORKS
from orchestrator.cardano.releases import TARGET_VERSION
from orchestrator.cardano.roles import Role

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
    format: str = "json"  # "json" or "yaml": the file's own format, which the new text keeps
    notes: tuple[str, ...] = ()  # what was verified without a change (genesis files read, say)

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
    genesis_lookup: GenesisLookup | None = None,
) -> ConfigMigration:
    """config text (JSON or YAML) as 8.9.0 with P2P needs it, in the file's own format.

    genesis_lookup reads the genesis files the config names (on this machine or from a host's
    facts): a Byron/Shelley/Alonzo file that is unreadable or does not hash to the config's value
    raises FileFormatError (the node would not start, and migrating cannot fix it); a Conway file
    that is not the 8.9.0 one is rewritten even when the config's hash is already right.
    Raises FileFormatError when the node could not read the text, or when a YAML file's layout
    cannot be edited without changing what it means (then nothing is written).
    """
    data, fmt = load_config_text(text, path)
    cfg: dict[str, Any] = dict(data)
    original = dict(data)
    net = network or infer_network(cfg)
    if net is None:
        raise FileFormatError(path, "cannot tell the network from the genesis hashes; give --network")
    if net not in NETWORKS:
        raise FileFormatError(path, f"unknown network {net!r}")
    changes: list[str] = []
    notes: list[str] = []
    if genesis_lookup is not None:
        notes += _check_kept_genesis(cfg, path, genesis_lookup)

    if not enable_p2p(cfg):
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
    genesis_path = genesis_name
    if not os.path.isabs(genesis_name):
        genesis_path = os.path.join(os.path.dirname(path), genesis_name)
    if cfg.get("ConwayGenesisHash") != new_hash:
        old = cfg.get("ConwayGenesisHash")
        cfg = _set(cfg, "ConwayGenesisHash", new_hash)
        changes.append(
            f"ConwayGenesisHash: {str(old)[:8] + '…' if old else 'absent'} -> {new_hash[:8]}… "
            f"together with a new {genesis_name} (the hash is blake2b-256 of the file)"
        )
        writes_genesis.append(FileWrite(genesis_path, genesis, f"the 8.9.0 Conway genesis of {net}"))
    elif genesis_lookup is not None:
        found, why = genesis_lookup(node_rules.GENESIS_ERAS[3], genesis_path)
        if found != new_hash and (found is not None or why is not None):
            # The config already pins 8.9.0's hash, but the file it names is not that file: the
            # node would stop with "Conway related : Wrong genesis file". Replace the file.
            state = f"hashes to {found}" if found else f"is unreadable ({why})"
            changes.append(f"{genesis_path} {state}, not the {new_hash} that ConwayGenesisHash pins: replaced")
            writes_genesis.append(FileWrite(genesis_path, genesis, f"the 8.9.0 Conway genesis of {net}"))

    if not changes:
        return ConfigMigration(text, (), (), net, fmt, tuple(notes))
    config_changed = not _same(cfg, original)
    new_text = text
    if config_changed:
        new_text = render_like(cfg, text) if fmt == "json" else render_yaml_like(original, cfg, text, path)
    config_write = (FileWrite(path, new_text.encode("utf-8"), "; ".join(changes)),) if config_changed else ()
    return ConfigMigration(new_text, tuple(changes), (*config_write, *writes_genesis), net, fmt, tuple(notes))


# (hash the node computes for the file, why it is unreadable); (None, None): not known, not checked.
GenesisLookup = Callable[[node_rules.GenesisEra, str], tuple[str | None, str | None]]


def local_genesis_lookup(era: node_rules.GenesisEra, path: str) -> tuple[str | None, str | None]:
    """A GenesisLookup over this machine's files (`config migrate`): a file that is not there is
    not checked (a config copied off its host), one that is there must be right."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, exc.strerror or str(exc)
    try:
        return node_rules.genesis_hash(era.era, data), None
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"not JSON: {exc}"


def _check_kept_genesis(cfg: dict[str, Any], path: str, lookup: GenesisLookup) -> list[str]:
    """Byron, Shelley, Alonzo: files the migration keeps, so they must already be right."""
    notes = []
    for era in node_rules.GENESIS_ERAS[:3]:
        genesis_path = node_rules.genesis_file_path(cfg, era, os.path.dirname(path))
        if genesis_path is None:
            continue
        found, why = lookup(era, genesis_path)
        expected = cfg.get(era.hash_key)
        if why is not None:
            raise FileFormatError(
                path, f"{era.era} genesis {genesis_path} ({era.file_key}) is unreadable: {why}; the node would not start"
            )
        if found is None:
            notes.append(f"{era.era} genesis {genesis_path}: not checked (no such file here)")
        elif isinstance(expected, str) and found != expected.lower():
            raise FileFormatError(
                path,
                f"{era.era} genesis {genesis_path}: {era.hash_key} expects {expected}, the file hashes to {found}; "
                "the node would stop with \"Wrong genesis file\" (migrating does not touch this era)",
            )
        else:
            notes.append(f"{era.era} genesis {genesis_path}: hash {found[:16]}… as {era.hash_key} expects"
                         if isinstance(expected, str) else f"{era.era} genesis {genesis_path}: readable, no hash pinned")
    return notes


# ------------------------------------------------------------------ the file's own format


def load_config_text(text: str, path: str) -> tuple[dict[str, Any], str]:
    """(the value the node decodes, "json" or "yaml"); FileFormatError in the node's words."""
    try:
        data = node_yaml.loads(text)
    except node_yaml.YamlDecodeError as exc:
        line, column = getattr(exc, "line", None), getattr(exc, "column", None)
        raise FileFormatError(path, f"cardano-node cannot read it as YAML (nor JSON): {exc}", line, column) from None
    if not isinstance(data, dict):
        found = node_rules.value_kind(data)
        raise FileFormatError(path, f"a node configuration must be a mapping (JSON object), found {found}")
    return data, config_format(text)


def config_format(text: str) -> str:
    """"json" when the text is strict JSON (which the node reads the same either way), else "yaml"."""
    try:
        json.loads(text)
    except ValueError:
        return "yaml"
    return "json"


# Keys the migration renames in place (the node rejects the old name: POM.hs).
RENAMED = {"TestEnableDevelopmentNetworkProtocols": "ExperimentalProtocolsEnabled"}
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_./-][A-Za-z0-9_./ -]*")
_SCALAR_TOKEN = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#][^#]*?)(\s+#.*)?\s*$""")
YAML_APPENDED_COMMENT = "# Added for cardano-node 8.9.0 P2P (cardano-fleet config migrate)"


def yaml_scalar(value: Any) -> str:
    """A new value as YAML text that Data.Yaml reads back as exactly `value`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN_SAFE.fullmatch(text) and not text.endswith(" ") and node_yaml.scalar_value(text, None, None) == text:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def render_yaml_like(before: dict[str, Any], after: dict[str, Any], text: str, path: str) -> str:
    """`text` (YAML) changed from `before` to `after` at the top level, every other line kept.

    Changed scalars are rewritten on their own line, renamed keys in place, new keys appended at
    the end. The result must decode (node_yaml) to `after`, else FileFormatError: nothing is
    written that the node would read differently from what the plan says.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        doc = YAML(typ="rt").load(text)
    except YAMLError as exc:
        # ruamel refuses what Data.Yaml tolerates (a duplicated key, say): say so, change nothing.
        raise FileFormatError(path, f"cannot edit this YAML without changing it: {exc}".splitlines()[0]) from None
    lines = text.splitlines(keepends=True)
    renamed_to = {old: new for old, new in RENAMED.items() if old in before and old not in after and new in after}
    for key, value in after.items():
        source = next((old for old, new in renamed_to.items() if new == key), None)
        if source is not None:
            _edit_line(doc, lines, source, key, value, path, keep_value=_same(before[source], value))
        elif key in before and _same(before[key], value):
            continue
        elif key in before:
            _edit_line(doc, lines, key, key, value, path)
    added = [k for k in after if k not in before and k not in renamed_to.values()]
    removed = [k for k in before if k not in after and k not in renamed_to]
    if removed:
        raise FileFormatError(path, f"cannot remove {', '.join(removed)} from a YAML config by line edits")
    new_text = "".join(lines)
    if added:
        nl = "\r\n" if "\r\n" in text else "\n"  # the file's own line ending
        if new_text and not new_text.endswith("\n"):
            new_text += nl
        new_text += nl + YAML_APPENDED_COMMENT + nl
        new_text += "".join(f"{k}: {yaml_scalar(after[k])}{nl}" for k in added)
    try:
        decoded = node_yaml.loads(new_text)
    except ValueError as exc:
        raise FileFormatError(path, f"editing this YAML would break it ({exc}); nothing written") from None
    if not _same(decoded, after):
        raise FileFormatError(path, "editing this YAML in place would change other values; nothing written")
    return new_text


def _same(a: Any, b: Any) -> bool:
    """Equal as the node sees it (True is not 1, 1 is not "1")."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _edit_line(
    doc: Any, lines: list[str], old_key: str, new_key: str, value: Any, path: str, keep_value: bool = False
) -> None:
    if old_key not in doc or isinstance(doc[old_key], dict | list):
        raise FileFormatError(path, f"{old_key}: not a one-line scalar; change it by hand")
    key_line, key_col = doc.lc.key(old_key)
    value_line, value_col = doc.lc.value(old_key)
    line = lines[key_line]
    if value_line != key_line:
        raise FileFormatError(path, f"{old_key}: its value is not on the key's line; change it by hand", key_line + 1)
    match = _SCALAR_TOKEN.match(line, value_col)
    if match is None:
        raise FileFormatError(path, f"{old_key}: cannot find its value on the line", key_line + 1, value_col + 1)
    trailing = match.group(2) or ""
    eol = line[len(line.rstrip("\r\n")):]
    head = line[:value_col]
    if new_key != old_key:
        head = head[:key_col] + head[key_col:].replace(old_key, new_key, 1)
    token = match.group(1) if keep_value else yaml_scalar(value)  # a rename keeps the value as written
    lines[key_line] = head + token + trailing + eol


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
    elif role is Role.PASSIVE:
        target, why = False, "a passive node shares no peers unless peer_sharing is set"
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
