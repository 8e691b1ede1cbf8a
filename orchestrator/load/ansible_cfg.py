"""The settings of `ansible.cfg` that decide which user, key and port reach a host, read as Ansible reads them.

Which file (ansible-core 2.19, `ansible.config.manager.find_ini_config_file`): the first that exists of
`$ANSIBLE_CONFIG` (a directory means `DIR/ansible.cfg`), `./ansible.cfg` — skipped when the current
directory is world-writable, as Ansible skips it — `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`.
Only one file is read; nothing merges.

Honoured (each the lowest-precedence default, below every inventory variable, as in Ansible):
`[defaults] remote_user`, `private_key_file`, `remote_port`, and `vault_password_file` (used only when
neither a vault flag nor ANSIBLE_VAULT_PASSWORD_FILE gives a password). `[defaults] inventory` is read
only to say it is not used: cardano-fleet always takes `-i`. Settings that would change how a host is
reached but that the tool cannot honour (`host_key_checking = False`, become settings, ssh_args…) are
reported as warnings, never ignored silently. The oracle test checks user, key and port against
ansible-core's own ssh connection plugin.
"""

from __future__ import annotations

import configparser
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["AnsibleConfig", "find_config", "read_config"]

# Keys that change how Ansible reaches or acts on a host, which cardano-fleet does not take from ansible.cfg.
_NOT_HONOURED: Mapping[str, frozenset[str]] = {
    "defaults": frozenset({"host_key_checking", "transport", "timeout", "become", "become_user", "become_method",
                           "ask_pass", "remote_tmp", "executable"}),  # fmt: skip
    "privilege_escalation": frozenset({"become", "become_user", "become_method", "become_ask_pass"}),
    "ssh_connection": frozenset({"ssh_args", "ssh_common_args", "ssh_extra_args", "control_path", "pipelining",
                                 "scp_if_ssh", "transfer_method", "host_key_checking"}),  # fmt: skip
}


@dataclass(frozen=True)
class AnsibleConfig:
    path: str | None = None  # the file read; None: no ansible.cfg
    remote_user: str | None = None
    private_key_file: str | None = None
    remote_port: int | None = None
    vault_password_file: str | None = None
    warnings: tuple[str, ...] = field(default=())


def find_config(environ: Mapping[str, str] | None = None, cwd: Path | None = None,
                home: Path | None = None) -> Path | None:  # fmt: skip
    """The one ansible.cfg Ansible would read, or None."""
    env = os.environ if environ is None else environ
    here = cwd or Path.cwd()
    candidates: list[Path] = []
    given = env.get("ANSIBLE_CONFIG")
    if given:
        path = Path(os.path.expanduser(given))
        candidates.append(path / "ansible.cfg" if path.is_dir() else path)
    try:
        world_writable = bool(here.stat().st_mode & stat.S_IWOTH)
    except OSError:
        world_writable = True
    if not world_writable:
        candidates.append(here / "ansible.cfg")
    candidates.append((home or Path(os.path.expanduser("~"))) / ".ansible.cfg")
    candidates.append(Path("/etc/ansible/ansible.cfg"))
    return next((c for c in candidates if c.is_file()), None)


def read_config(path: Path | None) -> AnsibleConfig:
    """The honoured settings of `path` (ValueError with `path:line`-less reason when it is not INI)."""
    if path is None:
        return AnsibleConfig()
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None, strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ValueError(f"{path}: cannot read as Ansible's INI config: {str(exc).splitlines()[0]}") from None
    where = str(path)
    warnings: list[str] = []

    def get(key: str) -> str | None:
        value = parser.get("defaults", key, fallback=None) if parser.has_section("defaults") else None
        return value.strip() if value and value.strip() else None

    port_text = get("remote_port")
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"{where}: [defaults] remote_port must be a port number 1..65535, not {port_text!r}")
        port = int(port_text)
    if get("inventory"):
        warnings.append(f"{where}: [defaults] inventory is not used: cardano-fleet always takes -i INV")
    for section, keys in _NOT_HONOURED.items():
        if not parser.has_section(section):
            continue
        for key in sorted(keys & set(parser[section])):
            warnings.append(f"{where}: [{section}] {key} is not honoured by cardano-fleet (host keys are always "
                            "checked; become and SSH options come from the inventory's variables)")  # fmt: skip
    base = path.parent
    key_file = get("private_key_file")
    vault_file = get("vault_password_file")
    return AnsibleConfig(
        path=where,
        remote_user=get("remote_user"),
        private_key_file=os.path.expanduser(key_file) if key_file else None,
        remote_port=port,
        vault_password_file=str(base / os.path.expanduser(vault_file)) if vault_file else None,
        warnings=tuple(warnings),
    )
