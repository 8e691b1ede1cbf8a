"""Issue 2: the lab is a fleet of real, isolated sshd hosts that a strict SSH client accepts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.lab.hosts import lab_down, lab_up, leftover_resources, route_is_lab
from orchestrator.lab.state import LabError, LabState

pytestmark = pytest.mark.lab


def ssh(lab, host: str, command: str, known_hosts: Path | None = None, user: str = "root"):
    h = lab.host(host)
    return subprocess.run(
        [
            "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={known_hosts or lab.known_hosts}", "-o", "ConnectTimeout=5",
            "-i", str(lab.client_key), "-p", str(h.port), f"{user}@{h.address}", command,
        ],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_every_host_answers_strict_ssh_with_its_own_hostname(lab):
    assert [h.name for h in lab.hosts] == ["relay1", "relay2", "relay3", "bp1"]
    for h in lab.hosts:
        result = ssh(lab, h.name, "hostname")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == h.name


def test_each_host_sees_only_its_own_files(lab):
    assert ssh(lab, "relay1", "echo mine > /etc/only-on-relay1 && echo x > /root/r1").returncode == 0
    try:
        assert ssh(lab, "relay1", "cat /etc/only-on-relay1").stdout == "mine\n"
        other = ssh(lab, "relay2", "test -e /etc/only-on-relay1 || test -e /root/r1; echo $?")
        assert other.stdout.strip() == "1"
        assert not Path("/etc/only-on-relay1").exists(), "a host wrote to the real machine's /etc"
    finally:
        ssh(lab, "relay1", "rm -f /etc/only-on-relay1 /root/r1")


def test_a_wrong_host_key_is_refused(lab, tmp_path):
    wrong = tmp_path / "known_hosts"
    lines = lab.known_hosts.read_text().splitlines()
    # relay1's address paired with relay2's key: the key offered will not match.
    relay2_key = next(line for line in lines if line.startswith(lab.host("relay2").address + " ")).split(" ", 1)[1]
    wrong.write_text(f"{lab.host('relay1').address} {relay2_key}\n")
    result = ssh(lab, "relay1", "touch /tmp/should-not-run", known_hosts=wrong)
    assert result.returncode == 255
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in result.stderr or "Host key verification failed" in result.stderr
    assert lab.exec("relay1", "test -e /tmp/should-not-run; echo $?").stdout.strip() == "1"


def test_unprivileged_operator_has_sudo(lab):
    result = ssh(lab, "bp1", "id -un; sudo -n id -un", user="operator")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["operator", "root"]


def test_hosts_reach_each_other_over_the_bridge_and_nothing_else(lab):
    relay2 = lab.host("relay2").address
    probe = (
        "import socket,sys\n"
        f"s=socket.create_connection(('{relay2}',22),timeout=3); print(s.recv(4).decode())\n"
        "try:\n socket.create_connection(('203.0.113.9',22),timeout=1); print('reached')\n"
        "except OSError as e: print('unreachable', e.errno)\n"
    )
    out = lab.exec("relay1", f"/usr/bin/python3 -c \"{probe}\"").stdout.split("\n")
    assert out[0] == "SSH-"
    assert out[1].startswith("unreachable")  # no default route: the packet is never sent
    assert route_is_lab(relay2, lab.state.bridge)
    assert not route_is_lab("203.0.113.9", lab.state.bridge)


def test_lab_status_lists_every_host(lab, capsys):
    assert main(["lab", "status", "--dir", str(lab.dir)]) == 0
    out = capsys.readouterr().out
    for h in lab.hosts:
        assert h.name in out and h.address in out
    assert out.count("ssh=yes") == len(lab.hosts) + 1  # + the chain source


def test_up_refuses_a_running_lab_and_down_leaves_nothing(tmp_path, fresh_lab):
    # A subnet from the fixtures' own pool: a fixed one (it was 200) collides with a lab another
    # fixture of this module holds — CI failed so at stop 31 ("bridge cfleet200 already exists").
    subnet = fresh_lab.free_subnet(tmp_path / "lab")
    state = lab_up(tmp_path / "lab", relays=1, producers=0, subnet=subnet)
    with pytest.raises(LabError, match="already running"):
        lab_up(tmp_path / "lab", relays=1, producers=0, subnet=subnet)
    said = lab_down(tmp_path / "lab")
    assert any("stopped 2 hosts" in line for line in said)
    assert leftover_resources(state) == []
    assert subprocess.run(["pgrep", "-f", str(tmp_path / "lab")], capture_output=True).stdout == b""
    assert LabState.load(tmp_path / "lab") is None


def test_up_refuses_without_root(monkeypatch, tmp_path):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(LabError, match="needs root"):
        lab_up(tmp_path / "lab", relays=1, producers=0, subnet=201)
