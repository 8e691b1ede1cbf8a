"""The lab: real sshd hosts in their own Linux namespaces on one machine.

Each host gets a network namespace with an address on a bridge the lab creates (198.18.N.0/24,
the benchmarking range; no default route, ip_forward untouched), and fresh mount/UTS/PID
namespaces whose PID 1 is `hostinit.py`. Everything a host needs is written into its overlay
upper directories *before* it boots; once it runs, it is changed only over SSH or nsenter.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from orchestrator.cardano.releases import FROM_VERSION, TARGET_VERSION
from orchestrator.lab import provision
from orchestrator.lab.state import STATE_FILE, LabError, LabHost, LabState, relay_port

HOSTINIT = Path(__file__).with_name("hostinit.py")
OVERLAID = ("etc", "opt", "usr_local", "root", "var", "home")
SSH_PORT = 22
RELEASE_PORT = 8080
MAX_HOSTS = 188  # relays .11–.99 and .151–.249, producers .101–.150
PASSIVE_TOP = 250  # passive nodes from .250 down (fewer relays fit beside them)
MAX_PASSIVE = 40


def relay_octet(i: int) -> int:
    """Last octet of relay i (1-based): .11–.99, then .151–.249 (producers own .101–.150)."""
    return 10 + i if i <= 89 else 61 + i


def plan_hosts(relays: int, producers: int, subnet: int, yaml_configs: Collection[str] = (),
               passive: int = 0, standbys: int = 0) -> list[LabHost]:  # fmt: skip
    """Names and addresses: .1 the bridge, .2 the chain source, relays from .11 (then .151),
    producers from .101, their standbys (bp1-standby, … for the first `standbys` producers) from .150
    down, passive nodes from .250 down; the hosts named in yaml_configs keep a YAML node config."""
    if standbys < 0 or standbys > producers or producers + standbys > 50:
        raise LabError("--standby-producers must be 0..--producers, and producers and standbys at most 50 in all")
    if not 0 <= subnet <= 255:
        raise LabError("--subnet must be 0..255 (the lab uses 198.18.SUBNET.0/24)")
    if relays < 1 or producers < 0 or producers > 50 or relays + producers > MAX_HOSTS:
        raise LabError(f"a lab needs 1..{MAX_HOSTS} hosts (at most 50 producers) and at least one relay")
    if passive < 0 or passive > MAX_PASSIVE or relay_octet(relays) >= PASSIVE_TOP - passive + 1:
        raise LabError(f"--passive must be 0..{MAX_PASSIVE}, and relays and passive nodes must fit in .11–.{PASSIVE_TOP}")
    hosts = [LabHost("chainsrc", "chain_source", f"198.18.{subnet}.2", "iog", f"cf{subnet}-chainsrc", f"cf{subnet}h0")]
    for i in range(1, relays + 1):
        layout = "guild" if i % 2 == 1 else "iog"
        name = f"relay{i}"
        address = f"198.18.{subnet}.{relay_octet(i)}"
        hosts.append(LabHost(name, "relay", address, layout, f"cf{subnet}-{name}", f"cf{subnet}r{i}"))
    for i in range(1, producers + 1):
        layout = "iog" if i % 2 == 1 else "guild"
        hosts.append(
            LabHost(f"bp{i}", "block_producer", f"198.18.{subnet}.{100 + i}", layout, f"cf{subnet}-bp{i}", f"cf{subnet}p{i}")
        )
    for i in range(1, standbys + 1):
        bp = next(h for h in hosts if h.name == f"bp{i}")
        hosts.append(LabHost(f"bp{i}-standby", "block_producer", f"198.18.{subnet}.{151 - i}", bp.layout,
                             f"cf{subnet}-bp{i}s", f"cf{subnet}s{i}", standby_for=bp.name))  # fmt: skip
    for i in range(1, passive + 1):
        # passive1 follows ledger peers, passive2 keeps to its local roots, alternating (lab inventory)
        hosts.append(LabHost(f"passive{i}", "passive", f"198.18.{subnet}.{PASSIVE_TOP + 1 - i}", "iog",
                             f"cf{subnet}-passive{i}", f"cf{subnet}q{i}"))  # fmt: skip
    names = {h.name for h in hosts if h.role != "chain_source"}
    unknown = sorted(set(yaml_configs) - names)
    if unknown:
        raise LabError(f"--yaml-config: no relay or block producer named {', '.join(unknown)} in this lab")
    return [replace(h, config_format="yaml") if h.name in yaml_configs else h for h in hosts]


def check_versions(hosts: list[LabHost], node_version: str, target_version: str, host_versions: Mapping[str, str]) -> None:
    """Every release named is one the lab boots, every host named is in the lab, and a YAML-config
    host boots a release the lab has a YAML config for (8.7.3's); LabError otherwise."""
    from orchestrator.lab.releases import CURRENT_VERSIONS, lab_version

    names = {h.name: h for h in hosts if h.role != "chain_source"}
    for what, version in (("--node-version", node_version), ("--target-version", target_version),
                          *((f"--host-version {n}", v) for n, v in host_versions.items())):  # fmt: skip
        try:
            lab_version(version)
        except ValueError as exc:
            raise LabError(f"{what}: {exc}") from None
    unknown = sorted(set(host_versions) - set(names))
    if unknown:
        raise LabError(f"--host-version: no relay, block producer or passive node named {', '.join(unknown)} in this lab")
    for host in names.values():
        version = host_versions.get(host.name, node_version)
        if host.config_format == "yaml" and version in CURRENT_VERSIONS:
            raise LabError(f"--yaml-config {host.name}: the lab has YAML configs for 8.x hosts only, not {version}")
        if host.standby_for and version not in CURRENT_VERSIONS:
            # --start-as-non-producing-node is 10.5.1+ (runtime-signals doc §4, PAR L431-439)
            raise LabError(f"--standby-producers: {host.name} would boot {version}; a standby starts with "
                           f"--start-as-non-producing-node, which only 10.5.1+ reads: boot "
                           f"{' or '.join(sorted(CURRENT_VERSIONS))} (--node-version)")  # fmt: skip


def _sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(cmd)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (namespaces, mounts, a bridge): run it as root or with sudo")
    for tool in ("/usr/sbin/sshd", "/usr/bin/ssh-keygen", "/usr/bin/unshare", "/usr/bin/nsenter"):
        if not os.path.exists(tool):
            raise LabError(f"{tool} is missing: run `make install` (installs openssh-server, iproute2, sudo)")
    if shutil.which("ip") is None:
        raise LabError("`ip` is missing: run `make install` (installs iproute2)")


NEIGH_SYSCTL = Path("/proc/sys/net/ipv4/neigh/default")


def neighbour_limits(hosts: int) -> dict[str, int]:
    """The ARP table sizes a lab of `hosts` needs (gc_thresh2: soft, gc_thresh3: hard maximum).

    The kernel's neighbour table is one for all network namespaces: every lab host keeps an entry
    for each peer it talks to, the gateway one for each host, and other labs on this machine add
    theirs. Past gc_thresh3 (default 1024) new connections cannot resolve their next hop ("neighbor
    table overflow" in dmesg): at 128 hosts sshd's banner never came, directly or through the delay
    relay. Real hosts each have a table of their own: raising the limit makes the lab more like
    them, not kinder."""
    hard = 4096 + 2 * hosts * (hosts + 2)
    return {"gc_thresh2": hard // 2, "gc_thresh3": hard}


def raise_neighbour_limits(hosts: int, sysctl_dir: Path = NEIGH_SYSCTL) -> dict[str, int]:
    """Raise (never lower) the neighbour table limits for a lab of `hosts`; returns what was written.
    Best effort: a kernel that refuses keeps its limits (the lab still works at small sizes)."""
    written: dict[str, int] = {}
    for name, want in neighbour_limits(hosts).items():
        path = sysctl_dir / name
        try:
            current = int(path.read_text().split()[0])
            if current < want:
                path.write_text(f"{want}\n")
                written[name] = want
        except (OSError, ValueError, IndexError):
            continue
    return written


def route_is_lab(address: str, bridge: str) -> bool:
    """True when the kernel would send to `address` over the lab's bridge — the only place we send."""
    proc = _sh("ip", "-o", "route", "get", address, check=False)
    return proc.returncode == 0 and f" dev {bridge} " in proc.stdout + " "


def _make_network(state: LabState) -> None:
    if _sh("ip", "link", "show", state.bridge, check=False).returncode == 0:
        raise LabError(
            f"bridge {state.bridge} already exists: another lab uses subnet {state.subnet} "
            "(stop it with `cardano-fleet lab down --dir ...` or pick another --subnet)"
        )
    _sh("ip", "link", "add", state.bridge, "type", "bridge")
    _sh("ip", "addr", "add", f"{state.gateway}/24", "dev", state.bridge)
    _sh("ip", "link", "set", state.bridge, "up")
    for host in state.hosts:
        _sh("ip", "netns", "add", host.netns)
        _sh("ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns)
        _sh("ip", "link", "set", host.veth, "master", state.bridge, "up")
        _sh("ip", "-n", host.netns, "addr", "add", f"{host.address}/24", "dev", "eth0")
        _sh("ip", "-n", host.netns, "link", "set", "eth0", "up")
        _sh("ip", "-n", host.netns, "link", "set", "lo", "up")


def _launch(state: LabState, host: LabHost, host_dir: Path) -> int:
    launcher_ns = {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in ("mnt", "uts")}
    spec = {
        "hostname": host.name,
        "state_dir": str(host_dir),
        "launcher_ns": launcher_ns,
        "autostart": provision.autostart_units(host),
    }
    spec_path = host_dir / "init.json"
    spec_path.write_text(json.dumps(spec))
    log = open(host_dir / "init.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [
            "ip", "netns", "exec", host.netns,
            "unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child", "--mount-proc",
            "--propagation", "private", "/usr/bin/python3", str(HOSTINIT), str(spec_path),
        ],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    log.close()
    return proc.pid


def _init_pid(launcher_pid: int) -> int:
    try:
        children = Path(f"/proc/{launcher_pid}/task/{launcher_pid}/children").read_text().split()
    except OSError:
        return 0
    return int(children[0]) if children else 0


def _wait_ssh(state: LabState, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = {h.name: h for h in state.hosts}
    while pending and time.monotonic() < deadline:
        for name, host in list(pending.items()):
            if not _alive(state.pids[name]):
                log = Path(state.dir) / "hosts" / name / "init.log"
                raise LabError(f"host {name} died while booting: {log.read_text()[-800:] if log.exists() else ''}")
            try:
                with socket.create_connection((host.address, SSH_PORT), timeout=0.5) as s:
                    if s.recv(4).startswith(b"SSH"):
                        del pending[name]
            except OSError:
                pass
        if pending:
            time.sleep(0.05)
    if pending:
        raise LabError(f"sshd did not answer within {timeout:.0f}s on: {', '.join(sorted(pending))}")


def _start_release_server(state: LabState, releases_dir: Path) -> int:
    log = open(Path(state.dir) / "release-server.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        ["/usr/bin/python3", "-m", "http.server", "--bind", state.gateway, "--directory", str(releases_dir), str(RELEASE_PORT)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    log.close()
    return proc.pid


def _start_relay(state: LabState) -> int:
    """The delay relay (orchestrator/lab/delay_relay.py) in front of every host's sshd."""
    spec = {
        "rtt_ms": state.rtt_ms,
        "routes": [
            {"listen": [state.gateway, relay_port(h)], "target": [h.address, SSH_PORT]} for h in state.hosts
        ],
    }
    spec_path = Path(state.dir) / "relay.json"
    spec_path.write_text(json.dumps(spec, indent=2))
    log = open(Path(state.dir) / "relay.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.lab.delay_relay", str(spec_path)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    log.close()
    return proc.pid


def _wait_relay(state: LabState, timeout: float) -> None:
    """Every listener accepts (sshd itself was checked before: `_wait_ssh`)."""
    deadline = time.monotonic() + timeout
    pending = list(state.hosts)
    while pending:
        if not _alive(state.relay_pid):
            log = Path(state.dir) / "relay.log"
            raise LabError(f"the delay relay died: {log.read_text()[-800:] if log.exists() else ''}")
        try:
            with socket.create_connection((state.gateway, relay_port(pending[0])), timeout=1):
                pending.pop(0)
                continue
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise LabError(f"the delay relay did not listen within {timeout:.0f}s for {pending[0].name}")
        time.sleep(0.05)


def lab_up(
    lab_dir: str | Path,
    relays: int = 3,
    producers: int = 1,
    subnet: int = 0,
    node_version: str = FROM_VERSION,
    progress: Callable[[str], None] = lambda _msg: None,
    rtt_ms: float = 0.0,
    yaml_configs: Collection[str] = (),
    startup_seconds: float = provision.DEFAULT_STARTUP_SECONDS,
    passive: int = 0,
    target_version: str = TARGET_VERSION,
    host_versions: Mapping[str, str] | None = None,
    standby_producers: int = 0,
) -> LabState:
    """Boot a lab and return its state; on any failure everything started so far is torn down.

    `rtt_ms` > 0 puts the delay relay (that many milliseconds of round trip) in front of every
    host's sshd and writes inventory.yml through it; inventory-direct.yml is the same fleet direct.
    yaml_configs: hosts that keep their node config as YAML (the node repository's
    mainnet-config.yaml), to exercise the node's YAML reading end to end.
    `passive`: passive nodes (an exchange's), passive1, passive2, …: odd ones in the ledger form, even
    ones private (the inventory's passive_topology), each wired by hand to relay1 in its legacy file.
    `startup_seconds`: how long each node's start (ChainDB opening to socket) takes.
    `target_version`: the release inventory.yml pins (from the lab's release server);
    `host_versions`: hosts that boot another release than `node_version` (a mixed fleet).
    `standby_producers`: bp1-standby, … beside the first producers: a block producer with the same
    relays and credentials, started non-producing (`--start-as-non-producing-node`), in the
    inventory's group standby_producers with `standby_for` (issue 27). Returns once
    sshd answers; the nodes may still be starting (orchestrator.lab.readiness waits for sync).
    Raises LabError.
    """
    _require_root()
    if not 0 <= rtt_ms <= 10_000:
        raise LabError("--rtt-ms must be 0..10000 milliseconds")
    lab_path = Path(lab_dir).resolve()
    existing = LabState.load(lab_path)
    if existing is not None and any(_alive(p) for p in existing.pids.values()):
        raise LabError(f"a lab is already running in {lab_path}; `cardano-fleet lab down --dir {lab_dir}` first")
    if existing is not None:
        lab_down(lab_path)
    hosts = plan_hosts(relays, producers, subnet, yaml_configs, passive, standby_producers)
    host_versions = dict(host_versions or {})
    check_versions(hosts, node_version, target_version, host_versions)
    if lab_path.exists():
        shutil.rmtree(lab_path)
    lab_path.mkdir(parents=True)
    os.chmod(lab_path, 0o700)
    state = LabState(
        dir=str(lab_path), subnet=subnet, bridge=f"cfleet{subnet}", gateway=f"198.18.{subnet}.1",
        node_version=node_version, hosts=hosts, rtt_ms=float(rtt_ms), target_version=target_version,
        host_versions=host_versions,
    )  # fmt: skip
    started = time.monotonic()
    try:
        progress(f"building releases and keys for {len(hosts)} hosts")
        keys = provision.make_keys(lab_path, hosts)
        releases = provision.build_releases(lab_path, state.gateway, RELEASE_PORT)
        state.release_urls = {v: {"url": r.url, "sha256": r.sha256} for v, r in releases.items()}
        for host in hosts:
            host_dir = lab_path / "hosts" / host.name
            for d in OVERLAID:
                (host_dir / "upper" / d).mkdir(parents=True, exist_ok=True)
                (host_dir / "work" / d).mkdir(parents=True, exist_ok=True)
            provision.prepare_host(host, hosts, host_dir / "upper", keys, releases, state.version_of(host.name), subnet,
                                   startup_seconds)  # fmt: skip
        progress("creating the bridge and network namespaces")
        raise_neighbour_limits(len(hosts))
        _make_network(state)
        state.save()
        state.server_pid = _start_release_server(state, lab_path / "releases")
        progress("booting hosts")
        for host in hosts:
            state.pids[host.name] = _launch(state, host, lab_path / "hosts" / host.name)
        state.save()
        _wait_ssh(state, timeout=30 + 2 * len(hosts))  # a big lab on a busy 2-core machine boots slowly
        for host in hosts:
            state.init_pids[host.name] = _init_pid(state.pids[host.name])
        if state.rtt_ms > 0:
            progress(f"starting the delay relay ({state.rtt_ms:g} ms round trip) in front of every sshd")
            state.relay_pid = _start_relay(state)
            state.save()
            _wait_relay(state, timeout=30)
        provision.write_client_files(state, keys)
        state.save()
    except BaseException:
        lab_down(lab_path)
        raise
    progress(f"{len(hosts)} hosts up in {time.monotonic() - started:.1f}s")
    return state


def reboot_host(state: LabState, name: str, down_seconds: float = 0.0, timeout: float = 60) -> float:
    """Reboot one host as a machine reboots: its PID 1 stops every process (units get SIGTERM, then
    SIGKILL after 3 s), the host stays down `down_seconds`, then boots from the same disks (its
    overlays: files, links, enabled units and host keys kept; /run and /tmp fresh) and starts its
    enabled units. Updates `state` (and its file) in place; returns the seconds it was unreachable.
    Raises LabError."""
    host = next((h for h in state.hosts if h.name == name), None)
    if host is None:
        raise LabError(f"no host {name} in this lab")
    started = time.monotonic()
    init = state.init_pids.get(name) or _init_pid(state.pids[name])
    if init and _alive(init):
        os.kill(init, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(state.pids[name]):
        time.sleep(0.05)
    if _alive(state.pids[name]):
        os.killpg(state.pids[name], signal.SIGKILL)
    time.sleep(down_seconds)
    state.pids[name] = _launch(state, host, Path(state.dir) / "hosts" / name)
    state.init_pids.pop(name, None)
    _wait_ssh(state, timeout=timeout)
    state.init_pids[name] = _init_pid(state.pids[name])
    state.save()
    return time.monotonic() - started


def lab_down(lab_dir: str | Path) -> list[str]:
    """Stop every host and remove every namespace, link and process of the lab; say what was done."""
    lab_path = Path(lab_dir).resolve()
    state = LabState.load(lab_path)
    if state is None:
        return [f"no lab in {lab_path}"]
    said: list[str] = []
    for pid in state.init_pids.values():
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and any(_alive(p) for p in state.pids.values()):
        time.sleep(0.05)
    for name, pid in state.pids.items():
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)  # --kill-child takes the host's PID 1 and so its namespace
            said.append(f"{name}: killed")
    for helper in (state.server_pid, state.relay_pid):
        if helper and _alive(helper):
            os.kill(helper, signal.SIGTERM)
    deadline = time.monotonic() + 3
    helpers = [state.server_pid, state.relay_pid]
    while time.monotonic() < deadline and any(_alive(p) for p in [*state.pids.values(), *helpers]):
        time.sleep(0.05)
    for host in state.hosts:
        if _sh("ip", "netns", "del", host.netns, check=False).returncode == 0:
            pass
        _sh("ip", "link", "del", host.veth, check=False)
    _sh("ip", "link", "del", state.bridge, check=False)
    leftovers = leftover_resources(state)
    said.append(f"stopped {len(state.hosts)} hosts, removed namespaces, links and bridge {state.bridge}")
    if leftovers:
        said.append("LEFT BEHIND: " + "; ".join(leftovers))
    (lab_path / STATE_FILE).rename(lab_path / "lab.down.json")
    return said


def leftover_resources(state: LabState) -> list[str]:
    """What of this lab still exists on the machine (empty when teardown was complete)."""
    left: list[str] = []
    for name, pid in state.pids.items():
        if _alive(pid):
            left.append(f"process {pid} ({name})")
    if state.server_pid and _alive(state.server_pid):
        left.append(f"release server {state.server_pid}")
    if state.relay_pid and _alive(state.relay_pid):
        left.append(f"delay relay {state.relay_pid}")
    netns = set(_sh("ip", "netns", "list", check=False).stdout.split())
    left += [f"netns {h.netns}" for h in state.hosts if h.netns in netns]
    links = _sh("ip", "-o", "link", "show", check=False).stdout
    left += [f"link {n}" for n in [state.bridge, *(h.veth for h in state.hosts)] if f": {n}:" in links or f": {n}@" in links]
    mounts = Path("/proc/mounts").read_text()
    if state.dir in mounts:
        left.append("mounts under " + state.dir)
    return left


def lab_status(lab_dir: str | Path) -> Iterator[tuple[LabHost, bool, bool]]:
    """(host, process alive, answers SSH) per host."""
    state = LabState.load(Path(lab_dir).resolve())
    if state is None:
        return
    for host in state.hosts:
        alive = _alive(state.pids.get(host.name, 0))
        answers = False
        if alive and route_is_lab(host.address, state.bridge):
            try:
                with socket.create_connection((host.address, SSH_PORT), timeout=1) as s:
                    answers = s.recv(4).startswith(b"SSH")
            except OSError:
                answers = False
        yield host, alive, answers


_EXEC_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}


def _nsenter(state: LabState, name: str, command: str) -> list[str]:
    pid = state.init_pids.get(name) or _init_pid(state.pids[name])
    return ["nsenter", "-t", str(pid), "-m", "-u", "-p", "-n", "--", "/bin/sh", "-c", command]


def host_exec(state: LabState, name: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a shell command inside a host, out of band (nsenter into its namespaces), as root."""
    return subprocess.run(_nsenter(state, name, command), capture_output=True, text=True, timeout=timeout,
                          env=_EXEC_ENV)


def host_exec_bytes(state: LabState, name: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    """host_exec, output as bytes: `lab exec` passes a binary file (a db chunk, a gzip) through unchanged."""
    return subprocess.run(_nsenter(state, name, command), capture_output=True, timeout=timeout, env=_EXEC_ENV)
