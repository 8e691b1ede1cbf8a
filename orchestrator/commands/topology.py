"""`cardano-fleet topology convert`: a topology as a catalogued release reads it (P2P), offline, to stdout."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from orchestrator.cardano.errors import FileFormatError, read_json_file
from orchestrator.cardano.networks import NETWORKS, AccessPoint
from orchestrator.cardano.releases import TARGET_VERSION, known_versions
from orchestrator.commands._exit import error

HELP = ("convert a topology.json to the P2P format of a release (--to) for a relay, a block producer or a passive "
        "node (offline); a file already in that form is kept; every changed value is listed on stderr")
ROLES = {"relay": "relay", "producer": "block_producer", "block_producer": "block_producer", "passive": "passive"}


def host_port(value: str) -> AccessPoint:
    """HOST:PORT or [IPv6]:PORT, as operators write peers on a command line."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    port = int(port_text)
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port out of range in {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an IPv6 address in {value!r}") from None
    return AccessPoint(host, port)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="topology_command", metavar="ACTION", required=True)
    convert = sub.add_parser("convert", help=HELP, description=HELP)
    convert.add_argument("file", metavar="FILE", help="the current topology.json (legacy, P2P or legacy-P2P)")
    convert.add_argument("--role", required=True, choices=sorted(ROLES), help="the host's role")
    convert.add_argument("--network", required=True, choices=sorted(NETWORKS), help="the host's network")
    convert.add_argument(
        "--local-root",
        action="append",
        default=[],
        type=host_port,
        metavar="HOST:PORT",
        help="an own host to keep as a local root: a producer's relays, a relay's sibling relays",
    )
    convert.add_argument(
        "--producer",
        action="append",
        default=[],
        type=host_port,
        metavar="HOST:PORT",
        help="a relay's own block producer (never advertised); for a passive node: a block producer to drop",
    )
    convert.add_argument(
        "--to", metavar="VERSION", default=TARGET_VERSION,
        help=f"the release the topology is for (default {TARGET_VERSION}): {', '.join(known_versions())}",
    )  # fmt: skip
    convert.add_argument(
        "--from", dest="source", metavar="VERSION", help="the release the file is for now (newer than --to: refused)"
    )
    convert.add_argument(
        "--passive-topology", choices=("ledger", "private"), default="ledger",
        help="a passive node's form: ledger (bootstrap + ledger peers) or private (its local roots only, "
             "useLedgerAfterSlot -1, no bootstrapPeers); --local-root adds to its local roots (default ledger)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from orchestrator.cardano import node_rules, releases
    from orchestrator.cardano.config import detect_indent, render_json
    from orchestrator.cardano.shipped_topology import NoShippedTopology, release_network
    from orchestrator.cardano.topology import (
        Peer,
        RootGroup,
        carry_over_notes,
        desired_topology,
        handpicked_peers,
        kept_values_note,
        topology_changes,
    )
    from orchestrator.model import PassiveTopology, Role

    try:
        target = releases.lookup(args.to)
        if args.source is not None:
            releases.path(args.source, target.version)  # DowngradeRefused names both
    except (releases.UnknownRelease, releases.DowngradeRefused) as exc:
        error(str(exc))
        return 1
    role = Role(ROLES[args.role])
    form = PassiveTopology(args.passive_topology)
    try:
        text, data = read_json_file(args.file)
        own: list[AccessPoint] = [*args.producer, *args.local_root]
        extra: tuple[RootGroup, ...] = ()
        if role is Role.PASSIVE:
            # No own group: its peers are the operator's; block producers named are dropped.
            known = {p.address for p in args.producer}
            points = tuple(Peer(p.address, p.port) for p in args.local_root)
            extra = (RootGroup(points, False, len(points), trustable=False),) if points else ()
            own = []
        else:
            if role is Role.BLOCK_PRODUCER and not own:
                # Without flags, a producer's non-public peers are taken to be its own relays.
                own = [AccessPoint(p.address, p.port) for p in handpicked_peers(data, set(), path=args.file)]
            known = {p.address for p in own}
        notes: list[str] = []
        missing: NoShippedTopology | None = None
        try:
            net = release_network(target.version, args.network)
        except NoShippedTopology as exc:
            net, missing = NETWORKS[args.network], exc
        try:
            desired = desired_topology(data, role, own, net, known, path=args.file, notes=notes,
                                       extra_local_roots=extra, passive=form, missing_values=missing)  # fmt: skip
        except NoShippedTopology as exc:
            raise FileFormatError(args.file, f"needs converting and {exc}") from None
        if role is Role.PASSIVE and form is PassiveTopology.PRIVATE and not any(
            g["accessPoints"] for g in desired["localRoots"]
        ):
            raise FileFormatError(args.file, "--passive-topology private leaves no peer at all; give --local-root")
    except FileFormatError as exc:
        error(str(exc))
        return 1
    rendered = render_json(desired, detect_indent(text) or 2)
    errors, _ = node_rules.check_topology(target.version, True, rendered)
    if errors:
        for problem in errors:
            error(f"{args.file}: {target.version} would refuse the result: {problem}")
        return 1
    changes = topology_changes(data, desired)
    if not changes:
        notes.append(f"already P2P in {target.version}'s form for this role: kept as it is")
        if (kept := kept_values_note(desired, net)) is not None and missing is None:
            notes.append(kept)
    notes += [f"changed: {line}" for line in changes]
    if isinstance(data, dict):
        notes += carry_over_notes(data, desired, target)
    for note in notes:
        print(f"# {note}", file=sys.stderr)
    sys.stdout.write(rendered)
    return 0
