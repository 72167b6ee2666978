#!/usr/bin/env python3
"""scripts/reproduce.py without the real harness: --report-only on a hand-made data directory (published and
measured figures, extrapolation marks, estimates), --dry-run (a plan and an estimate, nothing run), and a run on a
stub harness (TERNBENCH_HARNESS) whose failing steps are reported in one line while the rest goes on.
TB_SOURCE_DIR names the source tree (default: two levels up); HARNESS the built harness, which answers the stub's
`models --json` (reproduce asks the harness for model facts instead of re-deriving them). Run with a Python that
has matplotlib."""
import json
import os
import sys
import textwrap
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from script_test import SRC, TmpDirTest, run_script  # noqa: E402

HARNESS = os.environ.get("HARNESS", "")
if not os.access(HARNESS, os.X_OK):
    sys.exit(f"test_reproduce: no harness at {HARNESS!r}: set HARNESS to the built harness (ctest does)")
MACHINE = {"host": "testhost", "cpu": "Test CPU 9000", "logical_cpus": 2, "memory_bytes": 25_000_000_000,
           "os": "Linux 6.1 x86_64", "compiler": "gcc 12.2.0", "cxx_flags": "-O3", "isa": "avx2",
           "commit": "abc123def456", "energy_source": "estimate", "cpu_flags": ["avx2"]}


def layers_of(model):
    return json.loads((SRC / "configs" / "models" / f"{model}.json").read_text())["layers"]


def row(model, fmt, tps, layers=None, threads=2, n=16, head="fp16", memory=None, time="2026-12-02T14:00:00Z"):
    full = layers_of(model)
    r = {"schema": "ternbench-result-1", "time": time, "run_id": f"{time}-testhost-1", "engine": "ternbench",
         "machine": MACHINE, "model": model, "n_layers": layers or full, "model_layers": full, "params": 1000,
         "kernel": fmt if fmt in ("fp16", "fp32") else f"{fmt}__avx2", "format": fmt, "head": head, "threads": threads,
         "test": "tg", "n_prompt": 0, "n_gen": n, "reps": 1, "samples_ts": [tps], "median_ts": tps, "avg_ts": tps,
         "stddev_ts": 0.0, "cv": 0.0, "energy": {"source": "estimate", "estimated": True, "j_per_token": 1e-4}}
    if memory:
        r["memory"] = {"non_embedding": memory[0], "peak_rss": memory[1], "linear_weights": memory[0], "norms": 0,
                       "embedding": 1, "kv_cache": 1}
    return r


def t_of(t0, t_layer, L):
    return 1.0 / (t0 + t_layer * L)


def subset_row(model, fmt, t0, t_layer, L):
    """A layer-subset row whose runner timers put t_layer seconds per token in each layer (and t0 outside them)."""
    r = row(model, fmt, t_of(t0, t_layer, L), layers=L)
    r["time_split"] = {"linear": 0.8 * L * t_layer, "attention": 0.1 * L * t_layer, "norms_and_quant": 0.1 * L * t_layer,
                       "head": t0}
    return r


def hand_made_rows():
    rows = [row("ladder-125M", "i2s", 150.0), row("ladder-125M", "tl2", 160.0), row("ladder-125M", "fp16", 50.0)]
    # 125M on layer subsets too: t(L) = 2 ms + L x 0.4 ms -> 156.25 t/s at 11 layers, +4.2% against 150
    rows += [subset_row("ladder-125M", "i2s", 0.002, 0.0004, L) for L in (2, 4)]
    # 7B only on layer subsets: i2s 10 ms + L x 2 ms -> 13.51 t/s at 32 layers; fp16 10 ms + L x 12 ms -> 2.54 t/s
    rows += [subset_row("ladder-7B", "i2s", 0.010, 0.002, L) for L in (2, 4)]
    rows += [subset_row("ladder-7B", "fp16", 0.010, 0.012, L) for L in (2, 4)]
    rows += [row("ladder-700M", f, v) for f, v in (("int8", 80.0), ("i2s", 100.0), ("tl1", 90.0), ("tl2", 105.0), ("fp16", 25.0))]
    rows += [row("2B4T", "fp16", 5.0, n=1, memory=(4_170_000_000, 5_200_000_000)),
             row("2B4T", "i2s", 20.0, n=1, memory=(521_000_000, 1_400_000_000))]
    rows += [row("2B4T", "i2s", 25.0, n=128), row("2B4T", "i2s", 27.0, n=128, head="int8")]
    return rows


def step(section, cmd, kind, meta=None, **kw):
    return {"section": section, "title": cmd, "cmd": cmd, "kind": kind, "meta": meta or {}, "status": "ok", "rc": 0,
            "elapsed_s": 0.1, **kw}


def energy_json(model, j, linear="auto"):
    return step("energy", f"build/harness/harness energy --estimate --model {model} --json" + (" --linear fp16" if linear == "fp16" else ""),
                "json", {"model": model, "linear": linear},
                output={"model": model, "estimated": True, "method": "test", "sequence_tokens": 512, "sequence_j": j,
                        "prefill_j_per_token": j / 512, "decode_j_per_token": j / 512, "ternary_linear": linear != "fp16"})


def hand_made_steps():
    return [
        step("energy", "build/harness/harness energy", "text",
             text="Energy sources, in the order a run tries them:\n\n| source | available here | why not |\n|---|---|---|\n"
                  "| powercap: Linux powercap RAPL | no | /sys/class/powercap does not exist |\n"),
        energy_json("2B4T", 0.0277), energy_json("ladder-7B", 0.0123), energy_json("ladder-7B", 0.2345, "fp16"),
        step("lossless", "build/harness/harness lossless -m ladder-125M --json", "json", {"model": "ladder-125M"},
             output={"model": "ladder-125M", "reference": "fp32 Eigen reference", "head": "fp32", "prompts": 20, "tokens": 16,
                     "prompt_len": 8, "kernels": [
                         {"kernel": "i2s__avx2", "exact_match_rate": 1.0, "matched": 20, "tokens_before_first_divergence_mean": 16.0,
                          "exact_match_rate_independent": 0.4, "matched_independent": 8,
                          "tokens_before_first_divergence_independent_mean": 9.75},
                         {"kernel": "tl1__avx2", "exact_match_rate": 1.0, "matched": 20, "tokens_before_first_divergence_mean": 16.0},
                         {"kernel": "tl2__avx2", "exact_match_rate": 1.0, "matched": 20, "tokens_before_first_divergence_mean": 16.0},
                         {"kernel": "int8__avx2", "exact_match_rate": 0.95, "matched": 19, "tokens_before_first_divergence_mean": 15.5}]}),
        {**step("memory", "build/harness/harness -m minicpm-2B -k fp32 -t 2 -p 1 -n 1 -r 1", "sweep"), "status": "failed", "rc": 2,
         "error": "harness: model minicpm-2B with kernel fp32 needs 9.9 GiB but only 2.0 GiB is available; choose a smaller model"},
    ]


# A stub harness: answers energy, roofline and sweeps (rows from a formula), refuses ladder-350M in full with the
# harness's out-of-memory message, fails lossless; logs every call.
STUB = r'''
import json, os, sys
from pathlib import Path
SRC = Path(os.environ["TB_SOURCE_DIR"])
a = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as f:
    f.write(" ".join(a) + "\n")
def opt(name, default=None):
    return a[a.index(name) + 1] if name in a else default
if a[:1] == ["energy"]:
    if "--estimate" not in a:
        print("Energy sources, in the order a run tries them:\n| powercap | no | stub: no powercap |")
        sys.exit(0)
    m = opt("--model")
    pub = {"2B4T": 0.028, "llama3.2-1B": 0.258, "gemma3-1B": 0.186, "qwen2.5-1.5B": 0.347, "smollm2-1.7B": 0.425, "minicpm-2B": 0.649}
    j = pub.get(m, 1.0) * (1.0 if "fp16" not in a else 10.0)
    print(json.dumps({"model": m, "estimated": True, "method": "stub", "sequence_tokens": 512, "sequence_j": j,
                      "prefill_j_per_token": j / 512, "decode_j_per_token": j / 512, "ternary_linear": "fp16" not in a}))
    sys.exit(0)
if a[:1] == ["models"]:  # the facts: the real harness's
    os.execv(os.environ["REAL_HARNESS"], [os.environ["REAL_HARNESS"], *a])
if a[:1] == ["roofline"]:
    if "--json" not in a:
        sys.exit("stub: reproduce must ask for roofline --json")
    if "--cached" in a:  # nothing cached
        print(json.dumps({"cache": "stub", "cpu": "Stub CPU", "points": [], "missing": opt("-t", "1").split(",")}))
        sys.exit(0)
    print(json.dumps({"cache": "stub", "cpu": "Stub CPU", "points": [
        {"threads": int(t), "read_gbs": 50.0, "best_path": "stub", "int8_gmacs": 800.0, "path_gmacs": {"stub": 800.0},
         "path_instructions": {"stub": "stub"}, "measured_at": "now"} for t in opt("-t", "1").split(",")]}))
    sys.exit(0)
if a[:1] == ["lossless"]:
    print("lossless ladder-125M: reference...", file=sys.stderr)
    print("harness: lossless: the stub reference broke", file=sys.stderr)
    sys.exit(2)
m = opt("-m")
cfg = json.loads((SRC / "configs" / "models" / f"{m}.json").read_text())
L = int(opt("--layers", cfg["layers"]))
if m == "ladder-350M" and L == cfg["layers"]:
    print("harness: model ladder-350M with kernel i2s needs 30.0 GiB but only 20.0 GiB is available; choose a smaller "
          "model, a shorter context, or free memory", file=sys.stderr)
    sys.exit(2)
with open(opt("--out"), "a") as f:
    for k in opt("-k").split(","):
        for t in opt("-t").split(","):
            t_layer = 0.0005 if k == "fp16" else 0.0001
            tps = 1.0 / (0.001 + L * t_layer)
            f.write(json.dumps({"schema": "ternbench-result-1", "time": "2026-12-02T15:00:00Z", "run_id": "stub",
                "engine": "ternbench", "machine": {"host": "stub", "cpu": "Stub CPU", "logical_cpus": int(t)},
                "model": m, "n_layers": L, "model_layers": cfg["layers"], "params": 1, "kernel": k + "__stub",
                "format": k, "head": opt("--head", "fp16"), "threads": int(t), "test": "tg", "n_prompt": 0,
                "n_gen": int(opt("-n")), "reps": int(opt("-r")), "median_ts": tps,
                "energy": {"source": "estimate", "estimated": True, "j_per_token": 0.001},
                "time_split": {"linear": L * t_layer, "attention": 0.0, "norms_and_quant": 0.0, "head": 0.001}}) + "\n")
'''


def reproduce(*args, env=None):
    return run_script("reproduce.py", *args, env={"TB_SOURCE_DIR": str(SRC), **(env or {})}, timeout=120)


class Reproduce(TmpDirTest):
    def setUp(self):
        super().setUp()
        self.log = self.tmp / "stub.log"
        self.stub = self.tmp / "harness"
        self.stub.write_text(f"#!{sys.executable}\n" + textwrap.dedent(STUB))
        self.stub.chmod(0o755)
        self.env = {"TERNBENCH_HARNESS": str(self.stub), "STUB_LOG": str(self.log), "REAL_HARNESS": HARNESS}

    def test_report_only(self):
        d = self.tmp / "run"
        d.mkdir()
        (d / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in hand_made_rows()))
        (d / "steps.jsonl").write_text("".join(json.dumps(s) + "\n" for s in hand_made_steps()))
        code, out, err = reproduce("--report-only", "--out", d, env=self.env)
        self.assertEqual(code, 0, err)
        report = (d / "REPORT.md").read_text()
        self.assertEqual(out.strip(), str(d / "REPORT.md"))
        lines = report.splitlines()
        line = lambda start: next((s for s in lines if s.startswith(start)), "")  # noqa: E731
        # headline first, then the machine from the rows' fingerprint
        self.assertLess(report.index("Headline"), report.index("## 1. Speed"))
        for s in ("Test CPU 9000", "abc123def456", "2 logical CPUs"):
            self.assertIn(s, report)
        # speed: published [A1] Tables 4 and 5 beside the measured; 2 logical CPUs: the two settings coincide
        self.assertIn("coincide", report)
        self.assertIn("Table 4", report)
        self.assertIn("Table 5", report)
        r125 = line("| 125M |")
        for s in ("164.04", "389.08", "2.37x", "50.00", "160.0", "tl2__avx2", "3.20x"):
            self.assertIn(s, r125)
        r7 = line("| 7B |")
        for s in ("3.30", "18.75", "13.51 *", "2.54 *", "extrapolated from layers 2, 4", "5.32x"):
            self.assertIn(s, r7)
        self.assertIn("| 100B | — | 1.70 |", report)
        # the extrapolation check: 125M measured in full and from layers 2, 4
        self.assertIn("| 125M | i2s__avx2 | 2 | 150.0 | 156.2 | 2, 4 | +4.2% |", report)
        # kernels: [A2] Table 7 beside the measured
        self.assertIn("| 700M | i2s__avx2 | 125.37 (I2_S) | 100.0 | 4.00x |", report)
        self.assertIn("| 7B | i2s__avx2 | 20.62 (I2_S) | 13.51 * |", report)
        # energy: the estimate against [A3], marked as an estimate; no counters here
        self.assertIn("| BitNet b1.58 2B4T | 0.028 | 0.0277 |", report)
        self.assertIn("ESTIMATED", report)
        self.assertIn("| 7B | 0.000458 | 2.402e-05 | -94.8% | 11.305 → 2.017 (-82.2%)", report)
        self.assertIn("/sys/class/powercap does not exist", report)
        # memory and latency
        self.assertIn("| BitNet b1.58 2B4T | 0.4 | — | 4.17 | — | 0.52 | — | — | 5.20 | — | 1.40 | — |", report)
        self.assertIn("| BitNet b1.58 2B4T | i2s | 8.00x | — |", report)
        self.assertIn("| fp16 | 29 | 40.0 |", report)
        self.assertIn("| int8 | 29 | 37.0 |", report)
        # lossless beside [A1] Table 7, including the llama.cpp formats not run
        self.assertIn("| i2s__avx2 (I2_S) | 100.0% | 100.0% | 20 / 20 | 16.0 of 16 | 40.0% | 8 / 20 | 9.8 of 16 |", report)
        self.assertIn("| TQ1_0 (llama.cpp) | 1.4% | not run (llama.cpp format) |", report)
        self.assertIn("| int8__avx2 | — | 95.0% |", report)
        # the recorded failure, in one line, in its section
        self.assertIn("- `build/harness/harness -m minicpm-2B -k fp32 -t 2 -p 1 -n 1 -r 1`: harness: model minicpm-2B with "
                      "kernel fp32 needs 9.9 GiB", report)
        # plots: scripts/plot.py's and the paper-shaped one
        for name in ("speed_vs_size_paper.png", "speed_vs_size_paper.svg", "memory_per_format.png"):
            self.assertTrue((d / "plots" / name).exists(), name)
        self.assertIn("speed_vs_size_paper.png", report)
        # a directory without models.json: the speed plot asked the harness for the model sizes, and nothing else
        self.assertEqual(self.log.read_text().splitlines(), ["models --json"])

    def test_peers_beside_ternbench(self):
        """Peer rows (as `harness import` writes them) and ternbench's 2B4T pp/tg rows: one table, speedups over
        llama.cpp F16 at the same test and thread count, the fastest of each side compared."""
        def peer(engine, kernel, test, threads, tps, **pe):
            return {"schema": "ternbench-result-1", "time": "2026-11-25T15:00:00Z", "run_id": "import:x.json",
                    "engine": engine, "kernel": kernel, "format": kernel, "threads": threads, "test": test,
                    "n_prompt": 128 if test == "pp" else 0, "n_gen": 32 if test == "tg" else 0, "median_ts": tps,
                    "machine": {"cpu": "AMD EPYC", "source": "imported: x.json"}, "peer": pe}

        def own(fmt, test, threads, tps):
            r = row("2B4T", fmt, tps, threads=threads, n=32 if test == "tg" else 0)
            r.update(test=test, n_prompt=128 if test == "pp" else 0)
            return r
        rows = [peer("llama.cpp", "F16", "pp", 1, 20.0), peer("llama.cpp", "F16", "tg", 1, 5.0),
                peer("bitnet.cpp", "I2_S", "pp", 1, 60.0), peer("bitnet.cpp", "I2_S", "tg", 1, 18.0),
                peer("ik_llama.cpp", "IQ2_BN", "pp", 1, 70.0, repack=True, flash_attn=True),
                peer("ik_llama.cpp", "IQ2_BN", "pp", 1, 50.0),
                own("i2s", "pp", 1, 80.0), own("i2s", "tg", 1, 15.0), own("fp16", "tg", 1, 90.0)]
        d = self.tmp / "peers"
        d.mkdir()
        (d / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        code, out, err = reproduce("--report-only", "--no-plots", "--out", d)
        self.assertEqual(code, 0, err)
        report = (d / "REPORT.md").read_text()
        self.assertIn("| engine | type | threads | pp128 t/s | x F16 | tg32 t/s | x F16 |", report)
        self.assertIn("| bitnet.cpp | I2_S | 1 | 60.00 | 3.00x | 18.00 | 3.60x |", report)
        self.assertIn("| ik_llama.cpp | IQ2_BN rtr fa | 1 | 70.00 | 3.50x | — | — |", report)  # not merged with plain IQ2_BN
        self.assertIn("| ik_llama.cpp | IQ2_BN | 1 | 50.00 | 2.50x | — | — |", report)
        self.assertIn("| ternbench | i2s__avx2 | 1 | 80.00 | 4.00x | 15.00 | 3.00x |", report)
        # fp16 is not a contender for "fastest ternbench kernel", however fast
        self.assertIn("- pp128, 1 thread: fastest ternbench kernel (i2s__avx2) 80.00 t/s, fastest peer (ik_llama.cpp IQ2_BN "
                      "rtr fa) 70.00 t/s: 1.14x", report)
        self.assertIn("- tg32, 1 thread: fastest ternbench kernel (i2s__avx2) 15.00 t/s, fastest peer (bitnet.cpp I2_S) "
                      "18.00 t/s: 0.83x", report)
        self.assertIn("Different machines", report)  # AMD EPYC in the files, Test CPU 9000 here

    def test_peers_files_must_exist(self):
        code, out, err = reproduce("--quick", "--dry-run", "--sections", "peers", "--peers", self.tmp / "nope.json",
                                   env=self.env)
        self.assertEqual(code, 2)
        self.assertIn("--peers: no such file", err)

    def test_dry_run_prints_plan_and_runs_nothing(self):
        d = self.tmp / "dry"
        code, out, err = reproduce("--quick", "--dry-run", "--out", d, env=self.env)
        self.assertEqual(code, 0, err)
        for s in ("quick mode", "estimated total:", "how:", "bandwidth", "speed", "lossless", "memory", "latency",
                  "energy", "kernels", "ladder-100B", "first 2 of 72 layers", "$ "):
            self.assertIn(s, out)
        # the harness was asked for facts (models, the cached roofline), never to measure
        calls = self.log.read_text().splitlines()
        self.assertEqual(sorted(c.split()[0] for c in calls), ["models", "roofline"], calls)
        self.assertIn("--cached", calls[[c.split()[0] for c in calls].index("roofline")])
        self.assertFalse(d.exists(), "a dry run wrote its output directory")

    def test_failing_steps_reported_and_run_goes_on(self):
        d = self.tmp / "run"
        code, out, err = reproduce("--quick", "--no-plots", "--out", d, "--sections", "energy,speed,lossless",
                                   "--threads", "2", env=self.env)
        self.assertEqual(code, 0, err)
        self.assertEqual(out.strip(), str(d / "REPORT.md"))
        calls = self.log.read_text().splitlines()
        self.assertTrue(any(c.startswith("lossless") for c in calls))
        self.assertTrue(any("-m ladder-100B" in c for c in calls), "the speed section did not go on")
        # each failure: one line on stderr, with the harness's own message
        fails = [s for s in err.splitlines() if "FAILED" in s]
        self.assertEqual(len(fails), 2, err)
        self.assertIn("FAILED (exit 2): harness: model ladder-350M with kernel i2s needs 30.0 GiB", fails[0])
        self.assertIn("FAILED (exit 2): harness: lossless: the stub reference broke", fails[1])
        # the refused model was measured on layer subsets instead
        self.assertIn("measuring on layer subsets instead", err)
        self.assertIn("about", err)  # time left
        report = (d / "REPORT.md").read_text()
        self.assertIn("the stub reference broke", report)
        r350 = next(s for s in report.splitlines() if s.startswith("| 350M |"))
        self.assertRegex(r350, r"extrapolated from layers 6, 12")  # half and a quarter of its 24 layers
        self.assertIn("| BitNet b1.58 2B4T | 0.028 | 0.0280 |", report)
        self.assertIn("6 of 6 match", report)
        recs = [json.loads(s) for s in (d / "steps.jsonl").read_text().splitlines()]
        self.assertEqual(sum(r["status"] == "failed" for r in recs), 2)
        self.assertTrue((d / "data.jsonl").exists())
        # --report-only renders the same from what is there
        code, _, err = reproduce("--report-only", "--no-plots", "--out", d)
        self.assertEqual(code, 0, err)
        self.assertEqual((d / "REPORT.md").read_text(), report)

    def test_report_only_needs_a_directory(self):
        code, _, err = reproduce("--report-only", "--out", self.tmp / "nothing")
        self.assertEqual(code, 2)
        self.assertIn("does not exist", err)


if __name__ == "__main__":
    unittest.main()
