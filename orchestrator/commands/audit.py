"""`cardano-fleet audit`: the compliance check for scheduled runs (cron, systemd timer, CI).

Read-only: one facts probe per host, then the pure checks of orchestrator.audit.checks. Exit codes:
0 compliant; 1 findings at or above the policy's `fail_on` severity (default error); 2 a host was
unreachable or could not be probed, or the inventory/policy/arguments are unusable (the audit is
incomplete or did not run). 2 wins over 1. Machine outputs are written on every exit, with the exit
code and its reason. `--for-release V` makes it the hard-fork readiness report for release V (the
readiness rules of orchestrator/audit/readiness/ only), with the same exit codes: 0 every host
ready, 1 not ready, 2 incomplete or not run (an unknown or provisional V). See docs/audit.md.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from orchestrator.commands._exit import error, warning
from orchestrator.commands._fleet_args import add_extra_vars_argument, vault_secrets
from orchestrator.report.audit_formats import AUDIT_FORMATS, DEFAULT_FORMAT, format_help

if TYPE_CHECKING:
    from orchestrator.audit.findings import AuditReport

HELP = (
    "compliance audit: pinned version, P2P, role wiring, sync, drift, hygiene; "
    "exit 0 compliant, 1 findings, 2 unreachable or errors"
)
FORMATS = tuple(AUDIT_FORMATS)  # report/audit_formats.py: one renderer module per format


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--inventory", metavar="INV",
                        help="inventory file or directory (required unless --list-rules)")
    parser.add_argument("--policy", metavar="FILE", help="policy YAML: pinned values, disabled rules, severities")
    parser.add_argument("--format", choices=FORMATS, default=DEFAULT_FORMAT, help=format_help())
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report to FILE atomically (temp file + fsync + rename) instead of stdout")
    parser.add_argument("-l", "--limit", metavar="PATTERN", help="only these hosts/groups (Ansible --limit syntax)")
    parser.add_argument("--fleet", metavar="NAME",
                        help="the `fleet` label of every metric and report (default: the -i path as given), "
                             "to tell two audited inventories apart")
    parser.add_argument("-f", "--forks", type=int, default=20, metavar="N", help="hosts probed at once (default 20)")
    parser.add_argument("--accept-new-host-keys", action="store_true",
                        help="trust and record host keys not yet in known_hosts (a changed key is still refused)")
    add_extra_vars_argument(parser)
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="per-host probe timeout (default 60)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also passing checks, and drift diffs")
    parser.add_argument("--state-dir", default=".cardano-fleet",
                        help="run journals (as run's --state-dir): a host a run left drained fails in-rotation")  # fmt: skip
    parser.add_argument("--for-release", metavar="V",
                        help="hard-fork readiness report for catalogued release V instead of the compliance checks: "
                             "per host, the hard-fork floors, config/topology as V reads them, the installed tarball "
                             "against its pin, disk and RAM for V; "
                             "exit 0 every host ready, 1 not ready, 2 as usual (an unknown or provisional V: 2)")
    parser.add_argument("--list-rules", action="store_true", help="list the rules (id, severity, description) and exit")


def run(args: argparse.Namespace) -> int:
    """The audit; its machine outputs (-o FILE, or stdout for json/junit/prometheus/markdown) are written
    on every exit, 2 included, with the exit code and its reason in them (docs/audit.md)."""
    import time

    from orchestrator.audit.checks import RULES
    from orchestrator.audit.findings import AuditReport
    from orchestrator.audit.policy import Policy, PolicyError, load_policy
    from orchestrator.audit.run import audit
    from orchestrator.load.inventory import SourceError, load_selection

    if args.list_rules:
        for rule in RULES:
            print(f"{rule.id:26} {rule.severity.value:8} {rule.applies_to.value:15} {rule.description}")
        return 0
    started = time.monotonic()
    fleet_label = args.fleet or args.inventory or ""
    policy = Policy()

    def not_run(message: str) -> int:
        error(message)
        report = AuditReport(args.inventory or "", policy, time.time(), (), error=message,
                             duration=time.monotonic() - started, fleet=fleet_label,
                             for_release=args.for_release)  # fmt: skip
        _emit(args, report, table=False)
        return report.exit_code

    if not args.inventory:
        return not_run("-i/--inventory is required")
    if args.forks < 1:
        return not_run("--forks must be at least 1")
    if args.for_release is not None:
        from orchestrator.audit.readiness import ReleaseNotJudged, readiness_release

        try:
            readiness_release(args.for_release)
        except ReleaseNotJudged as e:
            return not_run(str(e))
    try:
        policy = load_policy(args.policy) if args.policy else Policy()
    except PolicyError as e:
        return not_run(f"policy: {e}")
    for note in policy.warnings:
        warning(note)
    try:
        inventory, hosts = load_selection(args.inventory, args.extra_vars, args.limit, vault_secrets(args))
    except SourceError as e:
        return not_run(str(e))

    from orchestrator.facts.probe import ALL_SECTIONS, gather_facts
    from orchestrator.ssh.transport import Fleet

    with Fleet(inventory.hosts, forks=args.forks, accept_new_host_keys=args.accept_new_host_keys) as fleet:
        facts = gather_facts(fleet, hosts, sections=ALL_SECTIONS, timeout=args.timeout)
    from pathlib import Path

    from orchestrator.roll.journal import out_of_rotation_in

    report = audit(inventory, facts, policy, time.time(), hosts, out_of_rotation_in(Path(args.state_dir)),
                   for_release=args.for_release)
    report = replace(report, duration=time.monotonic() - started, fleet=fleet_label)
    return _emit(args, report, table=True)


def _redacted(report: AuditReport) -> AuditReport:
    """The report with every vault-decrypted value masked in its strings, before any format escapes them:
    masking the rendered text instead misses a secret written as `&lt;`, `\\"` or `\\u00e9`, and puts
    the mask's `<` unescaped into JUnit XML."""
    from orchestrator.load.secrets import redact

    hosts = tuple(
        replace(h, host=redact(h.host), findings=tuple(
            replace(f, host=redact(f.host), message=redact(f.message), detail=redact(f.detail))
            for f in h.findings))
        for h in report.hosts
    )  # fmt: skip
    error = None if report.error is None else redact(report.error)
    return replace(report, hosts=hosts, error=error, source=redact(report.source), fleet=redact(report.fleet))


def _emit(args: argparse.Namespace, report: AuditReport, *, table: bool) -> int:
    """Render the report in --format and write it (-o FILE atomically, else stdout); the exit code.
    `table`: print the table when it is the format (an audit that did not run has said why on stderr)."""
    fmt = AUDIT_FORMATS[args.format]
    text: str | None = None
    report = _redacted(report)
    if args.output or fmt.terminal is None:
        text = fmt.render(report, verbose=args.verbose)
    elif table:
        from orchestrator.report.terminal import make_console

        fmt.print_terminal(make_console(), report, verbose=args.verbose)

    if text is not None:
        from orchestrator.load.secrets import redact

        text = redact(text)  # a report never shows a vault-decrypted value
        if args.output:
            from orchestrator.report.atomic_file import write_atomic

            try:
                write_atomic(args.output, text)
            except OSError as e:
                error(f"cannot write {args.output}: {e.strerror or e}")
                return 2
        else:
            sys.stdout.write(text)
    return report.exit_code
