"""What the harness knows, asked of it: model shapes, parameter counts and memory parts (`harness models --json`),
and the cached roofline (`harness roofline --cached --json`, which measures nothing). Neither question runs a
measurement, so a dry run may ask them. The only arithmetic here adds up the parts the harness gives, for the
layer counts and context lengths a plan chooses."""
import json
import subprocess

from .common import one_line_error


class HarnessError(RuntimeError):
    pass


def ask(harness, *args):
    """The JSON a harness subcommand prints; HarnessError with its own message when it fails."""
    try:
        p = subprocess.run([harness, *args], capture_output=True, text=True, timeout=120)
    except OSError as e:
        raise HarnessError(f"cannot run {harness} ({e.strerror}): build it, or set TERNBENCH_HARNESS") from None
    if p.returncode != 0:
        raise HarnessError(f"{harness} {' '.join(args)}: {one_line_error(p.stderr, p.returncode)}")
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise HarnessError(f"{harness} {' '.join(args)}: output is not JSON ({e})") from None


class Model:
    """One preset as `harness models --json` describes it."""

    def __init__(self, j):
        self.j = j
        self.name, self.layers, self.hidden, self.vocab = j["name"], j["layers"], j["hidden"], j["vocab"]
        self.layer_params = j["layer_linear_params"]
        self.emb_params = j["embedding_params"]
        self.mem = j["memory"]
        self.untied = not j.get("tied_embedding", True)

    def params(self, layers=None):
        """Linear-layer weights of the first `layers` layers (all by default)."""
        return self.layer_params * (layers or self.layers)

    def linear_bytes(self, fmt, layers=None):
        per = self.j["layer_linear_bytes"].get(fmt)
        if per is None:
            raise ValueError(f"{self.name}: format {fmt} cannot take its shapes (harness models)")
        return per * (layers or self.layers)

    def memory(self, fmt, layers=None, ctx=128, head="fp16", slack=0.3e9):
        """Bytes a sweep of this format holds, as the harness plans them (its plan_memory, part by part): linear
        weights, embedding/head, norms, KV cache and scratch for a ctx-token prompt; plus slack for the process."""
        L, m = layers or self.layers, self.mem
        return (self.linear_bytes(fmt, L) + m["head_bytes"][head] + m["norm_bytes"]
                + L * ctx * m["kv_bytes_per_layer_per_token"] + m["activation_bytes_fixed"]
                + ctx * m["activation_bytes_per_batch_token"] + slack)

    def bytes_per_token(self, fmt, layers=None, n=128, head="fp16"):
        """Bytes one decode token reads, averaged over n generated tokens: every linear weight, the head, and the
        KV cache (half of it on average)."""
        L, m = layers or self.layers, self.mem
        head_read = m["head_bytes"][head] / (2 if self.untied else 1)  # an untied embedding is not read per token
        return self.linear_bytes(fmt, L) + head_read + L * m["kv_bytes_per_layer_per_token"] * (n + 1) / 2


class Facts:
    def __init__(self, models_json):
        self.raw = models_json
        try:
            self.models = {m["name"]: Model(m) for m in models_json["models"]}
        except (KeyError, TypeError) as e:
            raise HarnessError(f"harness models --json lacks {e}: the harness is older than this script; rebuild it") from None

    @classmethod
    def from_harness(cls, harness):
        return cls(ask(harness, "models", "--json"))

    def __getitem__(self, name):
        if name not in self.models:
            raise ValueError(f"the harness has no model preset {name} (harness models lists them)")
        return self.models[name]


def roofline_points(out):
    """{threads: (read GB/s, int8 GMAC/s)} from `harness roofline --json` (its "points")."""
    pts = {}
    for p in (out or {}).get("points", []):
        pts[int(p["threads"])] = (float(p["read_gbs"]), float(p["int8_gmacs"]))
    return pts


def cached_roofline(harness, threads):
    """({threads: (read GB/s, int8 GMAC/s)}, where) from the harness's roofline cache, measuring nothing."""
    out = ask(harness, "roofline", "--cached", "-t", ",".join(map(str, threads)), "--json")
    return roofline_points(out), out.get("cache", "the harness's roofline cache")
