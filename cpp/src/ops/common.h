// Helpers shared by the dense/conv/pool/quant ops.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "runtime/op.h"

namespace qrt::rt {

// The fused activation of Conv2d/Dense, as a real-valued clamp [lo, hi].
struct Activation {
  std::string name = "none";
  float lo = -INFINITY, hi = INFINITY;
};
Result<Activation> parse_activation(const CreateContext& c);

// The u8 clamp [qmin, qmax] that realises `act` on a tensor quantized with (scale, zp).
void activation_u8_range(const Activation& act, float scale, int32_t zp, int32_t* qmin,
                         int32_t* qmax);

// Per-tensor (scale, zero point) of a quantized record; an error naming the tensor otherwise.
Status per_tensor_params(const CreateContext& c, const format::TensorDef* t, const char* role,
                         float* scale, int32_t* zp);

// A requantization multiplier must be finite and positive: a file whose scales are valid one by
// one can still multiply or divide them into inf/0 (e.g. 1e-30 / 1e30), and a NaN reaching the
// float->int conversion of an epilogue would be undefined behaviour.
Status check_multiplier_slow(const CreateContext& c, double m, const char* what);
// A requantization multiplier must be a finite positive float (also after rounding to float).
// Called per output channel at load, so the accepting path is inline and builds no Status.
inline Status check_multiplier(const CreateContext& c, double m, const char* what) {
  const float f = static_cast<float>(m);
  if (m > 0 && m < 1e300 && f > 0 && f <= 3.4028234663852886e38f) return OkStatus();
  return check_multiplier_slow(c, m, what);
}
// The same for a per-channel array: one branch-free pass (it vectorises), and only a failing
// array is walked again to name the first bad multiplier.
inline Status check_multipliers(const CreateContext& c, const float* m, size_t n, const char* what) {
  bool ok = true;
  for (size_t i = 0; i < n; ++i) ok &= (m[i] > 0.0f) & (m[i] <= 3.4028234663852886e38f);
  if (ok) return OkStatus();
  for (size_t i = 0; i < n; ++i) QRT_RETURN_IF_ERROR(check_multiplier(c, m[i], what));
  return OkStatus();
}

// Splits [0, n) into `parts` ranges whose starts are multiples of `align`.
inline void split_range(size_t n, size_t parts, size_t align, size_t part, size_t* begin,
                        size_t* end) {
  size_t blocks = (n + align - 1) / align;
  size_t per = blocks / parts, extra = blocks % parts;
  size_t b0 = part * per + std::min(part, extra);
  size_t b1 = b0 + per + (part < extra ? 1 : 0);
  *begin = std::min(n, b0 * align);
  *end = std::min(n, b1 * align);
}

// 64-byte aligned owned storage for packed weights.
// Packed weights: 64-byte aligned, from the loading Model's WeightSlab when one is set on this
// thread (runtime/weight_slab.h; freed with the Model), else from the heap.
struct PackedBuffer {
  PackedBuffer() = default;
  explicit PackedBuffer(size_t bytes);
  ~PackedBuffer();
  PackedBuffer(PackedBuffer&& o) noexcept : p(o.p), n(o.n), owned(o.owned), mapped(o.mapped) {
    o.p = nullptr;
    o.n = 0;
  }
  PackedBuffer& operator=(PackedBuffer&& o) noexcept {
    std::swap(p, o.p);
    std::swap(n, o.n);
    std::swap(owned, o.owned);
    std::swap(mapped, o.mapped);
    return *this;
  }
  // Weights already in the kernel's layout in the file image (format 1.1 packed tensors): used
  // in place, never freed here; the Model keeps the image alive.
  static PackedBuffer in_place(const void* data, size_t bytes) {
    PackedBuffer b;
    b.p = const_cast<void*>(data);
    b.n = bytes;
    b.owned = false;
    b.mapped = true;
    return b;
  }
  void* p = nullptr;
  size_t n = 0;
  bool owned = true;    // false: the block belongs to a WeightSlab or to the file image
  bool mapped = false;  // in_place(): the bytes are the file's
};

}  // namespace qrt::rt
