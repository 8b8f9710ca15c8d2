// ConvTranspose (ONNX semantics, NCHW), f32, 1-D and 2-D: X [N, C, (H,) W], W [C, O/group,
// (KH,) KW] constant, B [O] optional -> Y [N, O, (OH,) OW].
// Attributes: strides, dilations, pads (begins then ends), output_padding, group, kernel_shape
// (must match W), output_shape (the pads are then derived: total = stride * (in - 1) +
// output_padding + (k - 1) * dilation + 1 - output_shape, split as the spec says; a negative
// total appends outputs that only get the bias), auto_pad
// (NOTSET, VALID, SAME_UPPER, SAME_LOWER: output = in * stride).
//
// Per image and group, one GEMM through kernels::gemm_f32_nn computes every input pixel's
// contribution to every tap, cols[(o, i, j)][pixel] = sum_c W[c][o][i][j] * X[c][pixel] (W
// transposed to [O/group * KH * KW, C/group] at load; the pixel columns split over the pool),
// and each output element then gathers the taps that land on it: oh = ih * sh - pt + i * dh,
// i.e. ih = (oh + pt - i * dh) / sh where that divides. The gather writes each output once, so
// output rows go to threads without write conflicts.
#include <algorithm>
#include <cstring>

#include "kernels/gemm_f32.h"
#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

struct ConvTPlan {
  int64_t H = 1, W = 1, OH = 1, OW = 1, pt = 0, pl = 0;
};

class ConvTransposeOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 2, 3, 1, 1));
    const format::TensorDef* w = c.input(1);
    if (!w || !w->is_constant)
      return Unsupported(c.where() + "W (input 1) must be a constant (weights are rearranged at load)");
    if (w->dtype != DType::kF32) return Unsupported(c.where() + "W of dtype " + dt_name(w->dtype) + " (f32 only)");
    if (w->shape.size() != 3 && w->shape.size() != 4)
      return Unsupported(c.where() + "only 1-D and 2-D ConvTranspose (W of rank 3 or 4), got W " +
                         shape_str(w->shape));
    for (int64_t d : w->shape)
      if (d <= 0) return InvalidArgument(c.where() + "W " + shape_str(w->shape) + " has an empty dimension");
    const bool one_d = w->shape.size() == 3;
    const size_t sp = one_d ? 1 : 2;
    QRT_ASSIGN_OR_RETURN(group_, c.attr_int("group", 1));
    if (group_ < 1 || w->shape[0] % group_ != 0)
      return InvalidArgument(c.where() + "group " + std::to_string(group_) + " does not divide W's " +
                             std::to_string(w->shape[0]) + " input channels");
    cin_ = w->shape[0];
    cout_g_ = w->shape[1];
    kh_ = one_d ? 1 : w->shape[2];
    kw_ = w->shape.back();
    one_d_ = one_d;
    auto get = [&](const char* name, int64_t def, std::vector<int64_t>* out) -> Status {
      QRT_ASSIGN_OR_RETURN(*out, c.attr_ints(name, std::vector<int64_t>(sp, def)));
      if (out->size() != sp)
        return InvalidArgument(c.where() + name + " needs " + std::to_string(sp) + " values, got " +
                               std::to_string(out->size()));
      return OkStatus();
    };
    std::vector<int64_t> st, dl, op, ks;
    QRT_RETURN_IF_ERROR(get("strides", 1, &st));
    QRT_RETURN_IF_ERROR(get("dilations", 1, &dl));
    QRT_RETURN_IF_ERROR(get("output_padding", 0, &op));
    QRT_ASSIGN_OR_RETURN(ks, c.attr_ints("kernel_shape", {}));
    if (!ks.empty() && ks != std::vector<int64_t>(w->shape.begin() + 2, w->shape.end()))
      return InvalidArgument(c.where() + "kernel_shape " + shape_str(ks) + " differs from W " + shape_str(w->shape));
    QRT_ASSIGN_OR_RETURN(pads_, c.attr_ints("pads", std::vector<int64_t>(2 * sp, 0)));
    if (pads_.size() != 2 * sp)
      return InvalidArgument(c.where() + "pads needs " + std::to_string(2 * sp) + " values");
    QRT_ASSIGN_OR_RETURN(out_shape_, c.attr_ints("output_shape", {}));
    if (!out_shape_.empty() && out_shape_.size() != sp && out_shape_.size() != sp + 2)
      return InvalidArgument(c.where() + "output_shape needs " + std::to_string(sp) + " spatial values");
    if (out_shape_.size() == sp + 2) out_shape_.erase(out_shape_.begin(), out_shape_.begin() + 2);
    QRT_ASSIGN_OR_RETURN(auto_pad_, c.attr_string("auto_pad", "NOTSET"));
    if (auto_pad_ != "NOTSET" && auto_pad_ != "VALID" && auto_pad_ != "SAME_UPPER" && auto_pad_ != "SAME_LOWER")
      return InvalidArgument(c.where() + "auto_pad \"" + auto_pad_ + "\" is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
    for (size_t i = 0; i < sp; ++i) {
      if (st[i] < 1 || st[i] > 1024 || dl[i] < 1 || dl[i] > 1024)
        return InvalidArgument(c.where() + "strides and dilations must be in [1, 1024]");
      if (op[i] < 0 || op[i] >= std::max(st[i], dl[i]))
        return InvalidArgument(c.where() + "output_padding " + std::to_string(op[i]) +
                               " must be below the stride or the dilation");
    }
    for (int64_t p : pads_)
      if (p < 0 || p > 1024) return InvalidArgument(c.where() + "pads must be in [0, 1024]");
    sh_ = one_d ? 1 : st[0];
    sw_ = st.back();
    dh_ = one_d ? 1 : dl[0];
    dw_ = dl.back();
    oph_ = one_d ? 0 : op[0];
    opw_ = op.back();
    // Wt[g][(o, i, j)][c] = W[g * C/group + c][o][i][j].
    const int64_t cg = cin_ / group_, rows = cout_g_ * kh_ * kw_;
    wt_.resize(static_cast<size_t>(cin_ * rows));
    const float* wd = reinterpret_cast<const float*>(w->data);
    for (int64_t g = 0; g < group_; ++g)
      for (int64_t ci = 0; ci < cg; ++ci)
        for (int64_t r = 0; r < rows; ++r)
          wt_[static_cast<size_t>((g * rows + r) * cg + ci)] = wd[(g * cg + ci) * rows + r];
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32}));
    const Shape& xs = c.inputs[0]->shape;
    const size_t rank = one_d_ ? 3 : 4;
    if (xs.size() != rank)
      return InvalidArgument(c.where() + "X must have rank " + std::to_string(rank) + " to match W, got " + shape_str(xs));
    if (xs[1] != cin_)
      return InvalidArgument(c.where() + "X has " + std::to_string(xs[1]) + " channels, W expects " + std::to_string(cin_));
    const int64_t O = cout_g_ * group_;
    if (c.inputs.size() > 2 && c.inputs[2]) {
      QRT_RETURN_IF_ERROR(expect_dtype(c, 2, {DType::kF32}));
      if (c.inputs[2]->shape != Shape{O})
        return InvalidArgument(c.where() + "B must have shape [" + std::to_string(O) + "], got " +
                               shape_str(c.inputs[2]->shape));
    }
    auto plan = std::make_shared<ConvTPlan>();
    plan->H = one_d_ ? 1 : xs[2];
    plan->W = xs.back();
    const int64_t in[2] = {plan->H, plan->W}, s[2] = {sh_, sw_}, d[2] = {dh_, dw_}, k[2] = {kh_, kw_},
                  opd[2] = {oph_, opw_};
    int64_t out[2], begin[2];
    const size_t sp = one_d_ ? 1 : 2;
    for (size_t a = 0; a < 2; ++a) {
      const size_t ai = one_d_ ? 0 : a;  // index into the node's per-axis lists
      const int64_t full = s[a] * (in[a] - 1) + opd[a] + (k[a] - 1) * d[a] + 1;
      if (one_d_ && a == 0) {  // the unit height of a 1-D convolution
        out[a] = 1;
        begin[a] = 0;
        continue;
      }
      int64_t pb = pads_[ai], pe = pads_[ai + sp];
      int64_t target = -1;
      if (!out_shape_.empty()) target = out_shape_[ai];
      else if (auto_pad_ == "SAME_UPPER" || auto_pad_ == "SAME_LOWER") target = in[a] * s[a];
      if (auto_pad_ == "VALID" && out_shape_.empty()) pb = pe = 0;
      if (target >= 0) {
        // A target above what the windows cover (total < 0) pads the end with outputs that
        // only get the bias, as ONNX's reference does; halves round toward -inf there.
        const int64_t total = full - target;
        const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
        if (auto_pad_ == "SAME_UPPER") pb = half, pe = total - half;
        else pe = half, pb = total - half;
      }
      out[a] = full - pb - pe;
      begin[a] = pb;
      if (out[a] <= 0 || out[a] > (int64_t(1) << 31))
        return InvalidArgument(c.where() + "pads leave a spatial output of size " + std::to_string(out[a]));
    }
    plan->OH = out[0];
    plan->OW = out[1];
    plan->pt = begin[0];
    plan->pl = begin[1];
    Shape ys = {xs[0], O};
    if (!one_d_) ys.push_back(plan->OH);
    ys.push_back(plan->OW);
    c.outputs[0]->dtype = DType::kF32;
    c.outputs[0]->shape = ys;
    const size_t cols = static_cast<size_t>(cout_g_ * kh_ * kw_) * static_cast<size_t>(plan->H * plan->W);
    c.scratch_bytes = cols * sizeof(float);
    c.state = plan;
    return OkStatus();
  }

  bool foldable() const override { return false; }
  std::string kernel_name() const override { return "gemm_f32_nn+col2im"; }
  size_t packed_bytes() const override { return wt_.size() * sizeof(float); }

  Status run(const RunContext& c) const override {
    const ConvTPlan& p = *static_cast<const ConvTPlan*>(c.state);
    const Tensor& x = c.in(0);
    Tensor& y = c.out(0);
    const float* bias = c.has_in(2) ? c.in(2).as<float>() : nullptr;
    float* cols = static_cast<float*>(c.scratch);
    const int64_t N = x.shape[0], cg = cin_ / group_, rows = cout_g_ * kh_ * kw_, HW = p.H * p.W;
    const int64_t OHW = p.OH * p.OW;
    const float* xd = x.as<float>();
    float* yd = y.as<float>();
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t g = 0; g < group_; ++g) {
        const float* xg = xd + (n * cin_ + g * cg) * HW;
        const float* wg = wt_.data() + g * rows * cg;
        // cols [rows, HW] = Wt_g [rows, cg] x X_g [cg, HW]; pixel columns split over the pool.
        parallel_range(c.pool, static_cast<size_t>(HW), 256, [&](size_t b, size_t e) {
          kernels::gemm_f32_nn(static_cast<size_t>(rows), e - b, static_cast<size_t>(cg), wg,
                               static_cast<size_t>(cg), xg + b, static_cast<size_t>(HW), cols + b,
                               static_cast<size_t>(HW));
        });
        float* yg = yd + (n * cout_g_ * group_ + g * cout_g_) * OHW;
        parallel_range(c.pool, static_cast<size_t>(cout_g_ * p.OH), 4, [&](size_t b, size_t e) {
          for (size_t r = b; r < e; ++r) {
            const int64_t o = static_cast<int64_t>(r) / p.OH, oh = static_cast<int64_t>(r) % p.OH;
            float* yr = yg + o * OHW + oh * p.OW;
            const float b0 = bias ? bias[g * cout_g_ + o] : 0.f;
            for (int64_t ow = 0; ow < p.OW; ++ow) yr[ow] = b0;
            for (int64_t i = 0; i < kh_; ++i) {
              const int64_t th = oh + p.pt - i * dh_;
              if (th < 0 || th % sh_ != 0 || th / sh_ >= p.H) continue;
              const int64_t ih = th / sh_;
              for (int64_t j = 0; j < kw_; ++j) {
                const float* cr = cols + ((o * kh_ + i) * kw_ + j) * HW + ih * p.W;
                // ow with (ow + pl - j * dw) = iw * sw, 0 <= iw < W.
                const int64_t off = p.pl - j * dw_;
                int64_t ow0 = -off;
                if (ow0 < 0) ow0 += ((-ow0) + sw_ - 1) / sw_ * sw_;  // first ow >= 0 on the lattice
                for (int64_t ow = ow0, iw = (ow0 + off) / sw_; ow < p.OW && iw < p.W; ow += sw_, ++iw)
                  yr[ow] += cr[iw];
              }
            }
          }
        });
      }
    }
    return OkStatus();
  }

 private:
  int64_t group_ = 1, cin_ = 0, cout_g_ = 0, kh_ = 1, kw_ = 1, sh_ = 1, sw_ = 1, dh_ = 1, dw_ = 1;
  int64_t oph_ = 0, opw_ = 0;
  bool one_d_ = false;
  std::vector<int64_t> pads_, out_shape_;
  std::string auto_pad_;
  std::vector<float> wt_;
};

}  // namespace

void register_conv_transpose_ops(OpRegistry& r) { r.add("ConvTranspose", make_factory<ConvTransposeOp>()); }

}  // namespace qrt::rt::ops
