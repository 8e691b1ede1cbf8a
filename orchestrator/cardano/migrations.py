"""config.json migration to any catalogued release, one boundary at a time.

The path between two releases comes from the catalogue (cardano/releases/); each hop applies what
the newer release's record says changed, and reports what it added, removed and converted and what
the operator must still do (a topology conversion, a peer snapshot to copy, a replay to budget).
Everything else in the operator's file survives every hop: unknown keys, ports, severities, the key
order and the file's format. Facts per boundary: /work/shared/docs/cardano-upgrade-boundaries.md
(§a config keys, §d ledger snapshots, §f what a safe tool does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from orchestrator.cardano import node_rules, releases
from orchestrator.cardano.config import (
    FileWrite,
    GenesisLookup,
    _insert_sorted,
    _set,
    infer_network,
    load_config_text,
    migrate_config,
    render_like,
    render_yaml_like,
    shipped_file,
)
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.networks import NETWORKS
from orchestrator.cardano.releases import CATALOGUE, Hop, LedgerCrossing, NodeRelease, TopologyShape
from orchestrator.cardano.roles import Role

# The root TraceOptions a legacy config gets when the target runs new tracing only (11.1): the
# backends the shipped configs carry since 10.6 (boundaries doc §a, "Shipped root since 10.6").
SHIPPED_ROOT_BACKENDS = ("EKGBackend", "Forwarder", "PrometheusSimple suffix 127.0.0.1 12798", "Stdout HumanFormatColoured")


@dataclass
class HopReport:
    """What one boundary's step did, for the operator (one stderr block per hop)."""

    hop: Hop
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    converted: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)
    # The todo items a rolling upgrade (`upgrade-node`) does itself: the topology conversion, the
    # target's peer snapshot, the replay's budget and the ledger backup (actions/convert_topology.py,
    # install_peer_snapshot.py, roll/host_run.py LEDGER_BACKUP). `config migrate` alone leaves them to
    # the operator; `plan` shows only the others (`operator_todo`).
    run_does: list[str] = field(default_factory=list)

    @property
    def operator_todo(self) -> list[str]:
        """What the operator must still do by hand even when a run does the rest."""
        return [t for t in self.todo if t not in self.run_does]

    def _run_does(self, item: str) -> None:
        self.todo.append(item)
        self.run_does.append(item)

    def lines(self) -> list[str]:
        out = [f"{self.hop}:"]
        for label, items in (("added", self.added), ("removed", self.removed), ("converted", self.converted),
                             ("you must still", self.todo)):  # fmt: skip
            out += [f"  {label}: {item}" for item in items]
        if len(out) == 1:
            out.append("  nothing to change in config.json")
        return out


@dataclass(frozen=True)
class ChainMigration:
    text: str
    source: str
    target: str
    source_inferred: str | None  # how the source release was read from the file; None: given
    hops: tuple[HopReport, ...]
    writes: tuple[FileWrite, ...]  # config first (when it changed), then genesis files
    network: str
    format: str
    notes: tuple[str, ...] = ()  # what was verified without a change (genesis files read)

    @property
    def changed(self) -> bool:
        return bool(self.writes)


def infer_config_release(cfg: dict[str, Any]) -> tuple[str | None, str]:
    """(release, why) the config was written for, or (None, why) when the file cannot tell.

    MinNodeVersion (never read by the node, shipped since 10.1: boundaries doc §a) names the oldest
    release shipping that value; a file with neither it nor any 10.x section is an 8.x file (taken
    as the oldest, 8.7.3: the 8.9.0 step leaves an 8.9.0 file unchanged)."""
    mnv = cfg.get("MinNodeVersion")
    if isinstance(mnv, str):
        matches = [r.version for r in CATALOGUE if r.min_node_version == mnv]
        if matches:
            return matches[0], f"MinNodeVersion {mnv} is what {matches[0]} ships"
        return None, f"MinNodeVersion {mnv} is not one a catalogued release ships"
    if any(k in cfg for k in ("LedgerDB", "TraceOptions", "UseTraceDispatcher", "ConsensusMode")):
        return None, "no MinNodeVersion, and 10.x keys (LedgerDB/TraceOptions/UseTraceDispatcher/ConsensusMode)"
    first = CATALOGUE[0].version
    return first, f"no MinNodeVersion and no 10.x key: an 8.x config, taken as {first}"


def _conway_genesis(target: NodeRelease, network: str) -> tuple[bytes, str] | None:
    """The Conway genesis the newest release up to `target` ships for `network` (package data)."""
    for release in reversed(CATALOGUE[: CATALOGUE.index(target) + 1]):
        try:
            return shipped_file(release.version, network, "conway-genesis.json"), release.version
        except (FileNotFoundError, OSError):
            continue
    return None


def _remove(cfg: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in cfg.items() if k != key}


def _step(cfg: dict[str, Any], hop: Hop, role: Role, network: str, path: str, report: HopReport,
          writes: dict[str, FileWrite]) -> dict[str, Any]:  # fmt: skip
    """Apply the step into hop.target to a config dict already valid for hop.source."""
    source, target = hop.source, hop.target
    # Conway genesis (hash checked by the node: a mismatch stops it).
    found = _conway_genesis(target, network)
    if found is not None:
        genesis, from_release = found
        new_hash = node_rules.blake2b_256_hex(genesis)
        if cfg.get("ConwayGenesisHash") != new_hash:
            name = cfg.get("ConwayGenesisFile")
            name = name if isinstance(name, str) else "conway-genesis.json"
            old = cfg.get("ConwayGenesisHash")
            cfg = _set(cfg, "ConwayGenesisFile", name)
            cfg = _set(cfg, "ConwayGenesisHash", new_hash)
            report.converted.append(f"ConwayGenesisHash {str(old)[:8] if old else 'absent'}… -> {new_hash[:8]}… with "
                                    f"{from_release}'s {name}")  # fmt: skip
            genesis_path = name if os.path.isabs(name) else os.path.join(os.path.dirname(path), name)
            writes[genesis_path] = FileWrite(genesis_path, genesis, f"the {from_release} Conway genesis of {network}")
    else:
        report.todo.append(f"check ConwayGenesisFile/Hash against {target.version}'s {network} files (not shipped here)")
    # EnableP2P: written explicitly while read (§f), dropped once ignored (10.6: P2P always).
    if target.enable_p2p_read and cfg.get("EnableP2P") is not True:
        was = "absent" if "EnableP2P" not in cfg else repr(cfg["EnableP2P"])
        cfg = _set(cfg, "EnableP2P", True)
        report.converted.append(f"EnableP2P {was} -> true (P2P; {target.version} reads a missing key as false)")
    # Renamed keys (10.4: top-level snapshot options moved into LedgerDB).
    for old, new in target.keys_renamed.items():
        if old in cfg:
            section, _, leaf = new.partition(".")
            value = cfg[old]
            cfg = _remove(cfg, old)
            if leaf:
                block = dict(cfg.get(section) or {})
                block.setdefault(leaf, value)
                cfg = _set(cfg, section, block)
            else:
                cfg = _set(cfg, new, value)
            report.converted.append(f"{old}: {value!r} moved to {new}")
    # LedgerDB backend.
    if target.ledgerdb_backends:
        ledger = cfg.get("LedgerDB")
        if not isinstance(ledger, dict):
            cfg = _insert_sorted(cfg, "LedgerDB", {"Backend": target.ledgerdb_default_backend})
            report.added.append(f"LedgerDB {{Backend: {target.ledgerdb_default_backend}}} (the node's default backend)")
        elif ledger.get("Backend") not in (None, *target.ledgerdb_backends):
            was = ledger["Backend"]
            cfg = _set(cfg, "LedgerDB", {**ledger, "Backend": target.ledgerdb_default_backend})
            report.converted.append(f"LedgerDB.Backend {was} -> {target.ledgerdb_default_backend} ({target.version} rejects "
                                    f"{was}: 'Malformed LedgerDB Backend: {was}')")  # fmt: skip
            if "LMDB" in str(was):
                report.todo.append(f"convert the LMDB snapshot with {source.version}'s snapshot-converter BEFORE upgrading")
    # Tracing: pin the tracing the file was written for where the default changes; build TraceOptions
    # from the legacy severity where legacy tracing is gone (11.1).
    if target.use_trace_dispatcher_read:
        if "UseTraceDispatcher" not in cfg and "TraceOptions" not in cfg and target.default_tracing is not source.default_tracing:
            cfg = _insert_sorted(cfg, "UseTraceDispatcher", False)
            report.added.append(f"UseTraceDispatcher false (keeps legacy tracing; {target.version} would otherwise run new "
                                "tracing, which needs TraceOptions)")  # fmt: skip
            report.todo.append("to move to new tracing: set UseTraceDispatcher true, add TraceOptions, recheck metric scrapes")
    elif "TraceOptions" not in cfg:
        severity = cfg.get("minSeverity") if isinstance(cfg.get("minSeverity"), str) else "Notice"
        options = {"": {"backends": list(SHIPPED_ROOT_BACKENDS), "detail": "DNormal", "severity": severity}}
        cfg = _insert_sorted(cfg, "TraceOptions", options)
        report.added.append(f"TraceOptions (root severity {severity}, from minSeverity; the shipped root backends)")
        report.todo.append("recheck metric scrapes: new tracing serves Prometheus on 127.0.0.1:12798 (PrometheusSimple)")
    for key in target.keys_removed:
        if key in cfg:
            report.removed.append(f"{key}: {cfg[key]!r} ({target.version} does not read it)")
            cfg = _remove(cfg, key)
    # PeerSharing: a block producer never shares (config.py); a relay keeps its own choice.
    if role is Role.BLOCK_PRODUCER and cfg.get("PeerSharing") is not False:
        cfg = _set(cfg, "PeerSharing", False)
        report.added.append("PeerSharing false (a block producer never shares peers)")
    elif "PeerSharing" not in cfg and source.peer_sharing_absent_relay != target.peer_sharing_absent_relay:
        state = "shares" if target.peer_sharing_absent_relay else "does not share"
        report.todo.append(f"PeerSharing is absent: {target.version} {state} peers by default on a relay; set it to pin")
    # MinNodeVersion: the hint tools read (never the node).
    if target.min_node_version and cfg.get("MinNodeVersion") != target.min_node_version:
        cfg = _set(cfg, "MinNodeVersion", target.min_node_version)
        report.converted.append(f"MinNodeVersion -> {target.min_node_version} (what {target.version} ships)")
    # What is not in config.json.
    if TopologyShape.NON_P2P in source.topology_shapes and TopologyShape.NON_P2P not in target.topology_shapes:
        report._run_does(f"convert a Producers topology: `cardano-fleet topology convert FILE --to {target.version}`")
    if target.peer_snapshot_formats and target.peer_snapshot_formats != source.peer_snapshot_formats:
        wanted = " / ".join(f.value for f in target.peer_snapshot_formats)
        report._run_does(f"copy {target.version}'s peer-snapshot.json ({wanted}) with its topology's useLedgerAfterSlot")
    if hop.ledger is LedgerCrossing.CONVERT:
        tool = f"{target.version}'s snapshot-converter ({target.converter})"
        report._run_does(f"convert db/ledger with {tool} or budget a replay")
    elif hop.ledger is LedgerCrossing.REPLAY:
        report._run_does(f"budget a full chain replay ({target.version} cannot read {source.version}'s ledger snapshots); "
                         "back up db/ledger for a rollback")  # fmt: skip
    return cfg


def _one_peer_snapshot_todo(reports: list[HopReport], final: NodeRelease) -> None:
    """The node reads one peer snapshot, the final release's: a path through several peer-snapshot
    formats asks to copy it once, at the last hop that changed the format, naming the release the
    node will run when its format is that hop's (operator trial: "copy 10.7.1's" for a run to 11.0.1)."""
    marked = [(r, t) for r in reports for t in r.todo if "peer-snapshot.json" in t and t.startswith("copy ")]
    for report, item in marked[:-1]:
        report.todo.remove(item)
        if item in report.run_does:
            report.run_does.remove(item)
    if marked:
        report, item = marked[-1]
        hop_target = report.hop.target
        if hop_target.version != final.version and hop_target.peer_snapshot_formats == final.peer_snapshot_formats:
            renamed = item.replace(f"copy {hop_target.version}'s", f"copy {final.version}'s", 1)
            report.todo[report.todo.index(item)] = renamed
            if item in report.run_does:
                report.run_does[report.run_does.index(item)] = renamed


def migrate_config_to(
    text: str,
    target: str,
    role: Role,
    network: str | None = None,
    *,
    source: str | None = None,
    path: str = "config.json",
    genesis_lookup: GenesisLookup | None = None,
) -> ChainMigration:
    """config text migrated hop by hop from `source` (read from the file when None) to `target`.

    Raises releases.UnknownRelease, releases.DowngradeRefused (target older than source) or
    FileFormatError (unreadable file, source not readable from it, a YAML file that cannot be edited).
    """
    target_release = releases.lookup(target)
    data, fmt = load_config_text(text, path)
    inferred = None
    if source is None:
        source, why = infer_config_release(dict(data))
        if source is None:
            raise FileFormatError(path, f"cannot tell which release this config is for ({why}); give --from")
        inferred = why
    hops = releases.path(source, target_release.version)
    net = network or infer_network(dict(data))
    if net is None:
        raise FileFormatError(path, "cannot tell the network from the genesis hashes; give --network")
    if net not in NETWORKS:
        raise FileFormatError(path, f"unknown network {net!r}")
    writes: dict[str, FileWrite] = {}
    notes: tuple[str, ...] = ()
    reports: list[HopReport] = []
    current_text = text
    for hop in hops:
        report = HopReport(hop)
        if hop.source.peer_sharing_json == "text" and hop.target.peer_sharing_json == "bool":
            # 8.7.3 -> 8.9.0: the seed's migration (config.py), PeerSharing's type change included.
            step = migrate_config(current_text, role, net, path=path, genesis_lookup=genesis_lookup)
            report.converted += step.changes
            notes += step.notes
            for write in step.writes:
                if write.path != path:
                    writes[write.path] = write
            current_text = step.text
        reports.append(report)
    base, _ = load_config_text(current_text, path)
    cfg: dict[str, Any] = dict(base)
    for hop, report in zip(hops, reports, strict=True):
        cfg = _step(cfg, hop, role, net, path, report, writes)
    _one_peer_snapshot_todo(reports, target_release)
    new_text = current_text
    if cfg != dict(base):
        new_text = render_like(cfg, current_text) if fmt == "json" else render_yaml_like(dict(base), cfg, current_text, path)
    config_write = (FileWrite(path, new_text.encode("utf-8"), f"migrated {source} -> {target}"),) if new_text != text else ()
    return ChainMigration(new_text, source, target_release.version, inferred, tuple(reports),
                          (*config_write, *writes.values()), net, fmt, notes)  # fmt: skip
