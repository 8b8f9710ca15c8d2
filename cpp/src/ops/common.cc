#include "ops/common.h"

#include <cstdlib>

#include "runtime/weight_slab.h"

namespace qrt::rt {

PackedBuffer::PackedBuffer(size_t bytes) : n(bytes) {
  if (WeightSlab* slab = current_weight_slab()) {
    p = slab->allocate(std::max<size_t>(bytes, 1));
    if (p) {
      owned = false;
      return;
    }
  }
  p = std::aligned_alloc(64, (std::max<size_t>(bytes, 1) + 63) / 64 * 64);
}
PackedBuffer::~PackedBuffer() {
  if (owned) std::free(p);
}

Result<Activation> parse_activation(const CreateContext& c) {
  Activation a;
  QRT_ASSIGN_OR_RETURN(a.name, c.attr_string("activation", "none"));
  if (a.name == "none") return a;
  if (a.name == "relu") {
    a.lo = 0.f;
  } else if (a.name == "relu6") {
    a.lo = 0.f;
    a.hi = 6.f;
  } else if (a.name == "clip") {
    QRT_ASSIGN_OR_RETURN(a.lo, c.attr_float("clip_min", -INFINITY));
    QRT_ASSIGN_OR_RETURN(a.hi, c.attr_float("clip_max", INFINITY));
    if (std::isnan(a.lo) || std::isnan(a.hi) || a.lo > a.hi)
      return InvalidArgument(c.where() + "clip range [" + std::to_string(a.lo) + ", " +
                             std::to_string(a.hi) + "] is empty or NaN");
  } else {
    return InvalidArgument(c.where() + "unknown activation '" + a.name +
                           "' (expected none, relu, relu6, clip)");
  }
  return a;
}

void activation_u8_range(const Activation& act, float scale, int32_t zp, int32_t* qmin,
                         int32_t* qmax) {
  *qmin = 0;
  *qmax = 255;
  if (std::isfinite(act.lo)) {
    double q = std::nearbyint(static_cast<double>(act.lo) / scale) + zp;
    *qmin = static_cast<int32_t>(std::clamp(q, 0.0, 255.0));
  }
  if (std::isfinite(act.hi)) {
    double q = std::nearbyint(static_cast<double>(act.hi) / scale) + zp;
    *qmax = static_cast<int32_t>(std::clamp(q, 0.0, 255.0));
  }
  if (*qmin > *qmax) *qmin = *qmax;
}

Status check_multiplier_slow(const CreateContext& c, double m, const char* what) {
  if (!(std::isfinite(m) && m > 0 && static_cast<float>(m) > 0 && std::isfinite(static_cast<float>(m))))
    return InvalidArgument(c.where() + what + " multiplier " + std::to_string(m) +
                           " (from the quantization scales) is not a finite positive float");
  return OkStatus();
}

Status per_tensor_params(const CreateContext& c, const format::TensorDef* t, const char* role,
                         float* scale, int32_t* zp) {
  if (!t) return InvalidArgument(c.where() + role + " is missing");
  if (t->quant.scales.size() != 1)
    return InvalidArgument(c.where() + role + " '" + t->name +
                           "' needs per-tensor quantization parameters, found " +
                           std::to_string(t->quant.scales.size()) + " scales");
  *scale = t->quant.scales[0];
  *zp = t->quant.zero_points.empty() ? 0 : t->quant.zero_points[0];
  if (!(std::isfinite(*scale) && *scale > 0))
    return InvalidArgument(c.where() + role + " '" + t->name + "' has a non-positive scale");
  return OkStatus();
}

}  // namespace qrt::rt
