// Dense: Y[..., N] = act(X[..., K] · W[N, K]^T + B[N]). The kernel family is chosen from the
// dtypes of X and W (docs/ARCHITECTURE.md): f32 × f32/f16/bf16 (float GEMM), u8 × s8 with a u8
// output (static int8, requantized in the GEMM epilogue), f32 × s8 (int8-dynamic: X quantized per
// run, the GEMM dequantizes to f32) and f32 × s8 with weight_only=1 (weights dequantized at load).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/checks.h"
#include "cpu/features.h"
#include "format/weight_layout.h"
#include "kernels/gemm_f32.h"
#include "kernels/gemm_u8s8.h"
#include "kernels/quantize_u8.h"
#include "ops/common.h"
#include "ops/dense_conv.h"

namespace qrt::rt {

bool kernel_reads_layout(const kernels::GemmU8S8Kernel& k, const format::TensorDef& w) {
  return w.layout == format::WeightLayout::kC4 && k.isa != cpu::Isa::kRef &&
         static_cast<uint32_t>(k.nr) == w.layout_nr;
}

bool weights_in_place(const CreateContext& c, const format::TensorDef& w,
                      const kernels::GemmU8S8Kernel& k, size_t N, size_t K) {
  if (!kernel_reads_layout(k, w) || !c.image_end) return false;
  uint64_t wn = 0, wk = 0;
  if (!format::c4_matrix_dims(w.shape, &wn, &wk) || wn != N || wk != K) return false;
  // The kernel may read past the layout's end (packed_size includes that slack): those bytes
  // must be inside the image. Writers leave kPackedTailBytes after the last packed tensor.
  const size_t need = k.packed_size(N, K);
  return w.data <= c.image_end && need <= static_cast<size_t>(c.image_end - w.data);
}

Status LinearWeights::init(const CreateContext& c, const format::TensorDef* x,
                           const format::TensorDef* w, const format::TensorDef* b, size_t n,
                           size_t k, bool weight_only, const format::QuantParams* wq_in,
                           bool pack) {
  N = n;
  K = k;
  if (!w || !w->is_constant) return Unsupported(c.where() + "weights must be a constant");
  if (!x) return InvalidArgument(c.where() + "input X is missing");
  QRT_ASSIGN_OR_RETURN(act, parse_activation(c));
  const DType wd = w->dtype, xd = x->dtype;
  if (b && !b->is_constant) return Unsupported(c.where() + "bias must be a constant");
  if (b && static_cast<size_t>(shape_numel(b->shape)) != N)
    return InvalidArgument(c.where() + "bias has " + std::to_string(shape_numel(b->shape)) +
                           " elements, expected " + std::to_string(N));

  if (wd == DType::kF32 || wd == DType::kF16 || wd == DType::kBF16) {
    if (xd != DType::kF32)
      return Unsupported(c.where() + "float weights need an f32 input, got " +
                         format::dtype_name(xd));
    mode = Mode::kFloat;
    if (b && b->dtype != DType::kF32) return InvalidArgument(c.where() + "bias must be f32");
    fk = &kernels::select_gemm_f32(wd);
    if (pack) {
      packed = PackedBuffer(fk->packed_size(N, K));
      fk->pack(N, K, w->data, K, packed.p);
    }
    if (b) bias_f32.assign(reinterpret_cast<const float*>(b->data),
                           reinterpret_cast<const float*>(b->data) + N);
    return OkStatus();
  }
  if (wd != DType::kS8)
    return Unsupported(c.where() + "weights of dtype " + format::dtype_name(wd) +
                       " are not supported (f32, f16, bf16, s8)");
  // s8 weights: symmetric, per output channel (axis 0) or per tensor.
  const auto& wq = wq_in ? *wq_in : w->quant;
  if (wq.scales.empty())
    return InvalidArgument(c.where() + "s8 weights '" + w->name + "' carry no scales");
  if (!(wq.scales.size() == 1 || (wq.axis == 0 && wq.scales.size() == N)))
    return InvalidArgument(c.where() + "weights '" + w->name + "' need 1 or " +
                           std::to_string(N) + " scales along axis 0, found " +
                           std::to_string(wq.scales.size()) + " along axis " +
                           std::to_string(wq.axis));
  for (int32_t z : wq.zero_points)
    if (z != 0)
      return Unsupported(c.where() + "weights '" + w->name +
                         "' have a non-zero zero point; qrt weights are symmetric");
  std::vector<float> wscale(N);
  for (size_t i = 0; i < N; ++i) wscale[i] = wq.scales[wq.scales.size() == 1 ? 0 : i];
  std::vector<uint8_t> unpacked;  // a packed file's weights, when this path needs them plain
  auto plain = [&] { return reinterpret_cast<const int8_t*>(format::plain_data(*w, &unpacked)); };

  if (xd == DType::kF32 && weight_only) {
    // int8-weight: the file stores int8 (a quarter of fp32); weights are widened once at load.
    mode = Mode::kFloat;
    std::vector<float> deq(N * K);
    const int8_t* wdata = plain();
    for (size_t i = 0; i < N; ++i)
      for (size_t j = 0; j < K; ++j) deq[i * K + j] = wscale[i] * static_cast<float>(wdata[i * K + j]);
    fk = &kernels::select_gemm_f32(DType::kF32);
    packed = PackedBuffer(fk->packed_size(N, K));
    fk->pack(N, K, deq.data(), K, packed.p);
    if (b) {
      if (b->dtype != DType::kF32) return InvalidArgument(c.where() + "bias must be f32");
      bias_f32.assign(reinterpret_cast<const float*>(b->data),
                      reinterpret_cast<const float*>(b->data) + N);
    }
    return OkStatus();
  }
  qk = &kernels::select_gemm_u8s8();
  QRT_CHECK(pack || xd == DType::kU8);
  if (pack && weights_in_place(c, *w, *qk, N, K)) {
    packed = PackedBuffer::in_place(w->data, qk->packed_size(N, K));
  } else if (pack) {
    packed = PackedBuffer(qk->packed_size(N, K));
    qk->pack(N, K, plain(), K, packed.p);
  }
  // Weights that fit a faster variant's narrower range (7-bit weights: AVX2's exact vpmaddubsw
  // path) run on it; it reads the same packed bytes. One pass over the weights at load.
  if (pack && qk->narrow && kernels::packed_b_within(*qk, packed.p, N, K, qk->narrow->b_abs_max)) qk = qk->narrow;
  if (xd == DType::kF32) {
    mode = Mode::kDynamic;
    w_scale = wscale;
    if (b) {
      if (b->dtype != DType::kF32) return InvalidArgument(c.where() + "bias must be f32 (int8-dynamic)");
      bias_f32.assign(reinterpret_cast<const float*>(b->data),
                      reinterpret_cast<const float*>(b->data) + N);
    }
    return OkStatus();
  }
  if (xd != DType::kU8)
    return Unsupported(c.where() + "s8 weights need a u8 (static) or f32 (dynamic) input, got " +
                       format::dtype_name(xd));
  mode = Mode::kStatic;
  const format::TensorDef* y = c.output(0);
  float ys;
  int32_t yz;
  QRT_RETURN_IF_ERROR(per_tensor_params(c, x, "input", &x_scale, &x_zp));
  if (x_zp < 0 || x_zp > 255) return InvalidArgument(c.where() + "u8 zero points must lie in [0, 255]");
  const bool f32_out = y && y->dtype == DType::kF32;
  if (b && b->dtype == DType::kF32 && f32_out) {
    bias_f32.assign(reinterpret_cast<const float*>(b->data), reinterpret_cast<const float*>(b->data) + N);
  } else if (b && b->dtype != DType::kS32) {
    return InvalidArgument(c.where() + "bias must be s32 (static int8), or f32 when the output is f32");
  } else if (b) {
    bias_s32.assign(reinterpret_cast<const int32_t*>(b->data),
                    reinterpret_cast<const int32_t*>(b->data) + N);
  }
  if (f32_out) {
    // u8 in, f32 out (the last layer of an int8 region): the GEMM dequantizes in its epilogue,
    // adding an s32 bias to the accumulator or an f32 bias after scaling.
    mode = Mode::kStaticF32;
    requant_scale.resize(N);
    for (size_t i = 0; i < N; ++i) requant_scale[i] = static_cast<float>(static_cast<double>(x_scale) * wscale[i]);
    QRT_RETURN_IF_ERROR(check_multipliers(c, requant_scale.data(), N, "dequantization"));
    return OkStatus();
  }
  QRT_RETURN_IF_ERROR(per_tensor_params(c, y, "output", &ys, &yz));
  if (y->dtype != DType::kU8) return Unsupported(c.where() + "static int8 output must be u8 or f32");
  if (yz < 0 || yz > 255) return InvalidArgument(c.where() + "u8 zero points must lie in [0, 255]");
  y_zp = yz;
  requant_scale.resize(N);
  for (size_t i = 0; i < N; ++i) requant_scale[i] = static_cast<float>(static_cast<double>(x_scale) * wscale[i] / ys);
  QRT_RETURN_IF_ERROR(check_multipliers(c, requant_scale.data(), N, "requantization"));
  activation_u8_range(act, ys, yz, &qmin, &qmax);
  return OkStatus();
}

kernels::GemmU8S8Epilogue LinearWeights::static_epilogue() const {
  kernels::GemmU8S8Epilogue ep;
  ep.a_zero_point = x_zp;
  ep.bias = bias_s32.empty() ? nullptr : bias_s32.data();
  ep.scale = requant_scale.data();
  if (mode == Mode::kStatic) {
    ep.kind = kernels::GemmU8S8Epilogue::Kind::kRequantU8;
    ep.out_zero_point = y_zp;
    ep.qmin = qmin;
    ep.qmax = qmax;
  } else {
    ep.kind = kernels::GemmU8S8Epilogue::Kind::kDequantF32;
    ep.bias_f32 = bias_f32.empty() ? nullptr : bias_f32.data();
  }
  return ep;
}

void LinearWeights::run_block(size_t M, const void* A, size_t lda, void* C, size_t ldc) const {
  if (M == 0) return;
  if (mode == Mode::kFloat) {
    fk->run(M, N, K, static_cast<const float*>(A), lda, packed.p,
            bias_f32.empty() ? nullptr : bias_f32.data(), act.lo, act.hi, static_cast<float*>(C), ldc,
            0, M, 0, N);
    return;
  }
  QRT_CHECK(mode == Mode::kStatic || mode == Mode::kStaticF32);
  kernels::GemmU8S8Epilogue ep = static_epilogue();
  qk->run(M, N, K, static_cast<const uint8_t*>(A), lda, packed.p, ep, C, ldc, 0, M, 0, N);
  if (mode == Mode::kStaticF32 && (std::isfinite(act.lo) || std::isfinite(act.hi))) {
    for (size_t m = 0; m < M; ++m) {
      float* row = static_cast<float*>(C) + m * ldc;
      for (size_t i = 0; i < N; ++i) row[i] = std::min(std::max(row[i], act.lo), act.hi);
    }
  }
}

std::string LinearWeights::kernel_name() const {
  return qk ? qk->name : (fk ? fk->name : "");
}

size_t LinearWeights::scratch_bytes(size_t M) const {
  if (mode != Mode::kDynamic) return 0;
  return (M * K + 63) / 64 * 64 + N * sizeof(float);
}

Status LinearWeights::compute(size_t M, const void* A, size_t lda, void* C, size_t ldc,
                              void* scratch, ThreadPool* pool) const {
  const size_t T = static_cast<size_t>(pool->threads());
  const size_t mr = static_cast<size_t>(qk ? qk->mr : fk->mr);
  const size_t nr = static_cast<size_t>(qk ? qk->nr : fk->nr);
  // Split rows when there are enough of them for every thread, else columns (M=1 GEMV). For the
  // int8 kernels also split columns when N > M and packed B exceeds cpu::l2_resident_limit() (3/4
  // of the detected per-core L2: 1.5 MiB of 2 MiB, 768 KiB of 1 MiB): each thread then reads
  // N*K/T bytes of B and all M*K bytes of A, instead of all of B and M*K/T of A (at M = 128,
  // 768 x 3072 that is 1.2 MB per core, which stays in L2, instead of two cores streaming all
  // 2.4 MB from L3). An L2-resident B is split by rows: with columns, both cores write every row
  // of C (a 768-byte row is 6 + 6 cache lines) and the L2 prefetchers pull the other core's lines;
  // 2 threads, AMX, M = 128, best of short batches: 768x768 1.80-1.89x of one thread by rows vs
  // 1.72-1.76x by columns, 1024x1024 1.93-1.95x vs 1.88-1.91x.
  const bool big_b = qk && N * K > cpu::l2_resident_limit();
  const bool by_rows = (M >= T * mr * 2 && !(qk && N > M && big_b)) || N <= nr;
  // One task per thread. (Up to 4 per thread, handed out dynamically, was tried: in the quietest
  // window of a shared 2-core machine it lost at M = 128 on 768x768 and 1024x1024, 1.24x and
  // 0.94x of one thread against 1.57x and 1.64x with one task per thread.)
  const size_t tasks = T == 1 ? 1 : T;
  auto tile = [&](size_t t, size_t* m0, size_t* m1, size_t* n0, size_t* n1) {
    if (by_rows) {
      split_range(M, tasks, mr, t, m0, m1);
      *n0 = 0;
      *n1 = N;
    } else {
      *m0 = 0;
      *m1 = M;
      split_range(N, tasks, nr, t, n0, n1);
    }
  };
  if (mode == Mode::kFloat) {
    float lo = act.lo, hi = act.hi;
    pool->parallel_for(tasks, [&](size_t t) {
      size_t m0, m1, n0, n1;
      tile(t, &m0, &m1, &n0, &n1);
      if (m0 < m1 && n0 < n1)
        fk->run(M, N, K, static_cast<const float*>(A), lda, packed.p,
                bias_f32.empty() ? nullptr : bias_f32.data(), lo, hi, static_cast<float*>(C), ldc,
                m0, m1, n0, n1);
    });
    return OkStatus();
  }
  kernels::GemmU8S8Epilogue ep;
  const uint8_t* a8 = static_cast<const uint8_t*>(A);
  size_t lda8 = lda;
  if (mode == Mode::kStatic || mode == Mode::kStaticF32) {
    ep = static_epilogue();
  } else {
    // int8-dynamic: one (scale, zero point) for the whole input, chosen from its live range.
    // Both passes split the rows between the threads (min / max combine in any order, and each
    // element's conversion is its own, so the bytes do not depend on the thread count).
    const auto& qz = kernels::select_quantize_u8();
    const float* x = static_cast<const float*>(A);
    auto* q = static_cast<uint8_t*>(scratch);
    float* scale = reinterpret_cast<float*>(q + (M * K + 63) / 64 * 64);
    constexpr size_t kMaxQTasks = 64;
    const size_t qtasks = std::min({T, M, kMaxQTasks});
    float los[kMaxQTasks], his[kMaxQTasks];
    bool finite[kMaxQTasks];
    pool->parallel_for(qtasks, [&](size_t t) {
      size_t m0, m1;
      split_range(M, qtasks, 1, t, &m0, &m1);
      float lo = 0.f, hi = 0.f;
      finite[t] = true;
      for (size_t m = m0; m < m1; ++m) {
        float l, h;
        if (!qz.minmax(x + m * lda, K, &l, &h)) {
          finite[t] = false;
          break;
        }
        lo = std::min(lo, l);
        hi = std::max(hi, h);
      }
      los[t] = lo;
      his[t] = hi;
    });
    float lo = 0.f, hi = 0.f;
    for (size_t t = 0; t < qtasks; ++t) {
      if (!finite[t]) return InvalidArgument("input contains NaN or Inf; int8-dynamic cannot choose a range");
      lo = std::min(lo, los[t]);
      hi = std::max(hi, his[t]);
    }
    float s;
    int32_t z;
    kernels::choose_u8_params(lo, hi, &s, &z);
    pool->parallel_for(qtasks, [&](size_t t) {
      size_t m0, m1;
      split_range(M, qtasks, 1, t, &m0, &m1);
      for (size_t m = m0; m < m1; ++m) qz.quantize(x + m * lda, K, s, z, q + m * K);
    });
    for (size_t i = 0; i < N; ++i) scale[i] = s * w_scale[i];
    a8 = q;
    lda8 = K;
    ep.kind = kernels::GemmU8S8Epilogue::Kind::kDequantF32;
    ep.a_zero_point = z;
    ep.scale = scale;
    ep.bias_f32 = bias_f32.empty() ? nullptr : bias_f32.data();
  }
  const bool clamp_f32 = mode != Mode::kStatic && (std::isfinite(act.lo) || std::isfinite(act.hi));
  pool->parallel_for(tasks, [&](size_t t) {
    size_t m0, m1, n0, n1;
    tile(t, &m0, &m1, &n0, &n1);
    if (m0 >= m1 || n0 >= n1) return;
    qk->run(M, N, K, a8, lda8, packed.p, ep, C, ldc, m0, m1, n0, n1);
    if (clamp_f32)  // the f32 output's activation, on this task's own tile
      for (size_t m = m0; m < m1; ++m) {
        float* row = static_cast<float*>(C) + m * ldc;
        for (size_t i = n0; i < n1; ++i) row[i] = std::min(std::max(row[i], act.lo), act.hi);
      }
  });
  return OkStatus();
}

namespace {

class DenseOp : public Op {
 public:
  static Result<std::unique_ptr<Op>> create(const CreateContext& c) {
    auto op = std::make_unique<DenseOp>();
    const format::TensorDef* w = c.input(1);
    if (c.node.inputs.size() < 2 || c.node.inputs.size() > 3 || c.node.outputs.size() != 1)
      return InvalidArgument(c.where() + "expects inputs (X, W[, B]) and one output");
    if (!w || w->shape.size() != 2 || w->shape[0] <= 0 || w->shape[1] <= 0)
      return InvalidArgument(c.where() + "weights must be a constant of shape [N, K]");
    QRT_ASSIGN_OR_RETURN(int64_t wo, c.attr_int("weight_only", 0));
    QRT_RETURN_IF_ERROR(op->lw_.init(c, c.input(0), w, c.input(2), w->shape[0], w->shape[1], wo != 0));
    return std::unique_ptr<Op>(std::move(op));
  }

  Status infer(InferContext& ctx) const override {
    const ValueInfo* x = ctx.inputs[0];
    if (x->shape.empty() || x->shape.back() != static_cast<int64_t>(lw_.K))
      return InvalidArgument(ctx.where() + "input shape " + shape_str(x->shape) +
                             " must end in K=" + std::to_string(lw_.K));
    if (lw_.K > 65536 && lw_.mode != LinearWeights::Mode::kFloat)
      return Unsupported(ctx.where() + "int8 K > 65536 could overflow int32 accumulators");
    Shape y = x->shape;
    y.back() = static_cast<int64_t>(lw_.N);
    ctx.outputs[0]->shape = y;
    ctx.outputs[0]->dtype = lw_.out_dtype();
    ctx.scratch_bytes = lw_.scratch_bytes(x->numel() / lw_.K);
    return OkStatus();
  }

  Status run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    size_t M = x.numel() / lw_.K;
    return lw_.compute(M, x.data, lw_.K, ctx.out(0).data, lw_.N, ctx.scratch, ctx.pool);
  }

  bool foldable() const override { return false; }
  std::string kernel_name() const override { return lw_.kernel_name(); }
  size_t packed_bytes() const override { return lw_.packed.mapped ? 0 : lw_.packed.n; }
  size_t in_place_bytes() const override { return lw_.packed.mapped ? lw_.packed.n : 0; }

 private:
  LinearWeights lw_;
};

}  // namespace

void register_dense_op(OpRegistry& r) { r.add("Dense", DenseOp::create); }

}  // namespace qrt::rt
