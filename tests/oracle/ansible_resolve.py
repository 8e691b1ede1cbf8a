"""Ask ansible-core what each host's inventory variables resolve to (run in a subprocess by the oracle test).

Usage: python ansible_resolve.py SOURCE [VAULT_PASSWORD_FILE]
Prints {"list": <ansible-inventory --list>, "rendered": {host: {var: value as Ansible templates it}}}.
`ansible-inventory --list` shows values as written (templates unrendered, vault values encrypted);
"rendered" is what a play would see: each of those variables templated by Ansible's own Templar in the
host's scope, vault values decrypted by Ansible's own VaultLib.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def main() -> None:
    source = sys.argv[1]
    password_file = sys.argv[2] if len(sys.argv) > 2 else None
    command = [str(Path(sys.executable).parent / "ansible-inventory"), "-i", source, "--list"]
    if password_file:
        command += ["--vault-password-file", password_file]
    listed = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultSecret, VaultSecretsContext
    from ansible.template import Templar
    from ansible.vars.hostvars import HostVars
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    secrets = []
    if not password_file:  # as ansible-inventory's CLI: ansible.cfg's vault_password_file when no flag names one
        from ansible import constants

        password_file = constants.DEFAULT_VAULT_PASSWORD_FILE
    if password_file:
        secrets = [("default", VaultSecret(Path(password_file).read_bytes().strip()))]
        loader.set_vault_secrets(secrets)
    VaultSecretsContext.initialize(VaultSecretsContext(secrets))
    inventory = InventoryManager(loader=loader, sources=[source])
    variables = VariableManager(loader=loader, inventory=inventory)
    variables._hostvars = HostVars(inventory=inventory, variable_manager=variables, loader=loader)
    rendered: dict[str, dict[str, object]] = {}
    for host in inventory.get_hosts():
        scope = variables.get_vars(host=host)
        templar = Templar(loader=loader, variables=scope)
        names = listed["_meta"]["hostvars"].get(host.name, {})
        rendered[host.name] = {name: _plain(templar.template(scope[name])) for name in names}
    print(json.dumps({"list": listed, "rendered": rendered, "connection": _connection(inventory, variables)},
                     sort_keys=True))


def _connection(inventory: object, variables: object) -> dict[str, dict[str, object]]:
    """Address, port, user and key as Ansible's own ssh connection plugin resolves them for each host
    (inventory variables, both spellings, and ansible.cfg's defaults)."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader, init_plugin_loader
    from ansible.template import Templar

    init_plugin_loader()
    out: dict[str, dict[str, object]] = {}
    for host in inventory.get_hosts():  # type: ignore[attr-defined]
        scope = variables.get_vars(host=host)  # type: ignore[attr-defined]
        connection = connection_loader.get("ssh", PlayContext(), None)
        connection.set_options(var_options=scope)
        templar = Templar(loader=DataLoader(), variables=scope)  # a play templates the options it is given
        out[host.name] = {
            "connection": _plain(templar.template(scope.get("ansible_connection", "ssh"))),
            **{k: _plain(templar.template(connection.get_option(k)))
               for k in ("host", "port", "remote_user", "private_key_file")},
        }
    return out


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return value
    return str(value)


if __name__ == "__main__":
    main()
