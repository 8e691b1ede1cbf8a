"""The ledger backup's shell on a real sshd host (roll/remote.py SshRemote.backup_ledger,
restore_ledger, prune_ledger_backups): a copy with owner and modes kept, a restore that gives back
exactly what was kept (a repeated restore is the same restore), and a prune that removes only
earlier runs' copies. A scratch db path with a space and shell metacharacters: the path is data."""

from __future__ import annotations

import shlex
from dataclasses import replace

import pytest

from orchestrator.load.inventory import load_inventory
from orchestrator.roll.remote import SshRemote
from orchestrator.ssh.transport import Fleet

DB = "/var/tmp/ledger test $(touch /tmp/pwned-ledger);db"
RUN = "20990101T000000Z-ledger"
OLDER = "20980101T000000Z-older0"


@pytest.mark.lab
def test_the_ledger_is_kept_restored_and_pruned_on_a_real_host(lab):
    q = shlex.quote
    inv = load_inventory(lab.inventory_path)
    real = next(h for h in inv.hosts if h.name == "relay1")
    host = replace(real, layout=real.layout.with_overrides({"db_path": DB}))
    ledger = f"{DB}/ledger"
    lab.exec("relay1", f"rm -rf {q(DB)} /tmp/pwned-ledger; mkdir -p {q(ledger + '/171202124')} {q(DB + '/ledger.bak-' + OLDER)}"
                       f" && printf 'state-v1' > {q(ledger + '/171202124/state')} && chmod 600 {q(ledger + '/171202124/state')}"
                       f" && chown 1000:1000 {q(ledger + '/171202124/state')}")  # fmt: skip
    try:
        with Fleet([host]) as fleet:
            remote = SshRemote(fleet, RUN)
            kept = remote.backup_ledger(host)
            assert kept.ok and kept.detail.isdigit(), kept
            # the new release writes its own snapshots
            lab.exec("relay1", f"rm -rf {q(ledger + '/171202124')}; mkdir {q(ledger + '/171300000')}")
            for _attempt in range(2):  # a resumed rollback restores again: the same result
                restored = remote.restore_ledger(host)
                assert restored.ok, restored
                listing = lab.exec("relay1", f"cd {q(ledger)} && ls && stat -c '%a %u %g' 171202124/state && "
                                             "cat 171202124/state").stdout.split()  # fmt: skip
                assert listing == ["171202124", "600", "1000", "1000", "state-v1"], listing
            refused = SshRemote(fleet, "20990101T000000Z-nobkup").restore_ledger(host)  # no copy of its own
            assert not refused.ok and "no ledger backup of this run" in refused.detail, refused
            assert remote.prune_ledger_backups(host) == [f"{DB}/ledger.bak-{OLDER}"]
            left = lab.exec("relay1", f"ls -a {q(DB)}").stdout.split()
            assert f"ledger.bak-{RUN}" in left and f"ledger.bak-{OLDER}" not in left
        assert lab.exec("relay1", "test -e /tmp/pwned-ledger").returncode != 0
    finally:
        lab.exec("relay1", f"rm -rf {q(DB)}")
