// Transpose(perm; default reverses the dims), any dtype; DepthToSpace and SpaceToDepth (below)
// are transposes of a 6-D view.
// The permutation is simplified first: size-1 dims are dropped and input dims that stay adjacent
// and in order are merged, so e.g. NCHW -> NHWC becomes a 3-D [N, C, HW] -> [N, HW, C] copy. The
// output is written in order, row by row (rows in parallel); a row whose innermost dim is also the
// input's innermost is one memcpy, otherwise a strided gather. When the last two simplified output
// dims [P, Q] have input strides [1, sQ] (a 2-D transpose per outer index: NCHW <-> NHWC,
// [B,S,H,D] -> [B,H,D,S], ...) 4-byte elements go through kernels::transpose32 (cache blocks,
// register tiles), split over the pool along P.
#include <algorithm>

#include "kernels/eltwise_f32.h"
#include "kernels/quantize_u8.h"
#include "ops/fusion.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"

namespace qrt::rt::ops {
namespace {

class TransposeOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 1, 1, 1));
    has_perm_ = c.node.attr("perm") != nullptr;
    QRT_ASSIGN_OR_RETURN(perm_, c.attr_ints("perm", {}));
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "input has undefined dtype");
    const size_t r = x->shape.size();
    std::vector<int64_t> p = perm(r);
    if (p.size() != r)
      return InvalidArgument(c.where() + "perm " + shape_str(perm_) + " has " +
                             std::to_string(p.size()) + " entries, input rank is " +
                             std::to_string(r));
    std::vector<bool> seen(r, false);
    Shape out(r);
    for (size_t i = 0; i < r; ++i) {
      int64_t a = p[i] < 0 ? p[i] + static_cast<int64_t>(r) : p[i];
      if (a < 0 || a >= static_cast<int64_t>(r) || seen[a])
        return InvalidArgument(c.where() + "perm " + shape_str(perm_) +
                               " is not a permutation of 0.." + std::to_string(r - 1));
      seen[a] = true;
      out[i] = x->shape[a];
    }
    QRT_RETURN_IF_ERROR(check_passthrough_quant(c, 0, 0));
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = out;
    return OkStatus();
  }

  Status run(const RunContext& c) const override { return transpose(c, c.in(0), c.out(0).data); }

 protected:
  // Writes x transposed by perm() to out (x may be a reshaped view of the op's input).
  Status transpose(const RunContext& c, const Tensor& x, void* out_data) const {
    const size_t es = elem_size(x.dtype);
    if (x.numel() == 0) return OkStatus();
    std::vector<int64_t> dims, st;
    simplify(x.shape, &dims, &st);
    const char* in = static_cast<const char*>(x.data);
    char* out = static_cast<char*>(out_data);
    if (es == 4 && is_2d(dims, st)) {
      const kernels::Transpose32Fn fn = kernels::select_eltwise_f32().transpose32;
      const auto* in32 = reinterpret_cast<const uint32_t*>(in);
      auto* out32 = reinterpret_cast<uint32_t*>(out);
      const size_t P = static_cast<size_t>(dims[dims.size() - 2]), Q = static_cast<size_t>(dims.back());
      const size_t lds = static_cast<size_t>(st.back());
      for_2d_items(c, dims, st, [&](int64_t off, size_t o, size_t p0, size_t p1) {
        fn(in32 + off + p0, lds, Q, p1 - p0, out32 + o * P * Q + p0 * Q, Q);
      });
      return OkStatus();
    }
    const int64_t inner = dims.back(), inner_st = st.back();
    for_rows(c, dims, st, [&](size_t row, int64_t off) {
      char* o = out + row * inner * es;
      const char* s = in + off * static_cast<int64_t>(es);
      if (inner_st == 1) {
        std::memcpy(o, s, inner * es);
      } else {
        gather(s, inner_st, o, inner, es);
      }
    });
    return OkStatus();
  }

  // Output dims (in output order; size-1 dims dropped, input dims that stay adjacent and in
  // order merged) with their input strides, in elements.
  void simplify(const Shape& shape, std::vector<int64_t>* dims, std::vector<int64_t>* st) const {
    const size_t r = shape.size();
    std::vector<int64_t> p = perm(r);
    for (int64_t& a : p) a = a < 0 ? a + static_cast<int64_t>(r) : a;
    std::vector<int64_t> ist = strides_of(shape);
    std::vector<int64_t> src;  // input dim index of the (merged) run's last dim
    for (size_t i = 0; i < r; ++i) {
      int64_t a = p[i], d = shape[a];
      if (d == 1) continue;
      if (!dims->empty() && src.back() + 1 == a && st->back() == ist[a] * d) {
        dims->back() *= d;
        st->back() = ist[a];
        src.back() = a;
      } else {
        dims->push_back(d);
        st->push_back(ist[a]);
        src.push_back(a);
      }
    }
    if (dims->empty()) {
      dims->push_back(1);
      st->push_back(1);
    }
  }

  // The last two simplified output dims [P, Q] have input strides [1, lds]: a 2-D transpose per
  // outer index.
  static bool is_2d(const std::vector<int64_t>& dims, const std::vector<int64_t>& st) {
    return dims.size() >= 2 && st[dims.size() - 2] == 1 && st.back() != 1;
  }

  // 2-D case: f(input offset of outer index o, o, p0, p1) for work items (outer index, chunk
  // [p0, p1) of P), split over the pool; item (o, p0, p1) writes output elements
  // [(o * P + p0) * Q, (o * P + p1) * Q). Chunks of >= 64 columns and ~16K elements.
  template <typename F>
  static void for_2d_items(const RunContext& c, const std::vector<int64_t>& dims,
                           const std::vector<int64_t>& st, const F& f) {
    const size_t r = dims.size();
    const size_t P = static_cast<size_t>(dims[r - 2]), Q = static_cast<size_t>(dims[r - 1]);
    size_t outer = 1;
    for (size_t i = 0; i + 2 < r; ++i) outer *= static_cast<size_t>(dims[i]);
    const size_t chunk = std::max<size_t>(64, (16384 / std::max<size_t>(Q, 1) + 63) / 64 * 64);
    const size_t per = (P + chunk - 1) / chunk;
    parallel_range(c.pool, outer * per, 1, [&](size_t b, size_t e) {
      for (size_t w = b; w < e; ++w) {
        const size_t o = w / per, p0 = (w % per) * chunk, p1 = std::min(P, p0 + chunk);
        int64_t off = 0;
        size_t q = o;
        for (size_t i = r - 2; i-- > 0;) {
          off += static_cast<int64_t>(q % static_cast<size_t>(dims[i])) * st[i];
          q /= static_cast<size_t>(dims[i]);
        }
        f(off, o, p0, p1);
      }
    });
  }

  // Other cases: f(row, input offset of the row) for each output row (the innermost simplified
  // dim, input stride st.back()), rows split over the pool.
  template <typename F>
  static void for_rows(const RunContext& c, const std::vector<int64_t>& dims,
                       const std::vector<int64_t>& st, const F& f) {
    const int64_t inner = dims.back();
    size_t rows = 1;
    for (size_t i = 0; i + 1 < dims.size(); ++i) rows *= static_cast<size_t>(dims[i]);
    parallel_range(c.pool, rows, std::max<size_t>(1, 16384 / static_cast<size_t>(inner)),
                   [&](size_t b, size_t e) {
      for (size_t row = b; row < e; ++row) {
        int64_t off = 0;
        size_t q = row;
        for (size_t i = dims.size() - 1; i-- > 0;) {
          off += static_cast<int64_t>(q % static_cast<size_t>(dims[i])) * st[i];
          q /= static_cast<size_t>(dims[i]);
        }
        f(row, off);
      }
    });
  }

  std::vector<int64_t> perm(size_t r) const {
    if (has_perm_) return perm_;
    std::vector<int64_t> p(r);
    for (size_t i = 0; i < r; ++i) p[i] = static_cast<int64_t>(r - 1 - i);
    return p;
  }
  template <typename T>
  static void gather_t(const char* s, int64_t st, char* o, int64_t n) {
    const T* sp = reinterpret_cast<const T*>(s);
    T* op = reinterpret_cast<T*>(o);
    for (int64_t i = 0; i < n; ++i) op[i] = sp[i * st];
  }
  static void gather(const char* s, int64_t st, char* o, int64_t n, size_t es) {
    switch (es) {
      case 1: gather_t<uint8_t>(s, st, o, n); break;
      case 2: gather_t<uint16_t>(s, st, o, n); break;
      case 4: gather_t<uint32_t>(s, st, o, n); break;
      default: gather_t<uint64_t>(s, st, o, n); break;
    }
  }
  bool has_perm_ = false;
  std::vector<int64_t> perm_;
  friend class TransposeQuantizeOp;
};

// A Transpose of f32 values and the QuantizeLinear to u8 that alone reads them (fusion.h): the
// transposed values go tile by tile through a 16 KiB stack buffer into the quantize kernel, so
// the f32 transposed tensor (a 224x224 RGB input: 602 KB) is never written. The quantize kernel
// is elementwise, so every u8 equals the unfused pair's.
class TransposeQuantizeOp : public Op {
 public:
  TransposeQuantizeOp(std::unique_ptr<Op> t, std::unique_ptr<Op> q, float scale, int32_t zp,
                      const format::QuantParams* mid_quant)
      : t_own_(std::move(t)), q_own_(std::move(q)), t_(static_cast<const TransposeOp*>(t_own_.get())),
        scale_(scale), zp_(zp), mid_quant_(mid_quant) {}

  Status infer(InferContext& ctx) const override {
    ValueInfo mid;
    mid.quant = mid_quant_;
    InferContext ct{ctx.node, {ctx.inputs[0]}, {&mid}};
    ct.threads = ctx.threads;
    QRT_RETURN_IF_ERROR(t_->infer(ct));
    if (mid.dtype != DType::kF32)
      return InvalidArgument(ctx.where() + "internal: the fused transpose's input is not f32");
    ctx.outputs[0]->shape = mid.shape;
    ctx.outputs[0]->dtype = DType::kU8;
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    if (x.numel() == 0) return OkStatus();
    std::vector<int64_t> dims, st;
    t_->simplify(x.shape, &dims, &st);
    const kernels::QuantizeU8Kernel& qk = kernels::select_quantize_u8();
    const float* xf = x.as<float>();
    uint8_t* y = c.out(0).as<uint8_t>();
    constexpr size_t kTile = 4096;  // floats
    if (TransposeOp::is_2d(dims, st)) {
      const kernels::Transpose32Fn fn = kernels::select_eltwise_f32().transpose32;
      const auto* x32 = reinterpret_cast<const uint32_t*>(xf);
      const size_t P = static_cast<size_t>(dims[dims.size() - 2]), Q = static_cast<size_t>(dims.back());
      const size_t lds = static_cast<size_t>(st.back());
      TransposeOp::for_2d_items(c, dims, st, [&](int64_t off, size_t o, size_t p0, size_t p1) {
        alignas(64) float buf[kTile];
        uint32_t* b32 = reinterpret_cast<uint32_t*>(buf);
        uint8_t* yo = y + o * P * Q;
        if (Q <= kTile) {  // whole output rows per tile: one quantize call per tile
          const size_t sub = kTile / Q;
          for (size_t p = p0; p < p1; p += sub) {
            const size_t pn = std::min(sub, p1 - p);
            fn(x32 + off + p, lds, Q, pn, b32, Q);
            qk.quantize(buf, pn * Q, scale_, zp_, yo + p * Q);
          }
        } else {  // rows longer than the buffer: pieces of one row
          for (size_t p = p0; p < p1; ++p)
            for (size_t q0 = 0; q0 < Q; q0 += kTile) {
              const size_t qn = std::min(kTile, Q - q0);
              fn(x32 + off + p + q0 * lds, lds, qn, 1, b32, qn);
              qk.quantize(buf, qn, scale_, zp_, yo + p * Q + q0);
            }
        }
      });
      return OkStatus();
    }
    const size_t inner = static_cast<size_t>(dims.back());
    const int64_t inner_st = st.back();
    TransposeOp::for_rows(c, dims, st, [&](size_t row, int64_t off) {
      const float* s = xf + off;
      uint8_t* o = y + row * inner;
      if (inner_st == 1) {
        qk.quantize(s, inner, scale_, zp_, o);
        return;
      }
      alignas(64) float buf[kTile];
      for (size_t k0 = 0; k0 < inner; k0 += kTile) {
        const size_t n = std::min(kTile, inner - k0);
        for (size_t i = 0; i < n; ++i) buf[i] = s[static_cast<int64_t>(k0 + i) * inner_st];
        qk.quantize(buf, n, scale_, zp_, o + k0);
      }
    });
    return OkStatus();
  }

  bool foldable() const override { return false; }
  std::string kernel_name() const override {
    return std::string("transpose32_") + kernels::select_eltwise_f32().name + "+" +
           kernels::select_quantize_u8().name;
  }

 private:
  std::unique_ptr<Op> t_own_, q_own_;
  const TransposeOp* t_;
  float scale_;
  int32_t zp_;
  const format::QuantParams* mid_quant_;
};

// DepthToSpace and SpaceToDepth (blocksize; mode DCR, the default, or CRD: SpaceToDepth's since
// opset 28, the inverse of DepthToSpace's), any dtype, X [N, C, H, W]: each is a 6-D transpose
// of a reshaped view (ONNX's definitions), run by TransposeOp's copy.
//   DepthToSpace DCR: [N, b, b, C/b^2, H, W] perm (0, 3, 4, 1, 5, 2) -> [N, C/b^2, H*b, W*b]
//   DepthToSpace CRD: [N, C/b^2, b, b, H, W] perm (0, 1, 4, 2, 5, 3)
//   SpaceToDepth DCR: [N, C, H/b, b, W/b, b] perm (0, 3, 5, 1, 2, 4) -> [N, C*b^2, H/b, W/b]
//   SpaceToDepth CRD: the same view,         perm (0, 1, 3, 5, 2, 4)
class SpaceDepthOp : public TransposeOp {
 public:
  explicit SpaceDepthOp(bool to_space) : to_space_(to_space) {}
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 1, 1, 1));
    QRT_ASSIGN_OR_RETURN(b_, c.attr_int("blocksize", 0));
    if (c.node.attr("blocksize") == nullptr || b_ < 1 || b_ > 4096)
      return InvalidArgument(c.where() + "blocksize must be given, in 1..4096, got " + std::to_string(b_));
    QRT_ASSIGN_OR_RETURN(std::string m, c.attr_string("mode", "DCR"));
    if (m != "DCR" && m != "CRD")
      return InvalidArgument(c.where() + "mode must be DCR or CRD, got \"" + m + "\"");
    crd_ = m == "CRD";
    has_perm_ = true;
    perm_ = to_space_ ? (crd_ ? std::vector<int64_t>{0, 1, 4, 2, 5, 3} : std::vector<int64_t>{0, 3, 4, 1, 5, 2})
                      : (crd_ ? std::vector<int64_t>{0, 1, 3, 5, 2, 4} : std::vector<int64_t>{0, 3, 5, 1, 2, 4});
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "input has undefined dtype");
    if (x->shape.size() != 4)
      return InvalidArgument(c.where() + "input must be 4-D [N, C, H, W], got " + shape_str(x->shape));
    const int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], b2 = b_ * b_;
    if (to_space_ && C % b2 != 0)
      return InvalidArgument(c.where() + "channels " + std::to_string(C) + " are not a multiple of blocksize^2 = " +
                             std::to_string(b2));
    if (!to_space_ && (H % b_ != 0 || W % b_ != 0))
      return InvalidArgument(c.where() + "height and width " + std::to_string(H) + "x" + std::to_string(W) +
                             " are not multiples of blocksize " + std::to_string(b_));
    if (!to_space_ && C > (int64_t(1) << 40) / b2)
      return InvalidArgument(c.where() + "channels x blocksize^2 too large");
    QRT_RETURN_IF_ERROR(check_passthrough_quant(c, 0, 0));
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = to_space_ ? Shape{N, C / b2, H * b_, W * b_} : Shape{N, C * b2, H / b_, W / b_};
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    Tensor v = c.in(0);
    const int64_t N = v.shape[0], C = v.shape[1], H = v.shape[2], W = v.shape[3], b = b_;
    v.shape = !to_space_ ? Shape{N, C, H / b, b, W / b, b}
              : crd_     ? Shape{N, C / (b * b), b, b, H, W}
                         : Shape{N, b, b, C / (b * b), H, W};
    return transpose(c, v, c.out(0).data);
  }
  bool foldable() const override { return true; }

 private:
  bool to_space_, crd_ = false;
  int64_t b_ = 0;
};

}  // namespace

void register_transpose_ops(OpRegistry& r) {
  r.add("Transpose", make_factory<TransposeOp>());
  r.add("DepthToSpace", make_factory<SpaceDepthOp>(true));
  r.add("SpaceToDepth", make_factory<SpaceDepthOp>(false));
}

}  // namespace qrt::rt::ops

namespace qrt::rt {

size_t fuse_transpose_quantize(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops) {
  return fuse_pairs(def, ops, [&](size_t i, size_t j, int32_t t) -> std::unique_ptr<Op> {
    float scale;
    int32_t zp;
    const format::NodeDef& na = def.nodes[i];
    if (def.nodes[j].inputs.size() != 1 || !quantize_u8_params(*ops[j], &scale, &zp) ||
        !dynamic_cast<const ops::TransposeOp*>(ops[i].get()) || na.inputs.size() != 1 || na.inputs[0] < 0 ||
        def.tensors[na.inputs[0]].dtype != DType::kF32)
      return nullptr;
    return std::make_unique<ops::TransposeQuantizeOp>(std::move(ops[i]), std::move(ops[j]), scale, zp,
                                                      &def.tensors[t].quant);
  });
}

}  // namespace qrt::rt
