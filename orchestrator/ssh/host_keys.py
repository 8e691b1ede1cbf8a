"""Host keys: strict known_hosts checking (RejectPolicy semantics, or OpenSSH's accept-new), and one
parse of each known_hosts file per Fleet.

fabric's default AutoAddPolicy would silently trust a man in the middle: every connection gets its
host's known keys and a strict policy before the first byte of authentication.
"""

from __future__ import annotations

import threading
from pathlib import Path

import paramiko

from orchestrator.model import Host
from orchestrator.ssh.errors import HostKeyError


def known_hosts_path(host: Host) -> Path:
    return Path(host.known_hosts_file or Path.home() / ".ssh" / "known_hosts").expanduser()


def host_key_name(address: str, port: int) -> str:
    """The name paramiko (and OpenSSH) look a server up by in known_hosts."""
    return address if port == 22 else f"[{address}]:{port}"


class StrictHostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Reject unknown keys; with `accept_new`, record them (trust on first use).

    paramiko calls this only when the known_hosts file has NO key at all for the host; a changed
    key raises BadHostKeyException before we get here, so a changed key is refused even with
    accept_new, as OpenSSH's StrictHostKeyChecking=accept-new does.
    """

    def __init__(self, path: Path, accept_new: bool, lock: threading.Lock) -> None:
        self._path = path
        self._accept_new = accept_new
        self._lock = lock

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self._accept_new:
            raise HostKeyError(
                f"unknown host key for {hostname}: the server offered {key.get_name()} {key.fingerprint}, "
                f"which is not in {self._path} (verify it, add it, or use --accept-new-host-keys)"
            )
        with self._lock:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with open(self._path, "a", encoding="ascii") as f:
                f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)


class KnownHosts:
    """One parse of each known_hosts file per Fleet (re-read when the file changes).

    paramiko's `load_system_host_keys` parses the whole file for every connection: with one line
    per host (two through the lab's relay) that is O(hosts²) key parses per run, ~22 µs each, the
    largest control-side cost at 128 hosts. A connection only needs its own host's entries.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[tuple[int, int], paramiko.HostKeys]] = {}

    def keys_for(self, path: Path, name: str) -> dict[str, paramiko.PKey]:
        """key type → key of the entries for `name` (`host` or `[host]:port`, hashed entries too)."""
        try:
            st = path.stat()
        except OSError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(path)
            if cached is None or cached[0] != stamp:
                keys = paramiko.HostKeys()
                try:
                    keys.load(str(path))
                except UnicodeDecodeError as exc:  # a corrupted (binary) line: the host's reason, no traceback
                    raise paramiko.SSHException(_not_text(path, exc)) from None
                cached = self._cache[path] = (stamp, keys)
        found = cached[1].lookup(name)
        return dict(found.items()) if found is not None else {}


def _not_text(path: Path, exc: UnicodeDecodeError) -> str:
    """`FILE:LINE: ...` for a known_hosts file paramiko cannot read as text."""
    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    line = data.count(b"\n", 0, exc.start) + 1 if data else "?"
    return (f"{path}:{line}: not text (byte 0x{exc.object[exc.start]:02x}): a corrupted known_hosts line; "
            "fix or remove it (no host key is trusted from a file that cannot be read)")


def pin_host_keys(
    client: paramiko.SSHClient, known: KnownHosts, path: Path, name: str, *, accept_new: bool, lock: threading.Lock
) -> None:
    """Strict host keys on `client` BEFORE its first connect: only `name`'s entries from `path` (one
    parse per Fleet; paramiko looks up nothing else), then the strict policy for a missing key."""
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    for keytype, key in known.keys_for(path, name).items():
        client.get_host_keys().add(name, keytype, key)
    client.set_missing_host_key_policy(StrictHostKeyPolicy(path, accept_new, lock))
