"""What each catalogued cardano-node release checks in config.json, topology.json and (from 10.5)
the peer snapshot before it runs. Which rule applies to which release is read from the release's
record in cardano/releases/ (never from a version string here).

Stdlib only: the lab's simulated node runs this file under a bare /usr/bin/python3.

Read from IntersectMBO/cardano-node at tags 8.7.3 and 8.9.0: Configuration/POM.hs (config keys;
the file is decoded as YAML by `Data.Yaml.decodeFileThrow`, see node_yaml.py), Configuration/
Topology.hs (non-P2P) and Configuration/TopologyP2P.hs (P2P, legacy-P2P, the trustable rule; both
decode topology.json with aeson's strict `eitherDecode`), Protocol/Cardano.hs (genesis files read
in the order Byron, Shelley, Alonzo, Conway; the first failure stops the node; the "Shelley
related: " / "Alonzo related: " / "Conway related : " prefixes), Protocol/Byron.hs and
Protocol/Shelley.hs (`readGenesisAny`: hash of the file's bytes checked before decoding; the
"Wrong genesis file" and "There was an error reading/parsing the genesis file" messages),
Tracing/Tracers/Startup.hs (legacy warning).
From 10.1.4 on (boundaries doc §a/§b): legacy-P2P topologies fatal from 10.0 (TOP @10.1.4 L216-239),
non-P2P gone from 10.6 (a Producers topology fails the P2P parse), TraceOptions required whenever
new tracing runs (TD @10.2.1 L43), LedgerDB backends (POM @10.4.1 L459-496, @10.7.1 L536-547),
diffusionMode (ON 1.1.0.0 L123), the peer snapshot (RUN @11.0.1 L813-848).
The node's own text is reproduced for the messages that it builds itself. Messages produced by
aeson ("Error in $.x: ...") are modelled on aeson 2.x wording: UNCONFIRMED character for character.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from orchestrator.cardano import node_json, node_yaml, releases
from orchestrator.cardano.releases import NodeRelease, PeerSnapshotFormat, TopologyShape

NON_P2P_PREFIX = (
    "Is your topology file formatted correctly? "
    "Expecting Non-P2P Topology file format. "
    "The port and valency fields should be numerical. "
    "If you specified the correct topology file "
    "make sure that you correctly setup EnableP2P "
    "configuration flag. "
)
P2P_PREFIX = (
    "Is your topology file formatted correctly? "
    "Expecting P2P Topology file format. "
    "The port and valency fields should be numerical. "
    "If you specified the correct topology file "
    "make sure that you correctly setup EnableP2P "
    "configuration flag. "
)
NO_TRUSTABLE_PEERS = (
    "You seem to have not configured any trustable peers. "
    "This is important in order for the node to make progress "
    "in bootstrap mode. Make sure you provide at least one bootstrap peer "
    "source. "
)
LEGACY_P2P_WARNING = (
    "You are using legacy p2p topology file format.\n"
    "See https://github.com/intersectmbo/cardano-node/issues/4559\n"
    "Note that the legacy p2p format will be removed in `1.37` release."
)
PEER_SHARING_STRINGS = ("PeerSharingDisabled", "PeerSharingEnabled")
# TD @10.2.1 L43 `obj .: "TraceOptions"`: aeson's missing-key text (outer yaml rendering UNCONFIRMED).
NO_TRACE_OPTIONS = 'Error in $: key "TraceOptions" not found'
DIFFUSION_MODES = ("InitiatorOnly", "InitiatorAndResponder")
DIFFUSION_MODE_ERROR = "Parsing NodeDiffusionMode failed: can be either 'InitiatorOnly' or 'InitiatorAndResponder'"
LEGACY_PEER_SNAPSHOT = "Unsupported legacy peer snapshot version."


@dataclass(frozen=True)
class StartupCheck:
    ok: bool
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    p2p: bool
    config: dict[str, Any] | None
    topology: dict[str, Any] | None


class _ParseError(Exception):
    """An aeson-style failure: the JSON path and what went wrong there."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"Error in {path}: {message}")


def blake2b_256_hex(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=32).hexdigest()


def _require_version(version: str) -> NodeRelease:
    """The release's record; releases.UnknownRelease (a ValueError listing the known ones) otherwise."""
    return releases.lookup(version)


def _reject_constant(name: str) -> Any:
    """aeson has no NaN/Infinity literals; Python's json would accept them."""
    raise ValueError(f"invalid JSON literal {name}")


def parse_json_text(text: str) -> Any:
    """JSON as aeson's `eitherDecode` reads it (node_json: first duplicate key wins, no BOM, exact
    numbers); raises _ParseError with an aeson-like message."""
    try:
        return node_json.loads(text)
    except node_json.AesonDecodeError as exc:
        # UNCONFIRMED: aeson says "Failed reading: ..."; we add line/column for the operator.
        where = "" if exc.line is None else f" at line {exc.line} column {exc.column}"
        message = exc.message if exc.message.startswith("Failed reading") else f"Failed reading: {exc.message}"
        raise _ParseError("$", f"{message}{where}") from None


def value_kind(value: Any) -> str:
    """aeson's name for a value's type, as its error messages print it."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    return "Object"


def _mismatch(path: str, name: str, expected: str, value: Any) -> _ParseError:
    return _ParseError(path, f"parsing {name} failed, expected {expected}, but encountered {value_kind(value)}")


def _object(path: str, name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _mismatch(path, name, "Object", value)
    return value


def _list(path: str, name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _mismatch(path, name, "Array", value)
    return value


def _int(path: str, value: Any, name: str = "Int") -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _mismatch(path, name, "Number", value)
    if isinstance(value, float) and not value.is_integer():
        raise _ParseError(path, f"parsing {name} failed, unexpected floating number {value}")
    return int(value)


def _bool(path: str, value: Any, name: str = "Bool") -> bool:
    if not isinstance(value, bool):
        raise _mismatch(path, name, "Boolean", value)
    return value


def _text(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _mismatch(path, "Text", "String", value)
    return value


def _key(obj: dict[str, Any], path: str, key: str) -> Any:
    """`.:` — required and not null."""
    if key not in obj:
        raise _ParseError(path, f'key "{key}" not found')
    return obj[key]


def _opt(obj: dict[str, Any], key: str) -> Any:
    """`.:?` — absent and null are both 'not given'."""
    return obj.get(key)


# ---------------------------------------------------------------- config.json


def _check_renamed(cfg: dict[str, Any], new: str, old: str) -> None:
    # POM.hs: `when (isJust mOldValue) $ when (mOldValue /= mValue) $ fail ...` — so the old key
    # alone (new key absent) is rejected too, not only two different values.
    new_value = _opt(cfg, new)
    old_value = _opt(cfg, old)
    if new_value is not None:
        _bool(f"$.{new}", new_value)
    if old_value is not None:
        _bool(f"$.{old}", old_value)
        if old_value != new_value:
            raise _ParseError("$", f"{old} has been renamed to {new} in the configuration file")


def _parse_config(version: str, cfg_any: Any) -> tuple[dict[str, Any], bool]:
    cfg = _object("$", "PartialNodeConfiguration", cfg_any)
    _check_renamed(cfg, "ExperimentalProtocolsEnabled", "TestEnableDevelopmentNetworkProtocols")
    for key in (
        "TargetNumberOfRootPeers",
        "TargetNumberOfKnownPeers",
        "TargetNumberOfEstablishedPeers",
        "TargetNumberOfActivePeers",
        "TargetNumberOfKnownBigLedgerPeers",
        "TargetNumberOfEstablishedBigLedgerPeers",
        "TargetNumberOfActiveBigLedgerPeers",
    ):
        if _opt(cfg, key) is not None:
            _int(f"$.{key}", cfg[key])
    release = releases.lookup(version)
    p2p = True
    if release.enable_p2p_read:  # from 10.6 the key is not read at all (POM @10.6.0)
        p2p_value = _opt(cfg, "EnableP2P")
        p2p = False if p2p_value is None else _bool("$.EnableP2P", p2p_value)
    sharing = _opt(cfg, "PeerSharing")
    if sharing is not None:
        if release.peer_sharing_json == "text":
            # Tracing/OrphanInstances/Network.hs at 8.7.3: withText + readMaybe.
            if not isinstance(sharing, str):
                raise _mismatch("$.PeerSharing", "PeerSharing", "String", sharing)
            if sharing not in PEER_SHARING_STRINGS:
                raise _ParseError("$.PeerSharing", f"PeerSharing.parseJSON: could not parse value: {sharing}")
        else:
            # 8.9.0 reads a boolean (ouroboros-network instance); message wording UNCONFIRMED.
            _bool("$.PeerSharing", sharing, "PeerSharing")
    protocol = _key(cfg, "$", "Protocol")
    _text("$.Protocol", protocol)
    if protocol != "Cardano":
        return cfg, p2p  # non-Cardano protocols are not run by this fleet; nothing more to check
    for primary in ("ByronGenesisFile", "ShelleyGenesisFile"):
        has_primary = _opt(cfg, primary) is not None
        has_secondary = _opt(cfg, "GenesisFile") is not None
        if not has_primary and not has_secondary:
            raise _ParseError("$", f"Missing required field, either {primary} or GenesisFile")
        if has_primary and has_secondary:
            # The node's message really lacks the space before "or".
            raise _ParseError("$", f"Specify either {primary}or GenesisFile, but not both")
    _int("$.LastKnownBlockVersion-Major", _key(cfg, "$", "LastKnownBlockVersion-Major"))
    _int("$.LastKnownBlockVersion-Minor", _key(cfg, "$", "LastKnownBlockVersion-Minor"))
    _check_renamed(cfg, "ExperimentalHardForksEnabled", "TestEnableDevelopmentHardForkEras")
    for key in ("AlonzoGenesisFile", "ConwayGenesisFile"):
        _text(f"$.{key}", _key(cfg, "$", key))
    for key in ("ByronGenesisHash", "ShelleyGenesisHash", "AlonzoGenesisHash", "ConwayGenesisHash"):
        if _opt(cfg, key) is not None:
            _text(f"$.{key}", cfg[key])
    _parse_ledger_db(release, cfg)
    if release.runs_new_tracing(cfg) and _opt(cfg, "TraceOptions") is None:
        raise _ConfigDecodeError(NO_TRACE_OPTIONS)
    return cfg, p2p


def _parse_ledger_db(release: NodeRelease, cfg: dict[str, Any]) -> None:
    """LedgerDB.Backend (POM @10.4.1 L459-496; V1InMemory gone @10.7.1 L536-547, V1LMDB gone in 11.1).
    Before 10.4 the section is an unknown key, ignored."""
    if not release.ledgerdb_backends or _opt(cfg, "LedgerDB") is None:
        return
    ledger = _object("$.LedgerDB", "LedgerDbConfiguration", cfg["LedgerDB"])
    backend = _opt(ledger, "Backend")
    if backend is not None:
        _text("$.LedgerDB.Backend", backend)
        if backend not in release.ledgerdb_backends:
            raise _ParseError("$.LedgerDB.Backend", f"Malformed LedgerDB Backend: {backend}")


@dataclass(frozen=True)
class GenesisEra:
    """One era's genesis file as the configuration names it (Protocol/Cardano.hs order)."""

    era: str  # Byron, Shelley, Alonzo, Conway
    file_key: str
    hash_key: str
    node_prefix: str  # what Protocol/Cardano.hs puts before the era's error


GENESIS_ERAS: tuple[GenesisEra, ...] = (
    GenesisEra("Byron", "ByronGenesisFile", "ByronGenesisHash", ""),
    GenesisEra("Shelley", "ShelleyGenesisFile", "ShelleyGenesisHash", "Shelley related: "),
    GenesisEra("Alonzo", "AlonzoGenesisFile", "AlonzoGenesisHash", "Alonzo related: "),
    GenesisEra("Conway", "ConwayGenesisFile", "ConwayGenesisHash", "Conway related : "),
)


@dataclass(frozen=True)
class GenesisCheck:
    """The verdict on one era's genesis file: what the config expects and what the file hashes to.

    `found` is the hash the node computes (blake2b-256 of the bytes; Byron: of the canonical JSON);
    None when the file could not be read or decoded. `error` is the node's own message plus the
    file's path and both hashes, or None when the node would accept the file.
    """

    era: str
    file_key: str
    path: str
    expected: str | None
    found: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def canonical_json(value: Any) -> bytes:
    """Byron's canonical JSON (sorted keys, no spaces): what its genesis hash is taken over.

    Checked against the ByronGenesisHash of the mainnet, preprod and preview configs.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def genesis_hash(era: str, data: bytes) -> str:
    """The hash the node compares with `<Era>GenesisHash`; ValueError when Byron's file is not JSON."""
    if era == "Byron":
        return blake2b_256_hex(canonical_json(json.loads(data.decode("utf-8"))))
    return blake2b_256_hex(data)


def genesis_file_path(cfg: dict[str, Any], era: GenesisEra, config_dir: str) -> str | None:
    """The file the node opens for `era`: POM.hs's `adjustFilePaths (takeDirectory fp </>)`."""
    name = cfg.get(era.file_key)
    if name is None and era.era in ("Byron", "Shelley"):
        name = cfg.get("GenesisFile")
    if not isinstance(name, str):
        return None
    return name if os.path.isabs(name) else os.path.join(config_dir, name)


def judge_genesis(era: GenesisEra, path: str, expected: Any, data: bytes | None, read_error: str | None) -> GenesisCheck:
    """The node's verdict on one genesis file from its bytes (local or fetched from a host)."""
    want = expected if isinstance(expected, str) else None
    where = f" [{era.file_key}: {path}]"
    if data is None:
        # Byron wraps the IO error in its GenesisReadError ("parsing"); the others say "reading".
        verb = "parsing" if era.era == "Byron" else "reading"
        return GenesisCheck(era.era, era.file_key, path, want, None,
                            f'{era.node_prefix}There was an error {verb} the genesis file: "{path}" '
                            f"Error: {read_error}{where}")  # fmt: skip
    try:
        found = genesis_hash(era.era, data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return GenesisCheck(era.era, era.file_key, path, want, None,
                            f'{era.node_prefix}There was an error parsing the genesis file: "{path}" Error: {exc}{where}')
    if want is not None and found != want.lower():
        # pshow of a GenesisHash prints the hex in double quotes (Protocol/Shelley.hs, Byron.hs).
        label = "Byron genesis" if era.era == "Byron" else "genesis"
        return GenesisCheck(era.era, era.file_key, path, want, found,
                            f'{era.node_prefix}Wrong {label} file: the actual hash is "{found}", but the expected '
                            f'{label} hash given in the node configuration file is "{want}"{where}')  # fmt: skip
    if era.era != "Byron":
        try:
            _object("$", f"{era.era}Genesis", parse_json_text(data.decode("utf-8")))
        except (UnicodeDecodeError, _ParseError) as exc:
            return GenesisCheck(era.era, era.file_key, path, want, found,
                                f'{era.node_prefix}There was an error parsing the genesis file: "{path}" '
                                f"Error: {exc}{where}")  # fmt: skip
    return GenesisCheck(era.era, era.file_key, path, want, found, None)


def check_genesis_files(cfg: dict[str, Any], config_dir: str) -> list[GenesisCheck]:
    """Every era's genesis file the config names, read from disk, in the node's order."""
    checks = []
    for era in GENESIS_ERAS:
        path = genesis_file_path(cfg, era, config_dir)
        if path is None:
            continue
        try:
            with open(path, "rb") as handle:
                data: bytes | None = handle.read()
            why = None
        except OSError as exc:
            data, why = None, f"{path}: {exc.strerror or exc}"
        checks.append(judge_genesis(era, path, cfg.get(era.hash_key), data, why))
    return checks


_WHERE_SUFFIX = re.compile(r" \[(?:Byron|Shelley|Alonzo|Conway)GenesisFile: [^\]]*\]$")


def node_words(error: str) -> str:
    """An error as the node itself prints it: without the file-path suffix added for operators."""
    return _WHERE_SUFFIX.sub("", error)


def load_config(config_text: str) -> Any:
    """The value the node decodes config text to (YAML, so JSON too); raises _ParseError."""
    try:
        return node_yaml.loads(config_text)
    except node_yaml.YamlDecodeError as exc:
        raise _ConfigDecodeError(str(exc)) from None


class _ConfigDecodeError(_ParseError):
    def __init__(self, message: str) -> None:  # noqa: D107 - Data.Yaml's own text, no "Error in $"
        Exception.__init__(self, message)


def check_config(version: str, config_text: str, config_dir: str | None = None) -> StartupCheck:
    """Parse config text (YAML or JSON) as `version` would; with config_dir, also read every
    genesis file it names and check its hash (all eras are reported, the node stops at the first)."""
    _require_version(version)
    try:
        cfg, p2p = _parse_config(version, load_config(config_text))
    except _ParseError as exc:
        return StartupCheck(False, (str(exc),), (), False, None, None)
    errors = []
    if config_dir is not None and cfg.get("Protocol") == "Cardano":
        errors = [c.error for c in check_genesis_files(cfg, config_dir) if c.error is not None]
    return StartupCheck(not errors, tuple(errors), (), p2p, cfg, None)


# ------------------------------------------------------------- topology.json


def _parse_non_p2p(top_any: Any) -> None:
    top = _object("$", "NetworkTopology", top_any)
    if "MockProducers" in top and top["MockProducers"] is not None:
        _list("$.MockProducers", "[NodeSetup]", top["MockProducers"])
        return
    producers = _list("$.Producers", "[RemoteAddress]", _key(top, "$", "Producers"))
    for i, entry_any in enumerate(producers):
        path = f"$.Producers[{i}]"
        entry = _object(path, "RemoteAddress", entry_any)
        _text(f"{path}.addr", _key(entry, path, "addr"))
        _int(f"{path}.port", _key(entry, path, "port"))
        _int(f"{path}.valency", _key(entry, path, "valency"))


def _parse_access_point(path: str, value: Any) -> None:
    ap = _object(path, "RelayAccessPoint", value)
    _text(f"{path}.address", _key(ap, path, "address"))
    _int(f"{path}.port", _key(ap, path, "port"))


def _parse_root_config(path: str, value: Any) -> dict[str, Any]:
    obj = _object(path, "RootConfig", value)
    points = _list(f"{path}.accessPoints", "[RelayAccessPoint]", _key(obj, path, "accessPoints"))
    for j, ap in enumerate(points):
        _parse_access_point(f"{path}.accessPoints[{j}]", ap)
    if _opt(obj, "advertise") is not None:
        _bool(f"{path}.advertise", obj["advertise"])
    return obj


def _use_ledger(top: dict[str, Any]) -> None:
    if _opt(top, "useLedgerAfterSlot") is not None:
        _int("$.useLedgerAfterSlot", top["useLedgerAfterSlot"])


def _parse_p2p(version: str, top_any: Any) -> bool:
    """The current format; returns whether the trustable-peers rule holds."""
    release = releases.lookup(version)
    top = _object("$", "NetworkTopology", top_any)
    groups = _list("$.localRoots", "[LocalRootPeersGroup]", _key(top, "$", "localRoots"))
    trustable_with_peers = False
    for i, group_any in enumerate(groups):
        path = f"$.localRoots[{i}]"
        group = _object(path, "LocalRootPeersGroup", group_any)
        # `o .: "valency" <|> o .: "hotValency"`: a failed first alternative reports the second.
        valency = _opt(group, "valency")
        if valency is None or isinstance(valency, bool) or not isinstance(valency, int | float):
            _int(f"{path}.hotValency", _key(group, path, "hotValency"))
        else:
            _int(f"{path}.valency", valency)
        root = _parse_root_config(path, group)
        if _opt(group, "warmValency") is not None:
            _int(f"{path}.warmValency", group["warmValency"])
        trustable = False
        if release.bootstrap_peers and _opt(group, "trustable") is not None:
            trustable = _bool(f"{path}.trustable", group["trustable"])
        if trustable and root["accessPoints"]:
            trustable_with_peers = True
    publics = _list("$.publicRoots", "[PublicRootPeers]", _key(top, "$", "publicRoots"))
    for i, public in enumerate(publics):
        _parse_root_config(f"$.publicRoots[{i}]", public)
    _use_ledger(top)
    if release.diffusion_mode and _opt(top, "diffusionMode") is not None and top["diffusionMode"] not in DIFFUSION_MODES:
        raise _ParseError("$.diffusionMode", DIFFUSION_MODE_ERROR)
    if release.peer_snapshot_file and _opt(top, "peerSnapshotFile") is not None:
        _text("$.peerSnapshotFile", top["peerSnapshotFile"])
    if not release.bootstrap_peers:
        return True  # no bootstrapPeers, no trustable rule before 8.9.0 (the key is ignored)
    bootstrap = _opt(top, "bootstrapPeers")
    if bootstrap is None:
        return True
    points = _list("$.bootstrapPeers", "[RelayAccessPoint]", bootstrap)
    for j, ap in enumerate(points):
        _parse_access_point(f"$.bootstrapPeers[{j}]", ap)
    return bool(points) or trustable_with_peers


def _parse_legacy_p2p(version: str, top_any: Any) -> None:
    trustable = releases.lookup(version).bootstrap_peers  # trustable arrived with bootstrapPeers (8.9.0)
    top = _object("$", "NetworkTopology", top_any)
    local = _object("$.LocalRoots", "LocalRootPeersGroups", _key(top, "$", "LocalRoots"))
    groups = _list("$.LocalRoots.groups", "[LocalRootPeersGroup]", _key(local, "$.LocalRoots", "groups"))
    for i, group_any in enumerate(groups):
        path = f"$.LocalRoots.groups[{i}]"
        group = _object(path, "LocalRootPeersGroup", group_any)
        _int(f"{path}.hotValency", _key(group, path, "hotValency"))
        if trustable and _opt(group, "warmValency") is not None:
            _int(f"{path}.warmValency", group["warmValency"])
        _parse_root_config(f"{path}.localRoots", _key(group, path, "localRoots"))
        if trustable:
            _bool(f"{path}.trustable", _key(group, path, "trustable"))  # required in the legacy shape
    publics = _list("$.PublicRoots", "[PublicRootPeers]", _key(top, "$", "PublicRoots"))
    for i, public_any in enumerate(publics):
        path = f"$.PublicRoots[{i}]"
        public = _object(path, "PublicRootPeers", public_any)
        _parse_root_config(f"{path}.publicRoots", _key(public, path, "publicRoots"))
    _use_ledger(top)


def check_topology(version: str, p2p: bool, topology_text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(errors, warnings) of reading the topology in the mode EnableP2P selects."""
    _require_version(version)
    try:
        data = parse_json_text(topology_text)
    except _ParseError as exc:
        return ((P2P_PREFIX if p2p else NON_P2P_PREFIX) + str(exc),), ()
    errors, warnings = _check_topology_value(version, p2p, data)
    # aeson keeps the first of a repeated key without a word; the operator should hear of it.
    return errors, warnings + tuple(f"topology: {d}" for d in node_json.decode(topology_text).duplicates)


def _check_topology_value(version: str, p2p: bool, data: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    release = _require_version(version)
    if not p2p:
        try:
            _parse_non_p2p(data)
        except _ParseError as exc:
            return (NON_P2P_PREFIX + str(exc),), ()
        return (), ()
    # TopologyP2P.readTopologyFile: the current format wins; else the legacy shape (with a
    # warning); else the current format's error.
    try:
        main_error = None if _parse_p2p(version, data) else NO_TRUSTABLE_PEERS
    except _ParseError as exc:
        main_error = P2P_PREFIX + str(exc)
    if main_error is None:
        return (), ()
    if TopologyShape.LEGACY_P2P not in release.topology_shapes:  # fatal since 10.0 (TOP @10.1.4 L216-239)
        return (main_error,), ()
    try:
        _parse_legacy_p2p(version, data)
    except _ParseError:
        return (main_error,), ()
    return (), (LEGACY_P2P_WARNING,)


def peer_snapshot_format(data: Any) -> tuple[PeerSnapshotFormat | None, int | None, int | None]:
    """(format, slot, NetworkMagic) of a decoded peer-snapshot.json; format None: not one we know."""
    if not isinstance(data, dict):
        return None, None, None
    if "NodeToClientVersion" in data:
        point = data.get("Point")
        slot = point.get("blockPointSlot") if isinstance(point, dict) else None
        magic = data.get("NetworkMagic")
        return PeerSnapshotFormat.V23, slot if isinstance(slot, int) else None, magic if isinstance(magic, int) else None
    by_version = {1: PeerSnapshotFormat.V1, 2: PeerSnapshotFormat.V2}
    slot = data.get("slotNo")
    return by_version.get(data.get("version")), slot if isinstance(slot, int) else None, None  # type: ignore[arg-type]


def check_peer_snapshot(
    version: str, topology: dict[str, Any], topology_dir: str, network_magic: int | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(errors, warnings) about the peer snapshot a topology names, as `version` reads it at startup.

    RUN @11.0.1 L813-848 (10.7+): an older format, a NetworkMagic mismatch or a snapshot slot older
    than useLedgerAfterSlot is fatal when ledger peers are on; RUN @10.6.4 L761-808: 10.6 traces an
    unreadable file and continues, and ignores an old slot in Praos mode. A relative path is read
    from the topology file's directory (TOP @10.5.3 L234). An absent useLedgerAfterSlot is taken as
    ledger peers off (UNCONFIRMED).
    """
    release = _require_version(version)
    name = topology.get("peerSnapshotFile")
    if not release.peer_snapshot_file or not isinstance(name, str):
        return (), ()
    use = topology.get("useLedgerAfterSlot")
    ledger_on = isinstance(use, int) and not isinstance(use, bool) and use >= 0
    fatal = release.snapshot_older_than_use_ledger_fatal and ledger_on
    path = name if os.path.isabs(name) else os.path.join(topology_dir, name)
    text, error = _read_text(path, "peerSnapshotFile")
    if text is None:
        return ((error or path,), ()) if ledger_on else ((), (error or path,))
    try:
        fmt, slot, magic = peer_snapshot_format(json.loads(text))
    except ValueError as exc:
        return ((f"{path}: {exc}",), ()) if ledger_on else ((), (f"{path}: {exc}",))
    if fmt not in release.peer_snapshot_formats:
        shown = fmt.value if fmt else "an unknown format"
        wanted = " or ".join(f.value for f in release.peer_snapshot_formats)
        if fatal:
            return (f"{LEGACY_PEER_SNAPSHOT} ({path} is {shown}; {version} reads {wanted})",), ()
        return (), (f"{path} is {shown}; {version} reads {wanted}: the node traces the error and runs without it",)
    errors: list[str] = []
    warnings: list[str] = []
    if network_magic is not None and magic is not None and magic != network_magic:
        errors.append(f"NetworkMagic {network_magic} doesn't match peer snapshot NetworkMagic {magic}")
    if ledger_on and slot is not None and isinstance(use, int) and slot < use:
        message = (
            f"The ledger peer snapshot slot {slot} is older than the 'useLedgerAfterSlot' entry in the topology file: "
            f"{use}.\nPossible fix: update the ledger peer snapshot file: {path}"
        )
        (errors if fatal else warnings).append(message)
    return tuple(errors), tuple(warnings)


def _read_text(path: str, what: str) -> tuple[str | None, str | None]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return None, f"Cardano.Node.Configuration.{what}: {path}: {exc.strerror or exc}"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"{path}: Error in $: Failed reading: invalid UTF-8 at byte {exc.start}"


def check_node_files(version: str, config_path: str, topology_path: str) -> StartupCheck:
    """What `cardano-node run --config C --topology T` refuses before it starts."""
    _require_version(version)
    config_text, error = _read_text(config_path, "POM.parseNodeConfigurationFP")
    if config_text is None:
        return StartupCheck(False, (error or "",), (), False, None, None)
    checked = check_config(version, config_text, os.path.dirname(os.path.abspath(config_path)))
    if checked.config is None:
        return checked
    topology_text, error = _read_text(topology_path, "Topology.readTopologyFile")
    if topology_text is None:
        return StartupCheck(False, (*checked.errors, error or ""), (), checked.p2p, checked.config, None)
    errors, warnings = check_topology(version, checked.p2p, topology_text)
    topology: dict[str, Any] | None = None
    if not errors:
        loaded = node_json.loads(topology_text)
        topology = loaded if isinstance(loaded, dict) else None
    if topology is not None:
        snap_errors, snap_warnings = check_peer_snapshot(version, topology, os.path.dirname(os.path.abspath(topology_path)))
        errors, warnings = errors + snap_errors, warnings + snap_warnings
    all_errors = checked.errors + errors
    return StartupCheck(not all_errors, all_errors, warnings, checked.p2p, checked.config, topology)
