"""Inventory loading: Ansible's format and precedence, and every error at its file:line:column."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from orchestrator.load.inventory import (
    InventoryError,
    did_you_mean,
    edit_distance,
    load_inventory,
    parse_extra_vars,
)
from orchestrator.model import Role
from tests.fuzz_budget import examples

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "inventories"
EXAMPLES = Path(__file__).resolve().parents[2] / "inventory" / "examples"

# Lines 1-8; a case appends host variables of r1 from line 9 on (10 spaces of indent).
BASE = """\
all:
  vars:
    layout: iog
    cardano_network: mainnet
  children:
    relays:
      hosts:
        r1:
"""


def write(tmp_path: Path, text: str, name: str = "hosts.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# --- invalid inventories: (id, text, line, column, message; {path} is the file) ------------------

INVALID = [
    ("tab", "all:\n\thosts:\n", 2, 1, "YAML syntax error: found character '\\t' that cannot start any token"),
    (
        "duplicate-key",
        "all:\n  vars:\n    layout: iog\n    layout: guild\n",
        4,
        5,
        'YAML syntax error: found duplicate key "layout"',
    ),
    ("top-level-list", "- a\n- b\n", 1, 1, "an inventory is a mapping with 'all:' at the top, not a list"),
    (
        "top-level-hosts",
        "hosts:\n  r1:\n",
        1,
        1,
        "unknown top-level key 'hosts': 'hosts:' belongs under 'all:' or a group",
    ),
    ("top-level-typo", "al:\n  hosts:\n    r1:\n", 1, 1, "unknown top-level key 'al' — did you mean 'all'?"),
    ("group-key-typo", "all:\n  childern:\n", 2, 3, "unknown key 'childern' in group 'all' — did you mean 'children'?"),
    (
        "hosts-as-list",
        "all:\n  children:\n    relays:\n      hosts:\n        - r1\n",
        5,
        9,
        "'hosts' of group 'relays' must be a mapping (write 'name:' with a colon), not a list",
    ),
    (
        "vars-as-list",
        "all:\n  vars: [layout, iog]\n",
        2,
        9,
        "variables of group 'all' must be a mapping, not a list",
    ),
    (
        "bad-port",
        BASE + "          ansible_port: 70000\n",
        9,
        25,
        "'ansible_port' must be a port number 1..65535, not 70000",
    ),
    (
        "port-text",
        BASE + "          ansible_port: ssh\n",
        9,
        25,
        "'ansible_port' must be a port number 1..65535, not 'ssh'",
    ),
    ("bad-node-port", BASE + "          node_port: 0\n", 9, 22, "'node_port' must be a port number 1..65535, not 0"),
    ("unknown-role", BASE + "          cardano_role: relayy\n", 9, 25, "unknown role 'relayy' — did you mean 'relay'?"),
    ("unknown-layout", BASE + "          layout: guidl\n", 9, 19, "unknown layout 'guidl' — did you mean 'guild'?"),
    (
        "unknown-network",
        BASE + "          cardano_network: testnet\n",
        9,
        28,
        "unknown network 'testnet'; expected one of mainnet, preprod, preview",
    ),
    (
        "network-typo",
        BASE + "          cardano_network: mainet\n",
        9,
        28,
        "unknown network 'mainet' — did you mean 'mainnet'?",
    ),
    (
        "did-you-mean",
        BASE + "          cardano_netwrk: preview\n",
        9,
        11,
        "unknown variable 'cardano_netwrk' — did you mean 'cardano_network'?",
    ),
    (
        "did-you-mean-transposed",
        BASE + "          ansible_hsot: 203.0.113.9\n",
        9,
        11,
        "unknown variable 'ansible_hsot' — did you mean 'ansible_host'?",
    ),
    (
        "did-you-mean-path",
        BASE + "          topology_pth: /x\n",
        9,
        11,
        "unknown variable 'topology_pth' — did you mean 'topology_path'?",
    ),
    (
        "literal-become-password",
        BASE + "          ansible_become_password: hunter2\n",
        9,
        11,
        "a literal sudo password is not accepted in inventory files; put it in an environment variable "
        "and set 'become_password_env: THAT_VARIABLE'",
    ),
    (
        "login-password",
        BASE + "          ansible_ssh_pass: hunter2\n",
        9,
        11,
        "'ansible_ssh_pass': password logins are not supported; use an SSH key",
    ),
    (
        "bad-env-name",
        BASE + "          become_password_env: 1BAD\n",
        9,
        32,
        "'become_password_env' must be the name of an environment variable (like SUDO_PASSWORD)",
    ),
    (
        "no-strict-host-keys",
        BASE + '          ansible_ssh_common_args: "-o StrictHostKeyChecking=no"\n',
        9,
        11,
        "host keys are always checked strictly; remove StrictHostKeyChecking and add the key to known_hosts_file",
    ),
    ("two-hops", BASE + "          proxy_jump: a,b\n", 9, 23, "only one ProxyJump hop is supported"),
    ("self-jump", BASE + "          proxy_jump: r1\n", 9, 11, "host 'r1' cannot jump through itself"),
    (
        "relative-path",
        BASE + "          db_path: data/db\n",
        9,
        20,
        "'db_path' must be an absolute path, not 'data/db'",
    ),
    (
        "bad-sha",
        BASE + '          node_release: {version: "8.9.0", sha256: abc}\n',
        9,
        25,
        "node_release 'sha256' must be 64 hexadecimal digits",
    ),
    (
        "release-key-typo",
        BASE + '          node_release: {version: "8.9.0", sorce: push}\n',
        9,
        25,
        "unknown key 'sorce' in node_release — did you mean 'source'?",
    ),
    (
        "release-version-number",
        BASE + "          node_release: {version: 8.9}\n",
        9,
        25,
        "node_release needs 'version' as a string, e.g. version: \"8.9.0\"",
    ),
    (
        "become-type",
        BASE + "          ansible_become: [yes]\n",
        9,
        27,
        "'ansible_become' must be a boolean, not a list",
    ),
    (
        "duplicate-host-conflict",
        BASE
        + "          ansible_host: 203.0.113.1\n"
        + "    eu:\n      hosts:\n        r1:\n          ansible_host: 203.0.113.2\n",
        13,
        11,
        "host 'r1' is defined again with a different value for 'ansible_host' (first at {path}:9)",
    ),
    (
        "both-roles",
        BASE + "    block_producers:\n      hosts:\n        r1:\n",
        8,
        9,
        "host 'r1' is in both 'relays' and 'block_producers'; a host has exactly one role",
    ),
    (
        "role-conflict",
        BASE + "          cardano_role: block_producer\n",
        9,
        11,
        "host 'r1' is in group 'relays' but has cardano_role: block_producer",
    ),
    (  # issue 29: a host in no role's group is listed and skipped, unless its group is a role group's typo
        "role-group-typo",
        "all:\n  vars:\n    layout: iog\n    cardano_network: mainnet\n  children:\n    relay:\n      hosts:\n"
        "        lonely:\n",
        6,
        5,
        "host 'lonely' is in group 'relay', not a role's group — did you mean 'relays'? (a host in none of "
        "relays, block_producers, passive_nodes, standby_producers and without cardano_role runs no node and is skipped)",
    ),
    (
        "producer-without-relay",
        "all:\n  vars:\n    layout: iog\n    cardano_network: mainnet\n  children:\n"
        "    block_producers:\n      hosts:\n        bp1:\n",
        8,
        9,
        "block producer 'bp1' has no relay in the inventory; a block producer only talks to its relays",
    ),
    (
        "no-layout",
        "all:\n  vars:\n    cardano_network: mainnet\n  children:\n    relays:\n      hosts:\n        r1:\n",
        7,
        9,
        "host 'r1' has no 'layout' (guild or iog); set it in group_vars/all.yml",
    ),
    (
        "no-network",
        "all:\n  vars:\n    layout: guild\n  children:\n    relays:\n      hosts:\n        r1:\n",
        7,
        9,
        "host 'r1' has no 'cardano_network' (mainnet, preprod, preview); set it in group_vars/all.yml",
    ),
    (
        "cycle",
        "all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n",
        7,
        13,
        "group 'a' is its own ancestor (all → a → b → a)",
    ),
    (
        "bad-range",
        "all:\n  children:\n    relays:\n      hosts:\n        r[5:1]:\n",
        5,
        9,
        "host range 'r[5:1]': end is before start",
    ),
    (
        "host-vars-not-mapping",
        "all:\n  children:\n    relays:\n      hosts:\n        r1: 203.0.113.1\n",
        5,
        13,
        "host 'r1' must map to its variables (or nothing), not a string",
    ),
    (
        "connection-local",  # a relay runs a node: a control connection is an error there, not a skip
        BASE + "          ansible_connection: local\n",
        9,
        11,
        "host 'r1' runs a node (its role says so) but has ansible_connection: local; cardano-fleet only "
        "connects over SSH",
    ),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_inventory_names_file_line_column(
    tmp_path: Path, text: str, line: int, column: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    expected = message.format(path=path)
    assert (caught.value.line, caught.value.column, caught.value.message) == (line, column, expected)
    assert str(caught.value) == f"{path}:{line}:{column}: {expected}"


def test_a_literal_password_is_never_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "          ansible_become_password: s3cret-Passw0rd\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in repr(caught.value.args)


def test_errors_in_group_vars_and_host_vars_files_name_that_file() -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory(FIXTURES / "bad-host-vars")
    host_vars = FIXTURES / "bad-host-vars" / "host_vars" / "r1.yml"
    assert str(caught.value) == f"{host_vars}:3:1: unknown variable 'node_prot' — did you mean 'node_port'?"

    with pytest.raises(InventoryError) as caught:
        load_inventory(FIXTURES / "typo-group-vars" / "hosts.yml")
    group_vars = FIXTURES / "typo-group-vars" / "group_vars" / "relay.yml"
    assert str(caught.value) == f"{group_vars}: group_vars for unknown group 'relay' — did you mean 'relays'?"


def test_missing_file_is_an_inventory_error(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read"):
        load_inventory(tmp_path / "nope.yml")


def test_bad_extra_vars_are_reported_against_dash_e(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path, {"ansible_port": "x"})
    assert str(caught.value) == "-e: 'ansible_port' must be a port number 1..65535, not 'x'"
    with pytest.raises(InventoryError, match="did you mean 'layout'"):
        load_inventory(path, {"layuot": "iog"})


# --- precedence, as Ansible resolves it -----------------------------------------------------------


def test_ansible_variable_precedence() -> None:
    """a..g are each set by one more layer; the value names the highest layer that set it."""
    inv = load_inventory(FIXTURES / "precedence" / "hosts.yml", {"g": "extra"})
    r1 = inv.host("r1")
    got = {k: r1.vars[k] for k in "abcdefg"}
    assert got == {
        "a": "all-inv",  # 1. inventory-file vars of all
        "b": "eu-inv",  # 2. inventory-file group vars, child (eu) over parent (relays)
        "c": "gv-all",  # 3. group_vars/all beats every inventory-file group var
        "d": "gv-eu",  # 4. group_vars/<group>, child over parent, later file in a directory wins
        "e": "r1-inline",  # 5. host vars in the inventory file
        "f": "hv-r1",  # 6. host_vars/<host>
        "g": "extra",  # 7. -e
    }
    r2 = inv.host("r2")
    assert (r2.vars["e"], r2.vars["f"]) == ("gv-eu", "gv-eu")


def test_group_priority_then_name_orders_sibling_groups() -> None:
    inv = load_inventory(FIXTURES / "precedence")
    assert inv.host("r1").vars["w"] == "wave_a"  # ansible_group_priority 10 beats the name order
    assert inv.host("r2").vars["w"] == "wave_c"  # same depth and priority: later name wins
    assert "zzz" not in inv.host("r1").vars  # group_vars of a group not in the inventory: ignored


def test_groups_and_membership() -> None:
    inv = load_inventory(FIXTURES / "precedence")
    assert [h.name for h in inv.hosts] == ["r1", "r2", "bp1"]
    assert inv.groups["relays"] == ("r1", "r2")
    assert inv.groups["eu"] == ("r1", "r2")
    assert inv.host("r1").groups == ("relays", "wave_a", "wave_b", "eu")
    assert inv.host("bp1").proxy_jump == "r1"
    assert inv.host("bp1").role is Role.BLOCK_PRODUCER
    assert [h.name for h in inv.relays] == ["r1", "r2"]


# --- the shipped examples -------------------------------------------------------------------------


def test_small_pool_example() -> None:
    inv = load_inventory(EXAMPLES / "small-pool" / "hosts.yml")
    relay1, relay2, bp1 = inv.hosts
    assert (relay1.role, relay2.role, bp1.role) == (Role.RELAY, Role.RELAY, Role.BLOCK_PRODUCER)
    assert relay1.user == "ops"  # group_vars/all.yml beats `all: vars:` in hosts.yml
    assert bp1.user == "bpops"  # host_vars/bp1.yml beats group_vars/all.yml
    assert bp1.proxy_jump == "ops@203.0.113.11"
    assert bp1.become and bp1.become_password_env == "CARDANO_BP_SUDO_PASSWORD"
    assert relay2.port == 2222
    assert relay2.layout.db_path == "/srv/cardano/db"
    assert relay1.layout.db_path == "/opt/cardano/db"
    assert bp1.layout.name == "iog" and bp1.peer_port == 3001
    assert bp1.known_hosts_file == os.path.expanduser("~/.ssh/cardano_fleet_known_hosts")
    assert bp1.vars["node_release"]["version"] == "8.9.0"


def test_exchange_example() -> None:
    inv = load_inventory(EXAMPLES / "exchange")
    assert len(inv.hosts) == 15 and not inv.block_producers
    assert all(h.layout.name == "guild" and h.network == "mainnet" for h in inv.hosts)
    v6 = inv.host("eu-relay07.exchange.example")
    assert v6.address == "2001:db8::7"
    assert v6.layout.service_name == "cnode-v6.service"
    assert v6.groups == ("relays", "eu_relays", "eu_v6_relays")
    assert inv.host("us-relay03.exchange.example").peer_port == 6001
    assert inv.host("us-relay01.exchange.example").proxy_jump == "jump@bastion-us.exchange.example"
    assert inv.host("eu-relay02.exchange.example").peer_port == 6000
    assert inv.host("ap-relay01.exchange.example").vars["node_release"]["source"] == "push"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (None, 15),
        ("all", 15),
        ("wave1", ["eu-relay01.exchange.example", "us-relay01.exchange.example"]),
        ("wave2", ["ap-relay01.exchange.example", "ap-relay02.exchange.example"]),
        ("eu_v6_relays", ["eu-relay07.exchange.example"]),
        (
            "ap-relay02.exchange.example,wave1",
            ["eu-relay01.exchange.example", "us-relay01.exchange.example", "ap-relay02.exchange.example"],
        ),
        ("us_relays:!us-relay0[2-6]*", ["us-relay01.exchange.example"]),
        ("relays:!eu_relays:!us_relays", ["ap-relay01.exchange.example", "ap-relay02.exchange.example"]),
        ("nothing-like-this", []),
    ],
)
def test_limit_selection(pattern: str | None, expected: int | list[str]) -> None:
    inv = load_inventory(EXAMPLES / "exchange")
    names = [h.name for h in inv.select(pattern)]
    if isinstance(expected, int):
        assert len(names) == expected
    else:
        assert names == expected


# --- SSH details ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "jump", "known"),
    [
        ("-o ProxyJump=ops@203.0.113.1", "ops@203.0.113.1", None),
        ("-oProxyJump=ops@203.0.113.1:2222", "ops@203.0.113.1:2222", None),
        ("-J bastion", "bastion", None),
        ("-o 'ProxyJump ops@bastion' -o UserKnownHostsFile=/etc/kh", "ops@bastion", "/etc/kh"),
        ("-o ProxyCommand='ssh -W %h:%p -q -p 2200 ops@bastion'", "ops@bastion:2200", None),
        ("-o StrictHostKeyChecking=yes", None, None),
    ],
)
def test_ssh_common_args(tmp_path: Path, args: str, jump: str | None, known: str | None) -> None:
    path = write(tmp_path, BASE + f"          ansible_ssh_common_args: {json.dumps(args)}\n")
    host = load_inventory(path).host("r1")
    assert (host.proxy_jump, host.known_hosts_file) == (jump, known)


def test_unhandled_ssh_options_are_warnings_not_silence(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + '          ansible_ssh_common_args: "-o ServerAliveInterval=30 -C"\n')
    inv = load_inventory(path)
    assert inv.warnings == (
        f"{path}:9:11: SSH option 'ServerAliveInterval=30' ignored",
        f"{path}:9:11: SSH argument '-C' ignored",
    )


def test_proxy_command_that_is_not_a_jump_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "          ansible_ssh_common_args: \"-o ProxyCommand='nc -X 5 %h %p'\"\n")
    with pytest.raises(InventoryError, match=r":9:11: only 'ssh -W"):
        load_inventory(path)


def test_tool_proxy_jump_beats_ssh_args(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE + '          ansible_ssh_common_args: "-o ProxyJump=a@x"\n          proxy_jump: b@y\n',
    )
    assert load_inventory(path).host("r1").proxy_jump == "b@y"


def test_become_password_from_env_lookup(tmp_path: Path) -> None:
    text = BASE + "          ansible_become: yes\n          ansible_become_password: \"{{ lookup('env', 'BP_PW') }}\"\n"
    host = load_inventory(write(tmp_path, text)).host("r1")
    assert host.become is True and host.become_password_env == "BP_PW"


def test_connection_fields_and_defaults(tmp_path: Path) -> None:
    text = BASE + (
        "          ansible_host: 203.0.113.7\n"
        '          ansible_port: "2222"\n'
        "          ansible_user: cardano\n"
        "          ansible_ssh_private_key_file: /keys/id\n"
        "          node_address: 198.51.100.7\n"
        "          node_port: 3002\n"
        "          socket_path: /run/cardano/node.socket\n"
        "          my_own_setting: {anything: [1, 2]}\n"
        "        r2:\n"
    )
    inv = load_inventory(write(tmp_path, text))
    r1, r2 = inv.hosts
    assert (r1.address, r1.port, r1.user, r1.key_file) == ("203.0.113.7", 2222, "cardano", "/keys/id")
    assert (r1.peer_address, r1.peer_port, r1.layout.node_port) == ("198.51.100.7", 3002, 3002)
    assert r1.layout.socket_path == "/run/cardano/node.socket"
    assert r1.vars["my_own_setting"] == {"anything": [1, 2]}
    assert (r2.address, r2.port, r2.user, r2.key_file, r2.become) == ("r2", 22, "root", None, False)
    assert (r2.peer_address, r2.peer_port) == ("r2", 3001)
    json.dumps([dict(h.vars) for h in inv.hosts])  # plain values only, no YAML node types


def test_same_host_twice_with_compatible_vars_is_fine(tmp_path: Path) -> None:
    text = (
        BASE
        + "          ansible_host: 203.0.113.1\n"
        + "    wave1:\n      hosts:\n        r1:\n          ansible_host: 203.0.113.1\n"
    )
    inv = load_inventory(write(tmp_path, text))
    assert len(inv.hosts) == 1 and inv.host("r1").groups == ("relays", "wave1")


def test_host_ranges(tmp_path: Path) -> None:
    text = "all:\n  vars: {layout: guild, cardano_network: preview}\n  children:\n    relays:\n      hosts:\n"
    text += "        relay[08:10].example:\n        edge-[a:c]:\n        r[0:6:3]:\n"
    names = [h.name for h in load_inventory(write(tmp_path, text)).hosts]
    assert names == [
        "relay08.example",
        "relay09.example",
        "relay10.example",
        "edge-a",
        "edge-b",
        "edge-c",
        "r0",
        "r3",
        "r6",
    ]


def test_empty_inventory(tmp_path: Path) -> None:
    assert load_inventory(write(tmp_path, "# nothing yet\n")).hosts == ()
    assert load_inventory(write(tmp_path, "all:\n")).hosts == ()


def test_inventory_directory_reads_the_sources_in_it() -> None:
    inventory = load_inventory(EXAMPLES / "small-pool")
    assert inventory.source == str(EXAMPLES / "small-pool")
    assert [h.name for h in inventory.hosts] == [h.name for h in load_inventory(EXAMPLES / "small-pool" / "hosts.yml").hosts]


# --- helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [("", "", 0), ("abc", "abc", 0), ("abc", "acb", 1), ("layout", "layuot", 1), ("kitten", "sitting", 3)],
)
def test_edit_distance(a: str, b: str, d: int) -> None:
    assert edit_distance(a, b) == d == edit_distance(b, a)


def test_did_you_mean_is_cautious_with_short_names() -> None:
    assert did_you_mean("host", ["root"]) is None  # 2 edits of 4 letters is another word
    assert did_you_mean("roots", ["root"]) == "root"
    assert did_you_mean("cardano_network", ["cardano_network"]) is None


def test_parse_extra_vars(tmp_path: Path) -> None:
    file = tmp_path / "vars.yml"
    file.write_text("layout: guild\nnode_port: 6001\n")
    got = parse_extra_vars(["a=1 b='two words'", '{"c": [1, 2]}', f"@{file}", "a=3"])
    assert got == {"a": "3", "b": "two words", "c": [1, 2], "layout": "guild", "node_port": 6001}
    with pytest.raises(InventoryError, match="expected key=value"):
        parse_extra_vars(["novalue"])


# --- fuzz: whatever the text, the only exception is InventoryError --------------------------------

_WORDS = st.sampled_from(
    [
        "all",
        "hosts",
        "vars",
        "children",
        "relays",
        "block_producers",
        "r1",
        "bp1",
        "layout",
        "iog",
        "guild",
        "cardano_network",
        "mainnet",
        "cardano_role",
        "relay",
        "ansible_port",
        "ansible_host",
        "proxy_jump",
        "node_release",
        "version",
        "sha256",
        "ansible_ssh_common_args",
        "-o ProxyJump=x",
        "db_path",
        "/opt/x",
        "r[1:3]",
        "r[3:1]",
        "ansible_become_password",
        "become_password_env",
        "ansible_become",
        "yes",
        "{{ lookup('env', 'X') }}",
        "ansible_group_priority",
        "node_port",
    ]
)
_SCALARS = st.one_of(_WORDS, st.integers(-5, 70000), st.booleans(), st.none(), st.text(max_size=8))
_TREES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_WORDS, inner, max_size=5)),
    max_leaves=30,
)


def _load_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "hosts.yml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        with contextlib.suppress(InventoryError):
            load_inventory(path)


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_fuzz_arbitrary_text_only_raises_inventory_error(text: str) -> None:
    _load_text(text.encode("utf-8", "replace").decode("utf-8"))


@settings(max_examples=examples(75), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TREES)
def test_fuzz_inventory_shaped_yaml_only_raises_inventory_error(tree: object) -> None:
    document = tree if isinstance(tree, dict) else {"all": tree}
    _load_text(json.dumps(document))  # flow style
    block = io.StringIO()
    YAML(typ="safe", pure=True).dump(document, block)  # block style, as people write inventories
    _load_text(block.getvalue())


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes_only_raise_inventory_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "hosts.yml"
        path.write_bytes(data)
        with contextlib.suppress(InventoryError):
            load_inventory(path)
