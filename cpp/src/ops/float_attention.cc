// Attention (qrt op, f32): fused multi-head scaled-dot-product attention.
//   Q [B, Sq, H*D], K [B, Skv, H*D], V [B, Skv, H*Dv], optional additive mask broadcastable to
//   [B, H, Sq, Skv] (rank <= 4, right-aligned: [B,1,1,Skv] padding masks, [Sq,Skv] causal, ...)
//   attributes num_heads = H (required), scale (default 1/sqrt(D)), precision "f32" (default) or
//   "bf16" (the products may run on bf16-rounded operands where AMX-BF16 exists; fp32 elsewhere:
//   kernels/attention_f32.h states the bound)
//   Y [B, Sq, H*Dv] = per head softmax(Q_h K_h^T * scale + mask) V_h, heads concatenated.
// Heads are addressed in place by row strides (no split/merge transposes, no S x S tensor): each
// (batch, head, block of <= 64 query rows) is one task running kernels/attention_f32.h, whose
// scores block stays in cache.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "kernels/attention_f32.h"
#include "ops/broadcast.h"
#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

// 64-byte aligned per-thread scratch that only grows.
float* thread_scratch(size_t floats) {
  struct Buf {
    float* p = nullptr;
    size_t n = 0;
    ~Buf() { std::free(p); }
  };
  thread_local Buf b;
  if (b.n < floats) {
    std::free(b.p);
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    b.p = static_cast<float*>(std::aligned_alloc(64, bytes));
    b.n = b.p ? floats : 0;
  }
  return b.p;
}

class AttentionOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 3, 4, 1, 1));
    QRT_ASSIGN_OR_RETURN(heads_, c.attr_int("num_heads", 0));
    if (heads_ <= 0)
      return InvalidArgument(c.where() + "attribute 'num_heads' must be a positive integer, got " +
                             std::to_string(heads_));
    const format::AttrDef* s = c.node.attr("scale");
    if (s) {
      QRT_ASSIGN_OR_RETURN(scale_, c.attr_float("scale", 0.f));
      if (!std::isfinite(scale_))
        return InvalidArgument(c.where() + "attribute 'scale' must be finite");
      has_scale_ = true;
    }
    QRT_ASSIGN_OR_RETURN(std::string precision, c.attr_string("precision", "f32"));
    if (precision != "f32" && precision != "bf16")
      return InvalidArgument(c.where() + "attribute 'precision' must be \"f32\" or \"bf16\", got \"" +
                             precision + "\"");
    allow_bf16_ = precision == "bf16";
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    static const char* names[] = {"Q", "K", "V", "mask"};
    for (size_t i = 0; i < 3; ++i) {
      if (!c.inputs[i]) return InvalidArgument(c.where() + names[i] + " is absent");
      QRT_RETURN_IF_ERROR(expect_dtype(c, i, {DType::kF32}));
      if (c.inputs[i]->shape.size() != 3)
        return InvalidArgument(c.where() + names[i] + " must have shape [B, S, heads * head_dim], got " +
                               shape_str(c.inputs[i]->shape));
    }
    const Shape &q = c.inputs[0]->shape, &k = c.inputs[1]->shape, &v = c.inputs[2]->shape;
    if (q[0] != k[0] || q[0] != v[0] || k[1] != v[1] || q[2] != k[2])
      return InvalidArgument(c.where() + "Q " + shape_str(q) + ", K " + shape_str(k) + " and V " +
                             shape_str(v) +
                             " must agree: same batch, K and V the same length, Q and K the same width");
    if (q[2] % heads_ != 0 || v[2] % heads_ != 0)
      return InvalidArgument(c.where() + "widths " + std::to_string(q[2]) + " (Q/K) and " +
                             std::to_string(v[2]) + " (V) must be multiples of num_heads " +
                             std::to_string(heads_));
    if (c.inputs.size() > 3 && c.inputs[3]) {
      QRT_RETURN_IF_ERROR(expect_dtype(c, 3, {DType::kF32}));
      const Shape& m = c.inputs[3]->shape;
      Shape full{q[0], heads_, q[1], k[1]}, b;
      if (m.size() > 4 || !broadcast_shape({&full, &m}, &b) || b != full)
        return InvalidArgument(c.where() + "mask shape " + shape_str(m) +
                               " does not broadcast to [B, heads, Sq, Skv] = " + shape_str(full));
    }
    c.outputs[0]->dtype = DType::kF32;
    c.outputs[0]->shape = {q[0], q[1], v[2]};
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    const Shape &qs = c.in(0).shape, &ks = c.in(1).shape, &vs = c.in(2).shape;
    const size_t B = qs[0], Sq = qs[1], Skv = ks[1], H = static_cast<size_t>(heads_);
    const size_t D = qs[2] / H, Dv = vs[2] / H;
    if (B == 0 || Sq == 0 || Dv == 0) return OkStatus();
    const float scale = has_scale_ ? scale_ : (D ? 1.f / std::sqrt(static_cast<float>(D)) : 1.f);
    // Mask strides over [B, H, Sq, Skv] (0 where broadcast).
    const float* mask = nullptr;
    size_t ms[4] = {0, 0, 0, 0};
    if (c.has_in(3)) {
      const Shape& m = c.in(3).shape;
      mask = c.in(3).as<float>();
      size_t acc = 1;
      for (size_t i = m.size(); i-- > 0;) {
        size_t fi = 4 - m.size() + i;
        ms[fi] = m[i] == 1 ? 0 : acc;
        acc *= static_cast<size_t>(m[i]);
      }
    }
    const kernels::AttentionF32Kernel& kern = kernels::select_attention(allow_bf16_);
    // Row blocks: <= the kernel's max_rows, smaller for long keys (the scores block in L2) or to
    // feed the threads.
    const size_t threads = static_cast<size_t>(c.pool->threads());
    size_t mb = kern.max_rows;
    while (mb > 16 && Skv * mb > 65536) mb /= 2;
    while (mb > 16 && B * H * ((Sq + mb - 1) / mb) < 2 * threads) mb /= 2;
    if (Sq < mb) mb = Sq;
    const size_t blocks = (Sq + mb - 1) / mb;
    const size_t ldq = qs[2], ldv = vs[2];
    const float* Q = c.in(0).as<float>();
    const float* K = c.in(1).as<float>();
    const float* Vp = c.in(2).as<float>();
    float* Y = c.out(0).as<float>();
    const size_t scratch = kernels::attention_scratch_floats(mb, Skv, D, Dv);
    std::atomic<bool> no_scratch{false};
    auto task = [&](size_t t) {
      const size_t b = t / (H * blocks), h = (t / blocks) % H, i0 = (t % blocks) * mb;
      kernels::AttentionF32Args a;
      a.m = std::min(mb, Sq - i0);
      a.n = Skv;
      a.dk = D;
      a.dv = Dv;
      a.q = Q + (b * Sq + i0) * ldq + h * D;
      a.ldq = ldq;
      a.k = K + b * Skv * ldq + h * D;
      a.ldk = ldq;
      a.v = Vp + b * Skv * ldv + h * Dv;
      a.ldv = ldv;
      a.o = Y + (b * Sq + i0) * ldv + h * Dv;
      a.ldo = ldv;
      a.scale = scale;
      if (mask) {
        a.mask = mask + b * ms[0] + h * ms[1] + i0 * ms[2];
        a.mask_ld = ms[2];
        a.mask_sj = ms[3];
      }
      a.scratch = thread_scratch(scratch);
      if (!a.scratch) {
        no_scratch.store(true, std::memory_order_relaxed);
        return;
      }
      kern.block(a);
    };
    const size_t tasks = B * H * blocks;
    if (threads == 1 || tasks == 1) {
      for (size_t t = 0; t < tasks; ++t) task(t);
    } else {
      c.pool->parallel_for(tasks, task);
    }
    if (no_scratch.load())
      return OutOfMemory("cannot allocate " + std::to_string(scratch * sizeof(float)) +
                         " bytes of attention scratch (" + std::to_string(Skv) + " keys)");
    return OkStatus();
  }

  std::string kernel_name() const override { return kernels::select_attention(allow_bf16_).name; }

 private:
  int64_t heads_ = 0;
  float scale_ = 1.f;
  bool has_scale_ = false;
  bool allow_bf16_ = false;
};

}  // namespace

void register_attention_ops(OpRegistry& r) { r.add("Attention", make_factory<AttentionOp>()); }

}  // namespace qrt::rt::ops
