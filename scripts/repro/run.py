"""Running the plan: each step a harness subprocess, its rows relayed as they arrive, its record appended to
DIR/steps.jsonl at once, the report rendered again after every sweep, so nothing measured is lost."""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from .common import BUSY_SHARE, ROOT, append_jsonl, display_path, hms, log, logical_cpus, one_line_error, read_jsonl, utc_iso
from .facts import roofline_points
from .report import render_report


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

