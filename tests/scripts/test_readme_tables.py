#!/usr/bin/env python3
"""The README's measured tables agree with the committed results files they are rendered from
(scripts/readme_tables.py --check), and a README edited by hand is caught."""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.environ.get("TB_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "readme_tables.py")


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


class ReadmeTables(unittest.TestCase):
    def test_readme_agrees_with_its_data(self):
        p = run("--check")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_a_hand_edit_is_caught_and_rendering_restores_it(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            text = f.read()
        start = text.index("<!-- table: ")
        line_end = text.index("\n", text.index("| ternbench ", start))
        line = text[text.index("| ternbench ", start):line_end]
        cells = line.split("|")
        cells[2] = " 999.99 "  # a figure no file holds
        edited = text.replace(line, "|".join(cells), 1)
        with tempfile.TemporaryDirectory() as d:
            readme = os.path.join(d, "README.md")
            with open(readme, "w") as f:
                f.write(edited)
            p = run("--check", "--readme", readme)
            self.assertEqual(p.returncode, 1)
            self.assertIn("README differs from its data", p.stderr)
            self.assertEqual(run("--readme", readme).returncode, 0)
            with open(readme) as f:
                self.assertEqual(f.read(), text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
