"""(d) The same read-only fleet-wide read with Ansible (bench/ansible/read-state.yml), kept to itself."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.child import Child, run_child
from bench.lab import log
from bench.settings import ANSIBLE_VENV, CHILD_TIMEOUT, PLAYBOOK


def ensure_ansible() -> Path | None:
    """bench/.venv-ansible with ansible-core (created once; gitignored)."""
    playbook = ANSIBLE_VENV / "bin" / "ansible-playbook"
    if playbook.exists():
        return playbook
    log("creating bench/.venv-ansible with ansible-core (once)")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True)
        subprocess.run(
            [str(ANSIBLE_VENV / "bin" / "pip"), "install", "-q", "ansible-core"],
            check=True, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"cannot install ansible-core ({exc}); the Ansible comparison is skipped")
        return None
    return playbook if playbook.exists() else None


def ansible_env(known_hosts: str, home: Path, control: Path, forks: int) -> dict[str, str]:
    """Ansible kept to itself: config, ANSIBLE_HOME and control sockets in temp dirs."""
    ssh_args = (
        "-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=yes "
        f"-o UserKnownHostsFile={known_hosts} -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes "
        "-o IdentitiesOnly=yes"
    )
    cfg = home / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "SSH_AUTH_SOCK"}
    env.update(
        ANSIBLE_CONFIG=str(cfg),
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_FORKS=str(forks),
        ANSIBLE_PIPELINING="True",
        ANSIBLE_HOST_KEY_CHECKING="True",
        ANSIBLE_SSH_ARGS=ssh_args,
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(control),
        ANSIBLE_SSH_CONTROL_PATH=f"{control}/%%C",  # %-formatted by Ansible: ssh sees %C
        ANSIBLE_GATHERING="explicit",
        ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_TIMEOUT="30",  # connect timeout (default 10 s): as patient as cardano-fleet's 10+10+15 s
    )
    return env


def close_masters(hosts: Sequence[Any], env: Mapping[str, str]) -> None:
    """ControlPersist masters outlive ansible-playbook: close each one (ssh -O exit)."""
    control = env["ANSIBLE_SSH_CONTROL_PATH"].replace("%%", "%")
    for h in hosts:
        subprocess.run(
            ["ssh", "-F", "/dev/null", "-o", f"ControlPath={control}", "-p", str(h.port), "-O", "exit",
             f"{h.user}@{h.address}"],
            capture_output=True, check=False, timeout=10,
        )  # fmt: skip


def ansible_once(playbook_bin: Path, inventory: Path, hosts: Sequence[Any], home: Path) -> tuple[Child, str | None]:
    """One cold ansible-playbook run (no master left from a previous run); (child, error)."""
    control = Path(tempfile.mkdtemp(prefix="cfb-", dir="/tmp"))  # short: unix socket paths max 108 bytes
    env = ansible_env(str(hosts[0].known_hosts_file), home, control, forks=len(hosts))
    try:
        child = run_child(
            [str(playbook_bin), "-i", str(inventory), str(PLAYBOOK)], env=env, cwd=home, timeout=CHILD_TIMEOUT["ansible"]
        )
    finally:
        close_masters(hosts, env)
        shutil.rmtree(control, ignore_errors=True)
    lines = child.output_tail.splitlines()
    if child.exit_code == -signal.SIGKILL:
        return child, f"killed after {child.wall:.0f} s without finishing (--ansible-timeout)"
    if child.exit_code != 0:
        why = [line for line in lines if "UNREACHABLE" in line or "FAILED" in line][:3]
        return child, "\n".join(why) or child.output_tail
    recap = [line for line in lines if " ok=" in line and "failed=0" in line and "unreachable=0" in line]
    return child, None if len(recap) == len(hosts) else f"{len(recap)} hosts ok of {len(hosts)}: {child.output_tail[-800:]}"
