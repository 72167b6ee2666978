"""The plan: which harness commands reproduce each section on this machine, in what order, and about how long
each takes. Model facts and the cached bandwidth come from the harness (facts.py); nothing here is measured."""
import json
import os
import shlex
from pathlib import Path

from .common import display_path, gb, hms, logical_cpus, mem_available
from .facts import cached_roofline
from .published import A3_MODELS, ENERGY_LADDER, FP16_UP_TO, KERNEL_FORMATS, KERNEL_MODELS, LADDER, MEMORY_FORMATS

SECTIONS = ("energy", "speed", "kernels", "memory", "latency", "lossless", "peers")

# Time model of the plan (calibrated on a 2-core AVX-512 VM; the run rescales the rest from measured steps).
EFF_TG = 0.55       # share of the measured read bandwidth a decode token achieves
# Drawing the synthetic weights and packing them dominates a --quick run (measured: ladder-7B on 2 and 4 layers, 2B4T).
PACK_NS = {"fp32": 9.0, "fp16": 11.0, "int8": 4.0, "i2s": 4.5, "tl1": 5.5, "tl2": 5.5}  # ns per weight x 2 cores
# ... at hidden 2560 (2B4T); per weight it grows about in proportion to the hidden size above that (4096: ~2x, 8192: ~3x).
EMB_NS = 2.5        # ns per embedding parameter (drawn, converted to fp16) x 2 cores
PROBE_S = 0.4       # the sweep's read-bandwidth probe, per thread count and kernel
START_S = 0.5
REF_EFF = 0.5       # lossless: fp32 reference (one thread) share of one thread's read bandwidth
DEFAULT_BW = 20.0   # GB/s when no roofline is cached (dry run)


def pack_ns(fmt, mm):
    return PACK_NS[fmt] * max(1.0, mm.hidden / 2560)


class Step:
    def __init__(self, section, title, argv, kind, meta=None, fallback=None):
        self.section, self.title, self.argv, self.kind = section, title, argv, kind
        self.meta = meta or {}
        self.fallback = fallback or []
        self.est = 0.0

    def cmd(self):
        return shlex.join([display_path(a) if a.startswith("/") else a for a in self.argv])


class Planner:
    """facts: facts.Facts, the harness's model presets."""

    def __init__(self, args, harness, data_file, facts):
        self.args, self.h, self.data, self.facts = args, harness, str(data_file), facts
        self.ncpu = logical_cpus()
        self.threads = resolve_threads(args.threads, self.ncpu)
        self.tmax = max(self.threads)
        self.avail = mem_available()
        self.quick = args.quick
        self.tg = args.tg or (16 if args.quick else 128)
        self.reps = args.reps or (1 if args.quick else 3)
        self.layers_ab = [int(x) for x in args.subset_layers.split(",")] if args.subset_layers else None
        self.subset_budget = args.subset_budget or (5e8 if args.quick else 4e9)
        self.cap = args.size_cap = args.size_cap or 1e9
        self.bw, self.bw_source = cached_roofline(harness, sorted(set(self.threads + [1])))
        self.notes = []

    # -- memory and sizes
    def fits(self, m, fmt, layers=None, ctx=None):
        if self.avail is None:
            return True, "MemAvailable unknown"
        need = self.facts[m].memory(fmt, layers, ctx or self.tg)
        return need <= 0.85 * self.avail, f"{fmt} needs ~{gb(need):.1f} GB of {gb(self.avail):.1f} GB available"

    def subset_reason(self, m, fmt):
        ok, why = self.fits(m, fmt)
        if not ok:
            return f"does not fit in memory ({why})"
        if self.quick and self.facts[m].params() > self.cap:
            return f"quick mode: above the {self.cap / 1e9:g}B-parameter cap"
        return None

    # -- harness command lines
    def sweep(self, m, kernels, threads, pp, tg, reps, layers=None, head=None):
        argv = [self.h, "-m", m, "-k", ",".join(kernels), "-t", ",".join(map(str, threads)), "-p", str(pp), "-n", str(tg),
                "-r", str(reps)]
        if layers:
            argv += ["--layers", str(layers)]
        if head:
            argv += ["--head", head]
        return argv + ["--out", self.data, "-o", "jsonl", "-q"]

    def speed_steps(self, section, models, kernels_of, threads, check=()):
        steps = []
        for m in models:
            full, sub, reasons = [], [], {}
            for k in kernels_of(m):
                why = self.subset_reason(m, k)
                (sub if why else full).append(k)
                if why:
                    reasons[k] = why
            L = self.facts[m].layers
            t = ",".join(map(str, threads))
            # The extrapolation check compares two measurements, each as noisy as the machine: at least 3 reps
            # (a single --quick repetition once put a full model 35% off its own subsets on a bandwidth swing).
            reps = max(self.reps, 3) if m in check else self.reps
            subset = lambda ks, why: [  # noqa: E731
                Step(section, f"{m} {','.join(ks)}, first {a} of {L} layers, tg{self.tg} r{reps}, {t} threads ({why})",
                     self.sweep(m, ks, threads, 0, self.tg, reps, layers=a), "sweep",
                     {"model": m, "kernels": ks, "threads": threads, "layers": a, "tg": self.tg, "reps": reps})
                for a in self.subsets(m)]
            if full:
                fb = [] if m in check else subset(full, "fallback: the harness refused the full model")
                steps.append(Step(section, f"{m} {','.join(full)}, all {L} layers, tg{self.tg} r{reps}, {t} threads",
                                  self.sweep(m, full, threads, 0, self.tg, reps), "sweep",
                                  {"model": m, "kernels": full, "threads": threads, "layers": L, "tg": self.tg,
                                   "reps": reps}, fallback=fb))
            if m in check and full:  # --quick: the check on i2s and fp16 only
                steps += subset([k for k in full if not self.quick or k != "tl2"], "extrapolation check")
            if sub:
                why = "; ".join(f"{k}: {reasons[k]}" for k in sub) if len(set(reasons.values())) > 1 else reasons[sub[0]]
                steps += subset(sub, why)
        return steps

    def speed_kernels(self, m):
        """i2s and tl2 (the faster is reported) and fp16 up to 13B, as [A1]; --quick: no tl2 above the size cap."""
        fp16 = [] if LADDER.index(m) > LADDER.index(FP16_UP_TO) else ["fp16"]
        if self.quick and self.facts[m].params() > self.cap:
            note = (f"quick mode: above the {self.cap / 1e9:g}B cap the ternary figure is i2s alone (tl2's layer subsets "
                    f"would cost about as much again; tl2 runs on the sizes measured in full, and the full mode runs both)")
            if note not in self.notes:
                self.notes.append(note)
            return ["i2s"] + fp16
        return ["i2s", "tl2"] + fp16

    def subsets(self, m):
        """Layer counts (a, b) of a model's extrapolation runs: b as many layers as stay within the weight budget
        (at least 2, at most half the model), a = b / 2, so the layers' share of the time stands clear of the
        noise without drawing more weights than the budget; --subset-layers fixes them instead."""
        L = self.facts[m].layers
        if self.layers_ab:
            return [x for x in self.layers_ab if x < L]
        b = max(2, min(L // 2, int(self.subset_budget // self.facts[m].layer_params)))
        return [max(1, b // 2), b]

    def subsets_text(self):
        if self.layers_ab:
            return f"layers {','.join(map(str, self.layers_ab))}"
        return (f"per model, b = as many layers as stay within {self.subset_budget / 1e9:g}B weights (at least 2, at "
                f"most half the model) and a = b/2")

    def check_sizes(self):
        want = ["ladder-700M", "ladder-1B"] if self.quick else ["ladder-700M", "ladder-3.8B", "ladder-7B"]
        full = [m for m in LADDER if all(self.subset_reason(m, k) is None for k in ("i2s", "tl2", "fp16"))]
        chosen = [m for m in want if m in full]
        for m in reversed(full):
            if len(chosen) >= 2:
                break
            if m not in chosen:
                chosen.append(m)
        return chosen

    def plan(self, sections):
        H = self.h
        steps = []
        if "energy" in sections:
            steps.append(Step("energy", "energy sources on this machine", [H, "energy"], "text"))
            for m in A3_MODELS:
                steps.append(Step("energy", f"estimate {m}", [H, "energy", "--estimate", "--model", m, "--json"], "json",
                                  {"model": m, "linear": "auto"}))
            for m in ENERGY_LADDER:
                for lin in ("auto", "fp16"):
                    argv = [H, "energy", "--estimate", "--model", m, "--json"] + (["--linear", "fp16"] if lin == "fp16" else [])
                    steps.append(Step("energy", f"estimate {m}, linear layers {'as fp16' if lin == 'fp16' else 'ternary'}",
                                      argv, "json", {"model": m, "linear": lin}))
        check = self.check_sizes()
        self.check = check
        if "speed" in sections:
            steps += self.speed_steps("speed", LADDER,
                                      self.speed_kernels,
                                      self.threads, check)
        if "kernels" in sections:
            done = {"i2s", "tl2", "fp16"} if "speed" in sections else set()
            steps += self.speed_steps("kernels", KERNEL_MODELS, lambda m: [k for k in KERNEL_FORMATS if k not in done],
                                      [self.tmax])
        if "memory" in sections:
            for m in A3_MODELS:
                fmts = MEMORY_FORMATS if (not self.quick or m == "2B4T") else ["fp16", "i2s"]
                fit = [f for f in fmts if self.fits(m, f, ctx=1)[0]]
                for f in fmts:
                    if f not in fit:
                        self.notes.append(f"memory: {m} {f} left out: {self.fits(m, f, ctx=1)[1]}")
                # One process per format: a kernel's peak RSS must not include what an earlier kernel of the same
                # process left allocated (the harness resets the peak, but freed memory can stay mapped).
                for f in fit:
                    steps.append(Step("memory", f"{m} {f}: allocation and peak RSS (pp1, tg1, 1 rep)",
                                      self.sweep(m, [f], [self.tmax], 1, 1, 1), "sweep",
                                      {"model": m, "kernels": [f], "threads": [self.tmax], "layers": self.facts[m].layers,
                                       "tg": 1, "pp": 1, "reps": 1}))
        if "latency" in sections:
            reps = self.args.reps or (1 if self.quick else 3)
            for head in ("fp16", "int8"):
                steps.append(Step("latency", f"2B4T i2s, {head} head, tg128 r{reps}, {self.tmax} threads",
                                  self.sweep("2B4T", ["i2s"], [self.tmax], 0, 128, reps, head=None if head == "fp16" else head),
                                  "sweep", {"model": "2B4T", "kernels": ["i2s"], "threads": [self.tmax], "tg": 128,
                                            "reps": reps, "head": head, "layers": self.facts["2B4T"].layers}))
        if "lossless" in sections:
            m = self.args.lossless_model or ("ladder-125M" if self.quick else "ladder-700M")
            n = self.args.lossless_tokens or (16 if self.quick else 100)
            p = self.args.lossless_prompts or (20 if self.quick else 1000)
            budget = self.args.lossless_budget
            if not self.args.lossless_prompts and not self.quick and self.lossless_time(m, p, n) > budget:
                fit = max(20, int(budget / self.lossless_time(m, 1, n) // 10 * 10))
                self.notes.append(f"lossless: [A1]'s 1000 prompts x {n} tokens would take about "
                                  f"{hms(self.lossless_time(m, p, n))} here; this run uses {fit} prompts to stay within "
                                  f"--lossless-budget {hms(budget)} (--lossless-prompts 1000 for the paper's count)")
                p = min(p, fit)
            steps.append(Step("lossless", f"{m}: {p} prompts x {n} tokens, i2s,tl1,tl2,int8 against the fp32 reference",
                              [H, "lossless", "-m", m, "-k", "i2s,tl1,tl2,int8", "--prompts", str(p), "--tokens", str(n),
                               "--prompt-len", "8", "--json"], "json", {"model": m, "prompts": p, "tokens": n}))
        if "peers" in sections and self.args.peers:
            steps += self.peer_steps(self.args.peers)
        for s in steps:
            self.estimate(s)
        return steps

    def peer_steps(self, files):
        """llama-bench files imported as rows (their own CPU kept), then ternbench on 2B4T with their lengths and
        thread counts, so the report can set them side by side."""
        for f in files:
            if not os.path.isfile(f):
                raise ValueError(f"--peers: no such file: {f}")
        threads, pps, tgs = set(), [], []
        for f in files:  # the lengths and thread counts the peers ran; the harness import checks the files properly
            try:
                text = Path(f).read_text(errors="replace").strip()
                recs = json.loads(text) if text.startswith("[") or text.startswith("{") and "\n{" not in text else \
                    [json.loads(x) for x in text.splitlines() if x.strip()]
            except ValueError:
                continue
            for r in recs if isinstance(recs, list) else [recs]:
                if isinstance(r, dict) and isinstance(r.get("n_threads"), int) and r["n_threads"] > 0:
                    threads.add(r["n_threads"])
                    if r.get("n_prompt") and not r.get("n_gen"):
                        pps.append(r["n_prompt"])
                    if r.get("n_gen") and not r.get("n_prompt"):
                        tgs.append(r["n_gen"])
        mode = lambda v, dflt: max(set(v), key=v.count) if v else dflt  # noqa: E731
        pp, tg = mode(pps, 128), mode(tgs, 32)
        over = sorted(t for t in threads if t > self.ncpu)
        if over:
            self.notes.append(f"peers: the peers also ran {', '.join(map(str, over))} threads, more than this machine's "
                              f"{self.ncpu} logical CPUs; ternbench is not run there")
        ts = sorted(t for t in threads if t <= self.ncpu) or sorted({1, self.tmax})
        ks = ["i2s", "tl2"] if self.quick else ["i2s", "tl2", "tl1", "int8", "fp16"]
        if self.quick:
            self.notes.append("peers: quick mode runs ternbench's i2s and tl2 beside the peers (the full mode adds tl1, "
                              "int8 and fp16)")
        paths = [str(Path(f).resolve()) for f in files]
        return [Step("peers", f"import {len(files)} llama-bench file{'s' * (len(files) > 1)}",
                     [self.h, "import", *paths, "--out", self.data, "-o", "jsonl"], "import", {"files": paths}),
                Step("peers", f"2B4T {','.join(ks)}, pp{pp} and tg{tg} r{self.reps}, {','.join(map(str, ts))} threads "
                     f"(the peers' settings)", self.sweep("2B4T", ks, ts, pp, tg, self.reps), "sweep",
                     {"model": "2B4T", "kernels": ks, "threads": ts, "pp": pp, "tg": tg, "reps": self.reps,
                      "layers": self.facts["2B4T"].layers})]

    # -- time model
    def bw_at(self, t):
        if t in self.bw:
            return self.bw[t][0]
        if self.bw:  # nearest cached thread count, scaled down when fewer threads
            near = min(self.bw, key=lambda x: abs(x - t))
            return self.bw[near][0] * min(1.0, t / near) if t < near else self.bw[near][0]
        return DEFAULT_BW

    def estimate(self, s):
        for f in s.fallback:
            self.estimate(f)
        cores = max(1, min(self.ncpu, 64)) / 2.0
        m = s.meta.get("model")
        if s.kind in ("text", "import") or (s.kind == "json" and s.section == "energy"):
            s.est = 0.2
        elif s.kind == "sweep":
            mm, L = self.facts[m], s.meta.get("layers")
            est = START_S
            for k in s.meta["kernels"]:
                est += (mm.params(L) * pack_ns(k, mm) + mm.emb_params * EMB_NS) * 1e-9 / cores
                tg, pp, reps = s.meta.get("tg", 0), s.meta.get("pp", 0), s.meta.get("reps", 1)
                head = "int8" if s.meta.get("head") == "int8" else "fp16"
                for t in s.meta["threads"]:
                    per_tok = mm.bytes_per_token(k, L, tg, head) / (self.bw_at(t) * 1e9 * EFF_TG)
                    if tg:
                        est += PROBE_S + (reps + 1) * tg * per_tok
                    if pp:
                        est += (reps + 1) * per_tok * max(1, pp / 8)
            s.est = est
        elif s.section == "lossless":
            s.est = self.lossless_time(m, s.meta["prompts"], s.meta["tokens"])
        return s.est

    def lossless_time(self, m, p, n):
        """The fp32 reference (one thread, 4 bytes per weight) then each kernel, fp32 head on both sides."""
        mm, cores = self.facts[m], max(1, min(self.ncpu, 64)) / 2.0
        ref_tok = mm.bytes_per_token("fp32", None, 0, "fp32") / (self.bw_at(1) * 1e9 * REF_EFF)
        est = mm.params() * 3e-9 + p * (n + 1) * ref_tok
        for k in ("i2s", "tl1", "tl2", "int8"):
            est += (mm.params() * pack_ns(k, mm) + mm.emb_params * EMB_NS) * 1e-9 / cores
            est += p * (n + 1) * mm.bytes_per_token(k, None, n, "fp32") / (self.bw_at(self.tmax) * 1e9 * EFF_TG)
        return est

    def how_estimated(self):
        bw = ", ".join(f"{t} thread{'s' * (t > 1)} {self.bw_at(t):.1f} GB/s" for t in sorted(set(self.threads + [1])))
        src = (f"read bandwidth from the harness's cached roofline ({self.bw_source}): {bw}" if self.bw else
               f"no cached roofline ({self.bw_source}): assumed {DEFAULT_BW:g} GB/s (a run measures it first)")
        return (f"decode time = (reps + 1 warm-up) x tokens x bytes read per token (weights at the format's bits, the "
                f"fp16 head, the KV cache) / ({EFF_TG:.0%} of the read bandwidth); drawing and packing the synthetic weights "
                f"~{PACK_NS['int8']:g}-{PACK_NS['fp16']:g} ns per weight on 2 cores (more for wider layers); lossless: the fp32 reference reads 4 bytes per parameter "
                f"per token on one thread. {src}. Once running, the estimate of what is left is rescaled by measured/estimated "
                f"time of the finished steps.")


def resolve_threads(spec, ncpu):
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        t = ncpu if part == "max" else int(part)
        if t < 1:
            raise ValueError(f"--threads: {part!r} is not a thread count")
        if t not in out:
            out.append(t)
    if not out:
        raise ValueError("--threads: empty list")
    return sorted(out, reverse=True)
