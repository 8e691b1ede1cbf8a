"""The release's published sums file (`cardano-node-<v>-sha256sums.txt`), checked at staging
(orchestrator/cardano/releases/sums.py, roll/remote.py, roll/engine.py).

The format is the release workflow's: `sha256sum cardano-node-* >> "$sha256sums_filename"`
(IntersectMBO/cardano-node .github/workflows/release-upload.yaml, step "Checksums"): the tests make
their sums files with the real `sha256sum`, never by hand.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cardano.layouts import IOG
from orchestrator.cardano.releases import sums
from orchestrator.cardano.releases.sums import SumsFileError, SumsOutcome
from orchestrator.model import Host, ReleasePin, Role
from orchestrator.roll.engine import fetch_sums
from orchestrator.roll.remote import SUMS_RECORD, SshRemote
from orchestrator.ssh.exec import CommandResult

V = "10.6.4"
TARBALL = f"cardano-node-{V}-linux-amd64.tar.gz"
SUMS = f"cardano-node-{V}-sha256sums.txt"


def _assets(where: Path) -> dict[str, bytes]:
    """A release's assets as the workflow leaves them: a linux tarball (bin/cardano-node, bin/cardano-cli)
    and a macOS one, then the sums file `sha256sum cardano-node-*` writes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("cardano-node", "cardano-cli"):
            body = b"#!/bin/sh\necho " + name.encode() + os.urandom(16).hex().encode() + b"\n"
            info = tarfile.TarInfo(f"bin/{name}")
            info.size, info.mode = len(body), 0o755
            tar.addfile(info, io.BytesIO(body))
    where.mkdir(parents=True, exist_ok=True)
    (where / TARBALL).write_bytes(buf.getvalue())
    (where / f"cardano-node-{V}-macos.tar.gz").write_bytes(os.urandom(512))
    out = subprocess.run(f"cd {where} && sha256sum cardano-node-* >> {SUMS}", shell=True, check=True)
    assert out.returncode == 0
    return {p.name: p.read_bytes() for p in where.iterdir()}


# ---- the sums file


def test_the_real_format_parses_to_each_assets_digest(tmp_path: Path) -> None:
    assets = _assets(tmp_path)
    text = assets[SUMS].decode()
    assert text.splitlines()[0].split("  ")[0].isalnum()  # `<hex>␠␠<name>`, as sha256sum writes it
    got = sums.parse(text)
    assert got == {n: hashlib.sha256(b).hexdigest() for n, b in assets.items() if n != SUMS}


def test_binary_mode_lines_and_blank_lines_are_read() -> None:
    assert sums.parse(f"{'A' * 64} *{TARBALL}\n\n") == {TARBALL: "a" * 64}


@pytest.mark.parametrize(("text", "why"), [
    (f"{'a' * 64}  {TARBALL}\nnot a line\n", "line 2 is not `<sha256>  <file>`"),
    (f"{'a' * 63}  {TARBALL}\n", "line 1 is not"),
    (f"{'a' * 64} {TARBALL}\n", "line 1 is not"),  # one space and no `*`: not sha256sum output
    (f"{'a' * 64}  {TARBALL}\n{'b' * 64}  {TARBALL}\n", f"line 2 lists {TARBALL} a second time"),
])  # fmt: skip
def test_a_malformed_sums_file_is_refused_naming_the_line(text: str, why: str) -> None:
    with pytest.raises(SumsFileError, match=why.replace("(", r"\(").replace("*", r"\*")):
        sums.parse(text)


def test_what_the_sums_file_says_before_the_tarball_is_hashed(tmp_path: Path) -> None:
    text = _assets(tmp_path)[SUMS].decode()
    want = hashlib.sha256((tmp_path / TARBALL).read_bytes()).hexdigest()
    ok = sums.expected_for(V, TARBALL, text)
    assert (ok.outcome, ok.expected, ok.note) == (SumsOutcome.MATCHES, want, f"matches {SUMS}")
    missing = sums.expected_for(V, "cardano-node-10.6.4-linux-arm64.tar.gz", text)
    assert missing.outcome is SumsOutcome.NOT_VERIFIED and missing.expected is None
    assert missing.note == f"not verified against {SUMS}: it has no line for cardano-node-10.6.4-linux-arm64.tar.gz"
    bad = sums.expected_for(V, TARBALL, text + "garbage\n")
    assert bad.outcome is SumsOutcome.NOT_VERIFIED and "line 3 is not" in bad.note
    gone = sums.expected_for(V, TARBALL, None, "not fetched (curl: (22) 404)")
    assert gone.note == f"not verified against {SUMS}: not fetched (curl: (22) 404)"
    none = sums.expected_for("8.9.0", "cardano-node-8.9.0-linux.tar.gz", None)
    assert (none.outcome, none.name) == (SumsOutcome.NONE, None) and "8.9.0 publishes none" in none.note
    unknown = sums.expected_for("12.0.0", "cardano-node-12.0.0-linux-amd64.tar.gz", None)
    assert unknown.outcome is SumsOutcome.NOT_VERIFIED and "not in the release catalogue" in unknown.note


def test_a_tarball_that_is_not_the_one_the_sums_file_lists_is_a_mismatch_naming_both_digests() -> None:
    check = sums.expected_for(V, TARBALL, f"{'a' * 64}  {TARBALL}\n")
    assert sums.against(check, TARBALL, "a" * 64) is check
    bad = sums.against(check, TARBALL, "B" * 64)
    assert bad.outcome is SumsOutcome.MISMATCH
    assert bad.why == f"sha256 mismatch for {TARBALL}: it has {'b' * 64}, {SUMS} says {'a' * 64}"
    assert sums.sums_url(f"https://github.com/IntersectMBO/cardano-node/releases/download/{V}/{TARBALL}", SUMS) \
        == f"https://github.com/IntersectMBO/cardano-node/releases/download/{V}/{SUMS}"  # fmt: skip


# ---- staging: the host's own shell, run by a local sh with file:// urls (curl reads them; no network)


class LocalSh:
    def run(self, host: Any, script: str, **_kw: Any) -> CommandResult:
        done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False, timeout=120)
        return CommandResult("local", done.returncode == 0, done.returncode, done.stdout, done.stderr, 0.0)


def _stage(tmp_path: Path, pinned: bool = True) -> tuple[bool, str, Path]:
    served = tmp_path / "served"
    assets = _assets(served) if not served.exists() else {p.name: p.read_bytes() for p in served.iterdir()}
    digest = hashlib.sha256(assets[TARBALL]).hexdigest()
    pin = ReleasePin(V, f"file://{served}/{TARBALL}", digest if pinned else None)
    host = Host("relay1", Role.RELAY, "198.18.0.11", IOG)
    releases = tmp_path / "releases"
    releases.mkdir(exist_ok=True)
    host = replace(host, layout=replace(host.layout, releases_dir=str(releases)))
    ok, detail = SshRemote(LocalSh(), "20990101T000000Z-sums00").stage(host, pin, None)  # type: ignore[arg-type]
    return ok, detail, releases


def test_staging_records_that_the_tarball_matches_the_published_sums_file(tmp_path: Path) -> None:
    ok, detail, releases = _stage(tmp_path)
    assert ok and detail == f"STAGED; sha256sums: matches {SUMS}"
    record = (releases / V / SUMS_RECORD).read_text().splitlines()
    assert record[0].endswith(f"  {TARBALL}") and record[-1] == f"# sha256sums: matches {SUMS}"


@pytest.mark.parametrize("pinned", [True, False])
def test_a_sums_file_that_disagrees_refuses_to_stage_naming_both_digests(tmp_path: Path, pinned: bool) -> None:
    """The pin and the tarball agree, the published sums file does not: nothing is unpacked. Unpinned
    (--allow-unpinned-release), the sums file is the only check, and it refuses the same way."""
    served = tmp_path / "served"
    _assets(served)
    real = hashlib.sha256((served / TARBALL).read_bytes()).hexdigest()
    (served / SUMS).write_text(f"{'0' * 64}  {TARBALL}\n")
    ok, detail, releases = _stage(tmp_path, pinned=pinned)
    assert not ok and detail == f"sha256 mismatch for {TARBALL}: it has {real}, {SUMS} says {'0' * 64}"
    assert list(releases.iterdir()) == []  # neither the release nor the staging directory is left


def test_an_absent_sums_file_stages_on_the_pin_and_says_it_was_not_verified(tmp_path: Path) -> None:
    served = tmp_path / "served"
    _assets(served)
    (served / SUMS).unlink()
    ok, detail, releases = _stage(tmp_path)
    assert ok and f"sha256sums: not verified against {SUMS}: not fetched (" in detail
    last = (releases / V / SUMS_RECORD).read_text().splitlines()[-1]
    assert last.startswith(f"# sha256sums: not verified against {SUMS}: not fetched (")


# ---- source: push: the control machine fetches the sums file beside the tarball


def test_push_checks_the_downloaded_tarball_against_the_sums_file(tmp_path: Path) -> None:
    assets = _assets(tmp_path)
    pin = ReleasePin(V, f"https://example.invalid/{V}/{TARBALL}", None, "push")
    asked: list[str] = []

    def opener(text: bytes | None) -> Any:
        def open_(url: str) -> Any:
            asked.append(url)
            if text is None:
                raise OSError("HTTP Error 404: Not Found")
            return io.BytesIO(text)
        return open_

    assert fetch_sums(pin, assets[TARBALL], opener(assets[SUMS])).note == f"matches {SUMS}"
    assert asked == [f"https://example.invalid/{V}/{SUMS}"]
    wrong = fetch_sums(pin, assets[TARBALL], opener(f"{'0' * 64}  {TARBALL}\n".encode()))
    assert wrong.outcome is SumsOutcome.MISMATCH and "0" * 64 in wrong.why
    assert hashlib.sha256(assets[TARBALL]).hexdigest() in wrong.why
    gone = fetch_sums(pin, assets[TARBALL], opener(None))
    assert gone.note == f"not verified against {SUMS}: not fetched (HTTP Error 404: Not Found)"


# ---- the lab's release server publishes the sums file as a release does


def test_the_labs_sums_file_is_what_sha256sum_checks(tmp_path: Path) -> None:
    """write_sums (lab/releases.py) beside a tarball: the real `sha256sum -c` accepts it, as an
    operator would check the real one (boundaries doc §c); a release of 8.9.x gets none."""
    from orchestrator.lab.releases import write_sums

    (tmp_path / TARBALL).write_bytes(os.urandom(1024))
    digest = hashlib.sha256((tmp_path / TARBALL).read_bytes()).hexdigest()
    path = write_sums(tmp_path, V, TARBALL, digest)
    assert path == tmp_path / SUMS
    checked = subprocess.run(["sha256sum", "-c", SUMS], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert checked.returncode == 0 and checked.stdout == f"{TARBALL}: OK\n"
    assert sums.expected_for(V, TARBALL, path.read_text()).expected == digest
    write_sums(tmp_path, V, TARBALL, "0" * 64)  # the lab's fault: a wrong sums file
    assert subprocess.run(["sha256sum", "--status", "-c", SUMS], cwd=tmp_path, check=False).returncode == 1
    assert write_sums(tmp_path, "8.9.0", "cardano-node-8.9.0-linux.tar.gz", digest) is None


def test_a_pushed_release_whose_sums_file_disagrees_is_never_uploaded(tmp_path: Path, monkeypatch: Any) -> None:
    """The engine with the fake fleet: source push, the sums file beside the url disagrees → the run
    stops before any host is asked to stage, and the journal says why with both digests."""
    import urllib.request

    from orchestrator.roll import engine
    from orchestrator.roll.journal import Journal
    from tests.unit.test_engine import world

    assets = _assets(tmp_path / "served")
    w = world(tmp_path, relays=1, producers=0)
    w.plan = replace(w.plan, release=ReleasePin(V, f"https://example.invalid/{V}/{TARBALL}", None, "push"))
    monkeypatch.setattr(engine, "fetch_release", lambda release: assets[TARBALL])
    monkeypatch.setattr(urllib.request, "urlopen", lambda url: io.BytesIO(f"{'0' * 64}  {TARBALL}\n".encode()))
    result = w.run()
    real = hashlib.sha256(assets[TARBALL]).hexdigest()
    assert result.stopped_reason == (f"release not pushed: sha256 mismatch for {TARBALL}: it has {real}, {SUMS} says "
                                     f"{'0' * 64}; nothing was changed on any host")  # fmt: skip
    assert not any(op == "stage" for op, _h in w.remote.log)
    assert any(e.phase == "stage_failed" and real in str(e.data) for e in Journal.read(w.journal.path))
