#include "format/weight_layout.h"

#include <cstring>

#include "kernels/gemm_u8s8_pack.h"

namespace qrt::format {

bool c4_nr_valid(uint32_t nr) { return nr == 8 || nr == 16 || nr == 32 || nr == 64; }

std::string layout_name(WeightLayout layout, uint32_t nr) {
  if (layout == WeightLayout::kPlain) return "plain";
  if (layout == WeightLayout::kC4) return "c4/" + std::to_string(nr);
  return "layout#" + std::to_string(static_cast<uint32_t>(layout));
}

bool parse_layout(const std::string& s, WeightLayout* layout, uint32_t* nr) {
  if (s == "plain") {
    *layout = WeightLayout::kPlain;
    *nr = 0;
    return true;
  }
  for (uint32_t v : {8u, 16u, 32u, 64u})
    if (s == "c4/" + std::to_string(v)) {
      *layout = WeightLayout::kC4;
      *nr = v;
      return true;
    }
  return false;
}

bool c4_packed_bytes(uint64_t N, uint64_t K, uint32_t nr, uint64_t* bytes) {
  if (!c4_nr_valid(nr) || N > (uint64_t{1} << 40) || K > (uint64_t{1} << 40)) return false;
  const uint64_t np = (N + nr - 1) / nr * nr;       // <= 2^40 + 64
  const uint64_t colsum = (np * 4 + 63) / 64 * 64;
  const uint64_t groups = (K + 3) / 4;
  uint64_t panels;
  if (__builtin_mul_overflow(np, groups * 4, &panels)) return false;
  return !__builtin_add_overflow(colsum, panels, bytes);
}

bool c4_matrix_dims(const std::vector<int64_t>& shape, uint64_t* N, uint64_t* K) {
  if (shape.size() < 2) return false;
  uint64_t k = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] <= 0) return false;
  for (size_t d = 1; d < shape.size(); ++d)
    if (__builtin_mul_overflow(k, static_cast<uint64_t>(shape[d]), &k)) return false;
  *N = static_cast<uint64_t>(shape[0]);
  *K = k;
  return true;
}

void pack_c4(size_t N, size_t K, uint32_t nr, const int8_t* B, uint8_t* out) {
  kernels::gemm_u8s8_internal::pack_c4(N, K, B, K, out, nr);
}

namespace {
size_t colsum_region(size_t N, uint32_t nr) { return ((N + nr - 1) / nr * nr * 4 + 63) / 64 * 64; }
}  // namespace

void unpack_c4(size_t N, size_t K, uint32_t nr, const uint8_t* packed, int8_t* out) {
  const uint8_t* panels = packed + colsum_region(N, nr);
  const size_t pbytes = (K + 3) / 4 * nr * 4, kfull = K / 4, kt = K % 4;
  for (size_t n = 0; n < N; ++n) {
    const uint8_t* src = panels + (n / nr) * pbytes + (n % nr) * 4;
    int8_t* row = out + n * K;
    for (size_t g = 0; g < kfull; ++g) std::memcpy(row + 4 * g, src + g * nr * 4, 4);
    if (kt) std::memcpy(row + 4 * kfull, src + kfull * nr * 4, kt);
  }
}

std::string check_c4(size_t N, size_t K, uint32_t nr, const uint8_t* packed) {
  uint64_t bytes = 0;
  if (!c4_packed_bytes(N, K, nr, &bytes)) return "size overflows";
  std::vector<int8_t> plain(N * K);
  unpack_c4(N, K, nr, packed, plain.data());
  std::vector<uint8_t> again(bytes);
  pack_c4(N, K, nr, plain.data(), again.data());
  if (std::memcmp(again.data(), packed, bytes) == 0) return "";
  for (size_t n = 0; n < N; ++n) {
    int32_t stored, want;
    std::memcpy(&stored, packed + 4 * n, 4);
    std::memcpy(&want, again.data() + 4 * n, 4);
    if (stored != want)
      return "column sum " + std::to_string(n) + " is " + std::to_string(stored) + ", the weights sum to " +
             std::to_string(want);
  }
  for (uint64_t i = 0; i < bytes; ++i)
    if (again[i] != packed[i]) return "padding byte at offset " + std::to_string(i) + " is not zero";
  return "";
}

void make_plain(TensorDef* t, std::vector<uint8_t>* storage) {
  if (t->layout == WeightLayout::kPlain) return;
  t->data = plain_data(*t, storage);
  t->nbytes = storage->size();
  t->layout = WeightLayout::kPlain;
  t->layout_nr = 0;
}

const uint8_t* plain_data(const TensorDef& t, std::vector<uint8_t>* storage) {
  if (t.layout == WeightLayout::kPlain) return t.data;
  uint64_t N = 0, K = 0;
  c4_matrix_dims(t.shape, &N, &K);  // validated by the reader / writer
  storage->resize(static_cast<size_t>(N * K));
  unpack_c4(N, K, t.layout_nr, t.data, reinterpret_cast<int8_t*>(storage->data()));
  return storage->data();
}

}  // namespace qrt::format
