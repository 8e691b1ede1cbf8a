"""The SSH transport against the lab's real sshd hosts: strict host keys, one connection per host,
sudo for a non-root user, ProxyJump, atomic writes, and hostile values that must never execute."""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator.load.inventory import load_inventory
from orchestrator.model import Host, Inventory
from orchestrator.ssh.transport import Fleet, RetryPolicy, Timeouts

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_only")]


@pytest.fixture(scope="module")
def inventory(lab: Any) -> Inventory:
    return load_inventory(lab.inventory_path)


@pytest.fixture(scope="module")
def own_lab(lab_factory: Any) -> Any:
    """A private fleet for tests that change hosts (users, files), so the shared `lab` stays untouched."""
    return lab_factory(relays=2, producers=1)


@pytest.fixture(scope="module")
def own_inventory(own_lab: Any) -> Inventory:
    return load_inventory(own_lab.inventory_path)


@pytest.fixture
def no_sleep() -> Iterator[list[float]]:
    slept: list[float] = []
    yield slept


def read_remote(fleet: Fleet, host: Host, path: str) -> bytes:
    """A remote file's bytes over the host's one connection (through sudo for a non-root user)."""
    res = fleet.run(host, f"base64 -w0 -- {shlex.quote(path)}", sudo=host.user != "root")
    assert res.ok, res.error or res.stderr
    return base64.b64decode(res.stdout)


def fingerprint_of(known_hosts: Path, address: str) -> str:
    """The SHA256 fingerprint OpenSSH prints for the key known_hosts holds for `address`."""
    line = next(ln for ln in known_hosts.read_text().splitlines() if ln.split()[0] in (address, f"[{address}]:22"))
    proc = subprocess.run(["ssh-keygen", "-lf", "-"], input=line + "\n", capture_output=True, text=True, check=True)
    return proc.stdout.split()[1]


def write_known_hosts(path: Path, source: Path, *, drop: str | None = None, replace_key_of: str | None = None) -> Path:
    """A copy of the lab's known_hosts with one host's entry removed or replaced by another key."""
    lines = []
    for ln in source.read_text().splitlines():
        name = ln.split()[0] if ln.strip() else ""
        if drop and name in (drop, f"[{drop}]:22"):
            continue
        if replace_key_of and name in (replace_key_of, f"[{replace_key_of}]:22"):
            keyfile = path.parent / "impostor"
            if not keyfile.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keyfile)], check=True)
            kind, blob = (keyfile.with_suffix(".pub")).read_text().split()[:2]
            ln = f"{name} {kind} {blob}"
        lines.append(ln)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_one_connection_per_host_for_many_commands(inventory: Inventory) -> None:
    hosts = inventory.hosts
    with Fleet(hosts, forks=4) as fleet:
        first = fleet.run_all(hosts, lambda h: f"echo {h.name}; hostname")
        second = fleet.run_all(hosts, lambda h: "true")
        third = fleet.run(hosts[0], "exit 7")
        stats = fleet.all_stats()
    for h in hosts:
        assert first[h.name].ok, first[h.name]
        assert first[h.name].stdout.split() == [h.name, h.name]
        assert second[h.name].ok and second[h.name].exit_code == 0
        assert first[h.name].error is None and first[h.name].connected
    assert third.exit_code == 7 and not third.ok and third.error is None
    assert {n: s.connections_opened for n, s in stats.items()} == {h.name: 1 for h in hosts}
    assert stats[hosts[0].name].commands_run == 3
    assert all(stats[h.name].commands_run == 2 for h in hosts[1:])


def test_changed_host_key_is_refused_with_fingerprint_and_others_still_run(
    lab: Any, inventory: Inventory, tmp_path: Path
) -> None:
    victim = inventory.hosts[0]
    kh = write_known_hosts(tmp_path / "known_hosts", lab.known_hosts, replace_key_of=victim.address)
    hosts = [replace(h, known_hosts_file=str(kh)) for h in inventory.hosts]
    offered = fingerprint_of(lab.known_hosts, victim.address)
    for accept_new in (False, True):  # a changed key is refused even with trust-on-first-use
        with Fleet(hosts, accept_new_host_keys=accept_new) as fleet:
            results = fleet.run_all(hosts, lambda h: "echo ok")
            stats = fleet.all_stats()
        bad = results[victim.name]
        assert not bad.ok and not bad.connected
        assert bad.error is not None and "host key mismatch" in bad.error
        assert offered in bad.error and offered.startswith("SHA256:")
        assert stats[victim.name].connections_opened == 0
        assert stats[victim.name].connect_attempts == 1  # a host-key refusal is never retried
        for h in hosts[1:]:
            assert results[h.name].ok and results[h.name].stdout == "ok\n"
    assert "impostor" not in kh.read_text()  # nothing rewrote the file


def test_unknown_host_key_refused_unless_accept_new(lab: Any, inventory: Inventory, tmp_path: Path) -> None:
    victim = inventory.hosts[1]
    kh = write_known_hosts(tmp_path / "known_hosts", lab.known_hosts, drop=victim.address)
    host = replace(victim, known_hosts_file=str(kh))
    offered = fingerprint_of(lab.known_hosts, victim.address)
    with Fleet([host]) as fleet:
        res = fleet.run(host, "true")
    assert not res.ok and res.error is not None
    assert "unknown host key" in res.error and offered in res.error
    assert victim.address not in kh.read_text()

    with Fleet([host], accept_new_host_keys=True) as fleet:
        assert fleet.run(host, "true").ok
    assert victim.address in kh.read_text()  # recorded (trust on first use)
    with Fleet([host]) as fleet:  # and now known: strict mode accepts it
        assert fleet.run(host, "true").ok


def test_unreachable_host_is_a_result_and_only_setup_is_retried(inventory: Inventory) -> None:
    slept: list[float] = []
    closed = replace(inventory.hosts[0], name="closed-port", port=1)
    hosts = [closed, *inventory.hosts[1:]]
    retry = RetryPolicy(attempts=3, initial_wait=0.01, sleep=slept.append)
    with Fleet(hosts, retry=retry, timeouts=Timeouts(connect=3)) as fleet:
        results = fleet.run_all(hosts, lambda h: "echo hi")
        again = fleet.run(closed, "echo hi")  # the failure is remembered, not re-dialled
        stats = fleet.all_stats()
    assert results["closed-port"].error is not None and "connection refused" in results["closed-port"].error
    assert not results["closed-port"].connected and again.error == results["closed-port"].error
    assert stats["closed-port"].connect_attempts == 3 and len(slept) == 2
    assert all(results[h.name].ok for h in inventory.hosts[1:])


def test_lab_only_refuses_outside_addresses_without_dialling(inventory: Inventory) -> None:
    outside = replace(inventory.hosts[0], name="outside", address="192.0.2.10")
    with Fleet([outside]) as fleet:
        res = fleet.run(outside, "true")
        stats = fleet.stats(outside)
    assert res.error is not None and "CARDANO_FLEET_LAB_ONLY" in res.error
    assert stats.connect_attempts == 0


def test_command_timeout_is_a_result(inventory: Inventory) -> None:
    with Fleet(inventory.hosts[:1]) as fleet:
        res = fleet.run(inventory.hosts[0], "sleep 30", timeout=0.5)
        after = fleet.run(inventory.hosts[0], "echo still-usable")
    assert not res.ok and res.error is not None and "timed out" in res.error
    assert after.ok and after.stdout == "still-usable\n"


def test_stdin_and_binary_read(inventory: Inventory) -> None:
    h = inventory.hosts[0]
    payload = bytes(range(256)) * 64
    with Fleet([h]) as fleet:
        res = fleet.run(h, "sha256sum | cut -d' ' -f1", stdin=payload)
        cfg = read_remote(fleet, h, h.layout.config_path)
    assert res.stdout.strip() == hashlib.sha256(payload).hexdigest()
    assert json.loads(cfg)  # the node's config, byte for byte


def test_proxy_jump_through_a_relay(inventory: Inventory) -> None:
    bp = inventory.block_producers[0]
    relay = inventory.relays[0]
    via_name = replace(bp, name="bp-via-name", proxy_jump=relay.name)
    via_spec = replace(bp, name="bp-via-spec", proxy_jump=f"root@{relay.address}:22")
    with Fleet([relay, via_name, via_spec]) as fleet:
        results = fleet.run_all([via_name, via_spec], lambda h: "hostname; echo $SSH_CONNECTION")
        stats = fleet.all_stats()
    for name in ("bp-via-name", "bp-via-spec"):
        assert results[name].ok, results[name]
        out = results[name].stdout.split()
        assert out[0] == bp.name
        assert out[1] == relay.address  # the BP saw the relay as its client
    # the relay's connection doubles as the jump for the inventory name: still one per host
    assert stats[relay.name].connections_opened == 1
    assert stats[f"jump:root@{relay.address}:22"].connections_opened == 1


def test_operator_with_become(own_lab: Any, own_inventory: Inventory) -> None:
    root_host = own_inventory.hosts[0]
    op = replace(root_host, name="op", user="operator", become=True)
    path = root_host.layout.config_path
    with Fleet([op]) as fleet:
        plain = fleet.run(op, "id -un")
        elevated = fleet.run(op, "id -un; id -u", sudo=True)
        data = read_remote(fleet, op, path)  # root-owned file read through sudo
        put = fleet.put_atomic(op, path, data)  # same bytes: no change
    assert plain.stdout.strip() == "operator"
    assert elevated.ok and elevated.stdout.split() == ["root", "0"]
    assert json.loads(data) and put.ok and not put.changed
    assert put.previous_sha256 == hashlib.sha256(data).hexdigest()


def test_become_password_is_used_only_when_asked_and_never_shown(own_lab: Any, own_inventory: Inventory) -> None:
    base = own_inventory.hosts[0]
    secret = "Pw-for-lab-only-7319"
    made = own_lab.exec(
        base.name,
        "useradd -m -s /bin/sh pwuser && "
        f"echo 'pwuser:{secret}' | chpasswd && "
        "echo 'pwuser ALL=(ALL) ALL' > /etc/sudoers.d/pwuser && chmod 440 /etc/sudoers.d/pwuser && "
        "install -d -m 700 -o pwuser -g pwuser /home/pwuser/.ssh && "
        "install -m 600 -o pwuser -g pwuser /home/operator/.ssh/authorized_keys /home/pwuser/.ssh/",
    )
    assert made.returncode == 0, made.stderr
    try:
        pw = replace(base, name="pw", user="pwuser", become=True, become_password_env="CF_TEST_PW")
        wrong = replace(pw, name="pw-wrong", become_password_env="CF_TEST_PW_WRONG")
        unset = replace(pw, name="pw-unset", become_password_env="CF_TEST_PW_UNSET")
        nopasswd = replace(base, name="op", user="operator", become=True, become_password_env="CF_TEST_PW")
        env = {"CF_TEST_PW": secret, "CF_TEST_PW_WRONG": "not-" + secret}
        with Fleet([pw, wrong, unset, nopasswd], environ=env) as fleet:
            ok = fleet.run(pw, f"id -u; cat; echo {secret}", sudo=True, stdin=b"data-line\n")
            # NOPASSWD: sudo never asks, so the password must not reach the command's stdin
            nop = fleet.run(nopasswd, "id -u; cat", sudo=True, stdin=b"only-this\n")
            bad = fleet.run(wrong, "id -u", sudo=True, timeout=30)
            missing = fleet.run(unset, "id -u", sudo=True)
        assert ok.ok and ok.stdout.split() == ["0", "data-line", "********"]
        assert nop.ok and nop.stdout.split() == ["0", "only-this"]
        assert not bad.ok and bad.error is not None and "refused" in bad.error
        assert missing.error is not None and "CF_TEST_PW_UNSET" in missing.error
        for res in (ok, nop, bad, missing):
            assert secret not in repr(res)
    finally:
        own_lab.exec(base.name, "userdel -r pwuser; rm -f /etc/sudoers.d/pwuser")


def test_atomic_write_keeps_owner_mode_and_is_never_half_written(own_lab: Any, own_inventory: Inventory) -> None:
    h = own_inventory.relays[0]
    target = h.layout.topology_path.rsplit("/", 1)[0] + "/atomic-test.json"
    old = b"o" * 400_000 + b"\n"
    new = b"n" * 600_000 + b"\n"
    setup = own_lab.exec(
        h.name,
        f"head -c 400000 /dev/zero | tr '\\0' o > {target} && echo >> {target} && "
        f"chown operator:operator {target} && chmod 640 {target}",
    )
    assert setup.returncode == 0, setup.stderr
    reader_py = (
        "import hashlib,json,sys,time\n"
        "seen={}\n"
        "end=time.time()+float(sys.argv[2])\n"
        "while time.time()<end:\n"
        "    try:\n"
        "        d=hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest()\n"
        "    except FileNotFoundError:\n"
        "        d='missing'\n"
        "    seen[d]=seen.get(d,0)+1\n"
        "print(json.dumps(seen))\n"
    )
    box: dict[str, subprocess.CompletedProcess[str]] = {}

    def reader() -> None:
        box["r"] = own_lab.exec(h.name, f'python3 -c "{reader_py}" {target} 4', timeout=60)

    thread = threading.Thread(target=reader)
    thread.start()
    results = []
    with Fleet([h]) as fleet:
        i = 0
        while i < 16 or (thread.is_alive() and i < 400):  # keep writing while the reader reads
            results.append(fleet.put_atomic(h, target, new if i % 2 == 0 else old))
            i += 1
    thread.join()
    assert all(r.ok and r.changed for r in results), results
    assert results[0].previous_sha256 == hashlib.sha256(old).hexdigest()
    assert results[1].previous_sha256 == hashlib.sha256(new).hexdigest()
    seen = json.loads(box["r"].stdout)
    allowed = {hashlib.sha256(old).hexdigest(), hashlib.sha256(new).hexdigest()}
    assert set(seen) <= allowed, f"a reader saw a half-written or missing file: {seen}"
    assert len(seen) == 2  # the reader really overlapped the writes
    assert sum(seen.values()) > 10
    stat = own_lab.exec(h.name, f"stat -c '%U:%G %a' {target}; ls -a {target.rsplit('/', 1)[0]}")
    lines = stat.stdout.splitlines()
    assert lines[0] == "operator:operator 640"
    assert not [ln for ln in lines[1:] if "cardano-fleet.tmp" in ln]  # no temp files left behind
    own_lab.exec(h.name, f"rm -f {target}")


def test_hostile_values_never_execute(own_lab: Any, own_inventory: Inventory) -> None:
    h = own_inventory.relays[0]
    hostile = "cf $(touch pwned1) `touch pwned2`;touch pwned3;'\"|touch pwned4&& x"
    path = f"/tmp/{hostile}.json"
    with Fleet([h]) as fleet:
        put = fleet.put_atomic(h, path, b"{}\n", mode=0o600)
        got = read_remote(fleet, h, path)
        op = replace(h, name="op", user="operator", become=True)
        put_sudo = fleet.put_atomic(op, path, b"[]\n")
        got_sudo = read_remote(fleet, op, path)
    assert put.ok and got == b"{}\n" and put_sudo.ok and got_sudo == b"[]\n"
    check = own_lab.exec(h.name, "find /root /tmp /home -name 'pwned*'; ls /tmp")
    assert "pwned" not in check.stdout.replace(hostile, ""), check.stdout
    own_lab.exec(h.name, "rm -f /tmp/cf*")


def test_write_failure_is_a_result(inventory: Inventory) -> None:
    h = inventory.hosts[0]
    with Fleet([h]) as fleet:
        res = fleet.put_atomic(h, "/nonexistent-dir/x.json", b"x")
    assert not res.ok and res.error is not None and "/nonexistent-dir/x.json" in res.error
