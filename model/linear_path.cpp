#include "model/linear_path.h"

#include <cstring>

#include "base/error.h"

namespace tb {

LinearPath resolve_linear(const std::string& name) {
  LinearPath p;
  if (name == "fp16" || name == "fp32") {
    p.kind = name == "fp16" ? LinearPath::Kind::fp16 : LinearPath::Kind::fp32;
    p.name = p.format = name;
    p.bits_per_weight = name == "fp16" ? 16.0 : 32.0;
    return p;
  }
  // Unknown names fail in the registry, which lists the known ones.
  const Kernel& k = name.find("__") != std::string::npos ? find_kernel(name) : select_kernel(name);
  if (!cpu_supports(k.isa))
    throw Error("kernel " + std::string(k.name) + " needs the " + isa_name(k.isa) +
                " path, which this CPU lacks (harness kernels lists what runs here)");
  p.kernel = &k;
  p.name = k.name;
  p.format = k.format->name;
  p.bits_per_weight = k.format->bits_per_weight;
  return p;
}

std::string check_shapes(const LinearPath& p, const ModelConfig& c) {
  if (!p.kernel) return "";
  for (const auto& mm : c.layer_matmuls())
    if (const std::string bad = p.kernel->format->check_shape(mm.N, mm.K); !bad.empty())
      return "kernel " + p.name + " cannot run " + c.name + "'s " + mm.name + " (" + std::to_string(mm.N) + "x" +
             std::to_string(mm.K) + "): " + bad;
  return "";
}

std::vector<std::string> default_linear_names() {
  std::vector<std::string> out;
  // A format with no variant for the best path allowed here (TLW has no AVX2 or NEON variant) would run its scalar
  // loop: left out of the default sweep (name it to run it), unless scalar is the best path anyway.
  const uint32_t allowed = allowed_isas();
  const Isa best = best_allowed_isa();
  for (const Format* f : all_formats())
    if (!f->oracle && select_kernel(*f, allowed).isa == best) out.push_back(f->name);
  out.push_back("fp16");
  return out;
}

}  // namespace tb
