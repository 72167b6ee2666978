"""The published figures reproduce sets beside its measurements (docs/reference.md §6): [A1] Tables 4-7, [A2] Table 7,
[A3] Table 1, with the paper's machines."""

LADDER = ["ladder-125M", "ladder-350M", "ladder-700M", "ladder-1B", "ladder-1.5B", "ladder-2.5B", "ladder-3.8B",
          "ladder-7B", "ladder-13B", "ladder-30B", "ladder-70B", "ladder-100B"]
FP16_UP_TO = "ladder-13B"  # [A1] ran llama.cpp fp16 up to 13B
A1_T4 = {"fp16": dict(zip(LADDER, [164.04, 56.67, 30.73, 22.31, 15.02, 11.07, 5.85, 3.30, 1.78])),
         "ternary": dict(zip(LADDER, [389.08, 172.95, 119.08, 86.50, 67.12, 46.33, 30.51, 18.75, 10.99, 5.10, 2.44, 1.70]))}
A1_T5 = {"fp16": dict(zip(LADDER, [119.84, 41.57, 18.56, 13.92, 8.99, 6.95, 3.49, 1.92, 1.30])),
         "ternary": dict(zip(LADDER, [316.35, 137.68, 80.13, 57.76, 44.69, 29.41, 20.51, 12.41, 7.09, 3.23, 1.51, 0.97]))}
PAPER_CPU = "i7-13700H (14 cores / 20 threads, 64 GB)"
# [A1] Table 6, J/token (fp16 llama.cpp, bitnet.cpp); the paper does not say how it was measured.
A1_T6 = {"i7": {"ladder-700M": (1.367, 0.384), "ladder-7B": (11.305, 2.017), "ladder-70B": (None, 17.33)},
         "M2 Ultra": {"ladder-700M": (0.314, 0.140), "ladder-7B": (3.013, 1.068), "ladder-70B": (28.02, 8.42)}}
# [A2] Table 7, tokens/s of generation on the i7: ternbench format -> published column.
A2_T7 = {"ladder-700M": {"fp16": 30.73, "i2s": 125.37, "tl2": 126.99, "TQ1_0": 114.20, "TQ2_0": 123.94},
         "ladder-7B": {"fp16": 3.30, "i2s": 20.62, "TQ2_0": 19.92}}
A2_NAMES = {"fp16": "F16", "i2s": "I2_S", "tl1": "TL1_0", "tl2": "TL2_0", "int8": "(int8: ternbench only)"}
A3_MODELS = ["2B4T", "llama3.2-1B", "gemma3-1B", "qwen2.5-1.5B", "smollm2-1.7B", "minicpm-2B"]
A3_NAMES = dict(zip(A3_MODELS, ["BitNet b1.58 2B4T", "LLaMA 3.2 1B", "Gemma-3 1B", "Qwen2.5 1.5B", "SmolLM2 1.7B",
                                "MiniCPM 2B"]))
A3_MEMORY_GB = dict(zip(A3_MODELS, [0.4, 2, 1.4, 2.6, 3.2, 4.8]))
A3_LATENCY_MS = dict(zip(A3_MODELS, [29, 48, 41, 65, 67, 124]))
A3_ENERGY_J = dict(zip(A3_MODELS, [0.028, 0.258, 0.186, 0.347, 0.425, 0.649]))
A3_CPU = "i7-13800H, 8 threads"
A1_T7 = [("I2_S", "i2s", 1.0), ("TL1", "tl1", 1.0), ("TL2", "tl2", 1.0), ("TQ1_0 (llama.cpp)", None, 0.014),
         ("TQ2_0 (llama.cpp)", None, 0.014)]

# What reproduce measures of them (the plan runs these; the report sets them beside the figures above).
ENERGY_LADDER = ["ladder-700M", "ladder-7B", "ladder-70B"]
KERNEL_MODELS = ["ladder-700M", "ladder-7B"]
MEMORY_FORMATS = ["fp32", "fp16", "int8", "i2s", "tl2"]
KERNEL_FORMATS = ["int8", "i2s", "tl1", "tl2", "fp16"]


def size_label(name):
    return name.replace("ladder-", "")

