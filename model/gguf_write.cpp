// GGUF writing, for ternbench's exports (the reader is gguf.cpp; the container is described in model/gguf.h
// and docs/reference.md §4). The writer refuses what llama.cpp's reader would refuse, and writes files whole or
// not at all.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/fp16.h"
#include "kernels/kernel.h"
#include "model/gguf.h"
#include "model/gguf_detail.h"

namespace tb::gguf {
using namespace detail;

namespace {

template <class T>
void put(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}
void put_str(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

// Writes one item as GGUF value type `type`, checking that it is the right kind and in range.
// `ctx` names the value in errors.
void put_scalar(std::vector<uint8_t>& out, uint32_t type, const Scalar& s, const std::string& ctx) {
  auto bad = [&](const std::string& why) -> void {
    throw Error(ctx + ": " + why + " for a " + value_type_name(type) + " value");
  };
  if (is_unsigned_vt(type) || is_signed_vt(type)) {
    // Either integer alternative is accepted when the value fits the stored type.
    bool neg = false;
    uint64_t mag = 0;
    if (const uint64_t* u = std::get_if<uint64_t>(&s)) {
      mag = *u;
    } else if (const int64_t* i = std::get_if<int64_t>(&s)) {
      neg = *i < 0;
      mag = neg ? 0 - uint64_t(*i) : uint64_t(*i);  // |INT64_MIN| without signed overflow
    } else {
      bad("the item is not an integer");
    }
    const unsigned bits = unsigned(min_scalar_bytes(type)) * 8;
    if (is_unsigned_vt(type)) {
      if (neg || (bits < 64 && mag >> bits)) bad("value out of range");
      const uint64_t v = mag;
      if (bits == 8) put<uint8_t>(out, uint8_t(v));
      else if (bits == 16) put<uint16_t>(out, uint16_t(v));
      else if (bits == 32) put<uint32_t>(out, uint32_t(v));
      else put<uint64_t>(out, v);
    } else {
      const uint64_t lim = uint64_t(1) << (bits - 1);  // |min| of the signed type
      if (neg ? mag > lim : mag >= lim) bad("value out of range");
      const int64_t v = neg ? int64_t(0 - mag) : int64_t(mag);
      if (bits == 8) put<int8_t>(out, int8_t(v));
      else if (bits == 16) put<int16_t>(out, int16_t(v));
      else if (bits == 32) put<int32_t>(out, int32_t(v));
      else put<int64_t>(out, v);
    }
    return;
  }
  switch (type) {
    case 6:
    case 12: {
      double d = 0;
      if (const double* x = std::get_if<double>(&s)) d = *x;
      else if (const uint64_t* u = std::get_if<uint64_t>(&s)) d = double(*u);
      else if (const int64_t* i = std::get_if<int64_t>(&s)) d = double(*i);
      else bad("the item is not a number");
      if (type == 6) put<float>(out, float(d));
      else put<double>(out, d);
      return;
    }
    case 7:
      if (!std::holds_alternative<bool>(s)) bad("the item is not a bool");
      put<uint8_t>(out, std::get<bool>(s) ? 1 : 0);
      return;
    case 8:
      if (!std::holds_alternative<std::string>(s)) bad("the item is not a string");
      put_str(out, std::get<std::string>(s));
      return;
    default:
      throw Error(ctx + ": invalid value type " + num(type) + " (valid: 0..8, 10..12; arrays use is_array)");
  }
}

void put_value(std::vector<uint8_t>& out, const Value& v, const std::string& ctx) {
  if (v.is_array) {
    put<uint32_t>(out, uint32_t(ValueType::Array));
    put<uint32_t>(out, v.gguf_type);
    put<uint64_t>(out, v.items.size());
    for (size_t i = 0; i < v.items.size(); ++i) put_scalar(out, v.gguf_type, v.items[i], ctx + " element " + num(i));
  } else {
    if (v.items.size() != 1)
      throw Error(ctx + ": a scalar value needs exactly one item, has " + num(v.items.size()));
    put<uint32_t>(out, v.gguf_type);
    put_scalar(out, v.gguf_type, v.items[0], ctx);
  }
}

void pad_to(std::vector<uint8_t>& out, uint64_t alignment) {
  out.resize(size_t((out.size() + alignment - 1) / alignment * alignment), 0);
}

}  // namespace

Value make_value(ValueType type, Scalar item) {
  Value v;
  v.gguf_type = uint32_t(type);
  v.items.push_back(std::move(item));
  std::vector<uint8_t> scratch;
  put_value(scratch, v, "make_value");  // validates kind and range
  return v;
}

Value make_array(ValueType elem_type, std::vector<Scalar> items) {
  Value v;
  v.is_array = true;
  v.gguf_type = uint32_t(elem_type);
  v.items = std::move(items);
  if (elem_type == ValueType::Array) throw Error("make_array: GGUF arrays of arrays are not supported");
  std::vector<uint8_t> scratch;
  put_value(scratch, v, "make_array");
  return v;
}

std::vector<uint8_t> serialize(const std::map<std::string, Value>& metadata, const std::vector<WriteTensor>& tensors,
                               uint32_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > kMaxAlignment)
    throw Error("GGUF writer: alignment must be a power of two up to " + num(kMaxAlignment) + ", got " + num(alignment));
  // general.alignment in the metadata must agree with the layout written; it is added when not default.
  std::map<std::string, Value> meta = metadata;
  if (auto it = meta.find("general.alignment"); it != meta.end()) {
    const Value& v = it->second;
    const bool ok = !v.is_array && v.items.size() == 1 &&
                    ((std::holds_alternative<uint64_t>(v.items[0]) && std::get<uint64_t>(v.items[0]) == alignment) ||
                     (std::holds_alternative<int64_t>(v.items[0]) && std::get<int64_t>(v.items[0]) == int64_t(alignment)));
    if (!ok) throw Error("GGUF writer: metadata general.alignment disagrees with the alignment " + num(alignment));
  } else if (alignment != kDefaultAlignment) {
    meta["general.alignment"] = make_value(ValueType::U32, uint64_t(alignment));
  }

  std::vector<uint8_t> out = {'G', 'G', 'U', 'F'};
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors.size());
  put<uint64_t>(out, meta.size());
  for (const auto& [key, v] : meta) {
    put_str(out, key);
    put_value(out, v, "GGUF writer: metadata '" + key + "'");
  }

  std::unordered_map<std::string, int> seen;
  uint64_t offset = 0;
  for (const WriteTensor& t : tensors) {
    const std::string ctx = "GGUF writer: tensor '" + t.name + "'";
    if (t.name.size() > kMaxWriteName) throw Error(ctx + ": name longer than 63 bytes (llama.cpp refuses it)");
    if (!seen.emplace(t.name, 0).second) throw Error(ctx + " appears twice");
    uint64_t nbytes;
    try {
      nbytes = tensor_nbytes(t.type, t.dims);
    } catch (const Error& e) {
      throw Error(ctx + ": " + e.what());
    }
    if (t.bytes.size() != nbytes)
      throw Error(ctx + ": has " + num(t.bytes.size()) + " bytes, but " + type_name(t.type) + " " + dims_str(t.dims) +
                  " takes " + num(nbytes));
    put_str(out, t.name);
    put<uint32_t>(out, uint32_t(t.dims.size()));
    for (uint64_t d : t.dims) put<uint64_t>(out, d);
    put<uint32_t>(out, t.type);
    put<uint64_t>(out, offset);
    offset = (offset + nbytes + alignment - 1) / alignment * alignment;
  }
  // Each tensor's data, padded to the alignment (after the last one too, as llama.cpp's writer does,
  // so that readers loading the whole padded data section find it).
  pad_to(out, alignment);
  for (const WriteTensor& t : tensors) {
    out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    pad_to(out, alignment);
  }
  return out;
}

void write(const std::string& path, const std::map<std::string, Value>& metadata,
           const std::vector<WriteTensor>& tensors, uint32_t alignment) {
  const std::vector<uint8_t> bytes = serialize(metadata, tensors, alignment);
  std::FILE* fp = std::fopen(path.c_str(), "wb");
  if (!fp) throw Error(path + ": cannot create (" + std::strerror(errno) + ")");
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), fp) == bytes.size();
  const int err = errno;
  if (std::fclose(fp) != 0 || !ok) {
    std::remove(path.c_str());  // no half-written GGUF left behind
    throw Error(path + ": write failed (" + std::strerror(ok ? errno : err) + ")");
  }
}

std::vector<uint8_t> encode_i2s(const int8_t* w, int64_t rows, int64_t cols, float scale) {
  int64_t n;
  if (rows < 0 || cols < 0 || __builtin_mul_overflow(rows, cols, &n))
    throw Error("encode_i2s: bad shape " + std::to_string(rows) + " x " + std::to_string(cols));
  if (cols % 128 != 0)
    throw Error("encode_i2s: I2_S needs cols % 128 == 0 (blocks of 128 weights), cols = " + std::to_string(cols));
  // The reader refuses these scales as the mark of a corrupt file, so the writer never produces one.
  if (!std::isfinite(scale) || scale == 0.0f)
    throw Error("encode_i2s: the scale must be finite and non-zero, got " + fmt_float(scale));
  for (int64_t i = 0; i < n; ++i)
    if (w[i] < -1 || w[i] > 1)
      throw Error("encode_i2s: weight " + std::to_string(i) + " is " + std::to_string(w[i]) + ", not in {-1, 0, +1}");
  const Format& fmt = find_format("i2s");
  // The kernels' packed I2_S is exactly the GGUF tensor: codes, then the 32-byte tail with the scale.
  std::vector<uint8_t> out(fmt.packed_bytes(rows, cols), 0);
  fmt.pack(w, rows, cols, scale, out.data());
  return out;
}

std::vector<uint8_t> encode_f16(const float* x, int64_t n) {
  if (n < 0) throw Error("encode_f16: negative count " + std::to_string(n));
  std::vector<uint8_t> out(size_t(n) * 2);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = fp32_to_fp16(x[i]);
    out[2 * i] = uint8_t(h & 0xFF);
    out[2 * i + 1] = uint8_t(h >> 8);
  }
  return out;
}

}  // namespace tb::gguf
