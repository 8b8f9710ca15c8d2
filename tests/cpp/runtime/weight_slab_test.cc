// WeightSlab: the bump allocator packed weights come from (runtime/weight_slab.h).
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "harness.h"
#include "ops/common.h"
#include "runtime/weight_slab.h"

using qrt::rt::PackedBuffer;
using qrt::rt::WeightSlab;

QRT_TEST(WeightSlab, AlignedZeroedDisjointAndBounded) {
  for (bool huge : {false, true}) {
    WeightSlab s(3 << 20, huge);  // rounded up to 4 MB
    std::vector<uint8_t*> blocks;
    size_t sizes[] = {1, 63, 64, 65, 4096, 100000, 1 << 20};
    for (size_t n : sizes) {
      auto* p = static_cast<uint8_t*>(s.allocate(n));
      QRT_EXPECT(p != nullptr) << "n=" << n;
      if (!p) continue;
      QRT_EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, uintptr_t{0});
      bool zero = true;
      for (size_t i = 0; i < n; ++i) zero &= p[i] == 0;
      QRT_EXPECT(zero) << "fresh block of " << n << " bytes is not zero-filled";
      std::memset(p, 0xAB, n);  // blocks must not overlap: checked below
      blocks.push_back(p);
    }
    for (size_t b = 0; b + 1 < blocks.size(); ++b)
      QRT_EXPECT(blocks[b] + sizes[b] <= blocks[b + 1]) << "block " << b << " overlaps the next";
    QRT_EXPECT(s.allocate(size_t{8} << 20) == nullptr) << "more than the capacity";
    QRT_EXPECT(s.allocate(size_t{3} << 20) == nullptr) << "more than what is left";
    QRT_EXPECT(s.allocate(1000) != nullptr) << "a small block still fits after a refusal";
    QRT_EXPECT(s.used() <= (size_t{4} << 20));
  }
  WeightSlab empty(0, true);
  QRT_EXPECT(empty.allocate(1) == nullptr);
}

QRT_TEST(WeightSlab, ConcurrentAllocationsAreDisjoint) {
  WeightSlab s(64 << 20, true);
  constexpr int kThreads = 4, kPer = 2000;
  std::vector<std::vector<std::pair<uint8_t*, size_t>>> got(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        size_t n = 1 + static_cast<size_t>((i * 7919 + t * 104729) % 5000);
        auto* p = static_cast<uint8_t*>(s.allocate(n));
        if (p) std::memset(p, t + 1, n);
        got[t].push_back({p, n});
      }
    });
  for (auto& th : ts) th.join();
  for (int t = 0; t < kThreads; ++t)
    for (auto [p, n] : got[t]) {
      QRT_EXPECT(p != nullptr);
      if (!p) continue;
      bool mine = true;  // another thread's block overlapping this one would have overwritten it
      for (size_t i = 0; i < n; ++i) mine &= p[i] == t + 1;
      QRT_EXPECT(mine) << "thread " << t << " block of " << n << " bytes was overwritten";
    }
}

QRT_TEST(WeightSlab, PackedBufferUsesTheThreadsSlabElseTheHeap) {
  WeightSlab s(1 << 20, false);
  qrt::rt::set_current_weight_slab(&s);
  PackedBuffer a(1000);
  PackedBuffer big(size_t{4} << 20);  // does not fit: heap
  qrt::rt::set_current_weight_slab(nullptr);
  PackedBuffer c(1000);
  QRT_EXPECT(!a.owned && a.p != nullptr);
  QRT_EXPECT(big.owned && big.p != nullptr);
  QRT_EXPECT(c.owned && c.p != nullptr);
  PackedBuffer moved(std::move(a));  // ownership travels with the pointer
  QRT_EXPECT(!moved.owned && a.p == nullptr);
  std::memset(big.p, 1, big.n);
  std::memset(moved.p, 2, moved.n);
}
