"""Small helpers every part of reproduce uses: paths, logging, time and size formats, JSONL files."""
import datetime as dt
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "ternbench-result-1"
BUSY_SHARE = 0.10   # other processes taking this share of the CPUs during a step: its timings are flagged


def default_harness():
    """$TERNBENCH_HARNESS when set, else build/harness/harness in the source tree."""
    return os.environ.get("TERNBENCH_HARNESS") or str(ROOT / "build" / "harness" / "harness")


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


def display_path(p):
    try:
        if not Path(p).is_absolute():
            return str(p)
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


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



def utc_iso():
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

