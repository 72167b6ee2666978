#!/usr/bin/env python3
"""The roofline's int8 peak loops hold, in their machine code, the multiplies they count.

kernels/peak.cpp credits each loop with macs_per_iter multiply-adds per iteration. A compiler that merges two
identical products (it did: the AVX2 loop once ran 2 vpmaddubsw per iteration while 8 were counted, a ceiling 4x
too high) or hoists them out of the loop makes that figure a lie that the sums cannot catch. This disassembles
each peak object file, finds the loop of each peak function (the backward branch whose body holds the multiplies)
and checks that the count of multiply instructions in it is a whole multiple of what one iteration claims.

Usage: check_peak_asm.py OBJDUMP OBJECT... (the object files of tb_kernels; only peak_*.o are read)
"""
import re
import subprocess
import sys

# Per path: the function, the multiply instruction, and how many of them one counted iteration holds
# (macs_per_iter / MACs per instruction): AVX2 8 x 32 / 32 (vpmaddubsw: 32 byte products, summed in pairs),
# AVX-512 VNNI 12 x 64 / 64 (vpdpbusd), NEON 8 x 16 / 8 (smlal and smlal2, 8 products each).
LOOPS = {
    "peak_avx2": ("int8_peak_avx2", re.compile(r"\bvpmaddubsw\b"), 8),
    "peak_avx512vnni": ("int8_peak_avx512vnni", re.compile(r"\bvpdpbusd\b"), 12),
    "peak_neon": ("int8_peak_neon", re.compile(r"\bsmlal2?\b"), 16),
}
BRANCH = re.compile(r"^\s*([0-9a-f]+):\s+(j[a-z]+|b\.[a-z]+|b|cbn?z|tbn?z)\s+.*?([0-9a-f]+) <")
LINE = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")


def functions(objdump, path):
    out = subprocess.run([objdump, "-d", "-C", "--no-show-raw-insn", path], check=True, capture_output=True, text=True).stdout
    funcs, name = {}, None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            name = m.group(1)
            funcs[name] = []
        elif name and LINE.match(line):
            funcs[name].append(line)
    return funcs


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    if sys.argv[1] == "--instrumented":
        # Exit code 77: ctest reports a skip (SKIP_RETURN_CODE), with this line as its reason.
        print("skipped: an instrumented build (ASan/UBSan) adds checks and branches to every loop; the peak loops' "
              "machine code is checked in the optimized native and AArch64 builds")
        return 77
    objdump = sys.argv[1]
    objects = [p for a in sys.argv[2:] for p in a.split(";") if p]  # CMake passes $<TARGET_OBJECTS> as one list
    checked = 0
    for path in objects:
        key = next((k for k in LOOPS if path.endswith("/" + k + ".cpp.o") or path.endswith("/" + k + ".cpp.obj")), None)
        if not key:
            continue
        fname, mul, per_iter = LOOPS[key]
        funcs = {n: body for n, body in functions(objdump, path).items() if fname in n}
        if not funcs:
            print(f"FAIL {path}: no function {fname} in the disassembly")
            return 1
        body = next(iter(funcs.values()))
        addr = [int(LINE.match(l).group(1), 16) for l in body]
        best = None  # the innermost backward branch whose body holds multiplies
        for i, l in enumerate(body):
            m = BRANCH.match(l)
            if not m:
                continue
            src, dst = int(m.group(1), 16), int(m.group(3), 16)
            if dst >= src:
                continue
            n = sum(1 for a, x in zip(addr, body) if dst <= a <= src and mul.search(x))
            if n and (best is None or src - dst < best[0]):
                best = (src - dst, n)
        if best is None:
            print(f"FAIL {fname}: no loop holds a multiply ({mul.pattern}): hoisted out of the loop?")
            return 1
        n = best[1]
        if n % per_iter:
            print(f"FAIL {fname}: its loop holds {n} multiplies ({mul.pattern}), not a multiple of the {per_iter} "
                  "one iteration is credited with: the roofline ceiling would be wrong")
            return 1
        print(f"ok {fname}: {n} multiplies in its loop ({n // per_iter} iteration(s) of {per_iter})")
        checked += 1
    if not checked:
        print("FAIL: no peak object file among the arguments (a check that checks nothing)")
        return 1
    print(f"{checked} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
