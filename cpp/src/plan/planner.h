// Activation memory planning: every intermediate value gets an offset in one arena.
//
// Input: buffers with a byte size and a lifetime [first, last] in execution steps (inclusive).
// Two buffers whose lifetimes intersect must not overlap in memory; otherwise they may share.
//
// GreedyPlanner (the algorithm TFLite Micro uses, reworked): buffers are placed one by one in
// some order. For each, the already-placed buffers whose lifetimes intersect it are scanned in
// offset order and the buffer goes into the smallest gap that fits it (best fit), or after the
// last of them. The first order is by breadth (steps with the most live bytes first, each step's
// unplaced buffers largest first), which puts the buffers of the tightest steps side by side
// before anything can split them; then, while the lower bound is not reached, largest first
// (ties: earlier first use), first-use order and longest-lifetime-first, and the smallest arena
// wins. Cost O(n^2) per pass for n buffers, negligible next to a forward pass for any real graph.
//
// Every offset is a multiple of `alignment` (64: a cache line and a zmm register) and every size
// is rounded up to it, so kernels may use aligned loads and over-read within their allowance.
// lower_bound() is max over steps of the bytes live at that step: no plan can do better.
// validate() checks that no two live buffers overlap; tests run it on every plan.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace qrt::plan {

struct Buffer {
  size_t size = 0;
  int first = 0, last = 0;  // inclusive step range
};

struct Plan {
  std::vector<size_t> offsets;  // one per buffer
  size_t arena_size = 0;
};

constexpr size_t kAlignment = 64;

size_t align_up(size_t n, size_t a = kAlignment);
Plan greedy_plan(const std::vector<Buffer>& buffers);
// The obviously-correct baseline: every buffer gets its own range (arena = naive sum).
Plan linear_plan(const std::vector<Buffer>& buffers);
size_t lower_bound(const std::vector<Buffer>& buffers);
size_t naive_size(const std::vector<Buffer>& buffers);
// Empty if valid, else a description of the first overlap or overflow found.
std::string validate(const std::vector<Buffer>& buffers, const Plan& plan);

}  // namespace qrt::plan
