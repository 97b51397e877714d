#!/usr/bin/env python3
"""JUnit reports against fixtures/junit/junit.xsd, plus what a schema cannot say: each
suite's counts match its test cases.

usage: junit_valid.py SCHEMA [--reject] FILE...   (--reject: the files that follow must fail)
An insta snapshot (.snap) is read past its header. Exit 1 on any unexpected result.
"""
import sys
import xml.etree.ElementTree as ET

import xmlschema


def text_of(path):
    text = open(path, encoding="utf-8").read()
    if path.endswith(".snap"):
        text = text.split("---\n", 2)[2]
    return text


def count_problems(root):
    """Suites whose tests/failures/errors/skipped differ from their cases; the root's totals."""
    problems = []
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        cases = suite.findall("testcase")
        seen = {
            "tests": len(cases),
            "failures": sum(c.find("failure") is not None for c in cases),
            "errors": sum(c.find("error") is not None for c in cases),
            "skipped": sum(c.find("skipped") is not None for c in cases),
        }
        for key, n in seen.items():
            totals[key] += n
            if int(suite.get(key, n)) != n:
                problems.append(f"suite {suite.get('name')}: {key}={suite.get(key)}, its cases say {n}")
    if root.tag == "testsuites":
        for key, n in totals.items():
            if int(root.get(key, n)) != n:
                problems.append(f"testsuites: {key}={root.get(key)}, its suites say {n}")
    return problems


def problems_of(schema, path):
    text = text_of(path)
    errors = [str(e.reason) for e in schema.iter_errors(text)]
    if not errors:
        errors = count_problems(ET.fromstring(text))
    return errors


def main(args):
    schema = xmlschema.XMLSchema(args[0])
    reject, failed = False, False
    for path in args[1:]:
        if path == "--reject":
            reject = True
            continue
        problems = problems_of(schema, path)
        if reject and not problems:
            print(f"{path}: accepted, but it is invalid (the validator proves nothing)")
            failed = True
        elif not reject and problems:
            print(f"{path}: invalid JUnit: " + "; ".join(problems))
            failed = True
        else:
            print(f"{path}: {'rejected as it should be' if reject else 'valid'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
