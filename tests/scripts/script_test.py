"""What the script tests share: where the source tree is, running a script with this interpreter, and a test
case with a temporary directory of its own. TB_SOURCE_DIR names the source tree (default: two levels up)."""
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SRC = Path(os.environ.get("TB_SOURCE_DIR") or Path(__file__).resolve().parents[2])


def run_script(script, *args, env=None, timeout=None):
    """scripts/<script> run with this interpreter: (exit code, stdout, stderr). env adds to the environment."""
    p = subprocess.run([sys.executable, str(SRC / "scripts" / script), *map(str, args)], capture_output=True,
                       text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class TmpDirTest(unittest.TestCase):
    """self.tmp: a directory of the test's own, removed after it."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
