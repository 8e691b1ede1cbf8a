"""`cardano-fleet audit --for-release 11.0.1` on a mixed lab fleet (issue 26 item 5): a host on 8.9.0
(its book config, legacy tracing), one on 10.6.4 and one on 11.0.1 (their shipped configs). The
readiness report names the not-ready hosts and why, the 11.0.1 host is ready, and the exit code is 1.
The rules themselves are tested on the real reference files in tests/unit/test_audit_readiness.py;
this checks what the probe reads on real hosts (versions, the files, df, du, MemTotal, the staging
record) reaches them, and that a host `run` upgrades becomes ready with its tarball verified — after
a run that found the release server's sums file disagreeing with the tarball refused to stage it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano.layouts import LAYOUTS
from orchestrator.cardano.releases import release_filename
from orchestrator.cli import main
from orchestrator.lab.releases import write_sums

UPGRADE_NODE = Path(__file__).resolve().parents[2] / "playbooks" / "upgrade-node.yml"

pytestmark = pytest.mark.lab


def test_readiness_for_11_0_1_on_a_mixed_fleet(fresh_lab: Any, tmp_path: Path, capsys: Any) -> None:
    lab = fresh_lab(relays=2, producers=1, node_version="10.6.4", host_versions={"relay2": "8.9.0", "bp1": "11.0.1"},
                    target_version="11.0.1", startup_seconds=4.0)
    lab.wait_in_sync()
    out = tmp_path / "ready.json"
    code = main(["audit", "-i", str(lab.inventory_path), "--for-release", "11.0.1", "--format", "json", "-o", str(out)])
    doc = json.loads(out.read_text())
    assert code == 1 == doc["exit_code"], doc["reason"]
    assert doc["for_release"] == "11.0.1" and doc["reason"].startswith("not ready for 11.0.1: ")
    hosts = {h["host"]: h for h in doc["hosts"]}
    assert {h: (x["node_version"], x["ready"]) for h, x in hosts.items()} == {
        "relay1": ("10.6.4", False), "relay2": ("8.9.0", False), "bp1": ("11.0.1", True)}
    failed = {h: {f["rule"] for f in x["findings"] if f["status"] == "fail" and f["severity"] == "error"}
              for h, x in hosts.items()}  # fmt: skip
    # 10.6.4: below van Rossem's floor only; its shipped config (new tracing, no EnableP2P) reads fine in 11.0.1
    assert failed["relay1"] == {"release-fork-floors"}, hosts["relay1"]["findings"]
    # 8.9.0: below Plomin's floor too, and its legacy-tracing config has no TraceOptions, which 11.0.1 requires
    assert failed["relay2"] == {"release-fork-floors", "release-config"}, hosts["relay2"]["findings"]
    assert failed["bp1"] == set(), hosts["bp1"]["findings"]
    messages = {(h, f["rule"]): f["message"] for h, x in hosts.items() for f in x["findings"]}
    # The lab provisions its releases itself, not through `run`'s staging: no host has a staging record,
    # so the tarball cannot be verified — a warning (the default severity), which leaves bp1 ready.
    sha = {h: next(f for f in x["findings"] if f["rule"] == "release-sha256") for h, x in hosts.items()}
    assert all(f["status"] == "fail" and f["severity"] == "warning" for f in sha.values()), sha
    assert "release 11.0.1 has no staging record" in sha["bp1"]["message"], sha
    assert "Plomin" in messages[("relay2", "release-fork-floors")]
    assert "TraceOptions" in messages[("relay2", "release-config")]
    assert "GiB free" in messages[("relay1", "release-disk")]  # the crossing's ledger backup against df
    assert "RAM" in messages[("bp1", "release-memory")]  # MemTotal was read
    assert {f["rule"] for f in hosts["bp1"]["findings"]} == {"host-reachable", "release-fork-floors", "release-config",
                                                              "release-sha256", "release-disk", "release-memory"}
    # The operator's view: the table lists who is ready, with the same exit code.
    capsys.readouterr()
    assert main(["audit", "-i", str(lab.inventory_path), "--for-release", "11.0.1"]) == 1
    table = capsys.readouterr().out
    assert "Ready for 11.0.1: bp1; not ready: relay1, relay2" in table and "NOT READY for 11.0.1" in table

    # The release server's sums file disagrees with the tarball (the pin agrees with it): `run` refuses
    # to stage, naming both digests and the file, and relay1 is left exactly as it was.
    served = lab.dir / "releases"
    tarball = served / release_filename("11.0.1")
    real = hashlib.sha256(tarball.read_bytes()).hexdigest()
    layout = LAYOUTS[lab.host("relay1").layout]
    look = f"readlink -f {layout.bin_dir}; ls -A {layout.releases_dir}"
    before = lab.exec("relay1", look).stdout
    write_sums(served, "11.0.1", tarball.name, "0" * 64)
    refused = tmp_path / "refused"
    assert main(["run", "-i", str(lab.inventory_path), str(UPGRADE_NODE), "--yes", "--state-dir", str(refused),
                 "--limit", "relay1", "-e", "sync_soak_seconds=5"]) != 0  # fmt: skip
    said = "".join(p.read_text(errors="replace") for p in refused.rglob("*") if p.is_file())
    assert f"it has {real}, cardano-node-11.0.1-sha256sums.txt says {'0' * 64}" in said, said[-2000:]
    assert lab.exec("relay1", look).stdout == before and "11.0.1" not in before
    write_sums(served, "11.0.1", tarball.name, real)  # the sums file as the release publishes it

    # relay1 upgraded by `run` (which stages 11.0.1 from the lab's pinned tarball, checks it against the
    # published sums file and records its digests): ready now, its installed release verified against both.
    state = tmp_path / "state"
    assert main(["run", "-i", str(lab.inventory_path), str(UPGRADE_NODE), "--yes", "--state-dir", str(state),
                 "--limit", "relay1", "-e", "sync_soak_seconds=5"]) == 0  # fmt: skip
    capsys.readouterr()
    after = tmp_path / "after.json"
    code = main(["audit", "-i", str(lab.inventory_path), "--for-release", "11.0.1", "--format", "json", "-o", str(after),
                 "--limit", "relay1,bp1"])  # fmt: skip
    doc = json.loads(after.read_text())
    assert code == 0 == doc["exit_code"] and doc["reason"] == "ready for 11.0.1", doc["reason"]
    relay1 = next(h for h in doc["hosts"] if h["host"] == "relay1")
    assert relay1["ready"] is True and relay1["node_version"] == "11.0.1"
    sha = next(f for f in relay1["findings"] if f["rule"] == "release-sha256")
    assert sha["status"] == "pass" and "= the inventory's pin" in sha["message"], sha
    assert "binaries unchanged since staging" in sha["message"], sha
    assert "sha256sums: matches cardano-node-11.0.1-sha256sums.txt" in sha["message"], sha
