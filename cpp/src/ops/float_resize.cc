// Resize(X, roi?, scales?, sizes?) with ONNX semantics (opsets 11-19; the converter rewrites
// Upsample and Resize-10 into this form):
//   mode                          nearest (any dtype; a quantized tensor keeps its parameters),
//                                 linear or cubic (f32), n-dimensional: every resized axis
//   coordinate_transformation_mode half_pixel (default), half_pixel_symmetric, pytorch_half_pixel,
//                                 align_corners, asymmetric, tf_crop_and_resize (roi,
//                                 extrapolation_value)
//   nearest_mode                  round_prefer_floor (default), round_prefer_ceil, floor, ceil
//   cubic_coeff_a (-0.75), exclude_outside (0), antialias (0; linear/cubic downsampling widens
//   the filter), axes (opset 18), keep_aspect_ratio_policy (stretch, not_larger, not_smaller)
// roi, scales and sizes must be known at plan time; exactly one of scales / sizes is non-empty.
// Output sizes: floor(in * scale) from scales; from sizes, as given (stretch) or
// round-half-up(in * scale) with the policy's common scale.
//
// The interpolation is separable, so infer() builds, per axis and output index, the input
// indices and weights of its taps (the ONNX reference's neighbour rule: taps clamped to the edge,
// zero-weight taps dropped). run() walks output rows: the taps of the outer axes combine into a
// short list of (input row offset, weight), and each output element of the row sums that list
// times the innermost axis's taps, in f32.
#include <algorithm>
#include <cmath>

#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

// Output length per axis at most 2^28: the taps tables are built at plan time, per axis, before
// the arena is sized, so a hostile scale must not reach them as a giant allocation.
constexpr int64_t kMaxAxis = int64_t(1) << 28;

// Taps of one axis in CSR form: output index i reads idx[first[i] .. first[i+1]) with weights w.
struct AxisTaps {
  std::vector<size_t> first;
  std::vector<int64_t> idx;
  std::vector<float> w;
  std::vector<uint8_t> extrap;  // tf_crop_and_resize: the coordinate left the input
};

struct ResizePlan {
  std::vector<AxisTaps> axes;
  bool any_extrap = false;
  bool last_identity = false;  // the innermost axis is not resized: rows are weighted row sums
};

double cubic_weight(double x, double A) {  // Keys' kernel, |x| in taps
  x = std::fabs(x);
  if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return 0;
}

class ResizeOp : public Op {
 public:
  enum class Mode { kNearest, kLinear, kCubic };
  enum class Coord { kHalfPixel, kHalfPixelSymmetric, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfCrop };
  enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };
  enum class Policy { kStretch, kNotLarger, kNotSmaller };

  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 4, 1, 1));
    QRT_ASSIGN_OR_RETURN(std::string m, c.attr_string("mode", "nearest"));
    if (m == "nearest") mode_ = Mode::kNearest;
    else if (m == "linear") mode_ = Mode::kLinear;
    else if (m == "cubic") mode_ = Mode::kCubic;
    else return InvalidArgument(c.where() + "mode must be nearest, linear or cubic, got \"" + m + "\"");
    QRT_ASSIGN_OR_RETURN(std::string ct, c.attr_string("coordinate_transformation_mode", "half_pixel"));
    if (ct == "half_pixel") coord_ = Coord::kHalfPixel;
    else if (ct == "half_pixel_symmetric") coord_ = Coord::kHalfPixelSymmetric;
    else if (ct == "pytorch_half_pixel") coord_ = Coord::kPytorchHalfPixel;
    else if (ct == "align_corners") coord_ = Coord::kAlignCorners;
    else if (ct == "asymmetric") coord_ = Coord::kAsymmetric;
    else if (ct == "tf_crop_and_resize") coord_ = Coord::kTfCrop;
    else return Unsupported(c.where() + "coordinate_transformation_mode \"" + ct + "\"");
    QRT_ASSIGN_OR_RETURN(std::string nm, c.attr_string("nearest_mode", "round_prefer_floor"));
    if (nm == "round_prefer_floor") nearest_ = Nearest::kRoundPreferFloor;
    else if (nm == "round_prefer_ceil") nearest_ = Nearest::kRoundPreferCeil;
    else if (nm == "floor") nearest_ = Nearest::kFloor;
    else if (nm == "ceil") nearest_ = Nearest::kCeil;
    else return InvalidArgument(c.where() + "nearest_mode \"" + nm + "\" is not one of round_prefer_floor, "
                                "round_prefer_ceil, floor, ceil");
    QRT_ASSIGN_OR_RETURN(std::string kp, c.attr_string("keep_aspect_ratio_policy", "stretch"));
    if (kp == "stretch") policy_ = Policy::kStretch;
    else if (kp == "not_larger") policy_ = Policy::kNotLarger;
    else if (kp == "not_smaller") policy_ = Policy::kNotSmaller;
    else return InvalidArgument(c.where() + "keep_aspect_ratio_policy \"" + kp + "\" is not one of stretch, "
                                "not_larger, not_smaller");
    QRT_ASSIGN_OR_RETURN(cubic_a_, c.attr_float("cubic_coeff_a", -0.75f));
    QRT_ASSIGN_OR_RETURN(int64_t ex, c.attr_int("exclude_outside", 0));
    QRT_ASSIGN_OR_RETURN(int64_t aa, c.attr_int("antialias", 0));
    exclude_outside_ = ex != 0;
    antialias_ = aa != 0 && mode_ != Mode::kNearest;  // ONNX: no effect on nearest
    QRT_ASSIGN_OR_RETURN(extrapolation_, c.attr_float("extrapolation_value", 0.f));
    has_axes_ = c.node.attr("axes") != nullptr;
    QRT_ASSIGN_OR_RETURN(axes_attr_, c.attr_ints("axes", {}));
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "X has undefined dtype");
    if (mode_ != Mode::kNearest && x->dtype != DType::kF32)
      return Unsupported(c.where() + std::string(mode_ == Mode::kLinear ? "linear" : "cubic") +
                         " mode on " + dt_name(x->dtype) + " data (f32 only; nearest takes any dtype)");
    QRT_RETURN_IF_ERROR(check_passthrough_quant(c, 0, 0));
    std::vector<int64_t> axes;
    if (has_axes_) {
      std::vector<bool> seen(static_cast<size_t>(rank), false);
      for (int64_t a0 : axes_attr_) {
        int64_t a;
        QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axes", a0, rank, &a));
        if (seen[static_cast<size_t>(a)])
          return InvalidArgument(c.where() + "axis " + std::to_string(a0) + " appears twice in axes");
        seen[static_cast<size_t>(a)] = true;
        axes.push_back(a);
      }
    } else {
      for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
    }
    const size_t na = axes.size();
    std::vector<double> roi;  // [starts..., ends...] over `axes`
    if (c.inputs.size() > 1 && c.inputs[1] && c.inputs[1]->numel() > 0 && coord_ == Coord::kTfCrop) {
      QRT_RETURN_IF_ERROR(read_floats(c, 1, "roi", &roi));
      if (roi.size() != 2 * na)
        return InvalidArgument(c.where() + "roi has " + std::to_string(roi.size()) + " values, expected 2 x " +
                               std::to_string(na) + " (starts, then ends)");
    } else if (coord_ == Coord::kTfCrop) {
      return InvalidArgument(c.where() + "tf_crop_and_resize needs the roi input");
    }
    const bool has_scales = c.inputs.size() > 2 && c.inputs[2] && c.inputs[2]->numel() > 0;
    const bool has_sizes = c.inputs.size() > 3 && c.inputs[3] && c.inputs[3]->numel() > 0;
    if (has_scales == has_sizes)
      return InvalidArgument(c.where() + "exactly one of scales (input 2) and sizes (input 3) must be given");
    // Per axis of X: scale and output size.
    std::vector<double> scale(static_cast<size_t>(rank), 1.0);
    Shape out = x->shape;
    if (has_scales) {
      std::vector<double> s;
      QRT_RETURN_IF_ERROR(read_floats(c, 2, "scales", &s));
      if (s.size() != na)
        return InvalidArgument(c.where() + "scales has " + std::to_string(s.size()) + " values for " +
                               std::to_string(na) + " axes");
      for (size_t i = 0; i < na; ++i) {
        if (!(s[i] > 0) || !std::isfinite(s[i]))
          return InvalidArgument(c.where() + "scales must be positive and finite, got " + std::to_string(s[i]) +
                                 " for axis " + std::to_string(axes[i]));
        const size_t a = static_cast<size_t>(axes[i]);
        scale[a] = s[i];
        const double o = std::floor(s[i] * static_cast<double>(x->shape[a]));
        if (o > static_cast<double>(kMaxAxis))
          return InvalidArgument(c.where() + "scale " + std::to_string(s[i]) + " makes axis " +
                                 std::to_string(a) + " too large");
        out[a] = static_cast<int64_t>(o);
      }
    } else {
      std::vector<int64_t> sz;
      QRT_RETURN_IF_ERROR(read_ints(c.where(), "sizes (input 3)", c.inputs[3], &sz));
      if (sz.size() != na)
        return InvalidArgument(c.where() + "sizes has " + std::to_string(sz.size()) + " values for " +
                               std::to_string(na) + " axes");
      double common = policy_ == Policy::kNotLarger ? INFINITY : 0;
      for (size_t i = 0; i < na; ++i) {
        const size_t a = static_cast<size_t>(axes[i]);
        if (sz[i] < 0 || sz[i] > kMaxAxis)
          return InvalidArgument(c.where() + "sizes " + shape_str(sz) + " has an invalid entry for axis " +
                                 std::to_string(a));
        if (x->shape[a] == 0)
          return InvalidArgument(c.where() + "cannot resize the empty axis " + std::to_string(a) + " to a size");
        scale[a] = static_cast<double>(sz[i]) / static_cast<double>(x->shape[a]);
        out[a] = sz[i];
        common = policy_ == Policy::kNotLarger ? std::min(common, scale[a]) : std::max(common, scale[a]);
      }
      if (policy_ != Policy::kStretch) {
        for (int64_t a : axes) {
          const double o = common * static_cast<double>(x->shape[static_cast<size_t>(a)]) + 0.5;
          if (!(o <= static_cast<double>(kMaxAxis)))
            return InvalidArgument(c.where() + "keep_aspect_ratio_policy makes axis " + std::to_string(a) +
                                   " too large");
          scale[static_cast<size_t>(a)] = common;
          out[static_cast<size_t>(a)] = static_cast<int64_t>(o);
        }
      }
    }
    auto plan = std::make_shared<ResizePlan>();
    plan->axes.resize(static_cast<size_t>(rank));
    for (int64_t a = 0; a < rank; ++a) {
      const size_t ua = static_cast<size_t>(a);
      double r0 = 0, r1 = 1;
      for (size_t i = 0; i < na; ++i)
        if (axes[i] == a && !roi.empty()) r0 = roi[i], r1 = roi[i + na];
      const bool resized = std::find(axes.begin(), axes.end(), a) != axes.end();
      if (resized && out[ua] > 0 && x->shape[ua] == 0)
        return InvalidArgument(c.where() + "cannot resize the empty axis " + std::to_string(a));
      build_taps(x->shape[ua], out[ua], resized ? scale[ua] : 1.0, r0, r1, resized, &plan->axes[ua]);
      for (uint8_t e : plan->axes[ua].extrap) plan->any_extrap |= e != 0;
    }
    plan->last_identity = rank > 0 && std::find(axes.begin(), axes.end(), rank - 1) == axes.end();
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = out;
    c.state = plan;
    return OkStatus();
  }

  bool foldable() const override { return false; }
  std::string kernel_name() const override {
    return mode_ == Mode::kNearest ? "resize_nearest" : mode_ == Mode::kLinear ? "resize_linear_f32" : "resize_cubic_f32";
  }

  Status run(const RunContext& c) const override {
    const ResizePlan& p = *static_cast<const ResizePlan*>(c.state);
    const Tensor& x = c.in(0);
    Tensor& y = c.out(0);
    const size_t n = y.numel();
    if (n == 0) return OkStatus();
    const size_t es = elem_size(x.dtype);
    const auto* src = static_cast<const uint8_t*>(x.data);
    auto* dst = static_cast<uint8_t*>(y.data);
    if (y.shape.empty()) {  // rank 0: nothing to resize
      std::memcpy(dst, src, es);
      return OkStatus();
    }
    const size_t r = y.shape.size(), inner = static_cast<size_t>(y.shape.back());
    const std::vector<int64_t> xs = strides_of(x.shape);
    const AxisTaps& last = p.axes.back();
    const bool f32 = x.dtype == DType::kF32 && mode_ != Mode::kNearest;
    parallel_range(c.pool, n / inner, 4, [&](size_t b, size_t e) {
      std::vector<int64_t> off, off2;  // reused across rows: no allocation per output row
      std::vector<float> wt, wt2;
      std::vector<size_t> pos(r - 1);
      for (size_t row = b; row < e; ++row) {
        size_t q = row;
        for (size_t d = r - 1; d-- > 0;) {
          pos[d] = q % static_cast<size_t>(y.shape[d]);
          q /= static_cast<size_t>(y.shape[d]);
        }
        // Combine the outer axes' taps into (input offset, weight) pairs.
        off.assign(1, 0);
        wt.assign(1, 1.f);
        bool extrap = false;
        for (size_t d = 0; d + 1 < r; ++d) {
          const AxisTaps& t = p.axes[d];
          const size_t i = pos[d];
          if (!t.extrap.empty() && t.extrap[i]) extrap = true;
          const size_t k0 = t.first[i], k1 = t.first[i + 1];
          if (k1 - k0 == 1) {
            for (int64_t& o : off) o += t.idx[k0] * xs[d];
            for (float& w : wt) w *= t.w[k0];
            continue;
          }
          const size_t m = off.size();
          off2.clear();
          wt2.clear();
          for (size_t j = 0; j < m; ++j)
            for (size_t k = k0; k < k1; ++k) {
              off2.push_back(off[j] + t.idx[k] * xs[d]);
              wt2.push_back(wt[j] * t.w[k]);
            }
          off.swap(off2);
          wt.swap(wt2);
        }
        uint8_t* o = dst + row * inner * es;
        if (p.last_identity && !extrap) {  // NHWC-style: channels last and not resized
          if (!f32) {
            std::memcpy(o, src + static_cast<size_t>(off[0]) * es, inner * es);
            continue;
          }
          float* of = reinterpret_cast<float*>(o);
          const float* xf = reinterpret_cast<const float*>(src);
          const float w0 = wt[0];
          const float* x0 = xf + off[0];
          for (size_t i = 0; i < inner; ++i) of[i] = w0 * x0[i];
          for (size_t j = 1; j < off.size(); ++j) {
            const float wj = wt[j];
            const float* xj = xf + off[j];
            for (size_t i = 0; i < inner; ++i) of[i] += wj * xj[i];
          }
          continue;
        }
        if (!f32) {  // nearest: one tap per axis, weight 1
          for (size_t i = 0; i < inner; ++i) {
            if (extrap || (!last.extrap.empty() && last.extrap[i])) {
              write_extrapolation(o + i * es, x.dtype);
              continue;
            }
            std::memcpy(o + i * es, src + static_cast<size_t>(off[0] + last.idx[last.first[i]]) * es, es);
          }
          continue;
        }
        const float* xf = reinterpret_cast<const float*>(src);
        float* of = reinterpret_cast<float*>(o);
        if (extrap) {
          for (size_t i = 0; i < inner; ++i) of[i] = extrapolation_;
          continue;
        }
        const size_t m = off.size();
        for (size_t i = 0; i < inner; ++i) {
          const size_t k0 = last.first[i], k1 = last.first[i + 1];
          float acc = 0.f;
          for (size_t j = 0; j < m; ++j) {
            const float* base = xf + off[j];
            float s = 0.f;
            for (size_t k = k0; k < k1; ++k) s += last.w[k] * base[last.idx[k]];
            acc += wt[j] * s;
          }
          of[i] = !last.extrap.empty() && last.extrap[i] ? extrapolation_ : acc;
        }
      }
    });
    return OkStatus();
  }

 private:
  // Plan-time float input (roi, scales): f32, or f16 / f64 would need a conversion qrt lacks.
  static Status read_floats(const InferContext& c, size_t i, const char* what, std::vector<double>* out) {
    const ValueInfo* v = c.inputs[i];
    if (v->dtype != DType::kF32)
      return Unsupported(c.where() + what + " of dtype " + dt_name(v->dtype) + " (f32 only)");
    if (!v->data)
      return Unsupported(c.where() + what + " (input " + std::to_string(i) +
                         ") must be known at plan time (a constant or folded shape computation)");
    const float* f = static_cast<const float*>(v->data);
    out->assign(f, f + v->numel());
    return OkStatus();
  }

  void write_extrapolation(uint8_t* o, DType t) const {
    switch (t) {
      case DType::kF32: std::memcpy(o, &extrapolation_, 4); break;
      case DType::kS64: { int64_t v = static_cast<int64_t>(extrapolation_); std::memcpy(o, &v, 8); break; }
      case DType::kS32: { int32_t v = static_cast<int32_t>(extrapolation_); std::memcpy(o, &v, 4); break; }
      default: std::memset(o, 0, elem_size(t)); break;  // refused at plan time for other dtypes
    }
  }

  // Source coordinate of output index i on an axis of `in` -> `out` elements: the ONNX spec's
  // formulas, with `out` the integer output length (the spec's length_resized) and `scale` the
  // given (or sizes / policy) scale, evaluated in f32 as ONNX Runtime does: where a coordinate
  // lands on a rounding tie or an integer, f32 and f64 can disagree on the tap (3 / 0.6f is 5 in
  // f32, 4.9999998 in f64), and ORT is what converted models are checked against. ONNX's Python
  // reference evaluates in f64 and uses scale * in for the length; its cases still pass except
  // align_corners downsampling by a scale that does not divide the length (tests/python).
  float source_coord(int64_t i, int64_t in, int64_t out, float scale, float r0, float r1) const {
    const float x = static_cast<float>(i), fin = static_cast<float>(in), len = static_cast<float>(out);
    switch (coord_) {
      case Coord::kAlignCorners: return out == 1 ? 0.f : x * (fin - 1) / (len - 1);
      case Coord::kAsymmetric: return x / scale;
      case Coord::kTfCrop:
        return out > 1 ? r0 * (fin - 1) + x * (r1 - r0) * (fin - 1) / (len - 1) : 0.5f * (r0 + r1) * (fin - 1);
      case Coord::kPytorchHalfPixel: return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.f;
      case Coord::kHalfPixelSymmetric: {
        const float adjustment = len / (scale * fin), center = fin / 2;
        return center * (1 - adjustment) + (x + 0.5f) / scale - 0.5f;
      }
      case Coord::kHalfPixel: break;
    }
    return (x + 0.5f) / scale - 0.5f;
  }

  void build_taps(int64_t in, int64_t out, double scale, double r0, double r1, bool resized, AxisTaps* t) const {
    t->first.assign(1, 0);
    if (!resized) {  // identity axis
      for (int64_t i = 0; i < out; ++i) {
        t->idx.push_back(i);
        t->w.push_back(1.f);
        t->first.push_back(t->idx.size());
      }
      return;
    }
    const bool crop = coord_ == Coord::kTfCrop;
    if (crop) t->extrap.assign(static_cast<size_t>(out), 0);
    if (out == 0) return;  // (then scale * in < 1; an antialias window would be unbounded)
    // Filter support: nearest and linear 2 taps, cubic 4; antialiased downsampling widens it.
    const double s = std::min(scale, 1.0);
    int n = mode_ == Mode::kCubic ? 4 : 2;
    int64_t aa_start = 0;
    if (antialias_ && scale < 1) {
      // Taps at floor(xo) + i for i in [start, 2 - start) (cubic: support 2 / s; linear 1 / s).
      aa_start = static_cast<int64_t>(std::floor((mode_ == Mode::kCubic ? -2.0 : -1.0) / s)) + 1;
      n = static_cast<int>(2 - 2 * aa_start);
    }
    std::vector<double> cw(static_cast<size_t>(n));
    for (int64_t i = 0; i < out; ++i) {
      const double xo = source_coord(i, in, out, static_cast<float>(scale), static_cast<float>(r0),
                                     static_cast<float>(r1));
      if (crop && (xo < 0 || xo > static_cast<double>(in - 1))) t->extrap[static_cast<size_t>(i)] = 1;
      const double fl = std::floor(xo), frac = xo - fl;
      const double ratio = frac == 0 ? 1.0 : frac;
      // The reference's window: n taps nearest xo, ties to the lower indices.
      int64_t start = static_cast<int64_t>(fl);
      if (n % 2 == 0) start += frac == 0 ? -(n / 2) : -(n / 2) + 1;
      else start += frac <= 0.5 ? -((n - 1) / 2) : -((n - 1) / 2) + 1;
      weights(ratio, scale, n, aa_start, cw.data());
      if (exclude_outside_) {
        double sum = 0;
        for (int k = 0; k < n; ++k) {
          const int64_t j = start + k;
          if (j < 0 || j >= in) cw[static_cast<size_t>(k)] = 0;
          sum += cw[static_cast<size_t>(k)];
        }
        if (sum == 0) sum = 1;
        for (double& w : cw) w /= sum;
      }
      for (int k = 0; k < n; ++k) {
        if (cw[static_cast<size_t>(k)] == 0) continue;
        t->idx.push_back(std::clamp<int64_t>(start + k, 0, in - 1));
        t->w.push_back(static_cast<float>(cw[static_cast<size_t>(k)]));
      }
      if (t->first.back() == t->idx.size()) {  // all weights zero: read the nearest edge, weight 0
        t->idx.push_back(std::clamp<int64_t>(static_cast<int64_t>(fl), 0, in - 1));
        t->w.push_back(0.f);
      }
      t->first.push_back(t->idx.size());
    }
  }

  // Weights of the n taps for `ratio` in (0, 1] (the ONNX reference's coefficient functions).
  void weights(double ratio, double scale, int n, int64_t aa_start, double* w) const {
    const double A = cubic_a_;
    if (mode_ == Mode::kNearest) {
      bool hi;
      if (ratio == 1.0) hi = true;
      else if (nearest_ == Nearest::kRoundPreferFloor) hi = ratio > 0.5;
      else if (nearest_ == Nearest::kRoundPreferCeil) hi = ratio >= 0.5;
      else hi = nearest_ == Nearest::kCeil;
      w[0] = hi ? 0 : 1;
      w[1] = hi ? 1 : 0;
      return;
    }
    if (antialias_ && scale < 1) {
      double sum = 0;
      for (int k = 0; k < n; ++k) {
        const double arg = (static_cast<double>(aa_start + k) - ratio) * scale;
        w[k] = mode_ == Mode::kLinear ? std::clamp(1 - std::fabs(arg), 0.0, 1.0) : cubic_weight(arg, A);
        sum += w[k];
      }
      for (int k = 0; k < n; ++k) w[k] /= sum;
      return;
    }
    if (mode_ == Mode::kLinear) {
      w[0] = 1 - ratio;
      w[1] = ratio;
      return;
    }
    w[0] = cubic_weight(ratio + 1, A);
    w[1] = cubic_weight(ratio, A);
    w[2] = cubic_weight(1 - ratio, A);
    w[3] = cubic_weight(2 - ratio, A);
  }

  Mode mode_ = Mode::kNearest;
  Coord coord_ = Coord::kHalfPixel;
  Nearest nearest_ = Nearest::kRoundPreferFloor;
  Policy policy_ = Policy::kStretch;
  float cubic_a_ = -0.75f, extrapolation_ = 0.f;
  bool exclude_outside_ = false, antialias_ = false, has_axes_ = false;
  std::vector<int64_t> axes_attr_;
};

}  // namespace

void register_resize_ops(OpRegistry& r) { r.add("Resize", make_factory<ResizeOp>()); }

}  // namespace qrt::rt::ops
