"""How a run ends, and how a signal stops it: SIGINT, SIGTERM and SIGHUP are one thing — an interrupt.

An operator's Ctrl-C, systemd's or cron's SIGTERM and a closed terminal's SIGHUP all ask the run to
stop; none of them may be journaled as "completed" (issue 28). The first such signal raises
`RunInterrupted` in the main thread and sets the `StopFlag` the engine's workers check between steps
and in every sleep, so that no new step starts on any host; each step already on the wire finishes
and is journaled, then the run is journaled `run_ended` with outcome `interrupted` and the signal. A
host caught before its new release started is rolled back at once (roll/host_run.py HostRun.run); the
hosts it left mid-way are finished or rolled back by `run --resume`. A SIGKILL cannot be caught: its
journal has no run end, and the resume that follows journals that the run was killed.

Exit status: 128 + the signal's number, as a shell reports a process a signal ended (SIGHUP 129,
SIGINT 130, SIGTERM 143).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from types import FrameType

# The signals that stop a run cleanly (a SIGKILL cannot be caught).
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class RunEnd(StrEnum):
    """`run_ended`'s `outcome`: what the run was, whatever its `reason` says in words."""

    COMPLETED = "completed"  # every host in scope upgraded or needed nothing
    FAILED = "failed"  # the run ended by its own rules (a failure, a pause, a refusal), every host at an end
    INTERRUPTED = "interrupted"  # a signal stopped it: hosts may be mid-way; `run --resume` finishes them
    ABORTED = "aborted"  # an error of the tool itself stopped it: hosts may be mid-way; resume as interrupted
    NOTHING_TO_DO = "nothing to do"
    NOT_CONFIRMED = "not confirmed"


# The ends after which hosts may be mid-way: the run is unfinished and `run --resume` takes it up.
RESUMABLE = frozenset({RunEnd.INTERRUPTED, RunEnd.ABORTED})


def exit_status(signal_name: str) -> int:
    """128 + the signal number (SIGINT 130, SIGTERM 143, SIGHUP 129)."""
    return 128 + int(getattr(signal, signal_name, signal.SIGINT))


class RunInterrupted(KeyboardInterrupt):
    """A stop signal arrived; `signal_name` says which (a plain KeyboardInterrupt is SIGINT)."""

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


def signal_name_of(exc: BaseException) -> str:
    return exc.signal_name if isinstance(exc, RunInterrupted) else "SIGINT"


class StopFlag:
    """Set once by the first stop signal (or by the engine on an interrupt); read by worker threads."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None

    def set(self, signal_name: str) -> None:
        if self.signal_name is None:
            self.signal_name = signal_name
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds`, or less when a stop is asked for meanwhile (True: it was)."""
        return self._event.wait(seconds)

    def check(self) -> None:
        """Raise RunInterrupted when a stop was asked for: called between steps and in every sleep."""
        if self._event.is_set():
            raise RunInterrupted(self.signal_name or "SIGINT")


@contextmanager
def stop_on_signals(flag: StopFlag, first_raises: bool = True) -> Iterator[StopFlag]:
    """SIGINT, SIGTERM and SIGHUP set `flag` and raise RunInterrupted in the main thread — once: a
    second signal while the run journals its end only sets the flag again (SIGKILL still ends it).
    `first_raises` False (the forging handover, commands/handover.py): the first signal only sets the
    flag (the handover recovers, then ends) and a second one raises.
    Outside the main thread (tests driving a run from a thread) nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        first = not flag.is_set()
        flag.set(signal.Signals(signum).name)
        if first is first_raises:
            raise RunInterrupted(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
