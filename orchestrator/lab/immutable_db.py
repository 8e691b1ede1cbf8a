"""The lab node's `<db>/immutable/`: chunk files it writes as its chain grows, and its immutable tip.

What the product relies on (db seeding, actions/seed_db.py) is the ImmutableDB's shape
(ouroboros-consensus `Storage/ImmutableDB`): blocks grouped in chunks of a fixed number of slots
(`NNNNN.chunk` with its `.primary` and `.secondary` index), only the newest chunk appended to, every
older one final — so two nodes that followed the same chain hold byte-identical completed chunks.
The lab writes small files with that shape: one line per lab "block" (every BLOCK_SLOTS slots)
derived from the network and the slot only, so that two lab hosts of a network agree byte for byte
on every completed chunk, as real nodes on one chain do. It keeps a window of the newest
WINDOW_CHUNKS chunks (a real db holds them all from chunk 0; the lab's chain starts at the
provisioned tip).

The immutable tip is the last block of the newest chunk. A ledger snapshot ahead of it is not used
by the node (`InitFailureTooRecent`: "ahead of the tip of the immutable chain"; lab/ledger_db.py
`open_ledger(..., immutable_tip=…)`).

Stdlib only: this module ships inside the lab's release tarballs (lab/releases.py).
"""

from __future__ import annotations

import hashlib
import os

from orchestrator.cardano import networks

IMMUTABLE_DIR = "immutable"
CHUNK_SLOTS = networks.BYRON_EPOCH_SLOTS  # slots per chunk, as on mainnet (simnode.CHUNK_SLOTS)
BLOCK_SLOTS = 1000  # one lab block line per 1000 slots: small files
WINDOW_CHUNKS = 4  # the newest chunks kept on disk (a snapshot 52 840 slots back lies in them)


def _line(network: str, slot: int) -> str:
    return f"{slot} {hashlib.sha256(f'{network}:{slot}'.encode()).hexdigest()[:32]}\n"


def _chunk_text(network: str, number: int, upto: int) -> str:
    """Chunk `number`'s blocks up to slot `upto` (inclusive)."""
    first = number * CHUNK_SLOTS
    last = min(upto, first + CHUNK_SLOTS - 1)
    start = -(-first // BLOCK_SLOTS) * BLOCK_SLOTS
    return "".join(_line(network, s) for s in range(start, last + 1, BLOCK_SLOTS))


def _write(path: str, text: str) -> None:
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return
    except FileNotFoundError:
        pass
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def grow(database: str, network: str, immutable_tip: int) -> None:
    """Bring `<db>/immutable/` up to `immutable_tip`: the newest WINDOW_CHUNKS chunks (a finished one
    is never rewritten: same bytes), older lab chunks removed."""
    root = os.path.join(database, IMMUTABLE_DIR)
    os.makedirs(root, exist_ok=True)
    newest = max(0, immutable_tip) // CHUNK_SLOTS
    keep = range(max(0, newest - WINDOW_CHUNKS + 1), newest + 1)
    for n in keep:
        text = _chunk_text(network, n, immutable_tip)
        _write(os.path.join(root, f"{n:05d}.chunk"), text)
        _write(os.path.join(root, f"{n:05d}.primary"), f"lab primary index {n} {text.count(chr(10))}\n")
        _write(os.path.join(root, f"{n:05d}.secondary"), f"lab secondary index {n} {len(text)}\n")
    for name in os.listdir(root):
        head, _, ext = name.partition(".")
        if head.isdigit() and ext in ("chunk", "primary", "secondary") and int(head) < keep.start:
            os.unlink(os.path.join(root, name))


def tip(database: str) -> int | None:
    """The immutable tip: the last block of the newest chunk; None when there is no immutable/ (a
    lab host provisioned but never started: its provisioning stands for a synced host)."""
    root = os.path.join(database, IMMUTABLE_DIR)
    try:
        names = [n for n in os.listdir(root) if n.endswith(".chunk") and n[:5].isdigit()]
    except FileNotFoundError:
        return None
    for name in sorted(names, reverse=True):
        with open(os.path.join(root, name), encoding="utf-8") as handle:
            lines = handle.read().split()
        if lines:
            return int(lines[-2])
    return None
