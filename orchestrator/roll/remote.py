"""The remote operations a rollout needs: a typed Protocol (what the engine may ask of a host) and its
SSH implementation. Unit tests drive the engine with an in-memory fake of the same Protocol.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from orchestrator.actions import convert_snapshot
from orchestrator.cardano.releases import BINARY_SUBDIRS, lookup, sums
from orchestrator.model import LOCK_DIR, Hook, Host, ReleasePin
from orchestrator.ssh.transport import CommandResult, Fleet

T = TypeVar("T")



@dataclass(frozen=True)
class Done:
    """What one remote step did: ok, and its output (ok) or why it failed (not ok)."""

    ok: bool
    detail: str = ""


SUMS_RECORD = ".cardano-fleet-sha256"  # in each staged release dir: sha256sum lines, read by the `release_sums` fact


def _record_sums(release_dir: str, tarball: str, filename: str, sums_note: str) -> str:
    """Shell that records, in the unpacked release, the sha256 of the tarball it came from (checked
    against the pin just before) and of its cardano-node and cardano-cli, as `sha256sum` lines
    (`<hex>  <path relative to the release dir>`; the tarball by its bare file name, as the release's
    sums file names it): the readiness audit's `release-sha256` reads them after the tarball is gone.
    Last, the published sums file's outcome as a `# sha256sums: ...` line (releases/sums.py): not a
    `<hex>  <path>` line, so a record reader that predates it skips it."""
    q = shlex.quote
    files = " ".join(q(f"{sub}/{name}" if sub else name) for sub in BINARY_SUBDIRS for name in ("cardano-node", "cardano-cli"))
    note = sums.RECORD_PREFIX + " ".join(sums_note.split())  # one line
    return (f"( cd {q(release_dir)} && printf '%s  %s\\n' \"$(sha256sum {q(tarball)} | cut -d' ' -f1)\" {q(filename)} "
            f"&& for f in {files}; do if [ -f \"$f\" ]; then sha256sum \"$f\"; fi; done "
            f"&& printf '%s\\n' {q(note)} ) > {q(release_dir + '/' + SUMS_RECORD)}")


def _under(directory: str, sub: str) -> str:
    return f"{directory}/{sub}" if sub else directory


@dataclass(frozen=True)
class Written:
    """What a conditional write did: `conflict` (a file changed since the plan: nothing written) and
    `unreachable` (the connection was lost: the write may be retried) say why it did not."""

    ok: bool
    detail: str = ""
    conflict: bool = False
    unreachable: bool = False


def _done(res: CommandResult) -> Done:
    if res.ok:
        return Done(True, res.stdout.strip())
    return Done(False, res.stderr.strip() or str(res.error or f"exit {res.exit_code}"))


class Remote(Protocol):
    """Every operation the rollout engine and resume perform on hosts; nothing else touches a host."""

    @property
    def run_id(self) -> str: ...

    def map(self, hosts: Sequence[Host], fn: Callable[[Host], T]) -> dict[str, T]:
        """fn on every host, in parallel (bounded); keys in the order of `hosts`."""
        ...

    def lock(self, host: Host) -> str | None:
        """Take the host's run lock: None when taken, else the holder's run id (or the error)."""
        ...

    def unlock(self, host: Host) -> None:
        """Release the lock if this run holds it."""
        ...

    def stage(self, host: Host, release: ReleasePin, local_tarball: bytes | None,
              sums_check: sums.SumsCheck | None = None) -> tuple[bool, str]:
        """Unpack the release beside the running one (verified against the pin and, where published,
        the release's sums file: `sums_check` when the control machine fetched it, else the host
        fetches it); (ok, what happened or why not)."""
        ...

    def backup(self, host: Host, paths: Sequence[str]) -> tuple[dict[str, bool], str | None] | str:
        """Copy each file to <file>.bak-<run id>: (which existed, the bin link) or the error."""
        ...

    def write_files(self, host: Host, files: Sequence[tuple[str, bytes, str | None]]) -> Written:
        """Atomic writes in the order given (owner, group, mode kept), each (path, new bytes, the sha256
        the file must still have: compare-and-swap, checked on the host with the rename; None: none).
        A conflict writes nothing; a retry after a lost connection is safe (new bytes count as done)."""
        ...

    def drop_backups(self, host: Host, paths: Sequence[str]) -> None:
        """Remove this run's backups of `paths` (a host left untouched: a later backup must be fresh)."""
        ...

    def prune_backups(self, host: Host, paths: Sequence[str], keep: int) -> list[str]:
        """Keep each file's `keep` newest `<file>.bak-<run id>` (run ids sort by time); the removed ones."""
        ...

    def switch_link(self, host: Host, version: str) -> Done:
        """Point bin_dir at the release; detail is the new link target."""
        ...

    def backup_ledger(self, host: Host) -> Done:
        """With the node stopped: copy <db>/ledger to <db>/ledger.bak-<run id> (owner and modes kept; a
        copy already there from this run is kept). detail: its size in KiB, or "absent" (no ledger)."""
        ...

    def restore_ledger(self, host: Host) -> Done:
        """With the node stopped: <db>/ledger as this run's backup holds it (the backup is kept: a
        repeated restore, e.g. on --resume, is the same restore)."""
        ...

    def convert_ledger(self, host: Host, version: str) -> Done:
        """With the node stopped and the ledger kept: convert the kept Legacy snapshot with the staged
        `version`'s snapshot-converter into <db>/ledger (actions/convert_snapshot.py); detail: the
        script's `converted <slot> <seconds>`, or why not."""
        ...

    def prune_ledger_backups(self, host: Host) -> list[str]:
        """Remove the ledger backups of earlier runs (this run's is kept until the next successful run:
        a ledger is gigabytes, so one is kept); the removed ones."""
        ...

    def restore(self, host: Host, existed: Mapping[str, bool], link: str | None) -> Done:
        """Put back each backed-up file (remove those that did not exist) and the bin link."""
        ...

    def service(self, host: Host, verb: str) -> Done:
        """systemctl VERB the node's unit (restart, reload, stop, start)."""
        ...

    def hook(self, hook: Hook) -> Done:
        """Run an operator's drain or return command on hook.on, killed after hook.timeout seconds."""
        ...


class SshRemote:
    """Remote over SSH: each operation one command on the host's one connection (ssh/transport.Fleet)."""

    def __init__(self, fleet: Fleet, run_id: str) -> None:
        self.fleet = fleet
        self.run_id = run_id

    def sh(self, host: Host, script: str, timeout: float | None = 600) -> CommandResult:
        return self.fleet.run(host, script, sudo=host.user != "root", timeout=timeout)

    def map(self, hosts: Sequence[Host], fn: Callable[[Host], T]) -> dict[str, T]:
        return self.fleet.map(hosts, fn)

    def write_files(self, host: Host, files: Sequence[tuple[str, bytes, str | None]]) -> Written:
        puts = self.fleet.put_atomic_many(host, [(path, content, None) for path, content, _ in files],
                                          expect=[base for _p, _c, base in files])  # fmt: skip
        conflicts = [p for p in puts if p.conflict]
        if conflicts:
            return Written(False, "; ".join(p.error or p.path for p in conflicts), conflict=True)
        failed = next((p for p in puts if not p.ok), None)
        if failed is None:
            return Written(True)
        return Written(False, f"write {failed.path}: {failed.error}", unreachable=not failed.connected)

    def drop_backups(self, host: Host, paths: Sequence[str]) -> None:
        q = shlex.quote
        self.sh(host, "rm -f -- " + " ".join(q(f"{p}.bak-{self.run_id}") for p in paths), timeout=30)

    def prune_backups(self, host: Host, paths: Sequence[str], keep: int) -> list[str]:
        """Only names shaped like this tool's run ids (`<file>.bak-YYYYMMDDTHHMMSSZ-<hex>`) are candidates;
        a name that does not sort as a time (an operator's own `.bak-old`) is never removed."""
        q = shlex.quote
        lines = []
        for p in paths:
            mine = q(f"{p}.bak-{self.run_id}")  # this run's own backup is always kept (and counts)
            lines.append(f"for f in $({{ [ -e {mine} ] && echo {mine}; ls -1d -- {q(p)}.bak-[0-9]*T[0-9]*Z-* 2>/dev/null "
                         f"| grep -vxF {mine} | sort -r; }} | tail -n +{int(keep) + 1}); "
                         f"do rm -f -- \"$f\" && printf '%s\\n' \"$f\"; done")  # fmt: skip
        res = self.sh(host, "\n".join(lines) or "true", timeout=60)
        return [line for line in res.stdout.splitlines() if line.strip()] if res.ok else []

    # ---- the ledger (a crossing of a ledger-snapshot boundary: issue 26)
    def _ledger(self, host: Host) -> tuple[str, str]:
        db = host.layout.db_path.rstrip("/")
        return f"{db}/ledger", f"{db}/ledger.bak-{self.run_id}"

    def backup_ledger(self, host: Host) -> Done:
        q = shlex.quote
        ledger, backup = self._ledger(host)
        tmp = f"{backup}.part"
        # The plan checked the headroom from facts read before the run; the ledger may have grown and
        # the disk filled since (other hosts' hours, a replay's snapshots), so the copy re-checks it
        # here: a copy that fills the node's disk would fail the very start it exists to undo. The rule
        # is the plan's (cardano/crossing.py DiskHeadroom: the ledger's size free, a reflink copy
        # counted in full).
        script = "\n".join([
            "set -eu",
            f"if [ ! -d {q(ledger)} ]; then echo absent; exit 0; fi",
            f"if [ ! -d {q(backup)} ]; then rm -rf -- {q(tmp)}",
            f"  need=$(du -sk -- {q(ledger)} | cut -f1)",
            f"  free=$(df -Pk -- {q(ledger)} | awk 'NR==2 {{print $4}}')",
            '  if [ "$free" -lt "$need" ]; then',
            f"    echo \"not enough disk for the ledger backup: {ledger} is $need KiB, $free KiB free on its "
            "filesystem; nothing was copied\" >&2; exit 1",
            "  fi",
            f"  cp -a --reflink=auto -- {q(ledger)} {q(tmp)}; mv -T -- {q(tmp)} {q(backup)}",
            "fi",
            f"du -sk -- {q(backup)} | cut -f1",
        ])  # fmt: skip
        return _done(self.sh(host, script, timeout=3600))

    def restore_ledger(self, host: Host) -> Done:
        q = shlex.quote
        ledger, backup = self._ledger(host)
        script = "\n".join([
            "set -eu",
            f"[ -d {q(backup)} ] || {{ echo 'no ledger backup of this run' >&2; exit 1; }}",
            f"rm -rf -- {q(ledger)}; cp -a --reflink=auto -- {q(backup)} {q(ledger)}; echo restored",
        ])  # fmt: skip
        return _done(self.sh(host, script, timeout=3600))

    def convert_ledger(self, host: Host, version: str) -> Done:
        script = convert_snapshot.convert_script(lookup(version), releases_dir=host.layout.releases_dir,
                                                 db_path=host.layout.db_path, config=host.layout.config_path,
                                                 run_id=self.run_id)  # fmt: skip
        return _done(self.sh(host, script, timeout=6 * 3600))

    def prune_ledger_backups(self, host: Host) -> list[str]:
        q = shlex.quote
        _ledger, mine = self._ledger(host)
        db = host.layout.db_path.rstrip("/")
        res = self.sh(host, f"for f in {q(db)}/ledger.bak-[0-9]*T[0-9]*Z-*; do [ -d \"$f\" ] || continue; "
                            f"[ \"$f\" = {q(mine)} ] && continue; rm -rf -- \"$f\" && printf '%s\\n' \"$f\"; done",
                      timeout=600)  # fmt: skip
        return [line for line in res.stdout.splitlines() if line.strip()] if res.ok else []

    # ---- locks
    def lock(self, host: Host) -> str | None:
        """None when taken; otherwise the holder's run id (or the error)."""
        q = shlex.quote
        script = (
            f"mkdir -p {q(LOCK_DIR.rsplit('/', 1)[0])} || exit 1; "
            f"if mkdir {q(LOCK_DIR)} 2>/dev/null; then echo {q(self.run_id)} > {q(LOCK_DIR)}/run_id; echo TAKEN; "
            f"else cat {q(LOCK_DIR)}/run_id 2>/dev/null || echo unknown; fi"
        )
        res = self.sh(host, script, timeout=30)
        if not res.ok:
            return f"error: {res.error or res.stderr.strip()}"
        holder: str = res.stdout.strip()
        return None if holder in ("TAKEN", self.run_id) else holder

    def unlock(self, host: Host) -> None:
        q = shlex.quote
        self.sh(host, f"[ \"$(cat {q(LOCK_DIR)}/run_id 2>/dev/null)\" = {q(self.run_id)} ] && rm -rf {q(LOCK_DIR)}; true",
                timeout=30)  # fmt: skip

    # ---- release staging
    def _download(self, url: str, dest: str) -> str:
        """Shell that downloads `url` to `dest` ("-": stdout) with curl, wget or python3."""
        q = shlex.quote
        py_dest = "sys.stdout.buffer" if dest == "-" else "open(sys.argv[2], \"wb\")"
        return (
            f"if command -v curl >/dev/null; then curl -fsSL --retry 2 -o {q(dest)} {q(url)}; "
            f"elif command -v wget >/dev/null; then wget -q -O {q(dest)} {q(url)}; "
            f"else python3 -c 'import sys,urllib.request,shutil; "
            f"shutil.copyfileobj(urllib.request.urlopen(sys.argv[1], timeout=60), {py_dest})' "
            f"{q(url)} {q(dest)}; fi"
        )

    def sums_check(self, host: Host, release: ReleasePin) -> sums.SumsCheck:
        """The release's published sums file, fetched by the host from beside the tarball's url
        (as the tarball is): what it says the tarball must hash to, or why it is not known."""
        name = sums.published_name(release.version)
        if name is None:
            return sums.expected_for(release.version, release.filename, None)
        staged = shlex.quote(f"{host.layout.releases_dir}/{release.version}/.complete")
        # an already-staged release is not staged again: nothing to fetch
        res = self.sh(host, f"[ -e {staged} ] && exit 0; " + self._download(sums.sums_url(release.url, name), "-"),
                      timeout=120)  # fmt: skip
        if not res.ok:
            why = (res.stderr.strip() or res.error or f"exit {res.exit_code}").splitlines()[-1]
            return sums.expected_for(release.version, release.filename, None, f"not fetched ({why})")
        return sums.expected_for(release.version, release.filename, res.stdout)

    def stage(self, host: Host, release: ReleasePin, local_tarball: bytes | None,
              sums_check: sums.SumsCheck | None = None) -> tuple[bool, str]:
        q = shlex.quote
        check_sums = sums_check if sums_check is not None else self.sums_check(host, release)
        rel_dir = f"{host.layout.releases_dir}/{release.version}"
        tmp = f"{host.layout.releases_dir}/.stage-{self.run_id}"
        tarball = f"{tmp}/{release.filename}"
        if local_tarball is not None:
            mk = self.sh(host, f"mkdir -p {q(tmp)}", timeout=30)
            if not mk.ok:
                return False, mk.stderr.strip() or str(mk.error)
            put = self.fleet.put_atomic(host, tarball, local_tarball, mode=0o600)
            if not put.ok:
                self.sh(host, f"rm -rf {q(tmp)}", timeout=30)
                return False, f"upload failed: {put.error}"
            fetch = ":"
        else:
            fetch = self._download(release.url, tarball)
        digest = ":" if release.sha256 is None and check_sums.expected is None else \
            f"got=$(sha256sum {q(tarball)} | cut -d' ' -f1)"  # fmt: skip
        check = ":" if release.sha256 is None else (
            f"[ \"$got\" = {q(release.sha256)} ] || {{ printf 'sha256 mismatch for %s: got %s, pinned %s\\n' "
            f"{q(release.filename)} \"$got\" {q(release.sha256)} >&2; exit 3; }}"
        )  # fmt: skip
        published = ":" if check_sums.expected is None else (  # the same words as sums.mismatch
            f"[ \"$got\" = {q(check_sums.expected)} ] || {{ printf 'sha256 mismatch for %s: it has %s, %s says %s\\n' "
            f"{q(release.filename)} \"$got\" {q(check_sums.name or '')} {q(check_sums.expected)} >&2; exit 3; }}"
        )  # fmt: skip
        script = "\n".join([
            "set -eu",
            f"if [ -e {q(rel_dir)}/.complete ]; then echo ALREADY; exit 0; fi",
            f"mkdir -p {q(tmp)}",
            f"trap {q('rm -rf ' + q(tmp))} EXIT",  # quoted twice: the trap's text is parsed again at exit
            fetch,
            digest,
            check,
            published,
            f"mkdir {q(tmp)}/x",
            f"tar -xzf {q(tarball)} -C {q(tmp)}/x",
            " || ".join(f"test -x {q(_under(f'{tmp}/x', sub))}/cardano-node" for sub in BINARY_SUBDIRS),
            _record_sums(f"{tmp}/x", tarball, release.filename, check_sums.note),
            f"touch {q(tmp)}/x/.complete",
            f"rm -rf {q(rel_dir)}",
            f"mv -T {q(tmp)}/x {q(rel_dir)}",
            "echo STAGED",
        ])  # fmt: skip
        res = self.sh(host, script, timeout=900)
        if not res.ok:
            return False, (res.stderr.strip() or res.error or "staging failed").splitlines()[-1]
        out = res.stdout.strip()
        # an already-staged release keeps the record of the run that staged it
        return True, out if out == "ALREADY" else f"{out}; {sums.RECORD_PREFIX[2:]}{check_sums.note}"

    # ---- backups and writes
    def backup(self, host: Host, paths: Sequence[str]) -> tuple[dict[str, bool], str | None] | str:
        """Copy each file to <file>.bak-<run id> (owner/mode kept); return which existed and the bin link."""
        q = shlex.quote
        lines = ["set -eu"]
        for p in paths:
            b = f"{p}.bak-{self.run_id}"
            # printf, quoted: a path is data, never shell (echo would also expand backslashes)
            lines.append(f"if [ -e {q(p)} ]; then [ -e {q(b)} ] || cp -p {q(p)} {q(b)}; printf 'E %s\\n' {q(p)}; "
                         f"else printf 'N %s\\n' {q(p)}; fi")  # fmt: skip
        lines.append(f"printf 'L %s\\n' \"$(readlink {q(host.layout.bin_dir)} || true)\"")
        res = self.sh(host, "\n".join(lines), timeout=60)
        if not res.ok:
            return res.stderr.strip() or str(res.error)
        existed: dict[str, bool] = {}
        link: str | None = None
        for line in res.stdout.splitlines():
            kind, _, rest = line.partition(" ")
            if kind in ("E", "N"):
                existed[rest] = kind == "E"
            elif kind == "L":
                link = rest or None
        return existed, link

    def switch_link(self, host: Host, version: str) -> Done:
        """Point bin_dir at the release's binaries (where cardano/releases.py BINARY_SUBDIRS says a
        tarball keeps them: 8.9.0 under bin/, 8.7.3 at the top level); prints the target."""
        q = shlex.quote
        link = host.layout.bin_dir
        tmp = f"{link}.new-{self.run_id}"
        release = f"{host.layout.releases_dir}/{version}"
        return _done(self.sh(
            host,
            f"set -e; t={q(_under(release, BINARY_SUBDIRS[-1]))}; "
            f"for d in {' '.join(q(_under(release, sub)) for sub in BINARY_SUBDIRS)}; do "
            "if [ -x \"$d/cardano-node\" ]; then t=$d; break; fi; done; "
            f"ln -sfn \"$t\" {q(tmp)}; mv -T {q(tmp)} {q(link)}; printf '%s\\n' \"$t\"",
            timeout=30,
        ))  # fmt: skip

    def restore(self, host: Host, existed: Mapping[str, bool], link: str | None) -> Done:
        q = shlex.quote
        lines = ["set -eu"]
        for p, was in existed.items():
            b = f"{p}.bak-{self.run_id}"
            if was:  # a file still byte-identical needs no copy (and a full disk would refuse one)
                lines.append(f"cmp -s {q(b)} {q(p)} || {{ cp -p {q(b)} {q(p)}.rb-{self.run_id} && "
                             f"mv -f {q(p)}.rb-{self.run_id} {q(p)}; }}")  # fmt: skip
            else:
                lines.append(f"rm -f {q(p)}")
        if link:
            tmp = f"{host.layout.bin_dir}.rb-{self.run_id}"
            lines.append(f"ln -sfn {q(link)} {q(tmp)} && mv -T {q(tmp)} {q(host.layout.bin_dir)}")
        return _done(self.sh(host, "\n".join(lines), timeout=60))

    def service(self, host: Host, verb: str) -> Done:
        return _done(self.sh(host, f"systemctl {verb} {shlex.quote(host.layout.service_name)}", timeout=300))

    def hook(self, hook: Hook) -> Done:
        """`sh -c COMMAND` under coreutils' `timeout` on the host, so that a hung command is killed there
        (TERM, then KILL 5 s later), not only abandoned by this side; exit 124 is the timeout."""
        q = shlex.quote
        script = f"timeout -k 5 {hook.timeout:g} sh -c {q(hook.command)}"
        res = self.sh(hook.on, script, timeout=hook.timeout + 15)
        if res.exit_code in (124, 137):
            return Done(False, f"{hook} timed out after {hook.timeout:g}s")
        done = _done(res)
        if done.ok:
            return done
        return Done(False, f"{hook} failed (exit {res.exit_code}): {done.detail.splitlines()[-1] if done.detail else ''}")
