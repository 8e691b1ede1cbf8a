"""`cardano-fleet audit`: the compliance check for scheduled runs (cron, systemd timer, CI).

Read-only: one facts probe per host, then the pure checks of orchestrator.audit.checks. Exit codes:
0 compliant; 1 findings at or above the policy's `fail_on` severity (default error); 2 a host was
unreachable or could not be probed, or the inventory/policy/arguments are unusable (the audit is
incomplete or did not run). 2 wins over 1. See docs/audit.md.
"""

from __future__ import annotations

import argparse
import sys

from orchestrator.commands._exit import error, warning
from orchestrator.commands._fleet_args import add_extra_vars_argument, vault_secrets

HELP = (
    "compliance audit: pinned version, P2P, role wiring, sync, drift, hygiene; "
    "exit 0 compliant, 1 findings, 2 unreachable or errors"
)
FORMATS = ("table", "json", "junit", "prometheus", "markdown")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--inventory", metavar="INV",
                        help="inventory file or directory (required unless --list-rules)")
    parser.add_argument("--policy", metavar="FILE", help="policy YAML: pinned values, disabled rules, severities")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report to FILE atomically (temp file + fsync + rename) instead of stdout")
    parser.add_argument("-l", "--limit", metavar="PATTERN", help="only these hosts/groups (Ansible --limit syntax)")
    parser.add_argument("-f", "--forks", type=int, default=20, metavar="N", help="hosts probed at once (default 20)")
    parser.add_argument("--accept-new-host-keys", action="store_true",
                        help="trust and record host keys not yet in known_hosts (a changed key is still refused)")
    add_extra_vars_argument(parser)
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="per-host probe timeout (default 60)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also passing checks, and drift diffs")
    parser.add_argument("--list-rules", action="store_true", help="list the rules (id, severity, description) and exit")


def _fail(message: str) -> int:
    error(str(message))
    return 2


def run(args: argparse.Namespace) -> int:
    import time

    from orchestrator.audit.checks import RULES
    from orchestrator.audit.policy import Policy, PolicyError, load_policy
    from orchestrator.audit.run import audit
    from orchestrator.load.inventory import SourceError, load_selection

    if args.list_rules:
        for rule in RULES:
            print(f"{rule.id:26} {rule.severity.value:8} {rule.applies_to.value:15} {rule.description}")
        return 0
    if not args.inventory:
        return _fail("-i/--inventory is required")
    if args.forks < 1:
        return _fail("--forks must be at least 1")
    try:
        policy = load_policy(args.policy) if args.policy else Policy()
    except PolicyError as e:
        return _fail(f"policy: {e}")
    for note in policy.warnings:
        warning(note)
    try:
        inventory, hosts = load_selection(args.inventory, args.extra_vars, args.limit, vault_secrets(args))
    except SourceError as e:
        return _fail(str(e))

    from orchestrator.facts.probe import gather_facts
    from orchestrator.ssh.transport import Fleet

    with Fleet(inventory.hosts, forks=args.forks, accept_new_host_keys=args.accept_new_host_keys) as fleet:
        facts = gather_facts(fleet, hosts, timeout=args.timeout)
    report = audit(inventory, facts, policy, time.time(), hosts)

    text: str | None = None
    if args.format == "json":
        from orchestrator.report import audit_json

        text = audit_json.render(report)
    elif args.format == "junit":
        from orchestrator.report import audit_junit

        text = audit_junit.render(report)
    elif args.format == "prometheus":
        from orchestrator.report import audit_prometheus

        text = audit_prometheus.render(report)
    elif args.format == "markdown":
        from orchestrator.report import audit_markdown

        text = audit_markdown.render(report, verbose=args.verbose)
    else:
        from rich.console import Console

        from orchestrator.report.audit_table import print_audit

        if args.output:
            import io

            console = Console(record=True, width=140, file=io.StringIO())
            print_audit(console, report, verbose=args.verbose)
            text = console.export_text()
        else:
            from orchestrator.report.terminal import make_console

            print_audit(make_console(), report, verbose=args.verbose)

    if text is not None:
        from orchestrator.load.secrets import redact

        text = redact(text)  # a report never shows a vault-decrypted value
        if args.output:
            from orchestrator.report.atomic_file import write_atomic

            try:
                write_atomic(args.output, text)
            except OSError as e:
                return _fail(f"cannot write {args.output}: {e.strerror or e}")
        else:
            sys.stdout.write(text)
    return report.exit_code
