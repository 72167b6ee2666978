#!/usr/bin/env python3
"""Reproduce the published figures on this machine: [A1] Tables 4, 5 (decode speed against model size, ternary
against fp16), 6 (energy per token) and 7 (lossless), [A2] Table 7 (speed per kernel), [A3] Table 1 (memory,
decode latency, energy estimate). Every measurement runs build/harness/harness in a subprocess; sweep rows are
appended to DIR/data.jsonl as they arrive, the other outputs to DIR/steps.jsonl, and DIR/REPORT.md (with plots
in DIR/plots) is rendered from those files, so nothing measured is lost and --report-only renders again.

Usage: scripts/reproduce [--quick] [--out DIR] [--threads LIST] [--dry-run] [--report-only] [options]
The harness is $TERNBENCH_HARNESS when set, else build/harness/harness. See docs/reference.md §6 for the figures.
The parts live in scripts/repro/: published.py (the figures), facts.py (what the harness says of models and its
cached roofline), plan.py (the steps and their time estimate), run.py (the steps run), report.py (REPORT.md).
"""
import argparse
import datetime as dt
import json
import signal
import socket
import sys
from pathlib import Path

from repro.common import ROOT, display_path, default_harness, gb, hms, log, utc_iso
from repro.facts import Facts, HarnessError
from repro.plan import SECTIONS, Planner, Step
from repro.report import render_report
from repro.run import Runner


def sigterm(*_):
    raise KeyboardInterrupt


def default_outdir():
    return ROOT / "results" / f"reproduce-{socket.gethostname()}-{dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d')}"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--quick", action="store_true", help="the <15-minute budget: tg16, 1 rep, layer subsets above "
                    "--size-cap, small lossless run, fewer memory formats")
    ap.add_argument("--out", type=Path, help="output directory (default results/reproduce-<host>-<UTC date>)")
    ap.add_argument("--threads", default="max,2", help="thread counts of the speed figures, 'max' = all logical CPUs "
                    "(default max,2: [A1] Tables 4 and 5)")
    ap.add_argument("--dry-run", action="store_true", help="print the plan and its time estimate, run nothing")
    ap.add_argument("--report-only", action="store_true", help="render REPORT.md and the plots from DIR's data again")
    ap.add_argument("--no-plots", action="store_true", help="write REPORT.md without (re)drawing the plots")
    ap.add_argument("--resume", action="store_true", help="skip steps that DIR/steps.jsonl records as done and "
                    "undisturbed (failed, interrupted and disturbed steps run again)")
    ap.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--tg", type=int, help="tokens per generation test (default 128; --quick 16)")
    ap.add_argument("--reps", type=int, help="repetitions after the warm-up (default 3; --quick 1)")
    ap.add_argument("--subset-layers", metavar="A,B", help="fixed layer counts of the extrapolation runs (default: per "
                    "model, from --subset-budget)")
    ap.add_argument("--subset-budget", type=float, metavar="WEIGHTS", help="weights the larger extrapolation run of a "
                    "model may draw (default 4e9; --quick 5e8): b = that many layers' worth, at least 2, at most half")
    ap.add_argument("--size-cap", type=float, help="--quick: models above this many non-embedding parameters run on "
                    "layer subsets (default 1e9: ladder-1B and smaller run in full)")
    ap.add_argument("--lossless-model", help="model of the lossless check (default ladder-700M; --quick ladder-125M)")
    ap.add_argument("--lossless-prompts", type=int, help="prompts of the lossless check (default 1000 as [A1]; --quick 20)")
    ap.add_argument("--lossless-budget", type=float, default=3600, metavar="SECONDS", help="full mode without "
                    "--lossless-prompts: fewer prompts than [A1]'s 1000 when those would take longer (default 3600)")
    ap.add_argument("--peers", nargs="+", metavar="FILE", help="llama-bench output (JSON, JSONL, CSV) of llama.cpp, "
                    "bitnet.cpp or ik_llama.cpp to set beside ternbench on 2B4T (section 7); ternbench runs with the "
                    "files' prompt/generation lengths and thread counts")
    ap.add_argument("--lossless-tokens", type=int, help="tokens per prompt (default 100 as [A1]; --quick 16)")
    return ap.parse_args(argv)


def print_plan(args, pl, steps, harness, outdir):
    """The plan, to stdout for a dry run (with each command), else to stderr."""
    total = sum(s.est for s in steps)
    out = sys.stdout if args.dry_run else sys.stderr
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"reproduce: {'quick' if args.quick else 'full'} mode, {len(steps)} steps, harness {display_path(harness)}")
    p(f"machine: {pl.ncpu} logical CPUs, " + (f"{gb(pl.avail):.1f} GB available" if pl.avail else "available memory unknown"))
    if len(pl.threads) == 1 and "max" in args.threads and "2" in args.threads.split(","):
        p(f"threads: all threads and 2 threads coincide on this {pl.ncpu}-CPU machine: the speed figures run once at "
          f"{pl.threads[0]} threads and stand for both [A1] Tables 4 and 5")
    else:
        p(f"threads: {', '.join(map(str, pl.threads))}")
    p(f"output: {display_path(outdir)} (data.jsonl, steps.jsonl, REPORT.md, plots/)")
    p(f"settings: tg{pl.tg}, {pl.reps} rep(s) after one warm-up, pp skipped; layer subsets ({pl.subsets_text()}) for "
      f"models that do not fit" + (f" or exceed {args.size_cap / 1e9:g}B parameters" if args.quick else "")
      + f"; extrapolation checked on {', '.join(pl.check) if pl.check else 'none'}")
    for n in pl.notes:
        p(f"note: {n}")
    p("")
    p(f"{'#':>3}  {'section':<9} {'estimate':>12}  what")
    for i, s in enumerate(steps, 1):
        p(f"{i:>3}  {s.section:<9} {hms(s.est):>12}  {s.title}")
        if args.dry_run:
            p(f"{'':>27}  $ {s.cmd()}")
    p("")
    p(f"estimated total: {hms(total)}" + (" (over the 15-minute quick budget)" if args.quick and total > 900 else ""))
    p(f"how: {pl.how_estimated()}")
    return total


def run_plan(args, pl, steps, outdir, sections, facts, total):
    """Runs the steps into outdir (plan.json and models.json first), then renders the report; the exit code."""
    outdir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, sigterm)
    (outdir / "models.json").write_text(json.dumps(facts.raw, indent=1) + "\n")  # the facts the plan used
    plan = {"mode": "quick" if args.quick else "full", "threads": pl.threads, "logical_cpus": pl.ncpu, "tg": pl.tg,
            "reps": pl.reps, "subset_layers": pl.subsets_text(), "size_cap": args.size_cap, "sections": sections,
            "mem_available": pl.avail, "estimate_s": round(total), "started": utc_iso(), "notes": pl.notes,
            "check_sizes": pl.check, "how_estimated": pl.how_estimated(), "argv": sys.argv[1:]}
    (outdir / "plan.json").write_text(json.dumps(plan, indent=2) + "\n")
    runner = Runner(outdir, pl, steps, args.resume)
    rc = 0
    try:
        wall, failures = runner.run()
    except KeyboardInterrupt:
        log("reproduce: interrupted; writing the report from what was measured")
        wall, failures, rc = None, None, 130
    plan["wall_s"] = round(wall) if wall else None
    plan["finished"] = utc_iso()
    (outdir / "plan.json").write_text(json.dumps(plan, indent=2) + "\n")
    path = render_report(outdir, plots=not args.no_plots)
    if wall is not None:
        log(f"reproduce: done in {hms(wall)} (estimated {hms(total)}), {failures} failed step(s); report: {display_path(path)}")
    print(path)
    return rc


def main(argv=None):
    args = parse_args(argv)
    outdir = (args.out or default_outdir()).resolve()
    if args.report_only:
        if not outdir.is_dir():
            print(f"reproduce: {outdir} does not exist (--out DIR names a reproduce directory)", file=sys.stderr)
            return 2
        print(render_report(outdir, plots=not args.no_plots))
        return 0
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = set(sections) - set(SECTIONS)
    if bad:
        print(f"reproduce: unknown section(s) {', '.join(sorted(bad))}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    harness = default_harness()
    try:  # two questions to the harness (models, cached roofline); neither measures anything
        facts = Facts.from_harness(harness)
        pl = Planner(args, harness, outdir / "data.jsonl", facts)
        steps = pl.plan(sections)
    except (ValueError, OSError, HarnessError) as e:
        print(f"reproduce: {e}", file=sys.stderr)
        return 2
    if not args.dry_run:  # the bandwidth the estimates use: measured (or cached) first
        ts = sorted(set(pl.threads + [1]))
        roof = Step("roofline", "read bandwidth per thread count (cached per machine, else measured)",
                    [harness, "roofline", "-t", ",".join(map(str, ts)), "--json"], "json")
        roof.est = 0.5 if all(t in pl.bw for t in ts) else 5.0 * len(ts)
        steps.insert(0, roof)
    total = print_plan(args, pl, steps, harness, outdir)
    if args.dry_run:
        return 0
    return run_plan(args, pl, steps, outdir, sections, facts, total)


if __name__ == "__main__":
    sys.exit(main())
