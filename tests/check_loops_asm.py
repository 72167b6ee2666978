#!/usr/bin/env python3
"""Loops whose speed or whose figures rest on what the compiler made of them are checked in their machine code.

1. The roofline's int8 peak loops hold the multiplies they count. kernels/peak.cpp credits each loop with
   macs_per_iter multiply-adds per iteration. A compiler that merges two identical products (it did: the AVX2 loop
   once ran 2 vpmaddubsw per iteration while 8 were counted, a ceiling 4x too high) or hoists them out of the loop
   makes that figure a lie that the sums cannot catch. The innermost loop holding the multiply must hold a whole
   multiple of what one iteration claims.
2. The runner's float operations are vectorized in every copy (model/float_ops.cpp). GCC 12 left the gated ReLU^2
   and the softmax's exp scalar, with a branch per element, on SSE2, AVX2 and NEON while AVX-512 was vectorized: a
   select on a float compare stayed control flow. Nothing but speed showed it (1.8 ms of a decode token). Each copy's
   relu2 must have a loop with its two products packed, and each attend a loop with the exp's 11 products packed
   (x / ln2, n ln2 in two parts, 7 polynomial steps, the scaling by 2^n: only the exp has that many in one loop).

Usage: check_loops_asm.py OBJDUMP OBJECT... (object files; only those named in CHECKS are read)
       check_loops_asm.py --instrumented ...  (a sanitizer build: skipped, exit 77)
"""
import re
import subprocess
import sys

PACKED_FMUL = re.compile(r"\bv?mulps\b|\bfmul\s+v\d+\.\d*s\b")  # x86 (v)mulps, AArch64 fmul on .4s/.2s vectors

# object file -> [(function name pattern, instruction, rule, n)], over innermost loops. Rules: "multiple": the
# shortest loop holding the instruction holds a whole multiple of n of them; "at_least": some loop holds n or more.
# Peak loops (macs_per_iter / MACs per instruction): AVX2 8 x 32 / 32 (vpmaddubsw: 32 byte products, summed in
# pairs), AVX-512 VNNI 12 x 64 / 64 (vpdpbusd), NEON 8 x 16 / 8 (smlal and smlal2, 8 products each).
CHECKS = {
    "peak_avx2": [(r"int8_peak_avx2\b", re.compile(r"\bvpmaddubsw\b"), "multiple", 8)],
    "peak_avx512vnni": [(r"int8_peak_avx512vnni\b", re.compile(r"\bvpdpbusd\b"), "multiple", 12)],
    "peak_neon": [(r"int8_peak_neon\b", re.compile(r"\bsmlal2?\b"), "multiple", 16)],
    "float_ops": [(r"relu2_(base|avx2|avx512)\b", PACKED_FMUL, "at_least", 2),
                  (r"attend_(base|avx2|avx512)\b", PACKED_FMUL, "at_least", 11)],
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


def loops(body, insn):
    """(length, count of insn) of every innermost loop that holds insn: a backward branch whose body holds no
    other backward branch (an outer loop would add up the instructions of the loops inside it)."""
    addr = [int(LINE.match(l).group(1), 16) for l in body]
    back = []
    for l in body:
        m = BRANCH.match(l)
        if m and int(m.group(3), 16) < int(m.group(1), 16):
            back.append((int(m.group(1), 16), int(m.group(3), 16)))
    out = []
    for src, dst in back:
        if any(dst <= s2 < src for s2, _ in back):
            continue  # another loop's branch inside: not innermost
        n = sum(1 for a, x in zip(addr, body) if dst <= a <= src and insn.search(x))
        if n:
            out.append((src - dst, n))
    return out


def check(fname, body, insn, rule, n):
    """An error message, or None."""
    found = loops(body, insn)
    if not found:
        return f"{fname}: no loop holds {insn.pattern}: hoisted out of the loop, or not vectorized?"
    if rule == "multiple":
        m = min(found)[1]  # the shortest loop holding the instruction
        if m % n:
            return (f"{fname}: its loop holds {m} of {insn.pattern}, not a multiple of the {n} one iteration is "
                    "credited with: the roofline ceiling would be wrong")
        return None
    best = max(c for _, c in found)
    if best < n:
        return f"{fname}: its loops hold at most {best} of {insn.pattern}, fewer than {n}: a loop was left scalar"
    return None


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    if sys.argv[1] == "--instrumented":
        # Exit code 77: ctest reports a skip (SKIP_RETURN_CODE), with this line as its reason.
        print("skipped: an instrumented build (ASan/UBSan) adds checks and branches to every loop; the loops' "
              "machine code is checked in the optimized native and AArch64 builds")
        return 77
    objdump = sys.argv[1]
    objects = [p for a in sys.argv[2:] for p in a.split(";") if p]  # CMake passes $<TARGET_OBJECTS> as one list
    checked, failed = 0, 0
    for path in objects:
        key = next((k for k in CHECKS if path.endswith("/" + k + ".cpp.o") or path.endswith("/" + k + ".cpp.obj")), None)
        if not key:
            continue
        funcs = functions(objdump, path)
        for pattern, insn, rule, n in CHECKS[key]:
            named = {name: body for name, body in funcs.items() if re.search(pattern, name)}
            if not named:
                print(f"FAIL {path}: no function matching {pattern} in the disassembly")
                failed += 1
                continue
            for name, body in sorted(named.items()):
                short = re.search(pattern, name).group(0)
                err = check(short, body, insn, rule, n)
                if err:
                    print("FAIL " + err)
                    failed += 1
                else:
                    print(f"ok {short}: {rule.replace('_', ' ')} {n} of {insn.pattern} in a loop")
                    checked += 1
    if not checked and not failed:
        print("FAIL: none of the checked object files among the arguments (a check that checks nothing)")
        return 1
    print(f"{checked} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
