"""A run's audit trail: who ran what, from where, with which inputs, and each host's steps with times.

report.json carries it (report/run_json.py) so that a compliance reviewer can answer, from the report
alone: when did it start and end (UTC, ISO 8601), who ran it on which control machine with which
version of the tool, from which inventory and playbook (paths and sha256 of their bytes, so a later
edit shows), with which `-e` values (a vault-decrypted value or a value under a secret-looking key
is masked), and what each host went through, step by step. The steps come from the run's journal,
so a run interrupted and resumed is ONE history: the steps of every attempt, each resumed step marked.
"""

from __future__ import annotations

import getpass
import hashlib
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import __version__
from orchestrator.load.secrets import MASK, redact_data
from orchestrator.model import HostStatus, Phase
from orchestrator.roll.events import Event, RunEnded, was_resumed
from orchestrator.roll.journal import OBSERVATIONS, utc_iso

# A `-e` key whose value is masked in the report whatever it holds (the journal never has -e values).
SECRET_KEY = re.compile(r"pass(word|phrase)?|secret|token|api_?key|private|credential", re.IGNORECASE)


def file_sha256(path: Path) -> str | None:
    """sha256 of a file's bytes; for a directory (an inventory directory), of its sorted
    `sha256  relative/path` lines (sha256sum's format) over every file under it; None: not readable."""
    try:
        if path.is_dir():
            lines = []
            for f in sorted(p for p in path.rglob("*") if p.is_file()):
                lines.append(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.relative_to(path)}\n")
            return hashlib.sha256("".join(lines).encode()).hexdigest()
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def redacted_extra_vars(extra: Mapping[str, Any]) -> dict[str, Any]:
    """`-e` as given, each vault-decrypted value and each value under a secret-looking key masked."""
    return {k: MASK if SECRET_KEY.search(k) else redact_data(v) for k, v in extra.items()}


@dataclass(frozen=True)
class RunTrail:
    """What the run was asked to do, by whom, from where: fixed when the run (or its resume) starts."""

    started_at: float
    user: str
    control_host: str
    tool_version: str
    inventory: Path
    playbook: Path
    extra_vars: dict[str, Any] = field(default_factory=dict)
    limit: str | None = None

    @classmethod
    def now(cls, inventory: Path, playbook: Path, extra_vars: Mapping[str, Any], limit: str | None,
            wall: Callable[[], float] = time.time) -> RunTrail:  # fmt: skip
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry for the uid (a container)
            user = "unknown"
        return cls(wall(), user, socket.gethostname(), __version__, inventory, playbook,
                   redacted_extra_vars(extra_vars), limit)  # fmt: skip

    def as_json(self, events: list[Event], ended_at: float) -> dict[str, Any]:
        """The report's `trail`: the first attempt's start (the journal's first event) to `ended_at`."""
        first = min((e.at for e in events), default=self.started_at)
        attempts = sum(1 for e in events if e.host == "*" and e.phase is Phase.RUN_STARTED)
        return {
            "started_at": utc_iso(min(first, self.started_at)),
            "ended_at": utc_iso(ended_at),
            "attempts": max(attempts, 1),
            "user": self.user,
            "control_host": self.control_host,
            "tool_version": self.tool_version,
            "inventory": {"path": str(self.inventory.resolve()), "sha256": file_sha256(self.inventory)},
            "playbook": {"path": str(self.playbook.resolve()), "sha256": file_sha256(self.playbook)},
            "extra_vars": self.extra_vars,
            "limit": self.limit,
        }


def host_steps(events: list[Event]) -> dict[str, list[dict[str, Any]]]:
    """Per host, every step the run's journal holds, in order: {phase, at (UTC ISO 8601), resumed?};
    a pool's handover steps and its ending too, on the original producer (with the step's name, or
    the ending and the host that forges), though a resume never reads them as the host's own steps."""
    steps: dict[str, list[dict[str, Any]]] = {}
    shown = {Phase.BACKUPS_PRUNED, Phase.HANDOVER_STEP, Phase.HANDOVER_ENDED}
    for e in events:
        if e.host == "*" or e.phase in OBSERVATIONS - shown:
            continue
        step: dict[str, Any] = {"phase": e.phase.value, "at": utc_iso(e.at)}
        if e.phase is Phase.HANDOVER_STEP:
            step["step"] = e.data.get("step")
        elif e.phase is Phase.HANDOVER_ENDED:
            step.update(ending=e.data.get("ending"), forger=e.data.get("forger"))
        if was_resumed(e):
            step["resumed"] = True
        steps.setdefault(e.host, []).append(step)
    return steps


@dataclass(frozen=True)
class EarlierUpgrade:
    """A host upgraded before this attempt's rollout: when (UTC ISO 8601), by which attempt (1-based)
    and how that attempt ended in the journal's words (`interrupted`, `aborted`, `failed`, or `unknown`
    when the journal holds no end for it, e.g. a SIGKILL) — or, `by_resume`, finished by the resume
    that opened this attempt (`attempt_end` then says how the attempt before it ended)."""

    at: str
    attempt: int
    attempt_end: str
    by_resume: bool = False

    def detail(self) -> str:
        if self.by_resume:
            return (f"upgraded by this run: finished by `run --resume` (attempt {self.attempt}) at {self.at}, "
                    f"after attempt {self.attempt - 1} ended {self.attempt_end}")  # fmt: skip
        how = {"interrupted": "before it was interrupted", "aborted": "before the tool stopped on an error",
               "failed": "in an attempt that then stopped on a failure",
               "unknown": "in an attempt whose end the journal does not record"}  # fmt: skip
        said = how.get(self.attempt_end, f"in an attempt that ended {self.attempt_end}")
        return f"upgraded by this run's attempt {self.attempt} at {self.at} ({said}); as wanted on resume"


def done_earlier(events: list[Event]) -> dict[str, EarlierUpgrade]:
    """Hosts upgraded before this attempt's rollout (a `done` before the last `run_started`): by an
    earlier attempt, or by the resume that opened this one (a `done` after a `run_resumed`). A resumed
    run plans them as needing nothing; the report says what the run did to them instead — which
    attempt and how it ended, not an assumed interrupt (operator trials)."""
    starts = [i for i, e in enumerate(events) if e.host == "*" and e.phase is Phase.RUN_STARTED]
    last_start = starts[-1] if starts else -1
    done: dict[str, EarlierUpgrade] = {}
    marker: Event | None = None  # the newest run_started / run_resumed seen
    for i, e in enumerate(events[: max(last_start, 0)]):
        if e.host == "*" and e.phase in (Phase.RUN_STARTED, Phase.RUN_RESUMED):
            marker = e
        elif e.host != "*" and e.phase is Phase.DONE:
            attempt = sum(1 for s in starts if s < i) or 1
            if marker is not None and marker.phase is Phase.RUN_RESUMED:
                previous = str(marker.data.get("previous_end") or "unknown")
                done[e.host] = EarlierUpgrade(utc_iso(e.at), attempt + 1, previous, by_resume=True)
            else:
                done[e.host] = EarlierUpgrade(utc_iso(e.at), attempt, _attempt_end(events, i, last_start))
    return done


def _attempt_end(events: list[Event], index: int, until: int) -> str:
    """The outcome of the first `run_ended` after `index` and before the next attempt (its resume or
    its rollout) begins."""
    for e in events[index:until]:
        if e.host == "*" and e.phase in (Phase.RUN_STARTED, Phase.RUN_RESUMED):
            break
        if e.host == "*" and e.phase is Phase.RUN_ENDED:
            outcome = RunEnded.of(e).outcome
            return outcome.value if outcome is not None else "unknown"
    return "unknown"


def as_one_history(outcomes: Mapping[str, Any], events: list[Event]) -> None:
    """A host this run upgraded in an earlier attempt, planned "unchanged" after the resume, is reported
    upgraded (when, by which attempt, and that the resume found it as wanted) — never as "unchanged"
    (issue 28)."""
    for name, earlier in done_earlier(events).items():
        out = outcomes.get(name)
        if out is not None and out.status is HostStatus.UNCHANGED:
            out.status = HostStatus.UPGRADED
            out.detail = earlier.detail()
