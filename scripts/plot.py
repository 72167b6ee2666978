#!/usr/bin/env python3
"""Figures from ternbench results files (JSONL, schema ternbench-result-1, see results/README.md):
throughput against threads, the linear layers' roofline, decode speedup over a baseline against model size,
energy per token and memory per format, each as PNG and SVG. Prints the files written.

Usage: scripts/plot [--out DIR] [--format png,svg] [--baseline ENGINE:KERNEL] [--harness PATH|none] FILE.jsonl...
       scripts/plot --compare BEFORE.jsonl AFTER.jsonl [--out DIR] [--harness PATH|none]   (compare.png)
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
from collections import Counter, namedtuple
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.backend_bases import FigureCanvasBase  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

SCHEMA = "ternbench-result-1"
FLOATS = {"fp16", "fp32", "f16", "f32", "bf16"}
TESTS = (("pp", "prefill", "n_prompt"), ("tg", "decode", "n_gen"))
ROOT = Path(__file__).resolve().parent.parent
MARKERS = "osD^vP*X"


class InputError(Exception):
    pass


def warn(msg):
    print(f"plot: {msg}", file=sys.stderr)


def read(path):
    """The rows of one file. A damaged last line is skipped with a warning; one elsewhere is an error."""
    try:
        lines = [(i, s) for i, s in enumerate(Path(path).read_text(errors="replace").splitlines(), 1) if s.strip()]
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}")
    rows = []
    for i, line in lines:
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            if i != lines[-1][0]:
                raise InputError(f"{path}:{i}: damaged line ({e})")
            warn(f"{path}:{i}: skipping damaged last line ({e})")
            continue
        if row.get("schema") != SCHEMA:
            warn(f"{path}:{i}: skipping line of unknown schema {row.get('schema')!r}")
        else:
            rows.append(row)
    return rows


def get(row, key):
    """Nested field by dotted name ("energy.j_per_token"), or None."""
    for k in key.split("."):
        row = row.get(k) if isinstance(row, dict) else None
    return row


def having(rows, *keys):
    return [r for r in rows if all(get(r, k) is not None for k in keys)]


def peer(r):
    return r.get("engine", "ternbench") != "ternbench"


def series(r, heads):
    """Legend label: the kernel, "engine: kernel" for imported peers, plus the head when heads differ."""
    name = f"{r['engine']}: {r['kernel']}" if peer(r) else r["kernel"]
    return f"{name} (head {r.get('head')})" if heads else name


def newest(rows, key):
    """key -> the newest row with that key (repeated measurements: the last one counts)."""
    return {key(r): r for r in sorted(rows, key=lambda r: str(r.get("time", "")))}


def per_model(rows):
    """(model, file-name suffix, rows), smallest model first; the suffix only when there are several."""
    models = sorted({r["model"] for r in rows}, key=lambda m: (min(r.get("params") or 0 for r in rows if r["model"] == m), m))
    for m in models:
        yield m, "" if len(models) == 1 else "_" + re.sub(r"[^\w.-]+", "_", m), [r for r in rows if r["model"] == m]


def test_name(r):
    """"pp128", "tg32": the test and its length, as llama-bench names it."""
    n = r.get("n_prompt") if r.get("test") == "pp" else r.get("n_gen") if r.get("test") == "tg" else None
    return f"{r.get('test')}{n}" if n else str(r.get("test"))


def test_order(name):
    m = re.fullmatch(r"([a-z]+)(\d*)", name)
    return (m.group(1), int(m.group(2) or 0)) if m else (name, 0)


def layers_note(r):
    """" (6/24 layers)" for a row of a layer subset (--layers), else ""."""
    n, of = r.get("n_layers"), r.get("model_layers")
    return f" ({n}/{of} layers)" if n and of and n < of else ""


# points: (threads, median t/s, stddev); hollow: drawn with open markers (a head other than the panel's usual one)
Series = namedtuple("Series", "label peer color_key test points hollow")


def throughput_series(rows, test):
    """The lines of one throughput panel (test "pp" or "tg"): one per engine, kernel, test length (pp8 and pp128
    apart), layer subset and head, each with the newest row per thread count, ternbench first. The head is named
    only where one kernel and test ran with several."""
    def key(r):
        return (peer(r), r.get("engine", "ternbench"), r["kernel"], test_order(test_name(r)), layers_note(r),
                str(r.get("head")))
    lines = {}
    for k, r in sorted(newest([r for r in rows if r["test"] == test], lambda r: (key(r), r["threads"])).items()):
        lines.setdefault(k[0], []).append(r)
    heads = {}
    for k in lines:
        heads.setdefault(k[:-1], set()).add(k[-1])
    usual = Counter(k[-1] for k in lines).most_common(1)[0][0] if lines else None
    out = []
    for k, pts in lines.items():
        r = pts[0]
        label = f"{r.get('engine', 'ternbench')} {r['kernel']} {test_name(r)}" + layers_note(r)
        label += f" head {r.get('head')}" if len(heads[k[:-1]]) > 1 else ""
        out.append(Series(label, peer(r), series(r, False), test_name(r),
                          [(p["threads"], p["median_ts"], p.get("stddev_ts") or 0) for p in pts], k[-1] != usual))
    return out


def no_data(ax):
    ax.set(xticks=[], yticks=[])
    ax.text(0.5, 0.5, "no data", ha="center", transform=ax.transAxes)


def top_threads(rows):
    return {m: max(r["threads"] for r in rows if r["model"] == m) for m in {r["model"] for r in rows}}


class HarnessError(Exception):
    pass


def find_harness(option):
    """The harness to ask (--harness PATH; "none": none), else $TERNBENCH_HARNESS, else build/harness/harness when built."""
    if option == "none":
        return None
    path = option or os.environ.get("TERNBENCH_HARNESS") or str(ROOT / "build" / "harness" / "harness")
    if Path(path).is_file() and os.access(path, os.X_OK):
        return path
    if option:
        warn(f"--harness {option}: not an executable file; the figures use the rows' own numbers")
    return None


def ask_harness(harness, *args):
    """The JSON a harness command prints on stdout; HarnessError with its one-line reason when it cannot."""
    cmd = f"harness {' '.join(args)}"
    try:
        p = subprocess.run([harness, *args], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HarnessError(f"{cmd}: {e}")
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
        raise HarnessError(f"{cmd} failed: {last}")
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise HarnessError(f"{cmd} printed no JSON ({e})")


# -- roofline of the linear layers
def gemm_tokens(r):
    """T, the tokens one linear-layer GEMM multiplies by each weight it reads: 1 for decode; for prefill
    min(n_prompt, chunk), where the chunk is the runner's max_batch (model/runner.cpp: Runner::forward splits a
    prompt into chunks of max_batch tokens, 512 by default). The sweep (harness/sweep.cpp) builds its runner with
    max_batch = n_prompt, so a ternbench pp row is a single chunk and T = n_prompt."""
    return r["n_prompt"] if r["test"] == "pp" else 1


def intensity(r):
    """int8 multiply-adds per weight byte of a ternary GEMM at T tokens: T x (1 MAC per weight) / (bits_per_weight / 8)."""
    return gemm_tokens(r) / (r["bits_per_weight"] / 8)


def linear_gmacs(r):
    """(achieved GMAC/s of the linear layers, whole_token). pp rows carry it (gmacs: linear parameters x tokens over
    the runner's linear-layer timer, harness/sweep.cpp); for tg rows it is the same sum, params over time_split.linear
    (seconds per token; params counts the norms too, under 0.1% of it). Without time_split.linear: median_ts x params,
    which charges all of a token's time (head, attention) to the linear layers, a lower bound (whole_token)."""
    if r.get("gmacs"):
        return r["gmacs"], False
    lin = get(r, "time_split.linear")
    if r.get("params") and lin:
        return r["params"] / lin / 1e9, False
    if r.get("params") and r.get("median_ts"):
        return r["median_ts"] * r["params"] / 1e9, True
    return None, False


# label "i2s__avx2 tg32", x int8 MACs per weight byte, y GMAC/s
RoofPoint = namedtuple("RoofPoint", "label kernel test threads x y whole_token color_key")


def roofline_points(rows):
    """The points of one machine's and model's roofline: ternbench's integer kernels only (the float baselines do no
    int8 multiply-adds; peers record no linear-layer time), the newest row per kernel, test, layer subset, head and
    thread count. TL1/TL2 look weights up instead of multiplying them: their GMAC/s are multiply-add equivalents."""
    rows = [r for r in having(rows, "kernel", "threads", "test", "bits_per_weight")
            if not peer(r) and r["kernel"].lower() not in FLOATS and r["test"] in ("pp", "tg")]
    chosen = newest(rows, lambda r: (r["kernel"], test_order(test_name(r)), layers_note(r), str(r.get("head")), r["threads"]))
    heads = {}
    for k in chosen:
        heads.setdefault(k[:3], set()).add(k[3])
    out = []
    for k, r in sorted(chosen.items()):
        y, whole = linear_gmacs(r)
        if y is None:
            continue
        label = f"{r['kernel']} {test_name(r)}{layers_note(r)}" + (f" head {r.get('head')}" if len(heads[k[:3]]) > 1 else "")
        out.append(RoofPoint(label + (" (whole token)" if whole else ""), r["kernel"], test_name(r), r["threads"],
                             intensity(r), y, whole, series(r, False)))
    return out


def roof_markers(points):
    """test -> marker: squares and other four-sided ones for prefill (pp1, pp128), circles and triangles for decode."""
    tests = sorted({p.test for p in points}, key=test_order)
    pp, tg = [t for t in tests if t.startswith("pp")], [t for t in tests if not t.startswith("pp")]
    return {**{t: "sDPX"[i % 4] for i, t in enumerate(pp)}, **{t: "o^v<>"[i % 5] for i, t in enumerate(tg)}}


# read_gbs: the bandwidth roof (GB/s), read_range: (min, max) of the probes it is the median of; paths: {isa: GMAC/s}
Ceiling = namedtuple("Ceiling", "read_gbs read_range paths")


def ceilings_from_rows(rows):
    """threads -> Ceiling from the rows themselves: tg rows' roofline_gbs (the read bandwidth probed beside each
    decode test; the median of them, and their range) and pp rows' int8_peak_gmacs (the int8 peak of the kernel's
    own path, named by int8_peak_isa, or in older rows by the variant's ISA suffix, e.g. i2s__avx512vnni)."""
    out = {}
    for t in sorted({r["threads"] for r in having(rows, "threads")}):
        bw = sorted(r["roofline_gbs"] for r in rows if r["threads"] == t and r.get("roofline_gbs"))
        paths = {}
        for r in rows:
            if r["threads"] == t and r.get("int8_peak_gmacs"):
                # int8_peak_isa: the path the harness says the peak is of; rows written before it carry the path in
                # the variant's name only
                isa = r.get("int8_peak_isa") or r["kernel"].partition("__")[2] or get(r, "machine.isa") or "int8"
                paths.setdefault(isa, []).append(r["int8_peak_gmacs"])
        out[t] = Ceiling(float(np.median(bw)) if bw else None, (bw[0], bw[-1]) if bw else None,
                         {k: float(np.median(v)) for k, v in paths.items()})
    return out


def ceilings_from_harness(doc):
    """threads -> Ceiling from `harness roofline --json` ({"cpu", "cache", "points": [{"threads", "read_gbs",
    "path_gmacs": {"avx2": .., "avx512vnni": .., "scalar": ..}}, ...]})."""
    return {int(p["threads"]): Ceiling(float(p["read_gbs"]), None, {k: float(v) for k, v in p["path_gmacs"].items()})
            for p in doc["points"]}


# -- before and after (harness compare)
COMPARE_FIELDS = ("engine", "model", "n_layers", "kernel", "head", "threads", "pin", "test", "n_prompt", "n_gen")
VERDICT_COLORS = {"faster": "tab:green", "slower": "tab:red"}


def compare_key(r, any_machine=False):
    """harness/compare.cpp's pairing key of a row, as a string: machine (host, cpu, isa; none with --any-machine),
    engine, model, n_layers, kernel, head, threads, pin, test, n_prompt, n_gen; a field the row lacks is null."""
    machine = None if any_machine else {k: get(r, f"machine.{k}") for k in ("host", "cpu", "isa")}
    return json.dumps({"machine": machine, **{f: r.get(f) for f in COMPARE_FIELDS}}, sort_keys=True)


# key: compare_key; before, after: the pooled samples_ts of each side; verdict: harness compare's, None without a harness
Pair = namedtuple("Pair", "key label before after before_median after_median ratio verdict")


def compare_pairs(before_rows, after_rows, doc=None):
    """The pairs to draw. With doc (`harness compare BEFORE AFTER -o json`: pairs of key, before/after median_ts,
    ratio, verdict), the harness's pairs, medians, ratios and verdicts; else paired here on the same key, medians of
    the pooled samples, no verdict (the test is the harness's). Either way each side's samples are pooled from its
    rows. Returns (pairs, number of unmatched keys)."""
    def pools(rows, any_machine):
        out = {}
        for r in rows:
            out.setdefault(compare_key(r, any_machine), []).extend(r.get("samples_ts") or [])
        return out

    def label(r, models, engines):
        t = r.get("threads")
        return (f"{r.get('engine')} " if engines else "") + f"{r.get('kernel')} {test_name(r)}\n{t} thread{'s' * (t != 1)}" + \
            (f"\n{r.get('model')}" if models else "")

    rows = before_rows + after_rows
    models, engines = len({r.get("model") for r in rows}) > 1, len({r.get("engine") for r in rows}) > 1
    pairs = []
    if doc is not None:
        any_machine = doc.get("pairing") == "any machine"
        b, a = pools(before_rows, any_machine), pools(after_rows, any_machine)
        for p in doc["pairs"]:
            k = {f: v for f, v in p["key"].items() if f != "test_name"}
            key = json.dumps(k, sort_keys=True)
            pairs.append(Pair(key, label(k, models, engines), b.get(key, []), a.get(key, []), p["before"]["median_ts"],
                              p["after"]["median_ts"], p["ratio"], p["verdict"]))
        return pairs, len(doc.get("unmatched", []))
    b, a = pools(before_rows, False), pools(after_rows, False)
    first = {}
    for r in rows:
        first.setdefault(compare_key(r), r)
    for key in [k for k in b if k in a and b[k] and a[k]]:
        mb, ma = float(np.median(b[key])), float(np.median(a[key]))
        pairs.append(Pair(key, label(first[key], models, engines), b[key], a[key], mb, ma, ma / mb, None))
    return pairs, len(set(b) ^ set(a))


class Figures:
    def __init__(self, rows, out, formats, harness=None):
        self.rows, self.out, self.formats, self.harness = rows, out, formats, harness
        # Ternbench's kernels and the peers each take the ten default colours in turn (peers are drawn dashed).
        self.colors = {}
        for side in (False, True):
            labels = sorted({series(r, False) for r in having(rows, "kernel") if peer(r) == side})
            self.colors.update({lab: f"C{i % 10}" for i, lab in enumerate(labels)})

    def color(self, r):
        return self.colors[series(r, False)]

    def save(self, fig, name, what, rows, bottom=0.0):
        """Titled with `what`, the machines and the newest date; `bottom`: figure fraction kept for a figure legend."""
        machines = sorted({f"{get(r, 'machine.cpu') or '?'} ({get(r, 'machine.host') or '?'})" for r in rows})
        date = max(str(r.get("time", "")) for r in rows)[:10]
        fig.suptitle(f"{what}\n{'; '.join(machines)}, {date}", fontsize=10)
        fig.tight_layout(rect=(0, bottom, 1, 1))
        self.out.mkdir(parents=True, exist_ok=True)
        for fmt in self.formats:
            path = self.out / f"{name}.{fmt}"
            fig.savefig(path, dpi=120, metadata={"Date": None} if fmt == "svg" else None)
            print(path)
        plt.close(fig)

    def throughput(self):
        rows = having(self.rows, "model", "kernel", "threads", "test", "median_ts")
        if not rows:
            return warn("no tokens/s rows: skipping throughput_vs_threads")
        for model, suffix, mrows in per_model(rows):
            panels = [(test, name, throughput_series(mrows, test)) for test, name, _ in TESTS]
            legend_rows = max(-(-len(lines) // 2) for _, _, lines in panels)  # legends below the panels, 2 columns
            fig, axes = plt.subplots(1, 2, figsize=(12, 4.4 + 0.2 * legend_rows))
            for ax, (test, name, lines) in zip(axes, panels):
                ax.set(title=f"{name} ({', '.join(sorted({s.test for s in lines}, key=test_order)) or test})",
                       xlabel="threads", ylabel="tokens/s (median, ± stddev)")
                if lines:
                    self.draw_throughput(ax, lines)
                else:
                    no_data(ax)
            self.save(fig, "throughput_vs_threads" + suffix, f"Throughput against threads: {model}", mrows)

    def draw_throughput(self, ax, lines):
        """One line per series: solid for ternbench, dashed for peers; colour by engine and kernel, and the lines of one
        colour (pp8 and pp128, layer subsets, heads) told apart by their markers. The legend goes under the panel."""
        shared = Counter()
        for s in lines:
            x, y, err = zip(*s.points)
            style = dict(color=self.colors.get(s.color_key, "0.3"), linestyle="--" if s.peer else "-")
            ax.plot(x, y, label=s.label, marker=MARKERS[shared[s.color_key, s.peer] % len(MARKERS)],
                    markerfacecolor="white" if s.hollow else style["color"], **style)
            shared[s.color_key, s.peer] += 1
            if any(err):
                ax.errorbar(x, y, yerr=err, fmt="none", capsize=3, ecolor=style["color"], elinewidth=1)
        ax.set_xticks(sorted({p[0] for s in lines for p in s.points}))
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
        ax.grid(alpha=0.3)

    def roofline(self):
        rows = [r for r in having(self.rows, "model", "kernel", "threads", "test", "bits_per_weight") if not peer(r)]
        groups = {}
        for r in rows:
            groups.setdefault((get(r, "machine.host"), get(r, "machine.cpu")), []).append(r)
        if not any(roofline_points(g) for g in groups.values()):
            return warn("no ternbench integer-kernel rows with linear-layer GMAC/s: skipping roofline")
        here = socket.gethostname()
        local = sorted({p.threads for (host, _), g in groups.items() if host == here for p in roofline_points(g)})
        doc, why = None, "no harness to ask: --harness PATH"
        if local and self.harness:  # the harness knows this machine only
            try:
                doc = ask_harness(self.harness, "roofline", "--json", "-t", ",".join(map(str, local)))
                from_harness = ceilings_from_harness(doc)
            except (HarnessError, KeyError, TypeError, ValueError) as e:
                doc, why = None, str(e) if isinstance(e, HarnessError) else f"harness roofline --json: unexpected JSON ({e!r})"
        hosts, seen = Counter(h for h, _ in groups), Counter()
        for (host, cpu), grows in sorted(groups.items(), key=lambda kv: str(kv[0])):
            seen[host] += 1
            machine = "_" + re.sub(r"[^\w.-]+", "_", str(host)) + (f"_{seen[host]}" if hosts[host] > 1 else "")
            for model, suffix, mrows in per_model(grows):
                points = roofline_points(mrows)
                if not points:
                    continue
                missing = sorted({p.threads for p in points} - set(from_harness if doc else ()))
                if host == here and doc and doc.get("cpu") == cpu and not missing:
                    ceilings = from_harness
                    source = f"ceilings: harness roofline --json on this machine ({doc.get('cache', 'not cached')})"
                else:
                    ceilings = ceilings_from_rows(mrows)
                    reason = (f"measured on {host}, not on this host ({here})" if host != here else
                              why if not doc else f"the harness here runs on {doc.get('cpu')}" if doc.get("cpu") != cpu
                              else f"harness roofline gave no figures for {missing} threads")
                    source = ("ceilings from the rows: read bandwidth probed beside each decode test, int8 peak of each "
                              f"kernel's path\n({reason})")
                self.draw_roofline_figure(model, suffix + (machine if len(groups) > 1 else ""), points, ceilings, source, mrows)

    def draw_roofline_figure(self, model, suffix, points, ceilings, source, rows):
        threads = sorted({p.threads for p in points})
        markers = roof_markers(points)
        width = max(10.0, 5.8 * len(threads))
        fig, axes = plt.subplots(1, len(threads), figsize=(width, 5.4), squeeze=False, sharey=True)
        handles = {}
        for ax, t in zip(axes[0], threads):
            handles.update(self.draw_roofline(ax, [p for p in points if p.threads == t], ceilings.get(t), markers))
        order = {p.label: (p.kernel, test_order(p.test), p.label) for p in points}
        handles = dict(sorted(handles.items(), key=lambda kv: order[kv[0]]))
        ax0 = axes[0][0]
        ax0.set_ylabel("achieved linear-layer GMAC/s (int8 multiply-adds)")
        ncol = min(int(width // 2.9), len(handles))
        rows_of_legend = -(-len(handles) // ncol)
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=ncol, fontsize=8, frameon=False)
        what = f"Roofline of the linear layers: {model}\n{source}"
        self.save(fig, "roofline" + suffix, what, rows, bottom=min(0.4, (0.25 * rows_of_legend + 0.1) / 5.4))

    def draw_roofline(self, ax, points, ceil, markers=None):
        """Points (colour: kernel, squares etc.: prefill, circles etc.: decode, hollow: whole-token lower bound) under the
        ceilings: the bandwidth roof (read GB/s x intensity, its probes' range shaded) up to the highest int8 peak,
        and one horizontal line per path's int8 peak from where it meets the roof. Returns the points' handles."""
        xs, ys = [p.x for p in points], [p.y for p in points]
        x0, x1 = min(xs + [1.0]) / 2, max(xs) * 6
        paths = sorted((ceil.paths if ceil else {}).items(), key=lambda kv: -kv[1])
        bw = ceil.read_gbs if ceil else None
        top = paths[0][1] if paths else (bw * x1 if bw else None)
        if bw:
            xr = min(x1, top / bw)
            ax.plot([x0, xr], [bw * x0, bw * xr], color="black", linewidth=1.2, label=f"read bandwidth {bw:.1f} GB/s")
            if ceil.read_range and ceil.read_range[0] < ceil.read_range[1]:
                lo, hi = ceil.read_range  # the probes beside each decode test (rows' own figures)
                ax.fill_between([x0, xr], [lo * x0, lo * xr], [hi * x0, hi * xr], color="black", alpha=0.08, linewidth=0)
            spread = ceil.read_range and ceil.read_range[0] < ceil.read_range[1]
            # Named in the corner above the roof, where no measurement can be.
            ax.text(0.02, 0.97, f"diagonal: read bandwidth {bw:.1f} GB/s" +
                    (f"\n(median of the probes, {ceil.read_range[0]:.0f}-{ceil.read_range[1]:.0f} shaded)" if spread else ""),
                    transform=ax.transAxes, ha="left", va="top", fontsize=7)
        for isa, g in paths:
            start = max(x0, g / bw) if bw else x0
            ax.plot([start, x1], [g, g], color="0.35", linewidth=1, linestyle="-" if g == top else "--",
                    label=f"{isa} int8 peak {g:.0f} GMAC/s")
            ax.annotate(f"{isa} int8 peak {g:.0f} GMAC/s", (start, g), xytext=(3, 2), textcoords="offset points",
                        ha="left", va="bottom", fontsize=7, color="0.25")
        handles, markers = {}, markers or roof_markers(points)
        for p in points:
            color = self.colors.get(p.color_key, "0.3")
            (h,) = ax.plot([p.x], [p.y], linestyle="none", marker=markers[p.test], markersize=7, alpha=0.85,
                           color=color, markerfacecolor="white" if p.whole_token else color, label=p.label)
            handles.setdefault(p.label, h)
        lows = ys + [g for _, g in paths] + ([bw * x0] if bw else [])
        highs = ys + [g for _, g in paths] + ([bw * x1] if bw and not paths else [])
        ax.set(xscale="log", yscale="log", xlim=(x0, x1), ylim=(min(lows) / 2, max(highs) * 2.5),
               xlabel="arithmetic intensity (int8 multiply-adds per weight byte)",
               title=f"{points[0].threads} thread{'s' * (points[0].threads > 1)}")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(LogLocator(subs=(1, 2, 5)))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
        ax.tick_params(labelleft=True)
        ax.grid(alpha=0.3, which="both")
        return handles

    def compare(self, before, after, before_rows, after_rows):
        """Before/after bars of each pair (harness compare's pairing and verdicts when there is a harness)."""
        doc, how = None, "no harness to ask (--harness PATH): medians only, untested"
        if self.harness:
            try:
                doc = ask_harness(self.harness, "compare", str(before), str(after), "-o", "json")
                how = f"verdicts: harness compare, two-sided Mann-Whitney U over samples_ts, alpha {doc.get('alpha')}"
            except HarnessError as e:
                warn(f"{e}; pairing the rows here, without verdicts")
                how = f"medians only, untested ({e})"
        pairs, unmatched = compare_pairs(before_rows, after_rows, doc)
        if not pairs:
            return warn(f"no configuration measured in both {before} and {after}: skipping compare")
        fig, ax = plt.subplots(figsize=(max(7.0, 1.3 * len(pairs) + 2.5), 5.2))
        self.draw_compare(ax, pairs, Path(before).name, Path(after).name)
        what = (f"Before and after: {Path(before).name} → {Path(after).name}\n{how}"
                + (f"\n{unmatched} configuration{'s' * (unmatched != 1)} measured on one side only, not drawn" if unmatched else ""))
        drawn = {p.key for p in pairs}
        any_machine = bool(doc) and doc.get("pairing") == "any machine"
        self.save(fig, "compare", what, [r for r in before_rows + after_rows if compare_key(r, any_machine) in drawn])

    @staticmethod
    def draw_compare(ax, pairs, before_name="before", after_name="after"):
        """Per pair, before (grey) and after (blue) bars of the median relative to before's median, min-max whiskers and
        the samples as dots, each bar labelled with its median tokens/s; above them after/before and the verdict."""
        width, top = 0.36, 1.0
        for i, p in enumerate(pairs):
            for dx, samples, med, color in ((-width / 2, p.before, p.before_median, "0.65"),
                                            (width / 2, p.after, p.after_median, "tab:blue")):
                x, rel = i + dx, med / p.before_median
                (bar,) = ax.bar([x], [rel], width, color=color, edgecolor="black", linewidth=0.6)
                ax.annotate(f"{med:.4g} t/s", (x, rel / 2), ha="center", va="center", rotation=90, fontsize=7)
                if samples:
                    v = np.asarray(samples, dtype=float) / p.before_median
                    ax.errorbar([x], [rel], yerr=[[max(rel - v.min(), 0)], [max(v.max() - rel, 0)]], fmt="none",
                                ecolor="black", elinewidth=1, capsize=4)
                    ax.plot(x + np.linspace(-width / 4, width / 4, len(v)) if len(v) > 1 else [x], v, linestyle="none",
                            marker=".", markersize=3, color="black", alpha=0.6)
                    top = max(top, v.max())
                top = max(top, rel)
            ax.annotate(f"×{p.ratio:.3f}" + (f"\n{p.verdict}" if p.verdict else ""), (i, 0), xycoords=("data", "axes fraction"),
                        xytext=(0, -2), textcoords="offset points", ha="center", va="top", fontsize=8,
                        color=VERDICT_COLORS.get(p.verdict, "0.2"), fontweight="bold" if p.verdict in VERDICT_COLORS else None)
        ax.set_xticks(range(len(pairs)), [p.label for p in pairs], fontsize=8)
        ax.tick_params(axis="x", pad=30)
        ax.set_ylim(0, top * 1.08)
        ax.axhline(1, color="0.4", linewidth=0.8, linestyle=":")
        ax.set_ylabel("tokens/s over before's median")
        ax.legend(handles=[Patch(facecolor="0.65", edgecolor="black", label=f"before: {before_name}"),
                           Patch(facecolor="tab:blue", edgecolor="black", label=f"after: {after_name}"),
                           Line2D([], [], color="black", marker="|", markersize=8, linestyle="none",
                                  label="samples (dots), min-max (whiskers)")], fontsize=8, ncol=3, frameon=False,
                  loc="lower center", bbox_to_anchor=(0.5, 1.0))
        ax.grid(alpha=0.3, axis="y")

    def speedup(self, baseline):
        engine, _, kernel = baseline.rpartition(":")
        engine = engine or "ternbench"
        tg = having([r for r in self.rows if r.get("test") == "tg"], "model", "kernel", "threads", "median_ts", "params")
        is_base = lambda r: r.get("engine", "ternbench") == engine and r["kernel"] == kernel  # noqa: E731
        key = lambda r: (r["model"], r["threads"], r.get("head"))  # noqa: E731
        base = newest([r for r in tg if is_base(r)], key)
        if not base:
            return warn(f"no decode rows of the baseline {engine}:{kernel}: skipping speedup_vs_size")
        runs = newest([r for r in tg if not is_base(r) and r["kernel"].lower() not in FLOATS and key(r) in base],
                      lambda r: (peer(r), series(r, True), key(r)))
        if not runs:
            return warn(f"no ternary decode rows to compare with {engine}:{kernel}: skipping speedup_vs_size")
        top = top_threads(runs.values())
        panels = [(f"largest thread count per model ({'/'.join(map(str, sorted(set(top.values()))))})",
                   lambda r: r["threads"] == top[r["model"]])]
        if any(r["threads"] == 2 for r in runs.values()) and set(top.values()) != {2}:
            panels.append(("2 threads", lambda r: r["threads"] == 2))
        heads = len({r.get("head") for r in runs.values()}) > 1
        fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.8), squeeze=False)
        for ax, (title, chosen) in zip(axes[0], panels):
            lines = {}
            for r in sorted((r for r in runs.values() if chosen(r)), key=lambda r: (peer(r), series(r, heads), r["params"])):
                lines.setdefault((peer(r), series(r, heads)), []).append(r)
            for (is_peer, label), pts in lines.items():
                ax.plot([r["params"] for r in pts], [r["median_ts"] / base[key(r)]["median_ts"] for r in pts], label=label,
                        color=self.color(pts[0]), linestyle="--" if is_peer else "-", marker="o")
            for r in newest([r for r in runs.values() if chosen(r)], lambda r: r["model"]).values():
                ax.annotate(r["model"], (r["params"], 0), xycoords=("data", "axes fraction"), xytext=(3, 4),
                            textcoords="offset points", rotation=90, fontsize=7, color="0.4")
            ax.axhline(1, color="0.5", linewidth=0.8, linestyle=":")
            ax.set(xscale="log", title=title, xlabel="parameters (non-embedding linear)",
                   ylabel=f"decode speedup over {engine}:{kernel} (×)")
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
        self.save(fig, "speedup_vs_size", f"Decode (tg) speedup over {engine}:{kernel} against model size",
                  list(runs.values()) + [base[key(r)] for r in runs.values()])

    def energy(self):
        rows = having(self.rows, "model", "kernel", "threads", "test", "energy.j_per_token")
        if not rows:
            return warn("no energy.j_per_token rows: skipping energy_per_token")
        heads = len({r.get("head") for r in rows}) > 1
        for model, suffix, mrows in per_model(rows):
            top = top_threads(mrows)[model]
            fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
            for ax, (test, name, _) in zip(axes, TESTS):
                bars = sorted(newest([r for r in mrows if r["test"] == test and r["threads"] == top],
                                     lambda r: (peer(r), series(r, heads))).items())
                ax.set(title=f"{name} ({test}), {top} thread{'s' * (top > 1)}", ylabel="energy per token (J)")
                if not bars:
                    no_data(ax)
                    continue
                values = [r["energy"]["j_per_token"] for _, r in bars]
                estimated = [bool(get(r, "energy.estimated")) for _, r in bars]
                drawn = ax.bar(range(len(bars)), values, color=[self.color(r) for _, r in bars],
                               edgecolor="black", linewidth=0.6)
                for patch, est in zip(drawn, estimated):
                    patch.set_hatch("//" if est else None)
                ax.bar_label(drawn, [f"{v:.3g}" + ("\n(estimate)" if e else "") for v, e in zip(values, estimated)], fontsize=7)
                ax.set_xticks(range(len(bars)), [label for (_, label), _ in bars], rotation=20, ha="right", fontsize=8)
                if max(values) > 30 * min(values) > 0:
                    ax.set_yscale("log")
                ax.margins(y=0.2)
                if any(estimated):
                    ax.legend(handles=[Patch(facecolor="white", edgecolor="black", hatch="//", label="(estimate)")], fontsize=8)
            self.save(fig, "energy_per_token" + suffix, f"Energy per token: {model}", mrows)

    def memory(self):
        rows = having(self.rows, "model", "kernel", "memory.non_embedding")
        if not rows:
            return warn("no memory.non_embedding rows: skipping memory_per_format")
        heads = len({r.get("head") for r in rows}) > 1
        models = [m for m, _, _ in per_model(rows)]
        kernels = sorted({(peer(r), series(r, heads)) for r in rows})
        width = 0.8 / len(kernels)
        fig, ax = plt.subplots(figsize=(max(7.0, 0.5 * len(models) * len(kernels) + 2), 4.8))
        for j, k in enumerate(kernels):
            offset = (j - (len(kernels) - 1) / 2) * width
            groups = [(i + offset, [r for r in rows if r["model"] == m and (peer(r), series(r, heads)) == k])
                      for i, m in enumerate(models)]
            groups = [(x, rs) for x, rs in groups if rs]
            ax.bar([x for x, _ in groups], [max(r["memory"]["non_embedding"] for r in rs) / 1e9 for _, rs in groups], width,
                   label=k[1], color=self.color(groups[0][1][0]), edgecolor="black", linewidth=0.6)
            rss = [(x, max(get(r, "memory.peak_rss") or 0 for r in rs) / 1e9) for x, rs in groups]
            ax.plot([x for x, v in rss if v], [v for _, v in rss if v], "k_", markersize=12, markeredgewidth=2,
                    label="peak RSS (largest)" if j == 0 else None)
        ax.set_xticks(range(len(models)), models)
        ax.set(ylabel="GB", yscale="log", title="non-embedding weights (bars) and peak RSS (markers)")
        ax.grid(alpha=0.3, axis="y", which="both")
        ax.legend(fontsize=8, ncol=2)
        self.save(fig, "memory_per_format", "Memory per format", rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", metavar="FILE.jsonl")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "plots", help="output directory (default results/plots)")
    ap.add_argument("--format", default="png,svg", help="comma-separated image formats (default png,svg)")
    ap.add_argument("--baseline", default="ternbench:fp16", metavar="ENGINE:KERNEL",
                    help="speedup baseline row (default ternbench:fp16; e.g. llama.cpp:F16)")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE.jsonl", "AFTER.jsonl"),
                    help="before/after bars of every configuration measured in both (compare.png), verdicts from "
                         "harness compare")
    ap.add_argument("--harness", metavar="PATH", help="the harness asked for roofline ceilings and compare verdicts "
                    "(default $TERNBENCH_HARNESS, else build/harness/harness; 'none': the rows' own figures)")
    args = ap.parse_args(argv)
    if not args.files and not args.compare:
        ap.error("give results files (FILE.jsonl...) or --compare BEFORE.jsonl AFTER.jsonl")
    try:
        rows = [r for f in args.files for r in read(f)]
        sides = [read(f) for f in args.compare] if args.compare else None
    except InputError as e:
        print(f"plot: {e}", file=sys.stderr)
        return 1
    if args.files and not rows:
        print(f"plot: no {SCHEMA} results in {', '.join(args.files)}", file=sys.stderr)
        return 2
    if sides and not all(sides):
        print(f"plot: no {SCHEMA} results in {args.compare[0 if not sides[0] else 1]}", file=sys.stderr)
        return 2
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = set(formats) - set(FigureCanvasBase.get_supported_filetypes())
    if unknown or not formats:
        print(f"plot: unknown image format(s) {', '.join(sorted(unknown)) or args.format!r}", file=sys.stderr)
        return 2
    plt.rcParams["svg.hashsalt"] = "ternbench"  # reproducible SVG ids
    harness = find_harness(args.harness)
    try:
        if rows:
            figs = Figures(rows, args.out, formats, harness)
            figs.throughput()
            figs.roofline()
            figs.speedup(args.baseline)
            figs.energy()
            figs.memory()
        if sides:
            Figures(sides[0] + sides[1], args.out, formats, harness).compare(*args.compare, *sides)
    except OSError as e:
        print(f"plot: cannot write {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
