"""Issue 29 items 2-4: hosts skipped not refused, hostile values refused by kind, secrets never printed."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.facts.sections import _under
from orchestrator.load import secrets
from orchestrator.load.ansible_cfg import find_config, read_config
from orchestrator.load.inventory import InventoryError, SourceError, load_inventory, load_selection
from orchestrator.report.inventory_json import render_inventory_json
from orchestrator.report.inventory_table import print_inventory
from orchestrator.report.terminal import make_console
from tests.fuzz_budget import examples

BASE = "[all:vars]\nlayout=iog\ncardano_network=mainnet\n\n[relays]\nr1 ansible_host=203.0.113.1 {extra}\n"


def _load(tmp_path: Path, extra: str) -> None:
    (tmp_path / "hosts.ini").write_text(BASE.format(extra=extra))
    load_inventory(tmp_path / "hosts.ini")


HOSTILE = [
    ("address with a space", "ansible_ssh_host='203.0.113.1 -oProxyCommand=x'", "must be an address"),
    ("address as an option", "ansible_ssh_host=-oProxyCommand=touch", "leading '-'"),
    ("address with $()", "ansible_ssh_host='$(reboot)'", "shell characters"),
    ("user with ;", "ansible_user='ops;reboot'", "must be a user name"),
    ("user as an option", "ansible_user=-lroot", "leading '-'"),
    ("port out of range", "ansible_port=70000", "port number 1..65535"),
    ("path with ..", "config_path=/opt/cardano/../../etc/shadow", "without '..'"),
    ("relative path", "socket_path=run/node.socket", "must be an absolute path"),
    ("unit with space", "service_name='cnode; reboot'", "systemd unit name"),
    ("jump with space", "proxy_jump='r2 -oX=y'", "ProxyJump hop"),
    ("node address with |", "node_address='a|b'", "must be an address"),
    ("key file with ..", "ansible_ssh_private_key_file=/keys/../etc/x", "without '..'"),
]


@pytest.mark.parametrize(("case", "extra", "why"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_values_are_refused_at_their_line(tmp_path: Path, case: str, extra: str, why: str) -> None:
    with pytest.raises(InventoryError) as caught:
        _load(tmp_path, extra)
    assert (caught.value.path, caught.value.line) == (str(tmp_path / "hosts.ini"), 6)
    assert why in caught.value.message


@pytest.mark.parametrize(("path", "keys", "under"), [
    ("/opt/cardano/keys/vrf.skey", "/opt/cardano/keys", True),
    ("/opt/cardano/data/../keys/vrf.skey", "/opt/cardano/keys", True),
    ("/opt/cardano//keys/./kes.skey", "/opt/cardano/keys/", True),
    ("/opt/cardano/keys", "/opt/cardano/keys", True),
    ("/opt/cardano/keysbackup/x", "/opt/cardano/keys", False),
    ("/opt/cardano/keys/../logs/blocklog.db", "/opt/cardano/keys", False),
])  # fmt: skip
def test_the_keys_dir_guard_resolves_paths(path: str, keys: str, under: bool) -> None:
    assert _under(path, keys) is under


CONTROL = "localhost ansible_connection=local\n[monitoring]\ngrafana ansible_host=203.0.113.9\n" + BASE


def test_a_control_host_and_other_services_are_listed_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(CONTROL.format(extra="") +
                                        "[monitoring:vars]\nwhere=\"{{ ansible_default_ipv4.address }}\"\n")
    inventory, hosts = load_selection(tmp_path / "hosts.ini", [], "r1")
    assert [h.name for h in hosts] == ["r1"]
    assert "ansible_connection local" in inventory.skipped["localhost"]
    assert "runs no cardano node" in inventory.skipped["grafana"]
    document = json.loads(render_inventory_json(inventory, hosts))
    assert {s["name"] for s in document["skipped"]} == {"localhost", "grafana"}


def test_a_limit_naming_only_a_skipped_host_says_why(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(CONTROL.format(extra=""))
    with pytest.raises(InventoryError, match="localhost: ansible_connection local"):
        load_selection(tmp_path / "hosts.ini", [], "localhost")


def test_ansible_cfg_is_found_in_ansibles_order(tmp_path: Path) -> None:
    home, cwd, given = tmp_path / "home", tmp_path / "cwd", tmp_path / "given"
    for d in (home, cwd, given):
        d.mkdir()
    (home / ".ansible.cfg").write_text("[defaults]\nremote_user = home\n")
    assert find_config({}, cwd, home) == home / ".ansible.cfg"
    (cwd / "ansible.cfg").write_text("[defaults]\nremote_user = cwd\n")
    assert find_config({}, cwd, home) == cwd / "ansible.cfg"
    (given / "ansible.cfg").write_text("[defaults]\nremote_user = given\n")
    assert find_config({"ANSIBLE_CONFIG": str(given)}, cwd, home) == given / "ansible.cfg"
    os.chmod(cwd, 0o777)  # Ansible ignores ./ansible.cfg in a world-writable directory
    assert find_config({}, cwd, home) == home / ".ansible.cfg"


def test_ansible_cfg_defaults_and_what_it_does_not_honour(tmp_path: Path) -> None:
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\nremote_user = ops\nprivate_key_file = /keys/fleet\nremote_port = 2022\n"
                   "host_key_checking = False\ninventory = ./hosts\n")
    config = read_config(cfg)
    (tmp_path / "hosts.ini").write_text(BASE.format(extra="") + "r2 ansible_host=203.0.113.2 ansible_user=me\n")
    inventory = load_inventory(tmp_path / "hosts.ini", config=config)
    r1, r2 = inventory.host("r1"), inventory.host("r2")
    assert (r1.user, r1.port, r1.key_file) == ("ops", 2022, "/keys/fleet")
    assert r2.user == "me"  # an inventory variable beats ansible.cfg
    assert any("host_key_checking is not honoured" in w for w in inventory.warnings)
    assert any("inventory is not used" in w for w in inventory.warnings)
    cfg.write_text("[defaults]\nremote_port = lots\n")
    with pytest.raises(ValueError, match="remote_port"):
        read_config(cfg)


# (what ansible.cfg's vault_password_file names, a --vault-password-file flag given?) -> the address read,
# or the error. Ansible's order: the flags (and ANSIBLE_VAULT_PASSWORD_FILE) first, ansible.cfg only without them.
CFG_VAULT = [
    ("vault-pass.txt", False, "203.0.113.50"),  # relative to ansible.cfg's directory, as Ansible resolves it
    ("vault-pass.txt", True, "203.0.113.50"),  # the flag's password is the same: it is used, the file is not read
    ("missing.txt", True, "203.0.113.50"),  # a flag given: ansible.cfg's (missing) file is never opened
    ("missing.txt", False, "ansible.cfg: vault_password_file: cannot read"),  # refused naming ansible.cfg, not ignored
]


@pytest.mark.parametrize(("cfg_file", "flag", "expected"), CFG_VAULT)
def test_ansible_cfg_vault_password_file_is_used_only_without_a_flag(
    tmp_path: Path, cfg_file: str, flag: bool, expected: str
) -> None:
    from orchestrator.load.vault import VaultSecret, VaultSecrets, encrypt

    password = b"cfg-vault-pass"
    (tmp_path / "vault-pass.txt").write_bytes(password + b"\n")
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text(f"[defaults]\nvault_password_file = {cfg_file}\n")
    envelope = encrypt("203.0.113.50", VaultSecret("default", password))
    (tmp_path / "hosts.yml").write_text(
        "all:\n  vars:\n    layout: iog\n    cardano_network: mainnet\n  children:\n    relays:\n      hosts:\n"
        "        r1:\n          ansible_host: !vault |\n" + "".join(f"            {line}\n" for line in envelope.splitlines())
    )
    vault = VaultSecrets(given=[VaultSecret("default", password)] if flag else [], prompt_if_tty=False)
    if expected.startswith("ansible.cfg"):
        with pytest.raises(InventoryError) as caught:
            load_inventory(tmp_path / "hosts.yml", vault=vault, config=read_config(cfg))
        assert str(caught.value).startswith(str(tmp_path / expected))
        return
    assert load_inventory(tmp_path / "hosts.yml", vault=vault, config=read_config(cfg)).host("r1").address == expected


def test_a_group_vars_file_beside_its_directory_is_not_read_and_a_warning_says_so() -> None:
    """group_vars/all.yml beside group_vars/all/: Ansible reads only the directory (the oracle case
    group-vars-file-and-dir-and-symlink checks the values against ansible-core); the file is never
    silently ignored: a warning names it. A symlinked group_vars directory is followed."""
    case = Path(__file__).resolve().parents[1] / "fixtures" / "inventories" / "oracle" / "var-dirs"
    inventory = load_inventory(case / "hosts.yml")
    relay = inventory.host("relay1")
    assert (relay.network, relay.vars.get("from_dir"), relay.vars.get("from_file")) == ("mainnet", "dir", None)
    assert relay.vars.get("relay_note") == "from a symlinked directory"
    assert [w for w in inventory.warnings if "not read" in w] == [
        f"{case / 'group_vars' / 'all.yml'}: not read, as Ansible does not read it: {case / 'group_vars' / 'all'} is "
        "read instead (Ansible reads the first of NAME/, NAME, NAME.yml, NAME.yaml, NAME.json)"
    ]


PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _outputs(inventory_path: Path) -> tuple[str, str, str]:
    """The inventory as JSON, as the tables a terminal gets, and as the records a pipe gets."""
    inventory, hosts = load_selection(inventory_path, [], None)
    rendered = []
    for out in (_Terminal(), io.StringIO()):
        print_inventory(make_console(out), inventory.source, hosts, inventory.warnings, inventory.helpers,
                        inventory.skipped)  # fmt: skip
        rendered.append(out.getvalue())
    return render_inventory_json(inventory, hosts), rendered[0], rendered[1]


def test_env_lookups_and_multiline_secrets_never_print_and_tables_stay_aligned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_SECRET_HOST", "198.51.100.77")
    secrets.clear()
    try:
        secrets.register(PEM)  # as the loader registers a multi-line vault value
        (tmp_path / "hosts.yml").write_text(
            "all:\n  vars: {layout: iog, cardano_network: mainnet}\n  children:\n    relays:\n      hosts:\n"
            "        r1:\n          ansible_host: \"{{ lookup('env', 'FLEET_SECRET_HOST') }}\"\n"
            f"          deploy_key: {json.dumps(PEM)}\n"
        )
        as_json, table, records = _outputs(tmp_path / "hosts.yml")
    finally:
        secrets.clear()
    for text in (as_json, table, records):
        assert "198.51.100.77" not in text and "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" not in text
        assert "BEGIN OPENSSH" not in text
        assert secrets.MASK in text
    assert "┃" in table and "┃" not in records  # a terminal gets the table, a pipe one record per host
    assert [line for line in records.splitlines() if line.startswith("r1: relay; ssh ")] == [
        f"r1: relay; ssh root@{secrets.MASK}:22; node {secrets.MASK}:3001; layout iog; network mainnet; groups relays"]
    assert not [line for line in records.splitlines() if line != line.rstrip()]  # no trailing blanks
    plain = re.sub(r"\x1b\[[0-9;]*m", "", table)  # a terminal gets bold headers
    widths = {len(line) for line in plain.splitlines() if line.startswith(("┏", "┃", "┡", "│", "└"))}
    assert len(widths) <= 2, table  # the hosts table and the paths table: each keeps its borders


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_VALUE = st.one_of(_TEXT, st.integers(-5, 70000), st.booleans(), st.none(), st.lists(_TEXT, max_size=2))
_NAMES = st.sampled_from(["ansible_host", "ansible_user", "ansible_port", "config_path", "service_name",
                          "proxy_jump", "passive_topology", "drain_comand", "layout", "cardano_role",
                          "ansible_connection", "sync_soak_seconds", "node_address", "whatever"])  # fmt: skip


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(variables=st.dictionaries(_NAMES, _VALUE, max_size=4), secret=st.text(
    st.characters(min_codepoint=48, max_codepoint=122), min_size=6, max_size=20))
def test_fuzz_no_traceback_and_no_secret(tmp_path: Path, variables: dict[str, object], secret: str) -> None:
    """Any variables on a host: a clean SourceError or outputs without the registered secret."""
    secrets.clear()
    secrets.register(secret)
    try:
        body = json.dumps({"all": {"vars": {"layout": "iog", "cardano_network": "mainnet", "note": secret},
                                   "children": {"relays": {"hosts": {"r1": variables}}}}})  # fmt: skip
        (tmp_path / "fuzz.yml").write_text(body)
        try:
            as_json, table, records = _outputs(tmp_path / "fuzz.yml")
        except SourceError as exc:
            assert secret not in str(exc)
            return
        assert secret not in as_json and secret not in table and secret not in records
    finally:
        secrets.clear()
