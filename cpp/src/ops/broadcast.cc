#include "ops/broadcast.h"

#include <algorithm>

namespace qrt::rt::ops {

bool broadcast_shape(const std::vector<const Shape*>& shapes, Shape* out) {
  size_t rank = 0;
  for (const Shape* s : shapes) rank = std::max(rank, s->size());
  Shape r(rank, 1);
  for (const Shape* s : shapes) {
    size_t off = rank - s->size();
    for (size_t i = 0; i < s->size(); ++i) {
      int64_t d = (*s)[i];
      int64_t& o = r[off + i];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      return false;
    }
  }
  *out = std::move(r);
  return true;
}

size_t BroadcastPlan::rows() const {
  size_t n = 1;
  for (size_t i = 0; i + 1 < dims.size(); ++i) n *= static_cast<size_t>(dims[i]);
  return n;
}

BroadcastPlan make_broadcast_plan(const std::vector<const Shape*>& ins, const Shape& out) {
  const size_t rank = out.size(), k = ins.size();
  // Full-rank strides per operand (0 where broadcast), then drop size-1 output dims.
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> st(k);
  std::vector<std::vector<int64_t>> full(k, std::vector<int64_t>(rank, 0));
  for (size_t j = 0; j < k; ++j) {
    const Shape& s = *ins[j];
    int64_t acc = 1;
    for (size_t i = s.size(); i-- > 0;) {
      size_t oi = rank - s.size() + i;
      full[j][oi] = s[i] == 1 ? 0 : acc;
      acc *= s[i];
    }
  }
  for (size_t i = 0; i < rank; ++i) {
    if (out[i] == 1) continue;
    dims.push_back(out[i]);
    for (size_t j = 0; j < k; ++j) st[j].push_back(full[j][i]);
  }
  // Merge dim i into i-1 when every operand is contiguous across the pair.
  std::vector<int64_t> cd;
  std::vector<std::vector<int64_t>> cs(k);
  for (size_t i = 0; i < dims.size(); ++i) {
    bool merge = !cd.empty();
    for (size_t j = 0; merge && j < k; ++j) merge = cs[j].back() == st[j][i] * dims[i];
    if (merge) {
      cd.back() *= dims[i];
      for (size_t j = 0; j < k; ++j) cs[j].back() = st[j][i];
    } else {
      cd.push_back(dims[i]);
      for (size_t j = 0; j < k; ++j) cs[j].push_back(st[j][i]);
    }
  }
  if (cd.empty()) {  // every dim is 1 (scalar output)
    cd.push_back(1);
    for (size_t j = 0; j < k; ++j) cs[j].push_back(0);
  }
  BroadcastPlan p;
  p.dims = std::move(cd);
  p.strides = std::move(cs);
  return p;
}

BroadcastCursor::BroadcastCursor(const BroadcastPlan& p, size_t first_row)
    : p_(p), idx_(p.dims.size() - 1, 0), off_(p.strides.size(), 0) {
  size_t r = first_row;
  for (size_t i = idx_.size(); i-- > 0;) {
    idx_[i] = static_cast<int64_t>(r % static_cast<size_t>(p.dims[i]));
    r /= static_cast<size_t>(p.dims[i]);
  }
  for (size_t j = 0; j < off_.size(); ++j)
    for (size_t i = 0; i < idx_.size(); ++i) off_[j] += idx_[i] * p.strides[j][i];
}

void BroadcastCursor::next_row() {
  for (size_t i = idx_.size(); i-- > 0;) {
    if (++idx_[i] < p_.dims[i]) {
      for (size_t j = 0; j < off_.size(); ++j) off_[j] += p_.strides[j][i];
      return;
    }
    for (size_t j = 0; j < off_.size(); ++j) off_[j] -= (p_.dims[i] - 1) * p_.strides[j][i];
    idx_[i] = 0;
  }
}

}  // namespace qrt::rt::ops
