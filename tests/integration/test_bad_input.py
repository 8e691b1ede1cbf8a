"""Issue 8: bad input. Each case: a clear error naming file, line and field, exit code 1, no host touched.

Offline cases prove "no host touched" the strongest way: any attempt to open an SSH connection is
recorded (ConnectionPool._open and paramiko's connect are wrapped) and must not happen. The cases that
need hosts (a sha256 that does not match the download; unusable files on a host; hostile values)
run against one small lab fleet and compare every host's files, binary link and MainPID.
"""

from __future__ import annotations

import json
import shutil

import paramiko
import pytest

from orchestrator.cli import main
from orchestrator.load.inventory import load_inventory
from orchestrator.model import Host, ReleasePin
from orchestrator.roll.remote import SshRemote
from orchestrator.ssh.pool import ConnectionPool
from orchestrator.ssh.transport import Fleet
from orchestrator.workflow import load
from tests.integration.helpers import (
    PATHS,
    RELEASES,
    ROOT,
    UPGRADE,
    fleet_fingerprints,
    markers_absent,
    report_of,
    run_cli,
)

BASE_INVENTORY = """\
all:
  vars:
    ansible_user: root
    cardano_network: mainnet
    layout: guild
    node_release:
      version: "8.9.0"
      url: http://198.18.250.1:8080/cardano-node-8.9.0-linux.tar.gz
      sha256: db13620813df16cc686c8df7156a7ae9ba4086ee87386e45d05711a3342f4ac9
      source: download
  children:
    relays:
      hosts:
        relay1: {ansible_host: 198.18.250.11}
        relay2: {ansible_host: 198.18.250.12}
    block_producers:
      hosts:
        bp1: {ansible_host: 198.18.250.101, layout: iog}
"""
SHA = "db13620813df16cc686c8df7156a7ae9ba4086ee87386e45d05711a3342f4ac9"
PLAYBOOK = (ROOT / "playbooks" / "upgrade-8.9.0.yml").read_text()


@pytest.fixture
def no_ssh(monkeypatch):
    """Records every attempt to connect anywhere; the test asserts there was none."""
    attempts: list[str] = []

    def refuse_open(self, slot, target, depth):  # noqa: ANN001 - ConnectionPool._open's signature
        attempts.append(f"ConnectionPool._open {target.address}")
        raise AssertionError("no connection may be opened for bad input")

    def refuse_connect(self, hostname, *a, **k):  # noqa: ANN001
        attempts.append(f"paramiko connect {hostname}")
        raise AssertionError("no connection may be opened for bad input")

    monkeypatch.setattr(ConnectionPool, "_open", refuse_open)
    monkeypatch.setattr(paramiko.SSHClient, "connect", refuse_connect)
    return attempts


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# (case, inventory text, playbook text or None for the shipped one, -e, expected message, expected file:line)
CASES = [
    (
        "malformed YAML in the inventory",
        _edit(BASE_INVENTORY, "relay2: {ansible_host: 198.18.250.12}", "relay2: {ansible_host: 198.18.250.12"),
        None,
        (),
        "YAML syntax error",
        "hosts.yml:16:20",
    ),
    (
        "malformed YAML in the playbook",
        BASE_INVENTORY,
        _edit(PLAYBOOK, "    hosts: relays\n", "    hosts: relays\n\t- x\n"),
        (),
        "YAML syntax error",
        "play.yml:",
    ),
    (
        "unknown key in the inventory",
        _edit(BASE_INVENTORY, "    block_producers:\n", "    block_producers:\n      hots: {}\n"),
        None,
        (),
        "unknown key 'hots' in group 'block_producers' — did you mean 'hosts'?",
        "hosts.yml:17:7",
    ),
    (
        "unknown variable (a typo of a known one)",
        _edit(BASE_INVENTORY, "relay1: {ansible_host: 198.18.250.11}", "relay1: {ansible_hots: 198.18.250.11}"),
        None,
        (),
        "unknown variable 'ansible_hots' — did you mean 'ansible_host'?",
        "hosts.yml:14:18",
    ),
    (
        "unknown key in the playbook",
        BASE_INVENTORY,
        _edit(PLAYBOOK, '    serial: [1, "50%"]', "    seral: 1"),
        (),
        "unknown key 'seral' in a stage — did you mean 'serial'?",
        "play.yml:19:5",
    ),
    (
        "wrong type: port",
        _edit(
            BASE_INVENTORY,
            "relay2: {ansible_host: 198.18.250.12}",
            "relay2: {ansible_host: 198.18.250.12, ansible_port: twenty-two}",
        ),
        None,
        (),
        "'ansible_port' must be a port number 1..65535, not 'twenty-two'",
        "hosts.yml:15:61",
    ),
    (
        "wrong type: layout",
        _edit(BASE_INVENTORY, "layout: guild", "layout: 5"),
        None,
        (),
        "unknown layout 5; expected one of guild, iog",
        "hosts.yml:5:13",
    ),
    (
        "wrong type: node_release",
        _edit(BASE_INVENTORY, '      version: "8.9.0"\n', "      version: 8.9\n"),
        None,
        (),
        "node_release needs 'version' as a string",
        "hosts.yml:",
    ),
    (
        "wrong type: max_fail_percentage",
        BASE_INVENTORY,
        _edit(PLAYBOOK, "max_fail_percentage: 0 ", "max_fail_percentage: lots "),
        (),
        "max_fail_percentage must be a number 0..100, not 'lots'",
        "play.yml:7:",
    ),
    (
        "wrong type: a gate setting given with -e",  # issue 29: named where the operator wrote it
        BASE_INVENTORY,
        None,
        ("sync_timeout_seconds=soon",),
        "'sync_timeout_seconds' (read as sync_gate.timeout_seconds (role sync_gate)): timeout_seconds must be a "
        "number ≥ 0, not 'soon'",
        "-e: ",
    ),
    (
        "a host in two roles",
        _edit(
            BASE_INVENTORY,
            "bp1: {ansible_host: 198.18.250.101, layout: iog}\n",
            "bp1: {ansible_host: 198.18.250.101, layout: iog}\n        relay1:\n",
        ),
        None,
        (),
        "host 'relay1' is in both 'relays' and 'block_producers'; a host has exactly one role",
        "hosts.yml:14:9",
    ),
    (
        "a producer without relays",
        _edit(
            BASE_INVENTORY,
            "    relays:\n      hosts:\n        relay1: {ansible_host: 198.18.250.11}\n"
            "        relay2: {ansible_host: 198.18.250.12}\n",
            "",
        ),
        None,
        (),
        "block producer 'bp1' has no relay in the inventory",
        "hosts.yml:",
    ),
    (
        "serial: 0",
        BASE_INVENTORY,
        _edit(PLAYBOOK, "    serial: 1\n", "    serial: 0\n"),
        (),
        "serial must be at least 1, not 0",
        "play.yml:",
    ),
    (
        'serial: "150%"',
        BASE_INVENTORY,
        _edit(PLAYBOOK, '    serial: [1, "50%"]', '    serial: "150%"'),
        (),
        "serial percentage must be 1%..100%, not '150%'",
        "play.yml:19:13",
    ),
    (
        "a release URL without sha256",
        _edit(BASE_INVENTORY, f"      sha256: {SHA}\n", ""),
        None,
        (),
        "release 8.9.0 has no pinned sha256: set node_release.sha256 in the inventory",
        "roles/node_release/stage.yml:3:3",
    ),
    (
        "a sha256 that is not 64 hex digits",
        _edit(BASE_INVENTORY, "sha256: db1362", "sha256: zz1362"),
        None,
        (),
        "node_release 'sha256' must be 64 hexadecimal digits",
        "hosts.yml:",
    ),
    (
        "a literal sudo password",
        _edit(BASE_INVENTORY, "ansible_user: root\n", "ansible_user: root\n    ansible_become_password: hunter2-literal\n"),
        None,
        (),
        "a literal sudo password is not accepted in inventory files",
        "hosts.yml:4:",
    ),
    (
        "a relative path override",
        _edit(
            BASE_INVENTORY,
            "relay1: {ansible_host: 198.18.250.11}",
            "relay1: {ansible_host: 198.18.250.11, config_path: files/config.json}",
        ),
        None,
        (),
        "'config_path' must be an absolute path, not 'files/config.json'",
        "hosts.yml:14:",
    ),
]


@pytest.mark.parametrize("case, inventory, playbook, extra, message, where", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_any_connection(tmp_path, capsys, no_ssh, case, inventory, playbook, extra,
                                                     message, where):  # fmt: skip
    inv = tmp_path / "hosts.yml"
    inv.write_text(inventory)
    pb = tmp_path / "play.yml"
    pb.write_text(playbook if playbook is not None else PLAYBOOK)
    (tmp_path / "roles").symlink_to(ROOT / "roles")
    args = [a for e in extra for a in ("-e", e)]
    for command in (["plan"], ["run", "--yes", "--state-dir", str(tmp_path / "state")]):
        rc = main([*command, "-i", str(inv), str(pb), *args])
        err = capsys.readouterr().err
        assert rc == 1, (case, err)
        assert message in err, err
        assert where in err, err
        assert "Traceback" not in err and "hunter2" not in err
    assert no_ssh == []
    assert not (tmp_path / "state" / "runs").exists()  # refused before a run began: no journal either


def test_a_playbook_with_an_unknown_action_names_the_role_file_and_line(tmp_path, capsys, no_ssh):
    shutil.copytree(ROOT / "roles", tmp_path / "roles")
    steps = tmp_path / "roles" / "node_release" / "steps.yml"
    steps.write_text(_edit(steps.read_text(), "  install_release:", "  install_relase:"))
    (tmp_path / "hosts.yml").write_text(BASE_INVENTORY)
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    rc = main(["run", "--yes", "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "play.yml"),
               "--state-dir", str(tmp_path / "state")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{steps}:11:3: unknown action 'install_relase' — did you mean 'install_release'?" in err, err
    assert no_ssh == []


def test_non_utf8_bytes_in_the_inventory_name_the_line(tmp_path, capsys, no_ssh):
    inv = tmp_path / "hosts.yml"
    inv.write_bytes(BASE_INVENTORY.replace("relay2:", "rel\xff\xfey2:").encode("latin-1"))
    assert main(["plan", "-i", str(inv), UPGRADE]) == 1
    assert f"{inv}:15:1: not UTF-8 text" in capsys.readouterr().err
    assert no_ssh == []


def test_a_huge_inventory_is_read_without_a_crash(tmp_path, capsys, no_ssh):
    """1.5 MB of notes pasted into the inventory: read without a crash; no connection before it is read.
    (How long it takes is a benchmark's business, not an assertion here.)"""
    notes = "".join(f"      line {i} of notes pasted by mistake\n" for i in range(40_000))
    inv = tmp_path / "hosts.yml"
    inv.write_text(_edit(BASE_INVENTORY, "  children:\n", f"    notes: |\n{notes}  children:\n"))
    rc = main(["inventory", "-i", str(inv), "--json"])
    assert rc == 0
    assert no_ssh == []


def test_an_inventory_node_release_without_source_means_download(tmp_path):
    """Regression: node_release from the inventory replaces the role default whole; 'source' is optional."""
    text = _edit(BASE_INVENTORY, "      source: download\n", "")
    (tmp_path / "hosts.yml").write_text(text)
    loaded = load(str(tmp_path / "hosts.yml"), UPGRADE)
    assert loaded.spec.release is not None and loaded.spec.release.source == "download"


# ------------------------------------------------------------------------------------------ on hosts


@pytest.fixture(scope="module")
def quiet(lab_factory):
    lab = lab_factory(relays=2, producers=1)
    lab.wait_in_sync()
    return lab


@pytest.mark.lab
def test_sha256_that_does_not_match_the_download_fails_staging_and_changes_nothing(quiet, tmp_path, capsys):
    lab = quiet
    release = dict(lab.state.release_urls["8.9.0"])
    wrong = {"node_release": {"version": "8.9.0", "url": release["url"], "sha256": "ab" * 32, "source": "download"}}
    before = fleet_fingerprints(lab)
    rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path),
                 "-e", json.dumps(wrong))  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 1
    assert fleet_fingerprints(lab) == before
    report = report_of(tmp_path)
    assert report["stopped_reason"] == "staging failed on bp1, relay1, relay2: nothing running was changed"
    for h in report["hosts"]:
        assert h["status"] == "failed"
        assert h["detail"] == (f"staging failed: sha256 mismatch for cardano-node-8.9.0-linux.tar.gz: got "
                               f"{release['sha256']}, pinned {'ab' * 32}")  # fmt: skip
    assert "sha256 mismatch" in out
    for h in lab.hosts:
        assert lab.exec(h.name, f"ls -A {RELEASES[h.layout]}").stdout.split() == ["8.7.3"]  # nothing left behind


@pytest.mark.lab
def test_unusable_files_on_hosts_are_errors_for_those_hosts_and_nothing_is_touched(quiet, tmp_path, capsys):
    """relay1: config.json with a comment; relay2: topology.json not JSON; bp1: config.json a JSON list.
    Then relay1: a byte that is not UTF-8 in its topology (it must never be rewritten as U+FFFD)."""
    lab = quiet
    files = {h.name: PATHS[h.layout][0] for h in lab.hosts}
    for h in lab.hosts:
        lab.exec(h.name, f"cp -p {files[h.name]}/config.json /root/config.keep && "
                         f"cp -p {files[h.name]}/topology.json /root/topology.keep")  # fmt: skip
    try:
        lab.exec(
            "relay1",
            f"cd {files['relay1']} && (echo '// tuned by hand, see ticket 42'; cat /root/config.keep) "
            "> config.json.new && cat config.json.new > config.json && rm config.json.new",
        )
        lab.exec("relay2", f"printf 'not json {{' > {files['relay2']}/topology.json")
        lab.exec("bp1", f"echo '[1, 2]' > {files['bp1']}/config.json")
        before = fleet_fingerprints(lab)
        assert main(["plan", "-i", str(lab.inventory_path), UPGRADE, "--json"]) == 1
        plan = json.loads(capsys.readouterr().out)
        errors = {h["host"]: h["error"] for h in plan["hosts"]}
        assert errors == {
            # the node reads config.json as YAML: a `//` line turns the whole file into one plain string
            "relay1": f"{files['relay1']}/config.json: a node configuration must be a mapping (JSON object), found String",
            "relay2": f"{files['relay2']}/topology.json:1:1: not valid JSON: Expecting value",  # file:line:col, as aeson reads it
            "bp1": f"{files['bp1']}/config.json: a node configuration must be a mapping (JSON object), found Array",
        }
        rc = run_cli("run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path))
        assert rc == 1
        assert fleet_fingerprints(lab) == before
        assert "3 host(s) could not be planned (reasons above). Nothing was changed." in " ".join(capsys.readouterr().out.split())
        # a byte that is not UTF-8, inside a peer's host name
        lab.exec("relay1", f"cp -p /root/config.keep {files['relay1']}/config.json && "
                           f"sed 's/relay.friendpool.example/relay.friendp\\xe9ol.example/' /root/topology.keep "
                           f"> {files['relay1']}/topology.json")  # fmt: skip
        assert main(["plan", "-i", str(lab.inventory_path), UPGRADE, "--json", "--limit", "relay1"]) == 1
        relay1 = json.loads(capsys.readouterr().out)["hosts"][0]
        assert relay1["error"].startswith(f"{files['relay1']}/topology.json:") and "not UTF-8" in relay1["error"]
    finally:
        for h in lab.hosts:
            lab.exec(h.name, f"cp -p /root/config.keep {files[h.name]}/config.json && "
                             f"cp -p /root/topology.keep {files[h.name]}/topology.json")  # fmt: skip


@pytest.mark.lab
def test_a_huge_topology_on_a_host_is_planned_without_a_crash(quiet, capsys):
    lab = quiet
    topo = f"{PATHS['iog'][0]}/topology.json"
    lab.exec(
        "relay2",
        f'cp -p {topo} /root/topology.keep && python3 -c "import json,sys; t=json.load(open(sys.argv[1])); '
        f"t['operator_notes']='x'*(20*1024*1024); json.dump(t, open(sys.argv[1], 'w'))\" {topo}",
    )
    try:
        rc = main(["plan", "-i", str(lab.inventory_path), UPGRADE, "--json", "--limit", "relay2"])
        assert rc == 2, capsys.readouterr().err
        host = json.loads(capsys.readouterr().out)["hosts"][0]
        assert host["error"] is None and host["action"] == "restart"
    finally:
        lab.exec("relay2", f"cp -p /root/topology.keep {topo}")


# ------------------------------------------------------------------------------------------ hostile values

HOSTILE_DIR = "/opt/cardano/cnode/my files $(touch /tmp/pwned-path) `touch /tmp/pwned-path`; touch /tmp/pwned-path"


@pytest.mark.lab
def test_hostile_paths_reach_no_shell_in_any_remote_operation(quiet):
    """Every Remote operation on a path with spaces, $(...), backticks and ';': the path is data only."""
    lab = quiet
    inv = load_inventory(lab.inventory_path)
    real = next(h for h in inv.hosts if h.name == "relay1")
    config = f"{HOSTILE_DIR}/config.json"
    layout = real.layout.with_overrides({"config_path": config, "bin_dir": f"{HOSTILE_DIR}/bin",
                                         "releases_dir": f"{HOSTILE_DIR}/releases"})  # fmt: skip
    from dataclasses import replace

    host: Host = replace(real, layout=layout)
    q = json.dumps
    lab.exec("relay1", f"python3 -c 'import os,sys; os.makedirs(sys.argv[1]); open(sys.argv[1]+\"/config.json\",\"w\")"
                       f".write(\"old\\n\")' {_sh(HOSTILE_DIR)}")  # fmt: skip
    try:
        with Fleet([host]) as fleet:
            remote = SshRemote(fleet, "20990101T000000Z-hostil")
            assert remote.lock(host) is None
            backed = remote.backup(host, [config])
            assert not isinstance(backed, str), backed
            assert backed[0] == {config: True}
            assert fleet.put_atomic(host, config, b"new\n").ok
            assert remote.switch_link(host, f"{HOSTILE_DIR}/releases/8.9.0").ok
            assert remote.restore(host, backed[0], None).ok
            # a file name cannot hold '/': this marker lands in the session's working directory, /root
            pin = ReleasePin("8.9.0", "http://x/n$(touch pwned)`touch pwned`.tar.gz", "ab" * 32, "push")
            ok, why = remote.stage(host, pin, b"not the release")
            assert not ok and why.startswith("sha256 mismatch for n$(touch pwned)`touch pwned`.tar.gz: got "), why
            remote.unlock(host)
        got = lab.exec("relay1", f"cat {_sh(config)}").stdout
        assert got == "old\n", q(got)
        assert markers_absent(lab) == []
    finally:
        lab.exec("relay1", f"rm -rf {_sh('/opt/cardano/cnode/my files $(touch ')}")


@pytest.mark.lab
def test_hostile_host_names_and_vars_reach_no_shell_in_plan_and_check(quiet, tmp_path, capsys):
    lab = quiet
    text = lab.inventory_path.read_text()
    text = _edit(text, "        relay2:\n", '        "relay2;$(touch /tmp/pwned-host)`touch /tmp/pwned-host`":\n')
    text = _edit(
        text,
        "    sync_poll_seconds: 1",
        '    sync_poll_seconds: 1\n    operator_note: "$(touch /tmp/pwned-var); `touch /tmp/pwned-var`"',
    )
    hostile_config = json.dumps(HOSTILE_DIR + "/c.json")
    text = _edit(text, "          layout: guild\n", f"          layout: guild\n          config_path: {hostile_config}\n")
    inv = tmp_path / "hosts.yml"
    inv.write_text(text)
    extra = json.dumps({"extra_local_roots": [{"accessPoints": [{"address": "$(touch /tmp/pwned-var)", "port": 1}],
                                               "valency": 1}]})  # fmt: skip
    before = fleet_fingerprints(lab)
    # A shell expression as a peer address is refused at load time, with the step's file:line, before any SSH.
    assert main(["plan", "-i", str(inv), UPGRADE, "--json", "-e", extra]) == 1
    refused = capsys.readouterr()
    assert refused.out == ""
    assert "extra_local_roots[0].accessPoints[0].address: '$(touch /tmp/pwned-var)' is neither an IP address" in (
        refused.err
    )
    extra = json.dumps({"extra_local_roots": [{"accessPoints": [{"address": "relay9.example.com", "port": 1}],
                                               "valency": 1}]})  # fmt: skip
    assert main(["plan", "-i", str(inv), UPGRADE, "--json", "-e", extra]) == 1  # 1: a host has an error
    plan = json.loads(capsys.readouterr().out)
    errors = {h["host"]: h["error"] for h in plan["hosts"]}
    assert errors == {
        "relay1": f"{HOSTILE_DIR}/c.json: config.json missing or unreadable on the host",
        "relay2;$(touch /tmp/pwned-host)`touch /tmp/pwned-host`": None,  # the name is shown as it is
        "bp1": None,
    }
    rc = main(["run", "-i", str(inv), UPGRADE, "--check", "--diff", "-e", extra, "--state-dir", str(tmp_path)])
    capsys.readouterr()
    assert rc == 1
    assert fleet_fingerprints(lab) == before
    assert markers_absent(lab) == []


def _sh(value: str) -> str:
    import shlex

    return shlex.quote(value)
