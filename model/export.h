// Writing a model as GGUF, with the metadata keys and tensor names of bitnet.cpp's I2_S files.
#pragma once
#include <string>

#include "model/weights.h"

namespace tb {
// format: "i2s" (type 36, bitnet.cpp's layout and scale tail). Norms and token_embd in F32 (F16 with
// embedding_f16). No tokenizer is written (synthetic models have none): ternbench loads the file;
// peers that insist on tokenizer.ggml.* keys will not.
void export_gguf(const WeightSource& src, const std::string& format, const std::string& path, bool embedding_f16 = true);
}  // namespace tb
