"""The plan knows what each crossing costs (issue 26 item 1): per host, the hops, the replay, the
expected downtime with its basis and the disk headroom — in HostPlan, `plan` and `plan --json`.

Real files: each host runs the shipped mainnet config and topology of its release (the reference
files of tests/fixtures/cardano-reference/), planned against a real catalogued target.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.cardano.crossing import HOUR, Replay
from orchestrator.cardano.layouts import IOG
from orchestrator.facts.model import HostFacts
from orchestrator.model import Host, Inventory, PlanAction, Role
from orchestrator.plan import Plan, ReleasePin, make_plan
from orchestrator.report.console import print_plan
from orchestrator.report.plan_json import plan_as_json
from orchestrator.report.terminal import make_console
from tests.unit.facts_builder import host_facts

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "fixtures" / "cardano-reference" / "cardano-node-repo"
GIB = 1024**3


def facts_on(version: str, name: str = "relay1", **fields: object) -> HostFacts:
    fields.setdefault("last_start_seconds", 30.0)
    return host_facts(name, node_version=version, releases=(version,),
                      config_text=(REF / version / "mainnet-config.json").read_text(),
                      topology_text=(REF / version / "mainnet-topology.json").read_text(), **fields)  # fmt: skip


def plan_of(target: str, host_vars: dict[str, object] | None = None, **facts: HostFacts) -> Plan:
    hosts = tuple(Host(n, Role.RELAY, f"203.0.113.{10 + i}", IOG, vars=host_vars or {}) for i, n in enumerate(facts))
    inv = Inventory("hosts.yml", hosts, {"relays": tuple(facts)})
    pin = ReleasePin(target, f"http://198.18.0.1:8080/cardano-node-{target}-linux-amd64.tar.gz", "ab" * 32)
    return make_plan(inv, hosts, facts, pin, [[n] for n in facts])


def printed(plan: Plan) -> str:
    out = io.StringIO()
    print_plan(make_console(out), plan)
    return out.getvalue()


def test_a_replaying_crossing_costs_the_reported_estimate_not_the_last_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    plan = plan_of("11.0.1", relay1=facts_on("10.5.3", disk_free_bytes=100 * GIB, ledger_bytes=4 * GIB),
                   relay2=facts_on("10.7.1", disk_free_bytes=100 * GIB, ledger_bytes=4 * GIB))  # fmt: skip
    replaying, swapping = plan.host("relay1"), plan.host("relay2")
    assert replaying.error is None and replaying.action == PlanAction.RESTART
    assert replaying.crossing is not None and replaying.crossing.replay is Replay.FROM_GENESIS
    assert replaying.expected_downtime == 10 * HOUR  # the upper end of the reported 8-10 h
    assert swapping.crossing is not None and swapping.crossing.replay is Replay.NONE
    assert swapping.expected_downtime == 30.0  # its own last start
    assert plan.estimated and plan.expected_duration == 10 * HOUR + 30.0
    text = printed(plan)
    assert "est. 8-10 h, replay from genesis" in text  # the table's downtime cell
    assert "ledger: replay from genesis — snapshot boundaries crossed: 10.5.3 -> 10.6.4 (replay)" in text
    assert "cardano-wallet PR #5102" in text and "not measured on this host" in text
    assert "  - a rollback to 10.5.3 would replay from genesis as well" in text and "rollback restores it" in text
    assert "disk: 4.0 GiB needed (room for a copy of db/ledger" in text and "100.0 GiB free" in text
    assert "ledger: no replay (11.0.1 reads 10.7.1's ledger snapshots" in text
    assert "or its ledger replay's estimate): est. 10h00m" in text


def test_the_json_crossing_object_per_host() -> None:
    plan = plan_of("10.5.3", {"ledger_conversion": "replay"},
                   relay1=facts_on("10.1.4", disk_free_bytes=50 * GIB, ledger_bytes=2 * GIB))  # fmt: skip
    doc = json.loads(json.dumps(plan_as_json(plan)))
    c = doc["hosts"][0]["crossing"]
    assert c["hops"] == ["10.1.4 -> 10.5.3"] and c["ledger"] == "convert" and c["replay"] == "from_genesis"
    assert c["converter"]["release"] == "10.5.3" and "Legacy" in c["converter"]["syntax"]
    assert c["expected_downtime_seconds"] == 10 * HOUR and c["expected_downtime_low_seconds"] == 8 * HOUR
    assert c["estimate"] is True and "cardano-graphql#894" in c["expected_downtime_basis"]
    basis = "room for a copy of db/ledger, the backup a rollback needs not to replay from genesis"
    assert c["disk"] == {"needed_bytes": 2 * GIB, "free_bytes": 50 * GIB, "ledger_bytes": 2 * GIB, "enough": True,
                         "basis": basis}  # fmt: skip
    assert doc["hosts"][0]["expected_downtime_seconds"] == 10 * HOUR


def test_a_convertible_crossing_is_converted_by_default_a_normal_start_not_a_replay() -> None:
    """10.1.4 -> 10.5.3: the catalogue's CONVERT hop. By default the run converts with 10.5.3's
    snapshot-converter: the plan says so, and the estimate is the host's own start (plus the
    conversion, whose time no source reports), not the 8-10 h genesis replay; the ledger is still
    kept for the rollback. `ledger_conversion: replay` gives the replay, and the plan says why."""
    plan = plan_of("10.5.3", relay1=facts_on("10.1.4", disk_free_bytes=50 * GIB, ledger_bytes=2 * GIB))
    hp = plan.host("relay1")
    assert hp.converts and not hp.replays and hp.backs_up_ledger
    assert hp.expected_downtime == 30.0 and hp.start_seconds == 30.0
    c = plan_as_json(plan)["hosts"][0]["crossing"]
    assert c["replay"] == "from_snapshot" and c["expected_downtime_seconds"] == 30.0
    text = printed(plan)
    assert "converted with 10.5.3's snapshot-converter" in " ".join(text.split())
    assert "after the snapshot conversion" in text and "est. 8-10 h" not in text
    replaying = plan_of("10.5.3", {"ledger_conversion": "replay"}, relay1=facts_on("10.1.4")).host("relay1")
    assert replaying.replays and not replaying.converts and replaying.expected_downtime == 10 * HOUR
    assert "ledger: not converted (ledger_conversion: replay): relay1 replays from genesis" in replaying.reasons


def test_a_target_config_on_another_ledger_backend_is_not_converted() -> None:
    """The converter's output is the in-memory format (V2InMemory, 10.5.3's default): a config that
    names LMDB replays, and the plan says why."""
    config = json.loads((REF / "10.5.3" / "mainnet-config.json").read_text())
    config["LedgerDB"] = {**config.get("LedgerDB", {}), "Backend": "V1LMDB"}
    from orchestrator.actions import convert_snapshot
    from orchestrator.cardano import releases

    why = convert_snapshot.unconvertible(releases.lookup("10.5.3"), json.dumps(config))
    assert why is not None and "V1LMDB" in why
    assert convert_snapshot.unconvertible(releases.lookup("10.5.3"), (REF / "10.5.3" / "mainnet-config.json").read_text()) is None


def test_not_enough_room_for_the_ledger_backup_keeps_the_host_unchanged_with_the_numbers() -> None:
    plan = plan_of("10.7.1", relay1=facts_on("10.6.4", disk_free_bytes=3 * GIB, ledger_bytes=5 * GIB),
                   relay2=facts_on("10.6.4", disk_free_bytes=6 * GIB, ledger_bytes=5 * GIB))  # fmt: skip
    short, roomy = plan.host("relay1"), plan.host("relay2")
    assert short.error is not None and not short.changed and short not in plan.pending
    assert "not enough disk" in short.error and "5.0 GiB needed" in short.error and "3.0 GiB free" in short.error
    assert short.crossing is not None  # the JSON still shows the numbers
    assert plan_as_json(plan)["hosts"][0]["crossing"]["disk"]["enough"] is False
    assert roomy.error is None and roomy.changed


def test_the_same_format_needs_no_room_and_unknown_sizes_only_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    plan = plan_of("11.0.1", relay1=facts_on("10.7.1", disk_free_bytes=0, ledger_bytes=9 * GIB),
                   relay2=facts_on("10.6.4"))  # fmt: skip
    assert plan.host("relay1").error is None  # a binary swap keeps the snapshots: no backup
    unknown = plan.host("relay2")
    assert unknown.error is None and unknown.crossing is not None and unknown.crossing.disk.enough is None
    assert "disk: headroom unknown (room for a copy of db/ledger, the backup a rollback needs not to replay from " \
           "genesis; its size was not read; free unknown)" in printed(plan)  # fmt: skip


def test_a_provisional_target_is_refused_per_host() -> None:
    hp = plan_of("11.1.0", relay1=facts_on("11.0.1")).host("relay1")
    assert hp.error is not None and "provisional" in hp.error and not hp.changed


def test_a_testnet_replay_has_no_figure_rather_than_a_made_up_one() -> None:
    hosts = (Host("relay1", Role.RELAY, "203.0.113.10", IOG, network="preprod"),)
    inv = Inventory("hosts.yml", hosts, {"relays": ("relay1",)})
    pin = ReleasePin("11.0.1", "http://198.18.0.1:8080/x.tar.gz", "ab" * 32)
    facts = facts_on("10.6.4", network="preprod", last_start_seconds=20.0)
    # preprod's own topology: mainnet's useLedgerAfterSlot is past preprod's snapshot (install_peer_snapshot refuses it)
    facts = replace(facts, topology_text=(REF / "10.6.4" / "preprod" / "topology.json").read_text())
    plan = make_plan(inv, hosts, {"relay1": facts}, pin, [["relay1"]])
    hp = plan.host("relay1")
    assert hp.changed and hp.crossing is not None and hp.crossing.replay is Replay.FROM_GENESIS
    assert hp.expected_downtime is None and plan.expected_duration is None  # unknown, never a guess
    assert "no replay time is reported for preprod" in hp.crossing.downtime.basis
    # the gate's automatic cap would fall back to its floor: the plan says so, and what to set
    (note,) = [r for r in hp.reasons if "automatic cap" in r]
    assert "its floor (1 h)" in note and "set sync_timeout_seconds" in note
    assert hp.start_seconds is None  # no figure to size the cap from


def test_a_known_replay_estimate_sizes_the_cap_and_needs_no_note() -> None:
    hp = plan_of("11.0.1", relay1=facts_on("10.5.3")).host("relay1")
    assert hp.replays and hp.start_seconds == 10 * HOUR and hp.last_start_seconds == 30.0
    assert not any("automatic cap" in r for r in hp.reasons)
    same = plan_of("11.0.1", relay1=facts_on("10.7.1")).host("relay1")
    assert not same.replays and same.start_seconds == 30.0  # no replay: its own last start


def test_a_producers_restart_window_must_hold_its_replay_not_just_its_last_start() -> None:
    """A block producer crossing a replaying boundary is down for the replay: its leader guard is sized
    for the estimate (est. 10 h on mainnet), so a run defers it rather than restart it into its slots."""
    hosts = (Host("bp1", Role.BLOCK_PRODUCER, "203.0.113.20", IOG),)
    inv = Inventory("hosts.yml", hosts, {"block_producers": ("bp1",)})
    pin = ReleasePin("11.0.1", "http://198.18.0.1:8080/x.tar.gz", "ab" * 32)
    replaying = make_plan(inv, hosts, {"bp1": facts_on("10.5.3", name="bp1")}, pin, [["bp1"]]).host("bp1")
    assert replaying.replays and replaying.leader is not None
    assert replaying.leader.downtime == 10 * HOUR and "expected downtime ~10 h" in replaying.leader.summary(0.0)
    same = make_plan(inv, hosts, {"bp1": facts_on("10.7.1", name="bp1")}, pin, [["bp1"]]).host("bp1")
    assert same.leader is not None and same.leader.downtime == 30.0  # no replay: its own last start


def test_the_plan_names_what_each_boundary_changed_in_config_json() -> None:
    hp = plan_of("11.0.1", relay1=facts_on("10.5.3")).host("relay1")
    hops = [r for r in hp.reasons if r.startswith("config.json at ")]
    assert hops[0].startswith("config.json at 10.5.3 -> 10.6.4: removed EnableP2P")  # 10.6 reads no EnableP2P
    assert any(r.startswith("config.json at 10.6.4 -> 10.7.1: ") for r in hops)
    assert not any("10.7.1 -> 11.0.1" in r for r in hops)  # POM byte-identical: nothing to change
    assert hp.reasons.index("migrated 10.5.3 -> 11.0.1") < hp.reasons.index(hops[0])  # the diff's reason first


def test_the_plan_says_what_the_operator_must_still_do_and_not_what_the_run_does() -> None:
    """config migrate's "you must still" items a run does not do itself (a relay that starts sharing
    peers by default, the tracing switch) are said in the plan, before the run; the ones the run does
    (the topology, the peer snapshot, the replay's budget and the ledger backup) are not repeated."""
    hp = plan_of("11.0.1", relay1=facts_on("8.9.0")).host("relay1")
    (todo,) = [r for r in hp.reasons if "you must still" in r]
    assert todo.startswith("at 10.1.4 -> 10.5.3 you must still: ")
    assert "PeerSharing is absent: 10.5.3 shares peers by default on a relay; set it to pin" in todo
    assert "budget a full chain replay" not in todo and "peer-snapshot.json" not in todo
    assert not any("you must still" in r for r in plan_of("11.0.1", relay1=facts_on("10.6.4")).host("relay1").reasons)
