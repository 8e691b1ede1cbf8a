"""The new tracing system (trace-dispatcher, shipped from 10.6) read beside the legacy one: log lines
of both forms into the same StartupProgress, both metric namings, and which system a host runs.

Fixtures: tests/fixtures/new-tracing/ — each file's header names the node's formatting code it was
rendered from (/work/shared/docs/cardano-runtime-signals-10x.md cites tag, file and lines).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.cardano import health, trace_forms
from orchestrator.cardano.layouts import GUILD
from orchestrator.cardano.releases import Tracing
from orchestrator.cardano.startup import (
    CHAIN_SELECTION_UNOBSERVED,
    SELECT_PATTERN,
    START_PATTERN,
    Kind,
    Phase,
    parse_line,
    summarise,
)
from orchestrator.facts.record import Output
from orchestrator.facts.sections import MetricsSection, StartupSection
from orchestrator.model import Host, Role
from tests.fuzz_budget import examples
from tests.unit.facts_builder import host_facts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "new-tracing"
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "cardano-reference" / "cardano-node-repo"
SNAPSHOT_SLOT, TARGET_SLOT = 171180000, 171240000


def lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text().splitlines()


def metrics(name: str) -> MappingProxyType[str, float]:
    return MappingProxyType(health.parse_prometheus((FIXTURES / name).read_text()))


# ------------------------------------------------------------------ the line envelope


def test_json_envelope() -> None:
    t = trace_forms.parse(next(ln for ln in lines("10.6.4-relay-restart-snapshot.json.log") if "LocalSocketUp" in ln))
    assert t is not None and t.ns == "Startup.DiffusionInit.LocalSocketUp" and t.sev == "Info"
    assert t.host == "relay1" and t.thread == "49" and not t.human
    assert t.data["path"] == 'LocalAddress "/opt/cardano/cnode/sockets/node.socket"'
    assert t.at == pytest.approx(1778400071.7034)  # 2026-05-10T08:01:11.7034Z


def test_human_envelope_strips_ansi_and_reads_data_text() -> None:
    human = [ln for ln in lines("10.6.4-relay-restart-snapshot.human.log") if not ln.startswith("#")]
    assert human[0].startswith("\x1b[34m[")  # the fixture really is coloured
    first = trace_forms.parse(human[0])
    assert first is not None and first.human and first.ns == "ChainDB.OpenEvent.StartedOpeningDB"
    assert first.text == "Started opening Chain DB" and first.at == pytest.approx(1778400000.0105)
    socket = trace_forms.parse(next(ln for ln in human if "LocalSocketUp" in ln))
    assert socket is not None and socket.text == "" and socket.data["kind"] == "LocalSocketUp"


@pytest.mark.parametrize(("stamp", "unix"), [("10:15:00Z", 1778580900.0), ("10:15:22.5Z", 1778580922.5),
                                             ("10:15:00.0042Z", 1778580900.0042), ("10:15:00.Z", 1778580900.0)])
def test_human_fraction_is_zero_to_four_digits(stamp: str, unix: float) -> None:
    t = trace_forms.parse(f"[2026-05-12 {stamp}][bp1:ChainDB.OpenEvent.OpenedLgrDB](Info,6) Opened lgr db")
    assert t is not None and t.at == pytest.approx(unix)


@pytest.mark.parametrize("line", [
    "[4dab0472:cardano.node.ChainDB:Info:5] [2024-09-03 12:11:09.26 UTC] Started opening Chain DB",  # legacy text
    json.dumps({"at": "2024-09-03T12:11:09.26Z", "ns": ["cardano.node.ChainDB"], "data": {"kind": "x"},
                "sev": "Info", "thread": "5", "host": "r"}),  # legacy JSON: ns is a list
    '{"at":"2026-05-10T08:00:00Z","ns":"ChainDB.OpenEvent.StartedOpeningDB","data":{},"sev":"Loud"}',
    "[2026-05-10 08:00:00Z][relay1:ChainDB.OpenEvent.StartedOpeningDB](Chatty,5) x",
    "", "{", "[2026-05-10 08:00:00Z]", "\x1b[34m",
])
def test_not_new_tracing(line: str) -> None:
    assert trace_forms.parse(line) is None


# ------------------------------------------------------------------ a start, read from either form


@pytest.mark.parametrize("name", ["10.6.4-relay-restart-snapshot.json.log", "10.6.4-relay-restart-snapshot.human.log"])
def test_a_clean_restart_from_a_snapshot_is_followed_through_its_phases(name: str) -> None:
    s = summarise(lines(name))
    done = s.last_completed
    assert done is not None and done is s.current and done.tracing is Tracing.NEW
    assert [p for p, _ in done.phase_started] == list(Phase)
    assert done.duration == pytest.approx(71.7034 - 0.0105, abs=1e-3)
    assert done.replay_from_slot == SNAPSHOT_SLOT and not done.full_validation
    assert done.phase_durations() == pytest.approx(
        {"opening chain db": 0.02, "validating chunks": 24.74, "replaying ledger": 39.35, "initial chain selection": 7.58},
        abs=0.011)


@pytest.mark.parametrize("name", ["10.6.4-relay-restart-snapshot.json.log", "10.6.4-relay-restart-snapshot.human.log"])
def test_a_snapshot_replay_starts_near_99_9_and_its_rate_counts_from_there(name: str) -> None:
    upto = [ln for ln in lines(name) if "OpenedLgrDB" not in ln]
    upto = upto[: next(i for i, ln in enumerate(upto) if "InitChainSel" in ln)]  # still replaying
    cur = summarise(upto).current
    assert cur is not None and cur.phase is Phase.REPLAYING and not cur.done
    first, last = 100 * 171185000 / TARGET_SLOT, 100 * 171236372 / TARGET_SLOT
    assert cur.percent_start == pytest.approx(first, abs=0.005) and cur.percent == pytest.approx(last, abs=0.005)
    assert 99.9 < cur.percent_start < cur.percent < 100
    # 3 readings 9.5 s apart moved it by (last - first) pp: the rest at that rate, not "99.99 % in 0.2 s"
    elapsed = 3 * 9.5
    expected = (100 - cur.percent) / ((cur.percent - cur.percent_start) / elapsed)
    assert cur.eta_seconds(cur.progress_at) == pytest.approx(expected, rel=1e-3)
    assert cur.eta_seconds(cur.progress_at) > 1.0  # ~2 s; from a 0 % start it would read ~0.0006 s
    text = cur.describe()
    assert text.startswith("replaying ledger 99.99%") and "slot over target" in text
    assert "from a snapshot, first read at 99.96%" in text


def test_json_and_human_forms_tell_the_same_start() -> None:
    a = summarise(lines("10.6.4-relay-restart-snapshot.json.log")).current
    b = summarise(lines("10.6.4-relay-restart-snapshot.human.log")).current
    assert a is not None and b is not None
    assert (a.phase, a.replay_from_slot, a.full_validation) == (b.phase, b.replay_from_slot, b.full_validation)
    assert a.started_at == pytest.approx(b.started_at, abs=1e-3) and a.duration == pytest.approx(b.duration, abs=1e-3)


def test_unclean_stop_then_a_replay_from_genesis() -> None:
    cur = summarise(lines("10.6.4-unclean-genesis-replay.json.log")).current
    assert cur is not None and cur.phase is Phase.REPLAYING and cur.tracing is Tracing.NEW
    assert cur.full_validation  # LastShutdownUnclean (before the start) and chunk 0 both say so
    assert cur.replay_from_slot == 0 and cur.percent == pytest.approx(12.5)
    assert cur.percent_start == 0.0  # from genesis: slot 0 of the target is 0 %, truly
    began = dict(cur.phase_started)[Phase.REPLAYING]
    rate = 12.5 / (cur.progress_at - began)
    assert cur.eta_seconds(cur.progress_at) == pytest.approx(87.5 / rate)
    assert "slot over target)" in cur.describe() and "from a snapshot" not in cur.describe()


def test_show_double_progress_and_validated_chunk_from_json() -> None:
    ev = parse_line('{"at":"2026-05-11T02:41:14.00Z","ns":"ChainDB.ReplayBlock.LedgerReplay",'
                    '"data":{"kind":"ReplayBlockStats","progress":"5.0e-2"},"sev":"Info","thread":"37","host":"r"}')
    assert ev is not None and ev.kind is Kind.REPLAYED and ev.percent == pytest.approx(0.05)
    log = [ln for ln in lines("10.6.4-unclean-genesis-replay.json.log") if "ReplayFrom" not in ln and "LedgerReplay" not in ln]
    cur = summarise(log).current
    assert cur is not None and cur.phase is Phase.VALIDATING
    assert cur.percent == 100.0  # ValidatedChunk 7925 of 0…7925: 100·(N+1)/(M+1), M from the line before


def test_initial_chain_selection_is_said_to_be_unobserved_not_invented() -> None:
    cur = summarise(lines("11.0.1-bp-restart-chain-selection.human.log")).current
    assert cur is not None and cur.phase is Phase.CHAIN_SELECTION and cur.percent is None
    assert cur.unobserved == (CHAIN_SELECTION_UNOBSERVED,) and "Debug" in CHAIN_SELECTION_UNOBSERVED
    assert cur.describe() == "initial chain selection (progress not logged at the shipped severities)"
    assert cur.started_at == 1778580900.0 and cur.replay_from_slot == 171700000
    assert cur.eta_seconds(cur.last_event_at + 10) is None


def test_the_earlier_spelling_of_initial_chain_selected() -> None:
    line = "[2026-05-12 10:16:02Z][bp1:ChainDB.InitChainSelEvent.InitalChainSelected](Info,6) Inital chain selected"
    ev = parse_line(line)
    assert ev is not None and ev.kind is Kind.CHAIN_SELECTED
    assert re.search(SELECT_PATTERN, line)


def test_legacy_starts_say_nothing_unobserved() -> None:
    t = "[r:cardano.node.ChainDB:Info:5] [2024-06-25 10:00:0{}.00 UTC] "
    cur = summarise([t.format(0) + "Started opening Chain DB", t.format(1) + "Started initial chain selection"]).current
    assert cur is not None and cur.tracing is Tracing.LEGACY and cur.unobserved == () and cur.percent == 0.0
    assert cur.describe() == "initial chain selection 0%"


def test_an_upgrade_from_legacy_to_new_tracing_in_one_journal() -> None:
    legacy = [
        "[r:cardano.node.ChainDB:Info:5] [2026-05-10 07:00:00.00 UTC] Started opening Chain DB",
        '[r:cardano.node.DiffusionInitializationTracer:Info:49] [2026-05-10 07:01:00.00 UTC] LocalSocketUp '
        '(LocalAddress "node.socket") (FileDescriptor 23)',
    ]
    upto = [ln for ln in lines("10.6.4-relay-restart-snapshot.json.log") if "LocalSocketUp" not in ln]
    s = summarise(legacy + upto)
    assert s.last_completed is not None and s.last_completed.tracing is Tracing.LEGACY
    assert s.last_completed.duration == 60.0
    assert s.current is not None and s.current.tracing is Tracing.NEW and not s.current.done


# ------------------------------------------------------------------ the probe's selection on the host


def _journal_stub(bin_dir: Path, log: Path, calls: Path, *, refuse_all: bool = False) -> None:
    refuse = 'case " $* " in *" --all "*) exit 2;; esac\n' if refuse_all else ""
    stub = bin_dir / "journalctl"
    stub.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n{refuse}cat {log}\n')
    stub.chmod(0o755)


def _run_startup(tmp_path: Path, *, version: str, config: dict[str, object], journal: str | None = None,
                 file_log: str | None = None, refuse_all: bool = False) -> tuple[Output, Path]:
    root = tmp_path / "cnode"
    release = root / "releases" / version / "bin"
    release.mkdir(parents=True)
    (root / "bin").symlink_to(release)
    (root / "logs").mkdir()
    if file_log is not None:
        (root / "logs" / "node.json").write_text((FIXTURES / file_log).read_text() if file_log.endswith(".log")
                                                 else file_log)  # fmt: skip
    cfg = root / "config.json"
    cfg.write_text(json.dumps(config))
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    calls = tmp_path / "calls"
    calls.write_text("")
    journal_text = tmp_path / "journal.txt"
    journal_text.write_text((FIXTURES / journal).read_text() if journal else "")
    _journal_stub(stubs, journal_text, calls, refuse_all=refuse_all)
    layout = GUILD.with_overrides({"root": str(root), "config_path": str(cfg), "bin_dir": str(root / "bin")})
    host = Host("relay1", Role.RELAY, "127.0.0.1", layout)
    env = {"PATH": f"{stubs}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(tmp_path)}
    proc = subprocess.run(["sh", "-c", StartupSection().command(host)], capture_output=True, text=True, timeout=60,
                          env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return Output(host, proc.stdout, proc.returncode), calls


FILE_SCRIBE = {"defaultScribes": [["FileSK", "logs/node.json"]]}


def test_probe_reads_the_journal_with_all_when_the_release_runs_new_tracing(tmp_path: Path) -> None:
    # 10.6.4 with no UseTraceDispatcher runs the new system (its default): the FileSK scribe is not read.
    out, calls = _run_startup(tmp_path, version="10.6.4", config=FILE_SCRIBE,
                              journal="10.6.4-relay-restart-snapshot.human.log", file_log="stale\n")
    parsed = StartupSection().parse(out).fields
    assert parsed["startup_source"] == "journal:cnode.service"
    assert "--all" in calls.read_text()
    whole = summarise(lines("10.6.4-relay-restart-snapshot.human.log"))
    assert parsed["startups"] == whole  # the lines kept on the host tell the same start
    kept = out.body.splitlines()[1:]
    assert len(kept) < len([ln for ln in lines("10.6.4-relay-restart-snapshot.human.log") if not ln.startswith("#")])


def test_probe_reads_the_scribe_file_on_a_legacy_release(tmp_path: Path) -> None:
    legacy = ("[r:cardano.node.ChainDB:Info:5] [2024-09-03 12:11:09.26 UTC] Started opening Chain DB\n"
              "[r:cardano.node.ChainDB:Info:5] [2024-09-03 12:11:19.26 UTC] Opened lgr db\n")
    out, calls = _run_startup(tmp_path, version="8.9.0", config=FILE_SCRIBE,
                              journal="10.6.4-relay-restart-snapshot.json.log", file_log=legacy)
    parsed = StartupSection().parse(out).fields
    assert str(parsed["startup_source"]).startswith("file:") and calls.read_text() == ""
    assert parsed["startups"].current.phase is Phase.CHAIN_SELECTION


def test_probe_follows_the_config_key_over_the_release_default(tmp_path: Path) -> None:
    out, calls = _run_startup(tmp_path, version="10.6.4", config={**FILE_SCRIBE, "UseTraceDispatcher": False},
                              journal="10.6.4-relay-restart-snapshot.json.log", file_log="nothing\n")
    assert str(StartupSection().parse(out).fields["startup_source"]).startswith("file:") and calls.read_text() == ""


def test_probe_on_an_unknown_release_takes_the_newer_start(tmp_path: Path) -> None:
    legacy = "[r:cardano.node.ChainDB:Info:5] [2024-09-03 12:11:09.26 UTC] Started opening Chain DB\n"
    out, _ = _run_startup(tmp_path, version="custom-build", config=FILE_SCRIBE,
                          journal="10.6.4-relay-restart-snapshot.json.log", file_log=legacy)
    parsed = StartupSection().parse(out).fields
    assert parsed["startup_source"] == "journal:cnode.service" and parsed["startups"].current.tracing is Tracing.NEW


def test_probe_retries_without_all_where_journalctl_refuses_it(tmp_path: Path) -> None:
    out, calls = _run_startup(tmp_path, version="11.0.1", config={}, journal="11.0.1-bp-restart-chain-selection.human.log",
                              refuse_all=True)  # fmt: skip
    assert len(calls.read_text().splitlines()) == 2
    assert StartupSection().parse(out).fields["startups"].current.phase is Phase.CHAIN_SELECTION


def test_selection_keeps_every_new_namespace_the_parser_reads() -> None:
    sel, start = re.compile(SELECT_PATTERN), re.compile(START_PATTERN)
    for name in ("10.6.4-relay-restart-snapshot.json.log", "10.6.4-relay-restart-snapshot.human.log",
                 "10.6.4-unclean-genesis-replay.json.log", "11.0.1-bp-restart-chain-selection.human.log"):
        for ln in (ln for ln in lines(name) if not ln.startswith("#")):
            ev = parse_line(ln)
            if ev is not None and not ("ValidatedChunk" in ln and "StartedValidating" not in ln):
                assert sel.search(ln), ln
            assert bool(start.search(ln)) == (ev is not None and ev.kind is Kind.START), ln


# ------------------------------------------------------------------ metrics, both namings


@pytest.mark.parametrize(
    ("name", "slot", "hot", "source", "forging", "version"),
    [
        ("metrics-8.9.0-relay-legacy.prom", 133745329, 12, "peerSelection_hot", False, None),
        ("metrics-10.6.4-relay-synced.prom", 171240412, 21, "peerSelection_ActivePeers_int", False, "10.6.4"),
        ("metrics-10.6.4-nosuffix.prom", 171240412, 7, "peerSelection_ActivePeers", False, None),
        ("metrics-11.0.1-bp-synced.prom", 171760222, 2, "peerSelection_ActivePeers_int", True, "11.0.1"),
    ],
)
def test_both_metric_namings(name: str, slot: int, hot: int, source: str, forging: bool, version: str | None) -> None:
    m = metrics(name)
    assert health.metric_value_int(m, health.Metric.SLOT) == slot
    assert health.hot_peer_count(m, ("198.51.100.1",)) == (hot, source)
    f = host_facts(metrics=m)
    assert f.hot_peers == hot and f.forging_enabled is forging and f.running_version == version


def test_hot_peers_from_the_deprecated_name_alone() -> None:
    m = {"cardano_node_metrics_peerSelection_Hot_int": 4.0}
    assert health.hot_peer_count(m, ()) == (4, "peerSelection_Hot_int")


def test_kes_periods_on_a_new_tracing_producer() -> None:
    m = metrics("metrics-11.0.1-bp-synced.prom")
    assert host_facts(metrics=m).remaining_kes_periods == 37
    assert health.metric_value_int(m, health.Metric.CURRENT_KES_PERIOD) == 1326
    assert health.metric_value_int(m, health.Metric.OPCERT_EXPIRY_KES_PERIOD) == 1363
    assert health.metric_value_int(m, health.Metric.GSM_STATE) == 2


def test_metrics_absent_during_startup_are_not_known_yet() -> None:
    m = metrics("metrics-10.6.4-relay-replaying.prom")
    assert "cardano_build_info" not in m  # a labelled sample: read by running_version, not by name
    f = host_facts(metrics=m, hot_peer_addresses=())
    assert health.metric(m, health.Metric.SLOT) is None and f.hot_peers is None and f.remaining_kes_periods is None
    assert f.hot_peer_count == (0, "established node connections")
    assert f.replay_progress == pytest.approx(99.97788) and f.forging_enabled is False
    assert f.running_version == "10.6.4"
    assert health.metric_value_int(m, health.Metric.NODE_START_TIME) == 1778400000


def test_nan_and_missing_read_as_absent() -> None:
    assert health.metric({"cardano_node_metrics_slotNum_int": float("nan")}, health.Metric.SLOT) is None
    assert health.metric({}, health.Metric.BLOCK_REPLAY_PROGRESS) is None
    assert health.running_version({'cardano_build_info{ghc_version="9.6.7"}': 1.0}) is None


# ------------------------------------------------------------------ which tracing system a host runs


@pytest.mark.parametrize(
    ("version", "config_file", "expected"),
    [
        ("8.7.3", "8.7.3/mainnet-config.json", Tracing.LEGACY),  # no key: legacy by default
        ("8.9.0", "8.9.0/mainnet-config-new-tracing.json", Tracing.NEW),
        ("10.1.4", "10.1.4/mainnet-config.json", Tracing.LEGACY),
        ("10.5.3", "10.5.3/mainnet-config.json", Tracing.LEGACY),  # shipped with UseTraceDispatcher false
        ("10.6.4", "10.6.4/mainnet-config.json", Tracing.NEW),
        ("10.6.4", "10.6.4/mainnet-config-legacy.json", Tracing.LEGACY),
        ("11.0.1", "11.0.1/mainnet-config.json", Tracing.NEW),
        ("11.1.0", "11.0.1/mainnet-config-legacy.json", Tracing.NEW),  # 11.1 reads no UseTraceDispatcher
    ],
)
def test_tracing_from_real_configs(version: str, config_file: str, expected: Tracing) -> None:
    f = host_facts(node_version=version, config_text=(REFERENCE / config_file).read_text())
    assert f.tracing is expected


def test_tracing_from_the_release_default_when_the_key_is_absent() -> None:
    config = json.loads((REFERENCE / "10.6.4" / "mainnet-config.json").read_text())
    del config["UseTraceDispatcher"]
    assert host_facts(node_version="10.6.4", config_text=json.dumps(config)).tracing is Tracing.NEW
    assert host_facts(node_version="10.1.4", config_text=json.dumps(config)).tracing is Tracing.LEGACY
    assert host_facts(node_version="9.9.9", config_text=json.dumps(config)).tracing is None  # not catalogued
    assert host_facts(node_version="9.9.9", config_text='{"UseTraceDispatcher": true}').tracing is Tracing.NEW
    assert host_facts(node_version="10.6.4", config_text=None).tracing is None


# ------------------------------------------------------------------ where the metrics are asked


@pytest.mark.parametrize(
    ("config", "url"),
    [
        ((REFERENCE / "10.6.4" / "mainnet-config.json").read_text(), "http://127.0.0.1:12798/metrics"),
        ((REFERENCE / "8.9.0" / "mainnet-config.json").read_text(), "http://127.0.0.1:12798/metrics"),  # legacy
        ('{"TraceOptions": {"": {"backends": ["PrometheusSimple suffix 127.0.0.1 12799"]}}}',
         "http://127.0.0.1:12799/metrics"),
        ('{"TraceOptions": {"": {"backends": ["PrometheusSimple 12801"]}}}', "http://127.0.0.1:12801/metrics"),
        ("TraceOptions:\n  '':\n    backends:\n      - PrometheusSimple nosuffix 0.0.0.0 12802\n",
         "http://127.0.0.1:12802/metrics"),  # YAML, wildcard bind asked on loopback
        ('{"b": ["PrometheusSimple suffix ::1 12803"]}', "http://[::1]:12803/metrics"),
        ('{"b": ["PrometheusSimple suffix $(touch PWNED) 9"]}', "http://127.0.0.1:12798/metrics"),
    ],
)
def test_metrics_are_asked_where_the_config_exports_them(tmp_path: Path, config: str, url: str) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(config)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "curl").write_text('#!/bin/sh\nfor a; do last=$a; done\necho "asked{url=\\"$last\\"} 1"\n')
    (stubs / "curl").chmod(0o755)
    host = Host("relay1", Role.RELAY, "127.0.0.1", GUILD.with_overrides({"config_path": str(cfg)}))
    env = {"PATH": f"{stubs}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(tmp_path)}
    proc = subprocess.run(["sh", "-c", MetricsSection().command(host)], capture_output=True, text=True, timeout=30,
                          env=env, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f'asked{{url="{url}"}} 1'
    assert not (tmp_path / "PWNED").exists()


# ------------------------------------------------------------------ hostile host text never raises

_REAL_LINES = [ln for name in ("10.6.4-relay-restart-snapshot.json.log", "10.6.4-relay-restart-snapshot.human.log",
                               "10.6.4-unclean-genesis-replay.json.log", "11.0.1-bp-restart-chain-selection.human.log")
               for ln in lines(name) if not ln.startswith("#")]  # fmt: skip


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_REAL_LINES), st.integers(0, 400), st.text(max_size=6)), max_size=12))
def test_mutated_real_lines_never_raise(edits: list[tuple[str, int, str]]) -> None:
    mutated = [ln[:cut] + noise + ln[cut + len(noise):] for ln, cut, noise in edits]
    for ln in mutated:
        parse_line(ln)  # None or an event, never an exception
    s = summarise(mutated)
    if s.current is not None:
        s.current.describe()
        s.current.eta_seconds(s.current.last_event_at + 1)


@settings(max_examples=examples(60), deadline=None)
@given(st.dictionaries(st.sampled_from([n for m in health.Metric for n in m.names] + ["cardano_build_info{version=\"1\"}"]),
                       st.floats(allow_nan=True, allow_infinity=True), max_size=8))
def test_metric_readers_never_raise(page: dict[str, float]) -> None:
    for which in health.Metric:
        value = health.metric(page, which)
        assert value is None or (value == value and abs(value) != float("inf"))
    health.running_version(page)
    health.hot_peer_count(page, ())
