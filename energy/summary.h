// Text for `harness energy`: the sources tried here, and the estimate for one model. The harness prints it.
#pragma once
#include <string>

#include "energy/estimate.h"
#include "energy/meter.h"

namespace tb::energy {

// Every source, whether it is available here, why not, its domains and notes; the estimate; which source a
// run would measure with; the sampling interval.
std::string sources_summary(const SourcePaths& paths = {});

// The estimate for `model` (a preset name or a .json path): one prefill token (the average over a
// `seq`-token prompt), one decode token at position `seq`, and the `seq`-token sequence, with [A3]'s
// published value beside it when there is one, the causal variant, and what the estimate leaves out.
std::string estimate_summary(const std::string& model, const EstimateOptions& opt = {}, int64_t seq = 512);

}  // namespace tb::energy
