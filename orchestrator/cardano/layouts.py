"""Where a node's files live on a host, for the two layouts operators really use.

guild: guild-operators' `/opt/cardano/cnode` tree, unit `cnode.service`, port 6000.
iog:   the IOG docs' `/opt/cardano/{config,db,...}` tree, unit `cardano-node.service`, port 3001.
Binaries live in versioned release directories; `bin_dir` is a symlink to the current one, so
that switching (and rolling back) a version is one atomic rename of a link.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Layout:
    name: str
    root: str
    config_path: str
    topology_path: str
    genesis_dir: str
    db_path: str
    socket_path: str
    bin_dir: str  # a symlink to releases_dir/<version>[/bin]
    releases_dir: str
    keys_dir: str  # pool keys on a block producer: never read, copied or logged
    service_name: str
    node_port: int
    run_as: str  # the user the unit runs the node as

    def with_overrides(self, overrides: dict[str, object]) -> Layout:
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if k in known})  # type: ignore[arg-type]


GUILD = Layout(
    name="guild",
    root="/opt/cardano/cnode",
    config_path="/opt/cardano/cnode/files/config.json",
    topology_path="/opt/cardano/cnode/files/topology.json",
    genesis_dir="/opt/cardano/cnode/files",
    db_path="/opt/cardano/cnode/db",
    socket_path="/opt/cardano/cnode/sockets/node.socket",
    bin_dir="/opt/cardano/cnode/bin",
    releases_dir="/opt/cardano/cnode/releases",
    keys_dir="/opt/cardano/cnode/priv/pool",
    service_name="cnode.service",
    node_port=6000,
    run_as="root",
)

IOG = Layout(
    name="iog",
    root="/opt/cardano",
    config_path="/opt/cardano/config/config.json",
    topology_path="/opt/cardano/config/topology.json",
    genesis_dir="/opt/cardano/config",
    db_path="/opt/cardano/db",
    socket_path="/opt/cardano/socket/node.socket",
    bin_dir="/opt/cardano/bin",
    releases_dir="/opt/cardano/releases",
    keys_dir="/opt/cardano/keys",
    service_name="cardano-node.service",
    node_port=3001,
    run_as="root",
)

LAYOUTS: dict[str, Layout] = {"guild": GUILD, "iog": IOG}

# Inventory variables that override a layout's paths, one per Layout field but `name`.
PATH_VARIABLES: tuple[str, ...] = tuple(f.name for f in fields(Layout) if f.name != "name")
