"""One clock for slot arithmetic: the host's, read in the same probe as its tip, against the control
machine's.

Why: the expected slot is the wall-clock slot, and a host whose clock is off by minutes would make
every lag wrong by that many slots (mainnet: one slot per second, Shelley genesis `slotLength` 1) —
a gate that never passes, or one that passes a node that is behind. The host's clock is the one
its node lives by, so slot lags are measured against it while it agrees with the control machine's
within `max_skew`; beyond that bound the host is not trusted at all: `plan`/`run` refuse it with the
numbers, and the audit falls back to the control machine's clock and reports the skew.
"""

from __future__ import annotations

from dataclasses import dataclass

# Above this, a host's clock is refused (run) or not used (audit): NTP keeps hosts within
# milliseconds, and the node itself warns once its clock is a slot or more off its peers'.
MAX_CLOCK_SKEW_SECONDS = 30


@dataclass(frozen=True)
class ClockReading:
    """The host's clock (unix seconds, whole: `date +%s`) and the control machine's at the same moment
    (the middle of the probe's round trip, so the round trip itself is not counted as skew)."""

    host: float
    control: float

    @property
    def skew(self) -> float:
        """Seconds the host's clock is ahead of the control machine's (negative: behind). `date +%s`
        truncates, so |skew| < 1 s is noise."""
        return self.host - self.control


def reference_time(host_time: float | None, now: float, max_skew: float) -> tuple[float, str]:
    """The clock a slot lag is measured against, and a note saying which: the host's own clock
    (`host_time`, read in the same probe as the tip) unless it is unknown or more than `max_skew`
    seconds off the control machine's `now`; then `now`."""
    if host_time is None:
        return now, "control machine's clock"
    skew = host_time - now
    if abs(skew) > max_skew:
        return now, f"control machine's clock (host clock off by {skew:+.0f} s)"
    return float(host_time), "host's clock"


def skew_refusal(skew: float, max_skew: float) -> str | None:
    """Why a host is refused for its clock, with the numbers; None within the bound."""
    if abs(skew) <= max_skew:
        return None
    way = "ahead of" if skew > 0 else "behind"
    return (f"host clock is {abs(skew):.0f} s {way} the control machine's (max_clock_skew_seconds {max_skew:g}): "
            f"every slot lag would be off by ~{abs(skew):.0f} slots; fix its time sync (chrony, "
            "systemd-timesyncd) and plan again")  # fmt: skip
