#!/usr/bin/env python3
"""The harness as users run it: the sweep and its results file, every bad input, Ctrl-C, verify, roofline.

HARNESS names the binary. Runs use the tiny preset (a few MB) so the whole file takes seconds."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

HARNESS = os.environ.get("HARNESS", "build/harness/harness")
BENCH = os.environ.get("BENCH_KERNELS", "")  # ctest names bench_kernels whenever it is built


# Every run gets this module's cache folder unless a test names one: the sweeps here probe the machine under the
# load of the other tests, and their roofline and tiles must never land in the user's cache (~/.cache/ternbench).
# Only a test of the cache itself names a folder of its own: each fresh folder measures the roofline again, about
# 70-100 s under ASan + UBSan (five such folders took harness_cli to 864 s of its 900).
_CACHE = tempfile.TemporaryDirectory()


def harness_env(env=None):
    e = dict(os.environ)
    e["TERNBENCH_CACHE_DIR"] = _CACHE.name
    e.update(env or {})
    return e


def run(*args, env=None, **kw):
    return subprocess.run([HARNESS, *args], capture_output=True, text=True, env=harness_env(env), timeout=600, **kw)


class Sweep(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "sub", "r.jsonl")  # the folder does not exist yet
        cls.p = run("-m", "tiny", "-t", "1,2", "-k", "i2s,fp16", "-r", "3", "-p", "8", "-n", "4", "--out", cls.out,
                    "-o", "jsonl")
        with open(cls.out) as f:
            cls.rows = [json.loads(l) for l in f]
        # What this machine measures energy with (a counter where RAPL, perf, MSR or powermetrics work, else the
        # estimate): the rows must say the same, so the test passes on either kind of machine.
        e = run("energy", "--json")
        cls.energy = json.loads(e.stdout) if e.returncode == 0 else None

    def test_exit_and_row_count(self):
        self.assertEqual(self.p.returncode, 0, self.p.stderr)
        self.assertEqual(len(self.rows), 2 * 2 * 2)  # kernels x threads x {pp, tg}
        # stdout (jsonl) carries the same rows as the file
        self.assertEqual([json.loads(l) for l in self.p.stdout.splitlines()], self.rows)

    def test_rows_are_complete(self):
        seen = set()
        for r in self.rows:
            self.assertEqual(r["schema"], "ternbench-result-1")
            self.assertEqual(r["engine"], "ternbench")
            for k in ("cpu", "cpu_flags", "logical_cpus", "memory_bytes", "os", "compiler", "cxx_flags", "isa", "commit",
                      "energy_source"):
                self.assertIn(k, r["machine"])
            self.assertEqual(len(r["samples_ts"]), 3)
            s = sorted(r["samples_ts"])
            self.assertEqual(r["median_ts"], s[1])
            self.assertAlmostEqual(r["avg_ts"], sum(s) / 3, delta=1e-9 * r["avg_ts"])
            m = r["memory"]
            self.assertEqual(m["non_embedding"], m["linear_weights"] + m["norms"])
            self.assertEqual(r["model_bytes"], m["linear_weights"] + m["norms"] + m["embedding"])
            self.assertGreater(m["peak_rss"], m["linear_weights"])
            # tiny: 4 layers of q/k/v/o (256x256 ...) and the FFN; i2s is 2 bits a weight, fp16 16
            per = {"i2s__": 0.25, "fp16": 2.0}
            f = next(v for k, v in per.items() if r["kernel"].startswith(k))
            self.assertAlmostEqual(m["linear_weights"], f * self.linear_params(), delta=64 * 1024)
            if r["test"] == "tg":
                self.assertEqual((r["n_prompt"], r["n_gen"]), (0, 4))
                self.assertAlmostEqual(r["bandwidth_gbs"], r["bytes_per_token"] * r["median_ts"] / 1e9, delta=1e-6)
                self.assertAlmostEqual(r["roofline_share"], r["bandwidth_gbs"] / r["roofline_gbs"], delta=1e-9)
                # the ceiling is the higher probe: before packing, and after the test where peak RSS resets
                self.assertIn(len(r["roofline_probes_gbs"]), (1, 2))
                self.assertEqual(r["roofline_gbs"], max(r["roofline_probes_gbs"]))
                self.assertAlmostEqual(r["bandwidth_ceiling_ts"] * r["bytes_per_token"] / 1e9, r["roofline_gbs"],
                                       delta=1e-9 * r["roofline_gbs"])
            else:
                self.assertEqual((r["n_prompt"], r["n_gen"]), (8, 0))
                self.assertEqual("compute_share" in r, r["kernel"] != "fp16")
                if "int8_peak_gmacs" in r:  # the path the peak is of: the variant's own
                    self.assertEqual(r["kernel"], r["format"] + "__" + r["int8_peak_isa"])
                self.assertNotIn("bandwidth_ceiling_ts", r)
            # the linear layers' multiply-adds per token, as the runner counted them: every matmul for each decoded
            # token; in a prefill of 8 the last layer past its attention (o, gate, up, down) runs for the output
            # token alone
            c = self.tiny()
            h, f, q, kv = c["hidden"], c["ffn"], c["heads"] * c["head_dim"], c["kv_heads"] * c["head_dim"]
            if r["test"] == "tg":
                self.assertEqual(r["linear_macs_per_token"], self.linear_params())
            else:
                self.assertEqual(r["linear_macs_per_token"] * 8, 8 * self.linear_params() - 7 * (q * h + 3 * h * f))
                if "gmacs" in r:
                    self.assertAlmostEqual(r["gmacs"] / r["compute_share"], r["int8_peak_gmacs"], delta=1e-9 * r["gmacs"])
            # the binding ceiling: the lower of bandwidth (decode) and the kernel's own path's int8 ceiling (over
            # the linear layers' multiply-adds per token, the fp16 head not among them; not for the float baseline)
            if "int8_peak_gmacs" in r and "lookup_peak_gmacs" not in r:  # prefill: the peak is in the row
                self.assertAlmostEqual(r["compute_ceiling_ts"], r["int8_peak_gmacs"] * 1e9 / r["linear_macs_per_token"],
                                       delta=1e-9 * r["compute_ceiling_ts"])
            ceilings = [r[k] for k in ("bandwidth_ceiling_ts", "compute_ceiling_ts") if k in r]
            self.assertEqual("compute_ceiling_ts" in r, r["kernel"] != "fp16")
            if ceilings:
                self.assertEqual(r["ceiling_ts"], min(ceilings))
                self.assertEqual(r["binding"], "bandwidth" if r.get("bandwidth_ceiling_ts") == min(ceilings)
                                 else r["kernel"].split("__")[1] + " int8")
                self.assertAlmostEqual(r["ceiling_share"], r["median_ts"] / r["ceiling_ts"], delta=1e-9)
            else:
                self.assertNotIn("ceiling_ts", r)
            # where the time went: linear split by matmul adds up to linear; fork-joins counted exactly: per
            # forward, per layer the matmul groups (qkv, o, gate+up, down: 4; the float baselines fork per
            # matmul: 7) + attention, and the head (tiny: 2 layers -> 11, fp16 17; pp8 is one forward);
            # prefill on 2 threads adds, per layer, RoPE and one pass per matmul group that makes its input token by
            # token (the residual add, the FFN activation, the norm and, for the ternary kernels, the quantization
            # and preparation: model/runner.cpp, linear); the last layer runs past its attention for the output
            # token alone, so there only RoPE and the q/k/v input fork (its o, gate+up and down inputs and the final
            # residual add are one token's: no fork)
            ts = r["time_split"]
            parts = sum(ts["linear_" + p] for p in ("qkv", "o", "gate_up", "down"))
            self.assertAlmostEqual(parts, ts["linear"], delta=1e-9 + 1e-9 * ts["linear"])
            per_forward = 2 * ((7 if r["kernel"] in ("fp16", "fp32") else 4) + 1) + 1
            if r["test"] == "pp" and r["threads"] > 1:
                per_forward += (2 - 1) * (1 + 4) + (1 + 1)
            self.assertAlmostEqual(ts["fork_joins_per_token"], per_forward / (8 if r["test"] == "pp" else 1), delta=1e-9)
            self.assertGreater(r["fork_join_us"], 0)
            self.assertAlmostEqual(ts["threading_est"], ts["fork_joins_per_token"] * r["fork_join_us"] * 1e-6,
                                   delta=1e-12 + 1e-9 * ts["threading_est"])
            self.assertIsNotNone(self.energy, "harness energy --json failed")
            if self.energy["estimated"]:
                self.assertEqual((r["energy"]["source"], r["energy"]["estimated"]), ("estimate", True))
                self.assertGreater(r["energy"]["j_per_token"], 0)
            else:
                src = self.energy["measures_with"]
                self.assertEqual((r["energy"]["source"], r["energy"]["estimated"]), (src, False))
                self.assertEqual(r["machine"]["energy_source"], src)
                self.assertIsInstance(r["energy"]["j_per_token"], (int, float))  # a number, not null (NaN)
            seen.add((r["kernel"][:4], r["threads"], r["test"]))
        self.assertEqual(len(seen), 8)

    def test_counters_or_why_not(self):
        # Hardware counters where perf_event_open counts them (per measured test: all threads, the timed
        # repetitions only), else the one reason, said once on stderr and in every row.
        said = [l for l in self.p.stderr.splitlines() if l.startswith("counters: ")]
        reasons = set()
        for r in self.rows:
            c = r["counters"]
            if "unavailable" in c:
                self.assertEqual(list(c), ["unavailable"], c)
                self.assertRegex(c["unavailable"], r"\S{10,}")
                reasons.add(c["unavailable"])
                continue
            for k in ("cycles", "instructions"):
                self.assertIsInstance(c[k], int)
                self.assertGreater(c[k], 0)
            self.assertAlmostEqual(c["ipc"], c["instructions"] / c["cycles"], delta=1e-6 * c["ipc"] + 1e-9)
            self.assertIsInstance(c["scaled"], bool)
            self.assertTrue(0 < c["running_share"] <= 1)
            self.assertEqual(c["scaled"], c["running_share"] < 1)
            tokens = r["reps"] * (r["n_prompt"] + r["n_gen"])
            self.assertAlmostEqual(c["per_token"]["cycles"], c["cycles"] / tokens, delta=1e-6 * c["per_token"]["cycles"] + 1)
            self.assertEqual("llc_misses" in c, "llc_unavailable" not in c)
            if "llc_misses" in c:
                self.assertIn(c["llc_event"], ("cache-misses", "LLC-load-misses"))
                self.assertGreaterEqual(c["llc_misses"], 0)
        if reasons:
            # this machine cannot count: every row says the same reason, and stderr said it once
            self.assertEqual(len(reasons), 1, reasons)
            self.assertEqual(len(self.rows), sum("unavailable" in r["counters"] for r in self.rows))
            self.assertEqual(said, ["counters: " + reasons.pop()])
            self.assertRegex(said[0], r"^counters: (perf_event_open\((cycles|instructions)\) failed: E[A-Z]+ \(|\d+ threads were)")
        else:
            self.assertEqual([l for l in said if "LLC" not in l and "group" not in l], [])

    def test_counters_in_the_tables_on_request(self):
        args = ["-m", "tiny", "-k", "i2s", "-r", "1", "-p", "4", "-n", "2", "--out", "none", "-q"]
        csv = run(*args, "-o", "csv", "--counters")
        self.assertEqual(csv.returncode, 0, csv.stderr)
        head, *rows = csv.stdout.splitlines()
        self.assertTrue(head.endswith(",cycles_per_token,instructions_per_token,ipc,llc_misses_per_token,counters_scaled"))
        self.assertEqual(len(rows), 2)
        for line in rows:
            cells = line.split(",")
            self.assertEqual(len(cells), len(head.split(",")))
            ipc, scaled = cells[-3], cells[-1]
            self.assertIn(scaled, ("true", "false") if ipc else ("",))  # empty where this machine cannot count
        plain = run(*args, "-o", "csv")
        self.assertNotIn(",ipc,", plain.stdout.splitlines()[0])
        md = run(*args, "--counters")
        self.assertEqual(md.returncode, 0, md.stderr)
        self.assertIn("| cycles/token | IPC | LLC misses/token |", md.stdout.splitlines()[0])
        self.assertEqual(len(md.stdout.splitlines()[2].split(" | ")), len(md.stdout.splitlines()[0].split(" | ")))

    def tiny(self):
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "configs", "models", "tiny.json")) as f:
            return json.load(f)

    def linear_params(self):
        c = self.tiny()
        h, f, q, kv = c["hidden"], c["ffn"], c["heads"] * c["head_dim"], c["kv_heads"] * c["head_dim"]
        return c["layers"] * (h * q + 2 * h * kv + q * h + 3 * h * f)

    def test_table_formats(self):
        md = run("-m", "tiny", "-k", "i2s", "-r", "1", "-p", "4", "-n", "2", "--out", "none", "-q")
        self.assertEqual(md.returncode, 0, md.stderr)
        lines = md.stdout.splitlines()
        self.assertTrue(lines[0].startswith("| model | size | params | engine | kernel |"))
        self.assertEqual([l.split(" | ")[8] for l in lines[2:4]], ["pp4", "tg2"])
        self.assertIn("(no ternbench:fp16 rows here, so no speedup column", md.stdout)  # baseline not run: said
        csv = run("-m", "tiny", "-k", "i2s", "-r", "1", "-p", "4", "-n", "2", "--out", "none", "-q", "-o", "csv")
        rows = csv.stdout.splitlines()
        self.assertEqual(len(rows), 3)
        self.assertEqual(len(rows[1].split(",")), len(rows[0].split(",")))
        js = run("-m", "tiny", "-k", "i2s", "-r", "1", "-p", "4", "-n", "2", "--out", "none", "-q", "-o", "json")
        self.assertEqual(len(json.loads(js.stdout)), 2)


class BadInput(unittest.TestCase):
    """Each mistake: non-zero exit, one line on stderr naming the problem, nothing measured."""

    def check(self, args, needle):
        p = run(*args, "--out", "none", env={"TERNBENCH_CACHE_DIR": tempfile.gettempdir()})
        self.assertNotEqual(p.returncode, 0, args)
        self.assertIn(needle, p.stderr, args)
        self.assertEqual(p.stdout, "", args)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)

    def test_each(self):
        self.check(["-m", "tiny", "-t", "0"], "thread count 0 must be at least 1")
        self.check(["-m", "tiny", "-t", "-2"], "must be at least 1")
        self.check(["-m", "tiny", "-t", "4..2"], "runs backwards")
        self.check(["-m", "tiny", "-t", "two"], "is not a number")
        self.check(["-m", "tiny", "-k", "i3s"], "i3s")
        self.check(["-m", "no-such-model"], "no-such-model")
        self.check(["-m", "tiny", "-p", "100000"], "exceeds tiny's context")
        self.check(["-m", "tiny", "-o", "xml"], "--output 'xml'")
        self.check(["-m", "tiny", "--pin", "sideways"], "--pin 'sideways'")
        self.check(["-m", "tiny", "-r", "0"], "--reps must be at least 1")
        self.check(["-m", "tiny", "--layers", "99"], "tiny has")
        self.check(["-m", "2B4T", "-k", "i2s", "--layers", "1", "--isa", "nosuch"], "nosuch")

    def test_command_line_mistakes_exit_2(self):
        # CLI11's parse errors too: one line, exit status 2 (not CLI11's 106, 109, ...); --help still exits 0.
        for args, needle in ((["--no-such-option"], "--no-such-option"), (["report"], "files is required"),
                             (["-t"], "--threads")):
            p = run(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertIn(needle, p.stderr)
        self.assertEqual(run("--help").returncode, 0)

    def test_help_lists_every_subcommand_in_order(self):
        # Each registers itself from its own file (harness/commands.h): one lost from the link is missing here.
        p = run("--help")
        listed = re.findall(r"^  (\w+) {2,}", p.stdout.split("Subcommands:", 1)[1], re.M)
        self.assertEqual(listed, ["run", "kernels", "verify", "lossless", "roofline", "import", "report", "compare",
                                  "energy", "models", "tune", "export"])

    def test_kernel_that_cannot_take_a_shape(self):
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "configs", "models", "tiny.json")) as f:
            c = json.load(f)
        c["name"], c["hidden"], c["head_dim"] = "odd", 192, 192 // c["heads"]  # K = 192: not a multiple of 128
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(c, f)
            f.flush()
            self.check(["-m", f.name, "-k", "i2s"], "K % 128")
            self.check(["-m", f.name, "-k", "i2s"], "leave it out of --kernels")

    def test_model_too_large_one_line(self):
        self.check(["-m", "ladder-100B", "-k", "fp16"], "is available")

    def test_out_of_memory_one_line(self):
        """Any exception, not only ternbench's own errors, ends as one line and exit status 2: here std::bad_alloc,
        forced by a 400 MB address-space limit on an export of 2B4T (several GB)."""
        import resource
        with open(HARNESS, "rb") as f:
            if b"__asan_init" in f.read():
                self.skipTest("AddressSanitizer build: its shadow memory needs more address space than the limit")
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "x.gguf")
            limit = 400 << 20
            p = subprocess.run([HARNESS, "export", "--model", "2B4T", "--format", "i2s", "--out", out],
                               capture_output=True, text=True, timeout=600,
                               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertIn("harness: out of memory", p.stderr)
            self.assertFalse(os.path.exists(out))

    def test_unwritable_results(self):
        with tempfile.NamedTemporaryFile() as f:  # a file where a folder should be
            p = run("-m", "tiny", "-k", "i2s", "--out", os.path.join(f.name, "r.jsonl"))
            self.assertEqual(p.returncode, 2)
            self.assertIn("cannot write results to " + os.path.join(f.name, "r.jsonl"), p.stderr)
            self.assertIn("--out", p.stderr)

    def test_model_too_large(self):
        p = run("-m", "ladder-100B", "-k", "fp16", "--out", "none")
        self.assertEqual(p.returncode, 2)
        self.assertIn("needs", p.stderr)
        self.assertIn("available", p.stderr)


class Interrupt(unittest.TestCase):
    def interrupted(self, sig, code):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.jsonl")
            # The module's cache folder: its roofline is measured once for the three tests, not once each (under the
            # sanitizers a one- and two-thread roofline took about two minutes before the first row).
            p = subprocess.Popen([HARNESS, "-m", "tiny", "-t", "1", "-k", "i2s", "-r", "400", "-p", "8", "-n", "64", "--out", out],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=harness_env())
            deadline = time.time() + 120
            while time.time() < deadline and (not os.path.exists(out) or os.path.getsize(out) == 0):
                time.sleep(0.05)
            self.assertTrue(os.path.getsize(out) > 0, "the pp row never arrived")
            p.send_signal(sig)
            so, se = p.communicate(timeout=120)
            self.assertEqual(p.returncode, code, se)
            self.assertIn("interrupted: kept 1 of 2", se)
            with open(out) as f:
                text = f.read()
            self.assertTrue(text.endswith("\n"))
            rows = [json.loads(l) for l in text.splitlines()]
            self.assertEqual([r["test"] for r in rows], ["pp"])
            self.assertIn("| pp8 |", so)  # the finished row is also in the table

    def test_sigkill_leaves_only_whole_lines(self):
        # No handler runs on SIGKILL: what is on disk must still be whole lines (one write per row).
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.jsonl")
            p = subprocess.Popen([HARNESS, "-m", "tiny", "-t", "1,2", "-k", "i2s,tl2,int8", "-r", "30", "-p", "8", "-n", "16",
                                  "--out", out, "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=harness_env())
            deadline = time.time() + 300
            while time.time() < deadline and (not os.path.exists(out) or os.path.getsize(out) < 3000):
                time.sleep(0.01)
            arrived = os.path.exists(out) and os.path.getsize(out) > 0
            p.kill()
            p.wait(timeout=60)
            self.assertTrue(arrived, "no row arrived within 300 s: nothing to check")
            with open(out) as f:
                text = f.read()
            self.assertTrue(text.endswith("\n"))
            rows = [json.loads(l) for l in text.splitlines()]
            self.assertGreaterEqual(len(rows), 1)

    def test_sigint(self):
        self.interrupted(signal.SIGINT, 130)

    def test_sigterm(self):
        self.interrupted(signal.SIGTERM, 143)


class Verify(unittest.TestCase):
    def test_tiny_passes(self):
        p = run("verify", "-m", "tiny", "-t", "1,2", "--tokens", "5")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rows = [l for l in p.stdout.splitlines() if l.startswith("| matmul") or l.startswith("| logits")]
        self.assertTrue(any("i2s__scalar" in l for l in rows))
        self.assertNotIn("MISMATCH", p.stdout)
        self.assertIn("0 failed", p.stderr)

    def test_a_fault_is_named(self):
        # verify's own failure path: TERNBENCH_VERIFY_FAULT flips one output of one variant.
        p = run("verify", "-m", "tiny", "-t", "1", "--tokens", "3", env={"TERNBENCH_VERIFY_FAULT": "i2s__scalar"})
        self.assertEqual(p.returncode, 1)
        bad = [l for l in p.stdout.splitlines() if "MISMATCH" in l]
        self.assertTrue(bad)
        self.assertTrue(all("i2s__scalar" in l for l in bad))
        self.assertIn("x", bad[0].split("|")[3])  # the shape, NxK
        self.assertIn("row", bad[0])


    def test_reference_side_by_side(self):
        # The runner beside the Eigen reference, per layer: four quantization points per block, flips counted,
        # linear outputs identical, a quantization error per layer; on synthetic weights and on a peer's file.
        for model in ("tiny", os.path.join(DATA, "bitnetcpp-tiny-i2_s.gguf")):
            p = run("verify", "--reference", "-m", model, "--tokens", "40", "--steps", "3", "-k", "i2s")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            sites = [l for l in p.stdout.splitlines() if re.match(r"^\| \d+ \| (attn|ffn)_(in|out) \|", l)]
            self.assertEqual(len(sites), 2 * 4, p.stdout)
            layers = [l.split("|") for l in p.stdout.splitlines() if re.match(r"^\| \d+ \| \d+ / \d+ \|", l)]
            self.assertEqual(len(layers), 2, p.stdout)
            for cells in layers:
                got, total = (int(v) for v in cells[2].split("/"))
                self.assertEqual(got, total)  # every linear output identical
                self.assertGreater(total, 0)
                self.assertGreater(float(cells[4]), 0.0)  # quantization error against full precision
            self.assertRegex(p.stdout, r"flips: \d+")
            self.assertIn("ok: every linear output identical", p.stdout)
        p = run("verify", "--reference", "-m", "tiny", "--layers", "5")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--layers 5", p.stderr)


DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "peers")
# The peers' recorded llama-bench output, committed with the tests (tests/data/peers/README.md).
PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "peers", "llama-bench")


class Peers(unittest.TestCase):
    def test_import(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.jsonl")
            files = [os.path.join(PEERS, f) for f in ("bitnet_I2_S_t1.json", "llama_F16_t1.json")]
            p = run("import", *files, "--out", out, "--baseline", "llama.cpp:F16")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                rows = [json.loads(l) for l in f]
            self.assertEqual(len(rows), 4)
            pp = next(r for r in rows if r["engine"] == "bitnet.cpp" and r["test"] == "pp")
            self.assertEqual((pp["kernel"], pp["threads"], pp["n_prompt"], pp["avg_ts"]), ("I2_S", 1, 128, 58.197162))
            self.assertEqual(pp["machine"]["cpu"], "AMD EPYC")  # the file's CPU, not this machine's
            # the speedup table: I2_S pp128 over F16 pp128, medians 58.0866 / 21.0124 (the files' samples)
            self.assertIn("| bitnet.cpp | I2_S | 1 | pp128 | 58.09 | 2.76x |", p.stdout)

    def test_import_damaged_file(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(PEERS, "ik_IQ2_BN_t1.json")) as f:
                text = f.read()
            cut = os.path.join(d, "cut.json")
            with open(cut, "w") as f:
                f.write(text[: len(text) // 2])
            out = os.path.join(d, "r.jsonl")
            p = run("import", os.path.join(PEERS, "llama_F16_t1.json"), cut, "--out", out)
            self.assertEqual(p.returncode, 2)
            self.assertIn("cut.json", p.stderr)
            self.assertIn("truncated or malformed", p.stderr)
            self.assertFalse(os.path.exists(out))  # nothing written when one file is bad

    def test_peer_stand_ins(self):
        """--peer runs llama-bench stand-ins after ternbench's rows: one prints a recorded file, one fails, one
        prints garbage, one does not exist; the sweep keeps its rows and the good peer's."""
        with tempfile.TemporaryDirectory() as d:
            def script(name, body):
                path = os.path.join(d, name)
                with open(path, "w") as f:
                    f.write("#!/bin/sh\n" + body + "\n")
                os.chmod(path, 0o755)
                return path
            good = script("good", 'echo "$@" > %s/args; cat %s' % (d, os.path.join(PEERS, "llama_F16_t1.json")))
            bad = script("bad", "echo 'error: failed to load model' >&2; exit 3")
            garbage = script("garbage", "echo 'this is not json'")
            out = os.path.join(d, "r.jsonl")
            p = run("-m", "tiny", "-k", "i2s", "-t", "1", "-r", "2", "-p", "8", "-n", "4", "--out", out,
                    "--peer", good, "--peer", bad, "--peer", garbage, "--peer", os.path.join(d, "missing"),
                    "--peer-model", "m.gguf", "--baseline", "llama.cpp:F16")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(d, "args")) as f:
                self.assertEqual(f.read().split(), ["-m", "m.gguf", "-p", "8", "-n", "4", "-r", "2", "-t", "1", "-o", "json"])
            with open(out) as f:
                rows = [json.loads(l) for l in f]
            self.assertEqual([r["engine"] for r in rows], ["ternbench", "ternbench", "llama.cpp", "llama.cpp"])
            self.assertNotEqual(rows[2]["machine"]["host"], "unknown")  # measured here: this machine's fingerprint
            warnings = [l for l in p.stderr.splitlines() if l.startswith("warning: peer")]
            self.assertEqual(len(warnings), 3, p.stderr)
            self.assertIn("exit status 3: error: failed to load model", warnings[0])
            self.assertIn("not llama-bench JSON", warnings[1])
            self.assertIn("No such file or directory", warnings[2])
            self.assertIn("pp128 test", p.stderr)  # the recorded file is pp128, not the pp8 asked: said
            self.assertIn("Speedup over llama.cpp:F16", p.stdout)

    def test_peer_args(self):
        """--peer-args adds arguments to a peer's llama-bench (ik_llama.cpp's -rtr 1): one for every run, or one
        per run in order; a count that fits neither is refused before anything runs."""
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "lb")
            with open(path, "w") as f:
                f.write('#!/bin/sh\necho "$@" >> %s/args; cat %s\n' % (d, os.path.join(PEERS, "llama_F16_t1.json")))
            os.chmod(path, 0o755)
            base = ["-m", "tiny", "-k", "i2s", "-t", "1", "-r", "2", "-p", "8", "-n", "4", "--out", "none"]
            p = run(*base, "--peer", path, "--peer-model", "a.gguf", "--peer-model", "b.gguf",
                    "--peer-args=-rtr 1", "--peer-args=none")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(d, "args")) as f:
                calls = [l.split() for l in f]
            self.assertEqual(calls[0][-2:], ["-rtr", "1"])
            self.assertEqual(calls[0][:2], ["-m", "a.gguf"])
            self.assertEqual(calls[1][-2:], ["-o", "json"])  # the second run: none
            p = run(*base, "--peer", path, "--peer-model", "a.gguf", "--peer-model", "b.gguf", "--peer-model", "c.gguf",
                    "--peer-args=-rtr 1", "--peer-args=none")
            self.assertEqual(p.returncode, 2)
            self.assertIn("2 --peer-args for 3 peer runs", p.stderr)


# Two small hand-made results files (tests/data/compare/README.md): before and after of one machine.
COMPARE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "compare")


def exact_two_sided_p(before, after):
    """Exact two-sided Mann-Whitney p of untied samples by counting every split of the ranks 1..N (a check
    independent of the harness's recurrence)."""
    import itertools
    n1, n = len(before), len(before) + len(after)
    pooled = sorted(before + after)
    u = sum(pooled.index(v) + 1 for v in before) - n1 * (n1 + 1) // 2
    u = min(u, n1 * (n - n1) - u)
    hits = total = 0
    for ranks in itertools.combinations(range(1, n + 1), n1):
        w = sum(ranks) - n1 * (n1 + 1) // 2
        total += 1
        hits += min(w, n1 * (n - n1) - w) <= u
    return u, hits / total


class Compare(unittest.TestCase):
    def setUp(self):
        self.before, self.after = (os.path.join(COMPARE, f) for f in ("before.jsonl", "after.jsonl"))

    def rows(self, stdout):
        return {tuple(c.strip() for c in l.split("|")[4:8:3]): l for l in stdout.splitlines() if l.startswith("| ci-box")}

    def test_table(self):
        p = run("compare", self.before, self.after)
        self.assertEqual(p.returncode, 0, p.stderr)
        verdict = {k: l.split("|")[-2].strip() for k, l in self.rows(p.stdout.split("Only before")[0]).items()}
        self.assertEqual(verdict, {("i2s__avx2", "pp8"): "faster", ("i2s__avx2", "tg4"): "slower",
                                   ("fp16", "pp8"): "no significant change",
                                   ("fp16", "tg4"): "too few samples: min p = 0.1 > alpha"})
        self.assertIn("| 2+1 | 10+10 |", self.rows(p.stdout)[("fp16", "pp8")])  # two runs before, pooled
        only_before, only_after = p.stdout.split("Only before")[1].split("Only after")
        self.assertIn("| tl2__avx2 |", only_before)
        self.assertIn("on another machine after", only_before)
        self.assertIn("| 2 | tg4 |", only_after)
        self.assertIn("| other-box (avx2) |", only_after)
        self.assertIn("Summary: 1 faster, 1 slower, 1 no significant change, 1 too few samples; 1 row only before, "
                      "2 only after.", p.stdout)

    def test_json_p_values(self):
        p = run("compare", self.before, self.after, "-o", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        samples = {}
        for name, side in ((self.before, "b"), (self.after, "a")):
            with open(name) as f:
                for r in map(json.loads, f):
                    samples.setdefault((r["kernel"], r["test"], r["threads"], r["machine"]["host"], side), []).extend(r["samples_ts"])
        self.assertEqual(len(out["pairs"]), 4)
        for pair in out["pairs"]:
            k = pair["key"]
            b, a = (samples[(k["kernel"], k["test"], k["threads"], k["machine"]["host"], s)] for s in "ba")
            u, pv = exact_two_sided_p(b, a)
            self.assertEqual(pair["method"], "exact")
            self.assertEqual(pair["u"], u, k)
            self.assertAlmostEqual(pair["p"], pv, delta=1e-12)
        self.assertEqual([u["side"] for u in out["unmatched"]], ["before", "after", "after"])

    def test_fail_above(self):
        p = run("compare", self.before, self.after, "--fail-above", "5%")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("slower, beyond --fail-above 5%", p.stdout)  # everything is printed first
        self.assertIn("Only after", p.stdout)
        self.assertEqual(p.stderr.strip().splitlines(),
                         ["harness compare: 1 significant regression beyond --fail-above 5%: i2s__avx2 tg4 t1 (-10.0%)"])
        self.assertEqual(run("compare", self.before, self.after, "--fail-above", "15%").returncode, 0)

    def test_any_machine(self):
        p = run("compare", self.before, self.after, "--any-machine")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("| ci-box (avx2) -> other-box (avx2) | ternbench | tiny | tl2__avx2 |", p.stdout)
        self.assertNotIn("Only before", p.stdout)

    def test_commits_of_one_file(self):
        with tempfile.TemporaryDirectory() as d:
            both = os.path.join(d, "both.jsonl")
            with open(both, "w") as f:
                for name in (self.before, self.after):
                    with open(name) as g:
                        f.write(g.read())
            p = run("compare", "--before", "5e1f0c", "--after", "c04a", both, "-o", "csv")
            self.assertEqual(p.returncode, 0, p.stderr)
            q = run("compare", self.before, self.after, "-o", "csv")
            self.assertEqual(p.stdout, q.stdout)  # the same pairs as two files
            lines = p.stdout.splitlines()
            self.assertEqual(len(lines), 1 + 4 + 3)
            self.assertEqual({len(l.split(",")) for l in lines}, {len(lines[0].split(","))})
            bad = run("compare", "--before", "5e1f", "--after", "ffff", both)
            self.assertEqual(bad.returncode, 2)
            self.assertIn("--after 'ffff' selects no row; engine_commit values here: 5e1f0c2a9b7d, c04a7e913d28", bad.stderr)

    def test_bad_input(self):
        for args, needle in (((self.before, "/no/such.jsonl"), "/no/such.jsonl"),
                             ((self.before,), "two results files"),
                             ((self.before, self.after, "--fail-above", "lots"), "--fail-above 'lots'"),
                             ((self.before, self.after, "-o", "xml"), "--output 'xml'"),
                             ((self.before, self.after, "--alpha", "2"), "--alpha 2"),
                             (("--before", "5e1f", self.before), "--before and --after go together"),
                             ((self.before, self.after, "--nope"), "--nope")):
            p = run("compare", *args)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(p.stdout, "", args)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertIn(needle, p.stderr, args)
        self.assertEqual(run("compare", "--help").returncode, 0)

class Lossless(unittest.TestCase):
    def test_kernels_match_the_fp32_kernel(self):
        p = run("lossless", "-m", "tiny", "-k", "i2s,tl2,fp16", "--prompts", "6", "--tokens", "8", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        rates = {k["kernel"].split("__")[0]: k for k in out["kernels"]}
        # the lossless kernels reproduce the FP32 kernel's greedy continuations exactly, every prompt
        for k in ("i2s", "tl2"):
            self.assertEqual(rates[k]["matched"], 6)
            self.assertEqual(rates[k]["tokens_before_first_divergence_mean"], 8)
        # the fp16 baseline does not quantize activations: a different model, and the check can tell
        self.assertLess(rates["fp16"]["matched"], 6)


class Energy(unittest.TestCase):
    def test_json_agrees_with_the_text(self):
        j = run("energy", "--json")
        self.assertEqual(j.returncode, 0, j.stderr)
        e = json.loads(j.stdout)
        names = [s["name"] for s in e["sources"]]
        self.assertEqual(names[:3], ["powercap", "perf", "msr"])
        usable = [s["name"] for s in e["sources"] if s["available"]]
        self.assertEqual(e["measures_with"], usable[0] if usable else None)
        self.assertEqual(e["estimated"], not usable)
        for s in e["sources"]:
            self.assertEqual(s["why_not"] == "", s["available"], s)
        t = run("energy")
        if usable:
            self.assertIn("Runs measure with: %s." % usable[0], t.stdout)
        else:
            self.assertIn("No energy counter is usable here", t.stdout)


class Roofline(unittest.TestCase):
    def test_measures_then_caches(self):
        with tempfile.TemporaryDirectory() as d:
            env = {"TERNBENCH_CACHE_DIR": d}
            a = run("roofline", "-t", "1", env=env)
            self.assertEqual(a.returncode, 0, a.stderr)
            files = os.listdir(d)
            self.assertEqual(len(files), 1)
            with open(os.path.join(d, files[0])) as f:
                cache = json.load(f)
            self.assertEqual([p["threads"] for p in cache["points"]], [1])
            self.assertGreater(cache["points"][0]["read_gbs"], 0)
            self.assertGreater(cache["points"][0]["int8_gmacs"], 0)
            # every path this CPU runs has its own ceiling, the best one is the one int8_gmacs names
            paths = cache["points"][0]["path_gmacs"]
            self.assertIn("scalar", paths)
            self.assertEqual(cache["points"][0]["int8_gmacs"], paths[cache["points"][0]["isa"]])
            self.assertTrue(all(v > 0 for v in paths.values()), paths)
            b = run("roofline", "-t", "1", env=env)
            self.assertIn("(cached)", b.stdout)
            for p in paths:
                self.assertIn("| %s GMAC/s |" % p, b.stdout)
            j = json.loads(run("roofline", "-t", "1", "--json", env=env).stdout)
            self.assertEqual(j["points"][0]["path_gmacs"], paths)
            self.assertEqual(j["points"][0]["read_gbs"], cache["points"][0]["read_gbs"])
            # the LM head's faster walk (one stream per thread or four), as the read probe measured it
            streams = cache["points"][0]["read_streams"]
            self.assertIn(streams, (1, 4))
            self.assertEqual(j["points"][0]["read_streams"], streams)
            self.assertIn("(head: 1 stream) |" if streams == 1 else "(head: 4 streams) |", b.stdout)
            # a sweep's decode row says which walk its head used: the cached pattern at its thread count
            out = os.path.join(d, "r.jsonl")
            p = run("-m", "tiny", "-k", "i2s", "-p", "0", "-n", "2", "-r", "1", "-t", "1", "--out", out, "-q",
                    env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                row = json.loads(f.readline())
            self.assertEqual(row["head_row_streams"], streams)
            os.remove(out)
            # the GEMV prefetch distance, measured for each path whose i2s and tq1 GEMVs prefetch (AVX2, AVX-512),
            # one of the candidates; in the table, the JSON, and on the decode row of a sweep on that path
            pf = cache["points"][0]["path_prefetch"]
            self.assertEqual(set(pf), set(paths) & {"avx2", "avx512vnni"})
            self.assertTrue(all(v in (0, 1024, 4096) for v in pf.values()), pf)
            self.assertEqual(set(cache["points"][0]["path_prefetch_us"]), set(pf))
            self.assertEqual(j["points"][0]["path_prefetch"], pf)
            self.assertIn("GEMV prefetch |", b.stdout)
            for isa, dist in pf.items():
                self.assertIn("%s %s" % (isa, "%d KiB" % (dist // 1024) if dist else "none"), b.stdout)
            if row["kernel"].split("__")[1] in pf:
                self.assertEqual(row["gemv_prefetch"], pf[row["kernel"].split("__")[1]])
            else:
                self.assertNotIn("gemv_prefetch", row)  # scalar and NEON do not prefetch

            # the lookup ceiling of every TLW variant with a SIMD path here (AVX-512: vpermw) and of i2s__avx2 (its
            # prefill GEMM looks up), none elsewhere (NEON). A TLW prefill row is held to it (binding "<path> lookup"),
            # not to the int8 one; an i2s__avx2 one for the multiply-adds of its lookup tiles (16 tokens x 256 rows
            # or more: tiny's 64-token prefill at 1 thread looks up in every matrix but k and v, 128 rows each), the
            # int8 ceiling for the rest ("avx2 lookup+int8")
            lk = cache["points"][0]["lookup_gmacs"]
            self.assertEqual(set(lk), ({"tlw__avx512vnni"} if "avx512vnni" in paths else set()) |
                             ({"i2s__avx2"} if "avx2" in paths else set()))
            self.assertTrue(all(v > 0 for v in lk.values()), lk)
            self.assertEqual(j["points"][0]["lookup_gmacs"], lk)
            for v in lk:
                self.assertIn("- %s: %.0f GMAC/s at 1 thread" % (v, lk[v]), b.stdout)
                pp = 64 if v == "i2s__avx2" else 16
                p = run("-m", "tiny", "-k", v, "-p", str(pp), "-n", "2", "-r", "1", "-t", "1", "--out", out, "-q",
                        env=env)
                self.assertEqual(p.returncode, 0, p.stderr)
                with open(out) as f:
                    lrow, drow = (json.loads(line) for line in f)
                os.remove(out)
                self.assertEqual(lrow["lookup_peak_gmacs"], lk[v])
                self.assertAlmostEqual(lrow["lookup_share"], lrow["gmacs"] / lk[v])
                if v == "i2s__avx2":
                    # tiny: hidden (= q_dim), ffn, 2 layers; k and v are 128 x 256. The last layer past its
                    # attention (o, gate, up, down) runs for the output token alone: a GEMV, no lookup
                    h, f = 256, 768
                    looked_up = pp * ((2 * h * h + 3 * f * h) + h * h)
                    done = pp * ((2 * h * h + 2 * 128 * h + 3 * f * h) + (h * h + 2 * 128 * h)) + (h * h + 3 * f * h)
                    self.assertAlmostEqual(lrow["lookup_macs_share"], looked_up / done)
                    self.assertEqual(lrow["binding"], "avx2 lookup+int8")
                else:
                    self.assertEqual(lrow["lookup_macs_share"], 1.0)
                    self.assertEqual(lrow["binding"], v.split("__")[1] + " lookup")
                # decode: TLW's GEMV looks up too (the same multiply-add rate as its prefill, over each row's own
                # multiply-adds per token); i2s__avx2's multiplies (its path's int8 ceiling)
                self.assertEqual((lrow["test"], lrow["n_prompt"], drow["test"]), ("pp", pp, "tg"))
                rate = [x["compute_ceiling_ts"] * x["linear_macs_per_token"] for x in (drow, lrow)]
                if v == "i2s__avx2":
                    self.assertNotAlmostEqual(rate[0] / rate[1], 1.0)
                else:
                    self.assertAlmostEqual(rate[0] / rate[1], 1.0)
                    self.assertAlmostEqual(rate[1], lk[v] * 1e9, delta=1e-9 * rate[1])
                if v == "i2s__avx2":
                    p = run("-m", "tiny", "-k", v, "-p", "8", "-n", "0", "-r", "1", "-t", "1", "--out", out, "-q",
                            env=env)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    with open(out) as f:
                        srow = json.loads(f.readline())
                    os.remove(out)
                    self.assertNotIn("lookup_peak_gmacs", srow)  # 8 tokens: vpmaddubsw, held to the int8 ceiling
                    self.assertIn("int8_peak_gmacs", srow)

            def remeasured(bad, why):  # a cache changed by `bad` is not used: measured again, and it says why
                c = json.loads(json.dumps(cache))
                bad(c)
                with open(os.path.join(d, files[0]), "w") as f:
                    json.dump(c, f)
                r = run("roofline", "-t", "1", env=env)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertNotIn("(cached)", r.stdout)
                self.assertIn(why, r.stdout + r.stderr)

            # a read pattern that is neither is a damaged cache
            remeasured(lambda c: c["points"][0].update(read_streams=3), "read_streams is not 1 or 4")
            # so is a prefetch distance that is not one of the candidates
            if pf:
                remeasured(lambda c: c["points"][0]["path_prefetch"].update({next(iter(pf)): 3}),
                           "not a candidate distance")
            # and one that lacks the lookup ceiling of a lookup variant this CPU runs (TLW, i2s__avx2)
            if lk:
                remeasured(lambda c: c["points"][0]["lookup_gmacs"].clear(), "lacks the lookup ceiling")
            # A cache written by older peak loops (no "peak_loops" version: the AVX2 and NEON loops counted merged
            # multiplies) is measured again.
            remeasured(lambda c: c.pop("peak_loops"), "older int8 peak loops")

            # A forced path measures into a file of its own beside the native one, which it leaves alone: runs that
            # alternate between the two (an A/B of --isa avx2 against the native path) find both cached.
            with open(os.path.join(d, files[0])) as f:
                native = f.read()
            s = run("--isa", "scalar", "roofline", "-t", "1", env=env)
            self.assertEqual(s.returncode, 0, s.stderr)
            self.assertEqual(sorted(os.listdir(d)), sorted([files[0], files[0][:-len(".json")] + "-scalar.json"]))
            with open(os.path.join(d, files[0])) as f:
                self.assertEqual(f.read(), native)
            self.assertIn("(cached)", run("roofline", "-t", "1", env=env).stdout)
            self.assertIn("(cached)", run("--isa", "scalar", "roofline", "-t", "1", env=env).stdout)


class ForScripts(unittest.TestCase):
    """models --json and kernels --json: the facts scripts would otherwise re-derive."""

    def test_models_json(self):
        p = run("models", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        j = json.loads(p.stdout)
        bits = {f["name"]: f["bits_per_weight"] for f in j["formats"]}
        self.assertEqual((bits["fp32"], bits["fp16"], bits["i2s"]), (32.0, 16.0, 2.0))
        self.assertNotIn("int8_ref", bits)  # the oracle is not a storage format anyone deploys
        models = {m["name"]: m for m in j["models"]}
        # 2B4T's linear layers: 30 x (2 x 2560^2 + 2 x 2560 x 640 + 3 x 2560 x 6912) weights, the count the peers'
        # make-models prints for its dummy 2B4T (2,084,044,800), an independent figure
        b = models["2B4T"]
        self.assertEqual(b["linear_params"], 2084044800)
        self.assertEqual(b["layer_linear_params"] * b["layers"], b["linear_params"])
        self.assertEqual(sum(m["N"] * m["K"] for m in b["matmuls"]) * b["layers"], b["linear_params"])
        self.assertEqual(b["linear_bytes"]["fp16"], 2 * b["linear_params"])
        # i2s stores 2 bits per weight plus a few bytes per matrix (its scale), never less
        self.assertGreaterEqual(b["linear_bytes"]["i2s"], b["linear_params"] // 4)
        self.assertLess(b["linear_bytes"]["i2s"], b["linear_params"] // 4 + 7 * b["layers"] * 64)
        # the table and the JSON agree (GB with three decimals)
        table = run("models").stdout
        line = next(l for l in table.splitlines() if l.startswith("| 2B4T |"))
        self.assertIn("| %.3f B |" % (b["non_embedding_params"] / 1e9), line)

    def test_models_json_memory_parts_add_up_to_what_a_sweep_allocates(self):
        models = {m["name"]: m for m in json.loads(run("models", "--json").stdout)["models"]}
        b = models["2B4T"]
        mem = b["memory"]
        # independent figures: a 128256 x 2560 embedding, 2 bytes a weight at fp16, 1 byte + a 4-byte scale per row
        # at int8; K and V of 640 floats each per layer and token
        self.assertEqual(mem["head_bytes"]["fp16"], 128256 * 2560 * 2)
        self.assertEqual(mem["head_bytes"]["int8"], 128256 * 2560 + 128256 * 4)
        self.assertEqual(mem["kv_bytes_per_layer_per_token"], 2 * 640 * 4)
        for f, v in b["linear_bytes"].items():
            self.assertEqual(v, None if b["layer_linear_bytes"][f] is None else b["layer_linear_bytes"][f] * b["layers"], f)
        # a sweep's row reports the memory it planned: the parts say the same (pp 6 -> batch 6, context 6)
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.jsonl")
            p = run("-m", "tiny", "-k", "i2s", "-p", "6", "-n", "2", "-r", "1", "--out", out, "-q", "-o", "jsonl")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                row = json.loads(f.readline())
        t = models["tiny"]
        tm = t["memory"]
        self.assertEqual(row["memory"]["linear_weights"], t["linear_bytes"]["i2s"])
        self.assertEqual(row["memory"]["embedding"], tm["head_bytes"]["fp16"])
        self.assertEqual(row["memory"]["norms"], tm["norm_bytes"])
        self.assertEqual(row["memory"]["kv_cache"], t["layers"] * 6 * tm["kv_bytes_per_layer_per_token"])
        self.assertEqual(row["memory"]["activations"],
                         tm["activation_bytes_fixed"] + 6 * tm["activation_bytes_per_batch_token"])

    def test_roofline_cached_measures_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            p = run("roofline", "--cached", "-t", "1,2", "--json", env={"TERNBENCH_CACHE_DIR": d})
            self.assertEqual(p.returncode, 0, p.stderr)
            j = json.loads(p.stdout)
            self.assertEqual((j["points"], j["missing"]), ([], [1, 2]))
            self.assertNotIn("measuring", p.stderr)
            self.assertEqual(os.listdir(d), [])  # nothing measured, nothing saved
            self.assertIn("not cached", run("roofline", "--cached", "-t", "1", env={"TERNBENCH_CACHE_DIR": d}).stdout)
            self.assertNotEqual(run("roofline", "--cached", "--refresh", env={"TERNBENCH_CACHE_DIR": d}).returncode, 0)

    def test_kernels_json(self):
        j = json.loads(run("kernels", "--json").stdout)
        self.assertIn("scalar", j["paths"])
        fmts = {f["name"]: f for f in j["formats"]}
        self.assertEqual([n for n, f in fmts.items() if f["oracle"]], ["int8_ref"])
        for f in fmts.values():
            self.assertIn(f["used_here"], f["variants"])
        self.assertIn("i2s__scalar", fmts["i2s"]["variants"])
        forced = json.loads(run("--isa", "scalar", "kernels", "--json").stdout)
        self.assertEqual(forced["forced"], "scalar")
        self.assertTrue(all(f["used_here"].endswith("__scalar") for f in forced["formats"]), forced["formats"])

    def test_tlw_by_name_on_every_path(self):
        # TLW has scalar and AVX-512 variants only: named as a format on an AVX2 or NEON path it runs its scalar loop
        # and says so; named as a variant it runs that variant.
        paths = json.loads(run("kernels", "--json").stdout)["paths"]
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.jsonl")
            cases = [(p, "tlw", "tlw__scalar") for p in paths if p in ("avx2", "neon")]
            if "avx512vnni" in paths:
                cases.append(("avx512vnni", "tlw__avx512vnni", "tlw__avx512vnni"))
            for isa, name, variant in cases:
                p = run("--isa", isa, "-m", "tiny", "-k", name, "-p", "4", "-n", "0", "-r", "1", "--out", out, "-q")
                self.assertEqual(p.returncode, 0, p.stderr)
                with open(out) as f:
                    self.assertEqual(json.loads(f.readline())["kernel"], variant)
                os.remove(out)
                if variant == "tlw__scalar":
                    self.assertIn("note: tlw has no %s variant; running tlw__scalar" % isa, p.stderr)


@unittest.skipUnless(BENCH, "BENCH_KERNELS names no bench_kernels (built with TB_BUILD_BENCH=OFF)")
class BenchKernels(unittest.TestCase):
    """bench_kernels' own options (CLI11, as the harness's) beside Google Benchmark's, and bad ones named."""

    def bench(self, *args):
        return subprocess.run([BENCH, *args], capture_output=True, text=True, env=harness_env(), timeout=600)

    def test_help_and_bad_options(self):
        p = self.bench("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        for part in ("--threads", "--cold_mb", "--oracle", "--prefetch", "--benchmark_filter"):
            self.assertIn(part, p.stdout)
        for args, named in ((["--cold_mb=abc"], "--cold_mb"), (["--threads=0"], "--threads"),
                            (["--prefetch=100"], "--prefetch"), (["--prefetch=-64"], "--prefetch"),
                            (["--benchmark_nonsense=1"], "--benchmark_nonsense")):
            p = self.bench(*args)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn(named, p.stderr)

    def test_own_and_benchmark_options_together(self):
        name = "gemv/i2s__scalar/2560x2560/warm/threads:1/real_time"
        p = self.bench("--threads", "1", "--cold_mb=600", f"--benchmark_filter=^{name}$", "--benchmark_format=json")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["context"]["cold_bytes"], str(600 << 20))
        self.assertEqual([b["name"] for b in out["benchmarks"]], [name])


if __name__ == "__main__":
    unittest.main(verbosity=2)
