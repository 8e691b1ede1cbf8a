"""`db_seed: from_upgraded`: give a host the chain database of a host of its role that already
crossed the boundary (issue 26 item 3), instead of letting it replay its ledger itself — hours on
mainnet, for every host of a fleet.

What is copied, and why it is consistent although the source keeps running
(ouroboros-consensus, read in the stored public index; the snapshot and replay code is
`Storage/LedgerDB/Snapshots.hs` and `LedgerDB/*/Init`, the chunk layout `Storage/ImmutableDB/Chunks`):

- **Completed immutable chunks** (`immutable/NNNNN.chunk` with its `.primary` and `.secondary`
  index). The ImmutableDB groups blocks per chunk of a fixed number of slots and only ever appends
  to the newest chunk; every older one is final. The newest chunk number on the source is therefore
  left out (it is still being written): the destination keeps its own copy of it, which its own
  node wrote before it was stopped, and the node validates the most recent chunk when it opens the
  ImmutableDB.
- **One complete ledger snapshot** (`ledger/<slot>` — a directory with `meta` from 10.4, a file
  before). On start the LedgerDB tries the snapshots newest first, reads one, then *replays the
  immutable blocks after its slot* (`replayStartingWith` → `streamAll … InitFailureTooRecent`): a
  snapshot whose point is not in the ImmutableDB is "too recent (ahead of the tip of the immutable
  chain)" and is not used; the node goes on to the next snapshot or replays from genesis. So the
  copy takes the source's newest snapshot only where the destination's chunks will cover its slot:
  the completed chunks copied, or, for a snapshot in the chunk the source is still writing, the
  destination's own copy of that chunk (its node followed the same chain until it was stopped,
  after the source's snapshot was written); else the seed fails (`not_covered`). A snapshot is
  written under a temporary name and renamed when complete, and never rewritten: one that exists
  under its final name is complete and does not change under the copy (the node may delete it when
  it writes a newer one: the copy then fails on the source and is retried from the manifest).

So the source is **not stopped**: nothing the manifest names changes while it runs.

The transfer is "host to host over SSH" through the orchestrator: it reads each file from the
source on its SSH connection (base64 pieces, sudo as every other step) and writes the pieces to the
destination on the destination's connection. No key is placed on either host and nothing passes
through a key directory (the db path is the layout's, validated as every path that reaches a
shell; the relative paths of a manifest are checked against the shapes above, so a source cannot
name a file outside the destination's db).

Resumable: the manifest (path, size, sha256, mode, owner) is made on the source; the destination
copies only files missing or different, into a staging directory beside the db
(`<db>/.cardano-fleet-seed/`, its name independent of the run, so a later run goes on where a killed
one stopped, piece by piece), installs each with its mode and owner, then verifies every file's size
and checksum against the manifest. A mismatch fails the seed: the node is not started on it.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from orchestrator.cardano import networks
from orchestrator.model import Host
from orchestrator.ssh.exec import CommandResult

if TYPE_CHECKING:
    from orchestrator.plan import HostPlan

STAGING = ".cardano-fleet-seed"
# Slots per ImmutableDB chunk on the Cardano networks: the Byron epoch size, 10k slots with
# k = 2160 (mainnet, preprod and preview genesis). The hard-fork block takes every era's chunks from
# its first era's ChunkInfo (ouroboros-consensus HardFork/Combinator/Node/InitStorage.hs: "We use the
# chunk info from the first era"), and Byron's is its epoch size (Node/InitStorage.hs: "for Byron,
# one would use the epoch size"); read in the stored index, not at the tag 11.0.1 builds. The lab
# uses the same: lab/immutable_db.py.
CHUNK_SLOTS = networks.BYRON_EPOCH_SLOTS
PIECE_BYTES = 4 * 1024 * 1024  # bytes per relayed piece (a base64 string of ~5.6 MB in memory)
# The plan's copy estimate (`db_seed_mib_per_second`, per host or group): a stated assumption of the
# SSH relay's throughput, not a measurement — set it from your own network (`make bench` measures the lab's).
DEFAULT_SEED_MIB_PER_SECOND = 50.0

_REL = re.compile(r"^(?:immutable/\d{5}\.(?:chunk|primary|secondary)|ledger/\d+(?:/[A-Za-z0-9_.-]+)*)$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


class DbSeed(Enum):
    """The inventory variable `db_seed`."""

    OFF = "off"
    FROM_UPGRADED = "from_upgraded"


def db_seed_of(host: Host) -> DbSeed:
    """The host's `db_seed` (the loader validated it: load/inventory.py)."""
    value = host.vars.get("db_seed", DbSeed.OFF.value)
    return DbSeed(value) if value in {d.value for d in DbSeed} else DbSeed.OFF


def check_mib_per_second(value: Any) -> str | None:
    """Why `value` is not a db_seed_mib_per_second (a throughput in MiB/s), or None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return None
    return f"'db_seed_mib_per_second' must be a positive number (MiB/s), not {value!r}"


def check_db_seed(value: Any) -> str | None:
    """Why `value` is not a db_seed, or None."""
    if isinstance(value, str) and value in {d.value for d in DbSeed}:
        return None
    return f"'db_seed' must be one of {', '.join(d.value for d in DbSeed)}, not {value!r}"


@dataclass(frozen=True)
class Entry:
    """One file or directory of the manifest; `path` relative to the db directory."""

    path: str
    size: int
    sha256: str  # "" for a directory
    mode: int
    uid: int
    gid: int

    @property
    def is_dir(self) -> bool:
        return self.sha256 == ""


@dataclass(frozen=True)
class Manifest:
    """What the source offers: its entries, the snapshot chosen and the newest chunk left out."""

    entries: tuple[Entry, ...]
    snapshot: str
    snapshot_slot: int
    newest_chunk: int

    @property
    def files(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if not e.is_dir)

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.files)


class ManifestError(ValueError):
    pass


def parse_manifest(text: str) -> Manifest:
    """The source program's output: `C <newest chunk>`, `S <slot> <name>`, then one line per entry
    `D|F <size> <mode octal> <uid> <gid> <sha256|-> <path>`. Every path is checked (see _REL)."""
    entries: list[Entry] = []
    snapshot, slot, newest = "", -1, -1
    for line in text.splitlines():
        parts = line.split(" ")
        if parts[0] == "C" and len(parts) == 2:
            newest = int(parts[1])
        elif parts[0] == "S" and len(parts) == 3:
            slot, snapshot = int(parts[1]), parts[2]
        elif parts[0] in ("D", "F") and len(parts) == 7:
            kind, size, mode, uid, gid, sha, path = parts
            if not (_REL.match(path) or (kind == "D" and path in ("immutable", "ledger"))) or ".." in path:
                raise ManifestError(f"the source named a path outside the db's chunks and snapshot: {path!r}")
            if kind == "F" and not _SHA.match(sha):
                raise ManifestError(f"bad sha256 for {path}: {sha!r}")
            entries.append(Entry(path, int(size), "" if kind == "D" else sha, int(mode, 8), int(uid), int(gid)))
        elif line.strip():
            raise ManifestError(f"unexpected manifest line: {line[:80]!r}")
    if slot < 0 or not snapshot:
        raise ManifestError("the source has no complete ledger snapshot")
    return Manifest(tuple(entries), snapshot, slot, newest)


@dataclass(frozen=True)
class Held:
    """What the destination holds of one manifest path: in place (size, sha256) and staged (size)."""

    size: int | None = None
    sha256: str | None = None
    staged: int = 0


def to_fetch(manifest: Manifest, held: Mapping[str, Held]) -> list[tuple[Entry, int]]:
    """The files to copy, each with the offset to continue from: missing or different in place; a
    staged part that is not longer than the file continues where it stopped (a resumed copy)."""
    out: list[tuple[Entry, int]] = []
    for e in manifest.files:
        h = held.get(e.path, Held())
        if h.size == e.size and h.sha256 == e.sha256:
            continue
        out.append((e, h.staged if 0 < h.staged <= e.size else 0))
    return out


def mismatches(manifest: Manifest, held: Mapping[str, Held]) -> list[str]:
    """Every manifest file whose size or sha256 differs on the destination (in place)."""
    bad = []
    for e in manifest.files:
        h = held.get(e.path, Held())
        if h.size != e.size:
            bad.append(f"{e.path}: size {h.size if h.size is not None else 'missing'}, manifest {e.size}")
        elif h.sha256 != e.sha256:
            bad.append(f"{e.path}: sha256 {str(h.sha256)[:12]}…, manifest {e.sha256[:12]}…")
    return bad


def own_newest_chunk(text: str) -> int:
    """The destination's newest chunk number (`N <n>` of its program; -1: none)."""
    for line in text.splitlines():
        if line.startswith("N "):
            return int(line.split()[1])
    return -1


def own_free_bytes(text: str) -> int | None:
    """The destination's free bytes on its db filesystem (`FREE <n>` of its program; None: not said)."""
    for line in text.splitlines():
        if line.startswith("FREE "):
            return int(line.split()[1])
    return None


def not_covered(manifest: Manifest, dest_newest: int, chunk_slots: int) -> str | None:
    """Why the node would not start from the manifest's snapshot, or None. Its slot must lie in the
    chunks the destination will hold: the completed ones copied (before the source's newest chunk),
    or — for a snapshot in the chunk the source is still writing — the destination's own copy of
    that chunk, which its node wrote until it was stopped (both nodes followed the same chain; the
    node validates that chunk when it opens, and a snapshot it finds ahead of its immutable tip is
    not used: InitFailureTooRecent, then the next snapshot or genesis)."""
    chunk = manifest.snapshot_slot // chunk_slots
    if chunk < manifest.newest_chunk or chunk <= dest_newest:
        return None
    return (f"the source's newest snapshot (slot {manifest.snapshot_slot}, chunk {chunk}) is ahead of the chunks "
            f"the destination would hold (copied up to {manifest.newest_chunk - 1}, its own up to {dest_newest}): "
            "the node would not use it")


def parse_held(text: str) -> dict[str, Held]:
    """The destination program's output: `H <size|-> <sha256|-> <staged> <path>` per manifest file."""
    held: dict[str, Held] = {}
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) == 5 and parts[0] == "H":
            _h, size, sha, staged, path = parts
            held[path] = Held(None if size == "-" else int(size), None if sha == "-" else sha, int(staged))
    return held


# ---------------------------------------------------------------- the programs run on the hosts
# Stdlib python3 (the hosts already run put_atomic's python3 program). Arguments only via argv.
_SHA_FN = r"""
import hashlib
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()
"""

_SOURCE = _SHA_FN + r"""
import os, re, sys
db = sys.argv[1]
imm, led = os.path.join(db, "immutable"), os.path.join(db, "ledger")
nums = sorted({int(m.group(1)) for n in os.listdir(imm) for m in [re.match(r"^(\d{5})\.chunk$", n)] if m})
if not nums:
    sys.exit("no immutable chunks under " + imm)
newest = nums[-1]
print("C", newest)
snaps = []
for n in os.listdir(led) if os.path.isdir(led) else []:
    p = os.path.join(led, n)
    if re.match(r"^\d+$", n) and (os.path.isfile(p) or os.path.isfile(os.path.join(p, "meta"))):
        snaps.append((int(n), n))
ok = sorted(snaps, reverse=True)
def line(kind, rel):
    st = os.stat(os.path.join(db, rel))
    print(kind, st.st_size if kind == "F" else 0, oct(st.st_mode & 0o7777)[2:], st.st_uid, st.st_gid,
          sha(os.path.join(db, rel)) if kind == "F" else "-", rel)
line("D", "immutable")
if os.path.isdir(led):
    line("D", "ledger")
for c in nums[:-1]:
    for ext in ("chunk", "primary", "secondary"):
        rel = "immutable/%05d.%s" % (c, ext)
        if os.path.exists(os.path.join(db, rel)):
            line("F", rel)
if ok:
    slot, name = ok[0]
    print("S", slot, name)
    top = os.path.join(led, name)
    if os.path.isfile(top):
        line("F", "ledger/" + name)
    else:
        for root, dirs, files in os.walk(top):
            dirs.sort()
            line("D", os.path.relpath(root, db))
            for f in sorted(files):
                line("F", os.path.relpath(os.path.join(root, f), db))
"""

_HELD = _SHA_FN + r"""
import os, sys
db, stage = sys.argv[1], sys.argv[2]
imm = os.path.join(db, "immutable")
nums = [int(n[:5]) for n in (os.listdir(imm) if os.path.isdir(imm) else []) if n.endswith(".chunk") and n[:5].isdigit()]
print("N", max(nums) if nums else -1)
probe = db
while not os.path.isdir(probe):
    probe = os.path.dirname(probe) or "/"
st = os.statvfs(probe)
print("FREE", st.f_bavail * st.f_frsize)
for rel in sys.stdin.read().split():
    p, s = os.path.join(db, rel), os.path.join(stage, rel)
    staged = os.path.getsize(s) if os.path.isfile(s) else 0
    if os.path.isfile(p):
        print("H", os.path.getsize(p), sha(p), staged, rel)
    else:
        print("H - -", staged, rel)
"""

_READ = r"""
import base64, sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2]))
    sys.stdout.write(base64.b64encode(f.read(int(sys.argv[3]))).decode())
"""

_WRITE = r"""
import os, sys
path, offset = sys.argv[1], int(sys.argv[2])
os.makedirs(os.path.dirname(path), exist_ok=True)
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
os.ftruncate(fd, offset)
os.lseek(fd, offset, 0)
data = sys.stdin.buffer.read()
while data:
    data = data[os.write(fd, data):]
os.fsync(fd)
os.close(fd)
"""

# Install the staged files (each checked against the manifest first) and set every entry's mode and
# owner; then print what is in place (as _HELD) for the verification.
_INSTALL = _SHA_FN + r"""
import json, os, sys
db, stage = sys.argv[1], sys.argv[2]
entries = json.load(sys.stdin)
for e in entries:
    p = os.path.join(db, e["path"])
    if e["sha256"] == "":
        os.makedirs(p, exist_ok=True)
    else:
        s = os.path.join(stage, e["path"])
        if os.path.isfile(s) and os.path.getsize(s) == e["size"] and sha(s) == e["sha256"]:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            os.replace(s, p)
        elif os.path.isfile(s):
            os.unlink(s)
    if os.path.exists(p):
        os.chown(p, e["uid"], e["gid"])
        os.chmod(p, e["mode"])
for e in entries:
    if e["sha256"] == "":
        continue
    p = os.path.join(db, e["path"])
    if os.path.isfile(p):
        print("H", os.path.getsize(p), sha(p), 0, e["path"])
    else:
        print("H - - 0", e["path"])
"""


def _py(program: str, *args: str | int) -> str:
    return "python3 -c " + shlex.quote(program) + "".join(" " + shlex.quote(str(a)) for a in args)


# (host, command, stdin, timeout seconds) → the result (ssh/transport.Fleet.run with the host's sudo).
Run = Callable[[Host, str, "bytes | None", float], CommandResult]


@dataclass
class Seeded:
    """What a seed did: ok, or why not; the files and bytes copied this time and the seconds taken."""

    ok: bool
    detail: str = ""
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    snapshot: str = ""
    verified: int = 0  # manifest files whose size and sha256 matched on the destination
    progress: list[str] = field(default_factory=list)


def _err(res: CommandResult) -> str:
    text = (res.stderr.strip() or res.error or f"exit {res.exit_code}").splitlines()
    return text[-1] if text else "failed"


def db_dir(host: Host) -> str:
    return host.layout.db_path.rstrip("/")


def seed(run: Run, source: Host, dest: Host, *, chunk_slots: int = CHUNK_SLOTS, piece: int = PIECE_BYTES,
         clock: Callable[[], float] = time.monotonic) -> Seeded:  # fmt: skip
    """Copy `source`'s completed chunks and covered snapshot to `dest` (its node stopped), verify."""
    started = clock()
    src_db, dst_db = db_dir(source), db_dir(dest)
    for host, db in ((source, src_db), (dest, dst_db)):
        keys = host.layout.keys_dir.rstrip("/")
        if keys and (db == keys or db.startswith(keys + "/") or keys.startswith(db + "/")):
            return Seeded(False, f"{host.name}: its db path {db} and keys dir {keys} overlap: nothing is copied")
    stage = f"{dst_db}/{STAGING}"
    res = run(source, _py(_SOURCE, src_db), None, 3600)
    if not res.ok:
        return Seeded(False, f"manifest on {source.name}: {_err(res)}")
    try:
        manifest = parse_manifest(res.stdout)
    except (ManifestError, ValueError) as exc:
        return Seeded(False, f"manifest on {source.name}: {exc}")
    names = "\n".join(e.path for e in manifest.files).encode()
    res = run(dest, _py(_HELD, dst_db, stage), names, 3600)
    if not res.ok:
        return Seeded(False, f"what {dest.name} holds: {_err(res)}")
    uncovered = not_covered(manifest, own_newest_chunk(res.stdout), chunk_slots)
    if uncovered is not None:
        return Seeded(False, uncovered, snapshot=manifest.snapshot)
    fetch = to_fetch(manifest, parse_held(res.stdout))
    need, free = sum(e.size - off for e, off in fetch), own_free_bytes(res.stdout)
    if free is not None and need > free:  # staged beside the db: the copy must not fill the node's disk
        return Seeded(False, f"not enough disk on {dest.name} for the seed: {need} bytes to copy, {free} free "
                             f"on the filesystem of {dst_db}; nothing was copied", snapshot=manifest.snapshot)  # fmt: skip
    copied = sent = 0
    for entry, offset in fetch:
        at = offset
        while at < entry.size or (entry.size == 0 and at == 0):
            n = min(piece, entry.size - at)
            got = run(source, _py(_READ, f"{src_db}/{entry.path}", at, n), None, 600)
            if not got.ok:
                return Seeded(False, f"read {entry.path} on {source.name}: {_err(got)}", copied, sent, clock() - started)
            data = base64.b64decode(got.stdout)
            put = run(dest, _py(_WRITE, f"{stage}/{entry.path}", at), data, 600)
            if not put.ok:
                return Seeded(False, f"write {entry.path} on {dest.name}: {_err(put)}", copied, sent, clock() - started)
            at, sent = at + len(data), sent + len(data)
            if entry.size == 0 or not data:
                break
        copied += 1
    listing = json.dumps([{"path": e.path, "size": e.size, "sha256": e.sha256, "mode": e.mode, "uid": e.uid,
                           "gid": e.gid} for e in manifest.entries]).encode()  # fmt: skip
    res = run(dest, _py(_INSTALL, dst_db, stage), listing, 3600)
    if not res.ok:
        return Seeded(False, f"install on {dest.name}: {_err(res)}", copied, sent, clock() - started)
    bad = mismatches(manifest, parse_held(res.stdout))
    seconds = clock() - started
    if bad:
        return Seeded(False, f"{len(bad)} file(s) differ from the manifest on {dest.name}: " + "; ".join(bad[:3]),
                      copied, sent, seconds, manifest.snapshot)  # fmt: skip
    run(dest, f"rm -rf -- {shlex.quote(stage)}", None, 600)  # verified: nothing left to resume
    return Seeded(True, f"{len(manifest.files)} file(s) verified", copied, sent, seconds, manifest.snapshot,
                  len(manifest.files))  # fmt: skip


def over(remote: object) -> Callable[[Host, Host], Seeded] | None:
    """The seed over an SSH remote (roll/remote.py SshRemote: its fleet's connections, sudo as the
    host's other steps); None for a remote that has no SSH fleet (a fake)."""
    fleet = getattr(remote, "fleet", None)
    if fleet is None:
        return None

    def run(host: Host, command: str, stdin: bytes | None, timeout: float) -> CommandResult:
        result: CommandResult = fleet.run(host, command, sudo=host.user != "root", timeout=timeout, stdin=stdin)
        return result

    return lambda source, dest: seed(run, source, dest)


def copy_seconds(db_bytes: int | None, mib_per_second: float = DEFAULT_SEED_MIB_PER_SECOND) -> float | None:
    """The plan's copy estimate: the db's size at the stated throughput (MiB/s); None when unknown."""
    if db_bytes is None or mib_per_second <= 0:
        return None
    return db_bytes / (mib_per_second * 1024 * 1024)


def seeded_estimate(n: int, replay_seconds: float | None, copy: float | None,
                    start_seconds: float | None) -> tuple[float | None, float | None]:  # fmt: skip
    """(without seeding: n replays, with: 1 replay + (n-1) × (copy + start)) in seconds; None unknown."""
    without = None if replay_seconds is None else n * replay_seconds
    if replay_seconds is None or copy is None or start_seconds is None:
        return without, None
    return without, replay_seconds + (n - 1) * (copy + start_seconds)


@dataclass(frozen=True)
class RoleEstimate:
    """`plan`'s two figures for the hosts of one role that cross a replaying boundary with
    db_seed: from_upgraded: without seeding n × replay, with seeding 1 replay + (n-1) × (copy + start).
    The copy is the source's db/ledger size (facts: `du -sk`, both snapshots, so an upper bound of the
    one copied) at `mib_per_second`: completed chunks a synced destination already holds are
    compared by checksum, not copied (the hashing of db/immutable on both hosts is not in the figure).
    The start is the hosts' slowest last start (a start from a snapshot). Seconds; None: unknown."""

    role: str
    hosts: int
    replay_seconds: float | None
    copy_bytes: int | None
    mib_per_second: float
    start_seconds: float | None
    without_seconds: float | None
    with_seconds: float | None

    def line(self) -> str:
        def f(v: float | None) -> str:
            return "unknown" if v is None else f"{v / 3600:.1f} h" if v >= 3600 else f"{v:.0f} s"

        size = "unknown" if self.copy_bytes is None else f"{self.copy_bytes / 1024**3:.1f} GiB"
        return (f"db_seed for {self.hosts} {self.role}(s), their downtimes summed (batches may overlap them; each "
                f"host's own line above is its crossing unseeded): without seeding {self.hosts} x replay = "
                f"{f(self.without_seconds)}; with seeding 1 replay + {self.hosts - 1} x (copy + start) = "
                f"{f(self.with_seconds)} (copy: db/ledger {size} at {self.mib_per_second:g} MiB/s, "
                f"db_seed_mib_per_second; start: {f(self.start_seconds)})")

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role, "hosts": self.hosts, "replay_seconds": self.replay_seconds,
                "copy_bytes": self.copy_bytes, "mib_per_second": self.mib_per_second,
                "start_seconds": self.start_seconds, "without_seconds": self.without_seconds,
                "with_seconds": self.with_seconds}  # fmt: skip


def role_estimates(hosts: Sequence[HostPlan]) -> list[RoleEstimate]:
    """One RoleEstimate per role with two or more pending hosts that replay and set db_seed: from_upgraded."""
    out = []
    roles: dict[str, list[HostPlan]] = {}
    for hp in hosts:
        if hp.changed and hp.replays and hp.switch_binary and db_seed_of(hp.host) is DbSeed.FROM_UPGRADED:
            roles.setdefault(hp.host.role.value, []).append(hp)
    for role, group in roles.items():
        if len(group) < 2:
            continue
        first = group[0]
        replay = first.crossing.downtime.seconds if first.crossing is not None else None
        sizes = [hp.crossing.disk.ledger_bytes for hp in group if hp.crossing is not None]
        size = max((b for b in sizes if b is not None), default=None)
        rate = float(first.host.vars.get("db_seed_mib_per_second", DEFAULT_SEED_MIB_PER_SECOND))
        starts = [hp.last_start_seconds for hp in group[1:]]
        start = None if any(s is None for s in starts) else max(s for s in starts if s is not None)
        without, with_ = seeded_estimate(len(group), replay, copy_seconds(size, rate), start)
        out.append(RoleEstimate(role, len(group), replay, size, rate, start, without, with_))
    return out


__all__: Sequence[str] = ("DbSeed", "Entry", "Held", "Manifest", "Seeded", "seed", "to_fetch", "mismatches")
