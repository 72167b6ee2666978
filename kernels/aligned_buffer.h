#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace tb {

// Aligned allocation; from 2 MiB up, aligned to 2 MiB and offered to the kernel as transparent huge
// pages, so streaming a large weight matrix does not miss the TLB every 4 KiB (this matters for the
// cold-weight GEMV: the hardware prefetcher stops at page boundaries). Release with std::free.
inline void* allocate_large(size_t n) {
  const size_t huge = size_t(2) << 20;
  const size_t align = n >= huge ? huge : 64;
  void* p = std::aligned_alloc(align, (n + align - 1) / align * align);
  if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == huge) madvise(p, (n + align - 1) / align * align, MADV_HUGEPAGE);  // a hint; failure is harmless
#endif
  return p;
}

// A std::allocator whose blocks start on a 64-byte line. The activations the kernels read in place (int8, i2s
// on AVX2) live in such vectors: from malloc they start 16 bytes into a line, where every other 32-byte load
// splits two lines, and the offset changed with the heap's history (the i2s AVX2 prefill ran 25% slower, 44 vs
// 59 t/s, when a results file was opened before the model: measured, Zen 5).
template <class T>
struct LineAllocator {
  using value_type = T;
  LineAllocator() = default;
  template <class U>
  LineAllocator(const LineAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, size_t) noexcept { ::operator delete(p, std::align_val_t(64)); }
  template <class U>
  bool operator==(const LineAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const LineAllocator<U>&) const noexcept { return false; }
};

// 64-byte aligned, zero-initialised bytes. Movable, not copyable (use clone()). A view (AlignedBuffer::view)
// refers to bytes owned elsewhere, e.g. a slot of a huge-page arena, and frees nothing.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { resize(n); }
  AlignedBuffer(AlignedBuffer&& o) noexcept : p_(o.p_), n_(o.n_), owned_(o.owned_) { o.p_ = nullptr; o.n_ = 0; }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(owned_, o.owned_);
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { release(); }

  // n bytes at p, owned by someone who keeps them alive longer than this view.
  static AlignedBuffer view(uint8_t* p, size_t n) {
    AlignedBuffer b;
    b.p_ = p;
    b.n_ = n;
    b.owned_ = false;
    return b;
  }

  // Discards the contents; the new bytes are zero (a view becomes an owning buffer).
  void resize(size_t n) {
    release();
    p_ = nullptr;
    n_ = n;
    if (n == 0) return;
    p_ = static_cast<uint8_t*>(allocate_large(n));
    std::memset(p_, 0, n);
  }
  // Grows (never shrinks) without keeping contents: for scratch space reused across calls.
  void reserve_scratch(size_t n) { if (n > n_) resize(n); }
  AlignedBuffer clone() const { AlignedBuffer b(n_); if (n_) std::memcpy(b.p_, p_, n_); return b; }

  uint8_t* data() { return p_; }
  const uint8_t* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  void release() {
    if (owned_) std::free(p_);
    owned_ = true;
  }
  uint8_t* p_ = nullptr;
  size_t n_ = 0;
  bool owned_ = true;
};

}  // namespace tb
