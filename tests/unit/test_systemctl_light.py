"""The light systemctl/journalctl module's pure parts (the processes: tests/process/test_systemctl_standin.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.lab import systemctl_light as light


def regex_timespan(text: str) -> float:
    """The stand-in's former reading (a regular expression), kept here as the reference."""
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "us": 1e-6, "": 1}
    return sum(float(n) * units.get(u, 1) for n, u in re.findall(r"([\d.]+)\s*([a-z]*)", text.strip()))


@pytest.mark.parametrize("text", ["60", "90s", "1min 30s", "500ms", " 2 h ", "1min30s", "1.5s", "3 weeks", "", "x9s"])
def test_timespan_reads_as_the_regex_did(text: str) -> None:
    assert light.parse_timespan(text) == pytest.approx(regex_timespan(text))
    assert light.parse_timespan("infinity") == float("inf")


def test_signals_by_number_and_name() -> None:
    assert light.parse_signal("9") == 9 and light.parse_signal("SIGINT") == 2 and light.parse_signal("hup") == 1
    assert light.parse_signal("NOSUCH") == light.SIGTERM == 15


def test_unit_entries_sections_continuations_and_comments() -> None:
    text = "[Unit]\nDescription=a node\n# comment\n[Service]\nExecStart=/bin/x \\\n  --flag\n; other\nUser = cardano\n"
    assert light.unit_entries(text) == [
        ("Unit", "Description", "a node"), ("Service", "ExecStart", "/bin/x  --flag"), ("Service", "User", "cardano"),
    ]  # fmt: skip


def test_properties_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_SYSTEMD_ROOT", str(tmp_path))
    units = tmp_path / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    (units / "cnode.service").write_text(
        "[Unit]\nDescription=first\nDescription=Cardano\n[Service]\nTimeoutStopSec=60\nTimeoutSec=5\n"
        "KillSignal=SIGINT\nUser=\n"
    )
    state = tmp_path / "run" / "lab-systemd"
    state.mkdir(parents=True)
    (state / "cnode.service.json").write_text(json.dumps({"ActiveState": "active", "SupervisorPID": 0, "MainPID": 7}))
    props = light.properties("cnode.service")
    # A recorded "active" whose supervisor is gone is a failed unit (the machine rebooted, a kill).
    assert (props["ActiveState"], props["SubState"], props["MainPID"], props["Result"]) == ("failed", "failed", "0", "signal")
    assert (props["Description"], props["KillSignal"], props["TimeoutStopUSec"], props["User"]) == ("Cardano", "2", "5s", "")
    assert (props["LoadState"], props["UnitFileState"]) == ("loaded", "disabled")
    missing = light.properties("missing.service")
    assert (missing["LoadState"], missing["UnitFileState"], missing["FragmentPath"], missing["TimeoutStopUSec"]) == (
        "not-found", "", "", "infinity")  # fmt: skip
    assert list(props) == list(missing)  # one order, what `show` without -p prints


def test_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    args = light.parse_args(["show", "-p", "A,B", "--property=C", "--value", "-q", "--no-pager", "-s", "KILL", "u"])
    assert args is not None
    assert (args.words, args.props, args.value_only, args.quiet, args.kill_signal) == (["show", "u"], ["A", "B", "C"],
                                                                                      True, True, 9)  # fmt: skip
    assert light.parse_args(["-p"]) is None and "requires an argument" in capsys.readouterr().err
    assert light.parse_args(["--bogus", "show"]) is None and "unrecognized option '--bogus'" in capsys.readouterr().err
    assert light.parse_args([]) is None and capsys.readouterr().err.startswith("usage: systemctl")
    # The verbs that change state are not this module's.
    for verb in ("start", "stop", "restart", "reload", "enable", "status", "daemon-reload", "kill"):
        parsed = light.parse_args([verb, "u"])
        assert parsed is not None and light.query(parsed) is None
    assert light.main(["/usr/local/sbin/systemctl", "__supervise", "u"]) is None


def test_imports_only_built_ins() -> None:
    """Importing it pulls in os (which any program needs) and nothing else: no re, json, typing,
    dataclasses, signal or shlex (the point of it: every probe runs it)."""
    code = (
        "import sys\nbefore = set(sys.modules)\nsys.path.insert(0, sys.argv[1])\nimport systemctl_light\n"
        "print(sorted(set(sys.modules) - before - {'systemctl_light'}))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(Path(light.__file__).parent)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    loaded = set(json.loads(done.stdout.replace("'", '"')))
    assert loaded <= {"__future__", "os", "os.path", "posixpath", "genericpath", "stat", "_stat", "_collections_abc"}


VALUES = st.one_of(st.text(), st.integers(), st.booleans(), st.none())


@given(st.dictionaries(st.text(), VALUES), st.booleans(), st.sampled_from([None, 1, 2]))
def test_flat_json_reads_what_json_writes(state: dict[str, object], ascii_only: bool, indent: int | None) -> None:
    text = json.dumps(state, ensure_ascii=ascii_only, indent=indent)
    got = light.flat_json(text)
    # Every str/int/bool/null object is read as json reads it, except strings with characters outside
    # the BMP written as \\u surrogate pairs, which it leaves to json (None).
    assert got == state or (got is None and "\\ud" in text.lower())


@given(st.text(alphabet='{}[]":,-0123456789.eE ntrufals\\/\n\tabu"x', max_size=40))
def test_flat_json_never_differs_from_json(text: str) -> None:
    got = light.flat_json(text)
    if got is not None:
        assert got == json.loads(text)


@pytest.mark.parametrize("text", ['{"a": 1.5}', '{"a": {}}', '{"a": [1]}', '{"a": 01}', '{"a": 1e3}', '{"a": 1,}',
                                  '{"a" 1}', '{"a": "\x01"}', '[1]', '{"a": 1} x', '{"a": -}', '{"a": "\\q"}', ""])  # fmt: skip
def test_flat_json_leaves_the_rest_to_json(text: str) -> None:
    assert light.flat_json(text) is None


def test_state_read_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_SYSTEMD_ROOT", str(tmp_path))
    (tmp_path / "run" / "lab-systemd").mkdir(parents=True)
    path = tmp_path / "run" / "lab-systemd" / "u.service.json"
    path.write_text('{"ActiveState": "active", "MainPID": 12, "Extra": {"x": 1.5}}')  # not flat: json reads it
    assert light.read_state("u.service") == {"ActiveState": "active", "MainPID": 12, "Extra": {"x": 1.5}}
    path.write_text("{broken")
    assert light.read_state("u.service") == {}
    assert light.read_state("none.service") == {}
