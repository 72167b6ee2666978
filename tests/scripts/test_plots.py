#!/usr/bin/env python3
"""scripts/plot on results/sample/sample.jsonl: every figure kind written, not blank; damaged input handled.
TB_SOURCE_DIR names the source tree (default: two levels up). Run with a Python that has matplotlib."""
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

SRC = Path(os.environ.get("TB_SOURCE_DIR", Path(__file__).resolve().parents[2]))
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


if __name__ == "__main__":
    unittest.main()
