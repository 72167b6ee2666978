#!/usr/bin/env python3
"""scripts/plot on results/sample/sample.jsonl: every figure kind written, not blank; damaged input handled.
The series behind the figures, from small hand-made rows: one throughput line per kernel and test length, peers
dashed. TB_SOURCE_DIR names the source tree (default: two levels up). Run with a Python that has matplotlib."""
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

SRC = Path(os.environ.get("TB_SOURCE_DIR", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(SRC / "scripts"))
import plot as P  # noqa: E402
SAMPLE = SRC / "results" / "sample" / "sample.jsonl"
KINDS = ("throughput_vs_threads", "speedup_vs_size", "energy_per_token", "memory_per_format")


def plot(*args):
    """scripts/plot.py run with this interpreter (it has matplotlib): (exit code, stdout, stderr)."""
    p = subprocess.run([sys.executable, str(SRC / "scripts" / "plot.py"), *map(str, args)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


class Plots(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
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


if __name__ == "__main__":
    unittest.main()
