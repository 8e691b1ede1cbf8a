"""Every variable the loader knows is honoured (it changes what the tool does) or refused with the reason."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.actions.seed_db import DbSeed, db_seed_of
from orchestrator.load.inventory import KNOWN_VARIABLES, InventoryError, load_inventory
from orchestrator.model import Host, Inventory, Role

# r1 gets the variable; r2 is a plain relay beside it (a jump target), bp1 a producer.
BASE = """\
all:
  vars: {{layout: iog, cardano_network: mainnet}}
  children:
    relays:
      hosts:
        r2: {{ansible_host: 203.0.113.2}}
        r1:
          {line}
    block_producers:
      hosts:
        bp1: {{proxy_jump: r2}}
"""

Check = Callable[[Host, Inventory], bool]
HONOURED: dict[str, tuple[str, Check]] = {
    "ansible_host": ("203.0.113.9", lambda h, _i: h.address == "203.0.113.9"),
    "ansible_ssh_host": ("203.0.113.9", lambda h, _i: h.address == "203.0.113.9"),
    "ansible_port": ("2222", lambda h, _i: h.port == 2222),
    "ansible_ssh_port": ("2222", lambda h, _i: h.port == 2222),
    "ansible_user": ("ops", lambda h, _i: h.user == "ops"),
    "ansible_ssh_user": ("ops", lambda h, _i: h.user == "ops"),
    "ansible_ssh_private_key_file": ("/keys/fleet", lambda h, _i: h.key_file == "/keys/fleet"),
    "ansible_private_key_file": ("/keys/fleet", lambda h, _i: h.key_file == "/keys/fleet"),
    "ansible_become": ("true", lambda h, _i: h.become),
    "ansible_become_password": ("\"{{ lookup('env', 'SUDO_PW') }}\"", lambda h, _i: h.become_password_env == "SUDO_PW"),
    "ansible_become_pass": ("\"{{ lookup('env', 'SUDO_PW') }}\"", lambda h, _i: h.become_password_env == "SUDO_PW"),
    "ansible_sudo_pass": ("\"{{ lookup('env', 'SUDO_PW') }}\"", lambda h, _i: h.become_password_env == "SUDO_PW"),
    "become_password_env": ("SUDO_PW", lambda h, _i: h.become_password_env == "SUDO_PW"),
    "ansible_ssh_common_args": ("'-o ProxyJump=r2'", lambda h, _i: h.proxy_jump == "r2"),
    "ansible_ssh_extra_args": ("'-o UserKnownHostsFile=/etc/fleet_hosts'", lambda h, _i: h.known_hosts_file == "/etc/fleet_hosts"),  # noqa: E501
    "proxy_jump": ("r2", lambda h, _i: h.proxy_jump == "r2"),
    "known_hosts_file": ("/etc/fleet_hosts", lambda h, _i: h.known_hosts_file == "/etc/fleet_hosts"),
    "node_address": ("198.51.100.50", lambda h, _i: h.peer_address == "198.51.100.50"),
    "node_port": ("3333", lambda h, _i: h.peer_port == 3333 and h.layout.node_port == 3333),
    "cardano_network": ("preprod", lambda h, _i: h.network == "preprod"),
    "layout": ("guild", lambda h, _i: h.layout.name == "guild" and h.layout.service_name == "cnode.service"),
    "node_release": ('{version: "8.9.0", sha256: "' + "a" * 64 + '"}', lambda h, _i: h.vars.get("node_release", {}).get("version") == "8.9.0"),  # noqa: E501
    "leader_schedule": ("{source: file, path: /var/lib/pool/schedule.json}",
                        lambda h, _i: h.vars.get("leader_schedule") == {"source": "file", "path": "/var/lib/pool/schedule.json"}),
    "db_seed": ("from_upgraded", lambda h, _i: db_seed_of(h) is DbSeed.FROM_UPGRADED),  # refusal: test_seed_db.py
    "db_seed_mib_per_second": ("200", lambda h, _i: h.vars.get("db_seed_mib_per_second") == 200),
    "root": ("/srv/cardano", lambda h, _i: h.layout.root == "/srv/cardano" and h.layout.config_path == "/srv/cardano/config/config.json"),  # noqa: E501
    "config_path": ("/etc/cardano/config.json", lambda h, _i: h.layout.config_path == "/etc/cardano/config.json"),
    "topology_path": ("/etc/cardano/topology.json", lambda h, _i: h.layout.topology_path == "/etc/cardano/topology.json"),
    "db_path": ("/data/db", lambda h, _i: h.layout.db_path == "/data/db"),
    "socket_path": ("/run/cardano/node.socket", lambda h, _i: h.layout.socket_path == "/run/cardano/node.socket"),
    "bin_dir": ("/usr/local/bin", lambda h, _i: h.layout.bin_dir == "/usr/local/bin"),
    "releases_dir": ("/srv/releases", lambda h, _i: h.layout.releases_dir == "/srv/releases"),
    "keys_dir": ("/srv/keys", lambda h, _i: h.layout.keys_dir == "/srv/keys"),
    "service_name": ("cardano-relay.service", lambda h, _i: h.layout.service_name == "cardano-relay.service"),
    "run_as": ("cardano", lambda h, _i: h.layout.run_as == "cardano"),
    "ledger_conversion": ("replay", lambda h, _i: h.vars.get("ledger_conversion") == "replay"),
}
REFUSED: dict[str, tuple[str, str]] = {
    "ansible_become_user": ("cardano", "needs root"),
    "ansible_become_method": ("su", "only sudo is supported"),
    "ansible_become_password": ("hunter2", "literal sudo password is not accepted"),
    "ansible_become_pass": ("hunter2", "literal sudo password is not accepted"),
    "ansible_sudo_pass": ("hunter2", "literal sudo password is not accepted"),
    "ansible_password": ("hunter2", "password logins are not supported"),
    "ansible_ssh_pass": ("hunter2", "password logins are not supported"),
    "ansible_connection": ("local", "only connects over SSH"),
    "ansible_ssh_common_args": ("'-o StrictHostKeyChecking=no'", "always checked strictly"),
    "genesis_dir": ("/srv/genesis", "cannot be set"),
}
# The only value the tool supports is what it always does (sudo to root, over SSH): accepted, others refused.
WHAT_IT_DOES: dict[str, str] = {"ansible_become_user": "root", "ansible_become_method": "sudo", "ansible_connection": "ssh"}
WARNED: dict[str, tuple[str, str]] = {
    "ansible_python_interpreter": ("/usr/bin/python3", "runs no Python on hosts"),
}
# In a group's vars (where Ansible reads it): tested by test_group_priority_orders_sibling_groups.
GROUP_ONLY = {"ansible_group_priority"}
ROLE = {"cardano_role"}  # test_cardano_role_gives_an_ungrouped_host_its_role
ROLE |= {"standby_for"}  # a standby producer's tie to its producer: tests/unit/test_inventory_standby.py


def load(tmp_path: Path, name: str, value: str) -> Inventory:
    path = tmp_path / "hosts.yml"
    path.write_text(BASE.format(line=f"{name}: {value}"))
    return load_inventory(path)


def test_every_known_variable_has_a_case() -> None:
    assert set(HONOURED) | set(REFUSED) | set(WARNED) | set(WHAT_IT_DOES) | GROUP_ONLY | ROLE == set(KNOWN_VARIABLES)
    assert set(WHAT_IT_DOES) <= set(REFUSED)  # every other value is refused


@pytest.mark.parametrize("name", sorted(WHAT_IT_DOES))
def test_variable_naming_what_the_tool_does_is_accepted(tmp_path: Path, name: str) -> None:
    inventory = load(tmp_path, name, WHAT_IT_DOES[name])
    assert inventory.host("r1").vars[name] == WHAT_IT_DOES[name] and not inventory.warnings


def test_cardano_role_gives_an_ungrouped_host_its_role(tmp_path: Path) -> None:
    text = "all:\n  vars: {layout: iog, cardano_network: mainnet}\n  hosts:\n    r9: {cardano_role: relay}\n"
    assert load_inventory(_write(tmp_path, text)).host("r9").role is Role.RELAY
    without = load_inventory(_write(tmp_path, text.replace("{cardano_role: relay}", "{}")))
    assert not without.hosts and "runs no cardano node" in without.skipped["r9"]  # listed, skipped (issue 29)


@pytest.mark.parametrize("name", sorted(HONOURED))
def test_honoured_variable_changes_the_host(tmp_path: Path, name: str) -> None:
    value, check = HONOURED[name]
    baseline = load_inventory(_write(tmp_path / "base", BASE.format(line="{}").replace("r1:\n          {}", "r1: {}")))
    changed = load(tmp_path, name, value)
    assert check(changed.host("r1"), changed), name
    assert not check(baseline.host("r1"), baseline), f"{name}: the check passes without the variable"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_variable_names_the_line_and_why(tmp_path: Path, name: str) -> None:
    value, reason = REFUSED[name]
    with pytest.raises(InventoryError) as err:
        load(tmp_path, name, value)
    assert err.value.line == 8 and reason in err.value.message
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize("name", sorted(WARNED))
def test_inert_variable_is_accepted_with_a_warning(tmp_path: Path, name: str) -> None:
    value, reason = WARNED[name]
    inventory = load(tmp_path, name, value)
    assert any(":8:" in w and reason in w for w in inventory.warnings)


def test_group_priority_orders_sibling_groups(tmp_path: Path) -> None:
    text = """\
        all:
          vars: {layout: iog, cardano_network: mainnet}
          children:
            relays: {hosts: {r1: }}
            a_group: {hosts: {r1: }, vars: {ansible_user: from_a, ansible_group_priority: GP}}
            b_group: {hosts: {r1: }, vars: {ansible_user: from_b}}
        """
    users = {}
    for priority in (1, 10):
        path = _write(tmp_path / str(priority), textwrap.dedent(text).replace("GP", str(priority)))
        users[priority] = load_inventory(path).host("r1").user
    assert users == {1: "from_b", 10: "from_a"}  # equal priority: by name, b wins; higher priority wins


def _write(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "hosts.yml"
    path.write_text(text)
    return path
