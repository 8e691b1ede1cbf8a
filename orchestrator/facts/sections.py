"""Every fact the probe reads, one record each: the shell command and its parser together.

Order here is the order of the probe's output. Pool keys are only stat'ed (`find -printf`), never
read. Sections marked `health = True` make up the light probe a sync gate samples every second.
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import re
import shlex
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from orchestrator.cardano import health, leader_schedule, node_rules, releases, startup
from orchestrator.cardano.health import ParseError
from orchestrator.cardano.networks import network as network_named
from orchestrator.facts.model import FileStat, GenesisFile, KeyFileStat
from orchestrator.facts.record import FactSection, Output, Parsed, kv, last_line, register
from orchestrator.model import LOCK_DIR, Host

# (config key, era) for every genesis file the node reads, in its order (cardano/node_rules.py).
GENESIS_KEYS: tuple[tuple[str, str], ...] = tuple((e.file_key, e.era.lower()) for e in node_rules.GENESIS_ERAS)
_HEX64 = re.compile(r"[0-9a-f]{64}")
q = shlex.quote


def network_args(network: str) -> str:
    """`--mainnet` or `--testnet-magic N`, as cardano-cli wants it."""
    magic = network_named(network).magic
    return "--mainnet" if magic is None else f"--testnet-magic {int(magic)}"


def _bin(host: Host, program: str) -> str:
    bin_dir = host.layout.bin_dir.rstrip("/") or "/"
    return q(f"{bin_dir}/{program}")


@register
class OsSection(FactSection):
    name = "os"
    health = True

    def command(self, host: Host) -> str:
        return (
            "printf 'hostname=%s\\n' \"$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname)\"\n"
            "printf 'kernel=%s\\n' \"$(uname -srm)\"\n"
            '( . /etc/os-release 2>/dev/null; printf \'os_id=%s\\nos_version=%s\\n\' "${ID:-}" "${VERSION_ID:-}" )\n'
            "printf 'time=%s\\n' \"$(date +%s)\""
        )

    def parse(self, out: Output) -> Parsed:
        v = kv(out.body)
        return Parsed.of(
            hostname=v.get("hostname") or None,
            kernel=v.get("kernel") or None,
            os_id=v.get("os_id") or None,
            os_version=v.get("os_version") or None,
            host_time=int(v["time"]) if v.get("time", "").isdigit() else None,
        )


@register
class BinarySection(FactSection):
    """Where bin_dir and cardano-node really point (the current release), and whether it runs."""

    name = "binary"
    check_exit = False

    def command(self, host: Host) -> str:
        bin_dir = host.layout.bin_dir.rstrip("/") or "/"
        node = _bin(host, "cardano-node")
        return (
            f"printf 'bin_dir=%s\\n' \"$(readlink -f {q(bin_dir)})\"\n"
            f"printf 'node=%s\\n' \"$(readlink -f {node})\"\n"
            f"test -x {node}"
        )

    def parse(self, out: Output) -> Parsed:
        v = kv(out.body)
        fields = {"binary_target": v.get("bin_dir") or None, "binary_path": v.get("node") or None}
        if out.rc != 0:
            return Parsed.error(self.name, f"{out.host.layout.bin_dir}/cardano-node is missing or not executable", **fields)
        return Parsed.of(**fields)


@register
class NodeVersionSection(FactSection):
    name = "node_version"
    health = True

    def command(self, host: Host) -> str:
        return f"timeout 20 {_bin(host, 'cardano-node')} --version"

    def parse(self, out: Output) -> Parsed:
        try:
            info = health.parse_version(out.body)
        except ParseError as exc:
            return Parsed.error(self.name, str(exc))
        return Parsed.of(node_version=info.version, node_rev=info.rev)


@register
class CliVersionSection(FactSection):
    name = "cli_version"

    def command(self, host: Host) -> str:
        return f"timeout 20 {_bin(host, 'cardano-cli')} --version"

    def parse(self, out: Output) -> Parsed:
        try:
            info = health.parse_version(out.body)
        except ParseError as exc:
            return Parsed.error(self.name, str(exc))
        return Parsed.of(cli_version=info.version)


@register
class ServiceSection(FactSection):
    """The unit's state, whether it starts at boot and the user it runs the node as: one `systemctl
    show` (one process, where `is-active` + `is-enabled` cost two). ActiveState and UnitFileState use
    the same words as is-active and is-enabled (systemctl(1)); a missing unit shows an empty
    UnitFileState. `User=` is the unit's own setting (systemd.exec(5)): empty means systemd's default,
    root; absent from the output (an old systemctl, no unit) leaves `service_user` unknown (None)."""

    name = "service"
    health = True

    def command(self, host: Host) -> str:
        return f"systemctl show -p ActiveState -p UnitFileState -p User {q(host.layout.service_name)} 2>/dev/null"

    def parse(self, out: Output) -> Parsed:
        v = kv(out.body)
        user = v.get("User")
        return Parsed.of(
            service_active=v.get("ActiveState") or "unknown", service_enabled=v.get("UnitFileState") or "unknown",
            service_user=None if user is None else (user or "root"),
        )


@register
class RunLockSection(FactSection):
    """Which run, if any, holds the host's run lock: a plan must say "locked by RUN" rather than plan
    a host another run is changing. The lock is the directory roll/remote.py takes (mkdir)."""

    name = "run_lock"
    check_exit = False

    def command(self, host: Host) -> str:
        holder = f"$(cat {q(LOCK_DIR + '/run_id')} 2>/dev/null || echo unknown)"
        return f"if [ -d {q(LOCK_DIR)} ]; then printf 'holder=%s\\n' \"{holder}\"; fi"

    def parse(self, out: Output) -> Parsed:
        holder = kv(out.body).get("holder")
        return Parsed.of(run_lock=(holder.strip() or "unknown") if holder is not None else None)


class _FileSection(FactSection):
    """A whole small file: owner/group/mode/size, sha256 and contents (base64, so any bytes survive)."""

    def path(self, host: Host) -> str:
        raise NotImplementedError

    def command(self, host: Host) -> str:
        f = q(self.path(host))
        return (
            f"stat -c 'stat=%U:%G %a %s' {f} && "
            f"printf 'sha256=%s\\n' \"$(sha256sum < {f} | cut -d' ' -f1)\" && "
            f"printf 'b64=' && base64 -w0 < {f}"
        )

    def parse(self, out: Output) -> Parsed:
        v = kv(out.body)
        stat: FileStat | None = None
        m = re.match(r"^([^:\s]+):(\S+)\s+([0-7]{1,4})(?:\s+(\d+))?$", v.get("stat", ""))
        if m:
            stat = FileStat(m.group(1), m.group(2), int(m.group(3), 8), int(m.group(4)) if m.group(4) else None)
        sha = v.get("sha256")
        if sha is not None and not _HEX64.fullmatch(sha):
            sha = None
        text: str | None = None
        if (b64 := v.get("b64")) is not None:
            try:
                text = base64.b64decode(b64, validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                return Parsed.error(self.name, "file contents are not valid base64")
        fields = {f"{self.name}_text": text, f"{self.name}_sha256": sha, f"{self.name}_stat": stat}
        if text is None or sha is None or stat is None:
            return Parsed.error(self.name, "incomplete file section", **fields)
        return Parsed(fields=fields)


@register
class ConfigSection(_FileSection):
    name = "config"

    def path(self, host: Host) -> str:
        return host.layout.config_path


@register
class TopologySection(_FileSection):
    name = "topology"

    def path(self, host: Host) -> str:
        return host.layout.topology_path


# The genesis files the config names, hashed on the host: sha256, blake2b-256 of the bytes, and
# the hash the node compares (Byron: blake2b-256 of the canonical JSON; others: of the bytes). The
# node reads config.json as YAML: a config that is not JSON is scanned for its top-level
# `*GenesisFile:` lines (the planner checks each path against the node-decoded config).
_GENESIS_PY = (
    "import hashlib,json,os,re,sys\n"
    "p=sys.argv[1]\n"
    "t=open(p,'rb').read().decode('utf-8','replace')\n"
    "try:\n"
    "    c=json.loads(t)\n"
    "except ValueError:\n"
    "    c={m.group(1):m.group(2) or m.group(3) or m.group(4) for m in re.finditer("
    "r'^([A-Za-z]*GenesisFile)[ ]*:[ ]*(?:\"([^\"\\n]+)\"|\\x27([^\\x27\\n]+)\\x27|([^#\\s][^#\\n]*?))[ ]*(?:#.*)?$',"
    "t,re.M)}\n"
    "c=c if isinstance(c,dict) else {}\n"
    "d=os.path.dirname(os.path.abspath(p))\n"
    "b2=lambda b:hashlib.blake2b(b,digest_size=32).hexdigest()\n"
    f"for k,n in {GENESIS_KEYS!r}:\n"
    "    v=c.get(k)\n"
    "    v=c.get('GenesisFile') if v is None and n in ('byron','shelley') else v\n"
    "    if not isinstance(v,str) or '\\t' in v or '\\n' in v:\n"
    "        continue\n"
    "    f=os.path.join(d,v)\n"
    "    try:\n"
    "        b=open(f,'rb').read()\n"
    "    except OSError:\n"
    "        print(n+'\\t'+f+'\\t-\\t-')\n"
    "        continue\n"
    "    x=b2(b)\n"
    "    if n=='byron':\n"
    "        try:\n"
    "            x=b2(json.dumps(json.loads(b),sort_keys=True,separators=(',',':'),ensure_ascii=False).encode())\n"
    "        except ValueError:\n"
    "            x='-'\n"
    "    print('\\t'.join((n,f,hashlib.sha256(b).hexdigest(),b2(b),x)))\n"
)


@register
class GenesisSection(FactSection):
    """The genesis files config.json names (relative to it): path, sha256, blake2b-256 and the
    hash the node compares (Byron: of the canonical JSON). The config may be YAML (the node's rule)."""

    name = "genesis"

    def command(self, host: Host) -> str:
        # -I -S: no site, no user paths: half the interpreter's start-up, and nothing from the environment.
        return f"python3 -I -S -c {q(_GENESIS_PY)} {q(host.layout.config_path)}"

    def parse(self, out: Output) -> Parsed:
        known = {n for _, n in GENESIS_KEYS}
        genesis: dict[str, GenesisFile] = {}
        errors: dict[str, str] = {}
        for line in out.body.splitlines():
            cols = line.split("\t")
            if len(cols) not in (4, 5) or cols[0] not in known:
                continue
            name, path, sha, b2 = cols[:4]
            ok_sha = sha if _HEX64.fullmatch(sha) else None
            ok_b2 = b2 if _HEX64.fullmatch(b2) else None
            node_hash = cols[4] if len(cols) == 5 and _HEX64.fullmatch(cols[4]) else None
            genesis[name] = GenesisFile(path, ok_sha, ok_b2, node_hash)
            if ok_sha is None or ok_b2 is None:
                errors[f"genesis.{name}"] = f"cannot read {path}"
        return Parsed(fields={"genesis": MappingProxyType(genesis)}, errors=errors)


@register
class TipSection(FactSection):
    """`cardano-cli query tip`: a stopped or syncing node's failure is the fact `tip_error`, not a probe error."""

    name = "tip"
    health = True
    check_exit = False

    def command(self, host: Host) -> str:
        lay = host.layout
        return (
            f"CARDANO_NODE_SOCKET_PATH={q(lay.socket_path)} timeout 20 {_bin(host, 'cardano-cli')} "
            f"query tip {network_args(host.network)}"
        )

    def parse(self, out: Output) -> Parsed:
        if out.rc != 0:
            return Parsed.of(tip_error=last_line(out.body, f"exit {out.rc}"))
        try:
            return Parsed.of(tip=health.parse_tip(out.body))
        except ParseError as exc:
            return Parsed.of(tip_error=str(exc))

    def unavailable(self, why: str) -> Mapping[str, Any]:
        return {"tip_error": why}


_METRICS_PY = (
    "import sys,urllib.request\n"
    "r=urllib.request.urlopen(sys.argv[1],timeout=5)\n"
    "sys.stdout.write(r.read().decode('utf-8','replace'))\n"
)


@register
class MetricsSection(FactSection):
    """The node's Prometheus endpoint (curl, or python3 where curl is missing).

    Where: the config's `PrometheusSimple [suffix|nosuffix] [host] port` backend when it has one (the
    new tracing system; guild-operators' env L1145-1160 reads host and port from the same entry),
    else 127.0.0.1:12798 — the shipped port of both systems (legacy `hasPrometheus` is not read:
    UNCONFIRMED that operators move it). One `sed` reads the first line naming the backend; only
    letters, digits, dots, colons and spaces are taken from it, so nothing else reaches the shell. A
    wildcard bind (0.0.0.0, ::) is asked on loopback."""

    name = "metrics"
    health = True

    def command(self, host: Host) -> str:
        cfg = q(host.layout.config_path)
        return (
            f"u=$(sed -n '/{health.PROMETHEUS_SIMPLE}/{{s/.*{health.PROMETHEUS_SIMPLE}\\([ A-Za-z0-9.:]*\\).*/\\1/p;q;}}' "
            f"{cfg} 2>/dev/null); h={health.METRICS_HOST} p={health.METRICS_PORT}\n"
            'set -f; for w in $u; do case $w in suffix|nosuffix) ;; *[!0-9]*) h=$w;; *) p=$w;; esac; done; set +f\n'
            'case $h in 0.0.0.0) h=127.0.0.1;; ::) h=::1;; esac; case $h in *:*) h="[$h]";; esac\n'
            'url="http://$h:$p/metrics"\n'
            "if command -v curl >/dev/null 2>&1; then "
            'curl -fsS --max-time 5 "$url"; '
            f'else timeout 10 python3 -I -S -c {q(_METRICS_PY)} "$url" 2>&1 | tail -n 200; fi'
        )

    def parse(self, out: Output) -> Parsed:
        metrics = health.parse_prometheus(out.body)
        fields = {"metrics": MappingProxyType(metrics)}
        if not metrics:
            return Parsed.error(self.name, "no samples in the metrics text", **fields)
        return Parsed(fields=fields)


@register
class PeersSection(FactSection):
    """Established TCP connections (with owning process where `ss -p` may say)."""

    name = "peers"
    health = True

    def command(self, host: Host) -> str:
        return "ss -Htnp state established 2>/dev/null || ss -Htn state established"

    def parse(self, out: Output) -> Parsed:
        conns = health.parse_ss(out.body)
        return Parsed.of(connections=tuple(conns), hot_peer_addresses=health.node_peer_addresses(conns))


@register
class DiskSection(FactSection):
    """Free space of the filesystem that holds (or will hold) the chain database."""

    name = "disk"

    def command(self, host: Host) -> str:
        return f'd={q(host.layout.db_path)}; while [ ! -e "$d" ] && [ "$d" != / ]; do d=$(dirname "$d"); done; df -P "$d"'

    def parse(self, out: Output) -> Parsed:
        try:
            disk = health.parse_df(out.body)
        except ParseError as exc:
            return Parsed.error(self.name, str(exc))
        return Parsed.of(disk=disk, disk_free_bytes=disk.free_bytes)


@register
class LedgerSection(FactSection):
    """The size of the node's `db/ledger/` (its ledger snapshots), with `du -sk`: what a backup of
    it before a crossing of a snapshot boundary costs (cardano/crossing.py; boundaries doc §f "Back
    up … db/ledger/ (check disk first)"). du stats the files, never opens them. A db path under the
    keys dir (a layout mistake) is refused unread on a block producer, on the host too once both are
    resolved; a relay holds no pool keys (its probe never names the keys dir)."""

    name = "ledger"

    def command(self, host: Host) -> str:
        ledger = posixpath.join(host.layout.db_path, "ledger")
        refused = q(f"refused: {ledger} is under the keys dir {host.layout.keys_dir}")
        if _under(ledger, host.layout.keys_dir):
            return f"echo {refused}; exit 3"
        measure = 'if [ -d "$d" ]; then du -sk -- "$d"; else echo absent; fi'
        if not host.is_producer:  # no pool keys on it: a relay's probe never names the keys dir
            return f"d={q(ledger)}; {measure}"
        return (f"k=$(realpath -m -- {q(host.layout.keys_dir)}); d=$(realpath -m -- {q(ledger)}); "
                f'case "$d/" in "$k"/*) echo {refused}; exit 3;; esac; {measure}')  # fmt: skip

    def parse(self, out: Output) -> Parsed:
        body = out.body.strip()
        if body == "absent":  # no snapshot yet (a fresh node): nothing to back up
            return Parsed.of(ledger_bytes=0)
        m = re.match(r"(\d+)\s", body + "\n")
        if m is None:
            return Parsed.error(self.name, f"du printed no size: {last_line(body, 'no output')}")
        return Parsed.of(ledger_bytes=int(m.group(1)) * 1024)


@register
class MemorySection(FactSection):
    """The host's RAM (`MemTotal` of /proc/meminfo, proc(5): kB, meaning KiB): what the readiness
    audit compares with a release's stated memory requirement (cardano/releases/requirements.py)."""

    name = "memory"

    def command(self, host: Host) -> str:
        return "grep '^MemTotal:' /proc/meminfo"

    def parse(self, out: Output) -> Parsed:
        m = re.match(r"MemTotal:\s+(\d+)\s*kB", out.body.strip())
        if m is None:
            return Parsed.error(self.name, f"no MemTotal: {last_line(out.body, 'no output')}")
        return Parsed.of(mem_total_bytes=int(m.group(1)) * 1024)


@register
class ReleasesSection(FactSection):
    name = "releases"

    def command(self, host: Host) -> str:
        return f"ls -1A {q(host.layout.releases_dir)}"

    def parse(self, out: Output) -> Parsed:
        return Parsed.of(releases=tuple(sorted(ln.strip() for ln in out.body.splitlines() if ln.strip())))


@register
class ReleaseSumsSection(FactSection):
    """The running release's staging record (`.cardano-fleet-sha256`, written by `run` when it staged
    the release: the tarball's sha256, checked against the pin then, and its binaries'), with each
    recorded binary hashed again now: what the readiness audit's `release-sha256` compares; and the
    record's `# sha256sums: ...` line (the release's published sums file at staging, releases/sums.py). Only the
    release bin_dir points into is hashed (cardano-node is ~100-200 MB: a fraction of a second)."""

    name = "release_sums"

    def command(self, host: Host) -> str:
        record = ".cardano-fleet-sha256"  # roll/remote.py SUMS_RECORD
        return (
            f"r=$(readlink -f {q(host.layout.releases_dir)}); d=$(readlink -f {q(host.layout.bin_dir)})\n"
            'case "$d" in "$r"/*) rel=${d#"$r"/}; rel=${rel%%/*};; *) echo outside; exit 0;; esac\n'
            "printf 'release=%s\\n' \"$rel\"\n"
            f'f="$r/$rel/{record}"\n'
            'if [ ! -f "$f" ]; then echo record=absent; exit 0; fi\n'
            "while IFS= read -r line; do case \"$line\" in '# sha256sums: '*) "
            "printf 'published\\t%s\\n' \"${line#'# sha256sums: '}\"; continue;; esac; sum=${line%%  *}; path=${line#*  }; "
            'if [ -f "$r/$rel/$path" ]; then now=$(sha256sum "$r/$rel/$path" | cut -d" " -f1); else now=-; fi; '
            "printf 'file\\t%s\\t%s\\t%s\\n' \"$path\" \"$sum\" \"$now\"; done < \"$f\""
        )

    def parse(self, out: Output) -> Parsed:
        body = out.body.strip()
        if body == "outside":
            return Parsed.of(installed_release=None, installed_sums=None)
        v = kv(body)
        release = v.get("release") or None
        if v.get("record") == "absent":
            return Parsed.of(installed_release=release, installed_sums=None)
        files = []
        published = None  # a record written before the sums file was checked has no such line
        for line in body.splitlines():
            parts = line.split("\t")
            if len(parts) == 4 and parts[0] == "file" and _HEX64.fullmatch(parts[2]):
                files.append((parts[1], parts[2], parts[3] if _HEX64.fullmatch(parts[3]) else None))
            elif parts[0] == "published" and len(parts) >= 2:
                published = "\t".join(parts[1:]).strip() or None
        if release is None or not files:
            return Parsed.error(self.name, f"no staging record read: {last_line(body, 'no output')}")
        return Parsed.of(installed_release=release, installed_sums=tuple(files), installed_sums_published=published)


@register
class KeysSection(FactSection):
    """Metadata only of a block producer's keys dir: `find -printf` never opens the files."""

    name = "keys"

    def applies(self, host: Host) -> bool:
        return host.is_producer

    def command(self, host: Host) -> str:
        return f"find {q(host.layout.keys_dir)} -mindepth 1 -maxdepth 3 -printf '%m\\t%u\\t%g\\t%y\\t%p\\n'"

    def parse(self, out: Output) -> Parsed:
        keys: list[KeyFileStat] = []
        for line in out.body.splitlines():
            cols = line.split("\t")
            if len(cols) == 5 and re.fullmatch(r"[0-7]{1,4}", cols[0]):
                keys.append(KeyFileStat(cols[4], int(cols[0], 8), cols[1], cols[2], cols[3]))
        return Parsed.of(key_files_stat=tuple(keys))


# The node's start from its own log. Where it is depends on the tracing system the node runs
# (cardano/releases/: `UseTraceDispatcher`, else the release's default; 11.1 reads no key): the legacy
# system writes where the config's scribes say (a FileSK file, relative paths from the layout's root;
# else stdout, the unit's journal); the new one writes to stdout (its `Stdout …` backend), so to the
# journal, read with --all: the shipped config's coloured human form holds ANSI escapes, and journalctl
# shows a message with unprintable characters as "[N blob data]" without it (journalctl(1), -a).
# The release is the name of the directory bin_dir resolves to (layouts.py: releases_dir/<version>
# [/bin]); where it is not a catalogued one and the key is absent, both places are read and the one
# whose newest start is newer wins. Only startup lines are kept, of the newest two starts, and of
# each run of one kind its first and last (a replay logs thousands).
_STARTUP_PY = (
    "import json,os,re,subprocess,sys\n"
    "cfg,unit,root,sel,start,bindir,modes=sys.argv[1:8]\n"
    "try:\n c=json.load(open(cfg))\nexcept Exception:\n c={}\n"
    "c=c if isinstance(c,dict) else {}\n"
    "b=os.path.realpath(bindir)\n"
    "v=os.path.basename(os.path.dirname(b) if os.path.basename(b)=='bin' else b)\n"
    "m=json.loads(modes).get(v)\n"
    "u=c.get('UseTraceDispatcher')\n"
    "new=True if m=='always' else u if isinstance(u,bool) else None if m is None else m=='new'\n"
    "d=c.get('defaultScribes')\n"
    "f=[e[1] for e in (d or []) if isinstance(e,list) and len(e)==2 and e[0]=='FileSK' and isinstance(e[1],str)]\n"
    "def J(a):\n"
    " x=['journalctl','-u',unit,'-o','cat','--no-pager','-n','50000']\n"
    " r=subprocess.run(x+(['--all'] if a else []),stdout=subprocess.PIPE,stderr=subprocess.DEVNULL)\n"
    " if a and r.returncode:\n  r=subprocess.run(x,stdout=subprocess.PIPE,stderr=subprocess.DEVNULL)\n"
    " return r.stdout.decode('utf-8','replace')\n"
    "def F(n):\n"
    " p=n if os.path.isabs(n) else os.path.join(root,n)\n"
    " try:\n"
    "  h=open(p,'rb');h.seek(0,2);k=h.tell();h.seek(max(0,k-4000000));return p,h.read().decode('utf-8','replace')\n"
    " except OSError:\n  return p,''\n"
    "S=re.compile(sel);B=re.compile(start);T=re.compile(r'(\\d{4}-\\d\\d-\\d\\d)[ T](\\d\\d:\\d\\d:\\d\\d)')\n"
    "def last(t):\n"
    " s=[l for l in t.splitlines() if B.search(l)]\n"
    " w=T.search(s[-1]) if s else None\n"
    " return w.group(1)+' '+w.group(2) if w else ''\n"
    "if f and new is not True:\n"
    " p,t=F(f[0]);src='file:'+p\n"
    " if new is None:\n"
    "  j=J(1)\n"
    "  if last(j)>last(t):t,src=j,'journal:'+unit\n"
    "else:\n"
    " t=J(new is not False);src='journal:'+unit\n"
    "print('source='+src)\n"
    "L=[l for l in t.splitlines() if S.search(l)]\n"
    "i=[k for k,l in enumerate(L) if B.search(l)]\n"
    "L=L[i[-2]:] if len(i)>1 else L\n"
    "o=[];k=None;r=None\n"
    "for l in L:\n"
    " m=S.search(l).group(0)\n"
    " if m==k:\n  r=l;continue\n"
    " if r is not None:o.append(r)\n"
    " o.append(l);k=m;r=None\n"
    "if r is not None:o.append(r)\n"
    "print('\\n'.join(o))\n"
)


def _tracing_modes() -> str:
    """{version: "legacy" | "new" | "always"} for the probe: what each catalogued release runs when
    config.json has no `UseTraceDispatcher` ("always": the release reads no such key, 11.1)."""
    modes = {
        r.version: "always" if not r.use_trace_dispatcher_read else r.default_tracing.value for r in releases.CATALOGUE
    }
    return json.dumps(modes, separators=(",", ":"), sort_keys=True)


@register
class StartupSection(FactSection):
    """The node's newest starts from its own log (orchestrator.cardano.startup): phase, progress,
    and how long the last complete one took, in either tracing system. Part of the gate's light
    probe: until the socket is up, the log is the only sign that a restarted node is working.
    config.json is read on the host for its tracing key and scribes only, never shipped."""

    name = "startup"
    health = True

    def command(self, host: Host) -> str:
        lay = host.layout
        return (
            f"python3 -I -S -c {q(_STARTUP_PY)} {q(lay.config_path)} {q(lay.service_name)} {q(lay.root)} "
            f"{q(startup.SELECT_PATTERN)} {q(startup.START_PATTERN)} {q(lay.bin_dir)} {q(_tracing_modes())}"
        )

    def parse(self, out: Output) -> Parsed:
        first, _, rest = out.body.partition("\n")
        source = first.removeprefix("source=") if first.startswith("source=") else None
        return Parsed.of(startup_source=source, startups=startup.summarise(rest.splitlines()))


# guild-operators' blocklog.db, read-only (`mode=ro`: never a write, never a journal file created),
# the rows gLiveView would count as upcoming plus the last hour (a slot just past still needs its
# settle time): `slot|at` lines, at most 2000 (an epoch of a large pool holds a few dozen).
_BLOCKLOG_PY = (
    "import pathlib,sqlite3,sys\n"
    "u=pathlib.Path(sys.argv[1]).as_uri()+'?mode=ro'\n"
    "try:\n"
    " c=sqlite3.connect(u,uri=True)\n"
    " r=c.execute(\"SELECT slot, at FROM blocklog WHERE datetime(at) > datetime('now','-1 hour') "
    "ORDER BY slot LIMIT 2000\").fetchall()\n"
    "except sqlite3.Error as e:\n"
    " sys.stderr.write('blocklog: %s\\n' % e);sys.exit(3)\n"
    "sys.stdout.write(''.join('%s|%s\\n' % x for x in r))\n"
)
# A schedule file is read only when it is small and looks like the cli's JSON list: anything else
# (a key file named by mistake) is refused unread past its first byte.
_SCHEDULE_FILE_PY = (
    "import os,sys\n"
    "p=sys.argv[1]\n"
    "if os.path.getsize(p)>4000000:\n sys.stderr.write('larger than 4 MB: not a leader schedule\\n');sys.exit(3)\n"
    "f=open(p,'rb')\n"
    "b=f.read(1)\n"
    "if b.strip() and b!=b'[':\n sys.stderr.write('not a JSON list: not a leader schedule\\n');sys.exit(3)\n"
    "sys.stdout.write((b+f.read()).decode('utf-8','replace'))\n"
)
# `source: command` must answer within the probe's own limit (facts.probe.PROBE_TIMEOUT is 60 s).
SCHEDULE_COMMAND_TIMEOUT = 50


def _under(path: str, directory: str) -> bool:
    """`path` names `directory` or something in it, once `.`, `..` and repeated slashes are resolved
    (symlinks are resolved on the host itself: see LeaderScheduleSection.command)."""
    d = posixpath.normpath("/" + directory.lstrip("/"))
    p = posixpath.normpath("/" + path.lstrip("/"))
    return p == d or p.startswith(d.rstrip("/") + "/")


@register
class LeaderScheduleSection(FactSection):
    """A block producer's leader schedule where the `leader_schedule` variable says it is kept
    (orchestrator.cardano.leader_schedule): guild's blocklog.db read-only, the cli's JSON file, or
    the operator's command. Never the VRF key, never anything under the keys dir. The slots stay in
    memory: plans and journals keep only the decision (orchestrator.spec.window)."""

    name = "leader_schedule"
    check_exit = False

    def applies(self, host: Host) -> bool:
        setting = host.vars.get("leader_schedule")
        return host.is_producer and setting is not None and leader_schedule.check_schedule_setting(setting) is None

    def command(self, host: Host) -> str:
        setting = host.vars["leader_schedule"]
        source = leader_schedule.ScheduleSource(setting["source"])
        if source is leader_schedule.ScheduleSource.COMMAND:
            return f"timeout {SCHEDULE_COMMAND_TIMEOUT} sh -c {q(setting['command'])} 2>/dev/null"
        path = str(setting["path"])
        refused = q(f"refused: {path} is under the keys dir {host.layout.keys_dir}")
        if _under(path, host.layout.keys_dir):
            return f"echo {refused}; exit 3"
        script = _BLOCKLOG_PY if source is leader_schedule.ScheduleSource.BLOCKLOG else _SCHEDULE_FILE_PY
        # a symlink into the keys dir is refused too: both paths resolved by the host before anything is opened
        return (f"k=$(realpath -m -- {q(host.layout.keys_dir)}); p=$(realpath -m -- {q(path)}); "
                f'case "$p/" in "$k"/*) echo {refused}; exit 3;; esac; '
                f'python3 -I -S -c {q(script)} "$p"')

    def parse(self, out: Output) -> Parsed:
        setting = out.host.vars["leader_schedule"]
        source = leader_schedule.ScheduleSource(setting["source"])
        where = setting.get("path") or "the leader_schedule command"
        if out.rc != 0:
            why = last_line(out.body, "no output")
            if source is leader_schedule.ScheduleSource.COMMAND:
                why = "timed out" if out.rc == 124 else f"exit {out.rc}"
            return Parsed.of(leader_schedule_error=f"{where}: {why}")
        try:
            if source is leader_schedule.ScheduleSource.BLOCKLOG:
                slots = leader_schedule.parse_blocklog_rows(out.body)
            else:
                slots = leader_schedule.parse_cli_schedule(out.body or "[]", network_named(out.host.network))
        except ParseError as exc:
            return Parsed.of(leader_schedule_error=f"{where}: {exc}")
        return Parsed.of(leader_schedule=slots)

    def unavailable(self, why: str) -> Mapping[str, Any]:
        return {"leader_schedule_error": why}
