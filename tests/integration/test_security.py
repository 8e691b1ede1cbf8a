"""Issue 8: security. Host keys strictly checked (refused with the fingerprint, nothing sent); the sudo
password and the pool keys never leave where they belong; journal, report and backups have safe modes.

One small fleet (1 relay + 1 block producer). The host-key tests change nothing; the last test
upgrades the fleet as the unprivileged `operator` user whose sudo asks for a password.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from orchestrator.cli import main
from tests.integration.helpers import (
    PATHS,
    UPGRADE,
    accepted_logins,
    fleet_fingerprints,
    report_of,
    write_playbook_variant,
)

pytestmark = pytest.mark.lab

PASSWORD = "pw-S3cr3t-$(touch /tmp/pwned)-'\"-ünï"  # quotes, $(), non-ASCII: all must pass through intact
PASSWORD_ENV = "CF_TEST_SUDO_PASSWORD"


@pytest.fixture(scope="module")
def secure(lab_factory):
    lab = lab_factory(relays=1, producers=1)
    lab.wait_in_sync()
    return lab


def _host_fingerprint(lab, host: str) -> str:
    out = lab.exec(host, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").stdout
    return next(w for w in out.split() if w.startswith("SHA256:"))


def _inventory_with(lab, tmp_path: Path, old: str, new: str) -> Path:
    text = lab.inventory_path.read_text()
    assert old in text
    inv = tmp_path / "inventory.yml"
    inv.write_text(text.replace(old, new))
    return inv


def test_unknown_host_keys_are_refused_with_the_fingerprint_and_nothing_is_sent(secure, tmp_path, capsys):
    lab = secure
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    inv = _inventory_with(lab, tmp_path, str(lab.known_hosts), str(empty))
    logins = {h.name: accepted_logins(lab, h.name) for h in lab.hosts}
    before = fleet_fingerprints(lab)
    rc = main(["run", "-i", str(inv), UPGRADE, "--yes", "--state-dir", str(tmp_path / "state")])
    out = capsys.readouterr().out
    assert rc == 1
    flat = " ".join(out.split())
    for h in lab.hosts:
        assert f"unknown host key for {h.address}: the server offered ssh-ed25519 {_host_fingerprint(lab, h.name)}" in flat, flat
    assert {h.name: accepted_logins(lab, h.name) for h in lab.hosts} == logins  # no authentication happened
    assert fleet_fingerprints(lab) == before
    assert empty.read_text() == ""  # nothing trusted behind the operator's back


def test_a_changed_host_key_is_refused_even_with_accept_new(secure, tmp_path, capsys):
    lab = secure
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "impostor")], check=True)
    impostor = (tmp_path / "impostor.pub").read_text().split()
    relay = lab.host("relay1")
    lines = []
    for line in lab.known_hosts.read_text().splitlines():
        if line.split()[0] == relay.address:
            line = f"{relay.address} {impostor[0]} {impostor[1]}"
        lines.append(line)
    known = tmp_path / "known_hosts"
    known.write_text("\n".join(lines) + "\n")
    inv = _inventory_with(lab, tmp_path, str(lab.known_hosts), str(known))
    logins = accepted_logins(lab, "relay1")
    before = fleet_fingerprints(lab)
    expected = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "impostor.pub")], capture_output=True,
                              text=True).stdout.split()[1]  # fmt: skip
    rc = main(["plan", "-i", str(inv), UPGRADE, "--json", "--accept-new-host-keys"])
    plan = json.loads(capsys.readouterr().out)
    assert rc == 1
    error = next(h["error"] for h in plan["hosts"] if h["host"] == "relay1")
    assert error == (f"unreachable: host key mismatch for root@{relay.address}:22: the server offered ssh-ed25519 "
                     f"{_host_fingerprint(lab, 'relay1')}, known_hosts has ssh-ed25519 {expected} "
                     "(possible man-in-the-middle, or the host was reinstalled; refusing)")  # fmt: skip
    assert accepted_logins(lab, "relay1") == logins
    assert fleet_fingerprints(lab) == before
    assert known.read_text().count(relay.address) == 1  # not "accepted"


def test_a_wrong_sudo_password_is_refused_without_echoing_it(secure, tmp_path, capsys, monkeypatch):
    lab = secure
    _require_sudo_password(lab)
    inv = _operator_inventory(lab, tmp_path)
    monkeypatch.setenv(PASSWORD_ENV, "wrong-" + PASSWORD)
    rc = main(["plan", "-i", str(inv), UPGRADE, "--json"])
    captured = capsys.readouterr()
    assert rc == 1
    errors = {h["host"]: h["error"] for h in json.loads(captured.out)["hosts"]}
    assert set(errors) == {h.name for h in lab.hosts}
    assert all(e == "probe failed: sudo refused the become password" for e in errors.values()), errors
    assert PASSWORD not in captured.out + captured.err


def test_operator_upgrade_with_a_sudo_password_leaks_neither_it_nor_the_pool_keys(secure, tmp_path, capsys,
                                                                                   monkeypatch):  # fmt: skip
    lab = secure
    _require_sudo_password(lab)
    inv = _operator_inventory(lab, tmp_path)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    keys = PATHS[lab.host("bp1").layout][2]
    # the test reads the keys' contents first (to look for them later), then ages their atime
    key_texts = [t for t in lab.exec("bp1", f"cat {keys}/*").stdout.splitlines() if len(t.strip()) > 8]
    lab.exec("bp1", f"touch -a -d '3 days ago' {keys}/*")
    atimes = lab.exec("bp1", f"stat -c '%n %X' {keys}/*").stdout
    files = {h.name: PATHS[h.layout][0] for h in lab.hosts}
    stats_before = {h.name: lab.exec(h.name, f"stat -c '%n %U:%G %a' {files[h.name]}/*.json").stdout for h in lab.hosts}
    state = tmp_path / "state"
    # one relay: a playbook that lets it go down (the producer still needs it healthy before its own turn)
    playbook = write_playbook_variant(tmp_path / "pb", min_healthy_relays=0)
    rc = main(["run", "-i", str(inv), str(playbook), "--yes", "--state-dir", str(state), "--report",
               str(tmp_path / "report.json")])  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 0, captured.out[-3000:]
    assert statuses_of(report_of(state)) == {"relay1": "upgraded", "bp1": "upgraded"}
    # the sudo password: nowhere in the console, the journal, the reports
    written = [captured.out, captured.err] + [p.read_text() for p in state.rglob("*") if p.is_file()]
    written.append((tmp_path / "report.json").read_text())
    for text in written:
        assert PASSWORD not in text
    # nor on the hosts' side: not in any command line a host logged, not left in a file
    for h in lab.hosts:
        leaked = lab.exec(h.name, f"grep -rlF -- {_q(PASSWORD)} /var/log /tmp /home/operator 2>/dev/null; true",
                          timeout=90)  # fmt: skip
        assert leaked.stdout.strip() == "", leaked.stdout
    assert not Path("/tmp/pwned").exists() and lab.exec("bp1", "test -e /tmp/pwned").returncode == 1
    # pool keys: never opened, their contents nowhere
    assert lab.exec("bp1", f"stat -c '%n %X' {keys}/*").stdout == atimes
    for text in written:
        assert not any(k in text for k in key_texts)
        assert "skey" not in text and "op.cert" not in text
    # safe modes: journal and reports private; backups keep the original's owner and mode
    run_dir = next(state.glob("runs/*"))
    assert (state / "runs").stat().st_mode & 0o777 == 0o700 and run_dir.stat().st_mode & 0o777 == 0o700
    for f in [*run_dir.iterdir(), tmp_path / "report.json"]:
        assert f.stat().st_mode & 0o777 == 0o600, f
    for h in lab.hosts:
        for line in stats_before[h.name].splitlines():
            path, owner_mode = line.split(" ", 1)
            if not re.search(r"/(config|topology|conway-genesis)\.json$", path):
                continue
            backup = lab.exec(h.name, f"stat -c '%U:%G %a' {path}.bak-{run_dir.name}").stdout.strip()
            assert backup == owner_mode, (path, backup, owner_mode)


def statuses_of(report: dict) -> dict[str, str]:
    return {h["host"]: h["status"] for h in report["hosts"]}


def _q(value: str) -> str:
    import shlex

    return shlex.quote(value)


def _require_sudo_password(lab) -> None:
    """The lab's operator has NOPASSWD sudo; make sudo ask for PASSWORD on every host."""
    for h in lab.hosts:
        done = lab.exec(h.name, f"printf '%s\\n' {_q('operator:' + PASSWORD)} | chpasswd && "
                                "echo 'operator ALL=(ALL) ALL' > /etc/sudoers.d/operator")  # fmt: skip
        assert done.returncode == 0, done.stderr


def _operator_inventory(lab, tmp_path: Path) -> Path:
    return _inventory_with(
        lab,
        tmp_path,
        "    ansible_user: root\n",
        f"    ansible_user: operator\n    ansible_become: true\n    become_password_env: {PASSWORD_ENV}\n",
    )
