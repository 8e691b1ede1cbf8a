"""`lab leader-slots`: give a lab block producer a leader schedule, in both forms operators keep.

The lab node cannot compute a schedule (there is no stake and no VRF evaluation): the schedule is
written as the operator's tools would leave it, with slots at chosen offsets from now, so a run can
be rehearsed against a leader slot seconds away:
- guild-operators' blocklog.db (cncli.sh's `createBlocklogDB` schema; rows as `cncli.sh leaderlog`
  inserts them: slot, `at` in RFC 3339 UTC, epoch, slot_in_epoch, status 'leader');
- the JSON of `cardano-cli query leadership-schedule --output-json` (slotNumber, slotTime).
Both are replaced atomically (written beside, then renamed). Pool keys are not involved.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from datetime import UTC, datetime

from orchestrator.cardano.leader_schedule import slot_time
from orchestrator.cardano.networks import network as network_named
from orchestrator.lab.simnode import epoch_info

BLOCKLOG_PATH = "/var/lib/cardano-lab/blocklog.db"
SCHEDULE_PATH = "/var/lib/cardano-lab/leader-schedule.json"

# cncli.sh createBlocklogDB (guild-operators, scripts/cnode-helper-scripts/cncli.sh)
BLOCKLOG_SCHEMA = (
    "CREATE TABLE blocklog (id INTEGER PRIMARY KEY AUTOINCREMENT, slot INTEGER NOT NULL UNIQUE, "
    "at TEXT NOT NULL UNIQUE, epoch INTEGER NOT NULL, block INTEGER NOT NULL DEFAULT 0, "
    "slot_in_epoch INTEGER NOT NULL DEFAULT 0, hash TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL DEFAULT 0, "
    "status TEXT NOT NULL)"
)

_WRITE_PY = (
    "import json,os,sqlite3,sys\n"
    "db,js,rows,doc=sys.argv[1],sys.argv[2],json.loads(sys.argv[3]),sys.argv[4]\n"
    "os.makedirs(os.path.dirname(db),exist_ok=True)\n"
    "t=db+'.tmp'\n"
    "os.path.exists(t) and os.unlink(t)\n"
    "c=sqlite3.connect(t)\n"
    "c.execute(sys.argv[5])\n"
    "c.executemany('INSERT INTO blocklog (slot,at,epoch,slot_in_epoch,status) VALUES (?,?,?,?,?)',rows)\n"
    "c.commit();c.close()\n"
    "os.replace(t,db)\n"
    "open(js+'.tmp','w').write(doc)\n"
    "os.replace(js+'.tmp',js)\n"
)


def schedule_rows(network: str, offsets: Sequence[float], now: float) -> list[tuple[int, str, int, int, str]]:
    """blocklog rows (slot, at, epoch, slot_in_epoch, status) for leader slots `offsets` seconds from
    `now` (unix seconds), on `network`'s slot clock (each slot's own start time, 1-s slots)."""
    net = network_named(network)
    rows = []
    for offset in sorted(offsets):
        slot = net.expected_slot(now + offset)
        at = datetime.fromtimestamp(slot_time(net, slot), tz=UTC).isoformat()  # 2024-03-19T10:41:11+00:00
        epoch, into, _ = epoch_info(network, slot)
        rows.append((slot, at, epoch, into, "leader"))
    return rows


def cli_json(rows: Sequence[tuple[int, str, int, int, str]]) -> str:
    """The same slots as cardano-cli's `--output-json` prints them (Aeson UTCTime: `...Z`)."""
    return json.dumps([{"slotNumber": r[0], "slotTime": r[1].replace("+00:00", "Z")} for r in rows], indent=4) + "\n"


def write_command(rows: Sequence[tuple[int, str, int, int, str]]) -> str:
    """The shell command that writes both files on the host (run as root inside it)."""
    args = [BLOCKLOG_PATH, SCHEDULE_PATH, json.dumps([list(r) for r in rows]), cli_json(rows), BLOCKLOG_SCHEMA]
    return "python3 -c " + shlex.quote(_WRITE_PY) + " " + " ".join(shlex.quote(a) for a in args)
