"""Issue 8: fuzz every parser of operator-written or host-read input.

The contract under test: no input makes a parser raise anything but its documented, clear error
type (InventoryError / PlaybookError with a file:line position, FileFormatError naming the file);
node_rules never raises at all (it reports the node's own error messages as data). Inputs are
built from structured JSON/YAML-ish values (to reach deep code) and from raw text and bytes (to
reach the tokenizers). Each test keeps to ~50 examples (tests/fuzz_budget.py: CARDANO_FLEET_FUZZ_SCALE
runs more), so the file runs in seconds.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.cardano import node_rules
from orchestrator.cardano.config import SHIPPED_TARGETS, migrate_config
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.networks import AccessPoint, network
from orchestrator.cardano.topology import desired_topology, parse_topology
from orchestrator.facts.model import HostFacts
from orchestrator.load.inventory import InventoryError, SourceError, load_inventory, parse_extra_vars
from orchestrator.load.playbook import PlaybookError, load_playbook, parse_serial
from orchestrator.model import Role
from tests.fuzz_budget import examples
from tests.unit.facts_builder import host_facts

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(
    max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)

# ---------------------------------------------------------------------------------------- values

# Keys that the parsers really look at, mixed with noise, so that generated documents get deep.
INVENTORY_WORDS = [
    "all",
    "children",
    "hosts",
    "vars",
    "relays",
    "block_producers",
    "relay1",
    "bp1",
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "layout",
    "cardano_network",
    "cardano_role",
    "node_release",
    "version",
    "url",
    "sha256",
    "source",
    "proxy_jump",
    "known_hosts_file",
    "become_password_env",
    "ansible_become",
    "ansible_become_password",
    "config_path",
    "ansible_ssh_common_args",
    "node_port",
    "relay[1:3]",
    "bp[a:c]",
]
PLAYBOOK_WORDS = [
    "name",
    "stages",
    "hosts",
    "roles",
    "serial",
    "parallel",
    "max_fail_percentage",
    "min_healthy_relays",
    "role",
    "vars",
    "steps_from",
    "all",
    "relays",
    "block_producers",
    "node_release",
    "p2p_config",
    "p2p_topology",
    "sync_gate",
    "stage",
    "50%",
    "150%",
]
TOPOLOGY_WORDS = [
    "Producers",
    "addr",
    "address",
    "port",
    "valency",
    "localRoots",
    "publicRoots",
    "accessPoints",
    "advertise",
    "trustable",
    "hotValency",
    "warmValency",
    "useLedgerAfterSlot",
    "bootstrapPeers",
    "peerSnapshotFile",
    "relays-new.cardano-mainnet.iohk.io",
    "127.0.0.1",
]
CONFIG_WORDS = [
    "EnableP2P",
    "PeerSharing",
    "Protocol",
    "RequiresNetworkMagic",
    "ByronGenesisFile",
    "ShelleyGenesisFile",
    "AlonzoGenesisFile",
    "ConwayGenesisFile",
    "ConwayGenesisHash",
    "ByronGenesisHash",
    "ShelleyGenesisHash",
    "AlonzoGenesisHash",
    "TargetNumberOfActivePeers",
    "TestEnableDevelopmentNetworkProtocols",
    "ExperimentalProtocolsEnabled",
    "MinNodeVersion",
    "LastKnownBlockVersion-Major",
    "Cardano",
    "RequiresNoMagic",
    "PeerSharingDisabled",
]


def scalars(words: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(words),
        st.text(string.printable, max_size=12),
        st.text(max_size=8),
    )


def documents(words: list[str]) -> st.SearchStrategy[Any]:
    keys = st.one_of(st.sampled_from(words), st.text(string.ascii_letters + "_[]:", min_size=1, max_size=10))
    return st.recursive(
        scalars(words),
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
        max_leaves=25,
    )


def yamlish(value: Any) -> str:
    """Render as JSON flow style: valid YAML, so the loaders' semantic checks get exercised."""
    return json.dumps(value)


def mutate(text: str, data: st.DataObject) -> str:
    """A real file with a few characters flipped, cut or doubled."""
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 4))):
        if not chars:
            break
        i = data.draw(st.integers(0, len(chars) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "dup", "insert"]))
        if op == "flip":
            chars[i] = data.draw(st.sampled_from(list(":-{}[]\"'#&*!|>%@`\t\n ") + ["\x00", "\ufeff"]))
        elif op == "cut":
            del chars[i:]
        elif op == "dup":
            chars[i:i] = chars[i : i + 8]
        else:
            chars[i:i] = list(data.draw(st.text(max_size=4)))
    return "".join(chars)


# ---------------------------------------------------------------------------------------- inventory

LAB_LIKE_INVENTORY = """\
all:
  vars:
    ansible_user: root
    cardano_network: mainnet
    layout: guild
    node_release: {version: "8.9.0", url: "http://198.18.0.1:8080/x.tar.gz",
                   sha256: "db13620813df16cc686c8df7156a7ae9ba4086ee87386e45d05711a3342f4ac9"}
  children:
    relays:
      hosts:
        relay1: {ansible_host: 198.18.0.11}
        relay2: {ansible_host: 198.18.0.12, layout: iog}
    block_producers:
      hosts:
        bp1: {ansible_host: 198.18.0.101, layout: iog}
"""


def _load_inventory_text(tmp: Path, payload: bytes) -> None:
    path = tmp / "hosts.yml"  # the same file for every example: no new directory each time
    path.write_bytes(payload)
    try:
        load_inventory(path)
    except InventoryError as exc:
        _assert_clear(exc, str(path))


def _assert_clear(exc: SourceError, path: str) -> None:
    text = str(exc)
    assert text.startswith(path) or text.startswith("-e"), text
    assert exc.message and "Traceback" not in text
    assert exc.line >= 0 and exc.column >= 0


@FUZZ
@given(doc=documents(INVENTORY_WORDS))
def test_inventory_structured_documents_fail_only_with_inventory_errors(tmp_path, doc):
    _load_inventory_text(tmp_path, yamlish(doc).encode())


@FUZZ
@given(data=st.data())
def test_inventory_mutations_of_a_real_file_fail_only_with_inventory_errors(tmp_path, data):
    _load_inventory_text(tmp_path, mutate(LAB_LIKE_INVENTORY, data).encode("utf-8", "surrogatepass"))


@FUZZ
@given(raw=st.binary(max_size=300))
def test_inventory_raw_bytes_fail_only_with_inventory_errors(tmp_path, raw):
    _load_inventory_text(tmp_path, raw)


@FUZZ
@given(words=st.lists(st.text(string.printable, max_size=20), max_size=3))
def test_extra_vars_fail_only_with_inventory_errors(words):
    try:
        parse_extra_vars(words)
    except InventoryError as exc:
        assert str(exc)


# ---------------------------------------------------------------------------------------- playbook

REAL_PLAYBOOK = (ROOT / "playbooks" / "upgrade-8.9.0.yml").read_text()


def _load_playbook_text(tmp: Path, payload: bytes) -> None:
    path = tmp / "play.yml"
    path.write_bytes(payload)
    try:
        load_playbook(path, roles_dir=ROOT / "roles")
    except PlaybookError as exc:
        _assert_clear(exc, str(path))


@FUZZ
@given(doc=documents(PLAYBOOK_WORDS))
def test_playbook_structured_documents_fail_only_with_playbook_errors(tmp_path, doc):
    _load_playbook_text(tmp_path, yamlish(doc).encode())


@FUZZ
@given(data=st.data())
def test_playbook_mutations_of_the_real_playbook_fail_only_with_playbook_errors(tmp_path, data):
    _load_playbook_text(tmp_path, mutate(REAL_PLAYBOOK, data).encode("utf-8", "surrogatepass"))


@FUZZ
@given(value=documents(["50%", "150%", "0", "1", "100%", "0%", "-1"]))
def test_serial_values_fail_only_with_value_errors(value):
    try:
        parse_serial(value)
    except ValueError as exc:
        assert str(exc)


# ---------------------------------------------------------------------------------------- topology

REAL_TOPOLOGIES = [
    (ROOT / "orchestrator/cardano/data/8.7.3/mainnet/topology-legacy.json").read_text(),
    (ROOT / "orchestrator/cardano/data/8.9.0/mainnet/topology.json").read_text(),
]
NET = network("mainnet")
PEERS = [AccessPoint("198.18.0.12", 3001), AccessPoint("198.18.0.101", 3001)]


def _topology_roundtrip(data: Any) -> None:
    try:
        parse_topology(data, "topology.json")
    except FileFormatError as exc:
        assert str(exc).startswith("topology.json")
    for role in Role:
        try:
            out = desired_topology(data if isinstance(data, dict) else None, role, PEERS, NET,
                                   {"198.18.0.12"}, path="topology.json")  # fmt: skip
        except FileFormatError as exc:
            assert str(exc).startswith("topology.json")
            continue
        # whatever it produces, 8.9.0 must accept it
        assert node_rules.check_topology("8.9.0", True, json.dumps(out))[0] == ()


@FUZZ
@given(doc=documents(TOPOLOGY_WORDS))
def test_topology_structured_documents(doc):
    _topology_roundtrip(doc)


@FUZZ
@given(data=st.data())
def test_topology_mutations_of_real_files(data):
    text = mutate(data.draw(st.sampled_from(REAL_TOPOLOGIES)), data)
    for version in ("8.7.3", "8.9.0"):
        for p2p in (False, True):
            errors, warnings = node_rules.check_topology(version, p2p, text)
            assert all(isinstance(e, str) and e for e in errors + warnings)
    try:
        value = json.loads(text)
    except ValueError:
        return
    _topology_roundtrip(value)


@FUZZ
@given(text=st.text(max_size=200))
def test_check_topology_never_raises_on_any_text(text):
    for version in ("8.7.3", "8.9.0"):
        for p2p in (False, True):
            errors, warnings = node_rules.check_topology(version, p2p, text)
            assert isinstance(errors, tuple) and isinstance(warnings, tuple)


# ---------------------------------------------------------------------------------------- config

REAL_CONFIGS = [
    (ROOT / "orchestrator/cardano/data/8.7.3/mainnet/config.json").read_text(),
    (ROOT / "orchestrator/cardano/data/8.9.0/preprod/config.json").read_text(),
]


def _config_checks(text: str) -> None:
    startable = {}
    for version in ("8.7.3", "8.9.0"):
        check = node_rules.check_config(version, text)
        assert check.ok or (check.errors and all(isinstance(e, str) and e for e in check.errors))
        startable[version] = check.ok
    for role in Role:
        for net in (None, "mainnet"):
            try:
                migration = migrate_config(text, role, net, path="config.json")
            except FileFormatError as exc:
                assert str(exc).startswith("config.json"), str(exc)
                continue
            new = migration.text
            if startable["8.7.3"] or startable["8.9.0"]:
                # a config some node started with migrates to one that 8.9.0 starts with, in P2P mode
                after = node_rules.check_config("8.9.0", new)
                assert after.ok and after.p2p, (text, after.errors)


@pytest.mark.parametrize("value", [[], {"a": 1}])
def test_migrate_config_rejects_a_list_or_object_peer_sharing_cleanly(value):
    cfg = json.loads(REAL_CONFIGS[0])
    cfg["PeerSharing"] = value
    with pytest.raises(FileFormatError, match="PeerSharing"):
        migrate_config(json.dumps(cfg), Role.RELAY, "mainnet", path="config.json")


def test_a_bad_peer_sharing_is_an_error_for_that_host_only():
    """The run goes on for the other hosts; this one is not touched and the reason names the file."""
    from orchestrator.plan import ReleasePin, plan_host

    inventory = _inventory()
    cfg = json.loads(REAL_CONFIGS[0])
    cfg["PeerSharing"] = []
    hp = plan_host(inventory.hosts[0], inventory, _Facts(json.dumps(cfg), REAL_TOPOLOGIES[0]),
                   ReleasePin("8.9.0", "http://x/n.tar.gz", "0" * 64))  # fmt: skip
    assert hp.error and hp.error.startswith("/opt/cardano/cnode/files/config.json") and "PeerSharing" in hp.error
    assert not hp.changed


@FUZZ
@given(doc=documents(CONFIG_WORDS))
def test_config_structured_documents(doc):
    _config_checks(json.dumps(doc))


@FUZZ
@given(data=st.data())
def test_config_mutations_of_real_files(data):
    _config_checks(mutate(data.draw(st.sampled_from(REAL_CONFIGS)), data))


@FUZZ
@given(data=st.data())
def test_config_real_file_with_fuzzed_values(data):
    """Keep the shape of a real config, fuzz the values of the keys the migration reads."""
    cfg = json.loads(REAL_CONFIGS[0])
    for key in data.draw(st.lists(st.sampled_from(CONFIG_WORDS), max_size=4)):
        cfg[key] = data.draw(scalars(CONFIG_WORDS) | st.lists(scalars(CONFIG_WORDS), max_size=2))
    _config_checks(json.dumps(cfg))


@settings(FUZZ, max_examples=examples(30))
@given(data=st.data())
def test_planner_never_crashes_on_what_a_host_holds(data):
    """plan_host reads config.json and topology.json from hosts: anything there is an error for that host only."""
    from orchestrator.plan import ReleasePin, plan_host

    inventory = _inventory()
    config = data.draw(st.one_of(st.sampled_from(REAL_CONFIGS).map(lambda t: mutate_plain(t, data)),
                                 documents(CONFIG_WORDS).map(json.dumps), st.text(max_size=50)))  # fmt: skip
    topology = data.draw(st.one_of(st.sampled_from(REAL_TOPOLOGIES).map(lambda t: mutate_plain(t, data)),
                                   documents(TOPOLOGY_WORDS).map(json.dumps), st.text(max_size=50)))  # fmt: skip
    release = ReleasePin("8.9.0", "http://x/cardano-node-8.9.0-linux.tar.gz", "0" * 64)
    for host in inventory.hosts:
        facts = _Facts(config, topology)
        hp = plan_host(host, inventory, facts, release)
        assert hp.error is None or isinstance(hp.error, str)


_INVENTORY: dict[str, Any] = {}  # the parsed inventory, loaded once (hypothesis re-runs the test body)


def _inventory() -> Any:
    if "inv" not in _INVENTORY:
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "hosts.yml"
            p.write_text(LAB_LIKE_INVENTORY)
            _INVENTORY["inv"] = load_inventory(p)
    return _INVENTORY["inv"]


def mutate_plain(text: str, data: st.DataObject) -> str:
    return mutate(text, data)


def _Facts(config: str, topology: str) -> HostFacts:  # noqa: N802 (read as the record)
    return host_facts(config_text=config, topology_text=topology)


# ---------------------------------------------------------------------------------- YAML configs
# The node reads config.json as YAML (Data.Yaml): the same contract holds for YAML text, and a
# migration of a YAML config keeps every value the node reads but the ones it means to change.

REAL_YAML = (ROOT / "orchestrator/cardano/data/8.7.3/mainnet/mainnet-config.yaml").read_text()
# Plain scalars whose meaning differs between YAML 1.1 (the node) and 1.2, quoted forms, odd numbers.
YAML_SCALARS = [
    "true", "True", "TRUE", "yes", "Yes", "on", "ON", "y", "n", "no", "off", "Off", "false", "~", "null", "",
    "0x1F", "0o17", "1e3", "1.5", "+5", ".5", "1_000", "'quoted'", '"double"', "PeerSharingEnabled",
    "PeerSharingDisabled", "Cardano", "[1, 2]", "{a: 1}", "&x 3", "*x", "!!str 12", "| ", "> ", "- a", "a: b",
    "# c", "'unterminated", "\"bad \\q escape\"",
]  # fmt: skip


def _yaml_with_values(data: st.DataObject) -> str:
    """The real YAML config with some top-level values (and keys) replaced by fuzzed YAML text."""
    lines = REAL_YAML.splitlines(keepends=True)
    keyed = [i for i, line in enumerate(lines) if line[:1].isalpha() and ": " in line]
    for i in data.draw(st.lists(st.sampled_from(keyed), max_size=4)):
        key = data.draw(st.sampled_from(CONFIG_WORDS) | st.just(lines[i].split(":", 1)[0]))
        value = data.draw(st.sampled_from(YAML_SCALARS) | st.text(string.printable, max_size=12))
        lines[i] = f"{key}: {value}\n"
    return "".join(lines)


def _yaml_migration_keeps_values(text: str) -> None:
    """What the node reads from a migrated YAML file: the old values, plus only the migration's keys."""
    from orchestrator.cardano import node_yaml

    try:
        before = node_yaml.loads(text)
    except node_yaml.YamlDecodeError:
        return
    for role in (Role.BLOCK_PRODUCER,):  # the role that changes the most keys
        try:
            migration = migrate_config(text, role, "mainnet", path="config.json")
        except FileFormatError as exc:
            assert str(exc).startswith("config.json"), str(exc)
            continue
        if migration.format != "yaml" or not migration.changed:
            continue
        after = node_yaml.loads(migration.text)
        touched = {"EnableP2P", "PeerSharing", "ConwayGenesisHash", "ConwayGenesisFile",
                   "TestEnableDevelopmentNetworkProtocols", "ExperimentalProtocolsEnabled",
                   *(k for k, _ in SHIPPED_TARGETS)}  # fmt: skip
        assert {k: v for k, v in after.items() if k not in touched} == {
            k: v for k, v in before.items() if k not in touched
        }
        assert after["EnableP2P"] is True


# A YAML decode of the real file costs ~20 ms (pure-Python parser), so these run fewer examples.
YAML_FUZZ = settings(FUZZ, max_examples=examples(8))


@YAML_FUZZ
@given(data=st.data())
def test_yaml_config_with_fuzzed_values(data):
    text = _yaml_with_values(data)
    _config_checks(text)
    _yaml_migration_keeps_values(text)


@YAML_FUZZ
@given(data=st.data())
def test_yaml_config_mutations_of_the_real_file(data):
    text = mutate(REAL_YAML, data)
    _config_checks(text)
    _yaml_migration_keeps_values(text)


@FUZZ
@given(text=st.text(max_size=200))
def test_node_yaml_raises_only_its_decode_error(text):
    from orchestrator.cardano import node_yaml

    try:
        node_yaml.loads(text)
    except node_yaml.YamlDecodeError as exc:
        assert str(exc)


@settings(FUZZ, max_examples=examples(20))
@given(doc=documents(CONFIG_WORDS))
def test_config_structured_documents_as_block_yaml(doc):
    """The structured documents again, written as block YAML by a YAML 1.2 writer."""
    import io

    from ruamel.yaml import YAML

    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(doc, out)
    _config_checks(out.getvalue())
    _yaml_migration_keeps_values(out.getvalue())
