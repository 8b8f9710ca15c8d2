// Multidirectional (numpy / ONNX) broadcasting for elementwise ops.
//
// Shapes are aligned on the right; a dimension of 1 stretches to the other operands' size. To
// iterate fast, the output shape is collapsed: size-1 dimensions are dropped and neighbouring
// dimensions merge when every operand is contiguous (or broadcast) across both, so common cases
// ([N,C] + [N,C], [N,C] + [C], [N,C,H,W] * [1,C,1,1]) become a short loop nest whose innermost
// dimension has stride 1 or 0 for each operand. Callers process "rows" (all but the innermost
// collapsed dimension) in parallel chunks with a BroadcastCursor.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/op.h"

namespace qrt::rt::ops {

// The broadcast of `shapes`; false if two dims differ and neither is 1.
bool broadcast_shape(const std::vector<const Shape*>& shapes, Shape* out);

struct BroadcastPlan {
  std::vector<int64_t> dims;                  // collapsed output dims (at least one)
  std::vector<std::vector<int64_t>> strides;  // per operand, element strides per collapsed dim
  int64_t inner() const { return dims.back(); }
  size_t rows() const;                        // product of all but the innermost dim
};
// `out` must be the broadcast of `ins`.
BroadcastPlan make_broadcast_plan(const std::vector<const Shape*>& ins, const Shape& out);

// Walks rows of a plan, keeping each operand's element offset.
class BroadcastCursor {
 public:
  BroadcastCursor(const BroadcastPlan& p, size_t first_row);
  int64_t offset(size_t k) const { return off_[k]; }
  void next_row();

 private:
  const BroadcastPlan& p_;
  std::vector<int64_t> idx_;  // index over dims[0 .. rank-2]
  std::vector<int64_t> off_;
};

// Runs f(cursor, row_count) style loops: for each row in [0, rows) calls
// body(offsets-cursor, out_offset) in parallel chunks of about `grain` elements.
template <typename Body>
void for_each_row(ThreadPool* pool, const BroadcastPlan& p, const Body& body) {
  size_t rows = p.rows();
  size_t inner = static_cast<size_t>(p.inner());
  if (rows == 0 || inner == 0) return;
  size_t grain_rows = std::max<size_t>(1, (size_t{1} << 15) / inner);
  auto chunk = [&](size_t b, size_t e) {
    BroadcastCursor cur(p, b);
    for (size_t r = b; r < e; ++r) {
      body(cur, static_cast<int64_t>(r * inner));
      cur.next_row();
    }
  };
  size_t threads = pool ? static_cast<size_t>(pool->threads()) : 1;
  size_t tasks = std::min((rows + grain_rows - 1) / grain_rows, threads * 4);
  if (tasks <= 1 || !pool) {
    chunk(0, rows);
    return;
  }
  size_t per = (rows + tasks - 1) / tasks;
  tasks = (rows + per - 1) / per;
  pool->parallel_for(tasks, [&](size_t t) {
    size_t b = t * per, e = std::min(rows, b + per);
    if (b < e) chunk(b, e);
  });
}

// The innermost loop of a binary op: a and b advance by sa / sb (each 0 or 1).
template <typename T, typename R, typename F>
inline void binary_row(const T* a, int64_t sa, const T* b, int64_t sb, R* o, int64_t n,
                       const F& f) {
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (sa) {
    const T bv = *b;
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
  } else if (sb) {
    const T av = *a;
    for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
  } else {
    const R v = f(*a, *b);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

// out = f(a, b) with broadcasting; shapes as given at infer time.
template <typename T, typename R, typename F>
void broadcast_binary(ThreadPool* pool, const T* a, const Shape& sa, const T* b, const Shape& sb,
                      R* o, const Shape& so, const F& f) {
  BroadcastPlan p = make_broadcast_plan({&sa, &sb}, so);
  int64_t ia = p.strides[0].back(), ib = p.strides[1].back(), n = p.inner();
  for_each_row(pool, p, [&](const BroadcastCursor& c, int64_t oo) {
    binary_row(a + c.offset(0), ia, b + c.offset(1), ib, o + oo, n, f);
  });
}

}  // namespace qrt::rt::ops
