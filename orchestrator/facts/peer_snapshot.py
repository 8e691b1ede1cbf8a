"""The peer snapshot beside the topology: one fact section (command + parser), read-only.

A topology and its peer snapshot are one versioned pair (issue 26): the node reads the file its
topology's `peerSnapshotFile` names (relative to the topology's directory from 10.5.0, TOP @10.5.3
L234), a release reads only its own formats, and a snapshot older than useLedgerAfterSlot stops a
10.7+ node, or a 10.6.2+ node in Genesis mode (cardano/consensus_mode.py). The probe reads the
topology on the host, opens the file it names, and prints its path, sha256, size and its top-level
keys but the pool list (a mainnet snapshot is ~150 KB; its header is what the rules need). The
format, slot and NetworkMagic are then told by node_rules.peer_snapshot_format, the one home of
that rule. Pool keys are never near: the topology and its snapshot are node files.
"""

from __future__ import annotations

import json
import re
import shlex
from types import MappingProxyType

from orchestrator.facts.model import PeerSnapshotFact
from orchestrator.facts.record import FactSection, Output, Parsed, register
from orchestrator.model import Host

_HEX64 = re.compile(r"[0-9a-f]{64}")
_PY = (
    "import hashlib,json,os,sys\n"
    "t=sys.argv[1]\n"
    "try:\n"
    "    top=json.load(open(t,'rb'))\n"
    "except (OSError,ValueError):\n"
    "    top=None\n"
    "n=top.get('peerSnapshotFile') if isinstance(top,dict) else None\n"
    "if not isinstance(n,str) or not n or '\\t' in n or '\\n' in n:\n"
    "    print('none');sys.exit(0)\n"
    "p=n if os.path.isabs(n) else os.path.join(os.path.dirname(os.path.abspath(t)),n)\n"
    "try:\n"
    "    b=open(p,'rb').read()\n"
    "except OSError as e:\n"
    "    print('missing\\t'+p+'\\t'+(e.strerror or 'unreadable'));sys.exit(0)\n"
    "try:\n"
    "    d=json.loads(b)\n"
    "except ValueError:\n"
    "    d=None\n"
    "h={k:v for k,v in d.items() if k!='bigLedgerPools'} if isinstance(d,dict) else None\n"
    "print('\\t'.join(('file',p,hashlib.sha256(b).hexdigest(),str(len(b)),json.dumps(h))))\n"
)


@register
class PeerSnapshotSection(FactSection):
    """peerSnapshotFile of the host's topology: path, sha256, size and header (no pool list)."""

    name = "peer_snapshot"

    def command(self, host: Host) -> str:
        # -I -S: no site, no user paths (as the genesis section).
        return f"python3 -I -S -c {shlex.quote(_PY)} {shlex.quote(host.layout.topology_path)}"

    def parse(self, out: Output) -> Parsed:
        line = out.body.strip().splitlines()[-1] if out.body.strip() else ""
        cols = line.split("\t")
        if cols == ["none"]:
            return Parsed.of(peer_snapshot=None)
        if len(cols) == 3 and cols[0] == "missing":
            return Parsed.of(peer_snapshot=PeerSnapshotFact(cols[1], None, None, None, cols[2]))
        if len(cols) == 5 and cols[0] == "file" and _HEX64.fullmatch(cols[2]) and cols[3].isdigit():
            try:
                header = json.loads(cols[4])
            except ValueError:
                header = None
            shown = MappingProxyType(header) if isinstance(header, dict) else None
            error = None if shown is not None else "not a JSON object"
            return Parsed.of(peer_snapshot=PeerSnapshotFact(cols[1], cols[2], int(cols[3]), shown, error))
        return Parsed.error(self.name, f"unexpected output: {line[:120] or 'none'}")
