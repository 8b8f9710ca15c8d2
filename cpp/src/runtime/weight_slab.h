// One memory region per Model for the weights its ops pack at load.
//
// Why: packed weights were one heap allocation per op, and every 4 KiB page of them was faulted in
// on its first write. In a fresh process that was ~3000 page faults for ResNet-18 int8 (11.7 MB),
// each ~2.5 us in the kernel on this VM (allocation, memcg charge, zeroing): most of the time to
// open the model. The slab reserves address space once (MAP_NORESERVE, nothing committed), asks
// for transparent huge pages (MADV_HUGEPAGE: one fault per 2 MB where the kernel allows it), and
// hands out 64-byte-aligned blocks with an atomic bump pointer, so ops created in parallel share it.
// Blocks are never freed one by one: the whole slab goes with the Model (packed weights live as
// long as their ops). Untouched address space costs nothing; where THP is off the slab still
// works with 4 KiB pages.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace qrt::rt {

class WeightSlab {
 public:
  // Reserves `capacity` bytes of address space (rounded up to 2 MB); capacity 0 or a failed
  // reservation gives a slab whose allocate() always returns nullptr. `huge_pages`: ask for
  // THP (worth it from a few MB of weights; below, the last 2 MB page would be mostly waste).
  WeightSlab(size_t capacity, bool huge_pages);
  ~WeightSlab();
  WeightSlab(const WeightSlab&) = delete;
  WeightSlab& operator=(const WeightSlab&) = delete;

  // A 64-byte-aligned block of `bytes`, zero-filled (fresh anonymous memory), or nullptr when
  // the slab is exhausted (the caller then allocates elsewhere). Thread-safe.
  void* allocate(size_t bytes);
  size_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  uint8_t* map_ = nullptr;   // what mmap returned
  size_t map_bytes_ = 0;
  uint8_t* base_ = nullptr;  // 2 MB aligned start inside the mapping
  size_t capacity_ = 0;
  std::atomic<size_t> used_{0};
  std::atomic<size_t> populated_{0};  // [0, populated_) was handed to MADV_POPULATE_WRITE
  bool huge_ = false;
};

// The slab that PackedBuffer allocations on the calling thread draw from; set by Model::load
// around op creation on each thread that creates ops, null elsewhere.
WeightSlab* current_weight_slab();
void set_current_weight_slab(WeightSlab* slab);

}  // namespace qrt::rt
