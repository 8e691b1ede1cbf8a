"""What each lab host holds before it boots: sshd, users, a service manager, and a cardano-node
in the realistic pre-upgrade state an operator would have (8.7.3, legacy topologies, non-P2P).

Files are written into the host's overlay upper directories, so nothing here touches the real
machine's /etc, /opt, /usr/local, /root, /var or /home.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.cardano.layouts import LAYOUTS, Layout
from orchestrator.cardano.networks import PUBLIC_RELAY_NAMES
from orchestrator.cardano.releases import FROM_VERSION, TARGET_VERSION
from orchestrator.lab.releases import CURRENT_VERSIONS
from orchestrator.lab.state import LabHost, LabState, relay_port

DATA = Path(__file__).resolve().parent.parent / "cardano" / "data"
STANDIN = Path(__file__).with_name("systemctl_standin.py")
STANDIN_LIGHT = Path(__file__).with_name("systemctl_light.py")
# Installed as systemctl and as journalctl (the light module tells them apart by argv[0]): the read
# verbs and journalctl are answered by systemctl_light alone; the full stand-in is imported only
# for a verb that changes state.
SYSTEMCTL_LAUNCHER = (
    "#!/usr/bin/python3 -IS\n"
    "import sys\n"
    "sys.path.insert(0, '/usr/local/lib/cardano-lab')\n"
    "from systemctl_light import main\n"
    "rc = main(sys.argv)\n"
    "if rc is None:\n"
    "    from systemctl_standin import main as full\n"
    "    rc = full(sys.argv[1:])\n"
    "sys.exit(rc)\n"
)
OPERATOR_UID = 2000
# The public names of the real topology files, and a friend's pool relay that one relay's operator
# picked by hand (it must survive the upgrade): all lead to the chain source in every host's /etc/hosts.
# backbone.mainnet.cardanofoundation.org: a bootstrap peer of the 10.6+/11.x shipped mainnet topology.
PUBLIC_NAMES = (*PUBLIC_RELAY_NAMES, "backbone.mainnet.cardanofoundation.org", "relay.friendpool.example")
FRIEND_PEER = {"addr": "relay.friendpool.example", "port": 3001, "valency": 1}
CHAIN_PORT = 3001
# The node repository's own YAML config (cardano-node 8.7.3 configuration/cardano/), for YAML hosts.
YAML_CONFIG = "mainnet-config.yaml"
SYNC_SLOTS_PER_SEC = 400
# A start long enough to show every phase a mainnet start goes through (validating chunks, replaying
# the ledger, initial chain selection), short enough for a rehearsal; tests that are not about
# startup timing pass a shorter one (tests/integration/conftest.py).
DEFAULT_STARTUP_SECONDS = 12.0
INITIAL_LAG_SLOTS = 200
GUILD_LOG = "/opt/cardano/cnode/logs/node0.json"


@dataclass(frozen=True)
class Keys:
    client_key: Path
    client_pub: str
    host_keys: dict[str, tuple[Path, str]]  # host → (private key path, public key line)


@dataclass(frozen=True)
class LabRelease:
    version: str
    path: Path
    sha256: str
    url: str
    binary_subdir: str


def make_keys(lab_path: Path, hosts: list[LabHost]) -> Keys:
    keys_dir = lab_path / "keys"
    keys_dir.mkdir(mode=0o700)
    jobs = {"client": keys_dir / "client_key"} | {h.name: keys_dir / f"host_{h.name}_ed25519" for h in hosts}
    procs = [
        subprocess.Popen(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"cardano-fleet-lab-{name}", "-f", str(path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for name, path in jobs.items()
    ]
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError("ssh-keygen failed")
    pub = {name: Path(f"{path}.pub").read_text().strip() for name, path in jobs.items()}
    return Keys(
        client_key=jobs["client"],
        client_pub=pub["client"],
        host_keys={h.name: (jobs[h.name], pub[h.name]) for h in hosts},
    )


def build_releases(lab_path: Path, gateway: str, port: int) -> dict[str, LabRelease]:
    from orchestrator.lab.releases import LAB_VERSIONS, build_release, write_sums

    out = lab_path / "releases"
    out.mkdir()
    result = {}
    for version in LAB_VERSIONS:  # the catalogued releases the lab can boot, not the whole catalogue
        r = build_release(version, out)
        write_sums(out, version, r.filename, r.sha256)  # where the release publishes one, as it does
        result[version] = LabRelease(
            version, r.path, r.sha256, f"http://{gateway}:{port}/{r.path.name}", r.binary_subdir
        )
    return result


def upper_path(upper: Path, absolute: str) -> Path:
    """Where an absolute in-host path lives in the host's overlay upper dirs."""
    for mount in ("/usr/local", "/etc", "/opt", "/root", "/var", "/home"):
        if absolute == mount or absolute.startswith(mount + "/"):
            return upper / mount.strip("/").replace("/", "_") / absolute[len(mount) + 1 :]
    raise ValueError(f"{absolute} is not under an overlaid directory of the lab host")


def _write(path: Path, content: str | bytes, mode: int = 0o644, uid: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    os.chmod(path, mode)
    os.chown(path, uid, uid)


def layout_of(host: LabHost) -> Layout:
    """The host's layout; a YAML-config host keeps its config as the node repository names it."""
    layout = LAYOUTS[host.layout]
    if host.config_format == "yaml":
        return layout.with_overrides({"config_path": f"{layout.genesis_dir}/{YAML_CONFIG}"})
    return layout


def node_port(host: LabHost) -> int:
    return CHAIN_PORT if host.role == "chain_source" else layout_of(host).node_port


def autostart_units(host: LabHost) -> list[str]:
    return [layout_of(host).service_name]


def _sshd_config(host: LabHost) -> str:
    return "\n".join(
        [
            f"ListenAddress {host.address}:22",
            "HostKey /etc/ssh/ssh_host_ed25519_key",
            "PidFile /run/sshd.pid",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "AuthorizedKeysFile .ssh/authorized_keys",
            "StrictModes yes",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            # Relays forward TCP so that a firewalled block producer can be reached through them.
            f"AllowTcpForwarding {'yes' if host.role == 'relay' else 'no'}",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "MaxStartups 100:30:200",
            "MaxSessions 50",
            "Subsystem sftp internal-sftp",
            "",
        ]
    )


def _users(upper: Path, client_pub: str) -> None:
    etc = upper / "etc"
    for name, line in (
        ("passwd", f"operator:x:{OPERATOR_UID}:{OPERATOR_UID}:lab operator:/home/operator:/bin/bash\n"),
        ("group", f"operator:x:{OPERATOR_UID}:\n"),
        ("shadow", "operator:*:19000:0:99999:7:::\n"),
    ):
        original = Path("/etc", name).read_text()
        kept = "".join(x for x in original.splitlines(keepends=True) if not x.startswith("operator:"))
        _write(etc / name, kept + line, mode=0o640 if name == "shadow" else 0o644)
    _write(etc / "sudoers.d" / "operator", "operator ALL=(ALL) NOPASSWD: ALL\n", mode=0o440)
    root = upper / "root"
    os.chmod(root, 0o700)
    _write(root / ".ssh" / "authorized_keys", client_pub + "\n", mode=0o600)
    os.chmod(root / ".ssh", 0o700)
    # A clean shell start: the machine's own .bashrc adds ~300 ms to every SSH command.
    _write(root / ".bashrc", "# lab host\n")
    _write(root / ".profile", "# lab host\n")
    home = upper / "home" / "operator"
    _write(home / ".ssh" / "authorized_keys", client_pub + "\n", mode=0o600, uid=OPERATOR_UID)
    for d in (home / ".ssh", home):
        os.chmod(d, 0o700)
        os.chown(d, OPERATOR_UID, OPERATOR_UID)
    _write(home / ".bashrc", "# lab host\n", uid=OPERATOR_UID)


def _etc_hosts(all_hosts: list[LabHost]) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    chain = next(h for h in all_hosts if h.role == "chain_source")
    lines += [f"{h.address}\t{h.name}" for h in all_hosts]
    # The public backbone names of the real topology files all lead to the chain source.
    lines += [f"{chain.address}\t{name}" for name in PUBLIC_NAMES]
    return "\n".join(lines) + "\n"


def legacy_topology(host: LabHost, all_hosts: list[LabHost]) -> dict[str, Any]:
    """Producers lists wired as an operator would: BP → its relays; relays → BP, siblings, public."""
    relays = [h for h in all_hosts if h.role == "relay"]
    producers = [h for h in all_hosts if h.role == "block_producer"]
    if host.role == "block_producer":
        entries = [{"addr": r.address, "port": node_port(r), "valency": 1} for r in relays]
    elif host.role == "passive":
        # An exchange's node: its own relay1 chosen by hand, and the public relays.
        entries = [{"addr": relays[0].address, "port": node_port(relays[0]), "valency": 1},
                   {"addr": "relays-new.cardano-mainnet.iohk.io", "port": 3001, "valency": 2}]  # fmt: skip
    else:
        entries = [{"addr": p.address, "port": node_port(p), "valency": 1} for p in producers]
        # Siblings: the next two relays in a ring, not a full mesh. Big estates do not full-mesh their
        # relays, and here a full mesh of 30+ nodes swamps the sandbox's network stack (measured).
        me = relays.index(host)
        siblings = {relays[(me + k) % len(relays)].name: relays[(me + k) % len(relays)] for k in (1, 2)}
        entries += [{"addr": r.address, "port": node_port(r), "valency": 1} for r in siblings.values() if r != host]
        entries.append({"addr": "relays-new.cardano-mainnet.iohk.io", "port": 3001, "valency": 2})
        if host.name == "relay1":
            entries.append(dict(FRIEND_PEER))
    return {"Producers": entries}


def keeps_book_p2p(host: LabHost, all_hosts: list[LabHost]) -> bool:
    """One relay keeps the real 8.7.3 book files, which already say EnableP2P: true."""
    relays = [h for h in all_hosts if h.role == "relay"]
    return len(relays) >= 3 and host == relays[-1]


def p2p_local_roots(host: LabHost, all_hosts: list[LabHost]) -> list[dict[str, Any]]:
    """The same peers as legacy_topology's hand-picked ones (the public names left out: the shipped
    topology's bootstrapPeers stand for them), as one trustable localRoots group."""
    points = [
        {"address": e["addr"], "port": e["port"]}
        for e in legacy_topology(host, all_hosts)["Producers"]
        if e["addr"] not in PUBLIC_RELAY_NAMES
    ]
    return [{"accessPoints": points, "advertise": False, "trustable": True, "valency": max(1, len(points))}]


def current_node_files(host: LabHost, all_hosts: list[LabHost], version: str) -> dict[str, bytes]:
    """A 10.5+/11.x host as that release ships (lab/releases.py CURRENT_VERSIONS): the node
    repository's mainnet config at the tag, unchanged (new tracing, PrometheusSimple on
    127.0.0.1:12798, human coloured stdout); its topology with the host's own peers in localRoots
    (the shipped file has an empty group) and its peer snapshot beside it where the topology names one. A block producer keeps no
    bootstrap peers, ledger peers or snapshot (useLedgerAfterSlot -1): only its relays."""
    layout = layout_of(host)
    if host.config_format == "yaml":
        raise ValueError(f"{host.name}: the lab gives YAML configs to 8.7.3 hosts only (not {version})")
    shipped = DATA / version / "mainnet"
    files = {layout.config_path: (shipped / "mainnet-config.json").read_bytes()}
    for era in ("byron", "shelley", "alonzo"):  # unchanged since 8.9.0 (the config pins the same hashes)
        source = DATA / TARGET_VERSION / "mainnet" / f"{era}-genesis.json"
        files[f"{layout.genesis_dir}/mainnet-{era}-genesis.json"] = source.read_bytes()
    files[f"{layout.genesis_dir}/mainnet-conway-genesis.json"] = (shipped / "mainnet-conway-genesis.json").read_bytes()
    topology: dict[str, Any] = json.loads((shipped / "mainnet-topology.json").read_text())
    if host.role == "chain_source":
        topology["localRoots"] = []
        topology.pop("bootstrapPeers", None)
    else:
        topology["localRoots"] = p2p_local_roots(host, all_hosts)
    if host.role in ("block_producer", "chain_source"):
        topology.pop("bootstrapPeers", None)
        topology.pop("peerSnapshotFile", None)
        topology["useLedgerAfterSlot"] = -1
    elif "peerSnapshotFile" in topology:  # 10.6+ name one; 10.5.3's shipped topology does not
        snapshot = str(topology["peerSnapshotFile"])
        files[f"{os.path.dirname(layout.topology_path)}/{snapshot}"] = (shipped / "mainnet-peer-snapshot.json").read_bytes()
    files[layout.topology_path] = (json.dumps(topology, indent=2) + "\n").encode()
    return files


def _node_files(host: LabHost, all_hosts: list[LabHost], node_version: str) -> dict[str, bytes]:
    """config.json, topology.json and genesis files for the pre-upgrade state, by in-host path."""
    if node_version in CURRENT_VERSIONS:
        return current_node_files(host, all_hosts, node_version)
    layout = layout_of(host)
    book = DATA / node_version / "mainnet"
    genesis_src = {
        "byron-genesis.json": DATA / TARGET_VERSION / "mainnet" / "byron-genesis.json",
        "shelley-genesis.json": DATA / TARGET_VERSION / "mainnet" / "shelley-genesis.json",
        "alonzo-genesis.json": DATA / TARGET_VERSION / "mainnet" / "alonzo-genesis.json",
        "conway-genesis.json": book / "conway-genesis.json",
    }
    if host.config_format == "yaml":
        return _yaml_node_files(host, all_hosts, layout, genesis_src)
    files = {f"{layout.genesis_dir}/{name}": src.read_bytes() for name, src in genesis_src.items()}
    config_text = (book / "config.json").read_text()
    if host.role == "chain_source":
        topology: dict[str, Any] = {"localRoots": [], "publicRoots": []}
    elif keeps_book_p2p(host, all_hosts) and node_version == FROM_VERSION:
        files[layout.config_path] = config_text.encode()
        files[layout.topology_path] = (book / "topology.json").read_bytes()
        return files
    else:
        topology = legacy_topology(host, all_hosts)
    config = json.loads(config_text)
    config["EnableP2P"] = host.role == "chain_source"
    if layout.name == "guild" and host.role != "chain_source":
        # guild-operators' config logs JSON to a file under logs/ instead of stdout (the journal)
        config["setupScribes"] = [{"scFormat": "ScJson", "scKind": "FileSK", "scName": GUILD_LOG, "scRotation": None}]
        config["defaultScribes"] = [["FileSK", GUILD_LOG]]
    if host.role == "block_producer" and node_version == FROM_VERSION:
        config["PeerSharing"] = "PeerSharingDisabled"
    files[layout.config_path] = (json.dumps(config, indent=2) + "\n").encode()
    files[layout.topology_path] = (json.dumps(topology, indent=2) + "\n").encode()
    return files


def _yaml_node_files(
    host: LabHost, all_hosts: list[LabHost], layout: Layout, genesis_src: dict[str, Path]
) -> dict[str, bytes]:
    """The node repository's YAML config unchanged (it names `mainnet-<era>-genesis.json`, which are
    written too), non-P2P (it has no EnableP2P) with a legacy topology, as such hosts run 8.7.3."""
    text = (DATA / FROM_VERSION / "mainnet" / YAML_CONFIG).read_text()
    if host.role == "block_producer":
        text += "\n# This host produces blocks: it never shares its peers.\nPeerSharing: PeerSharingDisabled\n"
    files = {f"{layout.genesis_dir}/mainnet-{name}": src.read_bytes() for name, src in genesis_src.items()}
    files[layout.config_path] = text.encode()
    files[layout.topology_path] = (json.dumps(legacy_topology(host, all_hosts), indent=2) + "\n").encode()
    return files


def _unit(host: LabHost, startup_seconds: float) -> str:
    layout = layout_of(host)
    args = [
        f"{layout.bin_dir}/cardano-node", "run",
        "--config", layout.config_path, "--topology", layout.topology_path,
        "--database-path", layout.db_path, "--socket-path", layout.socket_path,
        "--host-addr", "0.0.0.0", "--port", str(node_port(host)),
    ]  # fmt: skip
    if host.role == "block_producer":
        args += [
            "--shelley-kes-key", f"{layout.keys_dir}/kes.skey",
            "--shelley-vrf-key", f"{layout.keys_dir}/vrf.skey",
            "--shelley-operational-certificate", f"{layout.keys_dir}/op.cert",
        ]  # fmt: skip
    if host.standby_for:  # a standby: synced, not forging until a SIGHUP finds its credentials (lab/forging.py)
        args.append("--start-as-non-producing-node")
    env = [
        f"CARDANO_LAB_SYNC_SLOTS_PER_SEC={SYNC_SLOTS_PER_SEC}",
        f"CARDANO_LAB_STARTUP_SECONDS={startup_seconds:g}",
        # A fresh lab is a fleet that was running in sync: its first boot starts just behind the tip.
        f"CARDANO_LAB_INITIAL_LAG_SLOTS={INITIAL_LAG_SLOTS}",
    ]
    if host.role == "chain_source":
        env.append("CARDANO_LAB_CHAIN_SOURCE=1")
    guild = layout.name == "guild"
    return "\n".join(
        [
            "[Unit]",
            f"Description=Cardano Node ({'guild cnode' if guild else 'IOG docs layout'})",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=simple",
            f"User={layout.run_as}",
            *(f"Environment={e}" for e in env),
            f"WorkingDirectory={layout.root}",
            "ExecStart=" + " ".join(args),
            "ExecReload=/bin/kill -HUP $MAINPID",
            f"KillSignal={'SIGINT' if guild else 'SIGTERM'}",
            f"TimeoutStopSec={60 if guild else 30}",
            "Restart=on-failure",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def _install_release(upper: Path, layout: Layout, release: LabRelease) -> None:
    target = upper_path(upper, f"{layout.releases_dir}/{release.version}")
    target.mkdir(parents=True)
    with tarfile.open(release.path) as tar:
        tar.extractall(target, filter="tar")
    link = upper_path(upper, layout.bin_dir)
    link.parent.mkdir(parents=True, exist_ok=True)
    sub = f"/{release.binary_subdir}" if release.binary_subdir else ""
    os.symlink(f"{layout.releases_dir}/{release.version}{sub}", link)


def prepare_host(
    host: LabHost,
    all_hosts: list[LabHost],
    upper: Path,
    keys: Keys,
    releases: dict[str, LabRelease],
    node_version: str,
    subnet: int,
    startup_seconds: float = DEFAULT_STARTUP_SECONDS,
) -> None:
    """Fill the host's overlay upper directories; `node_version` is the release it boots (the chain
    source always boots the seed's target)."""
    etc = upper / "etc"
    _write(etc / "hostname", host.name + "\n")
    _write(etc / "hosts", _etc_hosts(all_hosts))
    key_path, key_pub = keys.host_keys[host.name]
    _write(etc / "ssh" / "sshd_config", _sshd_config(host))
    _write(etc / "ssh" / "ssh_host_ed25519_key", key_path.read_bytes(), mode=0o600)
    _write(etc / "ssh" / "ssh_host_ed25519_key.pub", key_pub + "\n")
    _users(upper, keys.client_pub)
    # A real systemctl answers in a few ms; a Python script run directly is compiled on every call
    # (~75 ms here). So the stand-in is two modules (their .pyc cached on first use) behind a short
    # launcher, with -I -S (no site): the light one (built-ins only) answers what the probe asks.
    # The same launcher answers as journalctl (by its name): `journalctl -u UNIT` reads the unit's output.
    lib = upper / "usr_local" / "lib" / "cardano-lab"
    _write(lib / "systemctl_light.py", STANDIN_LIGHT.read_bytes())
    _write(lib / "systemctl_standin.py", STANDIN.read_bytes())
    _write(upper / "usr_local" / "sbin" / "systemctl", SYSTEMCTL_LAUNCHER, mode=0o755)
    _write(upper / "usr_local" / "bin" / "journalctl", SYSTEMCTL_LAUNCHER, mode=0o755)
    units = etc / "systemd" / "system"
    units.mkdir(parents=True)
    # Opaque: the host must not see (and start) the real machine's units.
    os.setxattr(units, "trusted.overlay.opaque", b"y")
    (etc / "cardano-lab").mkdir()

    layout = layout_of(host)
    version = TARGET_VERSION if host.role == "chain_source" else node_version
    _install_release(upper, layout, releases[version])
    cli = upper / "usr_local" / "bin" / "cardano-cli"
    cli.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(f"{layout.bin_dir}/cardano-cli", cli)
    for path, content in _node_files(host, all_hosts, version).items():
        _write(upper_path(upper, path), content)
    for d in (layout.db_path, os.path.dirname(layout.socket_path), f"{layout.root}/logs"):
        upper_path(upper, d).mkdir(parents=True, exist_ok=True)
    if host.role == "block_producer":
        keys_dir = upper_path(upper, layout.keys_dir)
        for name in ("kes.skey", "vrf.skey", "op.cert"):
            # Stand-in pool keys: the orchestrator must never open these (tests check it).
            _write(keys_dir / name, f"lab stand-in {name}: must never be read\n", mode=0o600)
        os.chmod(keys_dir, 0o700)
    _write(units / layout.service_name, _unit(host, startup_seconds))
    wants = units / "multi-user.target.wants"
    wants.mkdir(exist_ok=True)
    os.symlink(f"/etc/systemd/system/{layout.service_name}", wants / layout.service_name)


def write_client_files(state: LabState, keys: Keys) -> None:
    """known_hosts (every host key) and inventory.yml in the project's inventory format.

    With the delay relay (state.rtt_ms > 0), inventory.yml reaches each sshd through the relay
    (ansible_host/ansible_port = the bridge address and the host's relay port; node_address keeps
    the host's own address for the topology), known_hosts holds the keys under both names, and
    inventory-direct.yml is the same fleet without the relay.
    """
    lab = Path(state.dir)
    known = [f"{h.address} {keys.host_keys[h.name][1]}" for h in state.hosts]
    if state.rtt_ms > 0:
        known += [f"[{state.gateway}]:{relay_port(h)} {keys.host_keys[h.name][1]}" for h in state.hosts]
    (lab / "known_hosts").write_text("\n".join(known) + "\n")
    os.chmod(keys.client_key, 0o600)
    if state.rtt_ms > 0:
        (lab / "inventory.yml").write_text(_inventory(state, keys, relayed=True))
        state.direct_inventory_path.write_text(_inventory(state, keys, relayed=False))
    else:
        (lab / "inventory.yml").write_text(_inventory(state, keys, relayed=False))


def _inventory(state: LabState, keys: Keys, *, relayed: bool) -> str:
    lab = Path(state.dir)
    how = f" through the delay relay ({state.rtt_ms:g} ms round trip)" if relayed else ""
    lines = [
        f"# Written by `cardano-fleet lab up`: the lab fleet{how} in the project's (Ansible-compatible) inventory format.",
        "all:",
        "  vars:",
        "    ansible_user: root",
        f"    ansible_ssh_private_key_file: {keys.client_key}",
        f"    known_hosts_file: {lab / 'known_hosts'}",
        "    cardano_network: mainnet",
        "    sync_poll_seconds: 1  # the lab node syncs in seconds; real fleets keep the role default",
        "    sync_soak_seconds: 2  # likewise: the role's 60 s soak is for a real node's first minute",
        "    node_release:",
        f'      version: "{state.target_version}"',
        f"      url: {state.release_urls[state.target_version]['url']}",
        f"      sha256: {state.release_urls[state.target_version]['sha256']}",
        "      source: download",
        "  children:",
    ]
    def group_of(h: LabHost) -> str:
        return "standby" if h.standby_for else h.role

    for group, role in (("relays", "relay"), ("block_producers", "block_producer"), ("standby_producers", "standby"),
                        ("passive_nodes", "passive")):  # fmt: skip
        members = [h for h in state.hosts if group_of(h) == role]
        if not members:
            continue
        lines += [f"    {group}:", "      hosts:"]
        for h in members:
            lines += [f"        {h.name}:"]
            if relayed:
                lines += [
                    f"          ansible_host: {state.gateway}",
                    f"          ansible_port: {relay_port(h)}",
                    f"          node_address: {h.address}",
                ]
            else:
                lines += [f"          ansible_host: {h.address}"]
            lines += [f"          layout: {h.layout}"]
            if h.standby_for:
                lines.append(f"          standby_for: {h.standby_for}")
            if role == "passive":
                form = "private" if int(h.name.removeprefix("passive")) % 2 == 0 else "ledger"
                lines.append(f"          passive_topology: {form}")
            if h.config_format == "yaml":
                lines.append(f"          config_path: {layout_of(h).config_path}")
    return "\n".join(lines) + "\n"
