"""Playbooks and roles: the format, load-time errors at file:line:column, serial, templating, precedence."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from orchestrator.cardano.layouts import IOG
from orchestrator.load.inventory import load_inventory
from orchestrator.load.playbook import (
    DEFAULT_ACTIONS,
    ActionSpec,
    PlaybookError,
    TemplateError,
    load_playbook,
    parse_serial,
    render,
    render_step,
    serial_batches,
    step_vars,
)
from orchestrator.model import Host, Role, Serial

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "playbooks"

# roles every invalid-playbook case can use
BASE_ROLES = {
    "roles/ok/steps.yml": "- sync_gate: {max_slot_lag: 20, timeout_seconds: 60}\n",
    "roles/restarts/steps.yml": "- restart_node: {}\n",
}
ONE_STAGE = "name: p\nstages:\n  - name: s\n    hosts: relays\n    serial: 1\n    roles: [{role}]\n"


def make(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {**BASE_ROLES, **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path / "play.yml"


def serial_case(value: str) -> str:
    return f"name: p\nstages:\n  - name: s\n    hosts: relays\n    serial: {value}\n    roles: [ok]\n"


# (id, files, file the error is in, line, column, message; {roles} is the roles directory, and
# {parent_roles} the other place searched: roles/ beside the playbook's directory)
INVALID: list[tuple[str, dict[str, str], str, int, int, str]] = [
    (
        "yaml",
        {"play.yml": "name: [\n"},
        "play.yml",
        2,
        1,
        "YAML syntax error: expected the node content, but found '<stream end>'",
    ),
    (
        "not-a-mapping",
        {"play.yml": "- a\n"},
        "play.yml",
        1,
        1,
        "a playbook is a mapping (name, stages, ...), not a list",
    ),
    (
        "top-key-typo",
        {"play.yml": "name: p\nstges: []\n"},
        "play.yml",
        2,
        1,
        "unknown key 'stges' in the playbook — did you mean 'stages'?",
    ),
    ("no-name", {"play.yml": "stages: []\n"}, "play.yml", 1, 1, "a playbook needs a 'name' (a string)"),
    (
        "empty-stages",
        {"play.yml": "name: p\nstages: []\n"},
        "play.yml",
        2,
        9,
        "'stages' must be a non-empty list of stages",
    ),
    ("serial-0", {"play.yml": serial_case("0")}, "play.yml", 5, 13, "serial must be at least 1, not 0"),
    ("serial-negative", {"play.yml": serial_case("-2")}, "play.yml", 5, 13, "serial must be at least 1, not -2"),
    ("serial-0%", {"play.yml": serial_case('"0%"')}, "play.yml", 5, 13, "serial percentage must be 1%..100%, not '0%'"),
    (
        "serial-150%",
        {"play.yml": serial_case('"150%"')},
        "play.yml",
        5,
        13,
        "serial percentage must be 1%..100%, not '150%'",
    ),
    ("serial-list-0", {"play.yml": serial_case("[1, 0]")}, "play.yml", 5, 13, "serial must be at least 1, not 0"),
    ("serial-empty", {"play.yml": serial_case("[]")}, "play.yml", 5, 13, "serial list is empty"),
    (
        "serial-word",
        {"play.yml": serial_case("some")},
        "play.yml",
        5,
        13,
        "serial must be a number or a percentage like \"50%\", not 'some'",
    ),
    (
        "serial-bool",
        {"play.yml": serial_case("true")},
        "play.yml",
        5,
        13,
        "serial must be a number or a percentage, not a boolean",
    ),
    (
        "max-fail-101",
        {"play.yml": "name: p\nmax_fail_percentage: 101\nstages:\n  - {name: s, hosts: all, roles: [ok]}\n"},
        "play.yml",
        2,
        22,
        "max_fail_percentage must be a number 0..100, not 101",
    ),
    (
        "min-healthy-negative",
        {"play.yml": "name: p\nstages:\n  - {name: s, hosts: all, roles: [ok], min_healthy_relays: -1}\n"},
        "play.yml",
        3,
        60,
        "min_healthy_relays must be an integer ≥ 0, not -1",
    ),
    (
        "stage-key-typo",
        {"play.yml": "name: p\nstages:\n  - name: s\n    hosts: relays\n    sreial: 1\n    roles: [ok]\n"},
        "play.yml",
        5,
        5,
        "unknown key 'sreial' in a stage — did you mean 'serial'?",
    ),
    (
        "stage-without-hosts",
        {"play.yml": "name: p\nstages:\n  - name: s\n    roles: [ok]\n"},
        "play.yml",
        3,
        5,
        "stage 's' needs 'hosts' (a host pattern such as all, relays or block_producers)",
    ),
    (
        "stage-without-roles",
        {"play.yml": "name: p\nstages:\n  - name: s\n    hosts: all\n    roles: []\n"},
        "play.yml",
        5,
        12,
        "stage 's' needs 'roles' (a non-empty list of role names)",
    ),
    (
        "duplicate-stage",
        {
            "play.yml": "name: p\nstages:\n"
            "  - {name: s, hosts: all, roles: [ok]}\n  - {name: s, hosts: all, roles: [ok]}\n"
        },
        "play.yml",
        4,
        5,
        "stage 's' is defined twice (first at line 3)",
    ),
    (
        "hosts-beside-stages",
        {"play.yml": "name: p\nhosts: all\nstages:\n  - {name: s, hosts: all, roles: [ok]}\n"},
        "play.yml",
        2,
        1,
        "'hosts' belongs in a stage when the playbook has 'stages'",
    ),
    (
        "unknown-role",
        {"play.yml": ONE_STAGE.format(role="okk")},
        "play.yml",
        6,
        13,
        "unknown role 'okk' — did you mean 'ok'?",
    ),
    (
        "unknown-role-no-hint",
        {"play.yml": ONE_STAGE.format(role="zzzzzz")},
        "play.yml",
        6,
        13,
        "unknown role 'zzzzzz' (searched {roles}, {parent_roles})",
    ),
    (
        "role-entry-typo",
        {"play.yml": ONE_STAGE.format(role="{role: ok, step_from: x}")},
        "play.yml",
        6,
        24,
        "unknown key 'step_from' in a role entry — did you mean 'steps_from'?",
    ),
    (
        "steps-from-missing",
        {"play.yml": ONE_STAGE.format(role="{role: ok, steps_from: nope}")},
        "play.yml",
        6,
        20,
        "role 'ok' has no nope.yml in {roles}/ok",
    ),
    (
        "disruptive-without-serial",
        {"play.yml": "name: p\nstages:\n  - name: s\n    hosts: relays\n    roles: [restarts]\n"},
        "play.yml",
        4,
        5,
        "stage 's' restarts nodes (restart_node in role 'restarts') on every host at once; "
        "set 'serial' (e.g. serial: 1) or, if you mean it, 'parallel: true'",
    ),
    (
        "serial-and-parallel",
        {
            "play.yml": "name: p\nstages:\n  - name: s\n    hosts: relays\n"
            "    serial: 1\n    parallel: true\n    roles: [ok]\n"
        },
        "play.yml",
        6,
        5,
        "stage 's' has both 'serial' and 'parallel: true'",
    ),
    (
        "template-filter",
        {"play.yml": 'name: p\nvars:\n  x: "{{ y | default(1) }}"\nhosts: all\nroles: [ok]\n'},
        "play.yml",
        3,
        6,
        "only plain {{ name }} substitution is supported, not '{{ y | default(1) }}'",
    ),
    (
        "unknown-action",
        {"play.yml": ONE_STAGE.format(role="bad"), "roles/bad/steps.yml": "- restart_nod: {}\n"},
        "roles/bad/steps.yml",
        1,
        3,
        "unknown action 'restart_nod' — did you mean 'restart_node'?",
    ),
    (
        "unknown-action-no-hint",
        {"play.yml": ONE_STAGE.format(role="bad"), "roles/bad/steps.yml": "- name: x\n  shell: reboot\n"},
        "roles/bad/steps.yml",
        2,
        3,
        "unknown action 'shell'; actions are convert_topology, drain_node, install_peer_snapshot, install_release, "
        "migrate_config, restart_node, return_node, set_consensus_mode, stage_release, sync_gate",
    ),
    (
        "unknown-argument-typo",
        {
            "play.yml": ONE_STAGE.format(role="bad"),
            "roles/bad/steps.yml": "- sync_gate:\n    max_slot_lag: 1\n    timeout_seconds: 2\n    poll_second: 3\n",
        },
        "roles/bad/steps.yml",
        4,
        5,
        "unknown argument 'poll_second' for 'sync_gate' — did you mean 'poll_seconds'?",
    ),
    (
        "unknown-argument",
        {"play.yml": ONE_STAGE.format(role="bad"), "roles/bad/steps.yml": "- restart_node: {force: true}\n"},
        "roles/bad/steps.yml",
        1,
        18,
        "unknown argument 'force' for 'restart_node'; it takes kes_refuse_restart_periods, leader_margin_seconds, "
        "leader_max_wait_seconds, leader_schedule, leader_settle_seconds, mode",
    ),
    (
        "missing-argument",
        {
            "play.yml": ONE_STAGE.format(role="bad"),
            "roles/bad/steps.yml": "- name: gate\n  sync_gate:\n    max_slot_lag: 1\n",
        },
        "roles/bad/steps.yml",
        2,
        3,
        "'sync_gate' needs argument timeout_seconds",
    ),
    (
        "missing-arguments",
        {"play.yml": ONE_STAGE.format(role="bad"), "roles/bad/steps.yml": "- sync_gate:\n"},
        "roles/bad/steps.yml",
        1,
        3,
        "'sync_gate' needs arguments max_slot_lag, timeout_seconds",
    ),
    (
        "two-actions",
        {"play.yml": ONE_STAGE.format(role="bad"), "roles/bad/steps.yml": "- restart_node: {}\n  sync_gate: {}\n"},
        "roles/bad/steps.yml",
        2,
        3,
        "a step does one action; this one has 'restart_node' and 'sync_gate'",
    ),
    (
        "no-action",
        {"play.yml": ONE_STAGE.format(role="bad"), "roles/bad/steps.yml": "- {name: nothing}\n"},
        "roles/bad/steps.yml",
        1,
        3,
        "a step needs an action, one of convert_topology, drain_node, install_peer_snapshot, install_release, migrate_config, "
        "restart_node, return_node, set_consensus_mode, stage_release, sync_gate",
    ),
    (
        "steps-not-a-list",
        {"play.yml": ONE_STAGE.format(role="bad"), "roles/bad/steps.yml": "restart_node: {}\n"},
        "roles/bad/steps.yml",
        1,
        1,
        "a steps file is a non-empty list of steps",
    ),
    (
        "args-not-a-mapping",
        {"play.yml": ONE_STAGE.format(role="bad"), "roles/bad/steps.yml": "- restart_node: now\n"},
        "roles/bad/steps.yml",
        1,
        17,
        "arguments of 'restart_node' must be a mapping, not a string",
    ),
    (
        "defaults-not-a-mapping",
        {
            "play.yml": ONE_STAGE.format(role="bad"),
            "roles/bad/steps.yml": "- restart_node:\n",
            "roles/bad/defaults.yml": "- a\n",
        },
        "roles/bad/defaults.yml",
        1,
        1,
        "role defaults must be a mapping, not a list",
    ),
    (
        "template-expression-in-args",
        {
            "play.yml": ONE_STAGE.format(role="bad"),
            "roles/bad/steps.yml": '- sync_gate: {max_slot_lag: "{{ lag + 1 }}", timeout_seconds: 1}\n',
        },
        "roles/bad/steps.yml",
        1,
        29,
        "only plain {{ name }} substitution is supported, not '{{ lag + 1 }}'",
    ),
]


@pytest.mark.parametrize(
    ("files", "where", "line", "column", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_playbooks_name_file_line_column(
    tmp_path: Path, files: dict[str, str], where: str, line: int, column: int, message: str
) -> None:
    play = make(tmp_path, files)
    with pytest.raises(PlaybookError) as caught:
        load_playbook(play)
    roles = tmp_path / "roles"
    expected = message.replace("{roles}", str(roles)).replace("{parent_roles}", str(tmp_path.parent / "roles"))
    assert (caught.value.path, caught.value.line, caught.value.column, caught.value.message) == (
        str(tmp_path / where),
        line,
        column,
        expected,
    )
    assert str(caught.value) == f"{tmp_path / where}:{line}:{column}: {expected}"


# --- shipped playbooks ----------------------------------------------------------------------------


def test_shipped_upgrade_playbook() -> None:
    book = load_playbook(ROOT / "playbooks" / "upgrade-8.9.0.yml")
    assert [s.name for s in book.stages] == ["stage", "relays", "passive_nodes", "block_producers"]
    stage, relays, passive, producers = book.stages
    assert (passive.hosts, [s.action for s in passive.steps]) == ("passive_nodes", [s.action for s in relays.steps])
    assert (stage.hosts, stage.parallel, [s.action for s in stage.steps]) == ("all", True, ["stage_release"])
    assert (relays.hosts, relays.serial, relays.max_fail_percentage, relays.min_healthy_relays) == (
        "relays",
        Serial((1, "50%")),
        0.0,
        1,
    )
    assert (producers.hosts, producers.serial) == ("block_producers", Serial((1,)))
    expected = ["stage_release", "install_release", "migrate_config", "convert_topology", "install_peer_snapshot",
                "set_consensus_mode", "restart_node", "sync_gate"]
    # relays and passive nodes run the inventory's drain/return hooks (issue 28); producers have none
    assert [s.action for s in relays.steps] == ["drain_node", "return_node", *expected]
    assert [s.action for s in producers.steps] == expected
    assert [r.name for r in producers.roles] == ["node_release", "p2p_config", "p2p_topology", "sync_gate"]
    assert all(s.line > 0 and s.path.endswith("steps.yml") for s in relays.steps)


def test_shipped_enable_p2p_playbook() -> None:
    book = load_playbook(ROOT / "playbooks" / "enable-p2p.yml", roles_dir=ROOT / "roles")
    assert [s.name for s in book.stages] == ["relays", "passive_nodes", "block_producers"]
    for stage in book.stages:
        actions = [s.action for s in stage.steps]
        assert "install_release" not in actions and "stage_release" not in actions
        hooks = ["drain_node", "return_node"] if stage.name != "block_producers" else []
        assert actions == [*hooks, "migrate_config", "convert_topology", "install_peer_snapshot", "set_consensus_mode",
                           "restart_node", "sync_gate"]
    assert dict(book.vars) == {}  # nothing to set: the roles' defaults are what enable-p2p means


@pytest.mark.parametrize("name", ["upgrade-8.9.0.yml", "enable-p2p.yml"])
def test_shipped_playbooks_render_for_the_example_pool(name: str) -> None:
    """Every step of every stage renders for every host of the small-pool example: no undefined var."""
    book = load_playbook(ROOT / "playbooks" / name)
    inventory = load_inventory(ROOT / "inventory" / "examples" / "small-pool")
    for stage in book.stages:
        for host in inventory.select(stage.hosts):
            for role in stage.roles:
                variables = step_vars(book, stage, role, host)
                for step in role.steps:
                    rendered = render_step(step, variables)
                    assert "{{" not in repr(dict(rendered.args))
    relays = book.stages[-2]
    gate = relays.roles[-1]
    variables = step_vars(book, relays, gate, inventory.host("relay1"))
    args = [dict(render_step(s, variables).args) for s in gate.steps]
    assert args[0] == {"mode": "auto", "leader_schedule": None, "leader_margin_seconds": 120, "leader_settle_seconds": 30,
                       "leader_max_wait_seconds": 3600, "kes_refuse_restart_periods": 3}
    assert args[1]["max_slot_lag"] == 20 and args[1]["stall_seconds"] == 300  # types kept
    assert args[1]["timeout_seconds"] == "auto"  # from the last measured start, per host


def test_unpinned_sha256_fails_at_the_step_that_needs_it() -> None:
    book = load_playbook(ROOT / "playbooks" / "upgrade-8.9.0.yml")
    stage = book.stages[0]
    role = stage.roles[0]
    host = Host(name="r1", role=Role.RELAY, address="203.0.113.1", layout=IOG)
    with pytest.raises(PlaybookError) as caught:
        render_step(role.steps[0], step_vars(book, stage, role, host))
    assert caught.value.message == "stage_release: undefined variable 'node_release.sha256'"
    assert caught.value.path.endswith("roles/node_release/stage.yml") and caught.value.line == 3


# --- fixture playbooks ----------------------------------------------------------------------------


def test_fixture_playbook_structure() -> None:
    book = load_playbook(FIXTURES / "rolling.yml")
    stage, relays, producers = book.stages
    assert stage.roles[0].steps_from == "stage" and len(stage.steps) == 1
    assert (relays.max_fail_percentage, relays.min_healthy_relays) == (10.0, 2)
    assert (producers.max_fail_percentage, producers.serial) == (0.0, Serial((1,)))
    assert relays.roles[0].params == {"fetch_source": "push"}
    assert relays.steps[0].name == "Fetch" and relays.steps[1].name == "install_release"
    assert relays.steps[0].source == f"{FIXTURES / 'roles' / 'fetch' / 'steps.yml'}:2:3"
    assert relays.steps[2].args == {}  # `- restart_node:` with no args


def test_single_play_form() -> None:
    book = load_playbook(FIXTURES / "single-play.yml", roles_dir=FIXTURES / "roles")
    (stage,) = book.stages
    assert (stage.name, stage.hosts, stage.serial, book.vars) == ("One play", "relays", Serial((2,)), {"lag": 5})


def test_variable_precedence() -> None:
    """role defaults < inventory (host.vars) < playbook vars < stage vars < role params < -e."""
    book = load_playbook(FIXTURES / "rolling.yml")
    relays = book.stages[1]
    fetch = relays.roles[0]
    host = Host(
        name="r1",
        role=Role.RELAY,
        address="203.0.113.1",
        layout=IOG,
        vars=MappingProxyType({"level": "host", "lag": 99, "release": {"version": "8.9.0", "sha256": "pinned"}}),
    )
    v = step_vars(book, relays, fetch, host)
    assert v["level"] == "stage" and v["fetch_source"] == "push" and v["lag"] == 20
    assert v["release"]["sha256"] == "pinned"  # a mapping from the inventory replaces the default whole
    assert "url" not in v["release"]
    assert step_vars(book, relays, fetch, host, {"level": "extra", "fetch_source": "x"})["fetch_source"] == "x"
    bare = Host(name="r2", role=Role.RELAY, address="r2", layout=IOG)
    v = step_vars(book, book.stages[2], book.stages[2].roles[0], bare)
    assert (v["level"], v["fetch_source"], v["release"]["sha256"]) == ("playbook", "download", "default-sha")
    rendered = render_step(fetch.steps[0], step_vars(book, relays, fetch, host))
    assert dict(rendered.args) == {"version": "8.9.0", "url": "https://example.invalid/stage/r.tgz", "sha256": "pinned",
                                   "source": "push"}


def test_custom_action_registry() -> None:
    registry = {"noop": ActionSpec("noop", frozenset({"why"}), frozenset())}
    with pytest.raises(PlaybookError, match="unknown action 'stage_release'; actions are noop"):
        load_playbook(ROOT / "playbooks" / "upgrade-8.9.0.yml", actions=registry)
    assert set(DEFAULT_ACTIONS) == {
        "stage_release",
        "install_release",
        "migrate_config",
        "convert_topology",
        "install_peer_snapshot",
        "set_consensus_mode",
        "restart_node",
        "sync_gate",
        "drain_node",
        "return_node",
    }


# --- serial: Ansible's batching -------------------------------------------------------------------

SERIAL_TABLE: list[tuple[int, Any, list[int]]] = [
    (10, None, [10]),
    (10, 1, [1] * 10),
    (10, 3, [3, 3, 3, 1]),
    (10, "3", [3, 3, 3, 1]),
    (10, "30%", [3, 3, 3, 1]),
    (10, "25%", [2, 2, 2, 2, 2]),  # 2.5 rounds down
    (3, "10%", [1, 1, 1]),  # 0.3 → 0 → at least 1
    (10, "100%", [10]),
    (2, 5, [2]),
    (10, [1, "50%"], [1, 5, 4]),  # percentages of all hosts, not of those left
    (6, [1, "50%"], [1, 3, 2]),
    (5, [1, "50%"], [1, 2, 2]),
    (1, [1, "50%"], [1]),
    (10, [1, 2, "100%"], [1, 2, 7]),
    (4, [2, 5], [2, 2]),
    (9, [1, 3], [1, 3, 3, 2]),  # the last size repeats
    (0, 1, []),
    (0, None, []),
]


@pytest.mark.parametrize(("count", "serial", "sizes"), SERIAL_TABLE)
def test_serial_batches(count: int, serial: Any, sizes: list[int]) -> None:
    hosts = [f"h{i}" for i in range(count)]
    batches = serial_batches(hosts, serial)
    assert [len(b) for b in batches] == sizes
    assert [h for b in batches for h in b] == hosts  # order kept, nobody twice, nobody lost
    assert serial_batches(hosts, parse_serial(serial)) == batches


@pytest.mark.parametrize("bad", [0, -1, "0%", "101%", [], [1, 0], True, "abc", 1.5, "-3"])
def test_serial_refuses(bad: Any) -> None:
    with pytest.raises(ValueError):
        parse_serial(bad)


# --- templating -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{{ n }}", 5),
        ("{{n}}", 5),
        ("port {{ n }}", "port 5"),
        ("{{ rel.version }}-{{ name }}", "8.9.0-relay1"),
        ("{{ rel }}", {"version": "8.9.0"}),
        ("{{ flag }}", True),
        ("on={{ flag }}", "on=true"),
        ("{{ chained }}", 5),
        (["{{ n }}", {"k": "{{ name }}"}], [5, {"k": "relay1"}]),
        ("no templates", "no templates"),
        (7, 7),
    ],
)
def test_render(value: Any, expected: Any) -> None:
    variables = {"n": 5, "name": "relay1", "rel": {"version": "8.9.0"}, "flag": True, "chained": "{{ n }}"}
    assert render(value, variables) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{{ missing }}", "undefined variable 'missing'"),
        ("{{ rel.sha256 }}", "undefined variable 'rel.sha256'"),
        ("{{ n.x }}", "undefined variable 'n.x'"),
        ("{{ n | int }}", "only plain {{ name }} substitution is supported, not '{{ n | int }}'"),
        ("{{ loop }}", "variable 'loop' refers to itself (loop → loop)"),
        ("{{ n", "unbalanced '{{' or '}}' in '{{ n'"),
    ],
)
def test_render_errors(value: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(value, {"n": 5, "rel": {"version": "8.9.0"}, "loop": "{{ loop }}"})
    assert str(caught.value) == message


def test_a_deprecated_argument_of_a_step_is_read_as_its_new_name_with_a_warning(tmp_path: Path) -> None:
    """`restart_node: {kes_min_periods: N}` in an operator's own role still works (issue 29's rename),
    warned at its line; with the new name beside it, it is refused as given twice."""
    play = make(tmp_path, {
        "roles/old/steps.yml": "- restart_node:\n    mode: restart\n    kes_min_periods: 7\n",
        "play.yml": ONE_STAGE.format(role="old"),
    })  # fmt: skip
    book = load_playbook(play)
    (step,) = book.stages[0].roles[0].steps
    assert dict(step.args) == {"mode": "restart", "kes_refuse_restart_periods": 7}
    where = tmp_path / "roles" / "old" / "steps.yml"
    assert book.warnings == (f"{where}:3:5: 'kes_min_periods' is deprecated: it is now 'kes_refuse_restart_periods'",)
    (tmp_path / "roles/old/steps.yml").write_text(
        "- restart_node:\n    kes_refuse_restart_periods: 7\n    kes_min_periods: 7\n"
    )
    with pytest.raises(PlaybookError, match="'kes_refuse_restart_periods' is given twice") as caught:
        load_playbook(play)
    assert caught.value.line == 3
