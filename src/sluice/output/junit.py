"""JUnit XML, the report format every CI system renders as a test list.

Generic: a suite of test cases, each passed, failed, errored or skipped, with a message
and a body. ``sluice check`` maps one check to one test case.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["pass", "fail", "error", "skip"]


@dataclass
class JUnitCase:
    name: str
    classname: str
    outcome: Outcome = "pass"
    #: One line: the ``message`` attribute of the failure/error/skipped element.
    message: str = ""
    #: Multi-line text of the failure/error element.
    body: str = ""
    seconds: float = 0.0
    #: Extra output shown with the case (notes).
    stdout: str = ""


@dataclass
class JUnitSuite:
    name: str
    cases: list[JUnitCase] = field(default_factory=list)


def render_junit(suites: list[JUnitSuite]) -> str:
    """The XML document for ``suites`` (UTF-8, with declaration)."""
    root = ET.Element("testsuites")
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for suite in suites:
        counts = {
            "tests": len(suite.cases),
            "failures": sum(c.outcome == "fail" for c in suite.cases),
            "errors": sum(c.outcome == "error" for c in suite.cases),
            "skipped": sum(c.outcome == "skip" for c in suite.cases),
        }
        seconds = sum(c.seconds for c in suite.cases)
        attrs = {"name": suite.name, "time": f"{seconds:.3f}"}
        attrs.update({k: str(v) for k, v in counts.items()})
        el = ET.SubElement(root, "testsuite", attrs)
        for case in suite.cases:
            c = ET.SubElement(el, "testcase", name=case.name, classname=case.classname,
                              time=f"{case.seconds:.3f}")
            if case.outcome == "fail":
                f = ET.SubElement(c, "failure", message=case.message, type="failure")
                f.text = case.body or case.message
            elif case.outcome == "error":
                f = ET.SubElement(c, "error", message=case.message, type="error")
                f.text = case.body or case.message
            elif case.outcome == "skip":
                ET.SubElement(c, "skipped", message=case.message)
            if case.stdout:
                ET.SubElement(c, "system-out").text = case.stdout
        for k in total:
            total[k] += counts[k]
        total_time += seconds
    for k, v in total.items():
        root.set(k, str(v))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
