"""Exit codes of every command (one table: `--help`, README and docs are checked against it) and the
one error prefix every command prints its errors with.

The codes follow two conventions operators already script against: terraform's detailed exit code for
`plan`/`run --check` (0 nothing to do, 1 error, 2 changes pending) and a monitoring check's for
`audit`/`facts` (2: a host could not be seen, so the result is incomplete). A usage error exits with the
command's own "error" code, never argparse's 2, which would read as "changes pending" after `plan`.
"""

from __future__ import annotations

import sys
from typing import Final

from orchestrator.roll.interrupt import exit_status

PREFIX: Final = "cardano-fleet: error: "
WARNING: Final = "cardano-fleet: warning: "
INTERRUPTED: Final = 130  # 128 + SIGINT, as a shell reports a Ctrl-C'd process
BROKEN_PIPE: Final = exit_status("SIGPIPE")  # 141, as a shell reports `yes | head`'s `yes` (report/terminal.py)

_OK_ERROR = ((0, "done"), (1, "error: bad input, arguments or file (the message names it)"))

# command -> ((code, meaning), ...); the code of a usage error is USAGE_ERROR[command]
EXIT_CODES: Final[dict[str, tuple[tuple[int, str], ...]]] = {
    "lab": ((0, "done"), (1, "error (no lab there, a host that does not answer, bad arguments)"),
            (-1, "`lab exec`: the remote command's own exit code")),
    "inventory": ((0, "the inventory is valid"), _OK_ERROR[1]),
    "topology": ((0, "converted"), _OK_ERROR[1]),
    "config": ((0, "migrated"), _OK_ERROR[1]),
    "validate": ((0, "cardano-node would start with these files"),
                 (1, "it would not (the node's own error is printed), or the files or version are unusable")),
    "playbooks": ((0, "listed"), (1, "a bundled playbook or role cannot be read")),
    "plan": ((0, "nothing to do"), (1, "error: bad input, or a host that cannot be planned"),
             (2, "changes pending")),
    "run": ((0, "every host in scope upgraded or needed nothing"),
            (1, "a host failed, was rolled back, refused or deferred; bad input; not confirmed"),
            (2, "`--check` only: changes pending (as `plan`)"),
            (129, "interrupted by SIGHUP (the run id and the resume command are printed)"),
            (143, "interrupted by SIGTERM (the run id and the resume command are printed)")),
    "handover": ((0, "handed over: the standby forges, the old producer is the idle standby"),
                 (1, "stopped or refused (the summary says which host forges); bad input; not confirmed"),
                 (129, "SIGHUP: the handover recovered first (the summary says which host forges)"),
                 (143, "SIGTERM: the handover recovered first (the summary says which host forges)")),
    "return": ((0, "every named host's return hook ran"),
               (1, "bad input, a host not in sync (without --force), or a return hook failed")),
    "facts": ((0, "every host answered"), (1, "bad input or arguments"),
              (2, "a host was unreachable or its probe failed")),
    "audit": ((0, "compliant"), (1, "findings at or above the policy's fail_on"),
              (2, "incomplete or not run: a host unreachable, or unusable inventory, policy or arguments")),
}
USAGE_ERROR: Final[dict[str, int]] = {name: 2 if name == "audit" else 1 for name in EXIT_CODES}
COMMON: Final = ((INTERRUPTED, "interrupted (Ctrl-C)"),
                 (BROKEN_PIPE, "the reader of the output went away (piped to head, say); nothing more is printed"))


def epilog(command: str | None) -> str:
    """The `--help` text listing a command's exit codes (all commands' when None)."""
    if command is None:
        lines = ["exit codes (each COMMAND --help lists its own): 0 done; 1 error (audit: findings); 2 changes",
                 "pending (plan, run --check) or a host could not be seen (facts, audit); audit's usage errors: 2"]
    else:
        lines = ["exit codes:"]
        lines += [f"  {'*' if code < 0 else code:>3}  {meaning}" for code, meaning in EXIT_CODES[command]]
    lines += [f"  {code:>3}  {meaning}" for code, meaning in COMMON]
    return "\n".join(lines)


def error(message: str) -> None:
    """Print one error line (or block) with the prefix every command uses, on stderr."""
    print(_redacted(PREFIX + message), file=sys.stderr)


def warning(message: str) -> None:
    """A warning line on stderr (a deprecated name read, say): the run goes on."""
    print(_redacted(WARNING + message), file=sys.stderr)


def _redacted(line: str) -> str:
    """A message may quote what a host answered or an exception's text, which can hold a vault-decrypted
    value (an address): it is masked here, as on every console (orchestrator.load.secrets)."""
    from orchestrator.load.secrets import redact

    return redact(line)
