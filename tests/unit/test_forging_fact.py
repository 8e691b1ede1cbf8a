"""The `forging` fact (facts/forging.py): a producer's command line, its credential files (stat only),
its forging metric and leadership checks twice, and the state they make (cardano/forging.py).

Metric names are the node's own (runtime-signals doc §2 table: new tracing `forging_enabled_int`,
`Forge_about_to_lead_counter` under the shipped `PrometheusSimple suffix` backend of 10.6.4 and
11.0.1; legacy `forging_enabled`, `…_int`). The section's command is also run for real here: a real
process's /proc cmdline, real files tested with `test -e`, a real Prometheus page over loopback.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.cardano.forging import DISABLED_SUFFIX, Forging
from orchestrator.cardano.layouts import IOG
from orchestrator.facts.forging import SAMPLE_SECONDS, ForgingSection
from orchestrator.facts.model import CredentialFile, HostFacts
from orchestrator.facts.probe import parse_probe
from orchestrator.facts.record import Output
from orchestrator.model import Host, Role
from orchestrator.report.facts_json import facts_to_json
from orchestrator.report.facts_table import forging_line, print_facts
from orchestrator.report.terminal import make_console

REF = Path("/work/shared/cardano-reference/cardano-node-repo")
BP = Host("bp1", Role.BLOCK_PRODUCER, "198.18.0.101", IOG)
STANDBY = Host("bp1-standby", Role.BLOCK_PRODUCER, "198.18.0.102", IOG, standby_for="bp1")
RELAY = Host("relay1", Role.RELAY, "198.18.0.11", IOG)
KEYS = "/opt/cardano/keys"
ARGV = ["/opt/cardano/bin/cardano-node", "run", "--config", "/opt/cardano/config.json", "--shelley-kes-key",
        f"{KEYS}/kes.skey", "--shelley-vrf-key", f"{KEYS}/vrf.skey",
        f"--shelley-operational-certificate={KEYS}/node.cert"]  # fmt: skip
NEW = "cardano_node_metrics_forging_enabled_int {}\ncardano_node_metrics_Forge_about_to_lead_counter {}"
LEGACY = "cardano_node_metrics_forging_enabled {}\ncardano_node_metrics_Forge_about_to_lead_int {}"


def body(argv: list[str], present: dict[str, bool], first: str, second: str, pid: str = "4242") -> str:
    lines = [f"pid={pid}"]
    for a in argv:
        lines.append(f"arg\t{a}")
        v = a.partition("=")[2] if a.startswith("--") and "=" in a else a
        if v.startswith("/"):
            lines.append(f"exists\t{int(present.get(v, True))}\t{int(not present.get(v, True))}\t{v}")
    return "\n".join([*lines, "@@sample-1", first, "@@sample-2", second])


def parse(text: str, host: Host = BP) -> object:
    return ForgingSection(interval=2).parse(Output(host, text, 0)).fields["forging"]


@pytest.mark.parametrize("version", ["10.6.4", "11.0.1"])
def test_the_shipped_configs_export_suffixed_names(version: str) -> None:
    """What the names in these tests rest on: both releases ship `PrometheusSimple suffix`, so gauges
    end in `_int` and counters in `_counter` (runtime-signals doc §2)."""
    config = json.loads((REF / version / "mainnet-config.json").read_text())
    backends = [b for spec in config["TraceOptions"][""]["backends"] for b in [spec] if "PrometheusSimple" in b]
    assert backends == ["PrometheusSimple suffix 127.0.0.1 12798"]


@pytest.mark.parametrize("page", [NEW, LEGACY])
def test_checks_rising_is_forging(page: str) -> None:
    f = parse(body(ARGV, {}, page.format(1, 120), page.format(1, 122)))
    assert f.state is Forging.ON and f.state.label == "forging"
    assert (f.checks_before, f.checks_after, f.forging_metric) == (120, 122, True)
    assert [c.path for c in f.credentials] == [f"{KEYS}/kes.skey", f"{KEYS}/vrf.skey", f"{KEYS}/node.cert"]
    assert f.credentials_present and not f.non_producing and f.note is None


def test_metric_one_without_rising_checks_is_not_proven() -> None:
    """A node in its replay: forging_enabled reads 1 (Run.hs L277-282), no leadership check yet."""
    f = parse(body(ARGV, {}, "cardano_node_metrics_forging_enabled_int 1", "cardano_node_metrics_forging_enabled_int 1"))
    assert f.state is Forging.ENABLED and f.state.label == "enabled, not proven"
    assert f.checks_before is None and f.checks_after is None


def test_a_standby_renamed_away_and_non_producing_is_not_forging() -> None:
    argv = [*ARGV, "--start-as-non-producing-node"]
    away = {f"{KEYS}/kes.skey": False, f"{KEYS}/vrf.skey": False, f"{KEYS}/node.cert": False}
    f = parse(body(argv, away, NEW.format(0, 0), NEW.format(0, 0)), STANDBY)
    assert f.state is Forging.OFF and f.non_producing and not f.credentials_present
    assert all(c == CredentialFile(c.path, False, True) for c in f.credentials)
    line = forging_line(STANDBY, f)
    assert line.startswith("bp1-standby (standby for bp1): not forging (leadership checks 0 → 0 in 2 s")
    assert "credential files present 0/3 (3 renamed away)" in line and "started non-producing" in line


def test_a_stopped_node_does_not_forge() -> None:
    f = parse("pid=none\n@@sample-1\n@@sample-2\n")
    assert f.state is Forging.OFF and not f.running and "not running" in (f.note or "")


def test_no_metrics_is_unknown_with_the_reason() -> None:
    f = parse(body(ARGV, {}, "", ""))
    assert f.state is Forging.UNKNOWN and "no forging_enabled metric" in (f.note or "")


def test_a_kes_agent_is_named() -> None:
    argv = [a for a in ARGV if "kes" not in a] + ["--shelley-kes-agent-socket", "/run/kes-agent.socket"]
    f = parse(body(argv, {}, NEW.format(1, 5), NEW.format(1, 7)))
    assert f.state is Forging.ON and f.kes_agent == "/run/kes-agent.socket" and "agent" in (f.note or "")


def test_garbage_is_an_error_never_a_raise() -> None:
    parsed = ForgingSection().parse(Output(BP, "nonsense", 0))
    assert "forging" in parsed.errors and "forging" not in parsed.fields


def test_only_producers_and_standbys_are_probed_and_the_interval_is_bounded() -> None:
    assert ForgingSection().applies(BP) and ForgingSection().applies(STANDBY) and not ForgingSection().applies(RELAY)
    for bad in (0, -1, 31):
        with pytest.raises(ValueError):
            ForgingSection(interval=bad)
    assert "sleep 0.5" in ForgingSection(interval=0.5).command(BP)


def test_the_fact_in_facts_json() -> None:
    text = "\n@@cf-begin forging@@\n" + body(ARGV, {f"{KEYS}/kes.skey": False}, NEW.format(0, 9), NEW.format(0, 9)) \
        + "\n@@cf-end forging 0@@\n"  # fmt: skip
    facts = parse_probe(BP, text, sections={"forging"})
    doc = facts_to_json(facts)["forging"]
    assert doc["state"] == "off" and doc["label"] == "not forging" and doc["credentials_present"] is False
    assert doc["credentials"][0] == {"path": f"{KEYS}/kes.skey", "present": False, "renamed_away": True}
    assert doc["leadership_checks"] == {"before": 9, "after": 9, "interval_seconds": SAMPLE_SECONDS}
    assert "skey" not in json.dumps(doc).replace(f"{KEYS}/kes.skey", "").replace(f"{KEYS}/vrf.skey", "")


# ---------------------------------------------------------------- the command, run for real


@pytest.fixture
def metrics_page() -> Iterator[tuple[int, list[int]]]:
    """A Prometheus page on loopback whose leadership-check counter rises by one per request."""
    hits = [0]

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            hits[0] += 1
            text = NEW.format(1, 100 + hits[0]) + "\n"
            self.send_response(200)
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()


def test_the_command_reads_a_real_command_line_stats_the_files_and_samples_twice(
    tmp_path: Path, metrics_page: tuple[int, list[int]]
) -> None:
    port, hits = metrics_page
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "kes.skey").write_text("never read")
    (keys / f"vrf.skey{DISABLED_SUFFIX}").write_text("never read")
    (keys / "node.cert").write_text("never read")
    os.utime(keys / "kes.skey", (1_000_000_000, 1_000_000_000))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"TraceOptions": {"": {"backends": [f"PrometheusSimple suffix 127.0.0.1 {port}"]}}}))
    node = subprocess.Popen(["sh", "-c", "sleep 30", "cardano-node", "run", "--shelley-kes-key", str(keys / "kes.skey"),
                             "--shelley-vrf-key", str(keys / "vrf.skey"),
                             f"--shelley-operational-certificate={keys / 'node.cert'}"])  # fmt: skip
    try:
        stub = tmp_path / "bin"
        stub.mkdir()
        (stub / "systemctl").write_text(f"#!/bin/sh\necho {node.pid}\n")
        (stub / "systemctl").chmod(0o755)
        host = Host("bp1", Role.BLOCK_PRODUCER, "127.0.0.1", IOG.with_overrides({"config_path": str(config)}))
        section = ForgingSection(interval=0.2)
        env = {"PATH": f"{stub}:/usr/bin:/bin", "LC_ALL": "C"}
        proc = subprocess.run(["sh", "-c", section.command(host)], capture_output=True, text=True, timeout=30, env=env)
    finally:
        node.kill()
        node.wait()
    assert proc.returncode == 0, proc.stderr
    f = section.parse(Output(host, proc.stdout, 0)).fields["forging"]
    assert hits[0] == 2 and f.state is Forging.ON and (f.checks_before, f.checks_after) == (101, 102)
    assert f.credentials == (CredentialFile(str(keys / "kes.skey"), True, False),
                             CredentialFile(str(keys / "vrf.skey"), False, True),
                             CredentialFile(str(keys / "node.cert"), True, False))  # fmt: skip
    assert (keys / "kes.skey").stat().st_atime == 1_000_000_000  # stat only: never opened


def test_the_facts_table_names_the_standby_and_shows_its_forging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")
    away = {f"{KEYS}/kes.skey": False, f"{KEYS}/vrf.skey": False, f"{KEYS}/node.cert": False}
    facts = {"bp1": HostFacts("bp1", True, forging=parse(body(ARGV, {}, NEW.format(1, 1), NEW.format(1, 4)))),
             "bp1-standby": HostFacts("bp1-standby", True, forging=parse(body(ARGV, away, NEW.format(0, 0),
                                                                                NEW.format(0, 0)), STANDBY))}  # fmt: skip
    out = io.StringIO()
    print_facts(make_console(out), "inv.yml", (BP, STANDBY), facts, 1_700_000_000.0)
    text = out.getvalue()
    assert "block_producer (standby for bp1)" in text and "not forging" in text
    assert "bp1: forging (leadership checks 1 → 4 in 2 s; forging_enabled 1); credential files present 3/3" in text
