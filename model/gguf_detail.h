// Internal to model/gguf*.cpp: the pieces the reader (gguf.cpp) and the writer (gguf_write.cpp) share.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tb::gguf::detail {

constexpr uint64_t kDefaultAlignment = 32;    // when general.alignment is absent
constexpr uint64_t kMaxAlignment = 1u << 24;  // sanity bound for general.alignment (files use 32)
constexpr size_t kMaxWriteName = 63;          // llama.cpp refuses tensor names of 64 bytes or more

std::string num(uint64_t v);
std::string fmt_float(double v);  // %.9g: every float round-trips
std::string dims_str(const std::vector<uint64_t>& dims);

// Metadata value types (docs/reference.md §4).
bool is_unsigned_vt(uint32_t t);
bool is_signed_vt(uint32_t t);
bool is_float_vt(uint32_t t);
bool valid_scalar_vt(uint32_t t);
// Bytes of one stored value of a scalar type (strings: their 8-byte length prefix, the minimum).
uint64_t min_scalar_bytes(uint32_t t);

}  // namespace tb::gguf::detail
