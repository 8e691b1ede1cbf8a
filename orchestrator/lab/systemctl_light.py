"""The read side of the lab's `systemctl` and its `journalctl`, at the cost of a real host's tools
(issue 25, item 3): built-in modules only at import (no dataclasses, re, shlex, json, signal: each
costs milliseconds at every call), so `systemctl show`/`is-active`/`is-enabled` and `journalctl -u`
cost one bare interpreter start-up and the files they read.

It is one flat file with its sibling systemctl_standin.py (the full stand-in: start, stop, the
supervisor), both installed under /usr/local/lib/cardano-lab on a lab host. The launcher
(provision.SYSTEMCTL_LAUNCHER) runs `main` here and imports the full stand-in only for what this
hands back (None): the verbs that change state. The full stand-in takes its paths, state reading,
unit-file syntax, argument parsing and these verbs from here: one home for each.

Files (root = $LAB_SYSTEMD_ROOT, default "/"): units in `<root>/etc/systemd/system/`, state in
`<root>/run/lab-systemd/<unit>.json` (written by the full stand-in), output in
`<root>/var/log/lab-systemd/<unit>.log`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs ~3 ms at every call (mypy reads the name)
if TYPE_CHECKING:
    from typing import Any

EXIT_USAGE = 1
EXIT_NOT_ACTIVE = 3
EXIT_NO_UNIT = 4  # `status` of a unit that does not exist
SIGTERM = 15  # signal.SIGTERM on Linux (importing signal costs an enum import)
# The verbs answered here: they read files and change nothing.
READ_VERBS = ("is-active", "is-failed", "is-enabled", "show")
USAGE = (
    "usage: systemctl [--quiet] [--value] [-p PROP,...] [-s SIGNAL] COMMAND [UNIT...]\n"
    "commands: start stop restart try-restart reload reload-or-restart is-active is-failed is-enabled\n"
    "          enable [--now] disable [--now] status show kill reset-failed daemon-reload"
)
JOURNAL_USAGE = "usage: journalctl -u UNIT [-o cat] [-n LINES] [-a] [--no-pager] [-q]"


# ------------------------------------------------------------------ paths


def root() -> str:
    return os.environ.get("LAB_SYSTEMD_ROOT", "/") or "/"


def under(*parts: str) -> str:
    return os.path.join(root(), *parts)


def unit_dir() -> str:
    return under("etc", "systemd", "system")


def state_dir() -> str:
    return under("run", "lab-systemd")


def log_dir() -> str:
    return under("var", "log", "lab-systemd")


def unit_name(name: str) -> str:
    return name if "." in name else f"{name}.service"


def unit_path(unit: str) -> str:
    return os.path.join(unit_dir(), unit)


def wants_link(unit: str) -> str:
    return os.path.join(unit_dir(), "multi-user.target.wants", unit)


def log_path(unit: str) -> str:
    """/var/log/lab-systemd/<unit>.log, e.g. cnode.service.log."""
    return os.path.join(log_dir(), f"{unit}.log")


def state_file(unit: str) -> str:
    return os.path.join(state_dir(), f"{unit}.json")


# ------------------------------------------------------------------ unit files


def logical_lines(text: str) -> list[str]:
    """Join backslash-continued lines; drop comments."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def unit_entries(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of each `Key=value` line of a unit file, in order."""
    entries: list[tuple[str, str, str]] = []
    section = ""
    for line in logical_lines(text):
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if sep:
            entries.append((section, key.strip(), value.strip()))
    return entries


def unit_text(unit: str) -> str | None:
    """The unit file's text; None when it cannot be read (no such unit)."""
    try:
        with open(unit_path(unit), encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def parse_timespan(text: str) -> float:
    """systemd time spans: "60", "90s", "1min 30s", "500ms", "infinity"."""
    text = text.strip()
    if text == "infinity":
        return float("inf")
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "us": 1e-6, "": 1}
    total = 0.0
    i = 0
    while i < len(text):  # each "<number><spaces><letters>"; anything else is skipped
        if not (text[i].isdigit() or text[i] == "."):
            i += 1
            continue
        start = i
        while i < len(text) and (text[i].isdigit() or text[i] == "."):
            i += 1
        number = text[start:i]
        while i < len(text) and text[i].isspace():
            i += 1
        letters = i
        while i < len(text) and "a" <= text[i] <= "z":
            i += 1
        try:
            total += float(number) * units.get(text[letters:i], 1)
        except ValueError:
            continue  # "1.2.3": not a number
    return total


def parse_signal(text: str) -> int:
    name = text.strip().upper()
    if name.isdigit():
        return int(name)
    import signal  # only for a signal given by name

    if not name.startswith("SIG"):
        name = "SIG" + name
    return int(getattr(signal, name, signal.SIGTERM))


# ------------------------------------------------------------------ state


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS: dict[str, Any] = {"null": None, "true": True, "false": False}


def flat_json(text: str) -> dict[str, Any] | None:
    """A JSON object whose values are strings, integers, true, false or null — what write_state
    writes — read without the json module (importing it costs ~6 ms: it imports re, enum and more,
    at every `systemctl show`); None for anything else, which read_state gives to json itself."""
    out: dict[str, Any] = {}
    i, n = 0, len(text)

    def skip(i: int) -> int:
        while i < n and text[i] in " \t\r\n":
            i += 1
        return i

    def string(i: int) -> tuple[str, int] | None:  # text[i] is the opening quote
        chars: list[str] = []
        i += 1
        while i < n:
            ch = text[i]
            if ch == '"':
                return "".join(chars), i + 1
            if ch == "\\":
                code, hex4 = text[i + 1 : i + 2], text[i + 2 : i + 6]
                if code == "u" and len(hex4) == 4 and all(c in "0123456789abcdefABCDEF" for c in hex4):
                    unit = int(hex4, 16)
                    if 0xD800 <= unit < 0xE000:
                        return None  # a surrogate pair: json's business
                    chars.append(chr(unit))
                    i += 6
                    continue
                if code not in _ESCAPES:
                    return None
                chars.append(_ESCAPES[code])
                i += 2
                continue
            if ch < " ":
                return None
            chars.append(ch)
            i += 1
        return None

    i = skip(i)
    if text[i : i + 1] != "{":
        return None
    i = skip(i + 1)
    if text[i : i + 1] == "}":
        return out if skip(i + 1) == n else None
    while True:
        if text[i : i + 1] != '"' or (key := string(i)) is None:
            return None
        name, i = key
        i = skip(i)
        if text[i : i + 1] != ":":
            return None
        i = skip(i + 1)
        value: Any
        if text[i : i + 1] == '"':
            read = string(i)
            if read is None:
                return None
            value, i = read
        else:
            end = i
            while end < n and text[end] not in ",} \t\r\n":
                end += 1
            word = text[i:end]
            digits = word[1:] if word.startswith("-") else word
            if word in _LITERALS:
                value = _LITERALS[word]
            elif digits.isdigit() and digits.isascii() and (digits == "0" or not digits.startswith("0")):
                value = int(word)
            else:
                return None  # a float, an object, a list: json's business
            i = end
        out[name] = value
        i = skip(i)
        if text[i : i + 1] == ",":
            i = skip(i + 1)
            continue
        if text[i : i + 1] == "}":
            return out if skip(i + 1) == n else None
        return None


def read_state(unit: str) -> dict[str, Any]:
    try:
        with open(state_file(unit), encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return {}
    data = flat_json(text)
    if data is None:
        import json  # what flat_json does not read (never written by the stand-in)

        try:
            data = json.loads(text)
        except ValueError:
            return {}
    return data if isinstance(data, dict) else {}


def alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def supervisor_alive(state: dict[str, Any]) -> bool:
    pid = int(state.get("SupervisorPID") or 0)
    if not alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"__supervise" in handle.read()
    except OSError:
        return True


def current(unit: str) -> dict[str, Any]:
    """The unit's state, with a dead supervisor's leftovers turned into 'failed'."""
    state = read_state(unit)
    active = state.get("ActiveState", "inactive")
    if active in ("active", "activating", "deactivating") and not supervisor_alive(state):
        state.update(ActiveState="failed", SubState="failed", MainPID=0, Result="signal")
    return state


def is_enabled(unit: str) -> bool:
    return os.path.lexists(wants_link(unit))


# ------------------------------------------------------------------ properties


def properties(unit: str, wanted: list[str] | None = None) -> dict[str, str]:
    """`systemctl show` of a unit, as the full stand-in runs it (its unit-file settings read here).
    `wanted`: the properties that will be shown (default all); KillSignal is worked out only when
    it is one of them (a signal name needs the signal module, ~3 ms of imports)."""
    state = current(unit)
    text = unit_text(unit)
    loaded = text is not None
    description, timeout, kill, user = "", None, None, ""
    for section, key, value in unit_entries(text or ""):  # the last setting wins, as in parse_unit
        if section == "Unit" and key == "Description":
            description = value
        elif section == "Service" and key in ("TimeoutStopSec", "TimeoutSec"):
            timeout = value
        elif section == "Service" and key == "KillSignal":
            kill = value
        elif section == "Service" and key == "User":
            user = value
    seconds = 90.0 if timeout is None else parse_timespan(timeout)
    return {
        "Id": unit,
        "Description": description if loaded else "",
        "LoadState": "loaded" if loaded else "not-found",
        "ActiveState": str(state.get("ActiveState", "inactive")),
        "SubState": str(state.get("SubState", "dead")),
        "Result": str(state.get("Result", "success")),
        "MainPID": str(state.get("MainPID", 0)),
        "ExecMainPID": str(state.get("ExecMainPID", 0)),
        "ExecMainStartTimestamp": str(state.get("ExecMainStartTimestamp", "")),
        "ExecMainStatus": str(state.get("ExecMainStatus", 0)),
        "ExecMainCode": str(state.get("ExecMainCode", "")),
        "NRestarts": str(state.get("NRestarts", 0)),
        "UnitFileState": ("enabled" if is_enabled(unit) else "disabled") if loaded else "",
        "FragmentPath": unit_path(unit) if loaded else "",
        "KillSignal": str(SIGTERM if kill is None else parse_signal(kill)) if not wanted or "KillSignal" in wanted else "",
        "TimeoutStopUSec": "infinity" if not loaded or seconds == float("inf") else f"{seconds:g}s",
        "User": user,
    }


# ------------------------------------------------------------------ systemctl


def out(text: str, quiet: bool = False) -> None:
    if not quiet:
        print(text, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Args:
    """systemctl's options and words (one parse for both stand-ins)."""

    def __init__(self) -> None:
        self.quiet = False
        self.value_only = False
        self.now = False
        self.props: list[str] = []
        self.kill_signal = SIGTERM
        self.words: list[str] = []


def parse_args(argv: list[str]) -> Args | None:
    """The options and words of `systemctl ARGV`; None after printing the usage error (exit 1)."""
    args = Args()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-q", "--quiet"):
            args.quiet = True
        elif arg == "--value":
            args.value_only = True
        elif arg == "--now":
            args.now = True
        elif arg in ("--no-pager", "--no-block", "--system", "--full", "-l", "--no-ask-password"):
            pass
        elif arg in ("-p", "--property", "-s", "--signal", "-n", "--lines"):
            if i + 1 >= len(argv):
                err(f"systemctl: option '{arg}' requires an argument")
                return None
            if arg in ("-p", "--property"):
                args.props += [p for p in argv[i + 1].split(",") if p]
            elif arg in ("-s", "--signal"):
                args.kill_signal = parse_signal(argv[i + 1])
            i += 1
        elif arg.startswith("--property="):
            args.props += [p for p in arg.split("=", 1)[1].split(",") if p]
        elif arg.startswith("--signal="):
            args.kill_signal = parse_signal(arg.split("=", 1)[1])
        elif arg.startswith("-") and arg != "-":
            err(f"systemctl: unrecognized option '{arg}'")
            return None
        else:
            args.words.append(arg)
        i += 1
    if not args.words:
        err(USAGE)
        return None
    return args


def cmd_show(units: list[str], props_wanted: list[str], value_only: bool) -> int:
    for index, unit in enumerate(units):
        props = properties(unit, props_wanted)
        names = props_wanted or list(props)
        if index:
            print()
        for name in names:
            value = props.get(name, "")
            print(value if value_only else f"{name}={value}")
    return 0


def query(args: Args) -> int | None:
    """Answer a read verb (READ_VERBS); None for any other verb (the full stand-in's)."""
    command, units = args.words[0], [unit_name(u) for u in args.words[1:]]
    rc = 0
    if command in ("is-active", "is-failed"):
        for unit in units:
            active = str(current(unit).get("ActiveState", "inactive"))
            out(active, args.quiet)
            if (command == "is-active" and active != "active") or (command == "is-failed" and active != "failed"):
                rc = EXIT_NOT_ACTIVE if command == "is-active" else 1
        return rc
    if command == "is-enabled":
        if not units:
            err(f"Too few arguments.\n{USAGE}")
            return EXIT_USAGE
        for unit in units:
            if unit_text(unit) is None:
                err(f"Failed to get unit file state for {unit}: No such file or directory")
                rc = 1
                continue
            enabled = is_enabled(unit)
            out("enabled" if enabled else "disabled", args.quiet)
            rc = rc or (0 if enabled else 1)
        return rc
    if command == "show":
        return cmd_show(units, args.props, args.value_only)
    return None


# ------------------------------------------------------------------ journalctl


def format_bytes(size: int) -> str:
    """systemd's FORMAT_BYTES: `123B`, then one decimal and a binary prefix (`1.2K`, `3.4M`)."""
    if size < 1024:
        return f"{size}B"
    value = float(size)
    for prefix in "KMGTPE":
        value /= 1024
        if value < 1024 or prefix == "E":
            return f"{value:.1f}{prefix}"
    return f"{size}B"  # unreachable


def shown_message(line: str, show_all: bool) -> str:
    """What journalctl prints for a message: a message with characters that are not printable (the
    ESC of a coloured log line) is stored as binary and shown as `[N blob data]` unless `--all`/`-a`
    (journalctl(1), --all: "Show all fields in full, even if they include unprintable characters")."""
    if show_all or all(ch == "\t" or ch >= " " and ch != "\x7f" for ch in line):
        return line
    return f"[{format_bytes(len(line.encode('utf-8', errors='replace')))} blob data]"


def journal_main(argv: list[str]) -> int:
    """`journalctl -u UNIT [-n N] [-o cat]`: the unit's stdout and stderr, oldest first, as one
    journal keeps them across restarts. The lab keeps message text only, so every output mode
    prints what `-o cat` prints (no per-line metadata)."""
    units: list[str] = []
    lines: int | None = None
    show_all = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        short = arg[:2] in ("-u", "-n", "-o") and not arg.startswith("--")
        if name in ("-u", "--unit", "-n", "--lines", "-o", "--output") or short:
            name = arg[:2] if short else name
            if eq:
                value = inline
            elif short and len(arg) > 2:
                value = arg[2:]
            elif i + 1 < len(argv):
                value = argv[i + 1]
                i += 1
            else:
                err(f"journalctl: option '{arg}' requires an argument")
                return EXIT_USAGE
            if name in ("-u", "--unit"):
                units.append(unit_name(value))
            elif name in ("-n", "--lines"):
                if value == "all":
                    lines = None
                elif value.isdigit():
                    lines = int(value)
                else:
                    err(f"journalctl: failed to parse lines '{value}'")
                    return EXIT_USAGE
        elif arg in ("-a", "--all"):
            show_all = True
        elif arg in ("--no-pager", "-q", "--quiet", "--no-hostname", "-e", "--pager-end"):
            pass
        else:
            err(f"journalctl: unsupported option '{arg}' (lab stand-in)\n{JOURNAL_USAGE}")
            return EXIT_USAGE
        i += 1
    if not units:
        err(f"journalctl: the lab keeps per-unit journals only\n{JOURNAL_USAGE}")
        return EXIT_USAGE
    shown: list[str] = []
    for unit in units:
        try:
            with open(log_path(unit), encoding="utf-8", errors="replace") as handle:
                shown += handle.read().splitlines()
        except FileNotFoundError:
            continue
    if lines is not None:
        shown = shown[-lines:] if lines else []
    shown = [shown_message(line, show_all) for line in shown]
    if shown:
        sys.stdout.write("\n".join(shown) + "\n")
    else:
        out("-- No entries --")
    return 0


def main(argv: list[str]) -> int | None:
    """`journalctl ARGS` or `systemctl ARGS` by argv[0]'s name; None: a systemctl verb for the full
    stand-in (systemctl_standin.main)."""
    if os.path.basename(argv[0]) == "journalctl":
        return journal_main(argv[1:])
    if argv[1:2] == ["__supervise"]:
        return None
    args = parse_args(argv[1:])
    if args is None:
        return EXIT_USAGE
    return query(args)
