"""`audit --format junit`: one <testsuite> per host, one <testcase> per host × rule.

A failed rule has a <failure> (type = severity); a rule not evaluated because the host could not
be probed has <skipped>; an unreachable host's `host-reachable` case has an <error>. CI systems
(GitLab, Jenkins, GitHub test reporters) show these as ordinary test results.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from orchestrator.audit.findings import REACHABLE, AuditReport

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def render(report: AuditReport) -> str:
    stamp = datetime.fromtimestamp(report.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    findings = report.findings
    title = "cardano-fleet audit" if report.for_release is None else f"cardano-fleet readiness for {report.for_release}"
    root = ET.Element("testsuites", {
        "name": title,
        "tests": str(len(findings)),
        "failures": str(sum(1 for f in findings if f.failed and f.rule != REACHABLE)),
        "errors": str(sum(1 for f in findings if f.failed and f.rule == REACHABLE)),
        "skipped": str(sum(1 for f in findings if f.skipped)),
        "timestamp": stamp,
    })  # fmt: skip
    if report.error is not None:  # the audit did not run: one erroring case says why (CI fails visibly)
        root.set("tests", "1")
        root.set("errors", "1")
        suite = ET.SubElement(root, "testsuite", {"name": "cardano-fleet audit", "tests": "1", "failures": "0",
                                                  "errors": "1", "skipped": "0", "timestamp": stamp})  # fmt: skip
        case = ET.SubElement(suite, "testcase", {"classname": "cardano-fleet.audit", "name": "audit-run", "time": "0"})
        element = ET.SubElement(case, "error", {"message": _clean(report.reason), "type": "exit-2"})
        element.text = _clean(report.error)
    for h in report.hosts:
        suite = ET.SubElement(root, "testsuite", {
            "name": _clean(h.host),
            "tests": str(len(h.findings)),
            "failures": str(sum(1 for f in h.findings if f.failed and f.rule != REACHABLE)),
            "errors": str(sum(1 for f in h.findings if f.failed and f.rule == REACHABLE)),
            "skipped": str(sum(1 for f in h.findings if f.skipped)),
            "timestamp": stamp,
            "hostname": _clean(h.host),
        })  # fmt: skip
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", {"name": "role", "value": h.role})
        ET.SubElement(props, "property", {"name": "inventory", "value": _clean(report.source)})
        if report.for_release is not None:
            ET.SubElement(props, "property", {"name": "for_release", "value": _clean(report.for_release)})
            ET.SubElement(props, "property", {"name": "ready", "value": str(report.host_ready(h)).lower()})
        for f in h.findings:
            case = ET.SubElement(suite, "testcase", {
                "classname": _clean(f"cardano-fleet.audit.{h.host}"), "name": f.rule, "time": "0",
            })  # fmt: skip
            if f.skipped:
                ET.SubElement(case, "skipped", {"message": _clean(f.message)})
            elif not f.passed:
                tag = "error" if f.rule == REACHABLE else "failure"
                element = ET.SubElement(case, tag, {"message": _clean(f.message), "type": f.severity.value})
                element.text = _clean(f.detail or f.message)
            else:
                out = ET.SubElement(case, "system-out")
                out.text = _clean(f.message)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
