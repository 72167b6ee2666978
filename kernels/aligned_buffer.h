#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace tb {

// 64-byte aligned, zero-initialised bytes. Movable, not copyable (use clone()).
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { resize(n); }
  AlignedBuffer(AlignedBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; o.n_ = 0; }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept { std::swap(p_, o.p_); std::swap(n_, o.n_); return *this; }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(p_); }

  // Discards the contents; the new bytes are zero.
  void resize(size_t n) {
    std::free(p_);
    p_ = nullptr;
    n_ = n;
    if (n == 0) return;
    p_ = static_cast<uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64));
    if (!p_) throw std::bad_alloc();
    std::memset(p_, 0, n);
  }
  // Grows (never shrinks) without keeping contents: for scratch space reused across calls.
  void reserve_scratch(size_t n) { if (n > n_) resize(n); }
  AlignedBuffer clone() const { AlignedBuffer b(n_); if (n_) std::memcpy(b.p_, p_, n_); return b; }

  uint8_t* data() { return p_; }
  const uint8_t* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  uint8_t* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace tb
