// GGUF reading and writing (the llama.cpp container), for the checkpoints users bring (bitnet.cpp's
// I2_S files, llama.cpp's TQ1_0/TQ2_0 files, f16/bf16/f32 tensors) and for ternbench's own exports.
// Facts: docs/reference.md §2 and §4. Every failure throws tb::Error naming the file and the problem.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "base/error.h"

namespace tb::gguf {

// GGML tensor type ids used here. I2_S/TL1/TL2 are bitnet.cpp's fork's ids.
enum TypeId : uint32_t {
  kF32 = 0, kF16 = 1, kQ8_0 = 8, kBF16 = 30, kTQ1_0 = 34, kTQ2_0 = 35, kI2_S = 36, kTL1 = 38, kTL2 = 39,
};
const char* type_name(uint32_t type);  // "F16", "I2_S", ... or "type N"

// GGUF metadata value types (the uint32 stored before each value).
enum class ValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9,
  U64 = 10, I64 = 11, F64 = 12,
};
const char* value_type_name(uint32_t gguf_type);  // "u32", "string", ... or "value type N"

// A metadata value: scalars, a string, or an array of one of those.
// Which Scalar alternative holds an item: uint64_t for U8/U16/U32/U64, int64_t for I8/I16/I32/I64,
// double for F32/F64, bool for Bool, std::string for String.
using Scalar = std::variant<uint64_t, int64_t, double, bool, std::string>;
struct Value {
  std::vector<Scalar> items;  // one item for a scalar, several for an array
  bool is_array = false;
  uint32_t gguf_type = 0;     // the GGUF value type as stored (for faithful re-writing); for an array,
                              // the type of its elements (never Array: GGUF arrays of arrays are refused)
};
// Convenience constructors for writing. make_value checks that the item's alternative suits the type.
Value make_value(ValueType type, Scalar item);
Value make_array(ValueType elem_type, std::vector<Scalar> items);

struct TensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // GGUF order: dims[0] is the contiguous (input, K) dimension
  uint32_t type = 0;
  uint64_t offset = 0;          // from the start of the data section
  uint64_t nbytes = 0;          // bytes of this tensor's data, including I2_S's 32-byte scale tail
};

class File {
 public:
  // Reads a file (memory-mapped). Validates magic, version (2 or 3), counts, string lengths, tensor
  // extents against the file size, alignment; anything wrong is a tb::Error naming path and problem.
  // Counts no real file reaches are refused too, before anything is held (a metadata array of more than
  // 2^22 elements, 2^23 in all arrays, 2^20 metadata entries or tensors), naming the key and the count.
  // A tensor whose byte size ternbench cannot compute (TL1/TL2, the IQ* types) is an error too, since its
  // extent could not be checked; F32/F16/BF16/Q8_0/TQ1_0/TQ2_0/I2_S and the legacy and k-quant types
  // are sized (only the first three and the ternary ones are decoded).
  static File open(const std::string& path);
  // The same from bytes in memory (tests, fuzzing); `what` names the source in error messages.
  static File parse(const uint8_t* data, size_t size, const std::string& what);

  uint32_t version() const;
  const std::map<std::string, Value>& metadata() const;
  const std::vector<TensorInfo>& tensors() const;
  const TensorInfo* find(const std::string& name) const;  // nullptr when absent
  const uint8_t* data(const TensorInfo& t) const;          // start of the tensor's bytes
  // Drops the mapped pages of bytes [from, from + len) of a tensor from this process's resident memory
  // (whole pages only; no-op for parsed bytes). Reading them again faults them back in from the file. A
  // loader calls it once it has copied what it needs, so that RSS holds the packed copy, not the file too.
  void release(const TensorInfo& t, uint64_t from = 0, uint64_t len = UINT64_MAX) const;

  // Typed metadata access; throws naming the key when missing or of another type.
  std::string get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;   // any integer type
  double get_float(const std::string& key) const;  // f32/f64 (and integers)
  bool has(const std::string& key) const;
  const std::string& source() const;  // the path (open) or `what` (parse): the prefix of every message

  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

 private:
  File();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A ternary matrix decoded from any ternary type (I2_S, TQ2_0, TQ1_0), rows = outputs = dims[1].
struct Ternary {
  int64_t rows = 0, cols = 0;
  std::vector<int8_t> w;  // rows x cols in {-1, 0, +1}
  float scale = 0.0f;     // per-tensor scale; for TQ1_0/TQ2_0 the per-block scales must all be equal
                          // (true for BitNet checkpoints), else tb::Error says they differ
};
Ternary read_ternary(const File& f, const std::string& name);

// Any float tensor (F32, F16, BF16) as fp32, row-major rows = dims[1] (or 1 for a vector).
// Rows [r0, r1) of a 2-D F32/F16/BF16 tensor as fp32 (dims[0] floats per row) into out.
void read_float_rows(const File& f, const std::string& name, int64_t r0, int64_t r1, float* out);
std::vector<float> read_floats(const File& f, const std::string& name);

// Writing: metadata and tensors in order, data aligned to `alignment` (general.alignment, default 32).
struct WriteTensor {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t type = 0;
  std::vector<uint8_t> bytes;  // already encoded in `type`
};
void write(const std::string& path, const std::map<std::string, Value>& metadata,
           const std::vector<WriteTensor>& tensors, uint32_t alignment = 32);
// The same file as bytes in memory (what write() puts on disk; tests and fuzz seeds).
std::vector<uint8_t> serialize(const std::map<std::string, Value>& metadata, const std::vector<WriteTensor>& tensors,
                               uint32_t alignment = 32);

// Bytes of a tensor of `type` with these dims, as stored in a file (I2_S includes its 32-byte tail);
// throws tb::Error (the message starts with the problem, no file name) for a type ternbench cannot size
// or dims that do not fit the type's blocks.
uint64_t tensor_nbytes(uint32_t type, const std::vector<uint64_t>& dims);

// Encoders for ternbench's exports (inverse of read_ternary for that type).
std::vector<uint8_t> encode_i2s(const int8_t* w, int64_t rows, int64_t cols, float scale);
std::vector<uint8_t> encode_f16(const float* x, int64_t n);

}  // namespace tb::gguf
