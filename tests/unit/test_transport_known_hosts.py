"""What each connection is given from known_hosts (parsed once per Fleet, issue 18): exactly the
entries paramiko would have found for that host — plain, `[host]:port` and hashed — none of the
others, and a file that changes (an accepted new key) is read again. Also: AES-GCM is offered
first, and every cipher paramiko knows still follows."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import paramiko

from orchestrator.ssh.host_keys import KnownHosts, host_key_name
from orchestrator.ssh.pool import PREFERRED_CIPHERS, transport_factory


def _ed25519(seed: int) -> tuple[str, str]:
    """A deterministic ed25519 public key line part (type, base64), without touching any key file."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
    line = private.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    kind, b64 = line.split()
    return kind, b64


def test_each_connection_gets_its_own_entries_plain_bracketed_and_hashed(tmp_path: Path) -> None:
    k1, k2, k3 = _ed25519(1), _ed25519(2), _ed25519(3)
    hashed = paramiko.HostKeys.hash_host("198.18.4.13")
    path = tmp_path / "known_hosts"
    path.write_text(
        f"198.18.4.11 {k1[0]} {k1[1]}\n[198.18.4.1]:10012 {k2[0]} {k2[1]}\n{hashed} {k3[0]} {k3[1]}\n"
    )
    cache = KnownHosts()
    plain = cache.keys_for(path, host_key_name("198.18.4.11", 22))
    assert list(plain) == ["ssh-ed25519"] and plain["ssh-ed25519"].get_base64() == k1[1]
    relayed = cache.keys_for(path, host_key_name("198.18.4.1", 10012))
    assert relayed["ssh-ed25519"].get_base64() == k2[1]
    assert cache.keys_for(path, "198.18.4.13")["ssh-ed25519"].get_base64() == k3[1]
    # Nothing for a host the file does not name (strict checking then refuses it), nor for a port it does not name.
    assert cache.keys_for(path, "198.18.4.12") == {}
    assert cache.keys_for(path, host_key_name("198.18.4.1", 10013)) == {}
    assert cache.keys_for(tmp_path / "missing", "198.18.4.11") == {}


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    k1, k2 = _ed25519(1), _ed25519(2)
    path = tmp_path / "known_hosts"
    path.write_text(f"198.18.4.11 {k1[0]} {k1[1]}\n")
    cache = KnownHosts()
    assert cache.keys_for(path, "198.18.4.12") == {}
    with open(path, "a", encoding="ascii") as f:  # what --accept-new-host-keys appends
        f.write(f"198.18.4.12 {k2[0]} {k2[1]}\n")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert cache.keys_for(path, "198.18.4.12")["ssh-ed25519"].get_base64() == k2[1]


def test_aes_gcm_is_offered_first_and_nothing_is_dropped() -> None:
    left, right = socket.socketpair()
    try:
        default = paramiko.Transport(left)
        ours = transport_factory(right)
        offered = tuple(ours.get_security_options().ciphers)
        assert offered[: len(PREFERRED_CIPHERS)] == PREFERRED_CIPHERS
        assert sorted(offered) == sorted(default.get_security_options().ciphers)
    finally:
        left.close()
        right.close()


def test_the_identity_is_loaded_once_or_left_to_paramiko_when_it_needs_a_passphrase(tmp_path: Path) -> None:
    import shutil
    import subprocess

    import pytest

    from orchestrator.ssh.pool import load_client_key

    if shutil.which("ssh-keygen") is None:
        pytest.skip("needs ssh-keygen")
    plain, locked = tmp_path / "id_plain", tmp_path / "id_locked"
    for path, passphrase in ((plain, ""), (locked, "correct horse")):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path)], check=True)
    key = load_client_key(str(plain))
    assert key is not None and key.get_base64() == (tmp_path / "id_plain.pub").read_text().split()[1]
    assert load_client_key(str(locked)) is None  # paramiko's key_filename path asks, as before
    assert load_client_key(str(tmp_path / "missing")) is None
