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


if __name__ == "__main__":
    unittest.main(verbosity=2)
