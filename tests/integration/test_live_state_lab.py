"""Issue 28 against real lab hosts, on one fleet (2 relays, 1 passive node behind a balancer lb1 that
is a helper host at relay2's sshd): an unreachable balancer stops the run before anything changes on
any host; a node stopped with systemctl is planned as "stopped", never "nothing to do", and a run
refuses; the audit rewrites its Prometheus file with exit code 2 when the vault password is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cli import main
from tests.integration.helpers import UPGRADE, fleet_fingerprints, unreachable

pytestmark = pytest.mark.lab

HOOKS = """\
drain_command: touch /var/tmp/drained-{{ inventory_hostname }}
drain_delegate_to: lb1
return_command: touch /var/tmp/returned-{{ inventory_hostname }}
return_delegate_to: lb1
"""


@pytest.fixture(scope="module")
def estate(lab_factory):  # type: ignore[no-untyped-def]
    lab = lab_factory(relays=2, producers=0, passive=1)
    inventory = Path(lab.inventory_path)
    inventory.write_text(inventory.read_text() + "    balancers:\n      vars:\n        cardano_role: helper\n"
                         f"      hosts:\n        lb1:\n          ansible_host: {lab.host('relay2').address}\n")  # fmt: skip
    (inventory.parent / "group_vars").mkdir(exist_ok=True)
    (inventory.parent / "group_vars" / "passive_nodes.yml").write_text(HOOKS)
    lab.wait_in_sync()
    return lab


def test_an_unreachable_balancer_stops_the_run_before_any_change(
    estate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    lab = estate
    before = fleet_fingerprints(lab)
    with unreachable(lab, "relay2"):  # lb1 is relay2's sshd: the balancer does not answer
        rc = main(["run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--limit", "relay1,passive1",
                   "--state-dir", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr()
    assert rc == 1
    assert "hook host lb1 unreachable" in out.out + out.err
    assert "refused: not every host in scope is steady: passive1 (hook host lb1 unreachable)" in out.err
    assert fleet_fingerprints(lab) == before  # relay1 was not restarted first: nothing changed anywhere
    assert lab.exec("relay2", "ls /var/tmp/drained-passive1").returncode != 0
    assert lab.exec("relay1", "ls /var/lib/cardano-fleet/run.lock").returncode != 0  # no lock left behind


def test_a_stopped_node_is_planned_as_stopped_and_the_run_refuses(
    estate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    lab = estate
    assert lab.exec("passive1", "systemctl stop cardano-node.service").returncode == 0
    try:
        assert main(["plan", "-i", str(lab.inventory_path), UPGRADE, "--json", "--limit", "passive1"]) == 1
        host = json.loads(capsys.readouterr().out)["hosts"][0]
        assert host["live_state"] == "stopped"
        assert "node is stopped (systemd cardano-node.service: inactive)" in host["error"]
        assert not any("nothing to do" in r for r in host["reasons"])
        before = fleet_fingerprints(lab)
        assert main(["run", "-i", str(lab.inventory_path), UPGRADE, "--yes", "--state-dir", str(tmp_path)]) == 1
        out = capsys.readouterr()
        assert "passive1 (stopped)" in out.err and "nothing was changed" in out.err
        assert fleet_fingerprints(lab) == before
    finally:
        lab.exec("passive1", "systemctl start cardano-node.service")


def test_audit_without_the_vault_password_rewrites_the_prom_file_with_exit_code_2(
    estate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client.parser import text_string_to_metric_families

    from orchestrator.load.vault import VaultSecret, encrypt

    lab = estate
    password = tmp_path / "vault-pass"
    password.write_text("lab-vault-password\n")
    envelope = encrypt("ops@exchange.example", VaultSecret("default", b"lab-vault-password"))
    vaulted = "\n".join("      " + line for line in envelope.splitlines())
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(Path(lab.inventory_path).read_text().replace(
        "all:\n  vars:\n", f"all:\n  vars:\n    audit_contact: !vault |\n{vaulted}\n", 1))  # fmt: skip
    prom = tmp_path / "cardano_fleet_audit.prom"

    def metrics() -> dict[str, list[tuple[dict[str, str], float]]]:
        return {f.name: [(s.labels, s.value) for s in f.samples]
                for f in text_string_to_metric_families(prom.read_text())}  # fmt: skip

    good = main(["audit", "-i", str(inventory), "--vault-password-file", str(password), "--format", "prometheus",
                 "-o", str(prom)])  # fmt: skip
    first = metrics()
    assert sorted(lab_["host"] for lab_, _ in first["cardano_fleet_host_reachable"]) == ["passive1", "relay1", "relay2"]
    assert first["cardano_fleet_audit_exit_code"][0][1] == good != 2
    assert {lab_["version"] for lab_, _ in first["cardano_fleet_node_version_info"]} == {"8.7.3"}

    assert main(["audit", "-i", str(inventory), "--format", "prometheus", "-o", str(prom)]) == 2
    assert "vault-encrypted and cannot be decrypted" in capsys.readouterr().err
    second = metrics()
    assert second["cardano_fleet_audit_exit_code"] == [({"fleet": str(inventory)}, 2.0)]
    assert second["cardano_fleet_audit_result_info"][0][0]["reason"].startswith("not run: ")
    assert not second["cardano_fleet_host_reachable"]  # the last good state is gone, not left in place
