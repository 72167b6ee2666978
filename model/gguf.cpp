// GGUF reading (the writer is gguf_write.cpp). The container is described in model/gguf.h and docs/reference.md §4; the
// tensor layouts decoded here (I2_S, TQ2_0, TQ1_0) follow docs/reference.md §2 exactly.
//
// Robustness rules (the reader is fuzzed): every count and length read from the file is bounded by the
// bytes that remain before anything is allocated, every offset + size sum is checked for overflow, and
// every failure is a tb::Error whose message starts with the file's name and says what is wrong.
// Multi-byte fields are little-endian; the host is too (checked below), so fields are read by memcpy
// (never by casting a pointer: tensor data and header fields are not aligned in general).
#include "model/gguf.h"
#include "model/gguf_detail.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "base/fp16.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the GGUF reader assumes a little-endian host");

namespace tb::gguf::detail {

std::string num(uint64_t v) { return std::to_string(v); }

std::string fmt_float(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string dims_str(const std::vector<uint64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + num(dims[i]);
  return s + "]";
}

bool is_unsigned_vt(uint32_t t) { return t == 0 || t == 2 || t == 4 || t == 10; }
bool is_signed_vt(uint32_t t) { return t == 1 || t == 3 || t == 5 || t == 11; }
bool is_float_vt(uint32_t t) { return t == 6 || t == 12; }
bool valid_scalar_vt(uint32_t t) { return t <= 12 && t != 9; }

uint64_t min_scalar_bytes(uint32_t t) {
  switch (t) {
    case 0: case 1: case 7: return 1;
    case 2: case 3: return 2;
    case 4: case 5: case 6: return 4;
    case 8: case 10: case 11: case 12: return 8;
    default: return 1;
  }
}

}  // namespace tb::gguf::detail

namespace tb::gguf {
using namespace detail;
namespace {

constexpr uint32_t kMaxDims = 4;             // GGML_MAX_DIMS: files with more dims are refused
constexpr uint64_t kI2sTail = 32;            // I2_S: 32 bytes after the codes, fp32 scale first
// Bounds on what a file may make the reader hold, beyond the bound by the file's size: a value in memory
// costs much more than in the file (one Scalar, 40 bytes, per array element of 1 to 8 bytes), so a large
// enough file that is merely well-formed would otherwise end in std::bad_alloc. Real files sit far below:
// 2B4T's tokenizer has 128256 tokens and about 280k merges, the largest vocabularies about 262k entries;
// 2B4T has 332 tensors and about 30 metadata entries. At these limits the arrays take at most ~340 MB besides
// their strings' bytes. The metadata is walked once without keeping anything (parse()), so a file refused
// for a count is refused before any value is held.
constexpr uint64_t kMaxArrayItems = uint64_t(1) << 22;     // elements of one metadata array (4194304)
constexpr uint64_t kMaxMetadataItems = uint64_t(1) << 23;  // elements of all metadata arrays together
constexpr uint64_t kMaxMetadataEntries = uint64_t(1) << 20;
constexpr uint64_t kMaxTensors = uint64_t(1) << 20;


// ---- Tensor types ------------------------------------------------------------------------------

// GGML type ids with their block of elements and its bytes. bytes == 0: the name is known but
// ternbench cannot size the type (a file holding such a tensor is refused: its extent cannot be
// checked). The legacy and k-quant sizes are the standard ggml block structs; ternbench does not decode
// them, but knowing their size lets a file with, say, a Q6_K output tensor still open.
struct TypeInfo {
  uint32_t id;
  const char* name;
  uint64_t block;  // elements per block
  uint64_t bytes;  // bytes per block (0 = unknown)
};
constexpr TypeInfo kTypes[] = {
    {kF32, "F32", 1, 4},     {kF16, "F16", 1, 2},     {2, "Q4_0", 32, 18},      {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},     {7, "Q5_1", 32, 24},     {kQ8_0, "Q8_0", 32, 34},  {9, "Q8_1", 32, 0},
    {10, "Q2_K", 256, 84},   {11, "Q3_K", 256, 110},  {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},  {15, "Q8_K", 256, 292},  {16, "IQ2_XXS", 256, 0},  {17, "IQ2_XS", 256, 0},
    {18, "IQ3_XXS", 256, 0}, {19, "IQ1_S", 256, 0},   {20, "IQ4_NL", 32, 0},    {21, "IQ3_S", 256, 0},
    {22, "IQ2_S", 256, 0},   {23, "IQ4_XS", 256, 0},  {24, "I8", 1, 1},         {25, "I16", 1, 2},
    {26, "I32", 1, 4},       {27, "I64", 1, 8},       {28, "F64", 1, 8},        {29, "IQ1_M", 256, 0},
    {kBF16, "BF16", 1, 2},   {kTQ1_0, "TQ1_0", 256, 54}, {kTQ2_0, "TQ2_0", 256, 66},
    // I2_S is sized specially (N*K/4 + 32-byte tail); TL1/TL2 depend on per-shape tiles: not sizeable.
    {kI2_S, "I2_S", 4, 1},   {kTL1, "TL1", 0, 0},     {kTL2, "TL2", 0, 0},
};

const TypeInfo* type_info(uint32_t id) {
  for (const auto& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}

// "I2_S (36)" for messages.
std::string type_label(uint32_t type) { return std::string(type_name(type)) + " (" + num(type) + ")"; }

// Product of dims, refusing dims above INT64_MAX and an overflowing product (as ggml does).
uint64_t element_count(const std::vector<uint64_t>& dims) {
  uint64_t n = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] > uint64_t(std::numeric_limits<int64_t>::max()))
      throw Error("dimension " + num(i) + " is " + num(dims[i]) + ", above INT64_MAX");
    uint64_t next;
    if (__builtin_mul_overflow(n, dims[i], &next) || next > uint64_t(std::numeric_limits<int64_t>::max()))
      throw Error("the element count overflows (dims too large)");
    n = next;
  }
  return n;
}


// ---- Metadata values ---------------------------------------------------------------------------


// ---- Byte reader -------------------------------------------------------------------------------

class Reader {
 public:
  Reader(const uint8_t* p, size_t n, const std::string& what) : p_(p), n_(n), what_(what) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return n_ - pos_; }

  [[noreturn]] void fail(const std::string& msg) const { throw Error(what_ + ": " + msg); }

  void need(uint64_t bytes, const std::string& ctx) const {
    if (bytes > remaining())
      fail("truncated: " + ctx + " needs " + num(bytes) + " bytes at offset " + num(pos_) + ", but only " +
           num(remaining()) + " remain (file size " + num(n_) + ")");
  }
  template <class T>
  T get(const std::string& ctx) {
    need(sizeof(T), ctx);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  // A GGUF string: uint64 length, then that many bytes (no terminator, any bytes allowed).
  std::string str(const std::string& ctx) {
    const uint64_t len = get<uint64_t>(ctx + " (string length)");
    if (len > remaining())
      fail("truncated or corrupt: " + ctx + " has length " + num(len) + " at offset " + num(pos_ - 8) +
           ", but only " + num(remaining()) + " bytes remain");
    std::string s(reinterpret_cast<const char*>(p_ + pos_), size_t(len));
    pos_ += size_t(len);
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& what_;
};

Scalar read_scalar(Reader& r, uint32_t type, const std::string& ctx) {
  switch (type) {
    case 0: return uint64_t(r.get<uint8_t>(ctx));
    case 1: return int64_t(r.get<int8_t>(ctx));
    case 2: return uint64_t(r.get<uint16_t>(ctx));
    case 3: return int64_t(r.get<int16_t>(ctx));
    case 4: return uint64_t(r.get<uint32_t>(ctx));
    case 5: return int64_t(r.get<int32_t>(ctx));
    case 6: return double(r.get<float>(ctx));
    case 7: return r.get<uint8_t>(ctx) != 0;  // any non-zero byte reads as true
    case 8: return r.str(ctx);
    case 10: return r.get<uint64_t>(ctx);
    case 11: return r.get<int64_t>(ctx);
    case 12: return r.get<double>(ctx);
    default: r.fail(ctx + " has unknown value type " + num(type) + " (valid: 0..12)");
  }
}

// `items_so_far`: the array elements of the metadata read before this value; this value's are added.
// keep = false: only walk the value (every bound checked), hold nothing.
Value read_value(Reader& r, uint32_t type, const std::string& key, uint64_t& items_so_far, bool keep) {
  const std::string ctx = "metadata '" + key + "'";
  Value v;
  if (type != uint32_t(ValueType::Array)) {
    if (!valid_scalar_vt(type)) r.fail(ctx + " has unknown value type " + num(type) + " (valid: 0..12)");
    v.gguf_type = type;
    v.items.push_back(read_scalar(r, type, ctx));
    return v;
  }
  const uint32_t elem = r.get<uint32_t>(ctx + " (array element type)");
  const uint64_t count = r.get<uint64_t>(ctx + " (array length)");
  if (elem == uint32_t(ValueType::Array)) r.fail(ctx + " is an array of arrays, which is not supported");
  if (!valid_scalar_vt(elem)) r.fail(ctx + " is an array of unknown value type " + num(elem) + " (valid: 0..12)");
  // Bound the count by the bytes left before allocating: each element takes at least this many.
  if (count > r.remaining() / min_scalar_bytes(elem))
    r.fail("truncated or corrupt: " + ctx + " claims " + num(count) + " elements of type " + value_type_name(elem) +
           ", more than the " + num(r.remaining()) + " bytes left can hold");
  if (count > kMaxArrayItems)
    r.fail(ctx + " is an array of " + num(count) + " " + value_type_name(elem) + " elements; ternbench reads arrays of up to " +
           num(kMaxArrayItems) + " (real tokenizers hold about 300k), so the file is probably corrupt");
  if (items_so_far + count > kMaxMetadataItems)
    r.fail(ctx + " (an array of " + num(count) + " elements) brings the metadata arrays to " + num(items_so_far + count) +
           " elements in all, above ternbench's limit of " + num(kMaxMetadataItems) + "; the file is probably corrupt");
  items_so_far += count;
  v.is_array = true;
  v.gguf_type = elem;
  if (keep) v.items.reserve(size_t(count));
  // Fixed-size elements all fit (checked above: min_scalar_bytes is their size); only a string can fail, so
  // only strings pay for a message naming their element.
  const bool strings = elem == uint32_t(ValueType::String);
  for (uint64_t i = 0; i < count; ++i) {
    Scalar item = read_scalar(r, elem, strings ? ctx + " element " + num(i) : ctx);
    if (keep) v.items.push_back(std::move(item));
  }
  return v;
}

// ---- fp16 / bf16 -------------------------------------------------------------------------------

float bits_to_f32(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
uint16_t load_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }

}  // namespace

const char* type_name(uint32_t type) {
  if (const TypeInfo* t = type_info(type)) return t->name;
  // Unknown ids: a per-thread buffer, valid until this thread's next call with an unknown id.
  thread_local std::string buf;
  buf = "type " + num(type);
  return buf.c_str();
}

const char* value_type_name(uint32_t t) {
  static const char* const names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                      "bool", "string", "array", "u64", "i64", "f64"};
  if (t <= 12) return names[t];
  thread_local std::string buf;
  buf = "value type " + num(t);
  return buf.c_str();
}

uint64_t tensor_nbytes(uint32_t type, const std::vector<uint64_t>& dims) {
  if (dims.size() > kMaxDims) throw Error(num(dims.size()) + " dimensions (GGUF allows at most 4)");
  const uint64_t n = element_count(dims);
  if (type == kTL1 || type == kTL2)
    throw Error("type " + type_label(type) +
                " is not supported yet: bitnet.cpp's TL1/TL2 layouts depend on per-shape tile parameters "
                "(this id may also mean another type in other ggml versions); convert the model to I2_S");
  const TypeInfo* t = type_info(type);
  if (!t) throw Error("unknown tensor type " + num(type));
  if (t->bytes == 0) throw Error("tensor type " + type_label(type) + " is not one ternbench can read");
  const uint64_t d0 = dims.empty() ? 1 : dims[0];
  if (type == kI2_S) {
    // bitnet.cpp's I2_S: 4 codes per byte over the whole tensor, then a 32-byte tail (fp32 scale first).
    // Rows must be whole bytes; read_ternary further needs K % 128 == 0 for the block layout.
    if (d0 % 4 != 0) throw Error("I2_S needs dims[0] % 4 == 0, got dims " + dims_str(dims));
    return n / 4 + kI2sTail;
  }
  // Blocks never straddle rows (ggml's rule): dims[0] must be a multiple of the block.
  if (d0 % t->block != 0)
    throw Error(std::string(t->name) + " needs dims[0] to be a multiple of its block of " + num(t->block) +
                " elements, got dims " + dims_str(dims));
  uint64_t bytes;
  if (__builtin_mul_overflow(n / t->block, t->bytes, &bytes)) throw Error("the byte size overflows (dims too large)");
  return bytes;
}

// ---- File --------------------------------------------------------------------------------------

struct File::Impl {
  std::string what;             // path or the caller's name for the bytes, first in every message
  const uint8_t* base = nullptr;
  size_t size = 0;
  void* map = nullptr;          // mmap'ed region (open), or nullptr (parse: bytes are in `owned`)
  size_t map_len = 0;
  std::vector<uint8_t> owned;
  uint32_t version = 0;
  uint64_t data_start = 0;      // absolute offset of the data section
  std::map<std::string, Value> metadata;
  std::vector<TensorInfo> tensors;
  std::unordered_map<std::string, size_t> index;

  ~Impl() {
    if (map) munmap(map, map_len);
  }
  [[noreturn]] void fail(const std::string& msg) const { throw Error(what + ": " + msg); }
  const Value& value(const std::string& key) const {
    auto it = metadata.find(key);
    if (it == metadata.end()) fail("metadata key '" + key + "' is missing");
    return it->second;
  }
  std::string value_desc(const Value& v) const {
    return v.is_array ? std::string("an array of ") + value_type_name(v.gguf_type) : value_type_name(v.gguf_type);
  }
  void parse();
};

void File::Impl::parse() {
  Reader r(base, size, what);
  // Header: magic, version, counts.
  if (size < 4) fail("too short to be a GGUF file (" + num(size) + " bytes)");
  if (std::memcmp(base, "GGUF", 4) != 0) {
    char shown[5] = {};
    for (int i = 0; i < 4; ++i) shown[i] = (base[i] >= 32 && base[i] < 127) ? char(base[i]) : '?';
    fail(std::string("not a GGUF file: bad magic '") + shown + "' (expected 'GGUF')");
  }
  r.get<uint32_t>("magic");
  version = r.get<uint32_t>("the GGUF version");
  if (version == 0x02000000u || version == 0x03000000u)
    fail("big-endian GGUF files are not supported (version field reads byte-swapped)");
  if (version != 2 && version != 3)
    fail("unsupported GGUF version " + num(version) + " (ternbench reads versions 2 and 3)");
  const uint64_t n_tensors = r.get<uint64_t>("the tensor count");
  const uint64_t n_kv = r.get<uint64_t>("the metadata count");
  // Smallest possible entries: a KV is an 8-byte key length, a 4-byte type and a 1-byte value (13); a
  // tensor info is an 8-byte name length, 4-byte n_dims, 4-byte type and 8-byte offset (24).
  if (n_kv > r.remaining() / 13)
    fail("corrupt header: metadata count " + num(n_kv) + " cannot fit in the " + num(r.remaining()) +
         " bytes after the header");
  if (n_tensors > r.remaining() / 24 || n_kv * 13 + n_tensors * 24 > r.remaining())
    fail("corrupt header: tensor count " + num(n_tensors) + " (with " + num(n_kv) + " metadata entries) cannot fit in the " +
         num(r.remaining()) + " bytes after the header");

  if (n_kv > kMaxMetadataEntries)
    fail("corrupt header: " + num(n_kv) + " metadata entries; ternbench reads up to " + num(kMaxMetadataEntries) +
         " (real files hold a few dozen)");
  if (n_tensors > kMaxTensors)
    fail("corrupt header: " + num(n_tensors) + " tensors; ternbench reads up to " + num(kMaxTensors) +
         " (real models hold a few thousand at most)");

  {  // The walk: every count and length checked, nothing held (see kMaxArrayItems); the same messages.
    Reader walk = r;
    uint64_t array_items = 0;
    for (uint64_t i = 0; i < n_kv; ++i) {
      const std::string key = walk.str("the key of metadata entry #" + num(i));
      const uint32_t type = walk.get<uint32_t>("the value type of metadata '" + key + "'");
      (void)read_value(walk, type, key, array_items, false);
    }
  }
  uint64_t array_items = 0;
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.str("the key of metadata entry #" + num(i));
    const uint32_t type = r.get<uint32_t>("the value type of metadata '" + key + "'");
    Value v = read_value(r, type, key, array_items, true);
    if (!metadata.emplace(key, std::move(v)).second) fail("metadata key '" + key + "' appears twice");
  }

  uint64_t alignment = kDefaultAlignment;
  if (auto it = metadata.find("general.alignment"); it != metadata.end()) {
    const Value& v = it->second;
    if (v.is_array || !(is_unsigned_vt(v.gguf_type) || is_signed_vt(v.gguf_type)))
      fail("general.alignment must be an integer, found " + value_desc(v));
    const Scalar& s = v.items.at(0);
    const bool is_u = std::holds_alternative<uint64_t>(s);
    const bool neg = !is_u && std::get<int64_t>(s) < 0;
    const uint64_t a = is_u ? std::get<uint64_t>(s) : neg ? 0 : uint64_t(std::get<int64_t>(s));
    if (neg || a == 0 || a > kMaxAlignment || (a & (a - 1)) != 0)
      fail("general.alignment must be a power of two up to " + num(kMaxAlignment) + ", got " +
           (is_u ? num(a) : std::to_string(std::get<int64_t>(s))));
    alignment = a;
  }

  tensors.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    t.name = r.str("the name of tensor #" + num(i));
    const std::string ctx = "tensor '" + t.name + "'";
    const uint32_t n_dims = r.get<uint32_t>(ctx + " (number of dimensions)");
    if (n_dims > kMaxDims) fail(ctx + " has " + num(n_dims) + " dimensions (GGUF allows at most 4)");
    for (uint32_t d = 0; d < n_dims; ++d) t.dims.push_back(r.get<uint64_t>(ctx + " (dimension " + num(d) + ")"));
    t.type = r.get<uint32_t>(ctx + " (type)");
    t.offset = r.get<uint64_t>(ctx + " (data offset)");
    try {
      t.nbytes = tensor_nbytes(t.type, t.dims);
    } catch (const Error& e) {
      fail(ctx + ": " + e.what());
    }
    if (!index.emplace(t.name, tensors.size()).second) fail("tensor name '" + t.name + "' appears twice");
    tensors.push_back(std::move(t));
  }

  // The data section starts at the first multiple of the alignment after the tensor infos; tensor
  // offsets are relative to it and must themselves be aligned.
  data_start = (uint64_t(r.pos()) + alignment - 1) / alignment * alignment;
  for (const TensorInfo& t : tensors) {
    const std::string ctx = "tensor '" + t.name + "'";
    if (t.offset % alignment != 0)
      fail(ctx + " has data offset " + num(t.offset) + ", not a multiple of the alignment " + num(alignment));
    // All three terms are checked against the size first, so the sum cannot overflow.
    if (t.offset > size || t.nbytes > size || data_start + t.offset + t.nbytes > size)
      fail(ctx + " extends past the end of the file (offset " + num(data_start) + " + " + num(t.offset) + " + " +
           num(t.nbytes) + " bytes of " + type_name(t.type) + " > size " + num(size) + "; truncated file?)");
  }
  // Tensors must not share bytes (a corrupt offset table would alias them).
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const TensorInfo& a = tensors[order[i - 1]];
    const TensorInfo& b = tensors[order[i]];
    if (a.nbytes > 0 && b.nbytes > 0 && a.offset + a.nbytes > b.offset)
      fail("tensors '" + a.name + "' and '" + b.name + "' overlap (offsets " + num(a.offset) + " + " + num(a.nbytes) +
           " > " + num(b.offset) + ")");
  }
}

File::File() : impl_(std::make_unique<Impl>()) {}
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

File File::parse(const uint8_t* data, size_t size, const std::string& what) {
  File f;
  f.impl_->what = what;
  if (size) f.impl_->owned.assign(data, data + size);  // our own copy: tensors stay valid after the call
  f.impl_->base = f.impl_->owned.data();
  f.impl_->size = size;
  f.impl_->parse();
  return f;
}

File File::open(const std::string& path) {
  File f;
  Impl& m = *f.impl_;
  m.what = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) m.fail(std::string("cannot open (") + std::strerror(errno) + ")");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    m.fail(std::string("cannot stat (") + std::strerror(err) + ")");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    m.fail("not a regular file");
  }
  if (st.st_size < 4) {
    ::close(fd);
    m.fail("too short to be a GGUF file (" + num(uint64_t(st.st_size)) + " bytes)");
  }
  // Read-only private mapping: tensors are read in place. (A file truncated by someone else while
  // mapped would raise SIGBUS on access; nothing portable prevents that.)
  void* p = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps the file referenced
  if (p == MAP_FAILED) m.fail(std::string("cannot map into memory (") + std::strerror(err) + ")");
  m.map = p;
  m.map_len = size_t(st.st_size);
  m.base = static_cast<const uint8_t*>(p);
  m.size = size_t(st.st_size);
  m.parse();
  return f;
}

uint32_t File::version() const { return impl_->version; }
const std::map<std::string, Value>& File::metadata() const { return impl_->metadata; }
const std::vector<TensorInfo>& File::tensors() const { return impl_->tensors; }
const std::string& File::source() const { return impl_->what; }
bool File::has(const std::string& key) const { return impl_->metadata.count(key) != 0; }

const TensorInfo* File::find(const std::string& name) const {
  auto it = impl_->index.find(name);
  return it == impl_->index.end() ? nullptr : &impl_->tensors[it->second];
}

void File::release(const TensorInfo& t, uint64_t from, uint64_t len) const {
#ifdef MADV_DONTNEED
  if (!impl_->map || from >= t.nbytes) return;
  len = std::min(len, t.nbytes - from);
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t a = uintptr_t(data(t)) + from, b = a + len;
  const uintptr_t a1 = (a + page - 1) / page * page, b1 = b / page * page;  // whole pages inside the range only
  // A read-only private mapping that was never written: dropping its pages loses nothing, a later read
  // faults them in again from the file (or the page cache).
  if (b1 > a1) madvise(reinterpret_cast<void*>(a1), b1 - a1, MADV_DONTNEED);
#else
  (void)t, (void)from, (void)len;
#endif
}

const uint8_t* File::data(const TensorInfo& t) const {
  // Re-checked so that a TensorInfo from another file (or edited) cannot point outside this mapping.
  const uint64_t avail = impl_->data_start > impl_->size ? 0 : impl_->size - impl_->data_start;
  if (t.offset > avail || t.nbytes > avail - t.offset)
    impl_->fail("tensor '" + t.name + "' is not inside this file's data section");
  return impl_->base + impl_->data_start + t.offset;
}

std::string File::get_string(const std::string& key) const {
  const Value& v = impl_->value(key);
  if (v.is_array || v.gguf_type != uint32_t(ValueType::String))
    impl_->fail("metadata '" + key + "' is " + impl_->value_desc(v) + ", not a string");
  return std::get<std::string>(v.items.at(0));
}

int64_t File::get_int(const std::string& key) const {
  const Value& v = impl_->value(key);
  if (v.is_array || !(is_unsigned_vt(v.gguf_type) || is_signed_vt(v.gguf_type)))
    impl_->fail("metadata '" + key + "' is " + impl_->value_desc(v) + ", not an integer");
  const Scalar& s = v.items.at(0);
  if (const uint64_t* u = std::get_if<uint64_t>(&s)) {
    if (*u > uint64_t(std::numeric_limits<int64_t>::max()))
      impl_->fail("metadata '" + key + "' = " + num(*u) + " does not fit in int64");
    return int64_t(*u);
  }
  return std::get<int64_t>(s);
}

double File::get_float(const std::string& key) const {
  const Value& v = impl_->value(key);
  if (v.is_array || !(is_float_vt(v.gguf_type) || is_unsigned_vt(v.gguf_type) || is_signed_vt(v.gguf_type)))
    impl_->fail("metadata '" + key + "' is " + impl_->value_desc(v) + ", not a number");
  const Scalar& s = v.items.at(0);
  if (const double* d = std::get_if<double>(&s)) return *d;
  if (const uint64_t* u = std::get_if<uint64_t>(&s)) return double(*u);
  return double(std::get<int64_t>(s));
}

// ---- Decoding tensors --------------------------------------------------------------------------

namespace {

// A tensor looked up for decoding, with its matrix shape (rows = dims[1], cols = dims[0]; higher
// dims must be 1).
struct Located {
  const TensorInfo* t;
  const uint8_t* p;
  int64_t rows, cols;
  std::string ctx;  // "<file>: tensor '<name>' (<type>)"
};

Located locate(const File& f, const std::string& name) {
  const TensorInfo* t = f.find(name);
  if (!t) throw Error(f.source() + ": no tensor named '" + name + "'");
  Located l{t, f.data(*t), 0, 0, f.source() + ": tensor '" + name + "' (" + type_name(t->type) + ")"};
  for (size_t i = 2; i < t->dims.size(); ++i)
    if (t->dims[i] != 1) throw Error(l.ctx + " has dims " + dims_str(t->dims) + ", not a matrix");
  l.cols = t->dims.empty() ? 1 : int64_t(t->dims[0]);
  l.rows = t->dims.size() < 2 ? 1 : int64_t(t->dims[1]);
  return l;
}

[[noreturn]] void corrupt(const Located& l, const std::string& why) {
  throw Error(l.ctx + " looks corrupt: " + why);
}

// Checks a block's fp16 scale against the tensor's so far. Blocks whose weights are all zero may carry
// any d (the scale multiplies nothing); every other block must have the same finite, non-zero d.
struct ScaleCheck {
  bool have = false;
  float scale = 0.0f;
  int64_t first_block = 0;
  void block(const Located& l, int64_t b, uint16_t d_bits, bool any_nonzero) {
    if (!any_nonzero) return;
    const float d = fp16_to_fp32(d_bits);
    if (!std::isfinite(d) || d == 0.0f)
      corrupt(l, "block " + std::to_string(b) + " has non-zero weights but scale d = " + fmt_float(d));
    if (!have) {
      have = true;
      scale = d;
      first_block = b;
    } else if (d != scale) {
      throw Error(l.ctx + ": per-block scales differ (block " + std::to_string(first_block) + " has d = " +
                  fmt_float(scale) + ", block " + std::to_string(b) + " has d = " + fmt_float(d) +
                  "); ternbench needs one scale per tensor, as in BitNet checkpoints");
    }
  }
};

// TQ2_0 (docs/reference.md §2.5): 66-byte blocks of 256 weights, qs[64] then fp16 d. Within each 32-byte half h
// of qs, weight 128h + 32n + m is in bits 2n..2n+1 of byte 32h + m; code c = w + 1 (3 is unused).
void decode_tq2_0(const Located& l, int8_t* w, float& scale) {
  const int64_t blocks = l.rows * l.cols / 256;
  ScaleCheck sc;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* blk = l.p + b * 66;
    int8_t* out = w + b * 256;
    bool nz = false;
    for (int h = 0; h < 2; ++h)
      for (int n = 0; n < 4; ++n)
        for (int m = 0; m < 32; ++m) {
          const int c = (blk[32 * h + m] >> (2 * n)) & 3;
          if (c == 3)
            corrupt(l, "unused code 3 for weight " + std::to_string(b * 256 + 128 * h + 32 * n + m) +
                           " (row-major index)");
          out[128 * h + 32 * n + m] = int8_t(c - 1);
          nz |= c != 1;
        }
    sc.block(l, b, load_u16(blk + 64), nz);
  }
  scale = sc.scale;  // 0 when every weight is zero
}

// I2_S (docs/reference.md §2.2), decoded here rather than by the kernels' format code, so that the reference
// reads a real file through a decoder of its own: rows of cols/4 bytes in 32-byte blocks of 128 weights; byte
// m of a block holds weights m, 32 + m, 64 + m and 96 + m of it in bit pairs 7-6, 5-4, 3-2 and 1-0, each as
// w + 1. Code 3 is never written.
void decode_i2s(const Located& l, int8_t* w) {
  const int64_t bytes = l.rows * l.cols / 4;
  for (int64_t i = 0; i < bytes; ++i) {
    const uint8_t v = l.p[i];
    const int64_t block = i / 32, m = i % 32;  // blocks never straddle rows: cols % 128 == 0
    for (int n = 0; n < 4; ++n) {
      const int c = (v >> (6 - 2 * n)) & 3;
      const int64_t at = block * 128 + 32 * n + m;  // row-major weight index
      if (c == 3)
        corrupt(l, "unused code 11 at row " + std::to_string(at / l.cols) + ", column " + std::to_string(at % l.cols));
      w[at] = int8_t(c - 1);
    }
  }
}

// TQ1_0 (docs/reference.md §2.5): 54-byte blocks of 256 weights: qs[48], qh[4], fp16 d. A byte stores up to 5
// trits as ceil(t * 256 / 243) of their base-3 number t (trit 0 most significant), so multiplying by
// 3^n (mod 256) brings trit n to the top and ((x * 3) >> 8) reads it. qh bytes hold 4 trits shifted up
// one digit, so the same formula reads their trits 0..3. Every byte decodes to valid trits.
void decode_tq1_0(const Located& l, int8_t* w, float& scale) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  auto trit = [](uint8_t q, int n) { return int((unsigned(uint8_t(q * kPow3[n])) * 3u) >> 8); };
  const int64_t blocks = l.rows * l.cols / 256;
  ScaleCheck sc;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* blk = l.p + b * 54;
    const uint8_t* qs = blk;
    const uint8_t* qh = blk + 48;
    int8_t* out = w + b * 256;
    for (int n = 0; n < 5; ++n)
      for (int m = 0; m < 32; ++m) out[32 * n + m] = int8_t(trit(qs[m], n) - 1);             // 0..159
    for (int n = 0; n < 5; ++n)
      for (int m = 0; m < 16; ++m) out[160 + 16 * n + m] = int8_t(trit(qs[32 + m], n) - 1);  // 160..239
    for (int n = 0; n < 4; ++n)
      for (int j = 0; j < 4; ++j) out[240 + 4 * n + j] = int8_t(trit(qh[j], n) - 1);         // 240..255
    bool nz = false;
    for (int i = 0; i < 256; ++i) nz |= out[i] != 0;
    sc.block(l, b, load_u16(blk + 52), nz);
  }
  scale = sc.scale;
}

}  // namespace

Ternary read_ternary(const File& f, const std::string& name) {
  const Located l = locate(f, name);
  const uint32_t type = l.t->type;
  if (type != kI2_S && type != kTQ2_0 && type != kTQ1_0)
    throw Error(l.ctx + " is not a ternary type (I2_S, TQ2_0, TQ1_0)" +
                (type == kF32 || type == kF16 || type == kBF16 ? "; use read_floats" : ""));
  Ternary out;
  out.rows = l.rows;
  out.cols = l.cols;
  // Sizes are bounded by the tensor's bytes, which open() checked against the file size.
  out.w.assign(size_t(l.rows * l.cols), 0);
  if (type == kI2_S) {
    if (l.cols % 128 != 0)
      throw Error(l.ctx + " has " + std::to_string(l.cols) + " columns; I2_S needs a multiple of 128 (blocks of 128)");
    // The scale first: bitnet.cpp's multi-threaded quantizer writes tensors with a zero scale and mostly
    // 00 codes (docs/reference.md §2.2); saying so is more useful than reporting their first bad code.
    float s;
    std::memcpy(&s, l.p + l.rows * l.cols / 4, sizeof s);
    if (!std::isfinite(s) || s == 0.0f)
      corrupt(l, "its scale is " + fmt_float(s) +
                     " (bitnet.cpp's quantizer run with several threads writes such tensors; re-quantize with one "
                     "thread)");
    decode_i2s(l, out.w.data());
    out.scale = s;
  } else if (type == kTQ2_0) {
    decode_tq2_0(l, out.w.data(), out.scale);
  } else {
    decode_tq1_0(l, out.w.data(), out.scale);
  }
  return out;
}

void read_float_rows(const File& f, const std::string& name, int64_t r0, int64_t r1, float* out) {
  const Located l = locate(f, name);
  if (r0 < 0 || r1 < r0 || r1 > l.rows)
    throw Error(l.ctx + " has " + std::to_string(l.rows) + " rows; rows " + std::to_string(r0) + ".." +
                std::to_string(r1) + " were asked for");
  const uint32_t type = l.t->type;
  const uint64_t n = uint64_t((r1 - r0) * l.cols), at = uint64_t(r0 * l.cols);
  if (type == kF32) {
    if (n) std::memcpy(out, l.p + 4 * at, size_t(n) * 4);
  } else if (type == kF16) {
    for (uint64_t i = 0; i < n; ++i) out[i] = fp16_to_fp32(load_u16(l.p + 2 * (at + i)));
  } else if (type == kBF16) {
    for (uint64_t i = 0; i < n; ++i) out[i] = bits_to_f32(uint32_t(load_u16(l.p + 2 * (at + i))) << 16);
  } else {
    throw Error(l.ctx + " is not a float type (F32, F16, BF16)");
  }
}

std::vector<float> read_floats(const File& f, const std::string& name) {
  const Located l = locate(f, name);
  const uint32_t type = l.t->type;
  const uint64_t n = element_count(l.t->dims);
  std::vector<float> out;
  if (type == kF32) {
    out.resize(size_t(n));
    if (n) std::memcpy(out.data(), l.p, size_t(n) * 4);  // (a zero-element tensor leaves data() null)
  } else if (type == kF16) {
    out.resize(size_t(n));
    for (uint64_t i = 0; i < n; ++i) out[i] = fp16_to_fp32(load_u16(l.p + 2 * i));
  } else if (type == kBF16) {
    out.resize(size_t(n));
    for (uint64_t i = 0; i < n; ++i) out[i] = bits_to_f32(uint32_t(load_u16(l.p + 2 * i)) << 16);  // top half of fp32
  } else {
    throw Error(l.ctx + " is not a float type (F32, F16, BF16)" +
                (type == kI2_S || type == kTQ1_0 || type == kTQ2_0 ? "; use read_ternary" : ""));
  }
  return out;
}

}  // namespace tb::gguf
