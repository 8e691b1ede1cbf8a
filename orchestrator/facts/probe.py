"""Read-only probes of each host, as one shell script per host, parsed into `HostFacts`.

Why one script: a round trip costs ~50 ms and a connection ~70 ms, so a fleet of 500 hosts is
probed in one parallel pass of one command each. The script prints delimited sections
(`@@cf-begin NAME@@ … @@cf-end NAME RC@@`); each parses on its own, so a missing or garbled
section becomes a `probe_errors` entry and never hides the others. An unreachable host is a
fact with a reason, not an exception. Pool keys are only stat'ed (`find -printf`), never read.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from orchestrator.cardano import health
from orchestrator.cardano.health import DiskUsage, ParseError, TcpConnection, Tip
from orchestrator.cardano.networks import network as network_named
from orchestrator.model import Host

if TYPE_CHECKING:
    from orchestrator.ssh.transport import CommandResult, Fleet

METRICS_URL = "http://127.0.0.1:12798/metrics"
PROBE_TIMEOUT = 60.0
GENESIS_KEYS: tuple[tuple[str, str], ...] = (
    ("ByronGenesisFile", "byron"),
    ("ShelleyGenesisFile", "shelley"),
    ("AlonzoGenesisFile", "alonzo"),
    ("ConwayGenesisFile", "conway"),
)

SECTIONS: tuple[str, ...] = (
    "os",
    "binary",
    "node_version",
    "cli_version",
    "service",
    "config",
    "topology",
    "genesis",
    "tip",
    "metrics",
    "peers",
    "disk",
    "releases",
    "keys",
)


class FileStat(NamedTuple):
    """Owner, group, octal mode and size of a remote file (from `stat -c`)."""

    owner: str
    group: str
    mode: int
    size: int | None

    def __str__(self) -> str:
        return f"{self.owner}:{self.group} {self.mode:04o}"


class GenesisFile(NamedTuple):
    """A genesis file the config references: path, sha256 and blake2b-256 (None: unreadable)."""

    path: str
    sha256: str | None
    blake2b: str | None


class KeyFileStat(NamedTuple):
    """Metadata only of an entry under the keys dir of a block producer; contents are never read."""

    path: str
    mode: int
    owner: str
    group: str
    kind: str  # find's %y: f file, d directory, l symlink


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class HostFacts:
    """What one host looked like at probe time; `reachable`/`error` say why fields may be None."""

    host: str
    reachable: bool
    error: str | None = None
    network: str = "mainnet"
    hostname: str | None = None
    kernel: str | None = None
    os_id: str | None = None
    os_version: str | None = None
    host_time: int | None = None  # the host's clock (unix seconds) when probed
    node_version: str | None = None
    node_rev: str | None = None
    cli_version: str | None = None
    binary_path: str | None = None  # readlink -f of bin_dir/cardano-node
    binary_target: str | None = None  # readlink -f of bin_dir (the current release dir)
    service_active: str | None = None  # systemctl is-active: active, inactive, failed, ...
    service_enabled: str | None = None
    config_text: str | None = None
    config_sha256: str | None = None
    config_stat: FileStat | None = None
    topology_text: str | None = None
    topology_sha256: str | None = None
    topology_stat: FileStat | None = None
    genesis: Mapping[str, GenesisFile] = field(default_factory=_empty)
    tip: Tip | None = None
    tip_error: str | None = None
    metrics: Mapping[str, float] = field(default_factory=_empty)
    connections: tuple[TcpConnection, ...] = ()
    hot_peer_addresses: tuple[str, ...] = ()
    disk: DiskUsage | None = None
    disk_free_bytes: int | None = None
    releases: tuple[str, ...] = ()
    key_files_stat: tuple[KeyFileStat, ...] = ()
    probe_errors: Mapping[str, str] = field(default_factory=_empty)

    @property
    def config(self) -> Any:
        """config.json parsed, or None when absent or not JSON."""
        return _json_or_none(self.config_text)

    @property
    def topology(self) -> Any:
        return _json_or_none(self.topology_text)

    @property
    def enable_p2p(self) -> bool | None:
        return health.enable_p2p(self.config)

    @property
    def topology_format(self) -> health.TopologyFormat | None:
        return health.topology_format(self.topology) if self.topology_text is not None else None

    @property
    def hot_peers(self) -> int | None:
        """The node's own count of hot peers (Prometheus), when it reports one."""
        return health.metric_int(dict(self.metrics), health.HOT_PEERS_METRIC)

    @property
    def service_running(self) -> bool:
        return self.service_active == "active"

    def slot_lag(self, unix_now: float) -> int | None:
        if self.tip is None or self.tip.slot is None:
            return None
        return health.slot_lag(self.tip.slot, self.network, unix_now)


def _json_or_none(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# The probe script


_GENESIS_PY = (
    "import json,os,sys\n"
    "p=sys.argv[1]\n"
    "c=json.load(open(p))\n"
    "d=os.path.dirname(os.path.abspath(p))\n"
    f"for k,n in {GENESIS_KEYS!r}:\n"
    "    v=c.get(k)\n"
    "    if isinstance(v,str) and '\\t' not in v and '\\n' not in v:\n"
    "        print(n+'\\t'+os.path.join(d,v))\n"
)
_METRICS_PY = (
    "import sys,urllib.request\n"
    "r=urllib.request.urlopen(sys.argv[1],timeout=5)\n"
    "sys.stdout.write(r.read().decode('utf-8','replace'))\n"
)


# What a sync gate or a pre-batch health check reads: no files, no genesis hashes.
HEALTH_SECTIONS = frozenset({"os", "node_version", "service", "tip", "metrics", "peers"})
_BEGIN_IN_SCRIPT = re.compile(r"@@cf-begin ([a-z_]+)@@")


def _section(name: str, body: str) -> str:
    # A subshell per section: `exit` ends the section only, and its status is the section's.
    return f"printf '\\n@@cf-begin {name}@@\\n'\n(\n{body}\n) 2>&1\nprintf '\\n@@cf-end {name} %s@@\\n' \"$?\"\n"


def _file_section(path: str) -> str:
    f = shlex.quote(path)
    return (
        f"stat -c 'stat=%U:%G %a %s' {f} && "
        f"printf 'sha256=%s\\n' \"$(sha256sum < {f} | cut -d' ' -f1)\" && "
        f"printf 'b64=' && base64 -w0 < {f}"
    )


def network_args(network: str) -> str:
    """`--mainnet` or `--testnet-magic N`, as cardano-cli wants it."""
    magic = network_named(network).magic
    return "--mainnet" if magic is None else f"--testnet-magic {int(magic)}"


def build_probe(host: Host, sections: Collection[str] | None = None) -> str:
    """The whole probe for one host as one POSIX sh command line (every value quoted).

    `sections` keeps only those (HEALTH_SECTIONS is what a sync gate needs): a gate samples every
    second, and need not re-read files and genesis hashes each time.
    """
    lay = host.layout
    q = shlex.quote
    bin_dir = lay.bin_dir.rstrip("/") or "/"
    node, cli = q(f"{bin_dir}/cardano-node"), q(f"{bin_dir}/cardano-cli")
    prelude = 'export LC_ALL=C PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"'
    parts = [
        _section(
            "os",
            "printf 'hostname=%s\\n' \"$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname)\"\n"
            "printf 'kernel=%s\\n' \"$(uname -srm)\"\n"
            '( . /etc/os-release 2>/dev/null; printf \'os_id=%s\\nos_version=%s\\n\' "${ID:-}" "${VERSION_ID:-}" )\n'
            "printf 'time=%s\\n' \"$(date +%s)\"",
        ),
        _section(
            "binary",
            f"printf 'bin_dir=%s\\n' \"$(readlink -f {q(bin_dir)})\"\n"
            f"printf 'node=%s\\n' \"$(readlink -f {node})\"\n"
            f"test -x {node}",
        ),
        _section("node_version", f"timeout 20 {node} --version"),
        _section("cli_version", f"timeout 20 {cli} --version"),
        _section(
            "service",
            f"printf 'active=%s\\n' \"$(systemctl is-active {q(lay.service_name)} 2>/dev/null)\"\n"
            f"printf 'enabled=%s\\n' \"$(systemctl is-enabled {q(lay.service_name)} 2>/dev/null)\"",
        ),
        _section("config", _file_section(lay.config_path)),
        _section("topology", _file_section(lay.topology_path)),
        _section(
            "genesis",
            f"g=$(python3 -c {q(_GENESIS_PY)} {q(lay.config_path)}) || exit $?\n"
            "printf '%s\\n' \"$g\" | while IFS=\"$(printf '\\t')\" read -r n p; do\n"
            '  [ -n "$n" ] || continue\n'
            '  if [ -r "$p" ]; then\n'
            '    printf \'%s\\t%s\\t%s\\t%s\\n\' "$n" "$p" "$(sha256sum < "$p" | cut -d\' \' -f1)"'
            ' "$(b2sum -l 256 < "$p" | cut -d\' \' -f1)"\n'
            '  else printf \'%s\\t%s\\t-\\t-\\n\' "$n" "$p"; fi\n'
            "done",
        ),
        _section(
            "tip",
            f"CARDANO_NODE_SOCKET_PATH={q(lay.socket_path)} timeout 20 {cli} query tip {network_args(host.network)}",
        ),
        _section(
            "metrics",
            "if command -v curl >/dev/null 2>&1; then "
            f"curl -fsS --max-time 5 {q(METRICS_URL)}; "
            f"else timeout 10 python3 -c {q(_METRICS_PY)} {q(METRICS_URL)} 2>&1 | tail -n 200; fi",
        ),
        _section("peers", "ss -Htnp state established 2>/dev/null || ss -Htn state established"),
        _section(
            "disk",
            f'd={q(lay.db_path)}; while [ ! -e "$d" ] && [ "$d" != / ]; do d=$(dirname "$d"); done; df -P "$d"',
        ),
        _section("releases", f"ls -1A {q(lay.releases_dir)}"),
    ]
    if host.is_producer:
        # Metadata only: find -printf never opens the files.
        parts.append(
            _section(
                "keys",
                f"find {q(lay.keys_dir)} -mindepth 1 -maxdepth 3 -printf '%m\\t%u\\t%g\\t%y\\t%p\\n'",
            )
        )
    if sections is not None:
        parts = [p for p in parts if _section_name(p) in sections]
    return "sh -c " + q("\n".join([prelude, *parts, "exit 0"]))


def _section_name(part: str) -> str:
    match = _BEGIN_IN_SCRIPT.search(part)
    return match.group(1) if match else ""


# --------------------------------------------------------------------------------------------
# Parsing


_BEGIN = re.compile(r"^@@cf-begin ([a-z_]+)@@$")
_END = re.compile(r"^@@cf-end ([a-z_]+) (-?\d+)@@$")


@dataclass(frozen=True)
class Section:
    name: str
    body: str
    rc: int | None  # None: the section never finished (output cut short)


def split_sections(output: str) -> dict[str, Section]:
    """The probe output cut into its sections; anything outside markers is ignored."""
    sections: dict[str, Section] = {}
    current: str | None = None
    lines: list[str] = []
    for line in output.split("\n"):
        m_end = _END.match(line)
        if current is not None and m_end and m_end.group(1) == current:
            sections[current] = Section(current, "\n".join(lines).strip("\n"), int(m_end.group(2)))
            current, lines = None, []
            continue
        m_begin = _BEGIN.match(line)
        if m_begin:
            if current is not None:
                sections[current] = Section(current, "\n".join(lines).strip("\n"), None)
            current, lines = m_begin.group(1), []
            continue
        if current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = Section(current, "\n".join(lines).strip("\n"), None)
    return sections


def _kv(body: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in body.splitlines():
        key, sep, value = line.partition("=")
        if sep and key and key.isidentifier():
            out.setdefault(key, value.strip())
    return out


def _last_line(text: str, default: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else default


def _parse_file(body: str) -> tuple[str | None, str | None, FileStat | None]:
    kv = _kv(body)
    stat: FileStat | None = None
    raw_stat = kv.get("stat", "")
    m = re.match(r"^([^:\s]+):(\S+)\s+([0-7]{1,4})(?:\s+(\d+))?$", raw_stat)
    if m:
        stat = FileStat(m.group(1), m.group(2), int(m.group(3), 8), int(m.group(4)) if m.group(4) else None)
    sha = kv.get("sha256")
    if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", sha):
        sha = None
    text: str | None = None
    b64 = kv.get("b64")
    if b64 is not None:
        try:
            text = base64.b64decode(b64, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            raise ParseError("file contents are not valid base64") from None
    return text, sha, stat


class _Builder:
    """Collects parsed fields and per-section errors while walking the sections."""

    def __init__(self, host: Host, sections: Mapping[str, Section]) -> None:
        self.host = host
        self.sections = sections
        self.fields: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    def body(self, name: str, *, need_ok: bool = True) -> str | None:
        """The section's body, or None (with an error recorded) when missing or failed."""
        sec = self.sections.get(name)
        if sec is None:
            self.errors[name] = "missing from probe output"
            return None
        if sec.rc is None:
            self.errors[name] = "output cut short"
            return None
        if need_ok and sec.rc != 0:
            self.errors[name] = f"exit {sec.rc}: {_last_line(sec.body, 'no output')}"
            return None
        return sec.body


def parse_probe(host: Host, output: str) -> HostFacts:
    """Turn the probe's stdout into HostFacts; every problem is a `probe_errors` entry, never raised."""
    b = _Builder(host, split_sections(output))
    f = b.fields

    body = b.body("os")
    if body is not None:
        kv = _kv(body)
        f["hostname"] = kv.get("hostname") or None
        f["kernel"] = kv.get("kernel") or None
        f["os_id"] = kv.get("os_id") or None
        f["os_version"] = kv.get("os_version") or None
        f["host_time"] = int(kv["time"]) if kv.get("time", "").isdigit() else None

    sec = b.sections.get("binary")
    body = b.body("binary", need_ok=False)
    if body is not None and sec is not None:
        kv = _kv(body)
        f["binary_target"] = kv.get("bin_dir") or None
        f["binary_path"] = kv.get("node") or None
        if sec.rc != 0:
            b.errors["binary"] = f"{host.layout.bin_dir}/cardano-node is missing or not executable"

    for name, key_version, key_rev in (
        ("node_version", "node_version", "node_rev"),
        ("cli_version", "cli_version", None),
    ):
        body = b.body(name)
        if body is not None:
            try:
                info = health.parse_version(body)
            except ParseError as exc:
                b.errors[name] = str(exc)
            else:
                f[key_version] = info.version
                if key_rev:
                    f[key_rev] = info.rev

    body = b.body("service")
    if body is not None:
        kv = _kv(body)
        f["service_active"] = kv.get("active") or "unknown"
        f["service_enabled"] = kv.get("enabled") or "unknown"

    for name in ("config", "topology"):
        body = b.body(name)
        if body is not None:
            try:
                text, sha, stat = _parse_file(body)
            except ParseError as exc:
                b.errors[name] = str(exc)
            else:
                f[f"{name}_text"], f[f"{name}_sha256"], f[f"{name}_stat"] = text, sha, stat
                if text is None or sha is None or stat is None:
                    b.errors[name] = "incomplete file section"

    body = b.body("genesis")
    if body is not None:
        genesis: dict[str, GenesisFile] = {}
        for line in body.splitlines():
            cols = line.split("\t")
            if len(cols) != 4 or cols[0] not in {n for _, n in GENESIS_KEYS}:
                continue
            name, path, sha, b2 = cols
            ok_sha = sha if re.fullmatch(r"[0-9a-f]{64}", sha) else None
            ok_b2 = b2 if re.fullmatch(r"[0-9a-f]{64}", b2) else None
            genesis[name] = GenesisFile(path, ok_sha, ok_b2)
            if ok_sha is None or ok_b2 is None:
                b.errors[f"genesis.{name}"] = f"cannot read {path}"
        f["genesis"] = MappingProxyType(genesis)

    sec = b.sections.get("tip")
    body = b.body("tip", need_ok=False)
    if body is not None and sec is not None:
        if sec.rc != 0:
            f["tip_error"] = _last_line(body, f"exit {sec.rc}")
        else:
            try:
                f["tip"] = health.parse_tip(body)
            except ParseError as exc:
                f["tip_error"] = str(exc)
    elif "tip" in b.errors:
        f["tip_error"] = b.errors["tip"]

    body = b.body("metrics")
    if body is not None:
        metrics = health.parse_prometheus(body)
        f["metrics"] = MappingProxyType(metrics)
        if not metrics:
            b.errors["metrics"] = "no samples in the metrics text"

    body = b.body("peers")
    if body is not None:
        conns = health.parse_ss(body)
        f["connections"] = tuple(conns)
        f["hot_peer_addresses"] = health.node_peer_addresses(conns)

    body = b.body("disk")
    if body is not None:
        try:
            disk = health.parse_df(body)
        except ParseError as exc:
            b.errors["disk"] = str(exc)
        else:
            f["disk"], f["disk_free_bytes"] = disk, disk.free_bytes

    body = b.body("releases")
    if body is not None:
        f["releases"] = tuple(sorted(ln.strip() for ln in body.splitlines() if ln.strip()))

    if host.is_producer:
        body = b.body("keys")
        if body is not None:
            keys: list[KeyFileStat] = []
            for line in body.splitlines():
                cols = line.split("\t")
                if len(cols) == 5 and re.fullmatch(r"[0-7]{1,4}", cols[0]):
                    keys.append(KeyFileStat(cols[4], int(cols[0], 8), cols[1], cols[2], cols[3]))
            f["key_files_stat"] = tuple(keys)

    return HostFacts(
        host=host.name,
        reachable=True,
        network=host.network,
        probe_errors=MappingProxyType(dict(b.errors)),
        **f,
    )


def facts_from_result(host: Host, result: CommandResult) -> HostFacts:
    """A probe's CommandResult → HostFacts: unreachable, failed to run, or parsed."""
    if not result.connected:
        return HostFacts(host=host.name, reachable=False, error=result.error or "unreachable", network=host.network)
    if result.error is not None and "@@cf-begin" not in result.stdout:
        return HostFacts(host=host.name, reachable=True, error=f"probe failed: {result.error}", network=host.network)
    if result.exit_code not in (0, None) and "@@cf-begin" not in result.stdout:
        why = _last_line(result.stderr, f"exit {result.exit_code}")
        return HostFacts(host=host.name, reachable=True, error=f"probe failed: {why}", network=host.network)
    facts = parse_probe(host, result.stdout)
    if result.error is not None:  # e.g. a timeout with partial output
        return _with_error(facts, f"probe failed: {result.error}")
    return facts


def _with_error(facts: HostFacts, error: str) -> HostFacts:
    return replace(facts, error=error)


def gather_facts(
    transport: Fleet,
    hosts: Iterable[Host],
    *,
    timeout: float = PROBE_TIMEOUT,
    sections: Collection[str] | None = None,
) -> dict[str, HostFacts]:
    """Probe every host in parallel over its single connection: one command per host."""
    chosen = list(hosts)
    by_name = {h.name: h for h in chosen}
    results = transport.run_all(chosen, lambda h: build_probe(h, sections), sudo=True, timeout=timeout)
    return {name: facts_from_result(by_name[name], res) for name, res in results.items()}


# --------------------------------------------------------------------------------------------
# Machine-readable form (stable keys: scripts and CI rely on them)


def facts_to_json(facts: HostFacts, unix_now: float | None = None) -> dict[str, Any]:
    """A JSON-ready summary with stable keys; file contents and pool-key paths' contents never appear."""
    tip = facts.tip
    return {
        "host": facts.host,
        "reachable": facts.reachable,
        "error": facts.error,
        "network": facts.network,
        "hostname": facts.hostname,
        "os": {"id": facts.os_id, "version": facts.os_version, "kernel": facts.kernel},
        "node_version": facts.node_version,
        "node_rev": facts.node_rev,
        "cli_version": facts.cli_version,
        "binary_path": facts.binary_path,
        "binary_target": facts.binary_target,
        "service": {"active": facts.service_active, "enabled": facts.service_enabled},
        "enable_p2p": facts.enable_p2p,
        "topology_format": facts.topology_format,
        "config": _file_json(facts.config_sha256, facts.config_stat),
        "topology": _file_json(facts.topology_sha256, facts.topology_stat),
        "genesis": {
            name: {"path": g.path, "sha256": g.sha256, "blake2b_256": g.blake2b}
            for name, g in sorted(facts.genesis.items())
        },
        "tip": None
        if tip is None
        else {
            "slot": tip.slot,
            "block": tip.block,
            "epoch": tip.epoch,
            "era": tip.era,
            "hash": tip.hash,
            "sync_progress": tip.sync_progress,
        },
        "tip_error": facts.tip_error,
        "slot_lag": facts.slot_lag(unix_now) if unix_now is not None else None,
        "hot_peers": facts.hot_peers,
        "hot_peer_addresses": list(facts.hot_peer_addresses),
        "disk_free_bytes": facts.disk_free_bytes,
        "releases": list(facts.releases),
        "key_files": [
            {"path": k.path, "mode": f"{k.mode:04o}", "owner": k.owner, "group": k.group, "kind": k.kind}
            for k in facts.key_files_stat
        ],
        "probe_errors": dict(sorted(facts.probe_errors.items())),
    }


def _file_json(sha: str | None, stat: FileStat | None) -> dict[str, Any] | None:
    if sha is None and stat is None:
        return None
    return {
        "sha256": sha,
        "owner": stat.owner if stat else None,
        "group": stat.group if stat else None,
        "mode": f"{stat.mode:04o}" if stat else None,
        "size": stat.size if stat else None,
    }
