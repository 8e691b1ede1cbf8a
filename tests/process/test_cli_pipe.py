"""A closed pipe, as only a real process meets it (`cardano-fleet audit --list-rules | head`): the
reader is gone before we write, and the interpreter's exit flushes stdout into EPIPE. No traceback,
and the documented exit code (issue 29 item 6; the other output rules are tests/unit/test_cli_output.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.commands import _exit

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv", [["audit", "--list-rules"], ["playbooks"], ["--help"], ["plan", "--help"]])
def test_a_closed_pipe_ends_quietly(argv: list[str]) -> None:
    """`cardano-fleet audit --list-rules | head`: the reader is gone before we write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "orchestrator", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, cwd=ROOT, timeout=60)
    finally:
        os.close(write_end)
    assert b"Traceback" not in proc.stderr and b"BrokenPipe" not in proc.stderr, proc.stderr.decode()
    # argparse's --help swallows the write error itself and exits 0; everything else documents 141
    assert proc.returncode == (0 if "--help" in argv else _exit.BROKEN_PIPE)
