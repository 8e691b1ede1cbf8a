"""The lab node's forging as a real 10.6.4 process (lab/forging.py): it forges from its start with its
credentials, checks leadership every slot (log line, counter, per-slot record); a SIGHUP with a file
renamed away disables it, with the files back enables it, with the forging_update_error fault logs
BlockForgingUpdateError and keeps the state; a node started non-producing forges only after a SIGHUP.
Its key files are never opened: the KES key is a FIFO (opening it would hang the node) and the other
two keep their atimes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.request
from pathlib import Path

from orchestrator.lab import forging, simnode
from tests.process.test_simnode import DATA, Lab, Node, free_port, lab, wait_for

__all__ = ["lab"]  # the fixture, imported for this module's tests

VERSION = "10.6.4"
ENABLED = "cardano_node_metrics_forging_enabled_int"
CHECKS = "cardano_node_metrics_Forge_about_to_lead_counter"


def current_producer(lab: Lab, name: str, *extra: str) -> tuple[Node, Path]:
    """A 10.6.4 producer as the release ships its config (PrometheusSimple moved to a free port), its
    own chain source (always at the wall-clock tip), and credential files named on its command line."""
    root = lab.tmp / name
    root.mkdir()
    shipped = DATA / VERSION / "mainnet"
    config = json.loads((shipped / "mainnet-config.json").read_text())
    keys = root / "keys"
    keys.mkdir()
    os.mkfifo(keys / "kes.skey")
    for key in ("vrf.skey", "node.cert"):
        (keys / key).write_text("lab stand-in: must never be read\n")
    node = Node(root, free_port(), free_port(), True, version=VERSION, extra_args=[
        "--lab-chain-source", "--shelley-kes-key", str(keys / "kes.skey"), "--shelley-vrf-key", str(keys / "vrf.skey"),
        "--shelley-operational-certificate", str(keys / "node.cert"), *extra])  # fmt: skip
    backends = config["TraceOptions"][""]["backends"]
    config["TraceOptions"][""]["backends"] = [
        f"PrometheusSimple suffix 127.0.0.1 {node.metrics_port}" if b.startswith("PrometheusSimple") else b for b in backends
    ]
    (root / "config.json").write_text(json.dumps(config))
    for era in ("byron", "shelley", "alonzo"):
        shutil.copy(DATA / "8.9.0" / "mainnet" / f"{era}-genesis.json", root / f"mainnet-{era}-genesis.json")
    shutil.copy(shipped / "mainnet-conway-genesis.json", root)
    topology = {"localRoots": [], "publicRoots": [], "useLedgerAfterSlot": -1}
    node.topology.write_text(json.dumps(topology))
    lab.nodes.append(node)
    return node, keys


def metrics(node: Node) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{node.metrics_port}/metrics", timeout=5) as response:  # noqa: S310
        text = response.read().decode()
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line and not line.startswith("#")}


def checks_rise(node: Node) -> bool:
    first = metrics(node).get(CHECKS, 0.0)
    time.sleep(1.3)
    return metrics(node).get(CHECKS, 0.0) > first


def hup(node: Node) -> None:
    assert node.proc is not None
    node.proc.send_signal(signal.SIGHUP)


def test_sighup_moves_forging_with_the_files_and_an_error_keeps_it(lab: Lab) -> None:
    node, keys = current_producer(lab, "bp")
    atimes = {k: os.stat(keys / k).st_atime_ns for k in ("vrf.skey", "node.cert")}
    lab.start(node)
    wait_for("forging metric", lambda: metrics(node).get(ENABLED) == 1)
    wait_for("leadership checks rising", lambda: checks_rise(node))
    assert "Checking for leadership in slot" in node.log.read_text()

    # A file renamed away, SIGHUP: disabled, no more checks.
    os.rename(keys / "kes.skey", keys / "kes.skey.handover-disabled")
    hup(node)
    wait_for("forging off", lambda: metrics(node).get(ENABLED) == 0)
    assert not checks_rise(node)
    record = forging.read_record(str(node.db / forging.RECORD_FILE))
    assert record and record == sorted(set(record))  # one line per slot, never twice
    time.sleep(1.2)
    assert forging.read_record(str(node.db / forging.RECORD_FILE)) == record  # nothing recorded while off

    # The files back but the fault on: BlockForgingUpdateError (Error: logged by the shipped config), state kept.
    os.rename(keys / "kes.skey.handover-disabled", keys / "kes.skey")
    lab.faults.write_text(json.dumps({forging.FAULT: {"version": VERSION}}))
    hup(node)
    wait_for("the update error", lambda: "Startup.BlockForgingUpdateError](Error" in node.log.read_text())
    assert "Block forging is not reconfigured" in node.log.read_text()
    assert metrics(node).get(ENABLED) == 0 and not checks_rise(node)

    # The fault cleared, SIGHUP: enabled again; the node never restarted.
    lab.faults.write_text("{}")
    pid = node.proc.pid if node.proc else None
    hup(node)
    wait_for("forging on", lambda: metrics(node).get(ENABLED) == 1)
    wait_for("checks rising again", lambda: checks_rise(node))
    assert node.proc is not None and node.proc.poll() is None and node.proc.pid == pid
    assert {k: os.stat(keys / k).st_atime_ns for k in atimes} == atimes
    assert node.stop() == 0


def test_a_node_started_non_producing_forges_only_after_a_sighup(lab: Lab) -> None:
    node, keys = current_producer(lab, "standby", "--start-as-non-producing-node")
    lab.start(node)
    wait_for("metrics up", lambda: ENABLED in metrics(node))
    assert metrics(node)[ENABLED] == 0 and not checks_rise(node)
    assert forging.read_record(str(node.db / forging.RECORD_FILE)) == []
    hup(node)
    wait_for("forging on", lambda: metrics(node).get(ENABLED) == 1)
    wait_for("checks rising", lambda: checks_rise(node))
    assert node.stop() == 0
    assert simnode.FAULT_NAMES[-1] == forging.FAULT
