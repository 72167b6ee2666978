#!/usr/bin/env python3
"""scripts/plot on results/sample/sample.jsonl: every figure kind written, not blank; damaged input handled.
The series behind the figures, from small hand-made rows: one throughput line per kernel and test length, peers
dashed; the roofline's intensity, points and ceilings (from the rows, or from a stub harness); --compare on
tests/data/compare (pairs, pooled samples, verdicts of the harness at $HARNESS when ctest names it, or of a stub).
TB_SOURCE_DIR names the source tree (default: two levels up). Run with a Python that has matplotlib."""
import json
import os
import socket
import sys
import tempfile
import unittest
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from script_test import SRC, TmpDirTest, run_script  # noqa: E402
sys.path.insert(0, str(SRC / "scripts"))
import plot as P  # noqa: E402
SAMPLE = SRC / "results" / "sample" / "sample.jsonl"
BEFORE, AFTER = (SRC / "tests" / "data" / "compare" / f for f in ("before.jsonl", "after.jsonl"))
KINDS = ("throughput_vs_threads", "roofline", "speedup_vs_size", "energy_per_token", "memory_per_format")


def plot(*args):
    """scripts/plot.py run with this interpreter (it has matplotlib): (exit code, stdout, stderr)."""
    return run_script("plot.py", *args)


class Plots(TmpDirTest):
    def setUp(self):
        super().setUp()
        self.lines = SAMPLE.read_text().splitlines()

    def write(self, name, text):
        (self.tmp / name).write_text(text)
        return self.tmp / name

    def assert_figures(self, out, stdout):
        written = set(stdout.split())
        for kind in KINDS:
            for ext in ("png", "svg"):
                files = sorted(out.glob(f"{kind}*.{ext}"))
                self.assertTrue(files, f"no {kind}*.{ext} in {out}")
                self.assertTrue({str(f) for f in files} <= written, f"{kind}*.{ext} not listed on stdout")
            for png in out.glob(f"{kind}*.png"):
                img = matplotlib.image.imread(png)[..., :3]
                self.assertGreater(img.std(), 0.02, f"{png.name} is blank")
                differs = np.any(np.abs(img - img[0, 0]) > 0.05, axis=-1).mean()
                self.assertGreater(differs, 0.01, f"{png.name}: {differs:.2%} of pixels differ from the background")

    def test_sample(self):
        code, out, err = plot("--out", self.tmp / "plots", SAMPLE)
        self.assertEqual(code, 0, err)
        self.assert_figures(self.tmp / "plots", out)
        self.assertEqual(out, plot("--out", self.tmp / "again", SAMPLE)[1].replace("again", "plots"), "output order")

    def test_truncated_last_line_warns(self):
        bad = self.write("cut.jsonl", "\n".join(self.lines) + "\n" + self.lines[0][:57])
        code, out, err = plot("--out", self.tmp / "plots", bad)
        self.assertEqual(code, 0, err)
        self.assertIn(f"{bad}:{len(self.lines) + 1}", err)
        self.assert_figures(self.tmp / "plots", out)

    def test_damaged_middle_line_fails(self):
        bad = self.write("mid.jsonl", "\n".join(self.lines[:3] + [self.lines[3][:80]] + self.lines[4:]) + "\n")
        code, _, err = plot("--out", self.tmp / "plots", bad)
        self.assertNotEqual(code, 0)
        self.assertIn(f"{bad}:4", err)

    def test_empty_input_exits_2(self):
        code, _, err = plot("--out", self.tmp / "plots", self.write("empty.jsonl", ""))
        self.assertEqual(code, 2)
        self.assertIn("no ternbench-result-1 results", err)

    def test_missing_data_skips_figure(self):
        peers = [s for s in self.lines if '"engine":"llama.cpp"' in s]
        code, out, err = plot("--out", self.tmp / "plots", self.write("peers.jsonl", "\n".join(peers) + "\n"))
        self.assertEqual(code, 0, err)
        self.assertIn("skipping speedup_vs_size", err)
        self.assertFalse(list((self.tmp / "plots").glob("speedup*")))


def hand_row(kernel, test, n, threads, tps, engine="ternbench", **kw):
    """A results row with only what the figures read (schema ternbench-result-1, results/README.md)."""
    r = {"schema": P.SCHEMA, "time": "2026-12-02T10:00:00Z", "engine": engine, "model": "tiny", "n_layers": 2,
         "model_layers": 2, "params": 1_000_000, "kernel": kernel, "head": "fp16", "threads": threads, "test": test,
         "n_prompt": n if test == "pp" else 0, "n_gen": n if test == "tg" else 0, "median_ts": tps, "stddev_ts": 1.0,
         "machine": {"host": "box", "cpu": "Test CPU", "isa": "avx2"}}
    r.update(kw)
    return r


class Throughput(unittest.TestCase):
    ROWS = [hand_row("i2s__avx2", "pp", n, t, v) for n, t, v in ((8, 1, 900), (8, 2, 1700), (128, 1, 2000), (128, 2, 3900))] + \
           [hand_row("i2s__avx2", "tg", 4, t, v) for t, v in ((1, 500), (2, 800))] + \
           [hand_row("I2_S", "pp", 128, t, v, engine="bitnet.cpp") for t, v in ((1, 1500), (2, 2900))]

    def panel(self, test):
        fig, ax = plt.subplots()
        self.addCleanup(plt.close, fig)
        lines = P.throughput_series(self.ROWS, test)
        P.Figures(self.ROWS, Path("unused"), []).draw_throughput(ax, lines)
        return lines, {ln.get_label(): ln for ln in ax.lines if not ln.get_label().startswith("_")}

    def test_one_line_per_kernel_and_length_peers_dashed(self):
        lines, drawn = self.panel("pp")
        self.assertEqual([s.label for s in lines], ["ternbench i2s__avx2 pp8", "ternbench i2s__avx2 pp128",
                                                    "bitnet.cpp I2_S pp128"])
        self.assertEqual(list(drawn["ternbench i2s__avx2 pp8"].get_ydata()), [900, 1700])
        self.assertEqual(list(drawn["ternbench i2s__avx2 pp128"].get_ydata()), [2000, 3900])
        self.assertEqual({k: v.get_linestyle() for k, v in drawn.items()},
                         {"ternbench i2s__avx2 pp8": "-", "ternbench i2s__avx2 pp128": "-", "bitnet.cpp I2_S pp128": "--"})
        self.assertNotEqual(drawn["ternbench i2s__avx2 pp8"].get_marker(), drawn["ternbench i2s__avx2 pp128"].get_marker())
        lines, drawn = self.panel("tg")
        self.assertEqual(list(drawn), ["ternbench i2s__avx2 tg4"])

    def test_newest_row_per_thread_count_and_heads_named_when_they_differ(self):
        rows = self.ROWS + [hand_row("i2s__avx2", "pp", 8, 1, 950, time="2026-12-03T10:00:00Z"),
                            hand_row("i2s__avx2", "pp", 8, 1, 990, head="int8")]
        labels = {s.label: s for s in P.throughput_series(rows, "pp")}
        self.assertEqual(labels["ternbench i2s__avx2 pp8 head fp16"].points[0][1], 950)
        self.assertEqual(labels["ternbench i2s__avx2 pp8 head int8"].points, [(1, 990, 1.0)])
        self.assertTrue(labels["ternbench i2s__avx2 pp8 head int8"].hollow)
        self.assertIn("ternbench i2s__avx2 pp128", labels)


def roof_rows(host="box", cpu="Test CPU"):
    """2 threads of i2s and tl2 (pp128 and tg4), fp16 and a peer (both left out of the roofline)."""
    m = {"host": host, "cpu": cpu, "isa": "avx2"}
    rows = []
    for kernel, bpw, pp_gmacs, tg_linear in (("i2s__avx2", 2.0, 200.0, 1e-4), ("tl2__avx2", 5 / 3, 150.0, 1.25e-4)):
        rows.append(hand_row(kernel, "pp", 128, 2, 1000, bits_per_weight=bpw, gmacs=pp_gmacs, int8_peak_gmacs=400.0,
                             machine=m, time_split={"linear": 1e-3}))
        rows.append(hand_row(kernel, "tg", 4, 2, 100, bits_per_weight=bpw, roofline_gbs=20.0 if kernel < "t" else 30.0,
                             machine=m, time_split={"linear": tg_linear}))
    rows.append(hand_row("fp16", "tg", 4, 2, 50, bits_per_weight=16.0, machine=m, time_split={"linear": 1e-3}))
    rows.append(hand_row("I2_S", "pp", 128, 2, 900, engine="bitnet.cpp", bits_per_weight=2.0, machine=m))
    return rows


class Roofline(unittest.TestCase):
    def test_intensity(self):
        """int8 MACs per weight byte: T / (bits_per_weight / 8); i2s (2 bits) decodes at 4, prefills 128 tokens at 512."""
        i2s = dict(kernel="i2s__avx2", bits_per_weight=2.0)
        self.assertEqual(P.intensity(hand_row(test="tg", n=32, threads=1, tps=1, **i2s)), 4.0)
        self.assertEqual(P.intensity(hand_row(test="pp", n=128, threads=1, tps=1, **i2s)), 512.0)
        self.assertEqual(P.intensity(hand_row(test="pp", n=1, threads=1, tps=1, **i2s)), 4.0)
        self.assertAlmostEqual(P.intensity(hand_row("tl2__avx2", "tg", 4, 1, 1, bits_per_weight=5 / 3)), 4.8)
        self.assertEqual(P.intensity(hand_row("int8__avx2", "pp", 8, 1, 1, bits_per_weight=8.0)), 8.0)

    def test_points_one_per_kernel_and_test(self):
        pts = P.roofline_points(roof_rows())
        self.assertEqual([(p.label, p.x) for p in pts], [("i2s__avx2 pp128", 512.0), ("i2s__avx2 tg4", 4.0),
                                                         ("tl2__avx2 pp128", 128 * 4.8), ("tl2__avx2 tg4", 4.8)])
        self.assertAlmostEqual(pts[0].y, 200.0)  # pp: the row's gmacs
        self.assertAlmostEqual(pts[1].y, 10.0)   # tg: params / time_split.linear = 1e6 / 1e-4 s = 10 GMAC/s
        self.assertFalse(any(p.whole_token for p in pts))
        # without time_split.linear: median_ts x params, a whole-token lower bound
        (p,) = P.roofline_points([hand_row("i2s__avx2", "tg", 4, 1, 100, bits_per_weight=2.0)])
        self.assertEqual((p.label, p.y, p.whole_token), ("i2s__avx2 tg4 (whole token)", 0.1, True))

    def test_ceilings_drawn(self):
        rows = roof_rows()
        ceil = P.ceilings_from_rows(rows)[2]
        self.assertEqual((ceil.read_gbs, ceil.read_range, ceil.paths), (25.0, (20.0, 30.0), {"avx2": 400.0}))
        # the path a row names (int8_peak_isa) is the one its peak is drawn for, whatever the variant's name says
        named = [dict(r, int8_peak_isa="neon") if r.get("int8_peak_gmacs") else r for r in rows]
        self.assertEqual(P.ceilings_from_rows(named)[2].paths, {"neon": 400.0})
        fig, ax = plt.subplots()
        self.addCleanup(plt.close, fig)
        P.Figures(rows, Path("unused"), []).draw_roofline(ax, P.roofline_points(rows), ceil)
        drawn = {ln.get_label(): ln for ln in ax.lines}
        roof, peak = drawn["read bandwidth 25.0 GB/s"], drawn["avx2 int8 peak 400 GMAC/s"]
        x, y = roof.get_xdata(), roof.get_ydata()
        self.assertTrue(np.allclose(np.asarray(y) / np.asarray(x), 25.0))  # GB/s x MACs per byte = GMAC/s
        self.assertAlmostEqual(x[-1], 400.0 / 25.0)                        # up to the ridge
        self.assertEqual(list(peak.get_ydata()), [400.0, 400.0])
        self.assertAlmostEqual(peak.get_xdata()[0], 16.0)
        points = [k for k in drawn if k not in ("read bandwidth 25.0 GB/s", "avx2 int8 peak 400 GMAC/s")]
        self.assertEqual(sorted(points), ["i2s__avx2 pp128", "i2s__avx2 tg4", "tl2__avx2 pp128", "tl2__avx2 tg4"])
        self.assertEqual((ax.get_xscale(), ax.get_yscale()), ("log", "log"))

    def run_roofline(self, rows, harness):
        figs = P.Figures(rows, Path("unused"), [], harness)
        drawn = []
        figs.draw_roofline_figure = lambda *a: drawn.append(a)
        figs.roofline()
        self.assertEqual(len(drawn), 1)
        model, suffix, points, ceilings, source, _ = drawn[0]
        return points, ceilings, source

    def stub(self, body):
        return stub_harness(self, body)

    def test_ceilings_from_the_harness(self):
        """Rows of this host and CPU: `harness roofline --json -t <the rows' threads>` gives every path's ceiling."""
        doc = {"cache": "/c/roofline.json", "cpu": "Test CPU", "points": [
            {"threads": 2, "read_gbs": 50.0, "best_path": "avx2", "int8_gmacs": 500.0,
             "path_gmacs": {"avx2": 500.0, "scalar": 20.0}}]}
        harness = self.stub(f"assert sys.argv[1:] == ['roofline', '--json', '-t', '2'], sys.argv\nprint(json.dumps({doc!r}))\n")
        points, ceilings, source = self.run_roofline(roof_rows(host=socket.gethostname()), harness)
        self.assertEqual(len(points), 4)
        self.assertEqual((ceilings[2].read_gbs, ceilings[2].paths), (50.0, {"avx2": 500.0, "scalar": 20.0}))
        self.assertIn("harness roofline --json on this machine", source)
        # another CPU behind the same host name (a migrated VM): the rows' own ceilings, and why
        points, ceilings, source = self.run_roofline(roof_rows(host=socket.gethostname(), cpu="Other CPU"), harness)
        self.assertEqual(ceilings[2].paths, {"avx2": 400.0})
        self.assertIn("ceilings from the rows", source)
        self.assertIn("the harness here runs on Test CPU", source)

    def test_ceilings_from_the_rows_without_harness(self):
        failing = self.stub("print('harness: no roofline today', file=sys.stderr)\nsys.exit(2)\n")
        _, ceilings, source = self.run_roofline(roof_rows(host=socket.gethostname()), failing)
        self.assertEqual(ceilings[2].read_gbs, 25.0)
        self.assertIn("harness roofline --json -t 2 failed: harness: no roofline today", source)
        _, _, source = self.run_roofline(roof_rows(host=socket.gethostname()), None)
        self.assertIn("no harness to ask", source)
        _, _, source = self.run_roofline(roof_rows(host="elsewhere"), failing)  # not asked: measured elsewhere
        self.assertIn("measured on elsewhere, not on this host", source)


def stub_harness(test, body):
    """An executable Python script standing in for the harness; removed after the test."""
    tmp = tempfile.TemporaryDirectory()
    test.addCleanup(tmp.cleanup)
    path = Path(tmp.name) / "harness"
    path.write_text(f"#!{sys.executable}\nimport json, sys\n" + body)
    path.chmod(0o755)
    return str(path)


class Compare(TmpDirTest):
    """tests/data/compare (its README lists what harness compare must say about each pair)."""
    LABELS = ["i2s__avx2 pp8\n1 thread", "i2s__avx2 tg4\n1 thread", "fp16 pp8\n1 thread", "fp16 tg4\n1 thread"]

    def setUp(self):
        super().setUp()
        self.before, self.after = P.read(BEFORE), P.read(AFTER)

    def test_pairs_without_harness(self):
        """Paired here: medians of the pooled samples, no verdict; tl2 (two machines) and the 2-thread row unpaired."""
        pairs, unmatched = P.compare_pairs(self.before, self.after)
        self.assertEqual([p.label for p in pairs], self.LABELS)
        self.assertEqual(unmatched, 3)
        self.assertEqual({p.verdict for p in pairs}, {None})
        self.assertAlmostEqual(pairs[0].ratio, 2165.7 / 2002.45)
        self.assertEqual((len(pairs[2].before), len(pairs[2].after)), (10, 10))  # fp16 pp8: two runs of 5 pooled

    def test_harness_verdicts_and_any_machine(self):
        doc = {"alpha": 0.05, "pairing": "any machine", "unmatched": [], "pairs": [
            {"key": {"machine": None, "engine": "ternbench", "model": "tiny", "n_layers": 2, "kernel": "tl2__avx2",
                     "head": "fp16", "threads": 1, "pin": "none", "test": "tg", "n_prompt": 0, "n_gen": 4,
                     "test_name": "tg4"},
             "before": {"median_ts": 400.0}, "after": {"median_ts": 440.0}, "ratio": 1.1, "verdict": "faster"}]}
        (p,), unmatched = P.compare_pairs(self.before, self.after, doc)
        self.assertEqual((p.label, p.ratio, p.verdict, unmatched), ("tl2__avx2 tg4\n1 thread", 1.1, "faster", 0))
        self.assertTrue(p.before and p.after, "samples pooled across machines, as the pairing says")

    def test_bars(self):
        pairs, _ = P.compare_pairs(self.before, self.after)
        pairs[0] = pairs[0]._replace(verdict="faster")
        fig, ax = plt.subplots()
        self.addCleanup(plt.close, fig)
        P.Figures.draw_compare(ax, pairs)
        heights = [round(b.get_height(), 4) for b in ax.patches]
        self.assertEqual(heights[0::2], [1.0] * 4)  # before, relative to its own median
        self.assertEqual(heights[1::2], [round(p.ratio, 4) for p in pairs])
        texts = [t.get_text() for t in ax.texts]
        self.assertIn("×1.082\nfaster", texts)
        self.assertIn("2002 t/s", texts)
        self.assertEqual([t.get_text() for t in ax.get_xticklabels()], self.LABELS)

    def test_script_with_harness(self):
        """--compare through a harness: the real one when ctest names it ($HARNESS), else a stub printing its JSON."""
        harness = os.environ.get("HARNESS")
        if not harness:
            doc = {"alpha": 0.05, "pairing": "machine (host, cpu, isa)", "unmatched": [], "pairs": [
                {"key": json.loads(P.compare_key(self.before[0])), "before": {"median_ts": 2002.45},
                 "after": {"median_ts": 2165.7}, "ratio": 1.0815, "verdict": "faster"}]}
            harness = stub_harness(self, f"assert sys.argv[1] == 'compare' and sys.argv[-2:] == ['-o', 'json']\n"
                                         f"print(json.dumps({doc!r}))\n")
        code, out, err = plot("--compare", BEFORE, AFTER, "--harness", harness, "--out", self.tmp, "--format", "png")
        self.assertEqual(code, 0, err)
        self.assertEqual(out.split(), [str(self.tmp / "compare.png")])
        if os.environ.get("HARNESS"):
            doc = P.ask_harness(harness, "compare", str(BEFORE), str(AFTER), "-o", "json")
            pairs, unmatched = P.compare_pairs(self.before, self.after, doc)
            self.assertEqual([(p.label, p.verdict) for p in pairs], list(zip(self.LABELS, [
                "faster", "slower", "no significant change", "too few samples"])))
            self.assertEqual(unmatched, 3)

    def test_usage(self):
        code, _, err = plot()
        self.assertEqual(code, 2)
        self.assertIn("--compare BEFORE.jsonl AFTER.jsonl", err)


if __name__ == "__main__":
    unittest.main()
