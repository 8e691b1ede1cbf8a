"""Oracle: for a corpus of inventories, the variables cardano-fleet resolves per host equal Ansible's.

Ansible's answer comes from ansible-core itself (a test extra): `ansible-inventory --list` for which
variables each host has and their values as written, and Ansible's own Templar/VaultLib for what a
play would see once templates are rendered and vault values decrypted (tests/oracle/ansible_resolve.py).
Where cardano-fleet differs on purpose, the case says so and why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.load import secrets
from orchestrator.load.ansible_cfg import read_config
from orchestrator.load.inventory import load_inventory
from orchestrator.load.vault import VaultSecret, VaultSecrets

pytest.importorskip("ansible", reason="ansible-core (a test extra: pip install -e '.[test]') is not installed")

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
CORPUS = FIXTURES / "inventories" / "oracle"
REALWORLD = FIXTURES / "realworld"


# (id, source, vault password file, {variable: why cardano-fleet's value differs on purpose})
CASES: list[tuple[str, Path, Path | None, dict[str, str]]] = [
    ("shared-ini-inventory", REALWORLD / "ini-inventory" / "hosts", None, {}),
    ("shared-vaulted-host-value", REALWORLD / "vaulted-host-value" / "hosts.yml",
     REALWORLD / "vaulted-host-value" / "vault-pass.txt", {}),
    ("ini-ranges-children", CORPUS / "ini-ranges-children" / "hosts.ini", None, {}),
    ("directory", CORPUS / "directory", None, {}),
    ("toml", CORPUS / "toml" / "hosts.toml", None, {}),
    ("dynamic-script", CORPUS / "dynamic-script" / "inventory.py", None, {}),
    ("dynamic-static-json", CORPUS / "dynamic-static" / "fleet.json", None, {}),
    ("vault", CORPUS / "vault" / "hosts.yml", CORPUS / "vault" / "vault-pass.txt", {}),
    ("vault-password-file-in-ansible-cfg", CORPUS / "vault-cfg" / "hosts.yml", None, {}),
    ("templates", CORPUS / "templates" / "hosts.yml", None, {}),
    ("ssh-spellings-and-ansible-cfg", CORPUS / "ssh-spellings" / "hosts.ini", None, {}),
    ("control-host-and-other-services", CORPUS / "control-host" / "hosts.ini", None, {}),
    ("group-vars-file-and-dir-and-symlink", CORPUS / "var-dirs" / "hosts.yml", None, {}),
    ("group-priority", CORPUS / "group-priority" / "hosts.yml", None, {
        "ansible_group_priority": "Ansible consumes it as the group's priority and drops it from the "
                                  "variables; cardano-fleet keeps it visible in `inventory --json`",
    }),
]  # fmt: skip


def _config(source: Path) -> Path | None:
    """A case's ansible.cfg, beside its inventory: given to both tools (ANSIBLE_CONFIG for Ansible)."""
    found = source.parent / "ansible.cfg"
    return found if found.is_file() else None


def _ansible(source: Path, password_file: Path | None, tmp_path: Path, config: Path | None = None) -> dict[str, Any]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
        **({"ANSIBLE_CONFIG": str(config)} if config else {"ANSIBLE_CONFIG": str(tmp_path / "none.cfg")}),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1",
        "ANSIBLE_NOCOLOR": "1",
    }
    command = [sys.executable, str(HERE / "ansible_resolve.py"), str(source)]
    if password_file is not None:
        command.append(str(password_file))
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _ansible_source(source: Path, tmp_path: Path) -> Path:
    """Ansible reads --list JSON only from a program: give it the static file through `cat`."""
    if source.suffix != ".json":
        return source
    script = tmp_path / "static-json-inventory"
    script.write_text(f"#!/bin/sh\nexec cat {source}\n")
    script.chmod(0o755)
    return script


def ansible_asker(case: str) -> Callable[[Path], dict[str, Any]]:
    """What asks Ansible about `case` in a work directory of its own (tests/oracle/conftest.py runs it)."""
    _id, source, password_file, _differs = next(c for c in CASES if c[0] == case)

    def ask(work: Path) -> dict[str, Any]:
        return _ansible(_ansible_source(source, work), password_file, work, _config(source))

    return ask


def _transitive_groups(listed: dict[str, Any]) -> dict[str, set[str]]:
    def members(group: str, seen: frozenset[str] = frozenset()) -> set[str]:
        data = listed.get(group, {})
        out = set(data.get("hosts", []))
        for child in data.get("children", []):
            if child not in seen:
                out |= members(child, seen | {group})
        return out

    return {g: members(g) for g in listed if g not in ("_meta", "all", "ungrouped") and members(g)}


@pytest.mark.parametrize(("case", "source", "password_file", "differs"), CASES, ids=[c[0] for c in CASES])
def test_resolved_variables_equal_ansibles(
    case: str, source: Path, password_file: Path | None, differs: dict[str, str], ansible_oracle: Any
) -> None:
    config = _config(source)
    oracle = ansible_oracle.answer(case, ansible_asker(case))
    vault = VaultSecrets(prompt_if_tty=False)
    if password_file is not None:
        vault.given.append(VaultSecret("default", password_file.read_bytes().strip()))
    try:
        inventory = load_inventory(source, vault=vault, config=read_config(config))
        ours = {h.name: {k: v for k, v in h.vars.items() if k not in differs} for h in inventory.hosts}
        groups = {g: set(m) for g, m in inventory.groups.items() if g != "ungrouped"}
    finally:
        secrets.clear()
    # hosts that run no node (a control host, other services) are listed and skipped, never refused
    theirs = {h: {k: v for k, v in vs.items() if k not in differs} for h, vs in oracle["rendered"].items()
              if h not in inventory.skipped}  # fmt: skip
    assert set(inventory.skipped) <= set(oracle["rendered"]), "skipped a host Ansible does not have"
    assert set(ours) == set(theirs), "hosts differ"
    for host in inventory.hosts:  # who, where and with which key: as Ansible's own ssh plugin resolves it
        seen = oracle["connection"][host.name]
        assert (host.address, host.port, host.user) == (seen["host"], seen["port"] or 22, seen["remote_user"] or "root")
        assert host.key_file == (os.path.expanduser(seen["private_key_file"]) if seen["private_key_file"] else None)
    for name in inventory.skipped:
        assert oracle["connection"][name]["connection"] != "ssh" or name not in groups.get("relays", set())
    for host in theirs:
        assert ours[host] == theirs[host], f"{case}: variables of {host} differ from Ansible's"
    assert groups == {g: m for g, m in _transitive_groups(oracle["list"]).items()}, "group membership differs"
    for variable in differs:  # a difference on purpose must still be a real one
        assert any(variable in h.vars for h in inventory.hosts), f"{variable}: no longer differs; drop the note"
        assert not any(variable in vs for vs in oracle["rendered"].values()), f"{variable}: Ansible has it now"


def test_the_ini_case_matches_the_shared_ansible_listing() -> None:
    """The shared case carries what Ansible read from it; no ansible-core needed for this one."""
    expected = json.loads((REALWORLD / "ini-inventory" / "ansible-inventory-list.json").read_text())
    inventory = load_inventory(REALWORLD / "ini-inventory" / "hosts")
    assert {h.name: dict(h.vars) for h in inventory.hosts} == expected["_meta"]["hostvars"]


def test_oracle_runs_in_make_test() -> None:
    """`make test` installs the test extras: the oracle must not be skipped there."""
    assert shutil.which("ansible-inventory", path=str(Path(sys.executable).parent)) is not None
