"""Atomic file writes on a host: the bytes on stdin of a small python3 program that checks every
file's condition (compare-and-swap), then writes each through a temp file in the same directory,
fsync and rename, keeping owner, group and mode.

One round trip per batch, and it works through sudo (where SFTP as a non-root user could not write a
root-owned file). Identical content and mode are left alone, so a second run changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.ssh.exec import CommandResult

# put_atomic_many's `expect` for a file that must not exist yet.
ABSENT = "absent"


@dataclass(frozen=True)
class PutResult:
    """An atomic write on one host; `previous_sha256` is None when the file did not exist."""

    host: str
    path: str
    ok: bool
    previous_sha256: str | None
    sha256: str
    changed: bool
    duration: float
    error: str | None = None
    conflict: bool = False  # compare-and-swap: the file was no longer the expected bytes; nothing written
    connected: bool = True  # False: the connection was lost (or never made): the write may be retried


@dataclass(frozen=True)
class PutBatch:
    """The command and stdin that write `files` in one round trip, and the digest of each file."""

    command: str
    stdin: bytes
    digests: tuple[str, ...]


def put_batch(files: Sequence[tuple[str, bytes, int | None]], expect: Sequence[str | None] | None) -> PutBatch:
    """The program's command line for `files` ((path, data, mode or None: keep)), with `expect` (one
    condition per file: the sha256 it must still have, ABSENT, or None: no condition)."""
    conditions = list(expect) if expect is not None else [None] * len(files)
    if len(conditions) != len(files):
        raise ValueError("put_atomic_many: one expect entry per file")
    args: list[str] = []
    digests: list[str] = []
    for (path, data, mode), cond in zip(files, conditions, strict=True):
        digest = hashlib.sha256(data).hexdigest()
        digests.append(digest)
        args += [shlex.quote(path), "-" if mode is None else format(mode, "o"), digest, str(len(data)),
                 shlex.quote(cond or "-")]  # fmt: skip
    cmd = f"python3 -c {shlex.quote(_PUT_SCRIPT)} {' '.join(args)}"
    return PutBatch(cmd, b"".join(data for _p, data, _m in files), tuple(digests))


def put_results(
    host: str, files: Sequence[tuple[str, bytes, int | None]], batch: PutBatch, res: CommandResult
) -> list[PutResult]:
    """One PutResult per file, in order, from the program's JSON replies (or the command's failure)."""
    replies: dict[str, dict[str, Any]] = {}
    for line in res.stdout.splitlines():
        try:
            reply = json.loads(line)
        except ValueError:
            continue
        if isinstance(reply, dict) and isinstance(reply.get("path"), str):
            replies[reply["path"]] = reply
    why = res.error or (res.stderr.strip().splitlines() or [f"exit {res.exit_code}"])[-1]
    results = []
    for (path, _data, _mode), digest in zip(files, batch.digests, strict=True):
        reply = replies.get(path)
        if reply is not None and reply.get("conflict"):
            now = reply.get("previous") or "no file"
            err = f"{path} changed since the plan (sha256 now {now}, planned from {reply.get('expected')})"
            results.append(PutResult(host, path, False, reply.get("previous"), digest, False, res.duration, err,
                                     conflict=True))  # fmt: skip
        elif reply is None:
            err = f"cannot write {path}: {why if not res.ok else f'unexpected reply {res.stdout[-200:]!r}'}"
            results.append(PutResult(host, path, False, None, digest, False, res.duration, err,
                                     connected=res.connected))  # fmt: skip
        else:
            results.append(PutResult(host, path, True, reply.get("previous"), digest,
                                     bool(reply.get("changed")), res.duration))  # fmt: skip
    return results


# Runs on the host as `python3 -c SCRIPT (PATH MODE|- SHA256 SIZE EXPECT|-)...`, the new bytes on stdin.
# Every file's condition (EXPECT: its sha256 now, or "absent") is checked before any file is renamed.
_PUT_SCRIPT = r"""
import hashlib, json, os, sys, tempfile
args, data, offset = sys.argv[1:], sys.stdin.buffer.read(), 0
def digest_of(path):
    try:
        with open(os.path.realpath(path), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return None
conflicts = []
for i in range(0, len(args), 5):
    path, want, expect = args[i], args[i + 2], args[i + 4]
    if expect == "-":
        continue
    now = digest_of(path)
    if now != want and now != (None if expect == "absent" else expect):
        conflicts.append({"path": path, "conflict": True, "previous": now, "expected": expect})
if conflicts:
    for c in conflicts:
        print(json.dumps(c), flush=True)
    sys.exit("changed since the plan: " + ", ".join(c["path"] for c in conflicts))
for i in range(0, len(args), 5):
    path, mode_arg, want, size = args[i], args[i + 1], args[i + 2], int(args[i + 3])
    chunk, offset = data[offset:offset + size], offset + size
    if hashlib.sha256(chunk).hexdigest() != want:
        sys.exit(path + ": data arrived damaged (sha256 mismatch)")
    real = os.path.realpath(path)
    d = os.path.dirname(real) or "."
    prev = st = None
    try:
        st = os.stat(real)
        with open(real, "rb") as f:
            prev = hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        pass
    mode = int(mode_arg, 8) if mode_arg != "-" else (st.st_mode & 0o7777 if st else 0o644)
    if prev == want and st is not None and (st.st_mode & 0o7777) == mode:
        print(json.dumps({"path": path, "previous": prev, "changed": False}), flush=True)
        continue
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(real) + ".", suffix=".cardano-fleet.tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(chunk)
            f.flush()
            if st is not None:
                os.fchown(f.fileno(), st.st_uid, st.st_gid)
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.rename(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    print(json.dumps({"path": path, "previous": prev, "changed": True}), flush=True)
"""
