#!/usr/bin/env python3
"""The README's measured tables, rendered from committed results files (so the README never says what no file holds).

Each table sits in README.md between two markers naming its source:
    <!-- table: results/peers-vm-2026-12-03/avx512vnni.jsonl -->
    ...rendered text...
    <!-- end table -->
`scripts/readme_tables.py` rewrites every such block from its file; `--check` exits 1 (naming the block) when the
README differs from what the files give, which the test suite runs (tests/scripts/test_readme_tables.py).

A block shows one run on one machine: ternbench's kernels and the peers measured beside it (`harness --peer`),
median tokens/s per test and thread count; for ternbench rows the binding ceiling (the lower of bandwidth and the
kernel's path's int8 ceiling, `ceiling_ts`) and the share reached; then the best ternbench kernel over the best peer
per column, and where a decode token's time went. A file may hold several rounds of the same command (run one after
another, so a slow spell of a shared machine falls on every engine alike): each cell is then the median over the
rounds of each round's median, and the block says how many rounds and how far they spread. Standard library only.
"""
import argparse
import json
import os
import re
import sys
from statistics import median

BLOCK = re.compile(r"(<!-- table: (?P<src>[^ ]+) -->\n)(?P<body>.*?)(<!-- end table -->)", re.S)


def load(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SystemExit("readme_tables: %s line %d is not JSON (%s)" % (path, n, e))
    if not rows:
        raise SystemExit("readme_tables: %s holds no rows" % path)
    return rows


def test_name(r):
    return "pp%d" % r["n_prompt"] if r["test"] == "pp" else "tg%d" % r["n_gen"]


def fp16_head(r):
    return r.get("head", "fp16") == "fp16"


def kernel_label(r):
    """A ternbench row's kernel, and its LM head where it is not the peers' fp16."""
    return r["kernel"] + ("" if fp16_head(r) else " (%s head)" % r["head"])


def label(r):
    if r["engine"] == "ternbench":
        return "ternbench " + kernel_label(r)
    extra = ""
    peer = r.get("peer", {})
    if peer.get("rtr") or "-rtr" in peer.get("command", ""):
        extra = " -rtr"
    return "%s %s%s" % (r["engine"], r["kernel"], extra)


def merge_rounds(rs):
    """One row standing for the rounds rs of one engine, kernel, test and thread count: the median over the rounds
    of median_ts, of the ceiling and of the share reached (each its own median), and of each part of time_split."""
    r = dict(rs[0])
    r["median_ts"] = median([x["median_ts"] for x in rs])
    r["rounds"] = [x["median_ts"] for x in rs]
    if all("ceiling_ts" in x for x in rs):
        r["ceiling_ts"] = median([x["ceiling_ts"] for x in rs])
        r["ceiling_share"] = median([x["ceiling_share"] for x in rs])
        binds = [x["binding"] for x in rs]
        r["binding"] = max(set(binds), key=binds.count)
    if all("time_split" in x for x in rs):
        r["time_split"] = {k: median([x["time_split"][k] for x in rs]) for k in rs[0]["time_split"]
                           if all(k in x["time_split"] for x in rs)}
    return r


def render(rows, src):
    tests = sorted({test_name(r) for r in rows}, key=lambda t: (t[:2] != "pp", int(t[2:])))
    threads = sorted({r["threads"] for r in rows})
    cols = [(t, th) for t in tests for th in threads]
    groups = {}
    order = []
    for r in rows:
        key = label(r)
        if key not in groups:
            groups[key] = {}
            order.append(key)
        groups[key].setdefault((test_name(r), r["threads"]), []).append(r)
    by = {key: {c: merge_rounds(rs) for c, rs in g.items()} for key, g in groups.items()}
    rounds = max(len(rs) for g in groups.values() for rs in g.values())
    m = rows[0]["machine"]
    tb_rows = [r for r in rows if r["engine"] == "ternbench"]
    isa = tb_rows[0]["machine"].get("isa", "?") if tb_rows else "?"
    heads = "fp16 LM head" + (" (ternbench's int8 head where a row says so)"
                              if not all(fp16_head(r) for r in tb_rows) else "")
    out = []
    if rounds == 1:
        out.append("Machine: %s, %d logical CPUs, ternbench path `%s`, measured %s (run `%s`); median tokens/s of %d "
                   "repetitions; 2B4T-shaped weights, %s, peers on their own GGUF files of the same shapes."
                   % (m.get("cpu", "?"), m.get("logical_cpus", 0), isa, rows[0]["time"][:10],
                      tb_rows[0]["run_id"] if tb_rows else rows[0].get("run_id", "?"), rows[0].get("reps", 0), heads))
    else:
        runs = sorted({r["run_id"] for r in tb_rows})
        spread = max(max(v["rounds"]) / min(v["rounds"]) for g in by.values() for v in g.values())
        out.append("Machine: %s, %d logical CPUs, ternbench path `%s`, measured %s in %d rounds of the same command%s "
                   "(runs %s), every engine once per round; each cell is the median over the rounds of each round's "
                   "median of %d repetitions (the rounds of one cell differ by up to %.0f%%); 2B4T-shaped weights, %s, "
                   "peers on their own GGUF files of the same shapes."
                   % (m.get("cpu", "?"), m.get("logical_cpus", 0), isa, rows[0]["time"][:10], rounds,
                      "s" if len(runs) > rounds else "", ", ".join("`%s`" % x for x in runs), rows[0].get("reps", 0),
                      100.0 * (spread - 1.0), heads))
    out.append("")
    out.append("| engine, kernel | " + " | ".join("%s %d thread%s" % (t, th, "" if th == 1 else "s") for t, th in cols) + " |")
    out.append("|---|" + "---:|" * len(cols))
    # The ratio compares like with like: ternbench's rows with the peers' LM head (fp16); rows with ternbench's int8
    # head get a ratio line of their own, as the developers' speedup tables list their int8-head figures apart.
    best_tb, best_tb_int8, best_peer, best = {}, {}, {}, {}
    for key in order:
        for c in cols:
            r = by[key].get(c)
            if r is None:
                continue
            v = r["median_ts"]
            if r["engine"] != "ternbench":
                d = best_peer
            else:
                d = best_tb if fp16_head(r) else best_tb_int8
            if c not in d or v > d[c][0]:
                d[c] = (v, key)
            best[c] = max(best.get(c, 0.0), v)
    for key in order:  # the fastest of each column in bold
        cells = []
        for c in cols:
            r = by[key].get(c)
            v = r["median_ts"] if r else None
            cells.append("-" if v is None else ("**%.2f**" if v == best[c] else "%.2f") % v)
        out.append("| %s | %s |" % (key, " | ".join(cells)))
    out.append("")
    for what, mine in (("Best ternbench kernel over the best peer, per column", best_tb),
                       ("With ternbench's int8 LM head (the peers' stays fp16)", best_tb_int8)):
        ratio = []
        for c in cols:
            if c in mine and c in best_peer:
                ratio.append("%s %d thread%s: %s / %s = **%.2fx**" % (c[0], c[1], "" if c[1] == 1 else "s", mine[c][1],
                                                                     best_peer[c][1], mine[c][0] / best_peer[c][0]))
        if ratio:
            out.append("%s: %s." % (what, "; ".join(ratio)))
            out.append("")
    # Ceilings of ternbench's rows.
    out.append("| ternbench kernel | test | threads | median t/s | binding ceiling t/s | share |")
    out.append("|---|---|---:|---:|---:|---:|")
    # In file order, each engine, kernel, test and thread count once.
    tb_merged = [by[key][c] for key, c in dict.fromkeys((label(r), (test_name(r), r["threads"])) for r in tb_rows)]
    for r in tb_merged:
        if "ceiling_ts" not in r:
            continue
        out.append("| %s | %s | %d | %.2f | %.2f (%s) | %.2f |" % (kernel_label(r), test_name(r), r["threads"],
                                                                 r["median_ts"], r["ceiling_ts"], r["binding"],
                                                                 r["ceiling_share"]))
    out.append("")
    # Where a decode token's time went: the fastest ternbench decode at 1 thread.
    tg1 = [r for r in tb_merged if r["test"] == "tg" and r["threads"] == min(threads) and "time_split" in r]
    if tg1:
        r = max(tg1, key=lambda r: r["median_ts"])
        ts = r["time_split"]
        total = sum(ts[k] for k in ("linear", "attention", "norms_and_quant", "head"))
        pct = lambda k: 100.0 * ts[k] / total
        out.append("Where a decode token's time went (%s, %s, %d thread%s, the runner's timers): linear layers %.0f%%, LM "
                   "head %.0f%%, norms and quantization %.0f%%, attention %.0f%%."
                   % (kernel_label(r), test_name(r), r["threads"], "" if r["threads"] == 1 else "s",
                      pct("linear"), pct("head"), pct("norms_and_quant"), pct("attention")))
        out.append("")
    out.append("(Rendered by `scripts/readme_tables.py` from `%s`.)" % src)
    out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--readme", default=None, help="the README to render into (default: the repository's)")
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if the README differs from the files")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    readme = a.readme or os.path.join(root, "README.md")
    with open(readme) as f:
        text = f.read()
    stale = []

    def sub(mt):
        src = mt.group("src")
        body = render(load(os.path.join(root, src)), src)
        if body != mt.group("body"):
            stale.append(src)
        return mt.group(1) + body + mt.group(4)

    new = BLOCK.sub(sub, text)
    if not BLOCK.search(text):
        print("readme_tables: %s has no '<!-- table: FILE -->' block" % readme, file=sys.stderr)
        return 1
    if a.check:
        if stale:
            print("readme_tables: README differs from its data in the table(s) of %s; run scripts/readme_tables.py"
                  % ", ".join(stale), file=sys.stderr)
            return 1
        print("readme_tables: every table in %s agrees with its file" % readme)
        return 0
    with open(readme, "w") as f:
        f.write(new)
    print("readme_tables: %s: %d table(s) rendered, %d changed" % (readme, len(BLOCK.findall(text)), len(stale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
