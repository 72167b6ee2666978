#!/usr/bin/env python3
"""The README's measured tables agree with the committed results files they are rendered from
(scripts/readme_tables.py --check), and a README edited by hand is caught."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from script_test import SRC, TmpDirTest, run_script  # noqa: E402


def run(*args):
    return run_script("readme_tables.py", *args)


def module():
    """scripts/readme_tables.py as a module, for its load() and render()."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("readme_tables", SRC / "scripts" / "readme_tables.py")
    rt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rt)
    return rt


class ReadmeTables(TmpDirTest):
    def test_readme_agrees_with_its_data(self):
        code, _, err = run("--check")
        self.assertEqual(code, 0, err)

    def test_a_hand_edit_is_caught_and_rendering_restores_it(self):
        text = (SRC / "README.md").read_text()
        start = text.index("<!-- table: ")
        line_end = text.index("\n", text.index("| ternbench ", start))
        line = text[text.index("| ternbench ", start):line_end]
        cells = line.split("|")
        cells[2] = " 999.99 "  # a figure no file holds
        edited = text.replace(line, "|".join(cells), 1)
        readme = self.tmp / "README.md"
        readme.write_text(edited)
        code, _, err = run("--check", "--readme", readme)
        self.assertEqual(code, 1)
        self.assertIn("README differs from its data", err)
        self.assertEqual(run("--readme", readme)[0], 0)
        self.assertEqual(readme.read_text(), text)

    def test_rounds_of_one_command_give_the_median_round_and_their_spread(self):
        # Three rounds of a committed one-round file: the same rows at half, once and twice the speed (a slow and a
        # fast spell of a shared machine). Each cell is the median round, so the tables equal the one-round file's,
        # and the header names the rounds and their spread (2 / 0.5 = 4: 300%).
        rt, src = module(), "results/peers-zen5-vm-2026-12-05/avx2.jsonl"
        one = rt.load(SRC / src)
        rounds = []
        for i, f in enumerate((0.5, 1.0, 2.0)):
            for r in one:
                r = dict(r, run_id="%s-round%d" % (r["run_id"], i), median_ts=r["median_ts"] * f)
                if "ceiling_share" in r:
                    r["ceiling_share"] *= f
                rounds.append(r)
        single, merged = rt.render(one, src), rt.render(rounds, src)
        self.assertIn("in 3 rounds of the same command", merged)
        self.assertIn("differ by up to 300%", merged)
        table = lambda text: [l for l in text.splitlines() if l.startswith("|") or l.startswith("Best ternbench")]
        self.assertEqual(table(merged), table(single))
        self.assertNotEqual(rt.render(rounds[: 2 * len(one)], src), merged)  # two rounds: the mean of 0.5x and 1x

    def test_int8_head_rows_get_their_own_ratio(self):
        # ternbench's rows again with the int8 head and ten times the speed: the fp16 ratio line (like with like: the
        # peers' heads are fp16) stays as it was, the int8 rows get a line of their own, and the header says so.
        rt, src = module(), "results/peers-zen5-vm-2026-12-05/avx2.jsonl"
        one = rt.load(SRC / src)
        int8 = [dict(r, head="int8", median_ts=10 * r["median_ts"]) for r in one if r["engine"] == "ternbench"]
        single, both = rt.render(one, src), rt.render(one + int8, src)
        line = lambda text, start: [l for l in text.splitlines() if l.startswith(start)]
        self.assertEqual(line(both, "Best ternbench"), line(single, "Best ternbench"))
        self.assertEqual(line(single, "With ternbench's int8"), [])
        self.assertEqual(len(line(both, "With ternbench's int8")), 1)
        self.assertIn("ternbench i2s__avx2 (int8 head) / ", line(both, "With ternbench's int8")[0])
        self.assertIn("| i2s__avx2 (int8 head) | tg32 |", both)
        self.assertIn("ternbench's int8 head where a row says so", both)
        self.assertNotIn("int8 head where", single)


if __name__ == "__main__":
    unittest.main(verbosity=2)
