// Recurrent layers with ONNX semantics, f32: LSTM, GRU, RNN.
//   X [T, B, I] (layout 0) or [B, T, I] (layout 1); W [D, G·H, I] and R [D, G·H, H] constant
//   (packed at load; f32, or both f16 or both bf16: the fp16 / bf16 conversion modes, computed in
//   f32 on the rounded weights by the matching GEMM kernel); optional B [D, 2·G·H], sequence_lens [B] (s32), initial_h [D, B, H]
//   ([B, D, H] with layout 1), initial_c (LSTM) like initial_h, P [D, 3·H] (LSTM peepholes)
//   -> Y [T, D, B, H] ([B, T, D, H]), Y_h [D, B, H] ([B, D, H]), Y_c (LSTM) like Y_h.
// G = 4 (LSTM gates i, o, f, c), 3 (GRU z, r, h), 1 (RNN); D = 2 for direction "bidirectional".
// Attributes: direction, hidden_size (must match R), layout, clip (pre-activations clamped to
// [-clip, clip], peepholes included, as ONNX Runtime), activations, linear_before_reset (GRU),
// input_forget (LSTM: f = 1 - i). Activations: Sigmoid, Tanh, Relu in any slot; the others of
// the ONNX list (Affine, LeakyRelu, ...) are refused. The .qmodel format has no string-list
// attribute, so `activations` is one comma-separated string ("Sigmoid,Tanh,Tanh"); a list of one
// direction's activations serves both directions.
// sequence_lens: batch entry b runs len[b] steps (0 <= len[b] <= T; the reverse direction starts
// at len[b] - 1); Y is zero past len[b], Y_h / Y_c hold the state after its last step (the initial
// state when len[b] = 0, which ONNX Runtime refuses).
//
// The input projection X·Wᵀ + bias of every time step is one GEMM per direction ([T·B, I] x
// [I, G·H], rows split over the pool); each step then runs h·Rᵀ with the same fp32 GEMM kernel
// (M = B) and the gate arithmetic per batch row (sigmoid / tanh through vmath). The two
// directions of a bidirectional layer are independent and run on two threads when the session
// has them; a single direction splits each step's GEMM columns over the pool when it is large.
// The biases Wb + Rb fold into the projection, except GRU's Rbh with linear_before_reset = 1,
// which the reset gate multiplies: it is the bias of that step's h·R_hᵀ.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <tuple>

#include "kernels/gemm_f32.h"
#include "kernels/gemm_u8s8.h"
#include "kernels/quantize_u8.h"
#include "kernels/vmath.h"
#include "ops/common.h"
#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

enum class Cell { kLSTM, kGRU, kRNN };
enum class Act { kSigmoid, kTanh, kRelu };

const char* cell_name(Cell k) { return k == Cell::kLSTM ? "LSTM" : k == Cell::kGRU ? "GRU" : "RNN"; }

void apply(Act a, float* x, size_t n) {
  switch (a) {
    case Act::kSigmoid: kernels::vsigmoid(x, x, n); break;
    case Act::kTanh: kernels::vtanh(x, x, n); break;
    case Act::kRelu:  // a NaN stays NaN, as the Relu op
      for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0.f ? x[i] : (x[i] == x[i] ? 0.f : x[i]);
      break;
  }
}

// Byte offsets of one direction's scratch arrays (floats, each 64-byte aligned).
struct DirScratch {
  size_t proj = 0, h = 0, c = 0, gates = 0, gh = 0, tmp = 0, xbias = 0, rbias = 0, hq = 0, escale = 0,
         bytes = 0;
};

// Sizes are products of input dimensions: computed in 64 bits with an explicit overflow check
// so that a hostile shape gives an error, not a wrapped (too small) scratch size.
bool mul_ok(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > (uint64_t(1) << 62) / a) return false;
  *out = a * b;
  return true;
}

class RecurrentOp : public Op {
 public:
  explicit RecurrentOp(Cell k) : k_(k), g_(k == Cell::kLSTM ? 4 : k == Cell::kGRU ? 3 : 1) {}

  Status init(const CreateContext& c) {
    const size_t max_in = k_ == Cell::kLSTM ? 8 : 6, max_out = k_ == Cell::kLSTM ? 3 : 2;
    QRT_RETURN_IF_ERROR(check_arity(c, 3, max_in, 1, max_out));
    QRT_ASSIGN_OR_RETURN(std::string dir, c.attr_string("direction", "forward"));
    if (dir == "forward" || dir == "reverse") {
      d_ = 1;
      reverse_ = dir == "reverse";
    } else if (dir == "bidirectional") {
      d_ = 2;
    } else {
      return InvalidArgument(c.where() + "direction \"" + dir +
                             "\" is not forward, reverse or bidirectional");
    }
    QRT_ASSIGN_OR_RETURN(layout_, c.attr_int("layout", 0));
    if (layout_ != 0 && layout_ != 1)
      return InvalidArgument(c.where() + "layout " + std::to_string(layout_) + " is not 0 or 1");
    if (const format::AttrDef* a = c.node.attr("clip")) {
      if (a->type != format::AttrType::kFloat)
        return InvalidArgument(c.where() + "attribute 'clip' must be a float");
      if (!(a->f > 0.f))
        return InvalidArgument(c.where() + "clip must be positive, got " + std::to_string(a->f));
      clip_ = a->f;
      has_clip_ = true;
    }
    if (k_ == Cell::kGRU) {
      QRT_ASSIGN_OR_RETURN(int64_t lbr, c.attr_int("linear_before_reset", 0));
      if (lbr != 0 && lbr != 1)
        return InvalidArgument(c.where() + "linear_before_reset must be 0 or 1, got " + std::to_string(lbr));
      lbr_ = lbr == 1;
    }
    if (k_ == Cell::kLSTM) {
      QRT_ASSIGN_OR_RETURN(int64_t inf, c.attr_int("input_forget", 0));
      if (inf != 0 && inf != 1)
        return InvalidArgument(c.where() + "input_forget must be 0 or 1, got " + std::to_string(inf));
      input_forget_ = inf == 1;
    }
    QRT_RETURN_IF_ERROR(parse_activations(c));

    const format::TensorDef* w = c.input(1);
    const format::TensorDef* r = c.input(2);
    for (auto [t, name] : {std::pair{w, "W (input 1)"}, std::pair{r, "R (input 2)"}}) {
      if (!t->is_constant || (!t->data && shape_numel(t->shape) != 0))
        return Unsupported(c.where() + name + " must be a constant (weights are packed at load)");
      if (t->dtype != DType::kF32 && t->dtype != DType::kF16 && t->dtype != DType::kBF16 && t->dtype != DType::kS8)
        return Unsupported(c.where() + name + " of dtype " + dt_name(t->dtype) + " (f32, f16, bf16 or s8)");
      if (t->shape.size() != 3)
        return InvalidArgument(c.where() + name + " must have rank 3, got " + shape_str(t->shape));
    }
    const int64_t gates = g_;
    QRT_ASSIGN_OR_RETURN(int64_t hs, c.attr_int("hidden_size", r->shape[2]));
    if (hs < 1 || hs > (int64_t(1) << 24))
      return InvalidArgument(c.where() + "hidden_size " + std::to_string(hs) + " is not in [1, 2^24]");
    h_ = hs;
    const Shape r_want = {d_, gates * h_, h_};
    if (r->shape != r_want)
      return InvalidArgument(c.where() + "R (input 2) must have shape " + shape_str(r_want) +
                             " (num_directions, " + std::to_string(gates) + "·hidden_size, hidden_size), got " +
                             shape_str(r->shape));
    if (w->shape[0] != d_ || w->shape[1] != gates * h_ || w->shape[2] < 0)
      return InvalidArgument(c.where() + "W (input 1) must have shape [" + std::to_string(d_) + ", " +
                             std::to_string(gates * h_) + ", input_size], got " + shape_str(w->shape));
    i_ = w->shape[2];
    // One GEMM kernel packs and runs both (the f16 / bf16 kernels widen the weights to f32 in
    // the micro-kernel: same f32 arithmetic on the rounded weights). Not the bf16 kernels that
    // round A (vdpbf16ps, AMX): the state feeds every later step, so its rounding would compound
    // over the sequence, and at the few rows of a step they are not faster.
    if (w->dtype != r->dtype)
      return Unsupported(c.where() + "W and R must have one dtype, got " + dt_name(w->dtype) + " and " +
                         dt_name(r->dtype));

    if (w->dtype == DType::kS8) return init_s8(c, w, r);
    const kernels::GemmF32Kernel& k = kernels::select_gemm_f32_exact_a(w->dtype);
    gemm_ = &k;
    pack_dirs(k, w, r);
    return OkStatus();
  }

  // W and R of every direction packed for kernel k (GemmF32Kernel or GemmU8S8Kernel). GRU: the
  // h gate's rows multiply r ⊙ h (or are scaled by r afterwards), so they are their own GEMM;
  // the z and r rows share one.
  static const void* weights_arg(const uint8_t* p, const kernels::GemmF32Kernel&) { return p; }
  static const int8_t* weights_arg(const uint8_t* p, const kernels::GemmU8S8Kernel&) {
    return reinterpret_cast<const int8_t*>(p);
  }
  template <class Kernel>
  void pack_dirs(const Kernel& k, const format::TensorDef* w, const format::TensorDef* r) {
    const size_t GH = static_cast<size_t>(g_ * h_), H = static_cast<size_t>(h_), I = static_cast<size_t>(i_);
    const size_t esz = format::dtype_size(w->dtype);
    const uint8_t* wd = static_cast<const uint8_t*>(w->data);
    const uint8_t* rd = static_cast<const uint8_t*>(r->data);
    for (int64_t d = 0; d < d_; ++d) {
      PackedDir pd;
      if (I > 0) {
        pd.w = PackedBuffer(k.packed_size(GH, I));
        k.pack(GH, I, weights_arg(wd + d * GH * I * esz, k), I, pd.w.p);
      }
      const uint8_t* rdd = rd + d * GH * H * esz;
      const size_t nr = k_ == Cell::kGRU ? 2 * H : GH;
      pd.r = PackedBuffer(k.packed_size(nr, H));
      k.pack(nr, H, weights_arg(rdd, k), H, pd.r.p);
      if (k_ == Cell::kGRU) {
        pd.rh = PackedBuffer(k.packed_size(H, H));
        k.pack(H, H, weights_arg(rdd + 2 * H * H * esz, k), H, pd.rh.p);
      }
      packed_bytes_ += pd.w.n + pd.r.n + pd.rh.n;
      dirs_.push_back(std::move(pd));
    }
  }

  // s8 W and R (the int8 modes): symmetric, zero points 0, one scale per tensor or one per row
  // of G·H (axis 1, shared by the two directions). Every product then quantizes its f32 input
  // (X for the projection, the state h — or r ⊙ h for GRU's h gate — at each step) to u8 with
  // one (scale, zero point) from its live range, as int8-dynamic Dense does, and the GEMM's
  // dequantizing epilogue returns f32: the gate arithmetic is unchanged.
  Status init_s8(const CreateContext& c, const format::TensorDef* w, const format::TensorDef* r) {
    const size_t GH = static_cast<size_t>(g_ * h_), H = static_cast<size_t>(h_), I = static_cast<size_t>(i_);
    for (auto [t, name, sc] : {std::tuple{w, "W (input 1)", &wscale_}, std::tuple{r, "R (input 2)", &rscale_}}) {
      const format::QuantParams& q = t->quant;
      if (q.scales.size() != 1 && !(q.scales.size() == GH && q.axis == 1))
        return InvalidArgument(c.where() + "s8 " + name + " needs one scale, or " + std::to_string(GH) +
                               " along axis 1, got " + std::to_string(q.scales.size()));
      for (int32_t z : q.zero_points)
        if (z != 0) return InvalidArgument(c.where() + "s8 " + name + " must be symmetric (zero point 0)");
      for (float v : q.scales)
        if (!(v > 0.f) || !std::isfinite(v))
          return InvalidArgument(c.where() + "s8 " + name + " has a scale that is not finite and positive");
      sc->assign(GH, q.scales[0]);
      if (q.scales.size() == GH) sc->assign(q.scales.begin(), q.scales.end());
    }
    const kernels::GemmU8S8Kernel& k = kernels::select_gemm_u8s8();
    qk_ = &k;
    pack_dirs(k, w, r);
    // Weights that all fit a faster variant's narrower range (the converter's weight_bits=7) run
    // on it; the packed layout is the same (as LinearWeights does for Dense).
    if (k.narrow) {
      bool all = true;
      for (const PackedDir& pd : dirs_) {
        const int lim = k.narrow->b_abs_max;
        all = all && (I == 0 || kernels::packed_b_within(k, pd.w.p, GH, I, lim)) &&
              kernels::packed_b_within(k, pd.r.p, k_ == Cell::kGRU ? 2 * H : GH, H, lim) &&
              (k_ != Cell::kGRU || kernels::packed_b_within(k, pd.rh.p, H, H, lim));
      }
      if (all) qk_ = k.narrow;
    }
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    const std::string w = c.where();
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32}));
    const Shape& xs = c.inputs[0]->shape;
    if (xs.size() != 3)
      return InvalidArgument(w + "X (input 0) must have rank 3 (" +
                             (layout_ ? "batch, seq_length, input_size" : "seq_length, batch, input_size") +
                             "), got " + shape_str(xs));
    const int64_t T = layout_ ? xs[1] : xs[0], B = layout_ ? xs[0] : xs[1];
    if (xs[2] != i_)
      return InvalidArgument(w + "X (input 0) " + shape_str(xs) + " has input_size " + std::to_string(xs[2]) +
                             ", W expects " + std::to_string(i_));
    const Shape state = layout_ ? Shape{B, d_, h_} : Shape{d_, B, h_};
    auto has = [&](size_t i) { return c.inputs.size() > i && c.inputs[i] != nullptr; };
    auto check_f32 = [&](size_t i, const char* name, const Shape& want) -> Status {
      if (!has(i)) return OkStatus();
      QRT_RETURN_IF_ERROR(expect_dtype(c, i, {DType::kF32}));
      if (c.inputs[i]->shape != want)
        return InvalidArgument(w + name + " must have shape " + shape_str(want) + ", got " +
                               shape_str(c.inputs[i]->shape));
      return OkStatus();
    };
    QRT_RETURN_IF_ERROR(check_f32(3, "B (input 3)", {d_, 2 * g_ * h_}));
    if (has(4)) {
      QRT_RETURN_IF_ERROR(expect_dtype(c, 4, {DType::kS32}, /*onnx_forbids=*/true));
      if (c.inputs[4]->shape != Shape{B})
        return InvalidArgument(w + "sequence_lens (input 4) must have shape " + shape_str({B}) + ", got " +
                               shape_str(c.inputs[4]->shape));
    }
    QRT_RETURN_IF_ERROR(check_f32(5, "initial_h (input 5)", state));
    if (k_ == Cell::kLSTM) {
      QRT_RETURN_IF_ERROR(check_f32(6, "initial_c (input 6)", state));
      QRT_RETURN_IF_ERROR(check_f32(7, "P (input 7)", {d_, 3 * h_}));
    }
    const Shape y = layout_ ? Shape{B, T, d_, h_} : Shape{T, d_, B, h_};
    for (size_t o = 0; o < c.outputs.size(); ++o) {
      c.outputs[o]->dtype = DType::kF32;
      c.outputs[o]->shape = o == 0 ? y : state;
    }
    DirScratch ds;
    if (!dir_scratch(static_cast<uint64_t>(T), static_cast<uint64_t>(B), &ds))
      return InvalidArgument(w + "X " + shape_str(xs) + " with hidden_size " + std::to_string(h_) +
                             " needs more scratch memory than can be addressed");
    uint64_t xq = 0;
    if (qk_ && !shared_q_bytes(static_cast<uint64_t>(T), static_cast<uint64_t>(B), &xq))
      return InvalidArgument(w + "X " + shape_str(xs) + " needs more scratch memory than can be addressed");
    c.scratch_bytes = static_cast<size_t>(ds.bytes) * static_cast<size_t>(d_) +
                      (static_cast<size_t>(B) * sizeof(int64_t) + 63) / 64 * 64 + static_cast<size_t>(xq);
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    const int64_t T = layout_ ? x.shape[1] : x.shape[0], B = layout_ ? x.shape[0] : x.shape[1];
    DirScratch ds;
    dir_scratch(static_cast<uint64_t>(T), static_cast<uint64_t>(B), &ds);  // checked by infer
    auto* base = static_cast<uint8_t*>(c.scratch);
    int64_t* lens = reinterpret_cast<int64_t*>(base + ds.bytes * static_cast<size_t>(d_));
    const bool has_lens = c.has_in(4);
    for (int64_t b = 0; b < B; ++b) {
      lens[b] = has_lens ? c.in(4).as<int32_t>()[b] : T;
      if (lens[b] < 0 || lens[b] > T)
        return InvalidArgument("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(lens[b]) +
                               " is outside [0, " + std::to_string(T) + "] (seq_length)");
    }
    uint8_t* shared = base + ds.bytes * static_cast<size_t>(d_) + (static_cast<size_t>(B) * sizeof(int64_t) + 63) / 64 * 64;
    Run r{c, x.as<float>(), T, B, lens, shared};
    for (int64_t d = 0; d < d_; ++d) prepare_bias(r, d, dir(base, ds, d));
    if (T > 0 && B > 0) QRT_RETURN_IF_ERROR(project(r, base, ds));
    const bool split_dirs = d_ == 2 && c.pool->threads() > 1;
    if (split_dirs) {
      Status st[2];
      c.pool->parallel_for(2, [&](size_t d) { st[d] = recur(r, static_cast<int64_t>(d), dir(base, ds, d), nullptr); });
      QRT_RETURN_IF_ERROR(st[0]);
      QRT_RETURN_IF_ERROR(st[1]);
    } else {
      for (int64_t d = 0; d < d_; ++d) QRT_RETURN_IF_ERROR(recur(r, d, dir(base, ds, d), c.pool));
    }
    return OkStatus();
  }

  std::string kernel_name() const override { return gemm_ ? gemm_->name : qk_ ? qk_->name : ""; }
  size_t packed_bytes() const override { return packed_bytes_; }

 private:
  struct PackedDir {
    PackedBuffer w, r, rh;
  };
  struct Dir {
    float *proj, *h, *c, *gates, *gh, *tmp, *xbias, *rbias;
    uint8_t* hq;    // s8 weights: the step's quantized GEMM input [B, H]
    float* escale;  // s8 weights: the step's epilogue scales [G·H]
  };
  struct Run {
    const RunContext& c;
    const float* x;
    int64_t T, B;
    const int64_t* lens;  // [B], T when the input is absent
    uint8_t* shared;      // s8 weights: quantized X [T·B, I], then its epilogue scales [G·H]
  };

  // s8 weights: X quantized once for both directions, and the projection's epilogue scales.
  bool shared_q_bytes(uint64_t T, uint64_t B, uint64_t* bytes) const {
    uint64_t tb = 0, n = 0;
    if (!mul_ok(T, B, &tb) || !mul_ok(tb, static_cast<uint64_t>(i_), &n)) return false;
    *bytes = (n + 63) / 64 * 64 + (static_cast<uint64_t>(g_ * h_) * 4 + 63) / 64 * 64;
    return *bytes <= (uint64_t(1) << 46);
  }

  bool dir_scratch(uint64_t T, uint64_t B, DirScratch* s) const {
    const uint64_t H = static_cast<uint64_t>(h_), GH = static_cast<uint64_t>(g_) * H;
    uint64_t off = 0, n = 0, tb = 0;
    auto take = [&](uint64_t floats, size_t* at) {
      *at = static_cast<size_t>(off);
      off += (floats * 4 + 63) / 64 * 64;
    };
    if (!mul_ok(T, B, &tb) || !mul_ok(tb, GH, &n)) return false;
    take(n, &s->proj);
    if (!mul_ok(B, GH, &n)) return false;
    take(B * H, &s->h);
    take(k_ == Cell::kLSTM ? B * H : 0, &s->c);
    take(k_ == Cell::kGRU ? 2 * B * H : n, &s->gates);
    take(k_ == Cell::kGRU ? B * H : 0, &s->gh);
    take(k_ == Cell::kGRU ? B * H : 0, &s->tmp);
    take(GH, &s->xbias);
    take(H, &s->rbias);
    take(qk_ ? (B * H + 3) / 4 : 0, &s->hq);
    take(qk_ ? GH : 0, &s->escale);
    if (off > (uint64_t(1) << 46)) return false;
    s->bytes = static_cast<size_t>(off);
    return true;
  }

  static Dir dir(uint8_t* base, const DirScratch& s, size_t d) {
    uint8_t* p = base + s.bytes * d;
    auto f = [p](size_t off) { return reinterpret_cast<float*>(p + off); };
    return {f(s.proj), f(s.h), f(s.c), f(s.gates), f(s.gh), f(s.tmp), f(s.xbias), f(s.rbias), p + s.hq, f(s.escale)};
  }

  // xbias: what the projection adds (Wb + Rb, but only Wbh for GRU's h gate when
  // linear_before_reset); rbias: GRU's Rbh in that case.
  void prepare_bias(const Run& r, int64_t d, const Dir& s) const {
    const size_t H = static_cast<size_t>(h_), GH = static_cast<size_t>(g_) * H;
    if (!r.c.has_in(3)) {
      std::fill(s.xbias, s.xbias + GH, 0.f);
      std::fill(s.rbias, s.rbias + H, 0.f);
      return;
    }
    const float* wb = r.c.in(3).as<float>() + static_cast<size_t>(d) * 2 * GH;
    const float* rb = wb + GH;
    for (size_t j = 0; j < GH; ++j) s.xbias[j] = wb[j] + rb[j];
    if (k_ == Cell::kGRU && lbr_) {
      for (size_t j = 0; j < H; ++j) {
        s.xbias[2 * H + j] = wb[2 * H + j];
        s.rbias[j] = rb[2 * H + j];
      }
    } else {
      std::fill(s.rbias, s.rbias + H, 0.f);
    }
  }

  // u8 q = quantized a [n] with one (scale, zero point) from its range; false on NaN / Inf.
  static bool quantize_dynamic(const float* a, size_t n, uint8_t* q, float* scale, int32_t* zp) {
    const kernels::QuantizeU8Kernel& qz = kernels::select_quantize_u8();
    float lo = 0.f, hi = 0.f;
    if (n && !qz.minmax(a, n, &lo, &hi)) return false;
    kernels::choose_u8_params(std::min(lo, 0.f), std::max(hi, 0.f), scale, zp);
    if (n) qz.quantize(a, n, *scale, *zp, q);
    return true;
  }
  static kernels::GemmU8S8Epilogue dequant_epilogue(int32_t zp, const float* scale, const float* bias) {
    kernels::GemmU8S8Epilogue ep;
    ep.kind = kernels::GemmU8S8Epilogue::Kind::kDequantF32;
    ep.a_zero_point = zp;
    ep.scale = scale;
    ep.bias_f32 = bias;
    return ep;
  }

  // proj[row] = X[row]·Wᵀ + xbias for all T·B rows of every direction (rows in X's order).
  Status project(const Run& r, uint8_t* base, const DirScratch& ds) const {
    const size_t M = static_cast<size_t>(r.T * r.B), N = static_cast<size_t>(g_ * h_), K = static_cast<size_t>(i_);
    const size_t threads = static_cast<size_t>(r.c.pool->threads());
    kernels::GemmU8S8Epilogue ep;
    if (qk_) {
      float sx;
      int32_t zx;
      float* escale = reinterpret_cast<float*>(r.shared + (M * K + 63) / 64 * 64);
      if (!quantize_dynamic(r.x, M * K, r.shared, &sx, &zx))
        return InvalidArgument(std::string(cell_name(k_)) + ": X contains NaN or Inf; s8 weights cannot choose its range");
      for (size_t n = 0; n < N; ++n) escale[n] = sx * wscale_[n];
      ep = dequant_epilogue(zx, escale, nullptr);
    }
    // Row blocks of at least ~64K multiply-adds, enough of them to feed the pool.
    size_t mb = M;
    if (threads > 1) {
      const size_t min_rows = std::max<size_t>(1, 65536 / std::max<size_t>(N * std::max<size_t>(K, 1), 1));
      mb = std::max(min_rows, (M + threads * 2 - 1) / (threads * 2));
    }
    const size_t blocks = (M + mb - 1) / mb;
    auto task = [&](size_t t) {
      const size_t d = t / blocks, m0 = (t % blocks) * mb, m1 = std::min(M, m0 + mb);
      const Dir s = dir(base, ds, d);
      if (K == 0) {
        for (size_t m = m0; m < m1; ++m) std::memcpy(s.proj + m * N, s.xbias, N * sizeof(float));
        return;
      }
      if (qk_) {
        kernels::GemmU8S8Epilogue e = ep;
        e.bias_f32 = s.xbias;
        qk_->run(M, N, K, r.shared, K, dirs_[d].w.p, e, s.proj, N, m0, m1, 0, N);
        return;
      }
      gemm_->run(M, N, K, r.x, K, dirs_[d].w.p, s.xbias, -INFINITY, INFINITY, s.proj, N, m0, m1, 0, N);
    };
    const size_t tasks = blocks * static_cast<size_t>(d_);
    if (tasks == 1) task(0);
    else r.c.pool->parallel_for(tasks, task);
    return OkStatus();
  }

  // C[B, N] = A[B, K]·Wᵀ + bias; columns split over `pool` (null: inline) when the product is
  // large enough to pay for the hand-off (each step of a long sequence calls this).
  // s8 weights: rows [row0, row0 + N) of R, whose scales start at rscale_[row0]; A is quantized
  // into s.hq first (false: A holds NaN or Inf).
  bool step_gemm(ThreadPool* pool, size_t M, size_t N, size_t K, const float* A, const void* packed,
                 const float* bias, float* C, const Dir& s, size_t row0) const {
    const size_t threads = pool ? static_cast<size_t>(pool->threads()) : 1;
    const size_t nr = static_cast<size_t>(qk_ ? qk_->nr : gemm_->nr);
    kernels::GemmU8S8Epilogue ep;
    if (qk_) {
      float sa;
      int32_t za;
      if (!quantize_dynamic(A, M * K, s.hq, &sa, &za)) return false;
      for (size_t n = 0; n < N; ++n) s.escale[n] = sa * rscale_[row0 + n];
      ep = dequant_epilogue(za, s.escale, bias);
    }
    auto part = [&](size_t n0, size_t n1) {
      if (qk_) qk_->run(M, N, K, s.hq, K, packed, ep, C, N, 0, M, n0, n1);
      else gemm_->run(M, N, K, A, K, packed, bias, -INFINITY, INFINITY, C, N, 0, M, n0, n1);
    };
    if (threads <= 1 || M * N * K < 262144 || N < 2 * nr) {
      part(0, N);
      return true;
    }
    const size_t parts = std::min(threads, (N + nr - 1) / nr);
    pool->parallel_for(parts, [&](size_t p) {
      size_t n0, n1;
      split_range(N, parts, nr, p, &n0, &n1);
      if (n0 < n1) part(n0, n1);
    });
    return true;
  }

  float clamp(float v) const { return std::min(std::max(v, -clip_), clip_); }
  void clip_row(float* v, size_t n) const {
    if (has_clip_)
      for (size_t i = 0; i < n; ++i) v[i] = clamp(v[i]);
  }

  // One direction over all time steps.
  Status recur(const Run& r, int64_t d, const Dir& s, ThreadPool* pool) const {
    const Status nonfinite = InvalidArgument(std::string(cell_name(k_)) +
                                             ": the state contains NaN or Inf; s8 weights cannot choose its range");
    const RunContext& c = r.c;
    const int64_t T = r.T, B = r.B, D = d_;
    const size_t H = static_cast<size_t>(h_), GH = static_cast<size_t>(g_) * H, Bz = static_cast<size_t>(B);
    const bool rev = reverse_ || d == 1;
    const PackedDir& pk = dirs_[static_cast<size_t>(d)];
    const Act* act = acts_.data() + static_cast<size_t>(d) * acts_per_dir();
    auto state_at = [&](int64_t b) { return static_cast<size_t>(layout_ ? b * D + d : d * B + b) * H; };
    auto y_at = [&](int64_t t, int64_t b) {
      return static_cast<size_t>(layout_ ? (b * T + t) * D + d : (t * D + d) * B + b) * H;
    };
    auto row_at = [&](int64_t t, int64_t b) { return static_cast<size_t>(layout_ ? b * T + t : t * B + b); };
    float* y = c.out(0).as<float>();
    for (int64_t b = 0; b < B; ++b) {
      float* h = s.h + static_cast<size_t>(b) * H;
      if (c.has_in(5)) std::memcpy(h, c.in(5).as<float>() + state_at(b), H * sizeof(float));
      else std::fill(h, h + H, 0.f);
      if (k_ == Cell::kLSTM) {
        float* cs = s.c + static_cast<size_t>(b) * H;
        if (c.has_in(6)) std::memcpy(cs, c.in(6).as<float>() + state_at(b), H * sizeof(float));
        else std::fill(cs, cs + H, 0.f);
      }
    }
    const float* P = k_ == Cell::kLSTM && c.has_in(7) ? c.in(7).as<float>() + static_cast<size_t>(d) * 3 * H : nullptr;
    for (int64_t st = 0; st < T && B > 0; ++st) {
      auto active = [&](int64_t b) { return st < r.lens[b]; };
      auto time_of = [&](int64_t b) { return rev ? r.lens[b] - 1 - st : st; };
      if (k_ == Cell::kLSTM) {
        if (!step_gemm(pool, Bz, GH, H, s.h, pk.r.p, nullptr, s.gates, s, 0)) return nonfinite;
        for (int64_t b = 0; b < B; ++b) {
          if (!active(b)) continue;
          const int64_t t = time_of(b);
          float* g = s.gates + static_cast<size_t>(b) * GH;
          const float* xp = s.proj + row_at(t, b) * GH;
          float* h = s.h + static_cast<size_t>(b) * H;
          float* cs = s.c + static_cast<size_t>(b) * H;
          for (size_t j = 0; j < GH; ++j) g[j] += xp[j];
          float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
          if (P)
            for (size_t j = 0; j < H; ++j) gi[j] += P[j] * cs[j];
          clip_row(gi, H);
          apply(act[0], gi, H);
          if (input_forget_) {
            for (size_t j = 0; j < H; ++j) gf[j] = 1.f - gi[j];
          } else {
            if (P)
              for (size_t j = 0; j < H; ++j) gf[j] += P[2 * H + j] * cs[j];
            clip_row(gf, H);
            apply(act[0], gf, H);
          }
          clip_row(gc, H);
          apply(act[1], gc, H);
          for (size_t j = 0; j < H; ++j) cs[j] = gf[j] * cs[j] + gi[j] * gc[j];
          if (P)
            for (size_t j = 0; j < H; ++j) go[j] += P[H + j] * cs[j];
          clip_row(go, H);
          apply(act[0], go, H);
          std::memcpy(h, cs, H * sizeof(float));
          apply(act[2], h, H);
          for (size_t j = 0; j < H; ++j) h[j] *= go[j];
          std::memcpy(y + y_at(t, b), h, H * sizeof(float));
        }
      } else if (k_ == Cell::kRNN) {
        if (!step_gemm(pool, Bz, H, H, s.h, pk.r.p, nullptr, s.gates, s, 0)) return nonfinite;
        for (int64_t b = 0; b < B; ++b) {
          if (!active(b)) continue;
          const int64_t t = time_of(b);
          float* g = s.gates + static_cast<size_t>(b) * H;
          const float* xp = s.proj + row_at(t, b) * H;
          for (size_t j = 0; j < H; ++j) g[j] += xp[j];
          clip_row(g, H);
          apply(act[0], g, H);
          std::memcpy(s.h + static_cast<size_t>(b) * H, g, H * sizeof(float));
          std::memcpy(y + y_at(t, b), g, H * sizeof(float));
        }
      } else {
        // GRU: z, r from one GEMM; the h gate needs r first when linear_before_reset = 0.
        if (!step_gemm(pool, Bz, 2 * H, H, s.h, pk.r.p, nullptr, s.gates, s, 0)) return nonfinite;
        if (lbr_ && !step_gemm(pool, Bz, H, H, s.h, pk.rh.p, s.rbias, s.gh, s, 2 * H)) return nonfinite;
        for (int64_t b = 0; b < B; ++b) {
          float* tmp = s.tmp + static_cast<size_t>(b) * H;
          if (!active(b)) {
            if (!lbr_) std::fill(tmp, tmp + H, 0.f);  // its row of the next GEMM is discarded
            continue;
          }
          const int64_t t = time_of(b);
          float* g = s.gates + static_cast<size_t>(b) * 2 * H;
          const float* xp = s.proj + row_at(t, b) * GH;
          for (size_t j = 0; j < 2 * H; ++j) g[j] += xp[j];
          clip_row(g, 2 * H);
          apply(act[0], g, 2 * H);  // z and r
          if (!lbr_) {
            const float* h = s.h + static_cast<size_t>(b) * H;
            for (size_t j = 0; j < H; ++j) tmp[j] = g[H + j] * h[j];
          }
        }
        if (!lbr_ && !step_gemm(pool, Bz, H, H, s.tmp, pk.rh.p, nullptr, s.gh, s, 2 * H)) return nonfinite;
        for (int64_t b = 0; b < B; ++b) {
          if (!active(b)) continue;
          const int64_t t = time_of(b);
          const float* z = s.gates + static_cast<size_t>(b) * 2 * H;
          const float* rg = z + H;
          const float* xp = s.proj + row_at(t, b) * GH + 2 * H;
          float* gh = s.gh + static_cast<size_t>(b) * H;
          float* h = s.h + static_cast<size_t>(b) * H;
          if (lbr_) {
            for (size_t j = 0; j < H; ++j) gh[j] = xp[j] + rg[j] * gh[j];
          } else {
            for (size_t j = 0; j < H; ++j) gh[j] += xp[j];
          }
          clip_row(gh, H);
          apply(act[1], gh, H);
          for (size_t j = 0; j < H; ++j) h[j] = (1.f - z[j]) * gh[j] + z[j] * h[j];
          std::memcpy(y + y_at(t, b), h, H * sizeof(float));
        }
      }
    }
    // Steps past a sequence's length produce zeros.
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = r.lens[b]; t < T; ++t) std::fill(y + y_at(t, b), y + y_at(t, b) + H, 0.f);
    for (int64_t b = 0; b < B; ++b) {
      if (c.num_outputs > 1)
        std::memcpy(c.out(1).as<float>() + state_at(b), s.h + static_cast<size_t>(b) * H, H * sizeof(float));
      if (c.num_outputs > 2)
        std::memcpy(c.out(2).as<float>() + state_at(b), s.c + static_cast<size_t>(b) * H, H * sizeof(float));
    }
    return OkStatus();
  }

  size_t acts_per_dir() const { return k_ == Cell::kLSTM ? 3 : k_ == Cell::kGRU ? 2 : 1; }

  Status parse_activations(const CreateContext& c) {
    const size_t per = acts_per_dir();
    std::vector<Act> def = k_ == Cell::kLSTM ? std::vector<Act>{Act::kSigmoid, Act::kTanh, Act::kTanh}
                           : k_ == Cell::kGRU ? std::vector<Act>{Act::kSigmoid, Act::kTanh}
                                              : std::vector<Act>{Act::kTanh};
    QRT_ASSIGN_OR_RETURN(std::string spec, c.attr_string("activations", ""));
    std::vector<Act> got;
    if (!spec.empty()) {
      size_t pos = 0;
      while (true) {
        size_t e = spec.find(',', pos);
        std::string name = spec.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
        std::string low;
        for (char ch : name) low += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (low == "sigmoid") got.push_back(Act::kSigmoid);
        else if (low == "tanh") got.push_back(Act::kTanh);
        else if (low == "relu") got.push_back(Act::kRelu);
        else
          return Unsupported(c.where() + "activation \"" + name +
                             "\" is not supported (qrt runs Sigmoid, Tanh and Relu in recurrent layers)");
        if (e == std::string::npos) break;
        pos = e + 1;
      }
    }
    if (got.empty()) got = def;
    if (got.size() == per && d_ == 2) {
      const std::vector<Act> one = got;
      got.insert(got.end(), one.begin(), one.end());
    }
    if (got.size() != per * static_cast<size_t>(d_))
      return InvalidArgument(c.where() + "activations \"" + spec + "\" has " + std::to_string(got.size()) +
                             " entries, expected " + std::to_string(per * static_cast<size_t>(d_)) + " (" +
                             std::to_string(per) + " per direction for " + cell_name(k_) + ")");
    acts_ = std::move(got);
    return OkStatus();
  }

  Cell k_;
  int64_t g_;
  int64_t d_ = 1, h_ = 0, i_ = 0, layout_ = 0;
  bool reverse_ = false, has_clip_ = false, lbr_ = false, input_forget_ = false;
  float clip_ = 0.f;
  std::vector<Act> acts_;
  const kernels::GemmF32Kernel* gemm_ = nullptr;
  const kernels::GemmU8S8Kernel* qk_ = nullptr;  // s8 W and R
  std::vector<float> wscale_, rscale_;            // their scales per row of G·H
  std::vector<PackedDir> dirs_;
  size_t packed_bytes_ = 0;
};

}  // namespace

void register_rnn_ops(OpRegistry& r) {
  r.add("LSTM", make_factory<RecurrentOp>(Cell::kLSTM));
  r.add("GRU", make_factory<RecurrentOp>(Cell::kGRU));
  r.add("RNN", make_factory<RecurrentOp>(Cell::kRNN));
}

}  // namespace qrt::rt::ops
