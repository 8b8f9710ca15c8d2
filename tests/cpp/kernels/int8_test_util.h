// Shared helpers for the int8 kernel tests: seeded RNG, buffers whose end is flush against an
// unreadable guard page (so any over-read past the last element faults, as MLAS
// MatrixGuardBuffer), 64-byte aligned buffers with a trailing sentinel, and variant iteration.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace qrt_test::int8 {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int32_t uniform(int32_t lo, int32_t hi) {  // inclusive
    return lo + static_cast<int32_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  float uniformf(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>((next() >> 40) * (1.0 / 16777216.0));
  }

 private:
  uint64_t s_;
};

// n elements of T whose last element ends exactly at a PROT_NONE page.
template <typename T>
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t n) : n_(n) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t bytes = n * sizeof(T);
    const size_t data_pages = (bytes + page - 1) / page;
    map_len_ = (data_pages + 1) * page;
    void* m = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    map_ = static_cast<uint8_t*>(m);
    mprotect(map_ + data_pages * page, page, PROT_NONE);
    data_ = reinterpret_cast<T*>(map_ + data_pages * page - bytes);
  }
  ~GuardedBuffer() { munmap(map_, map_len_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  size_t size() const { return n_; }

 private:
  size_t n_, map_len_;
  uint8_t* map_;
  T* data_;
};

// 64-byte aligned bytes followed by 64 sentinel bytes (checks that writers stay in bounds).
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t bytes) : bytes_(bytes) {
    raw_ = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 64 + 63) / 64 * 64));
    std::memset(raw_, 0xCD, (bytes + 64 + 63) / 64 * 64);
  }
  ~AlignedBuffer() { std::free(raw_); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  void* data() { return raw_; }
  bool tail_intact() const {
    for (size_t i = 0; i < 64; ++i)
      if (raw_[bytes_ + i] != 0xCD) return false;
    return true;
  }

 private:
  size_t bytes_;
  uint8_t* raw_;
};

inline std::string join_names(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace qrt_test::int8
