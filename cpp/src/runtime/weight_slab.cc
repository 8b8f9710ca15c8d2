#include "runtime/weight_slab.h"

#include <sys/mman.h>

#include <algorithm>

namespace qrt::rt {
namespace {
constexpr size_t kHuge = size_t{2} << 20;
thread_local WeightSlab* t_slab = nullptr;
}  // namespace

WeightSlab::WeightSlab(size_t capacity, bool huge_pages) {
  if (capacity == 0) return;
  capacity = (capacity + kHuge - 1) / kHuge * kHuge;
  const size_t bytes = capacity + kHuge;  // room to align the start to 2 MB
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (m == MAP_FAILED) return;
  map_ = static_cast<uint8_t*>(m);
  map_bytes_ = bytes;
  base_ = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(map_) + kHuge - 1) & ~(kHuge - 1));
  capacity_ = capacity;
#ifdef MADV_HUGEPAGE
  if (huge_pages) madvise(base_, capacity_, MADV_HUGEPAGE);  // advice only: without THP the slab uses 4 KiB pages
  huge_ = huge_pages;
#endif
}

WeightSlab::~WeightSlab() {
  if (map_) munmap(map_, map_bytes_);
}

void* WeightSlab::allocate(size_t bytes) {
  if (!base_) return nullptr;
  const size_t n = (bytes + 63) / 64 * 64;
  size_t at = used_.load(std::memory_order_relaxed);
  do {  // a block that does not fit leaves the slab as it was, for smaller ones after it
    if (n > capacity_ || at > capacity_ - n) return nullptr;
  } while (!used_.compare_exchange_weak(at, at + n, std::memory_order_relaxed));
#ifdef MADV_POPULATE_WRITE
  // 4 KiB pages: map the block's pages with one call per 64 KiB chunk rather than a fault per
  // page on first write (MobileNetV2 int8, whose depthwise weights are packed here: open 0.92 ->
  // 0.89 ms, C++, medians of 15 fresh processes x 3 alternated rounds). Only zero pages are
  // mapped; a range another thread already wrote is left as it is. Errors (kernels before 5.14)
  // leave the pages to fault in as before.
  if (!huge_) {
    constexpr size_t kChunk = size_t{64} << 10;
    const size_t want = std::min(capacity_, (at + n + kChunk - 1) / kChunk * kChunk);
    size_t have = populated_.load(std::memory_order_relaxed);
    while (have < want && !populated_.compare_exchange_weak(have, want, std::memory_order_relaxed)) {
    }
    if (have < want) madvise(base_ + have, want - have, MADV_POPULATE_WRITE);
  }
#endif
  return base_ + at;
}

WeightSlab* current_weight_slab() { return t_slab; }
void set_current_weight_slab(WeightSlab* slab) { t_slab = slab; }

}  // namespace qrt::rt
