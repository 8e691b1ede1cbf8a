"""Every inventory source Ansible reads by default, and values as Ansible means them (vault, templates)."""

from __future__ import annotations

import contextlib
import io
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.load import secrets
from orchestrator.load.inventory import InventoryError, load_inventory
from orchestrator.load.vault import VaultError, VaultSecret, VaultSecrets, decrypt, encrypt, secrets_from_options

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REALWORLD = FIXTURES / "realworld"
CORPUS = FIXTURES / "inventories" / "oracle"
PASSWORD = b"unit-test-vault-pass"


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    secrets.clear()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def vault(password: bytes = PASSWORD, vault_id: str = "default") -> VaultSecrets:
    return VaultSecrets(given=[VaultSecret(vault_id, password)], prompt_if_tty=False)


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# --- the three shared cases -----------------------------------------------------------------------


def test_shared_ini_inventory_reads_as_ansible_reads_it() -> None:
    inventory = load_inventory(REALWORLD / "ini-inventory" / "hosts")
    expected = json.loads((REALWORLD / "ini-inventory" / "ansible-inventory-list.json").read_text())
    assert {h.name: dict(h.vars) for h in inventory.hosts} == expected["_meta"]["hostvars"]
    relay2 = inventory.host("relay2.pool.example.com")
    assert (relay2.port, relay2.user, relay2.address) == (2222, "deploy", "relay2.pool.example.com")
    assert inventory.host("bp1").address == "198.51.100.21"
    assert inventory.groups["relays"] == ("relay1.pool.example.com", "relay2.pool.example.com")


def test_shared_vaulted_host_value_is_refused_without_a_password() -> None:
    with pytest.raises(InventoryError) as err:
        load_inventory(REALWORLD / "vaulted-host-value" / "hosts.yml")
    assert (err.value.line, err.value.column) == (15, 25)
    assert "vault-encrypted" in str(err.value) and "--vault-password-file" in str(err.value)
    assert "$ANSIBLE_VAULT" not in str(err.value) and "6237" not in str(err.value)


def test_shared_vaulted_host_value_decrypts_and_is_never_printed() -> None:
    case = REALWORLD / "vaulted-host-value"
    inventory = load_inventory(case / "hosts.yml", vault=vault(b"example-vault-pass"))
    bp1 = inventory.host("bp1")
    assert bp1.address == bp1.peer_address == "198.51.100.21"  # what SSH and the relays' topologies use
    code, out, _err = cli("inventory", "-i", str(case / "hosts.yml"), "--vault-password-file", str(case / "vault-pass.txt"))
    assert code == 0 and "198.51.100.21" not in out and "<vault-encrypted>" in out
    code, out, _err = cli("inventory", "-i", str(case / "hosts.yml"), "--json",
                          "--vault-password-file", str(case / "vault-pass.txt"))  # fmt: skip
    assert code == 0 and "198.51.100.21" not in out
    assert json.loads(out)["hosts"][1]["address"] == secrets.MASK


def test_shared_become_user_is_refused_with_the_reason() -> None:
    with pytest.raises(InventoryError) as err:
        load_inventory(REALWORLD / "become-user" / "hosts.yml")
    assert (err.value.line, err.value.column) == (8, 26)
    assert "ansible_become_user: cardano" in err.value.message and "needs root" in err.value.message


# --- INI --------------------------------------------------------------------------------------------


def test_ini_ranges_children_ports_and_typed_values() -> None:
    inventory = load_inventory(CORPUS / "ini-ranges-children" / "hosts.ini")
    names = [h.name for h in inventory.hosts]
    assert names[:4] == [f"relay0{i}.eu.pool.example.com" for i in (1, 2, 3, 4)]
    assert {"relay-us-a", "relay-us-b", "bp1"} <= set(names)
    relay4 = inventory.host("relay04.eu.pool.example.com")
    assert (relay4.port, relay4.peer_port, relay4.user) == (2222, 3001, "deploy")
    us = inventory.host("relay-us-a")
    assert (us.user, us.vars["owner"], us.peer_port) == ("ops", "ops team", 6000)  # quoted value; group_vars
    assert us.vars["flags"] == ["a", "b"] and us.vars["enabled"] is True and us.vars["sync_max_slot_lag"] == 120
    assert us.vars["note"] == "a value with spaces"
    assert set(inventory.groups["pool"]) == set(names)
    assert inventory.host("bp1").proxy_jump == "relay01.eu.pool.example.com"


INI_ERRORS = [
    ("undefined-vars-group", "[relays]\nr1\n[nope:vars]\nx=1\n", 3, "not defined anywhere"),
    ("undefined-child", "[relays]\nr1\n[pool:children]\nrelays\nghost\n", 5, "'ghost', which is not defined"),
    ("bad-host-var", "[relays]\nr1 ansible_user\n", 2, "expected key=value"),
    ("bad-section", "[relays]\nr1\n[relays:hostz]\n", 3, "unknown type 'hostz'"),
    ("spaces-in-section", "[relays]\nr1\n[block producers]\n", 3, "invalid section header"),
    ("unclosed-quote", '[relays]\nr1 ansible_user="deploy\n', 2, "cannot parse host line"),
    ("vars-without-equals", "[relays]\nr1\n[relays:vars]\nlayout guild\n", 4, "expected key=value"),
]


@pytest.mark.parametrize(("text", "line", "message"), [c[1:] for c in INI_ERRORS], ids=[c[0] for c in INI_ERRORS])
def test_ini_errors_name_the_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path / "hosts", text)
    with pytest.raises(InventoryError) as err:
        load_inventory(path)
    assert err.value.path == str(path) and err.value.line == line and message in err.value.message
    assert "YAML" not in err.value.message


def test_ini_in_a_yml_named_file_is_read_as_ini_like_ansible(tmp_path: Path) -> None:
    path = write(tmp_path / "hosts.yml", "[relays]\nr1 ansible_host=203.0.113.1\n[all:vars]\nlayout=iog\ncardano_network=mainnet\n")  # noqa: E501
    assert load_inventory(path).host("r1").address == "203.0.113.1"


def test_a_broken_ini_file_is_diagnosed_as_ini_not_as_yaml(tmp_path: Path) -> None:
    path = write(tmp_path / "hosts", "relay1: x\n[relays]\nrelay1 ansible_user=deploy\n  - what\n")
    with pytest.raises(InventoryError) as err:
        load_inventory(path)
    assert "looks like an INI inventory" in err.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"localRoots": [], "publicRoots": []}', "cardano-node topology.json"),
        ('{"Protocol": "Cardano", "ByronGenesisFile": "x"}', "cardano-node config.json"),
        ("- hosts: all\n  roles: [x]\n", "Ansible playbook"),
        ("name: x\nstages: []\n", "playbook, not an inventory"),
    ],
)
def test_other_documents_are_named_as_what_they_are(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InventoryError) as err:
        load_inventory(write(tmp_path / "inventory.yml", text))
    assert message in err.value.message


def test_toml_inventory_like_ansibles_toml_plugin() -> None:
    inventory = load_inventory(CORPUS / "toml" / "hosts.toml")
    relay3 = inventory.host("relay3.pool.example.com")
    assert (relay3.port, relay3.peer_port, relay3.user) == (2222, 3001, "deploy")
    assert set(inventory.groups["pool"]) == {h.name for h in inventory.hosts}


def test_toml_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "hosts.toml", '[all.vars]\nlayout = "iog"\n[relays]\nhosts = ["r1"]\n')
    with pytest.raises(InventoryError) as err:
        load_inventory(path)
    assert err.value.line == 3 and "'hosts' of group 'relays' must be a table" in err.value.message
    broken = write(tmp_path / "broken.toml", '[all.vars]\nlayout = \n')
    with pytest.raises(InventoryError, match="TOML syntax error") as err:
        load_inventory(broken)
    assert err.value.line == 2


def test_a_comma_separated_host_list_like_ansibles_host_list() -> None:
    inventory = load_inventory("203.0.113.5,relay2:2222,", {"cardano_role": "relay", "layout": "iog",
                                                             "cardano_network": "mainnet"})  # fmt: skip
    assert [(h.name, h.address, h.port) for h in inventory.hosts] == [("203.0.113.5", "203.0.113.5", 22),
                                                                      ("relay2", "relay2", 2222)]  # fmt: skip
    assert inventory.groups == {"ungrouped": ("203.0.113.5", "relay2")}


# --- directories and dynamic inventories ------------------------------------------------------------


def test_directory_merges_its_sources_and_skips_what_ansible_skips() -> None:
    inventory = load_inventory(CORPUS / "directory")
    assert [h.name for h in inventory.hosts] == ["relay1", "relay2", "bp1"]
    assert inventory.host("bp1").user == "bpadmin" and inventory.host("relay1").user == "ops"
    assert inventory.host("bp1").network == "preprod"


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "inv").mkdir()
    write(tmp_path / "inv" / "notes.txt", "not an inventory")
    with pytest.raises(InventoryError, match="no inventory source"):
        load_inventory(tmp_path / "inv")


def test_dynamic_script_with_meta_hostvars() -> None:
    inventory = load_inventory(CORPUS / "dynamic-script" / "inventory.py")
    relay1 = inventory.host("relay1")
    assert (relay1.address, relay1.port, relay1.user, relay1.layout.name) == ("203.0.113.11", 2222, "deploy", "guild")
    assert inventory.host("bp1").proxy_jump == "relay1"
    assert inventory.host("bp1").is_producer


def test_dynamic_script_without_meta_is_asked_per_host(tmp_path: Path) -> None:
    listing = {"relays": ["r1"], "block_producers": {"hosts": ["bp1"]},
               "all": {"vars": {"layout": "iog", "cardano_network": "mainnet"}}}  # fmt: skip
    (tmp_path / "list.json").write_text(json.dumps(listing))
    script = write(tmp_path / "inv.sh", """\
        #!/bin/sh
        case "$1" in
          --list) cat "$(dirname "$0")/list.json" ;;
          --host) [ "$2" = r1 ] && echo '{"ansible_host": "203.0.113.7"}' || echo '{}' ;;
        esac
        """)
    script.chmod(0o755)
    inventory = load_inventory(script)
    assert inventory.host("r1").address == "203.0.113.7" and inventory.host("bp1").address == "bp1"


def test_failing_script_is_reported_with_its_stderr(tmp_path: Path) -> None:
    script = write(tmp_path / "inv.sh", "#!/bin/sh\necho 'CMDB unreachable' >&2\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(InventoryError) as err:
        load_inventory(script)
    assert err.value.path == str(script) and "exited 3" in err.value.message and "CMDB unreachable" in err.value.message


def test_static_list_json_file() -> None:
    inventory = load_inventory(CORPUS / "dynamic-static" / "fleet.json")
    assert inventory.host("relay2").peer_port == 6000 and inventory.host("relay2").user == "deploy"
    assert inventory.host("bp1").user == "root" and inventory.host("bp1").network == "preview"


def test_list_json_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "fleet.json", '{"_meta": {"hostvars": {}},\n  "relays": {\n    "hosts": "r1"\n  }\n}\n')
    with pytest.raises(InventoryError) as err:
        load_inventory(path)
    assert err.value.line == 3 and "'relays.hosts' must be a list" in err.value.message


# --- vault --------------------------------------------------------------------------------------------


def test_vault_round_trip_and_ids() -> None:
    envelope = encrypt("203.0.113.5", VaultSecret("prod", PASSWORD))
    assert envelope.startswith("$ANSIBLE_VAULT;1.2;AES256;prod\n")
    assert decrypt(envelope, [VaultSecret("other", b"wrong"), VaultSecret("x", PASSWORD)]) == "203.0.113.5"
    with pytest.raises(VaultError, match="none of the vault passwords"):
        decrypt(envelope, [VaultSecret("prod", b"wrong")])
    with pytest.raises(VaultError, match="no vault password"):
        decrypt(envelope, [])


def test_whole_vault_encrypted_group_vars_file() -> None:
    inventory = load_inventory(CORPUS / "vault" / "hosts.yml", vault=vault(b"oracle-test-vault-pass"))
    assert inventory.host("relay1").key_file == "/home/ops/.ssh/relay_ed25519"
    assert inventory.host("bp1").user == "bpadmin"
    with pytest.raises(InventoryError) as err:
        load_inventory(CORPUS / "vault" / "hosts.yml", vault=vault(b"wrong"))
    assert "vault-encrypted" in err.value.message and err.value.line > 0


def test_vault_password_sources(tmp_path: Path) -> None:
    file = write(tmp_path / "pass.txt", "file-pass\n")
    script = write(tmp_path / "pass.sh", "#!/bin/sh\necho script-pass\n")
    script.chmod(0o755)
    got = secrets_from_options([str(file)], [f"prod@{script}", "stage@prompt"], environ={})
    assert [(s.vault_id, s.password) for s in got.given] == [("prod", b"script-pass"), ("default", b"file-pass")]
    assert got.prompt_ids == ["stage"]
    from_env = secrets_from_options(environ={"ANSIBLE_VAULT_PASSWORD_FILE": str(file)})
    assert [s.password for s in from_env.given] == [b"file-pass"]
    with pytest.raises(VaultError, match="cannot read vault password file"):
        secrets_from_options([str(tmp_path / "missing")], environ={})


def test_vault_prompts_only_on_a_terminal(tmp_path: Path) -> None:
    text = f"all:\n  vars:\n    secret_thing: !vault |\n{textwrap.indent(encrypt('x1y2z3', VaultSecret('default', PASSWORD)), '      ')}"  # noqa: E501
    path = write(tmp_path / "hosts.yml", text + "  children:\n    relays:\n      hosts:\n        r1: {layout: iog, cardano_network: mainnet}\n")  # noqa: E501
    asked: list[str] = []

    def ask(vault_id: str) -> bytes:
        asked.append(vault_id)
        return PASSWORD

    on_tty = VaultSecrets(ask=ask, isatty=lambda: True)
    assert load_inventory(path, vault=on_tty).host("r1").vars["secret_thing"] == "x1y2z3"
    assert asked == ["default"]
    with pytest.raises(InventoryError, match="vault-encrypted"):
        load_inventory(path, vault=VaultSecrets(ask=ask, isatty=lambda: False))
    assert asked == ["default"]


def test_a_bad_vaulted_value_is_refused_without_echoing_it(tmp_path: Path) -> None:
    envelope = encrypt("not-a-port", VaultSecret("default", PASSWORD))
    text = "all:\n  vars:\n    layout: iog\n    cardano_network: mainnet\n  children:\n    relays:\n      hosts:\n        r1:\n          ansible_port: !vault |\n"  # noqa: E501
    path = write(tmp_path / "hosts.yml", text + textwrap.indent(envelope, "            "))
    with pytest.raises(InventoryError) as err:
        load_inventory(path, vault=vault())
    assert "not-a-port" not in str(err.value) and "vault-encrypted" in str(err.value)


# --- templates ------------------------------------------------------------------------------------------


def test_templates_render_in_the_hosts_scope_after_precedence() -> None:
    inventory = load_inventory(CORPUS / "templates" / "hosts.yml")
    relay2, bp1 = inventory.host("relay2.pool.example.com"), inventory.host("bp1")
    assert (relay2.address, relay2.user, relay2.peer_port) == ("203.0.113.12", "pool-ops", 3002)
    assert relay2.layout.config_path == "/srv/cardano/cnode/files/config.json"  # group_vars beat all:vars
    assert bp1.peer_port == 4001 and bp1.vars["node_port"] == 4001  # host_vars base_port; native int
    assert bp1.proxy_jump == "relay1.pool.example.com" and bp1.node_address == "203.0.113.11"
    assert relay2.vars["greeting"] == "relay relay2 in relays"


TEMPLATE_ERRORS = [
    ("undefined", 'ansible_host: "{{ nowhere }}"', "'nowhere' is undefined"),
    ("fact", 'ansible_host: "{{ ansible_default_ipv4.address }}"', "facts gathered from hosts"),
    ("ansible-filter", 'ansible_host: "{{ \'x\' | regex_replace(\'x\', \'y\') }}"', "Ansible-only filter"),
    ("lookup", "ansible_host: \"{{ lookup('file', '/etc/hostname') }}\"", "only lookup('env', NAME)"),
    ("loop", 'a_loop: "{{ b_loop }}"\n          b_loop: "{{ a_loop }}"', "refers to itself"),
    ("unsafe", 'ansible_host: !unsafe "{{ literal }}"', "unrendered template"),
    ("bad-type", 'node_port: "{{ \'eighty\' }}"', "port number"),
]


@pytest.mark.parametrize(("vars_text", "message"), [c[1:] for c in TEMPLATE_ERRORS], ids=[c[0] for c in TEMPLATE_ERRORS])
def test_templates_that_cannot_be_rendered_exactly_are_refused(tmp_path: Path, vars_text: str, message: str) -> None:
    text = "all:\n  vars:\n    layout: iog\n    cardano_network: mainnet\n  children:\n    relays:\n      hosts:\n        r1:\n          " + vars_text + "\n"  # noqa: E501
    path = write(tmp_path / "hosts.yml", text)
    with pytest.raises(InventoryError) as err:
        load_inventory(path)
    assert err.value.path == str(path) and err.value.line == 9 and message in err.value.message


def test_env_lookup_renders_like_ansibles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_TEST_HOST", "203.0.113.99")
    path = write(tmp_path / "hosts.yml", """\
        all:
          vars: {layout: iog, cardano_network: mainnet}
          children:
            relays:
              hosts:
                r1:
                  ansible_host: "{{ lookup('env', 'FLEET_TEST_HOST') }}"
        """)
    assert load_inventory(path).host("r1").address == "203.0.113.99"


def test_become_password_lookup_is_never_rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_PW", "hunter2")
    path = write(tmp_path / "hosts.yml", """\
        all:
          vars: {layout: iog, cardano_network: mainnet, ansible_user: ops, ansible_become: true}
          children:
            relays:
              hosts:
                r1:
                  ansible_become_password: "{{ lookup('env', 'SUDO_PW') }}"
        """)
    host = load_inventory(path).host("r1")
    assert host.become_password_env == "SUDO_PW" and "hunter2" not in repr(host)
