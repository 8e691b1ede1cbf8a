"""Issue 19 against real lab hosts: an exchange's estate (2 relays, 1 block producer, 2 passive nodes:
passive1 ledger, passive2 private) upgraded end to end with drain and return hooks; the order of
drain → node restart → return is read from the hosts themselves (their clocks and the node's
process start time in /proc), not from the journal. And a failing drain leaves its host untouched.
Each test runs alone on a fleet of its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cardano import node_rules
from orchestrator.cli import main

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
EXCHANGE = str(ROOT / "playbooks" / "upgrade-exchange.yml")
IOG_FILES, IOG_BIN, UNIT = "/opt/cardano/config", "/opt/cardano/bin", "cardano-node.service"
MAIN_PID = f"systemctl show -p MainPID --value {UNIT}"
# One clock for every host and the node's process: seconds since the kernel booted (/proc/uptime, and a
# process's start in clock ticks since boot, /proc/PID/stat field 22), both to 10 ms. (Wall-clock time
# would need /proc/stat's btime, which is whole seconds: too coarse for drain → restart.)
UPTIME = "$(cut -d' ' -f1 /proc/uptime)"
STARTED = (f"pid=$({MAIN_PID}); t=$(cut -d' ' -f22 /proc/$pid/stat); "
           "awk -v p=$pid -v t=$t -v h=$(getconf CLK_TCK) 'BEGIN {printf \"%s %.2f\\n\", p, t / h}'")  # fmt: skip
HOOKS = f"""\
drain_command: printf 'drain %s %s\\n' "{UPTIME}" "$({MAIN_PID})" >> /var/tmp/traffic.log
return_command: printf 'return {{{{ inventory_hostname }}}} %s\\n' "{UPTIME}" >> /var/tmp/balancer.log
return_delegate_to: relay1
drain_timeout_seconds: 20
return_timeout_seconds: 20
"""


def estate(lab_factory, tmp: Path):  # type: ignore[no-untyped-def]
    lab = lab_factory(relays=2, producers=1, passive=2)
    group_vars = Path(lab.inventory_path).parent / "group_vars"
    group_vars.mkdir(exist_ok=True)
    (group_vars / "passive_nodes.yml").write_text(HOOKS)
    lab.wait_in_sync()
    return lab


def test_an_exchange_estate_is_upgraded_with_drain_before_and_return_after_each_passive_restart(
    fresh_lab, tmp_path: Path
) -> None:
    lab = estate(fresh_lab, tmp_path)
    assert main(["run", "-i", str(lab.inventory_path), EXCHANGE, "--yes", "--state-dir", str(tmp_path)]) == 0
    relay1 = lab.host("relay1").address
    for name, form in (("passive1", "ledger"), ("passive2", "private")):
        assert lab.exec(name, f"{IOG_BIN}/cardano-node --version").stdout.startswith("cardano-node 8.9.0")
        topo = json.loads(lab.exec(name, f"cat {IOG_FILES}/topology.json").stdout)
        assert node_rules.check_topology("8.9.0", True, json.dumps(topo))[0] == ()
        peers = {p["address"] for g in topo["localRoots"] for p in g["accessPoints"]}
        assert relay1 in peers  # the peer picked by hand in its legacy file
        assert lab.host("bp1").address not in peers
        assert not any(g["advertise"] for g in (*topo["localRoots"], *topo["publicRoots"]))
        if form == "ledger":
            assert [p["address"] for p in topo["bootstrapPeers"]] == ["backbone.cardano.iog.io",
                                                                      "backbone.mainnet.emurgornd.com"]  # fmt: skip
            assert topo["useLedgerAfterSlot"] == 116812831
        else:
            assert "bootstrapPeers" not in topo and topo["useLedgerAfterSlot"] == -1
            assert all(not g["accessPoints"] for g in topo["publicRoots"])
        config = json.loads(lab.exec(name, f"cat {IOG_FILES}/config.json").stdout)
        assert config["EnableP2P"] is True and config["PeerSharing"] is False
        # the order, from the hosts (seconds since boot): drained (old node running) < new node started
        # < returned on relay1
        drain = lab.exec(name, "cat /var/tmp/traffic.log").stdout.split()
        assert drain[0] == "drain" and len(drain) == 3, drain
        pid, started = lab.exec(name, STARTED).stdout.split()
        assert drain[2] != pid  # the node that was draining is not the one running now
        returned = [line.split() for line in lab.exec("relay1", "cat /var/tmp/balancer.log").stdout.splitlines()]
        back = [float(t) for kind, host, t in returned if host == name]
        assert len(back) == 1, returned
        assert float(drain[1]) < float(started) < back[0], (drain, started, back)
    # relays and the block producer have no hooks (the inventory gives them none); nobody lists a passive node
    assert lab.exec("relay2", "test -e /var/tmp/traffic.log").returncode != 0
    bp = json.loads(lab.exec("bp1", f"cat {IOG_FILES}/topology.json").stdout)
    passive = {lab.host("passive1").address, lab.host("passive2").address}
    assert not passive & {p["address"] for g in bp["localRoots"] for p in g["accessPoints"]}
    lab.wait_in_sync(timeout=30)


def test_a_failing_drain_leaves_its_passive_node_untouched(fresh_lab, tmp_path: Path) -> None:
    lab = fresh_lab(relays=1, producers=0, passive=2)  # passive2 keeps min_healthy passive_nodes: 1
    group_vars = Path(lab.inventory_path).parent / "group_vars"
    group_vars.mkdir(exist_ok=True)
    (group_vars / "passive_nodes.yml").write_text("drain_command: echo 'no such server' >&2; exit 3\n"
                                                  "return_command: touch /var/tmp/returned\n")  # fmt: skip
    lab.wait_in_sync()
    fingerprint = f"sha256sum {IOG_FILES}/config.json {IOG_FILES}/topology.json; readlink {IOG_BIN}; {MAIN_PID}"
    before = lab.exec("passive1", fingerprint).stdout
    rc = main(["run", "-i", str(lab.inventory_path), EXCHANGE, "--yes", "--limit", "passive1", "--state-dir",
               str(tmp_path)])  # fmt: skip
    assert rc == 1
    assert lab.exec("passive1", fingerprint).stdout == before  # same files, same link, same running node
    assert lab.exec("passive1", "test -e /var/tmp/returned").returncode != 0
    report = json.loads(next((tmp_path / "runs").iterdir()).joinpath("report.json").read_text())
    out = next(h for h in report["hosts"] if h["host"] == "passive1")
    assert out["status"] == "failed" and out["detail"].startswith("drain failed, host untouched")
    assert "no such server" in out["detail"]
