"""Issue 29 item 1: one schema of settings for every source; typos and bad values refused at the operator's line."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from orchestrator.load.bundled import bundled_root
from orchestrator.load.inventory import InventoryError, load_inventory, parse_extra_vars
from orchestrator.load.playbook import PlaybookError, load_playbook
from orchestrator.load.settings import check_setting, role_settings

ROOT = Path(__file__).resolve().parents[2]
INI = """\
[all:vars]
layout=iog
cardano_network=mainnet

[relays]
r1 ansible_host=203.0.113.1

[passive_nodes]
p1 ansible_host=203.0.113.2
"""


def test_the_schema_is_every_bundled_role_default_an_action_reads() -> None:
    """One home: the names are the roles' defaults (minus node_release, read by dotted templates and
    checked as a ReleasePin by the inventory itself), the types the actions' parsers."""
    declared: set[str] = set()
    for defaults in (bundled_root() / "roles").glob("*/defaults.yml"):
        declared |= set(YAML(typ="safe").load(defaults.read_text()) or {})
    assert set(role_settings()) == declared - {"node_release"}
    for setting in role_settings().values():  # every default is valid by its own schema
        assert check_setting(setting.name, setting.default) is None, setting.name


# (where the typo is written, text, expected file suffix, line, suggestion)
TYPOS = [
    ("group_vars", "group_vars/all.yml", "drain_comand: 'echo hi'\n", 1, "drain_command"),
    ("host_vars", "host_vars/p1.yml", "passive_topolgy: private\n", 1, "passive_topology"),
    ("inventory INI", "hosts.ini", None, 4, "sync_soak_seconds"),
]


@pytest.mark.parametrize(("case", "file", "text", "line", "hint"), TYPOS, ids=[t[0] for t in TYPOS])
def test_a_typo_of_a_role_setting_in_the_inventory_is_refused_at_its_line(
    tmp_path: Path, case: str, file: str, text: str | None, line: int, hint: str
) -> None:
    inventory = INI if text is not None else INI.replace("cardano_network=mainnet\n",
                                                         "cardano_network=mainnet\nsync_soak_second=5\n")  # fmt: skip
    (tmp_path / "hosts.ini").write_text(inventory)
    if text is not None:
        (tmp_path / file).parent.mkdir()
        (tmp_path / file).write_text(text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path / "hosts.ini")
    assert caught.value.path == str(tmp_path / file)
    assert caught.value.line == line
    assert f"did you mean '{hint}'?" in caught.value.message


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("sync_soak_second=5", "sync_soak_seconds"),
        ("drain_comand=true", "drain_command"),
        ('{"passive_topolgy": "private"}', "passive_topology"),
    ],
)
def test_a_typo_in_extra_vars_is_refused(tmp_path: Path, text: str, hint: str) -> None:
    (tmp_path / "hosts.ini").write_text(INI)
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path / "hosts.ini", parse_extra_vars([text]))
    assert caught.value.path == "-e" and f"did you mean '{hint}'?" in caught.value.message


# (setting, bad value as written in INI, the action's verdict)
BAD_VALUES = [
    ("passive_topology", "Private", "must be one of ledger, private, not 'Private'"),
    ("restart_mode", "bounce", "must be one of auto, restart, reload"),
    ("sync_soak_seconds", "soon", "must be a number ≥ 0"),
    ("keep_manual_peers", "maybe", "must be true or false"),
    ("drain_timeout_seconds", "0", "must be more than 0"),
]


@pytest.mark.parametrize(("name", "value", "why"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_a_bad_value_in_hosts_ini_is_refused_at_hosts_ini(tmp_path: Path, name: str, value: str, why: str) -> None:
    (tmp_path / "hosts.ini").write_text(INI.replace("p1 ansible_host=203.0.113.2", f"p1 ansible_host=203.0.113.2 {name}={value}"))
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path / "hosts.ini")
    assert (caught.value.path, caught.value.line) == (str(tmp_path / "hosts.ini"), 9)
    assert why in caught.value.message and f"'{name}'" in caught.value.message


def test_good_values_of_every_form_pass(tmp_path: Path) -> None:
    """INI and -e give strings; the actions accept '5' and 'true' as Ansible does: so must the schema."""
    (tmp_path / "hosts.ini").write_text(INI.replace("p1 ansible_host=203.0.113.2",
                                                    "p1 ansible_host=203.0.113.2 passive_topology=private"))  # fmt: skip
    inventory = load_inventory(
        tmp_path / "hosts.ini", parse_extra_vars(["sync_soak_seconds=5 keep_manual_peers=false restart_mode=restart"])
    )
    assert inventory.host("p1").vars["passive_topology"] == "private"


def _playbook(tmp_path: Path, vars_text: str) -> Path:
    text = (ROOT / "playbooks" / "enable-p2p.yml").read_text()
    playbook = tmp_path / "play.yml"
    playbook.write_text(text.replace("min_healthy_relays: 1\n", f"min_healthy_relays: 1\nvars:\n{vars_text}", 1))
    return playbook


@pytest.mark.parametrize(("vars_text", "why"), [
    ("  sync_soak_second: 5\n", "did you mean 'sync_soak_seconds'?"),  # the same suggestion as the inventory's
    ("  passive_topology: Private\n", "passive_topology must be one of ledger, private"),  # at the playbook
])  # fmt: skip
def test_a_playbook_is_judged_by_the_same_schema(tmp_path: Path, vars_text: str, why: str) -> None:
    playbook = _playbook(tmp_path, vars_text)
    with pytest.raises(PlaybookError) as caught:
        load_playbook(playbook, roles_dir=ROOT / "roles")
    assert caught.value.path == str(playbook)
    assert why in caught.value.message


def test_names_far_from_every_setting_stay_the_operators(tmp_path: Path) -> None:
    """Ansible inventories carry many variables the tool never reads: they are not refused."""
    (tmp_path / "hosts.ini").write_text(
        INI.replace("cardano_network=mainnet\n", "cardano_network=mainnet\nmonitoring_team=sre\nntp_servers=x\n")
    )
    inventory = load_inventory(tmp_path / "hosts.ini")
    assert inventory.host("r1").vars["monitoring_team"] == "sre"
