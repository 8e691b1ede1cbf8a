"""An INI inventory with a vault-encrypted block producer address, planned against a real lab fleet.

The shared case `vaulted-host-value` failed by using the ciphertext as the SSH address and as the
address the relays' topologies would be given; here the decrypted address is what SSH reaches and
what the relays' planned topologies hold, and it never appears in what the tool prints.
"""

from __future__ import annotations

import contextlib
import io
import textwrap
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.load import secrets
from orchestrator.load.vault import VaultSecret, VaultSecrets, encrypt
from orchestrator.workflow import gather_and_plan, load, open_fleet
from tests.integration.conftest import Lab

pytestmark = pytest.mark.lab
PASSWORD = b"lab-test-vault-pass"


def ini_inventory(lab: Lab, directory: Path) -> tuple[Path, Path, str]:
    """The lab's inventory rewritten as INI + group_vars, bp1's address in host_vars under !vault."""
    bp = lab.host("bp1")
    relays = [h for h in lab.hosts if h.role == "relay"]
    lines = ["[relays]", *(f"{h.name} ansible_host={h.address} layout={h.layout}" for h in relays),
             "", "[block_producers]", f"bp1 layout={bp.layout}", ""]  # fmt: skip
    (directory / "host_vars").mkdir(parents=True)
    (directory / "group_vars").mkdir()
    (directory / "hosts.ini").write_text("\n".join(lines))
    envelope = encrypt(bp.address, VaultSecret("default", PASSWORD))
    (directory / "host_vars" / "bp1.yml").write_text("ansible_host: !vault |\n" + textwrap.indent(envelope, "  "))
    lab_vars = lab.inventory_path.read_text().split("  children:", 1)[0].split("  vars:\n", 1)[1]
    (directory / "group_vars" / "all.yml").write_text(textwrap.dedent(lab_vars))
    password = directory / "vault-pass.txt"
    password.write_bytes(PASSWORD + b"\n")
    return directory / "hosts.ini", password, bp.address


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_vaulted_producer_address_reaches_ssh_and_topologies_but_no_output(lab: Lab, tmp_path: Path) -> None:
    inventory, password, address = ini_inventory(lab, tmp_path / "inv")
    try:
        loaded = load(str(inventory), "upgrade-8.9.0", vault=VaultSecrets([VaultSecret("default", PASSWORD)]))
        assert loaded.inventory.host("bp1").address == address
        with open_fleet(loaded.spec.hosts) as fleet:
            facts, plan = gather_and_plan(loaded, fleet)
        assert facts["bp1"].reachable, facts["bp1"].error  # SSH reached the decrypted address
        relay_topology = next(c for c in plan.host("relay1").files if c.path.endswith("topology.json"))
        assert address in relay_topology.content.decode()  # the relays are given the real address
        code, out, err = run_cli("plan", "-i", str(inventory), "upgrade-8.9.0", "--diff", "--vault-password-file",
                                 str(password))  # fmt: skip
        assert code == 2, err + out
        assert address not in out + err and secrets.MASK in out
        code, out, err = run_cli("plan", "-i", str(inventory), "upgrade-8.9.0", "--json", "--vault-password-file",
                                 str(password))  # fmt: skip
        assert code == 2 and address not in out
    finally:
        secrets.clear()


def test_without_the_password_nothing_is_contacted(lab: Lab, tmp_path: Path) -> None:
    inventory, _password, _address = ini_inventory(lab, tmp_path / "inv")
    code, out, err = run_cli("plan", "-i", str(inventory), "upgrade-8.9.0")
    assert code == 1 and out == ""
    assert f"{tmp_path / 'inv' / 'host_vars' / 'bp1.yml'}:1:" in err and "vault-encrypted" in err
