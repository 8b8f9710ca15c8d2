// A per-thread, grow-only, 64-byte-aligned scratch block for GEMM kernels (packed A panels,
// bf16-rounded rows): one allocation per thread for the life of the thread, none per call.
//
// Internal linkage on purpose: every ISA variant includes this from a file compiled with its own
// -m flags, and an inline function with external linkage would be merged by the linker into one
// copy — possibly the AVX-512 one, then called from the AVX2 path on a CPU without AVX-512.
#pragma once

#include <cstddef>
#include <cstdlib>

namespace qrt::kernels {
namespace {

struct ThreadScratch {
  void* p = nullptr;
  size_t bytes = 0;
  ~ThreadScratch() { std::free(p); }
  void* get(size_t n) {
    if (n > bytes) {
      std::free(p);
      bytes = (n + 4095) / 4096 * 4096;
      p = std::aligned_alloc(64, bytes);
      if (!p) std::abort();
    }
    return p;
  }
};

}  // namespace
}  // namespace qrt::kernels
