#include "runtime/weight_slab.h"

#include <sys/mman.h>

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
  return base_ + at;
}

WeightSlab* current_weight_slab() { return t_slab; }
void set_current_weight_slab(WeightSlab* slab) { t_slab = slab; }

}  // namespace qrt::rt
