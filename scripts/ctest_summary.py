#!/usr/bin/env python3
"""The closing lines of scripts/test.sh, from the logs ctest keeps (BUILD/Testing/Temporary/LastTest.log):
every test that skipped, with the reason it printed, then ONE last line naming the ISA paths whose kernel tests
passed and the tests that skipped, per stage.

  scripts/ctest_summary.py native=build/Testing/Temporary/LastTest.log aarch64=build-aarch64/...

A path "ran" when a test whose name carries its kernel suffix (i2s__avx2, ...) passed. Skips: GoogleTest's
GTEST_SKIP (ctest reports them as Skipped; the reason is the message printed after "Skipped") and unittest
skips inside a Python test (one ctest test that passed; the reason is in its verbose output)."""
import re
import sys

ISAS = ("scalar", "neon", "avx2", "avx512vnni")  # kernel name suffixes (tb::isa_name)
SHOWN = 12  # skipped names on the last line per stage; the lines above list all of them


def parse(path):
    """(passed test names, [(skipped test, reason)]) of one LastTest.log."""
    with open(path, errors="replace") as f:
        text = f.read()
    passed, skipped = [], []
    # One block per test: "N/M Testing: NAME" ... "Output:" ... "<end of output>" ... its result.
    for block in re.split(r"^\d+/\d+ Testing: ", text, flags=re.M)[1:]:
        name = block.split("\n", 1)[0].split("  # GetParam()")[0].strip()  # value-parameterized: name only
        out = block.split("<end of output>", 1)
        output, tail = (out[0], out[1]) if len(out) == 2 else (block, "")
        if re.search(r"^Skip (regular expression|return code) found", tail, re.M):
            m = re.search(r": Skipped\n(.*?)\n\[  SKIPPED \]", output, re.S)
            if not m:  # a script's skip (SKIP_RETURN_CODE): its last line of output is the reason
                lines = [l.strip() for l in output.splitlines() if l.strip() and not l.startswith("Output:")
                         and not set(l.strip()) <= set("-")]
                reason = lines[-1] if lines else "(no reason printed)"
            else:
                reason = " ".join(m.group(1).split())
            skipped.append((name, reason))
            continue
        if "Test Passed." not in tail and "Test Pass Reason:" not in tail:
            continue  # failed or not run: ctest's own summary says so, and the script has stopped already
        # A script's skip by SKIP_RETURN_CODE is logged as "Test Passed."; such scripts print "skipped: <why>".
        said = [l.strip() for l in output.splitlines() if l.strip().startswith("skipped: ")]
        if said:
            skipped.append((name, said[-1][len("skipped: "):]))
            continue
        passed.append(name)
        # unittest (verbosity 2): "test_x (__main__.Class.test_x)", maybe a docstring line, "... skipped 'why'"
        current = None
        for line in output.splitlines():
            m = re.match(r"^(test\w*) \((?:__main__\.)?([\w.]+)\)", line)
            if m:
                current = m.group(2) if "." in m.group(2) else m.group(2) + "." + m.group(1)
            s = re.search(r"\.\.\. skipped '(.*)'$", line)
            if s:
                skipped.append((f"{name}: {current or '?'}", s.group(1)))
    return passed, skipped


def isas_of(names):
    found = set()
    for n in names:
        for m in re.finditer(r"__(" + "|".join(ISAS) + r")(?![a-z0-9])", n):
            found.add(m.group(1))
    return [i for i in ISAS if i in found]


def main(args):
    stages = []
    for a in args:
        label, _, path = a.partition("=")
        passed, skipped = parse(path)
        stages.append((label, isas_of(passed), skipped))
    for label, _, skipped in stages:
        for name, why in skipped:
            print(f"skipped ({label}): {name}: {why}")
    paths = "; ".join(f"{label} {' '.join(isas) or '(no kernel tests)'}" for label, isas, _ in stages)
    parts = []
    for label, _, skipped in stages:
        if skipped:
            names = [n for n, _ in skipped]
            more = f", and {len(names) - SHOWN} more above" if len(names) > SHOWN else ""
            parts.append(f"{label} {len(names)} ({', '.join(names[:SHOWN])}{more})")
    print(f"== paths run: {paths}; skipped: {', '.join(parts) if parts else 'none'}")


if __name__ == "__main__":
    main(sys.argv[1:])
