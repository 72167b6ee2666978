"""The report: the rows and step records of a reproduce directory, read back (Data), set beside the published
figures in DIR/REPORT.md (Report), with the plots."""
import datetime as dt
import functools
import json
import math
import subprocess
import sys
from pathlib import Path

from .common import BUSY_SHARE, ROOT, SCHEMA, default_harness, display_path, gb, hms, log, one_line_error, read_jsonl
from .facts import Facts, HarnessError
from .published import (A1_T4, A1_T5, A1_T6, A1_T7, A2_NAMES, A2_T7, A3_CPU, A3_ENERGY_J, A3_MEMORY_GB, A3_MODELS,
                        A3_NAMES, ENERGY_LADDER, KERNEL_FORMATS, KERNEL_MODELS, LADDER, MEMORY_FORMATS, PAPER_CPU,
                        size_label)


# ---------------------------------------------------------------------------------------------------------
# Analysis of the rows
def newest(rows):
    return max(rows, key=lambda r: str(r.get("time", ""))) if rows else None


class Measure:
    """One tokens/s figure: measured on the full model, or extrapolated from layer subsets."""

    def __init__(self, tps, kernel, how, rows, layers=None, fit_ok=True):
        self.tps, self.kernel, self.how, self.rows, self.layers, self.fit_ok = tps, kernel, how, rows, layers, fit_ok

    @property
    def extrapolated(self):
        return self.layers is not None

    def mark(self):
        return "" if not self.extrapolated else " *"


def valid(x):
    return x is not None and x.tps == x.tps and x.tps > 0


def extrapolate(rows):
    """Tokens/s of the full model from layer-subset runs. Each run gives t_full = t(L) + (full - L) x t_layer: t(L) its
    measured time per token (LM head, embedding and every fixed cost included) and t_layer the runner's own timers
    (`time_split`: linear + attention + norms and quantization, per token) divided by L. The runs' estimates are
    averaged; their spread goes into `how`. (A two-point fit of total times, t(L) = t0 + L x t_layer, was tried first:
    at a few layers the LM head is most of the time and run-to-run noise exceeds the per-layer difference.)"""
    by_l = {}
    for r in sorted(rows, key=lambda r: str(r.get("time", ""))):
        by_l[r["n_layers"]] = r
    ests = []
    for L, r in sorted(by_l.items()):
        ts = r.get("time_split") or {}
        if not r.get("median_ts") or L <= 0 or not ts:
            continue
        t_layer = (ts.get("linear", 0) + ts.get("attention", 0) + ts.get("norms_and_quant", 0)) / L
        ests.append(1.0 / r["median_ts"] + (r["model_layers"] - L) * t_layer)
    if not ests:
        return None
    layers = sorted(by_l)
    t = sum(ests) / len(ests)
    ok = t > 0
    how = f"extrapolated from layers {', '.join(map(str, layers))}"
    if len(ests) > 1:
        how += f" ({min(ests) * 1e3:.1f}-{max(ests) * 1e3:.1f} ms/token)"
    k = newest(list(by_l.values()))["kernel"]
    return Measure(1.0 / t if ok else float("nan"), k, how, list(by_l.values()), layers, ok)


class Data:
    def __init__(self, outdir):
        self.dir = outdir
        all_rows = [r for r in read_jsonl(outdir / "data.jsonl") if r.get("schema") == SCHEMA]
        own = [r for r in all_rows if r.get("engine", "ternbench") == "ternbench"]
        last = newest(own)
        self.machine = (last or {}).get("machine", {})
        key = lambda r: (r.get("machine", {}).get("host"), r.get("machine", {}).get("cpu"))  # noqa: E731
        self.rows = [r for r in own if key(r) == key(last)] if last else []
        self.peers = [r for r in all_rows if r.get("engine", "ternbench") != "ternbench"]
        self.other_machines = len({key(r) for r in own}) - (1 if last else 0)
        self.steps = read_jsonl(outdir / "steps.jsonl")
        try:
            self.plan = json.loads((outdir / "plan.json").read_text())
        except (OSError, ValueError):
            self.plan = {}
        self.ncpu = self.machine.get("logical_cpus") or self.plan.get("logical_cpus") or 0
        self.busy_by_pid = {}
        for st in self.steps:  # rows name their harness process in run_id (<start>-<host>-<pid>)
            if st.get("pid") is not None and st.get("others_cpu") is not None:
                self.busy_by_pid[str(st["pid"])] = st["others_cpu"]

    def busy(self, rows):
        """The largest share of the CPUs other processes took while these rows were measured, or None."""
        v = [self.busy_by_pid.get(str(r.get("run_id", "")).rsplit("-", 1)[-1]) for r in rows]
        v = [x for x in v if x is not None]
        return max(v) if v else None

    def disturbed(self, rows):
        b = self.busy(rows)
        return f"; DISTURBED: other processes took {b:.0%} of the CPUs" if b is not None and b >= BUSY_SHARE else ""

    def tg(self, m, fmt, threads, head="fp16", min_gen=2):
        return [r for r in self.rows if r.get("test") == "tg" and r.get("model") == m and r.get("format") == fmt
                and r.get("threads") == threads and (r.get("head") or "fp16") == head
                and isinstance(r.get("median_ts"), (int, float)) and r["median_ts"] > 0 and (r.get("n_gen") or 0) >= min_gen]

    def measure(self, m, fmt, threads, head="fp16"):
        """(full-model Measure or None, extrapolated Measure or None)."""
        rows = self.tg(m, fmt, threads, head)
        full = [r for r in rows if r.get("n_layers") == r.get("model_layers")]
        sub = [r for r in rows if (r.get("n_layers") or 0) < (r.get("model_layers") or 0)]
        f = newest(full)
        fm = Measure(f["median_ts"], f["kernel"], f"measured (tg{f.get('n_gen')}, {f.get('reps')} rep{'s' * (f.get('reps', 1) > 1)})"
                     + self.disturbed([f]), [f]) if f else None
        ext = extrapolate(sub)
        if ext:
            ext.how += self.disturbed(ext.rows)
        return fm, ext

    def best(self, m, fmt, threads, head="fp16"):
        full, ext = self.measure(m, fmt, threads, head)
        return full or ext

    def speed_threads(self):
        ts = {r["threads"] for r in self.rows if r.get("model") in LADDER and r.get("test") == "tg"}
        return sorted(ts, reverse=True)

    def steps_of(self, section):
        return [s for s in self.steps if s.get("section") == section]

    def outputs(self, section):
        return [s for s in self.steps_of(section) if s.get("status") == "ok"]


def fnum(x, d=2):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.{d}f}"


def ts_fmt(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.1f}" if x >= 100 else f"{x:.2f}" if x >= 1 else f"{x:.3f}"


def pct(a, b):
    return None if a is None or b in (None, 0) else 100.0 * (a - b) / b


def published_for(threads, ncpu):
    """[(table name, dict)] of the [A1] speed tables this thread count corresponds to."""
    out = []
    if threads == ncpu:
        out.append(("[A1] Table 4 (all threads)", A1_T4))
    if threads == 2:
        out.append(("[A1] Table 5 (2 threads)", A1_T5))
    return out


def thread_label(t, ncpu):
    if t == ncpu and t == 2:
        return "2 threads (= all threads here)"
    if t == ncpu:
        return f"all threads ({t})"
    return f"{t} thread{'s' * (t > 1)}"


# ---------------------------------------------------------------------------------------------------------
# The report
def commands_block(d, section):
    steps = d.steps_of(section)
    if not steps:
        return ["Commands: none recorded for this section (no DIR/steps.jsonl entries); the numbers come from the rows in "
                "data.jsonl.", ""]
    out = ["Commands (run from the source tree; `--out` is this directory's data.jsonl):", "", "```"]
    for s in steps:
        status = s.get("status")
        tail = f"# {hms(s.get('elapsed_s', 0))}"
        if s.get("kind") == "sweep" and status == "ok":
            tail += f", {s.get('rows', 0)} rows"
        if status != "ok":
            tail += f", {status.upper()}: {s.get('error', '')}"
        out.append(f"{s['cmd']}  {tail}")
    out += ["```", ""]
    return out


def failures_of(d, section):
    return [s for s in d.steps_of(section) if s.get("status") not in ("ok", None)]


def failure_lines(d, section):
    f = failures_of(d, section)
    if not f:
        return []
    return [f"**{len(f)} step{'s' * (len(f) > 1)} failed** (the rest of the section stands):", ""] + \
        [f"- `{s['cmd']}`: {s.get('error', s.get('status'))}" for s in f] + [""]


NOTHING_RUN = "nothing run"  # a section's answer when it had nothing to run: its failures close it, no commands


def section(name, title):
    """A report section: its heading, what the method adds (it is handed the data), then the steps of the section
    that failed and the commands that made its numbers."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(self):
            self.add(f"## {title}", "")
            ran = fn(self, self.d) != NOTHING_RUN
            self.add(*failure_lines(self.d, name), *(commands_block(self.d, name) if ran else []))
        return run
    return wrap


class Report:
    def __init__(self, d):
        self.d = d
        self.lines = []
        self.head = []  # headline rows: (figure, published, measured, note)

    def add(self, *lines):
        self.lines.extend(lines)

    # ---- 1. speed
    @section("speed", "1. Speed against model size ([A1] Tables 4 and 5)")
    def speed(self, d):
        self.add(f"Generation (tg) tokens/s, median of the repetitions after one warm-up, from an empty KV cache. "
                 f"The ternary column is the faster of i2s and tl2 per size (named); fp16 is ternbench's own fp16 kernel "
                 f"(the paper's baseline is llama.cpp fp16), run up to 13B as in the paper. Published: {PAPER_CPU}, "
                 f"bitnet.cpp against llama.cpp. `*` = extrapolated from layer subsets (see the last column).", "")
        threads = d.speed_threads()
        if not threads:
            self.add("No ladder tg rows in data.jsonl.", "")
        if d.ncpu == 2:
            self.add("This machine has 2 logical CPUs: the paper's two settings (all threads, Table 4; 2 threads, "
                     "Table 5) coincide, so they were run once and are compared with both tables.", "")
        for t in threads:
            pubs = published_for(t, d.ncpu) or [("[A1] Table 4 (all threads; no matching setting here)", A1_T4)]
            for pname, pub in pubs:
                self.add(f"### {thread_label(t, d.ncpu)} against {pname}", "")
                self.add("| size | published llama.cpp fp16 | published bitnet.cpp | published speedup | measured fp16 | "
                         "measured ternary (kernel) | measured speedup | how measured |",
                         "|---|---:|---:|---:|---:|---:|---:|---|")
                speedups = []
                for m in LADDER:
                    f16 = d.best(m, "fp16", t)
                    ter = [x for x in (d.best(m, "i2s", t), d.best(m, "tl2", t)) if x and x.tps == x.tps]
                    best = max(ter, key=lambda x: x.tps) if ter else None
                    pf, pb = pub["fp16"].get(m), pub["ternary"].get(m)
                    sp = best.tps / f16.tps if valid(best) and valid(f16) else None
                    if sp:
                        speedups.append((m, sp, best, f16))
                    how = []
                    for name, x in (("fp16", f16), ("ternary", best)):
                        if x:
                            how.append(f"{name}: {x.how}")
                    self.add(f"| {size_label(m)} | {fnum(pf)} | {fnum(pb)} | {fnum(pb / pf if pf and pb else None)}{'x' if pf and pb else ''} | "
                             f"{ts_fmt(f16.tps) if f16 else '—'}{f16.mark() if f16 else ''} | "
                             f"{ts_fmt(best.tps) + best.mark() + ' (' + best.kernel + ')' if best else '—'} | "
                             f"{fnum(sp) + 'x' if sp else '—'} | {'; '.join(how) or 'not measured'} |")
                self.add("")
                if speedups:
                    a, b = speedups[0], speedups[-1]
                    pa = pub["ternary"][a[0]] / pub["fp16"][a[0]] if a[0] in pub["fp16"] else None
                    pbb = pub["ternary"][b[0]] / pub["fp16"][b[0]] if b[0] in pub["fp16"] else None
                    self.head.append((f"{pname}: ternary speedup over fp16, {size_label(a[0])} → {size_label(b[0])}",
                                      f"{fnum(pa)}x → {fnum(pbb)}x",
                                      f"{fnum(a[1])}x → {fnum(b[1])}x{' *' if b[2].extrapolated or b[3].extrapolated else ''} "
                                      f"({thread_label(t, d.ncpu)})",
                                      "bitnet.cpp vs llama.cpp fp16 there; ternbench ternary vs ternbench fp16 here"))
                for m in ("ladder-7B", "ladder-100B"):
                    best = max([x for x in (d.best(m, "i2s", t), d.best(m, "tl2", t)) if x and x.tps == x.tps],
                               key=lambda x: x.tps, default=None)
                    if best:
                        self.head.append((f"{pname}: {size_label(m)} ternary tokens/s", fnum(pub["ternary"][m]),
                                          f"{ts_fmt(best.tps)}{best.mark()} ({best.kernel})", best.how))
        if (self.d.dir / "plots" / "speed_vs_size_paper.png").exists():
            self.add("![generation speed against model size](plots/speed_vs_size_paper.png)", "",
                     "Solid: measured here; dashed/dotted: published; hollow markers: extrapolated from layer subsets.", "")
        self.extrapolation_check(threads)
        self.add("How extrapolation works: for a model that does not fit in memory (weights at the format's bits "
                 "per non-embedding parameter plus the fp16 embedding, against MemAvailable) or, in --quick, is above the "
                 "size cap, the harness runs only its first a and b layers (`--layers`; identical blocks, the full "
                 "embedding and head). Each such run gives t_full = t(L) + (full − L) x t_layer, with t(L) its measured "
                 "time per token (head, embedding and every fixed cost included) and t_layer the runner's own timers "
                 "(linear + attention + norms and quantization, per layer and token, `time_split`); the two runs' "
                 "estimates are averaged and their spread is given. (A two-point fit of the total times was tried first: "
                 "on this kind of machine run-to-run noise exceeds the per-layer difference at a few layers.)", "")

    def extrapolation_check(self, threads):
        d = self.d
        rows = []
        for m in LADDER:
            for fmt in ("i2s", "tl2", "fp16", "int8", "tl1"):
                for t in threads:
                    full, ext = d.measure(m, fmt, t)
                    if full and ext:
                        rows.append((m, fmt, t, full, ext, pct(ext.tps, full.tps)))
        self.add("### Extrapolation check", "")
        if not rows:
            self.add("No size was measured both in full and on layer subsets, so the extrapolation is unchecked.", "")
            return
        self.add("Sizes that fit, measured both in full and extrapolated from layer subsets; error = (extrapolated − "
                 "measured) / measured.", "",
                 "| size | kernel | threads | measured full | extrapolated | from layers | error |",
                 "|---|---|---:|---:|---:|---|---:|")
        for m, fmt, t, full, ext, e in rows:
            err = f"{e:+.1f}%" if ext.fit_ok and e == e else "no estimate"
            self.add(f"| {size_label(m)} | {full.kernel} | {t} | {ts_fmt(full.tps)} | {ts_fmt(ext.tps)} | "
                     f"{', '.join(map(str, ext.layers))} | {err} |")
        errs = [abs(e) for *_, ext, e in rows if ext.fit_ok and e is not None and e == e]
        if not errs:
            self.add("", "No comparison gave a usable fit.", "")
            return
        self.add("", f"Mean absolute error {sum(errs) / len(errs):.1f}%, largest {max(errs):.1f}% "
                 f"({len(rows)} comparison{'s' * (len(rows) > 1)}).", "")
        self.head.append(("extrapolation from layer subsets (check on sizes that fit)", "—",
                          f"mean abs. error {sum(errs) / len(errs):.1f}%, max {max(errs):.1f}%",
                          f"{len(rows)} comparison{'s' * (len(rows) > 1)}"))

    # ---- 2. kernels
    @section("kernels", "2. Speed per kernel ([A2] Table 7)")
    def kernels(self, d):
        t = d.ncpu or (max(d.speed_threads()) if d.speed_threads() else None)
        self.add(f"Generation tokens/s per kernel at {thread_label(t, d.ncpu) if t else 'all threads'}, beside [A2] "
                 f"Table 7 (i7-13700H). TQ1_0/TQ2_0 are llama.cpp's formats, which ternbench does not run; int8 and tl1 have "
                 f"no published column. `*` = extrapolated from layer subsets.", "")
        self.add("| model | kernel | published (format) | measured tok/s | vs fp16 here | how measured |", "|---|---|---:|---:|---:|---|")
        for m in KERNEL_MODELS:
            f16 = d.best(m, "fp16", t) if t else None
            for fmt in KERNEL_FORMATS:
                x = d.best(m, fmt, t) if t else None
                pub = A2_T7[m].get(fmt)
                self.add(f"| {size_label(m)} | {x.kernel if x else fmt} | {fnum(pub) + ' (' + A2_NAMES[fmt] + ')' if pub else '—'} | "
                         f"{ts_fmt(x.tps) + x.mark() if x else '—'} | {fnum(x.tps / f16.tps) + 'x' if valid(x) and valid(f16) else '—'} | "
                         f"{x.how if x else 'not measured'} |")
            for other in ("TQ1_0", "TQ2_0"):
                if other in A2_T7[m]:
                    self.add(f"| {size_label(m)} | {other} (llama.cpp) | {fnum(A2_T7[m][other])} | not run | — | — |")
        self.add("")
        x, f = (d.best("ladder-700M", "i2s", t), d.best("ladder-700M", "fp16", t)) if t else (None, None)
        if x:
            self.head.append(("[A2] Table 7: 700M I2_S / F16 tokens/s", "125.37 / 30.73",
                              f"{ts_fmt(x.tps)}{x.mark()} / {ts_fmt(f.tps) + f.mark() if f else '—'}",
                              f"{thread_label(t, d.ncpu)}; {x.how}"))

    # ---- 3. energy
    @section("energy", "3. Energy ([A1] Table 6, [A3] Table 1)")
    def energy(self, d):
        est = {}
        for s in d.outputs("energy"):
            if s.get("kind") == "json" and isinstance(s.get("output"), dict):
                est[(s["meta"].get("model"), s["meta"].get("linear", "auto"))] = s["output"]
        self.add("### [A3] Table 1: the operation-count estimate", "",
                 "ESTIMATED, not measured: energy of the arithmetic only (7 nm operation energies, one 512-token "
                 "sequence, [A3]'s method as docs/reference.md §7 reads it), from `harness energy --estimate --json`.", "",
                 "| model | published (J) | estimate (J) | difference | matches to the published precision |",
                 "|---|---:|---:|---:|---|")
        matched = 0
        for m in A3_MODELS:
            e = est.get((m, "auto"))
            pub = A3_ENERGY_J[m]
            if not e:
                self.add(f"| {A3_NAMES[m]} | {pub:.3f} | — | — | not run |")
                continue
            j = e.get("sequence_j")
            ok = j is not None and round(j, 3) == pub
            matched += ok
            self.add(f"| {A3_NAMES[m]} | {pub:.3f} | {j:.4f} | {j - pub:+.4f} J ({pct(j, pub):+.1f}%) | {'yes' if ok else 'NO'} |")
        self.add("")
        if est:
            self.head.append(("[A3] Table 1: energy estimate, 6 models", "0.028 / 0.258 / 0.186 / 0.347 / 0.425 / 0.649 J",
                              " / ".join(f"{est[(m, 'auto')]['sequence_j']:.3f}" if (m, "auto") in est else "—" for m in A3_MODELS)
                              + " J", f"{matched} of 6 match to the published precision (estimate, arithmetic only)"))
        self.add("### [A1] Table 6: J/token, ternary against fp16", "",
                 "ESTIMATED here (the same arithmetic-only estimate, per decode token at position 512; `--linear fp16` prices "
                 "the same model with fp16 linear layers), against [A1]'s MEASURED figures (the paper does not say how; "
                 "the whole CPU's energy including memory traffic and idle power). These are not comparable in absolute "
                 "terms: the estimate leaves out memory traffic, which dominates real decode energy. Only the direction "
                 "of the reduction can be compared.", "",
                 "| size | estimate fp16 (J/token) | estimate ternary (J/token) | reduction | published i7 fp16 → bitnet.cpp | "
                 "published M2 Ultra |", "|---|---:|---:|---:|---|---|")
        for m in ENERGY_LADDER:
            ef, et = est.get((m, "fp16")), est.get((m, "auto"))
            jf = ef.get("decode_j_per_token") if ef else None
            jt = et.get("decode_j_per_token") if et else None
            red = pct(jt, jf)
            pubs = []
            for cpu in ("i7", "M2 Ultra"):
                a, b = A1_T6[cpu][m]
                r = f" ({pct(b, a):+.1f}%)" if a else ""
                pubs.append(f"{fnum(a, 3) if a else '—'} → {fnum(b, 3)}{r}")
            self.add(f"| {size_label(m)} | {jf:.4g} | {jt:.4g} | {red:+.1f}% | {pubs[0]} | {pubs[1]} |" if jf and jt else
                     f"| {size_label(m)} | — | — | — | {pubs[0]} | {pubs[1]} |")
            if m == "ladder-7B" and jf and jt:
                self.head.append(("[A1] Table 6: 7B energy reduction ternary vs fp16", "−82.2% (i7, measured)",
                                  f"{red:+.1f}% (estimate, arithmetic only)", "not comparable in absolute J"))
        self.add("")
        self.add("### Measured J/token", "")
        meas = [r for r in d.rows if isinstance(r.get("energy"), dict) and r["energy"].get("estimated") is False
                and r["energy"].get("j_per_token") is not None]
        if meas:
            self.add("| model | kernel | threads | test | J/token | source |", "|---|---|---:|---|---:|---|")
            for r in sorted(meas, key=lambda r: (r["model"], r["kernel"], r["threads"], r["test"])):
                self.add(f"| {r['model']} | {r['kernel']} | {r['threads']} | {r['test']} | {r['energy']['j_per_token']:.4g} | "
                         f"{r['energy'].get('source')} |")
            self.add("")
        else:
            src = next((s for s in d.outputs("energy") if s.get("kind") == "text"), None)
            self.add("No row has a measured energy (every row's `energy.estimated` is true): no hardware energy counter is "
                     "usable on this machine, so only the estimate above is reported. `harness energy` says:", "")
            if src:
                text = [ln for ln in src.get("text", "").splitlines() if ln.strip()]
                self.add("```", *text[:9], "```", "")
            else:
                self.add("(`harness energy` was not run or failed.)", "")

    # ---- 4. memory
    @section("memory", "4. Memory ([A3] Table 1)")
    def memory(self, d):
        self.add("Non-embedding weights as allocated (`memory.non_embedding`: linear layers + norms) and the process's peak "
                 "RSS while that kernel ran (`memory.peak_rss`), from short runs (pp1, tg1, one repetition), in GB (1e9 bytes). "
                 "[A3] quotes non-embedding weights at the models' own precision: bf16 for the five float models, 1.58 bits "
                 "per weight for 2B4T (ternbench's i2s stores 2 bits, tl2 about 1.67). The float models in ternary formats "
                 "are what they would take if ternary, not a published configuration.", "")
        self.add("| model | published (GB) | " + " | ".join(f"{f} non-emb" for f in MEMORY_FORMATS) + " | " +
                 " | ".join(f"{f} peak RSS" for f in MEMORY_FORMATS) + " |", "|---|---:|" + "---:|" * (2 * len(MEMORY_FORMATS)))
        factors = []
        for m in A3_MODELS:
            got = {}
            for f in MEMORY_FORMATS:
                rs = [r for r in d.rows if r.get("model") == m and r.get("format") == f
                      and r.get("n_layers") == r.get("model_layers") and isinstance(r.get("memory"), dict)]
                short = [r for r in rs if max(r.get("n_gen") or 0, r.get("n_prompt") or 0) <= 1]
                pick = short or rs
                if pick:
                    last = newest(pick)
                    same_run = [r for r in pick if r.get("run_id") == last.get("run_id")]
                    got[f] = (last["memory"].get("non_embedding"), max(r["memory"].get("peak_rss") or 0 for r in same_run) or None)
            ne = " | ".join(fnum(gb(got[f][0])) if f in got and got[f][0] else "—" for f in MEMORY_FORMATS)
            rss = " | ".join(fnum(gb(got[f][1])) if f in got and got[f][1] else "—" for f in MEMORY_FORMATS)
            self.add(f"| {A3_NAMES[m]} | {A3_MEMORY_GB[m]:g} | {ne} | {rss} |")
            for tf in ("i2s", "tl2"):
                if tf in got:
                    factors.append((m, tf, got[tf][0], got.get("fp16", (None,))[0], got.get("fp32", (None,))[0]))
            if m == "2B4T" and got:
                self.head.append(("[A3] Table 1: 2B4T non-embedding memory", "0.4 GB",
                                  ", ".join(f"{f} {gb(got[f][0]):.2f} GB" for f in ("i2s", "tl2") if f in got) or "—",
                                  "fp16 " + (f"{gb(got['fp16'][0]):.2f} GB" if "fp16" in got else "—") + " for comparison"))
        self.add("")
        if factors:
            self.add("Memory saving of each ternary format (non-embedding weights):", "",
                     "| model | format | over fp16 | over fp32 |", "|---|---|---:|---:|")
            for m, tf, x, f16, f32 in factors:
                self.add(f"| {A3_NAMES[m]} | {tf} | {fnum(f16 / x) + 'x' if f16 else '—'} | {fnum(f32 / x) + 'x' if f32 else '—'} |")
            self.add("", "Published for comparison: 2B4T 0.4 GB against 2 / 1.4 / 2.6 / 3.2 / 4.8 GB for the float models "
                     "at bf16 (docs/reference.md §6.3); fp16/1.58-bit = 10.1x.", "")

    # ---- 5. latency
    @section("latency", "5. Decode latency ([A3] Table 1)")
    def latency(self, d):
        t = d.ncpu
        cpu = d.machine.get("cpu", "this CPU")
        self.add(f"2B4T decode milliseconds per token (TPOT) = 1000 / median tokens/s of the generation test, i2s, at "
                 f"{thread_label(t, d.ncpu) if t else 'all threads'} on {cpu}; published: 29 ms on the {A3_CPU}, 128 tokens "
                 f"(bitnet.cpp). The bitnet.cpp README also gives 20.00 tok/s (50 ms) on the i7-13800H at 6 threads.", "")
        self.add("| LM head | published | measured ms/token | tokens/s | tokens | reps | threads | note |",
                 "|---|---:|---:|---:|---:|---:|---:|---|")
        for head in ("fp16", "int8"):
            rs = [r for r in d.tg("2B4T", "i2s", t, head) if r.get("n_layers") == r.get("model_layers")]
            if rs:
                ng = max(r.get("n_gen") or 0 for r in rs)
                r = newest([r for r in rs if r.get("n_gen") == ng])
                ms = 1000.0 / r["median_ts"]
                self.add(f"| {head} | 29 | {ms:.1f} | {r['median_ts']:.2f} | {ng} | {r.get('reps')} | {r['threads']} | "
                         f"{d.disturbed([r]).lstrip('; ')} |")
                if head == "fp16":
                    self.head.append(("[A3] Table 1: 2B4T decode latency", f"29 ms ({A3_CPU})",
                                      f"{ms:.1f} ms ({cpu}, {r['threads']} threads)", f"i2s, fp16 head, tg{ng}{d.disturbed([r])}"))
            else:
                self.add(f"| {head} | 29 | — | — | — | — | — | |")
        self.add("", "The other five models' published latencies (48 / 41 / 65 / 67 / 124 ms) are float models under "
                 "llama.cpp; not measured here.", "")

    # ---- 7. peers
    @section("peers", "7. Peers: llama-bench beside ternbench on 2B4T")
    def peers(self, d):
        if not d.peers:
            self.add("No peer files given (`scripts/reproduce --peers FILE...` takes llama-bench output of llama.cpp, "
                     "bitnet.cpp or ik_llama.cpp: JSON, JSONL or CSV).", "")
            return NOTHING_RUN
        cpus = sorted({str(r.get("machine", {}).get("cpu", "unknown")) for r in d.peers})
        here = d.machine.get("cpu", "this machine")
        same = cpus == [here]
        self.add(f"Peer rows from {len({r.get('machine', {}).get('source') for r in d.peers})} llama-bench file(s), CPU as "
                 f"recorded in them: {', '.join(cpus)}; ternbench rows: {here}, this run, 2B4T shapes with synthetic "
                 f"weights, the peers' prompt and generation lengths and thread counts. "
                 + ("Same CPU model." if same else "**Different machines (or a CPU string the files do not name)**: the "
                    "ratios between engines are only as good as the likeness of the two machines.")
                 + " Speedups are over llama.cpp F16 at the same test and thread count, the baseline of [A1]'s figures. "
                 "Peer model sizes are those their files give (2B4T-shaped models are 2.4 B parameters with the embedding).", "")
        tests = sorted({(r["test"], r.get("n_prompt") if r["test"] == "pp" else r.get("n_gen")) for r in d.peers
                        if r.get("test") in ("pp", "tg")}, key=lambda x: (x[0] != "pp", x[1] or 0))
        threads = sorted({r.get("threads") for r in d.peers if isinstance(r.get("threads"), int)})

        def of(rows, test, n, t):
            rs = [r for r in rows if r.get("test") == test and r.get("threads") == t and isinstance(r.get("median_ts"), (int, float))
                  and (r.get("n_prompt") if test == "pp" else r.get("n_gen")) == n]
            return newest(rs)

        own = [r for r in d.rows if r.get("model") == "2B4T" and r.get("n_layers") == r.get("model_layers")
               and (r.get("head") or "fp16") == "fp16"]
        def label(r):  # ik_llama.cpp's run-time repacking and flash attention make different rows of one type
            pe = r.get("peer") or {}
            return str(r.get("kernel")) + (" rtr" if pe.get("rtr") or pe.get("repack") else "") + (" fa" if pe.get("flash_attn") else "")

        engines = sorted({(r["engine"], label(r)) for r in d.peers}) + \
            [("ternbench", k) for k in sorted({r.get("kernel") for r in own if any(of([r], te, n, r.get("threads"))
                                                                                for te, n in tests)})]
        head = "| engine | type | threads | " + " | ".join(f"{te}{n} t/s | x F16" for te, n in tests) + " |"
        self.add(head, "|---|---|---:|" + "---:|---:|" * len(tests))
        best = {}
        for t in threads:
            base = {(te, n): of([r for r in d.peers if r.get("engine") == "llama.cpp" and r.get("format") == "F16"], te, n, t)
                    for te, n in tests}
            for eng, k in engines:
                rows = [r for r in (own if eng == "ternbench" else d.peers) if r.get("engine", "ternbench") == eng
                        and label(r) == k]
                cells, anyv = [], False
                for te, n in tests:
                    r, b = of(rows, te, n, t), base[(te, n)]
                    if r:
                        anyv = True
                        x = r["median_ts"] / b["median_ts"] if b else None
                        dis = d.busy([r]) if eng == "ternbench" else None
                        cells += [ts_fmt(r["median_ts"]) + (" (noisy)" if r.get("noisy") else "")
                                  + (f" (disturbed {dis:.0%})" if dis is not None and dis >= BUSY_SHARE else ""),
                                  f"{x:.2f}x" if x else "—"]
                        key = (te, n, t, eng == "ternbench")
                        if eng != "ternbench" or r.get("format") != "fp16":
                            if key not in best or r["median_ts"] > best[key][1]:
                                best[key] = (f"{eng} {k}", r["median_ts"], x, r)
                    else:
                        cells += ["—", "—"]
                if anyv:
                    self.add(f"| {eng} | {k} | {t} | " + " | ".join(cells) + " |")
        self.add("")
        for te, n in tests:
            for t in threads:
                o, p = best.get((te, n, t, True)), best.get((te, n, t, False))
                if o and p:
                    self.add(f"- {te}{n}, {t} thread{'s' * (t > 1)}: fastest ternbench kernel ({o[0].split(' ', 1)[1]}) "
                             f"{ts_fmt(o[1])} t/s, fastest peer ({p[0]}) {ts_fmt(p[1])} t/s: {o[1] / p[1]:.2f}x"
                             + d.disturbed([o[3]]))
                    if te == "tg" and t == max(threads):
                        self.head.append((f"2B4T decode against the fastest peer (llama-bench tg{n}, {t} threads)",
                                          "bitnet.cpp 2.37x-6.17x over llama.cpp fp16 ([A1], x86)",
                                          f"{o[0]} {ts_fmt(o[1])} t/s" + (f" ({o[2]:.2f}x F16)" if o[2] else "")
                                          + f"; {p[0]} {ts_fmt(p[1])} t/s" + (f" ({p[2]:.2f}x F16)" if p[2] else ""),
                                          "peers' figures from their files" + ("" if same else ", another machine")
                                          + d.disturbed([o[3]])))
        self.add("")

    # ---- 6. lossless
    @section("lossless", "6. Lossless inference ([A1] Table 7)")
    def lossless(self, d):
        outs = [s for s in d.outputs("lossless") if isinstance(s.get("output"), dict)]
        o = outs[-1]["output"] if outs else None
        ind = bool(o) and any("exact_match_rate_independent" in k for k in o.get("kernels", []))
        if o:
            self.add(f"Share of prompts whose greedy continuation is identical, token for token, to the reference's: "
                     f"{o.get('model')}, {o.get('prompts')} synthetic prompts x {o.get('tokens')} tokens (prompt length "
                     f"{o.get('prompt_len', 8)}), LM head {o.get('head', 'fp32')}. Published: 700M model, 1,000 prompts x 100 "
                     f"tokens, trained weights; here synthetic weights.", "",
                     f"- reference (the [A1] comparison, only the kernel swapped): {o.get('reference', '?')}")
            if ind:
                self.add(f"- independent reference: {o.get('reference_independent', '?')}. It has its own code for norms, "
                         f"attention and rounding order, so float differences outside the kernels can move a value across "
                         f"an int8 rounding boundary and, on synthetic weights whose logits are close, change a greedy token "
                         f"(the harness's reading); it checks the runner as a whole, not the kernels.")
            self.add("")
        else:
            self.add("Not run (or failed).", "")
        cols = "| kernel | published | exact match | matched | mean tokens before first divergence |"
        if ind:
            cols += " exact match, independent reference | matched | mean tokens before divergence |"
        self.add(cols, "|---|" + "---:|" * (len(cols.split("|")) - 3))

        def cells(k):
            c = (f"{k['exact_match_rate']:.1%} | {k['matched']} / {o['prompts']} | "
                 f"{k['tokens_before_first_divergence_mean']:.1f} of {o['tokens']} |")
            if ind:
                c += (f" {k.get('exact_match_rate_independent', float('nan')):.1%} | {k.get('matched_independent', '—')} / "
                      f"{o['prompts']} | {k.get('tokens_before_first_divergence_independent_mean', float('nan')):.1f} of "
                      f"{o['tokens']} |")
            return c
        got = {}
        for k in (o or {}).get("kernels", []):
            got[k["kernel"].split("__")[0]] = k
        empty = " — | — |" * (2 if ind else 1)
        for name, fmt, pub in A1_T7:
            k = got.pop(fmt, None) if fmt else None
            if k:
                self.add(f"| {k['kernel']} ({name}) | {pub:.1%} | {cells(k)}")
            else:
                self.add(f"| {name} | {pub:.1%} | {'not run (llama.cpp format)' if not fmt else '—'} |{empty}")
        for fmt, k in got.items():
            self.add(f"| {k['kernel']} | — | {cells(k)}")
        self.add("")
        if o:
            rates = {k["kernel"].split("__")[0]: k["exact_match_rate"] for k in o.get("kernels", [])}
            self.head.append(("[A1] Table 7: exact match vs an FP32 kernel, I2_S / TL1 / TL2", "100% / 100% / 100% (700M, 1000 x 100)",
                              " / ".join(f"{rates[f]:.0%}" if f in rates else "—" for f in ("i2s", "tl1", "tl2")) +
                              (f"; int8 {rates['int8']:.0%}" if "int8" in rates else ""),
                              f"{o.get('model')}, {o.get('prompts')} x {o.get('tokens')}, synthetic weights"
                              + ("; against the independent Eigen reference: " + " / ".join(
                                  f"{k['exact_match_rate_independent']:.0%}" for k in o["kernels"]
                                  if k["kernel"].split("__")[0] in ("i2s", "tl1", "tl2")) if ind else "")))

    # ---- the whole
    def render(self, plots):
        d = self.d
        mc = d.machine
        body_start = len(self.lines)
        for sec in (self.speed, self.kernels, self.energy, self.memory, self.latency, self.lossless, self.peers):
            try:
                sec()
            except Exception as e:  # noqa: BLE001 - one section's bug must not lose the others
                self.add(f"(this section could not be rendered: {type(e).__name__}: {e})", "")
        body = self.lines[body_start:]
        date = max((str(r.get("time", "")) for r in d.rows), default="")[:10] or dt.date.today().isoformat()
        out = [f"# ternbench: the published figures reproduced on {mc.get('cpu', 'this machine')}", "",
               f"{date}, {d.plan.get('mode', 'unknown')} mode. Every number below is rendered from `data.jsonl` (sweep rows) "
               f"and `steps.jsonl` (the other harness outputs) in this directory; `scripts/reproduce --report-only --out "
               f"{display_path(d.dir)}` renders it again.", "",
               "## Headline: published against measured", "",
               "| figure | published (paper's machine) | measured here | note |", "|---|---|---|---|"]
        for fig, pub, meas, note in self.head:
            out.append(f"| {fig} | {pub} | {meas} | {note} |")
        if not self.head:
            out.append("| (nothing measured yet) | | | |")
        out += ["", "`*` = extrapolated from layer subsets (see section 1). Energy figures here are estimates (arithmetic "
                "only) unless section 3 says otherwise.", ""]
        out += self.machine_section(plots)
        self.lines = out + body
        return "\n".join(self.lines).rstrip() + "\n"

    def machine_section(self, plots):
        d, mc, p = self.d, self.d.machine, self.d.plan
        out = ["## This machine and this run", ""]
        if mc:
            mem = mc.get("memory_bytes")
            out += [f"- CPU: {mc.get('cpu', '?')}, {mc.get('logical_cpus', '?')} logical CPUs, ISA path {mc.get('isa', '?')}",
                    f"- memory: {gb(mem):.1f} GB" + (f" ({gb(p['mem_available']):.1f} GB available at the start)"
                                                      if p.get("mem_available") else "") if mem else "- memory: ?",
                    f"- OS: {mc.get('os', '?')}; compiler: {mc.get('compiler', '?')} ({mc.get('cxx_flags', '')})",
                    f"- ternbench commit: {mc.get('commit', '?')}; host: {mc.get('host', '?')}; energy source: "
                    f"{mc.get('energy_source', '?')}"]
        else:
            out.append("- no rows yet: the machine fingerprint comes from the rows")
        if d.other_machines:
            out.append(f"- data.jsonl also holds rows of {d.other_machines} other machine(s): left out here")
        if p:
            out.append(f"- plan: {p.get('mode')} mode, threads {p.get('threads')}, tg{p.get('tg')}, {p.get('reps')} rep(s) "
                       f"after one warm-up, pp skipped (-p 0) except the memory runs; layer subsets {p.get('subset_layers')}"
                       + (f"; quick-mode size cap {p['size_cap'] / 1e9:g}B non-embedding parameters" if p.get("mode") == "quick" else ""))
            if p.get("estimate_s"):
                out.append(f"- estimated {hms(p['estimate_s'])} before the run" +
                           (f", took {hms(p['wall_s'])}" if p.get("wall_s") else ""))
            for n in p.get("notes", []):
                out.append(f"- {n}")
        bws = [r["roofline_gbs"] for r in d.rows if isinstance(r.get("roofline_gbs"), (int, float)) and r["roofline_gbs"] > 0]
        if len(bws) >= 3:
            out.append(f"- read bandwidth the harness probed beside each decode test: {min(bws):.0f} to {max(bws):.0f} GB/s "
                       f"(median {sorted(bws)[len(bws) // 2]:.0f}) over {len(bws)} tests"
                       + (": it moved by more than 1.5x during the run, and decode speed follows it, so single "
                          "measurements (and extrapolations from them) carry that much noise" if max(bws) > 1.5 * min(bws) else ""))
        fails = [s for s in d.steps if s.get("status") not in ("ok", None)]
        timed = [s for s in d.steps if s.get("kind") == "sweep" and s.get("others_cpu") is not None]
        busy = [s for s in timed if s["others_cpu"] >= BUSY_SHARE]
        if busy:
            out.append(f"- **CPU contention**: during {len(busy)} of {len(timed)} measuring steps other processes took at least "
                       f"{BUSY_SHARE:.0%} of the CPUs (up to {max(s['others_cpu'] for s in busy):.0%}); the figures they produced "
                       f"are marked DISTURBED and understate this machine. `--resume` on an idle machine measures those steps (and the failed "
                       f"ones) again and keeps the rest.")
        elif timed:
            out.append(f"- CPU contention: other processes took at most {max(s['others_cpu'] for s in timed):.0%} of the CPUs "
                       f"during the measuring steps")
        out.append(f"- steps: {len(d.steps)} recorded, {len(fails)} failed" + (" (listed in their sections)" if fails else ""))
        out += ["", "Differences from the paper's setup, for reading every table below:", "",
                "- Weights are synthetic (seeded random ternary weights with the exact shapes), not trained checkpoints: "
                "speed and memory do not depend on the values; lossless matching is checked on these weights.",
                "- The baseline is ternbench's own fp16 kernel, not llama.cpp's; the ternary kernels are ternbench's "
                "implementations of bitnet.cpp's formats, not bitnet.cpp itself.",
                "- The [A1] ladder's vocabulary is not published: 128256 is assumed (configs/models), which sets the "
                "embedding and head size and weighs most on the small models.",
                f"- The paper's CPU is an {PAPER_CPU}; this one has {mc.get('logical_cpus', '?')} logical CPUs. Thread "
                "settings are matched by name (all threads, 2 threads), not by hardware.", ""]
        if plots:
            png = [Path(x).name for x in plots if str(x).endswith(".png")]
            main = [n for n in ("speed_vs_size_paper.png", "speedup_vs_size.png", "memory_per_format.png") if n in png]
            rest = [n for n in png if n not in main]
            out += ["Plots (`plots/`, PNG and SVG): " + ", ".join(f"[{n}](plots/{n})" for n in main)
                    + (f", and {len(rest)} per-model figures from scripts/plot.py (throughput against threads, roofline, "
                       f"energy per token)" if rest else ""), ""]
        return out


def render_report(outdir, plots=False):
    d = Data(outdir)
    files = make_plots(outdir, d) if plots else sorted(str(p) for p in (outdir / "plots").glob("*.png")) \
        if (outdir / "plots").is_dir() else []
    text = Report(d).render(files)
    tmp = outdir / "REPORT.md.tmp"
    tmp.write_text(text)
    tmp.replace(outdir / "REPORT.md")
    return outdir / "REPORT.md"


# ---------------------------------------------------------------------------------------------------------
# Plots
def make_plots(outdir, d):
    plots = outdir / "plots"
    files = []
    full = [r for r in d.rows if r.get("n_layers") == r.get("model_layers")]
    if full:  # layer-subset rows would pass for the whole model in plot.py's figures: left out
        plots.mkdir(parents=True, exist_ok=True)
        data = plots / ".full-model-rows.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in full))
        p = subprocess.run([sys.executable, str(ROOT / "scripts" / "plot.py"), "--out", str(plots), str(data)],
                           capture_output=True, text=True)
        data.unlink()
        if p.returncode != 0:
            log(f"reproduce: scripts/plot.py failed: {one_line_error(p.stderr, p.returncode)}")
        files += p.stdout.split()
    try:
        files += speed_plot(plots, d)
    except ImportError as e:
        log(f"reproduce: no speed plot ({e}); install python3-matplotlib")
    return sorted(set(files))


def model_facts(outdir):
    """The harness's model facts the run planned with (DIR/models.json), else asked of the harness now; None (said on
    stderr) when neither is there."""
    try:
        return Facts(json.loads((outdir / "models.json").read_text()))
    except (OSError, ValueError, HarnessError):
        pass
    try:
        return Facts.from_harness(default_harness())
    except HarnessError as e:
        log(f"reproduce: no speed-against-size plot: no {outdir / 'models.json'} and {e}")
        return None


def speed_plot(plots, d):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    threads = d.speed_threads()
    if not threads:
        return []
    facts = model_facts(d.dir)
    if facts is None:
        return []
    plt.rcParams["svg.hashsalt"] = "ternbench"
    fig, axes = plt.subplots(1, len(threads), figsize=(max(9.0, 7.0 * len(threads)), 5.6), squeeze=False)
    params = {m: facts[m].params() for m in LADDER}
    for ax, t in zip(axes[0], threads):
        pubs = published_for(t, d.ncpu) or [("[A1] Table 4", A1_T4)]
        for (pname, pub), ls in zip(pubs, ("--", ":")):
            for kind, color in (("fp16", "C0"), ("ternary", "C3")):
                ms = [m for m in LADDER if m in pub[kind]]
                ax.plot([params[m] for m in ms], [pub[kind][m] for m in ms], ls, color=color, alpha=0.75,
                        label=f"published {'llama.cpp fp16' if kind == 'fp16' else 'bitnet.cpp'}, {pname.split(' (')[0]}")
        for kind, color in (("fp16", "C0"), ("ternary", "C3")):
            pts = []
            for m in LADDER:
                if kind == "fp16":
                    x = d.best(m, "fp16", t)
                else:
                    x = max([y for y in (d.best(m, "i2s", t), d.best(m, "tl2", t)) if y and y.tps == y.tps],
                            key=lambda y: y.tps, default=None)
                if x and x.tps > 0:
                    pts.append((params[m], x.tps, x.extrapolated, m))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "-", color=color,
                        label=f"measured {'fp16' if kind == 'fp16' else 'ternary (best of i2s, tl2)'}")
                for x, y, ext, m in pts:
                    ax.plot([x], [y], "o", color=color, markerfacecolor="white" if ext else color, markersize=7)
        for m in LADDER:
            ax.annotate(size_label(m), (params[m], 0), xycoords=("data", "axes fraction"), xytext=(2, 3),
                        textcoords="offset points", rotation=90, fontsize=7, color="0.45")
        ax.set(xscale="log", yscale="log", xlabel="model size (non-embedding parameters)", ylabel="generation tokens/s",
               title=thread_label(t, d.ncpu))
        ax.grid(alpha=0.3, which="both")
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], marker="o", color="0.3", markerfacecolor="white", linestyle="none"))
        labels.append("hollow: extrapolated from layer subsets")
        ax.legend(handles, labels, fontsize=7)
    date = max((str(r.get("time", "")) for r in d.rows), default="")[:10]
    fig.suptitle(f"[A1] Tables 4/5: generation speed against model size, ternary vs fp16\n"
                 f"measured: {d.machine.get('cpu', '?')} ({d.ncpu} logical CPUs), {date}\npublished: {PAPER_CPU}", fontsize=10)
    fig.tight_layout()
    plots.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in ("png", "svg"):
        path = plots / f"speed_vs_size_paper.{ext}"
        fig.savefig(path, dpi=120, metadata={"Date": None} if ext == "svg" else None)
        out.append(str(path))
    plt.close(fig)
    return out

