"""Topology files: read the three shapes operators have, build the 8.9.0 P2P file a host should have.

Rules (docs: cardano-8.9.0-p2p.md §1): the operator's own hosts become one local-root group
(never advertised; trustable, since they are the operator's own nodes); the well-known public
relays are replaced by the network's bootstrap peers; every other peer the operator chose by hand
is kept where it was (a P2P group or public root stays, keys and all) or, from a legacy
`Producers` list, becomes a local-root group of its own. Pure functions, no I/O.

Where a peer came from: a machine-generated list is not the operator's choice. guild-operators'
topologyUpdater.sh (scripts/cnode-helper-scripts/) writes the api.clio.one fetch output as the
topology: an envelope (`resultcode`, `networkMagic`, `ipType`, `msg`) and per-peer `distance`,
`continent`, `country`, `region`; the operator's CUSTOM_PEERS are appended as bare
`addr`/`port`/`valency`. A peer carrying those per-peer markers (in any of the three shapes) is
not carried over — in P2P the node finds such peers itself, from the ledger and its bootstrap
peers — and the envelope keys are not copied; both are said in the conversion's notes.

Addresses as operators paste them: the node reads `address` with `readMaybe` as an IP and takes
anything else for a DNS name (ouroboros-network, PeerSelection/RelayAccessPoint.hs), so
`[2001:db8::1]` or `203.0.113.7:3001` would silently never connect. Such shapes are normalised
with a note (brackets, an embedded port equal to `port`, spaces around) or refused with the file
and JSON path (a URL, an embedded port that contradicts `port`, characters no host name has).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from orchestrator.cardano import node_rules, releases
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.networks import AccessPoint, Network, is_public_relay
from orchestrator.cardano.roles import PassiveTopology, Role

Extra = tuple[tuple[str, Any], ...]
TopologyFormat = Literal["legacy", "p2p", "legacy-p2p"]

_AP_KEYS = ("address", "port")
_GROUP_KEYS = ("accessPoints", "advertise", "hotValency", "trustable", "valency", "warmValency")
_TOP_KEYS = ("bootstrapPeers", "localRoots", "publicRoots", "useLedgerAfterSlot")
_LEGACY_TOP_KEYS = ("Producers", "LocalRoots", "PublicRoots")
# topologyUpdater's fetch output (api.clio.one htopology/v1/fetch): envelope and per-peer markers.
FETCH_ENVELOPE_KEYS = ("resultcode", "networkMagic", "ipType", "msg")
GENERATED_PEER_MARKERS = ("distance", "continent", "country", "region")
_HOST_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?")


@dataclass(frozen=True)
class Peer:
    """One access point; `extra` keeps the operator's own keys (description, pool, location…)."""

    address: str
    port: int
    extra: Extra = ()

    @property
    def key(self) -> tuple[str, int]:
        return (_norm(self.address), self.port)

    @property
    def generated(self) -> bool:
        """Carries the per-peer markers of a fetched list (topologyUpdater): not hand-picked."""
        return any(k in GENERATED_PEER_MARKERS for k, _ in self.extra)

    def __str__(self) -> str:
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


@dataclass(frozen=True)
class LegacyProducer:
    peer: Peer
    valency: int


@dataclass(frozen=True)
class RootGroup:
    """A localRoots group or a publicRoots entry (public ones have no valency/trustable)."""

    access_points: tuple[Peer, ...]
    advertise: bool = False
    valency: int | None = None
    valency_key: str = "valency"  # which spelling the file used: valency or hotValency
    warm_valency: int | None = None
    trustable: bool | None = None  # None: key absent
    extra: Extra = ()
    key_order: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topology:
    format: TopologyFormat
    producers: tuple[LegacyProducer, ...] = ()
    local_roots: tuple[RootGroup, ...] = ()
    public_roots: tuple[RootGroup, ...] = ()
    use_ledger_after_slot: int | None = None
    bootstrap_peers: tuple[Peer, ...] | None = None
    extra: Extra = ()
    key_order: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # addresses normalised while reading, with their JSON paths

    @property
    def fetch_envelope(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.extra if k in FETCH_ENVELOPE_KEYS)


def _norm(address: str) -> str:
    return address.strip().lower().rstrip(".")


def peer_key(address: str, port: int) -> tuple[str, int]:
    """How two access points are told apart: host names case-insensitively, without a trailing dot."""
    return _norm(address), port


# ------------------------------------------------------------------ parsing


def _fail(path: str, where: str, message: str) -> FileFormatError:
    return FileFormatError(path, f"{where}: {message}")


def _obj(value: Any, path: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, where, f"expected an object, found {type(value).__name__}")
    return value


def _arr(value: Any, path: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(path, where, f"expected a list, found {type(value).__name__}")
    return value


def _integer(value: Any, path: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, where, f"expected an integer, found {value!r}")
    return value


def _boolean(value: Any, path: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, where, f"expected true or false, found {value!r}")
    return value


def _required(obj: dict[str, Any], key: str, path: str, where: str) -> Any:
    if obj.get(key) is None:
        raise _fail(path, where, f'missing key "{key}"')
    return obj[key]


def _extra(obj: Mapping[str, Any], known: Iterable[str]) -> Extra:
    skip = set(known)
    return tuple((k, v) for k, v in obj.items() if k not in skip)


def _peer(value: Any, path: str, where: str, addr_key: str = "address", notes: list[str] | None = None) -> Peer:
    obj = _obj(value, path, where)
    address = _required(obj, addr_key, path, where)
    if not isinstance(address, str) or not address.strip():
        raise _fail(path, f"{where}.{addr_key}", f"expected a host name or IP address, found {address!r}")
    port = _integer(_required(obj, "port", path, where), path, f"{where}.port")
    if not 0 < port < 65536:
        raise _fail(path, f"{where}.port", f"port {port} is out of range 1-65535")
    fixed, note = normalise_address(address, port, path, f"{where}.{addr_key}")
    if note is not None and notes is not None:
        notes.append(note)
    known = (addr_key, "port", "valency") if addr_key == "addr" else _AP_KEYS
    return Peer(fixed, port, _extra(obj, known))


def normalise_address(address: str, port: int, path: str, where: str) -> tuple[str, str | None]:
    """(the address as the node must read it, a note when it was changed); FileFormatError if unusable.

    The node parses the field with `readMaybe` as an IP, else uses it as a DNS name as it is.
    """
    text = address.strip()
    embedded: str | None = None
    if "://" in text:
        raise _fail(path, where, f"{address!r} is a URL; give the host name or IP address alone")
    bracketed = re.fullmatch(r"\[([^\]]+)\](?::([0-9]+))?", text)
    if bracketed:
        text, embedded = bracketed.group(1), bracketed.group(2)
    elif text.count(":") == 1:
        host, _, tail = text.partition(":")
        if not tail.isdigit():
            raise _fail(path, where, f"{address!r} is neither an IP address nor a host name")
        text, embedded = host, tail
    if embedded is not None and int(embedded) != port:
        raise _fail(path, where, f"{address!r} names port {embedded} but \"port\" is {port}; say which one is meant")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        ip = None
        if bracketed or not _HOST_NAME.fullmatch(text):
            raise _fail(path, where, f"{address!r} is neither an IP address nor a host name") from None
    if ip is not None and getattr(ip, "scope_id", None):
        raise _fail(path, where, f"{address!r}: the node cannot read an IPv6 zone (%{ip.scope_id})")  # type: ignore[union-attr]
    if text == address:
        return address, None
    why = "the node would take it for a DNS name and never connect" if text != address.strip() else "spaces around it"
    return text, f"{path}: {where}: {address!r} read as {text!r} ({why})"


def _group(value: Any, path: str, where: str, public: bool, notes: list[str] | None = None) -> RootGroup:
    obj = _obj(value, path, where)
    points = _arr(_required(obj, "accessPoints", path, where), path, f"{where}.accessPoints")
    peers = tuple(_peer(p, path, f"{where}.accessPoints[{i}]", notes=notes) for i, p in enumerate(points))
    advertise = False
    if obj.get("advertise") is not None:
        advertise = _boolean(obj["advertise"], path, f"{where}.advertise")
    if public:
        extra = _extra(obj, ("accessPoints", "advertise"))
        return RootGroup(peers, advertise, extra=extra, key_order=tuple(obj))
    valency_key = "valency" if obj.get("valency") is not None else "hotValency"
    valency = _integer(_required(obj, valency_key, path, where), path, f"{where}.{valency_key}")
    warm = obj.get("warmValency")
    trustable = obj.get("trustable")
    return RootGroup(
        peers,
        advertise,
        valency,
        valency_key,
        None if warm is None else _integer(warm, path, f"{where}.warmValency"),
        None if trustable is None else _boolean(trustable, path, f"{where}.trustable"),
        _extra(obj, _GROUP_KEYS),
        tuple(obj),
    )


def parse_topology(data: Any, path: str = "topology.json") -> Topology:
    """Any of the three shapes; FileFormatError names the file and the JSON path of the problem.

    Addresses are normalised as they are read (see normalise_address); `notes` says which.
    """
    notes: list[str] = []
    parsed = _parse_topology(data, path, notes)
    return replace(parsed, notes=tuple(notes)) if notes else parsed


def _parse_topology(data: Any, path: str, notes: list[str]) -> Topology:
    top = _obj(data, path, "$")
    if "Producers" in top:
        entries = _arr(top["Producers"], path, "$.Producers")
        producers = []
        for i, entry in enumerate(entries):
            where = f"$.Producers[{i}]"
            peer = _peer(entry, path, where, addr_key="addr", notes=notes)
            raw_valency = _required(_obj(entry, path, where), "valency", path, where)
            producers.append(LegacyProducer(peer, _integer(raw_valency, path, f"{where}.valency")))
        extra = _extra(top, ("Producers",))
        return Topology("legacy", producers=tuple(producers), extra=extra, key_order=tuple(top))
    if "localRoots" in top or "publicRoots" in top:
        local = _arr(_required(top, "localRoots", path, "$"), path, "$.localRoots")
        public = _arr(_required(top, "publicRoots", path, "$"), path, "$.publicRoots")
        bootstrap_raw = top.get("bootstrapPeers")
        bootstrap = None
        if bootstrap_raw is not None:
            items = _arr(bootstrap_raw, path, "$.bootstrapPeers")
            bootstrap = tuple(_peer(p, path, f"$.bootstrapPeers[{i}]", notes=notes) for i, p in enumerate(items))
        slot = top.get("useLedgerAfterSlot")
        return Topology(
            "p2p",
            local_roots=tuple(_group(g, path, f"$.localRoots[{i}]", False, notes) for i, g in enumerate(local)),
            public_roots=tuple(_group(g, path, f"$.publicRoots[{i}]", True, notes) for i, g in enumerate(public)),
            use_ledger_after_slot=None if slot is None else _integer(slot, path, "$.useLedgerAfterSlot"),
            bootstrap_peers=bootstrap,
            extra=_extra(top, _TOP_KEYS),
            key_order=tuple(top),
        )
    if "LocalRoots" in top or "PublicRoots" in top:
        local_obj = _obj(_required(top, "LocalRoots", path, "$"), path, "$.LocalRoots")
        groups = _arr(_required(local_obj, "groups", path, "$.LocalRoots"), path, "$.LocalRoots.groups")
        local_groups = []
        for i, raw in enumerate(groups):
            where = f"$.LocalRoots.groups[{i}]"
            obj = _obj(raw, path, where)
            inner = _obj(_required(obj, "localRoots", path, where), path, f"{where}.localRoots")
            merged = {**inner, **{k: v for k, v in obj.items() if k != "localRoots"}}
            local_groups.append(_group(merged, path, where, False, notes))
        publics = _arr(_required(top, "PublicRoots", path, "$"), path, "$.PublicRoots")
        public_groups = []
        for i, raw in enumerate(publics):
            where = f"$.PublicRoots[{i}]"
            inner = _required(_obj(raw, path, where), "publicRoots", path, where)
            public_groups.append(_group(inner, path, f"{where}.publicRoots", True, notes))
        slot = top.get("useLedgerAfterSlot")
        return Topology(
            "legacy-p2p",
            local_roots=tuple(local_groups),
            public_roots=tuple(public_groups),
            use_ledger_after_slot=None if slot is None else _integer(slot, path, "$.useLedgerAfterSlot"),
            extra=_extra(top, ("LocalRoots", "PublicRoots", "useLedgerAfterSlot")),
            key_order=tuple(top),
        )
    raise _fail(path, "$", 'not a topology: expected "localRoots" and "publicRoots" (P2P) or "Producers"')


# ------------------------------------------------------------------ building


def _ordered(values: Mapping[str, Any], preferred: Sequence[str], canonical: Sequence[str]) -> dict[str, Any]:
    """Keys in the file's own order; a new key goes before the first kept key that sorts after it
    (the book files are sorted), so a converted file reads like the shipped one."""
    keys = [k for k in preferred if k in values]
    for key in [*canonical, *values]:
        if key in values and key not in keys:
            later = [i for i, k in enumerate(keys) if k > key]
            keys.insert(later[0] if later else len(keys), key)
    return {k: values[k] for k in keys}


def peer_to_dict(peer: Peer) -> dict[str, Any]:
    return {"address": peer.address, "port": peer.port, **dict(peer.extra)}


def _group_to_dict(group: RootGroup, public: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "accessPoints": [peer_to_dict(p) for p in group.access_points],
        "advertise": group.advertise,
    }
    if not public:
        if group.trustable is not None:
            values["trustable"] = group.trustable
        values[group.valency_key] = group.valency
        if group.warm_valency is not None:
            values["warmValency"] = group.warm_valency
    values.update(dict(group.extra))
    canonical = ("accessPoints", "advertise", "trustable", "valency", "hotValency", "warmValency")
    return _ordered(values, group.key_order, canonical)


@dataclass(frozen=True)
class _Sorter:
    own: frozenset[str]
    known: frozenset[str]
    keep_handpicked: bool = True  # False: the operator discards hand-picked peers on purpose
    keep_public: bool = False  # a settled file: a public relay the operator listed is their choice

    def is_handpicked(self, peer: Peer) -> bool:
        name = _norm(peer.address)
        return (
            self.keep_handpicked and name not in self.own and name not in self.known
            and (self.keep_public or not is_public_relay(name)) and not peer.generated
        )  # fmt: skip


def _dedup(peers: Iterable[Peer], seen: set[tuple[str, int]]) -> list[Peer]:
    out = []
    for peer in peers:
        if peer.key not in seen:
            seen.add(peer.key)
            out.append(peer)
    return out


def _trim(group: RootGroup, kept: list[Peer], force_no_advertise: bool) -> RootGroup:
    """A group that lost some access points keeps its keys; valencies shrink to what is left."""
    valency = group.valency
    warm = group.warm_valency
    if len(kept) < len(group.access_points) and valency is not None:
        valency = min(valency, len(kept))
        if warm is not None:
            warm = max(valency, min(warm, len(kept)))
    return RootGroup(
        tuple(kept),
        False if force_no_advertise else group.advertise,
        valency,
        group.valency_key,
        warm,
        group.trustable,
        group.extra,
        group.key_order,
    )


def settled(parsed: Topology, private: bool = False) -> bool:
    """Already in the P2P form 8.9.0 and every later release read: P2P keys, and bootstrapPeers
    present (null too: the operator turned them off) — or, for a host with no ledger or bootstrap
    peers (a block producer, a private passive node), simply P2P. Such a file's values are the
    operator's and are kept; only a file in an older form (legacy, legacy-P2P, 8.7-era P2P with
    public relays instead of bootstrap peers) takes the target's network-wide values."""
    return parsed.format == "p2p" and (private or "bootstrapPeers" in parsed.key_order)


def desired_topology(
    current: dict[str, Any] | None,
    role: Role,
    own_peers: Sequence[AccessPoint],
    network: Network,
    known_hosts_addresses: set[str],
    *,
    path: str = "topology.json",
    keep_handpicked: bool = True,
    extra_local_roots: Sequence[RootGroup] = (),
    notes: list[str] | None = None,
    passive: PassiveTopology = PassiveTopology.LEDGER,
    bootstrap_peers: Sequence[AccessPoint] | None = None,
    use_ledger_after_slot: int | None = None,
    missing_values: ValueError | None = None,
) -> dict[str, Any]:
    """The P2P topology this host should have; idempotent; raises FileFormatError on junk.

    own_peers: for a block producer its relays, for a relay its block producer(s) and sibling relays.
    network: the TARGET release's network-wide values (cardano/shipped_topology.py release_network):
    bootstrapPeers, useLedgerAfterSlot and peerSnapshotFile of the topology it ships. They are used
    only where the file has none of its own (a file not yet `settled`); a settled file keeps its own.
    bootstrap_peers / use_ledger_after_slot: the operator's explicit values; they win over both.
    missing_values: why `network`'s values are not known (no shipped topology for this release and
    network); raised when the conversion needs them, never replaced by a guess.
    known_hosts_addresses: every inventory host's node address, so that an entry pointing at one is
    recognised (and not kept as a hand-picked peer).
    keep_handpicked: False drops every peer the operator added by hand (never silently: the plan's
    diff shows it). extra_local_roots: more groups (see parse_local_roots), after the kept ones;
    an access point already listed is not listed twice; a block producer's never advertise.
    notes: when given, receives one line per thing the operator should know: addresses normalised,
    generated peers not carried over (and what replaces them), fetch-envelope keys dropped.
    passive: for a passive node (role PASSIVE) only: LEDGER keeps bootstrap peers and ledger peers;
    PRIVATE has only local roots (public roots kept become local-root groups), useLedgerAfterSlot -1
    and no bootstrapPeers. A passive node advertises nothing, whatever the file said
    (docs/cardano-8.9.0-p2p.md §1: advertise default false; an exchange's nodes are not offered).

    A settled file whose local roots already list every own peer keeps its groups as they are
    (trustable, valency/hotValency, advertise, order), less only what the role forbids (an inventory
    host that is not its peer; an advertised group with an own host in it). Otherwise the own hosts
    are gathered into one group, and hand-picked peers that shared it keep their group's trustable.
    """
    parsed = parse_topology(current, path) if current is not None else Topology("p2p")
    producer = role is Role.BLOCK_PRODUCER
    quiet = producer or role is Role.PASSIVE  # never advertises a local root
    private = producer or (role is Role.PASSIVE and passive is PassiveTopology.PRIVATE)  # no public roots
    kept_form = current is not None and settled(parsed, private)
    if notes is not None:
        notes.extend(parsed.notes)
        notes.extend(_provenance_notes(parsed, role, network, path, private and not producer))
    sorter = _Sorter(
        frozenset(_norm(p.address) for p in own_peers),
        frozenset(_norm(a) for a in known_hosts_addresses),
        keep_handpicked,
        keep_public=kept_form and not private,
    )
    own_keys = {(_norm(p.address), p.port) for p in own_peers}
    listed = {p.key for g in parsed.local_roots for p in g.access_points}
    as_is = kept_form and own_keys <= listed

    seen: set[tuple[str, int]] = set()
    groups: list[dict[str, Any]] = []
    if as_is:
        for group in parsed.local_roots:
            kept = _dedup((p for p in group.access_points if p.key in own_keys or sorter.is_handpicked(p)), seen)
            if group.access_points and not kept:
                continue  # only inventory hosts that are not its peers (the diff shows them go)
            trimmed = _trim(group, kept, quiet)
            if trimmed.advertise and any(p.key in own_keys for p in kept):
                trimmed = replace(trimmed, advertise=False)  # advertising an own host would leak a BP
            groups.append(_group_to_dict(trimmed, public=False))
    else:
        groups = _gathered_local_roots(parsed, own_peers, own_keys, sorter, quiet, seen)

    for legacy in parsed.producers:
        peer = legacy.peer
        if not sorter.is_handpicked(peer) or peer.key in seen:
            continue
        seen.add(peer.key)
        # Legacy valency: for a DNS name the number of IPs to use, for an IP a 0/1 switch.
        valency = legacy.valency if not _looks_like_ip(peer.address) else min(legacy.valency, 1)
        groups.append(
            _group_to_dict(RootGroup((peer,), False, max(valency, 0), trustable=False), public=False)
        )

    publics: list[dict[str, Any]] = []
    for group in parsed.public_roots:
        kept = _dedup((p for p in group.access_points if sorter.is_handpicked(p)), seen)
        if group.access_points and not kept:
            continue
        if private and kept:
            # A block producer (or a private passive node) has no public roots; a peer its operator
            # chose is kept, visibly, as its own local-roots group (the audit's rules then ask about it).
            as_local = RootGroup(tuple(kept), False, len(kept), trustable=False)
            groups.append(_group_to_dict(as_local, public=False))
            continue
        publics.append(_group_to_dict(_trim(group, kept, quiet), public=True))
    for group in extra_local_roots:
        kept = _dedup(group.access_points, seen)
        if kept:
            groups.append(_group_to_dict(_trim(group, kept, quiet), public=False))
    if not publics:
        publics.append({"accessPoints": [], "advertise": False})
    if not groups:
        # The book files' placeholder: an empty group, so the file reads like the shipped one.
        groups.append({"accessPoints": [], "advertise": False, "trustable": False, "valency": 1})

    values: dict[str, Any] = {"localRoots": groups, "publicRoots": publics}
    values.update(_network_values(parsed, private, kept_form, network, bootstrap_peers, use_ledger_after_slot,
                                  missing_values))  # fmt: skip
    # Unknown top-level keys survive; the legacy shapes' keys and a fetch envelope do not.
    for key, value in parsed.extra:
        if key not in _LEGACY_TOP_KEYS and key not in values and key != "bootstrapPeers" and key not in FETCH_ENVELOPE_KEYS:
            values[key] = value
    order = parsed.key_order if parsed.format == "p2p" else ()
    return _ordered(values, order, _TOP_KEYS)


def _network_values(
    parsed: Topology,
    private: bool,
    kept_form: bool,
    network: Network,
    bootstrap_peers: Sequence[AccessPoint] | None,
    use_ledger_after_slot: int | None,
    missing: ValueError | None,
) -> dict[str, Any]:
    """bootstrapPeers / useLedgerAfterSlot / peerSnapshotFile: the operator's explicit value, else
    the settled file's own, else the target release's shipped one (never a guess: `missing`)."""
    if private:
        return {"useLedgerAfterSlot": -1}
    out: dict[str, Any] = {}
    if bootstrap_peers is not None:
        out["bootstrapPeers"] = [{"address": p.address, "port": p.port} for p in bootstrap_peers]
    elif kept_form:
        out["bootstrapPeers"] = None if parsed.bootstrap_peers is None else [peer_to_dict(p) for p in parsed.bootstrap_peers]
    if use_ledger_after_slot is not None:
        out["useLedgerAfterSlot"] = use_ledger_after_slot
    elif kept_form and parsed.use_ledger_after_slot is not None:
        out["useLedgerAfterSlot"] = parsed.use_ledger_after_slot
    if "bootstrapPeers" in out and "useLedgerAfterSlot" in out:
        return out
    if missing is not None:
        raise missing
    if "bootstrapPeers" not in out and network.bootstrap_peers:
        out["bootstrapPeers"] = [{"address": p.address, "port": p.port} for p in network.bootstrap_peers]
    out.setdefault("useLedgerAfterSlot", network.use_ledger_after_slot)
    if not kept_form and network.peer_snapshot_file and not any(k == "peerSnapshotFile" for k, _ in parsed.extra):
        out["peerSnapshotFile"] = network.peer_snapshot_file  # the pair: this slot with that release's snapshot
    return out


def _gathered_local_roots(
    parsed: Topology,
    own_peers: Sequence[AccessPoint],
    own_keys: set[tuple[str, int]],
    sorter: _Sorter,
    quiet: bool,
    seen: set[tuple[str, int]],
) -> list[dict[str, Any]]:
    """The own hosts as one group (first), then the other groups less own, inventory and (in an
    unsettled file) public or generated peers."""
    # Extra keys the operator wrote on entries for their own hosts survive on the own group.
    own_extra: dict[tuple[str, int], Extra] = {}
    own_group_source: RootGroup | None = None
    current_points: list[Peer] = [p.peer for p in parsed.producers]
    for group in parsed.local_roots:
        current_points.extend(group.access_points)
        if own_group_source is None and group.access_points and any(p.key in own_keys for p in group.access_points):
            own_group_source = group
    for point in current_points:
        if point.key in own_keys and point.key not in own_extra:
            own_extra[point.key] = point.extra

    seen.update(own_keys)
    groups: list[dict[str, Any]] = []
    if own_peers:
        points = [
            Peer(p.address, p.port, own_extra.get((_norm(p.address), p.port), ()))
            for p in _dedup_access_points(own_peers)
        ]
        source = own_group_source or RootGroup(())
        own = RootGroup(
            tuple(points),
            advertise=False,
            valency=len(points),
            valency_key=source.valency_key,
            warm_valency=None,
            trustable=True if source.trustable is None else source.trustable,  # the operator's word stands
            extra=source.extra,
            key_order=source.key_order,
        )
        groups.append(_group_to_dict(own, public=False))

    for group in parsed.local_roots:
        if group is own_group_source:
            kept = _dedup((p for p in group.access_points if sorter.is_handpicked(p)), seen)
            if kept:
                # Hand-picked peers that shared the own hosts' group keep their own group, and the
                # trust the operator gave them.
                split = RootGroup(tuple(kept), False, len(kept), trustable=bool(group.trustable))
                groups.append(_group_to_dict(split, public=False))
            continue
        kept = _dedup((p for p in group.access_points if sorter.is_handpicked(p)), seen)
        if group.access_points and not kept:
            continue  # only own, inventory or public peers: replaced above / by bootstrap peers
        if not group.access_points and own_peers:
            continue  # the book's empty placeholder group, now that there is a real one
        if not group.access_points and group.trustable is None:
            group = replace(_trim(group, [], quiet), trustable=False)  # as the 8.9.0 book writes it
        groups.append(_group_to_dict(_trim(group, kept, quiet), public=False))
    return groups


def parse_local_roots(value: Any, where: str = "extra_local_roots") -> tuple[RootGroup, ...]:
    """localRoots groups written as in topology.json ([{accessPoints: [...], valency: 1}, ...]);
    FileFormatError naming the entry (`where[0].accessPoints[1].port`) when one is malformed."""
    if not isinstance(value, list):
        raise FileFormatError(where, f"expected a list of localRoots groups, found {type(value).__name__}")
    return tuple(_group(g, where, f"{where}[{i}]", public=False) for i, g in enumerate(value))
def _all_points(parsed: Topology) -> list[Peer]:
    points = [p.peer for p in parsed.producers]
    for group in (*parsed.local_roots, *parsed.public_roots):
        points.extend(group.access_points)
    return points


def _provenance_notes(parsed: Topology, role: Role, network: Network, path: str,
                      private_mode: bool = False) -> list[str]:
    """What a conversion leaves out because a machine, not the operator, put it there."""
    out = []
    generated = _dedup((p for p in _all_points(parsed) if p.generated), set())
    if generated:
        names = ", ".join(str(p) for p in generated)
        markers = sorted({k for p in generated for k, _ in p.extra if k in GENERATED_PEER_MARKERS})
        if role is Role.BLOCK_PRODUCER:
            instead = "a block producer talks only to its own relays"
        elif role is Role.PASSIVE and private_mode:
            instead = "a private passive node talks only to the local roots its operator lists"
        else:
            boot = ", ".join(f"{p.address}:{p.port}" for p in network.bootstrap_peers)
            instead = (f"replaced by {network.name}'s bootstrap peers ({boot}) and ledger peers "
                       f"(useLedgerAfterSlot {network.use_ledger_after_slot})")  # fmt: skip
        out.append(
            f"{path}: not carried over: {len(generated)} peer(s) from a generated list (topologyUpdater fetch; "
            f"per-peer {', '.join(markers)}): {names}; {instead}"
        )
    if parsed.fetch_envelope:
        out.append(
            f"{path}: not copied: {', '.join(parsed.fetch_envelope)} (topologyUpdater's fetch envelope, not read by the node)"
        )
    return out


def address_notes(topology: Any, path: str = "topology.json") -> list[str]:
    """For `validate`: addresses the node would misread, said with their JSON path (or why unusable)."""
    try:
        return list(parse_topology(topology, path).notes)
    except FileFormatError as exc:
        return [str(exc)]


def _dedup_access_points(points: Sequence[AccessPoint]) -> list[AccessPoint]:
    seen: set[tuple[str, int]] = set()
    out = []
    for p in points:
        key = (_norm(p.address), p.port)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _looks_like_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return True


def handpicked_peers(
    current: dict[str, Any], known_hosts_addresses: set[str], *, path: str = "topology.json"
) -> list[Peer]:
    """Peers in a topology that are neither inventory hosts nor well-known public relays."""
    parsed = parse_topology(current, path)
    sorter = _Sorter(frozenset(), frozenset(_norm(a) for a in known_hosts_addresses))
    return _dedup((p for p in _all_points(parsed) if sorter.is_handpicked(p)), set())


# ------------------------------------------------------------------ validation


@dataclass(frozen=True)
class TopologyCheck:
    version: str
    p2p: bool
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_topology(
    text: str, p2p: bool = True, versions: Sequence[str] = releases.VERSIONS
) -> list[TopologyCheck]:
    """The node's own verdict for each version (8.7.3 and 8.9.0 by default)."""
    checks = []
    for version in versions:
        errors, warnings = node_rules.check_topology(version, p2p, text)
        checks.append(TopologyCheck(version, p2p, errors, warnings))
    return checks


# The block producer's topology rules (docs/cardano-8.9.0-p2p.md §1 Roles): it talks only to its own
# relays, so it has no ledger, bootstrap or public peers and advertises nothing. Each rule takes a
# parsed topology and says what is wrong, or None; desired_topology writes files that pass them all,
# and role_problems and the audit's bp-* rules read them from here.


def bp_ledger_peers(topology: Topology) -> str | None:
    slot = topology.use_ledger_after_slot
    if slot is not None and slot >= 0:
        return f"useLedgerAfterSlot is {slot}: a block producer must not use ledger peers (-1 or absent)"
    return None


def bp_bootstrap_peers(topology: Topology) -> str | None:
    if topology.bootstrap_peers:
        return "bootstrapPeers set on a block producer: " + ", ".join(f"{p.address}:{p.port}" for p in topology.bootstrap_peers)
    return None


def bp_public_roots(topology: Topology) -> str | None:
    points = [f"{p.address}:{p.port}" for g in topology.public_roots for p in g.access_points]
    return f"public roots on a block producer: {', '.join(points)}" if points else None


def bp_advertised_local_roots(topology: Topology) -> str | None:
    return "a local-root group is advertised" if any(g.advertise for g in topology.local_roots) else None


BLOCK_PRODUCER_RULES = (bp_bootstrap_peers, bp_ledger_peers, bp_advertised_local_roots, bp_public_roots)


def passive_form_problems(topology: Topology, form: PassiveTopology, network: Network,
                          genesis: bool = False) -> list[str]:  # fmt: skip
    """How a passive node's topology departs from its form (docs/hooks.md): private = local roots only
    (useLedgerAfterSlot < 0 or absent means never ledger peers; bootstrapPeers absent/null = off:
    TopologyP2P.hs at 8.9.0); ledger = the network's bootstrap peers (`network`: as the host's release
    ships them; none in Genesis mode, which drops them: TOP @11.0.1 L123) and ledger peers on
    (useLedgerAfterSlot ≥ 0: an earlier slot than the release ships is the operator's, and valid)."""
    slot = topology.use_ledger_after_slot
    shown = ", ".join(str(p) for p in topology.bootstrap_peers or ())
    if form is PassiveTopology.PRIVATE:
        problems = []
        if slot is not None and slot >= 0:
            problems.append(f"useLedgerAfterSlot is {slot} (private: -1)")
        if topology.bootstrap_peers:
            problems.append(f"bootstrapPeers {shown}")
        if any(g.access_points for g in topology.public_roots):
            problems.append("public roots with access points")
        return problems
    problems = []
    if slot is None or slot < 0:
        problems.append(f"useLedgerAfterSlot {'absent' if slot is None else slot}: no ledger peers (ledger: "
                        f"{network.use_ledger_after_slot}, as {network.values_from} has it)")  # fmt: skip
    want = sorted(peer_key(p.address, p.port) for p in network.bootstrap_peers)
    have = sorted(p.key for p in topology.bootstrap_peers or ())
    boot = ", ".join(f"{a}:{port}" for a, port in want)
    if genesis and have:
        problems.append(f"bootstrapPeers {shown} in Genesis mode (the node drops them: null)")
    elif not genesis and have != want:
        problems.append(f"bootstrapPeers {shown or 'absent'}; the {network.name} defaults are {boot}")
    return problems


def role_problems(topology: dict[str, Any], role: Role) -> list[str]:
    """What the node accepts but a pool operator must not run (docs §1 Roles)."""
    parsed = parse_topology(topology)
    problems = []
    if parsed.format != "p2p":
        problems.append(f"topology is in the {parsed.format} format, not the 8.9.0 P2P format")
    if role is Role.BLOCK_PRODUCER:
        problems += [p for rule in BLOCK_PRODUCER_RULES if (p := rule(parsed)) is not None]
    return problems


def advertised_addresses(topology: dict[str, Any]) -> set[str]:
    """Addresses that peer sharing would advertise (local or public roots with advertise true)."""
    parsed = parse_topology(topology)
    out: set[str] = set()
    for group in (*parsed.local_roots, *parsed.public_roots):
        if group.advertise:
            out.update(_norm(p.address) for p in group.access_points)
    return out


def _shown(value: Any) -> str:
    """A value as a change line shows it: peers as host:port, long values cut at 240 characters."""
    if isinstance(value, list) and all(isinstance(p, dict) and "address" in p for p in value) and value:
        text = "[" + ", ".join(f"{p.get('address')}:{p.get('port')}" for p in value) + "]"
    else:
        text = json.dumps(value)
    return text if len(text) <= 240 else text[:237] + "..."


def _changes(before: Any, after: Any, where: str, out: list[str]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            _changes(before.get(key, _ABSENT), after.get(key, _ABSENT), f"{where}.{key}" if where else key, out)
        return
    if (isinstance(before, list) and isinstance(after, list)
            and not any(isinstance(p, dict) and "address" in p for p in [*before, *after])):  # fmt: skip
        # groups by position; a list of peers (accessPoints, bootstrapPeers) is shown whole
        for i in range(max(len(before), len(after))):
            b = before[i] if i < len(before) else _ABSENT
            a = after[i] if i < len(after) else _ABSENT
            _changes(b, a, f"{where}[{i}]", out)
        return
    old = "(absent)" if before is _ABSENT else _shown(before)
    new = "(absent)" if after is _ABSENT else _shown(after)
    out.append(f"{where}: {old} -> {new}")


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT: Any = _Absent()


def topology_changes(before: Any, after: dict[str, Any]) -> list[str]:
    """Every value a conversion changed, one `key: old -> new` line each (JSON paths,
    `localRoots[0].trustable: true -> false`). A file in an older shape (Producers, LocalRoots) is
    one line for the shape and one per network-wide value it gains: its peers are in the diff."""
    if not isinstance(before, dict):
        return [f"$: {_shown(before)} -> a P2P topology"]
    legacy = [k for k in _LEGACY_TOP_KEYS if k in before]
    if legacy:
        out = [f"{', '.join(legacy)} -> localRoots/publicRoots (the P2P shape; each peer in the diff)"]
        for key in ("bootstrapPeers", "useLedgerAfterSlot", "peerSnapshotFile"):
            _changes(before.get(key, _ABSENT), after.get(key, _ABSENT), key, out)
        for key in before:
            if key not in after and key not in legacy and key not in ("bootstrapPeers", "useLedgerAfterSlot"):
                out.append(f"{key}: {_shown(before[key])} -> (absent)")
        return out
    out = []
    _changes(before, after, "", out)
    return out


def kept_values_note(desired: dict[str, Any], network: Network) -> str | None:
    """Where a kept file's network-wide values differ from the target release's shipped ones: said,
    so the operator knows the file was kept on purpose, not overlooked."""
    differ = []
    slot = desired.get("useLedgerAfterSlot")
    if isinstance(slot, int) and slot >= 0 and slot != network.use_ledger_after_slot:
        differ.append(f"useLedgerAfterSlot {slot} (ships {network.use_ledger_after_slot})")
    boot = desired.get("bootstrapPeers")
    if "bootstrapPeers" in desired:
        have = sorted(peer_key(str(p.get("address")), int(p.get("port", 0))) for p in boot or () if isinstance(p, dict))
        want = sorted(peer_key(p.address, p.port) for p in network.bootstrap_peers)
        if have != want:
            shown = ", ".join(f"{p.address}:{p.port}" for p in network.bootstrap_peers) or "none"
            differ.append(f"bootstrapPeers {_shown(boot)} (ships {shown})")
    if not differ:
        return None
    return f"the operator's values kept where {network.values_from} differs: " + "; ".join(differ)


def carry_over_notes(before: dict[str, Any], after: dict[str, Any], target: releases.NodeRelease) -> list[str]:
    """What the target release still needs beside a converted topology (its peer snapshot), and the
    keys it would not read: never a silently dropped value (the changes themselves: topology_changes)."""
    notes: list[str] = []
    for key, read in (("peerSnapshotFile", target.peer_snapshot_file), ("diffusionMode", target.diffusion_mode)):
        if key in after and not read:
            notes.append(f"{key} kept, but {target.version} does not read it")
    if target.peer_snapshot_formats:
        wanted = " / ".join(f.value for f in target.peer_snapshot_formats)
        slot = after.get("useLedgerAfterSlot")
        if "peerSnapshotFile" in after and isinstance(slot, int) and slot < 0:
            notes.append(f"peerSnapshotFile {after['peerSnapshotFile']} kept: with useLedgerAfterSlot {slot} "
                         "(no ledger peers) the node does not use it")  # fmt: skip
        elif "peerSnapshotFile" in after:
            notes.append(f"copy {target.version}'s peer-snapshot.json ({wanted}) to {after['peerSnapshotFile']} "
                         "(relative to the topology's directory); its slot must not be older than "
                         f"useLedgerAfterSlot {slot}")  # fmt: skip
        else:
            notes.append(f"no peerSnapshotFile: {target.version} can read one ({wanted}); none is configured")
    return notes
