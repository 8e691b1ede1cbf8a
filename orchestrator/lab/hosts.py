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
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from orchestrator.lab import provision
from orchestrator.lab.state import STATE_FILE, LabError, LabHost, LabState

HOSTINIT = Path(__file__).with_name("hostinit.py")
OVERLAID = ("etc", "opt", "usr_local", "root", "var", "home")
SSH_PORT = 22
RELEASE_PORT = 8080


def plan_hosts(relays: int, producers: int, subnet: int) -> list[LabHost]:
    """Names and addresses: .1 the bridge, .2 the chain source, relays from .11, producers from .101."""
    if not 0 <= subnet <= 255:
        raise LabError("--subnet must be 0..255 (the lab uses 198.18.SUBNET.0/24)")
    if relays < 1 or producers < 0 or relays + producers > 80:
        raise LabError("a lab needs 1..80 hosts and at least one relay")
    hosts = [LabHost("chainsrc", "chain_source", f"198.18.{subnet}.2", "iog", f"cf{subnet}-chainsrc", f"cf{subnet}h0")]
    for i in range(1, relays + 1):
        layout = "guild" if i % 2 == 1 else "iog"
        name = f"relay{i}"
        hosts.append(LabHost(name, "relay", f"198.18.{subnet}.{10 + i}", layout, f"cf{subnet}-{name}", f"cf{subnet}r{i}"))
    for i in range(1, producers + 1):
        layout = "iog" if i % 2 == 1 else "guild"
        hosts.append(
            LabHost(f"bp{i}", "block_producer", f"198.18.{subnet}.{100 + i}", layout, f"cf{subnet}-bp{i}", f"cf{subnet}p{i}")
        )
    return hosts


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


def lab_up(
    lab_dir: str | Path,
    relays: int = 3,
    producers: int = 1,
    subnet: int = 0,
    node_version: str = "8.7.3",
    progress: Callable[[str], None] = lambda _msg: None,
    startup_seconds: float = provision.DEFAULT_STARTUP_SECONDS,
) -> LabState:
    """Boot a lab and return its state; on any failure everything started so far is torn down.

    `startup_seconds`: how long each node's start (ChainDB opening to socket) takes. Returns once
    sshd answers; the nodes may still be starting (orchestrator.lab.readiness waits for sync)."""
    _require_root()
    lab_path = Path(lab_dir).resolve()
    existing = LabState.load(lab_path)
    if existing is not None and any(_alive(p) for p in existing.pids.values()):
        raise LabError(f"a lab is already running in {lab_path}; `cardano-fleet lab down --dir {lab_dir}` first")
    if existing is not None:
        lab_down(lab_path)
    hosts = plan_hosts(relays, producers, subnet)
    if lab_path.exists():
        shutil.rmtree(lab_path)
    lab_path.mkdir(parents=True)
    os.chmod(lab_path, 0o700)
    state = LabState(
        dir=str(lab_path), subnet=subnet, bridge=f"cfleet{subnet}", gateway=f"198.18.{subnet}.1",
        node_version=node_version, hosts=hosts,
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
            provision.prepare_host(host, hosts, host_dir / "upper", keys, releases, node_version, subnet, startup_seconds)
        progress("creating the bridge and network namespaces")
        _make_network(state)
        state.save()
        state.server_pid = _start_release_server(state, lab_path / "releases")
        progress("booting hosts")
        for host in hosts:
            state.pids[host.name] = _launch(state, host, lab_path / "hosts" / host.name)
        state.save()
        _wait_ssh(state, timeout=30 + len(hosts))
        for host in hosts:
            state.init_pids[host.name] = _init_pid(state.pids[host.name])
        provision.write_client_files(state, keys)
        state.save()
    except BaseException:
        lab_down(lab_path)
        raise
    progress(f"{len(hosts)} hosts up in {time.monotonic() - started:.1f}s")
    return state


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
    if state.server_pid and _alive(state.server_pid):
        os.kill(state.server_pid, signal.SIGTERM)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(_alive(p) for p in [*state.pids.values(), state.server_pid]):
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


def host_exec(state: LabState, name: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a shell command inside a host, out of band (nsenter into its namespaces), as root."""
    pid = state.init_pids.get(name) or _init_pid(state.pids[name])
    return subprocess.run(
        ["nsenter", "-t", str(pid), "-m", "-u", "-p", "-n", "--", "/bin/sh", "-c", command],
        capture_output=True, text=True, timeout=timeout,
        env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"},
    )  # fmt: skip
