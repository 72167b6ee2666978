// IEEE 754 binary16 <-> binary32, exact and portable (no F16C needed): the one copy every folder uses.
#pragma once
#include <cstdint>

namespace tb {

// Exact: every half is a float. Subnormals, infinities and NaN (payload kept) included.
float fp16_to_fp32(uint16_t h);
// Round to nearest even; overflow (from 65520 up) gives inf; NaN stays NaN (quiet, top payload bits kept).
uint16_t fp32_to_fp16(float f);

}  // namespace tb
