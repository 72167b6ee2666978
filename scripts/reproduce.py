#!/usr/bin/env python3
"""Reproduce the published figures on this machine: [A1] Tables 4, 5 (decode speed against model size, ternary
against fp16), 6 (energy per token) and 7 (lossless), [A2] Table 7 (speed per kernel), [A3] Table 1 (memory,
decode latency, energy estimate). Every measurement runs build/harness/harness in a subprocess; sweep rows are
appended to DIR/data.jsonl as they arrive, the other outputs to DIR/steps.jsonl, and DIR/REPORT.md (with plots
in DIR/plots) is rendered from those files, so nothing measured is lost and --report-only renders again.

Usage: scripts/reproduce [--quick] [--out DIR] [--threads LIST] [--dry-run] [--report-only] [options]
The harness is $TERNBENCH_HARNESS when set, else build/harness/harness. See docs/reference.md §6 for the figures.
"""
import argparse
import datetime as dt
import json
import math
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = "ternbench-result-1"
SECTIONS = ("energy", "speed", "kernels", "memory", "latency", "lossless", "peers")

# ---------------------------------------------------------------------------------------------------------
# Published figures (docs/reference.md §6)
LADDER = ["ladder-125M", "ladder-350M", "ladder-700M", "ladder-1B", "ladder-1.5B", "ladder-2.5B", "ladder-3.8B",
          "ladder-7B", "ladder-13B", "ladder-30B", "ladder-70B", "ladder-100B"]
FP16_UP_TO = "ladder-13B"  # [A1] ran llama.cpp fp16 up to 13B
A1_T4 = {"fp16": dict(zip(LADDER, [164.04, 56.67, 30.73, 22.31, 15.02, 11.07, 5.85, 3.30, 1.78])),
         "ternary": dict(zip(LADDER, [389.08, 172.95, 119.08, 86.50, 67.12, 46.33, 30.51, 18.75, 10.99, 5.10, 2.44, 1.70]))}
A1_T5 = {"fp16": dict(zip(LADDER, [119.84, 41.57, 18.56, 13.92, 8.99, 6.95, 3.49, 1.92, 1.30])),
         "ternary": dict(zip(LADDER, [316.35, 137.68, 80.13, 57.76, 44.69, 29.41, 20.51, 12.41, 7.09, 3.23, 1.51, 0.97]))}
PAPER_CPU = "i7-13700H (14 cores / 20 threads, 64 GB)"
# [A1] Table 6, J/token (fp16 llama.cpp, bitnet.cpp); the paper does not say how it was measured.
A1_T6 = {"i7": {"ladder-700M": (1.367, 0.384), "ladder-7B": (11.305, 2.017), "ladder-70B": (None, 17.33)},
         "M2 Ultra": {"ladder-700M": (0.314, 0.140), "ladder-7B": (3.013, 1.068), "ladder-70B": (28.02, 8.42)}}
# [A2] Table 7, tokens/s of generation on the i7: ternbench format -> published column.
A2_T7 = {"ladder-700M": {"fp16": 30.73, "i2s": 125.37, "tl2": 126.99, "TQ1_0": 114.20, "TQ2_0": 123.94},
         "ladder-7B": {"fp16": 3.30, "i2s": 20.62, "TQ2_0": 19.92}}
A2_NAMES = {"fp16": "F16", "i2s": "I2_S", "tl1": "TL1_0", "tl2": "TL2_0", "int8": "(int8: ternbench only)"}
A3_MODELS = ["2B4T", "llama3.2-1B", "gemma3-1B", "qwen2.5-1.5B", "smollm2-1.7B", "minicpm-2B"]
A3_NAMES = dict(zip(A3_MODELS, ["BitNet b1.58 2B4T", "LLaMA 3.2 1B", "Gemma-3 1B", "Qwen2.5 1.5B", "SmolLM2 1.7B",
                                "MiniCPM 2B"]))
A3_MEMORY_GB = dict(zip(A3_MODELS, [0.4, 2, 1.4, 2.6, 3.2, 4.8]))
A3_LATENCY_MS = dict(zip(A3_MODELS, [29, 48, 41, 65, 67, 124]))
A3_ENERGY_J = dict(zip(A3_MODELS, [0.028, 0.258, 0.186, 0.347, 0.425, 0.649]))
A3_CPU = "i7-13800H, 8 threads"
A1_T7 = [("I2_S", "i2s", 1.0), ("TL1", "tl1", 1.0), ("TL2", "tl2", 1.0), ("TQ1_0 (llama.cpp)", None, 0.014),
         ("TQ2_0 (llama.cpp)", None, 0.014)]
ENERGY_LADDER = ["ladder-700M", "ladder-7B", "ladder-70B"]
KERNEL_MODELS = ["ladder-700M", "ladder-7B"]
MEMORY_FORMATS = ["fp32", "fp16", "int8", "i2s", "tl2"]
KERNEL_FORMATS = ["int8", "i2s", "tl1", "tl2", "fp16"]
BITS = {"fp32": 32.0, "fp16": 16.0, "int8": 8.0, "i2s": 2.0, "tl1": 2.0, "tl2": 1.67}

# Time model of the plan (calibrated on a 2-core AVX-512 VM; the run rescales the rest from measured steps).
EFF_TG = 0.55       # share of the measured read bandwidth a decode token achieves
# Drawing the synthetic weights and packing them dominates a --quick run (measured: ladder-7B on 2 and 4 layers, 2B4T).
PACK_NS = {"fp32": 9.0, "fp16": 11.0, "int8": 4.0, "i2s": 4.5, "tl1": 5.5, "tl2": 5.5}  # ns per weight x 2 cores
# ... at hidden 2560 (2B4T); per weight it grows about in proportion to the hidden size above that (4096: ~2x, 8192: ~3x).


def pack_ns(fmt, mm):
    return PACK_NS[fmt] * max(1.0, mm.hidden / 2560)
EMB_NS = 2.5        # ns per embedding parameter (drawn, converted to fp16) x 2 cores
PROBE_S = 0.4       # the sweep's read-bandwidth probe, per thread count and kernel
START_S = 0.5
REF_EFF = 0.5       # lossless: fp32 reference (one thread) share of one thread's read bandwidth
DEFAULT_BW = 20.0   # GB/s when no roofline is cached (dry run)
BUSY_SHARE = 0.10   # other processes taking this share of the CPUs during a step: its timings are flagged


def log(msg=""):
    print(msg, file=sys.stderr, flush=True)


def hms(s):
    s = max(0, int(round(s)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def gb(x):
    return x / 1e9


# ---------------------------------------------------------------------------------------------------------
# Model shapes (configs/models), for memory and time estimates
class Model:
    def __init__(self, name):
        c = json.loads((ROOT / "configs" / "models" / f"{name}.json").read_text())
        self.name, self.c = name, c
        h, hd = c["hidden"], c["head_dim"]
        self.layers, self.hidden, self.vocab = c["layers"], h, c["vocab"]
        self.kv_dim = c["kv_heads"] * hd
        self.layer_params = h * c["heads"] * hd * 2 + 2 * h * self.kv_dim + 3 * h * c["ffn"]
        self.emb_params = c["vocab"] * h * (1 if c.get("tied_embedding", True) else 2)

    def params(self, layers=None):
        return self.layer_params * (layers or self.layers)

    def memory(self, fmt, layers=None, ctx=128, head_bytes=2):
        """Bytes a sweep of this kernel holds: linear weights, embedding/head at fp16, KV cache, some slack."""
        L = layers or self.layers
        return (self.params(L) * BITS[fmt] / 8 + self.emb_params * head_bytes + 2 * L * self.kv_dim * 4 * ctx
                + 4 * ctx * (self.hidden * 4 + self.vocab) + 0.3e9)

    def bytes_per_token(self, fmt, layers=None, n=128, head_bytes=2.0):
        L = layers or self.layers
        return (self.params(L) * BITS[fmt] / 8 + self.vocab * self.hidden * head_bytes
                + 2 * L * self.kv_dim * 4 * (n + 1) / 2)


_models = {}


def model(name):
    if name not in _models:
        _models[name] = Model(name)
    return _models[name]


def size_label(name):
    return name.replace("ladder-", "")


# ---------------------------------------------------------------------------------------------------------
# The machine and the plan
def mem_available():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def logical_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cached_roofline():
    """{threads: (read GB/s, int8 GMAC/s)} from the harness's roofline cache, read without running anything."""
    d = os.environ.get("TERNBENCH_CACHE_DIR") or (os.environ.get("XDG_CACHE_HOME") and os.environ["XDG_CACHE_HOME"] + "/ternbench")
    d = d or (os.environ.get("HOME") and os.environ["HOME"] + "/.cache/ternbench") or ".ternbench-cache"
    path = Path(d) / f"roofline-{socket.gethostname()}.json"
    try:
        j = json.loads(path.read_text())
        return {int(p["threads"]): (float(p["read_gbs"]), float(p["int8_gmacs"])) for p in j["points"]}, str(path)
    except (OSError, ValueError, KeyError, TypeError):
        return {}, str(path)


def roofline_points(out):
    """{threads: (read GB/s, int8 GMAC/s)} from `harness roofline --json` (its "points")."""
    pts = {}
    for p in (out or {}).get("points", []):
        pts[int(p["threads"])] = (float(p["read_gbs"]), float(p["int8_gmacs"]))
    return pts


class Step:
    def __init__(self, section, title, argv, kind, meta=None, fallback=None):
        self.section, self.title, self.argv, self.kind = section, title, argv, kind
        self.meta = meta or {}
        self.fallback = fallback or []
        self.est = 0.0

    def cmd(self):
        return shlex.join([display_path(a) if a.startswith("/") else a for a in self.argv])


def display_path(p):
    try:
        if not Path(p).is_absolute():
            return str(p)
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


class Planner:
    def __init__(self, args, harness, data_file):
        self.args, self.h, self.data = args, harness, str(data_file)
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
        self.bw, self.bw_source = cached_roofline()
        self.notes = []

    # -- memory and sizes
    def fits(self, m, fmt, layers=None, ctx=None):
        if self.avail is None:
            return True, "MemAvailable unknown"
        need = model(m).memory(fmt, layers, ctx or self.tg)
        return need <= 0.85 * self.avail, f"{fmt} needs ~{gb(need):.1f} GB of {gb(self.avail):.1f} GB available"

    def subset_reason(self, m, fmt):
        ok, why = self.fits(m, fmt)
        if not ok:
            return f"does not fit in memory ({why})"
        if self.quick and model(m).params() > self.cap:
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
            L = model(m).layers
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
        if self.quick and model(m).params() > self.cap:
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
        L = model(m).layers
        if self.layers_ab:
            return [x for x in self.layers_ab if x < L]
        b = max(2, min(L // 2, int(self.subset_budget // model(m).layer_params)))
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
                                      {"model": m, "kernels": [f], "threads": [self.tmax], "layers": model(m).layers,
                                       "tg": 1, "pp": 1, "reps": 1}))
        if "latency" in sections:
            reps = self.args.reps or (1 if self.quick else 3)
            for head in ("fp16", "int8"):
                steps.append(Step("latency", f"2B4T i2s, {head} head, tg128 r{reps}, {self.tmax} threads",
                                  self.sweep("2B4T", ["i2s"], [self.tmax], 0, 128, reps, head=None if head == "fp16" else head),
                                  "sweep", {"model": "2B4T", "kernels": ["i2s"], "threads": [self.tmax], "tg": 128,
                                            "reps": reps, "head": head, "layers": model("2B4T").layers}))
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
                      "layers": model("2B4T").layers})]

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
            mm, L = model(m), s.meta.get("layers")
            est = START_S
            for k in s.meta["kernels"]:
                est += (mm.params(L) * pack_ns(k, mm) + mm.emb_params * EMB_NS) * 1e-9 / cores
                tg, pp, reps = s.meta.get("tg", 0), s.meta.get("pp", 0), s.meta.get("reps", 1)
                hb = 1.0 if s.meta.get("head") == "int8" else 2.0
                for t in s.meta["threads"]:
                    per_tok = mm.bytes_per_token(k, L, tg, hb) / (self.bw_at(t) * 1e9 * EFF_TG)
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
        mm, cores = model(m), max(1, min(self.ncpu, 64)) / 2.0
        ref_tok = 4 * (mm.params() + mm.vocab * mm.hidden) / (self.bw_at(1) * 1e9 * REF_EFF)
        est = mm.params() * 3e-9 + p * (n + 1) * ref_tok
        for k in ("i2s", "tl1", "tl2", "int8"):
            est += (mm.params() * pack_ns(k, mm) + mm.emb_params * EMB_NS) * 1e-9 / cores
            est += p * (n + 1) * mm.bytes_per_token(k, None, n, 4.0) / (self.bw_at(self.tmax) * 1e9 * EFF_TG)
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


# ---------------------------------------------------------------------------------------------------------
# Running
def read_jsonl(path, warn=True):
    rows = []
    try:
        lines = [s for s in Path(path).read_text(errors="replace").splitlines() if s.strip()]
    except OSError:
        return rows
    for i, line in enumerate(lines, 1):
        try:
            r = json.loads(line)
            if isinstance(r, dict):
                rows.append(r)
        except ValueError:
            if warn:
                log(f"reproduce: {path}:{i}: skipping damaged line")
    return rows


def append_jsonl(path, obj):
    with open(path, "a") as f:
        f.write(json.dumps(obj, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def one_line_error(stderr_text, rc):
    lines = [s.strip() for s in stderr_text.splitlines() if s.strip()]
    msg = lines[-1] if lines else ""
    for s in reversed(lines):  # the harness's own error line, if any
        if s.startswith("harness:") or "error" in s.lower():
            msg = s
            break
    return (msg[:300] + ("..." if len(msg) > 300 else "")) or f"exit code {rc}, no message"


class Runner:
    def __init__(self, outdir, planner, steps, resume):
        self.out, self.p, self.steps = outdir, planner, steps
        self.data = outdir / "data.jsonl"
        self.rec_file = outdir / "steps.jsonl"
        self.done_cmds = set()
        if resume:
            self.done_cmds = {r["cmd"] for r in read_jsonl(self.rec_file, False)
                              if r.get("status") == "ok" and (r.get("others_cpu") or 0) < BUSY_SHARE}
        self.actual = self.estimated = 0.0
        self.child = None

    def scale(self):
        if self.estimated < 5:
            return 1.0
        return min(5.0, max(0.3, self.actual / self.estimated))

    def left(self, i):
        return sum(s.est for s in self.steps[i:]) * self.scale()

    def run(self):
        t_start = time.time()
        i = 0
        failures = 0
        while i < len(self.steps):
            s = self.steps[i]
            log(f"reproduce [{i + 1}/{len(self.steps)}, {len(self.steps) - i - 1} after this, about {hms(self.left(i))} left] "
                f"{s.section}: {s.title} (est. {hms(s.est * self.scale())})")
            if s.cmd() in self.done_cmds:
                log("  already done in an earlier run of this directory (--resume): skipped")
                i += 1
                continue
            rec = self.execute(s)
            append_jsonl(self.rec_file, rec)
            if rec["status"] == "interrupted":
                raise KeyboardInterrupt
            if rec["status"] != "ok":
                failures += 1
                if s.fallback and re.search(r"needs .* available", rec.get("error", "")):
                    log(f"  -> measuring on layer subsets instead ({len(s.fallback)} steps added)")
                    self.steps[i + 1:i + 1] = s.fallback
            if s.section == "roofline" and rec["status"] == "ok":
                self.p.bw.update(roofline_points(rec.get("output")))
                for later in self.steps[i + 1:]:
                    self.p.estimate(later)
            self.actual += rec["elapsed_s"]
            self.estimated += s.est
            if s.kind == "sweep":  # the report stays current: never lose what is measured
                try:
                    render_report(self.out, plots=False)
                except Exception as e:  # noqa: BLE001 - a report bug must not stop the measurements
                    log(f"  (report not updated: {type(e).__name__}: {e})")
            i += 1
        return time.time() - t_start, failures

    def execute(self, s):
        rec = {"section": s.section, "title": s.title, "cmd": s.cmd(), "argv": s.argv, "kind": s.kind, "meta": s.meta,
               "estimate_s": round(s.est, 1), "started": utc_iso()}
        t0 = time.time()
        rows_before = len(read_jsonl(self.data, False))
        cpu0, kids0 = cpu_busy_seconds(), os.times()
        seen = rows_before
        errf = self.out / ".stderr.tmp"
        outf = self.out / ".stdout.tmp"
        if not (os.path.isfile(s.argv[0]) and os.access(s.argv[0], os.X_OK)):
            rec.update(status="failed", rc=None, elapsed_s=0.0,
                       error=f"harness not found or not executable: {s.argv[0]} (build it, or set TERNBENCH_HARNESS)")
            log(f"  FAILED: {rec['error']}")
            return rec
        interrupted = False
        with open(errf, "w") as ef, open(outf, "w") as of:
            self.child = subprocess.Popen(s.argv, stdout=of, stderr=ef, cwd=ROOT)
            rec["pid"] = self.child.pid
            pos, last_beat = 0, t0
            try:
                while True:
                    try:
                        rc = self.child.wait(timeout=1.0)
                        break
                    except subprocess.TimeoutExpired:
                        pass
                    seen = self.relay_rows(seen)
                    pos = self.relay_stderr(errf, pos, s)
                    if time.time() - last_beat >= 30:
                        last_beat = time.time()
                        log(f"  ... {hms(time.time() - t0)} so far (estimated {hms(s.est * self.scale())})")
            except KeyboardInterrupt:
                interrupted = True
                log("  interrupted: stopping the harness (it keeps every finished row)...")
                try:
                    self.child.send_signal(signal.SIGINT)
                    rc = self.child.wait(timeout=30)
                except (subprocess.TimeoutExpired, KeyboardInterrupt):
                    self.child.kill()
                    rc = self.child.wait()
        self.child = None
        self.relay_rows(seen)
        err = errf.read_text(errors="replace")
        out = outf.read_text(errors="replace")
        for f in (errf, outf):
            f.unlink(missing_ok=True)
        rec["elapsed_s"] = round(time.time() - t0, 2)
        rec["rc"] = rc
        rec["rows"] = len(read_jsonl(self.data, False)) - rows_before
        rec["others_cpu"] = others_cpu_share(cpu0, kids0, rec["elapsed_s"])
        if (rec["others_cpu"] or 0) >= BUSY_SHARE:
            log(f"  note: other processes took {rec['others_cpu']:.0%} of the CPUs during this step: its timings are disturbed")
        if interrupted:
            rec["status"] = "interrupted"
            return rec
        if rc != 0:
            rec.update(status="failed", error=one_line_error(err, rc))
            log(f"  FAILED (exit {rc}): {rec['error']}")
            return rec
        rec["status"] = "ok"
        if s.kind == "json":
            try:
                rec["output"] = json.loads(out)
            except ValueError as e:
                rec.update(status="failed", error=f"output is not JSON ({e}): {out.strip()[:120]!r}")
                log(f"  FAILED: {rec['error']}")
                return rec
        elif s.kind == "text":
            rec["text"] = out
        log(f"  done in {hms(rec['elapsed_s'])}" + (f", {rec['rows']} rows in {display_path(self.data)}" if s.kind in ("sweep", "import") else ""))
        return rec

    def relay_rows(self, seen):
        rows = read_jsonl(self.data, False)
        for r in rows[seen:]:
            if isinstance(r.get("median_ts"), (int, float)):
                lay = f" ({r.get('n_layers')}/{r.get('model_layers')} layers)" if r.get("n_layers") != r.get("model_layers") else ""
                n = r.get("n_gen") if r.get("test") == "tg" else r.get("n_prompt")
                log(f"  row: {r.get('model')}{lay} {r.get('kernel')} {r.get('test')}{n} {r.get('threads')} threads: "
                    f"{r['median_ts']:.2f} t/s")
        return max(seen, len(rows))

    def relay_stderr(self, errf, pos, s):
        try:
            with open(errf, errors="replace") as f:
                f.seek(pos)
                text = f.read()
        except OSError:
            return pos
        if "\n" not in text:
            return pos
        text = text[:text.rindex("\n") + 1]
        for line in text.splitlines():
            if line.strip() and s.section == "lossless":
                log(f"  | {line.strip()}")
        return pos + len(text.encode())


def cpu_busy_seconds():
    """Seconds all CPUs spent busy so far (/proc/stat), or None."""
    try:
        f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(x) for x in f]
        busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)  # all but idle and iowait
        return busy / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def others_cpu_share(cpu0, kids0, elapsed):
    """Share of the machine's CPU time that processes other than the harness used during a step (contention)."""
    cpu1, kids1 = cpu_busy_seconds(), os.times()
    if cpu0 is None or cpu1 is None or elapsed < 1:
        return None
    ours = (kids1.children_user + kids1.children_system - kids0.children_user - kids0.children_system
            + kids1.user + kids1.system - kids0.user - kids0.system)
    return round(max(0.0, (cpu1 - cpu0 - ours) / (elapsed * logical_cpus())), 3)


def utc_iso():
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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


class Report:
    def __init__(self, d):
        self.d = d
        self.lines = []
        self.head = []  # headline rows: (figure, published, measured, note)

    def add(self, *lines):
        self.lines.extend(lines)

    # ---- 1. speed
    def speed(self):
        d = self.d
        self.add("## 1. Speed against model size ([A1] Tables 4 and 5)", "")
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
        self.add(*failure_lines(d, "speed"))
        self.add(*commands_block(d, "speed"))

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
    def kernels(self):
        d = self.d
        self.add("## 2. Speed per kernel ([A2] Table 7)", "")
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
        self.add(*failure_lines(d, "kernels"))
        self.add(*commands_block(d, "kernels"))

    # ---- 3. energy
    def energy(self):
        d = self.d
        self.add("## 3. Energy ([A1] Table 6, [A3] Table 1)", "")
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
        self.add(*failure_lines(d, "energy"))
        self.add(*commands_block(d, "energy"))

    # ---- 4. memory
    def memory(self):
        d = self.d
        self.add("## 4. Memory ([A3] Table 1)", "")
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
        self.add(*failure_lines(d, "memory"))
        self.add(*commands_block(d, "memory"))

    # ---- 5. latency
    def latency(self):
        d = self.d
        self.add("## 5. Decode latency ([A3] Table 1)", "")
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
        self.add(*failure_lines(d, "latency"))
        self.add(*commands_block(d, "latency"))

    # ---- 7. peers
    def peers(self):
        d = self.d
        self.add("## 7. Peers: llama-bench beside ternbench on 2B4T", "")
        if not d.peers:
            self.add("No peer files given (`scripts/reproduce --peers FILE...` takes llama-bench output of llama.cpp, "
                     "bitnet.cpp or ik_llama.cpp: JSON, JSONL or CSV).", "")
            self.add(*failure_lines(d, "peers"))
            return
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
        self.add(*failure_lines(d, "peers"))
        self.add(*commands_block(d, "peers"))

    # ---- 6. lossless
    def lossless(self):
        d = self.d
        self.add("## 6. Lossless inference ([A1] Table 7)", "")
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
        self.add(*failure_lines(d, "lossless"))
        self.add(*commands_block(d, "lossless"))

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


def speed_plot(plots, d):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    threads = d.speed_threads()
    if not threads:
        return []
    plt.rcParams["svg.hashsalt"] = "ternbench"
    fig, axes = plt.subplots(1, len(threads), figsize=(max(9.0, 7.0 * len(threads)), 5.6), squeeze=False)
    params = {m: model(m).params() for m in LADDER}
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


# ---------------------------------------------------------------------------------------------------------
def sigterm(*_):
    raise KeyboardInterrupt


def default_outdir():
    return ROOT / "results" / f"reproduce-{socket.gethostname()}-{dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d')}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--quick", action="store_true", help="the <15-minute budget: tg16, 1 rep, layer subsets above "
                    "--size-cap, small lossless run, fewer memory formats")
    ap.add_argument("--out", type=Path, help="output directory (default results/reproduce-<host>-<UTC date>)")
    ap.add_argument("--threads", default="max,2", help="thread counts of the speed figures, 'max' = all logical CPUs "
                    "(default max,2: [A1] Tables 4 and 5)")
    ap.add_argument("--dry-run", action="store_true", help="print the plan and its time estimate, run nothing")
    ap.add_argument("--report-only", action="store_true", help="render REPORT.md and the plots from DIR's data again")
    ap.add_argument("--no-plots", action="store_true", help="write REPORT.md without (re)drawing the plots")
    ap.add_argument("--resume", action="store_true", help="skip steps that DIR/steps.jsonl records as done and "
                    "undisturbed (failed, interrupted and disturbed steps run again)")
    ap.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--tg", type=int, help="tokens per generation test (default 128; --quick 16)")
    ap.add_argument("--reps", type=int, help="repetitions after the warm-up (default 3; --quick 1)")
    ap.add_argument("--subset-layers", metavar="A,B", help="fixed layer counts of the extrapolation runs (default: per "
                    "model, from --subset-budget)")
    ap.add_argument("--subset-budget", type=float, metavar="WEIGHTS", help="weights the larger extrapolation run of a "
                    "model may draw (default 4e9; --quick 5e8): b = that many layers' worth, at least 2, at most half")
    ap.add_argument("--size-cap", type=float, help="--quick: models above this many non-embedding parameters run on "
                    "layer subsets (default 1e9: ladder-1B and smaller run in full)")
    ap.add_argument("--lossless-model", help="model of the lossless check (default ladder-700M; --quick ladder-125M)")
    ap.add_argument("--lossless-prompts", type=int, help="prompts of the lossless check (default 1000 as [A1]; --quick 20)")
    ap.add_argument("--lossless-budget", type=float, default=3600, metavar="SECONDS", help="full mode without "
                    "--lossless-prompts: fewer prompts than [A1]'s 1000 when those would take longer (default 3600)")
    ap.add_argument("--peers", nargs="+", metavar="FILE", help="llama-bench output (JSON, JSONL, CSV) of llama.cpp, "
                    "bitnet.cpp or ik_llama.cpp to set beside ternbench on 2B4T (section 7); ternbench runs with the "
                    "files' prompt/generation lengths and thread counts")
    ap.add_argument("--lossless-tokens", type=int, help="tokens per prompt (default 100 as [A1]; --quick 16)")
    args = ap.parse_args(argv)

    outdir = (args.out or default_outdir()).resolve()
    if args.report_only:
        if not outdir.is_dir():
            print(f"reproduce: {outdir} does not exist (--out DIR names a reproduce directory)", file=sys.stderr)
            return 2
        path = render_report(outdir, plots=not args.no_plots)
        print(path)
        return 0

    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = set(sections) - set(SECTIONS)
    if bad:
        print(f"reproduce: unknown section(s) {', '.join(sorted(bad))}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    harness = os.environ.get("TERNBENCH_HARNESS") or str(ROOT / "build" / "harness" / "harness")
    try:
        pl = Planner(args, harness, outdir / "data.jsonl")
        steps = pl.plan(sections)
    except (ValueError, OSError) as e:
        print(f"reproduce: {e}", file=sys.stderr)
        return 2
    if not args.dry_run:  # the bandwidth the estimates use: measured (or cached) first
        roof = Step("roofline", "read bandwidth per thread count (cached per machine, else measured)",
                    [harness, "roofline", "-t", ",".join(map(str, sorted(set(pl.threads + [1])))), "--json"], "json")
        roof.est = 0.5 if all(t in pl.bw for t in set(pl.threads + [1])) else 5.0 * len(set(pl.threads + [1]))
        steps.insert(0, roof)
    total = sum(s.est for s in steps)

    out = sys.stdout if args.dry_run else sys.stderr
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"reproduce: {'quick' if args.quick else 'full'} mode, {len(steps)} steps, harness {display_path(harness)}"
      + ("" if os.access(harness, os.X_OK) else " (NOT FOUND: build it first)"))
    p(f"machine: {pl.ncpu} logical CPUs, " + (f"{gb(pl.avail):.1f} GB available" if pl.avail else "available memory unknown"))
    if len(pl.threads) == 1 and "max" in args.threads and "2" in args.threads.split(","):
        p(f"threads: all threads and 2 threads coincide on this {pl.ncpu}-CPU machine: the speed figures run once at "
          f"{pl.threads[0]} threads and stand for both [A1] Tables 4 and 5")
    else:
        p(f"threads: {', '.join(map(str, pl.threads))}")
    p(f"output: {display_path(outdir)} (data.jsonl, steps.jsonl, REPORT.md, plots/)")
    p(f"settings: tg{pl.tg}, {pl.reps} rep(s) after one warm-up, pp skipped; layer subsets ({pl.subsets_text()}) for "
      f"models that do not fit" + (f" or exceed {args.size_cap / 1e9:g}B parameters" if args.quick else "")
      + f"; extrapolation checked on {', '.join(pl.check) if pl.check else 'none'}")
    for n in pl.notes:
        p(f"note: {n}")
    p("")
    p(f"{'#':>3}  {'section':<9} {'estimate':>12}  what")
    for i, s in enumerate(steps, 1):
        p(f"{i:>3}  {s.section:<9} {hms(s.est):>12}  {s.title}")
        if not args.dry_run:
            continue
        p(f"{'':>27}  $ {s.cmd()}")
    p("")
    p(f"estimated total: {hms(total)}" + (" (over the 15-minute quick budget)" if args.quick and total > 900 else ""))
    p(f"how: {pl.how_estimated()}")
    if args.dry_run:
        return 0

    outdir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, sigterm)
    plan = {"mode": "quick" if args.quick else "full", "threads": pl.threads, "logical_cpus": pl.ncpu, "tg": pl.tg,
            "reps": pl.reps, "subset_layers": pl.subsets_text(), "size_cap": args.size_cap, "sections": sections,
            "mem_available": pl.avail, "estimate_s": round(total), "started": utc_iso(), "notes": pl.notes,
            "check_sizes": pl.check, "how_estimated": pl.how_estimated(), "argv": sys.argv[1:]}
    (outdir / "plan.json").write_text(json.dumps(plan, indent=2) + "\n")
    runner = Runner(outdir, pl, steps, args.resume)
    rc = 0
    try:
        wall, failures = runner.run()
    except KeyboardInterrupt:
        log("reproduce: interrupted; writing the report from what was measured")
        wall, failures, rc = None, None, 130
    plan["wall_s"] = round(wall) if wall else None
    plan["finished"] = utc_iso()
    (outdir / "plan.json").write_text(json.dumps(plan, indent=2) + "\n")
    path = render_report(outdir, plots=not args.no_plots)
    if wall is not None:
        log(f"reproduce: done in {hms(wall)} (estimated {hms(total)}), {failures} failed step(s); report: {display_path(path)}")
    print(path)
    return rc


if __name__ == "__main__":
    sys.exit(main())
