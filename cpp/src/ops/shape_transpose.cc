// Transpose(perm; default reverses the dims), any dtype.
// The permutation is simplified first: size-1 dims are dropped and input dims that stay adjacent
// and in order are merged, so e.g. NCHW -> NHWC becomes a 3-D [N, C, HW] -> [N, HW, C] copy. The
// output is written in order, row by row (rows in parallel); a row whose innermost dim is also the
// input's innermost is one memcpy, otherwise a strided gather. When the last two simplified output
// dims [P, Q] have input strides [1, sQ] (a 2-D transpose per outer index: NCHW <-> NHWC,
// [B,S,H,D] -> [B,H,D,S], ...) 4-byte elements go through kernels::transpose32 (cache blocks,
// register tiles), split over the pool along P.
#include <algorithm>

#include "kernels/eltwise_f32.h"
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

  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    const size_t es = elem_size(x.dtype);
    if (x.numel() == 0) return OkStatus();
    // Simplify: output dims (in output order) with their input strides.
    const size_t r = x.shape.size();
    std::vector<int64_t> p = perm(r);
    for (int64_t& a : p) a = a < 0 ? a + static_cast<int64_t>(r) : a;
    std::vector<int64_t> ist = strides_of(x.shape);
    std::vector<int64_t> dims, st, src;  // src: input dim index of the (merged) run's last dim
    for (size_t i = 0; i < r; ++i) {
      int64_t a = p[i], d = x.shape[a];
      if (d == 1) continue;
      if (!dims.empty() && src.back() + 1 == a && st.back() == ist[a] * d) {
        dims.back() *= d;
        st.back() = ist[a];
        src.back() = a;
      } else {
        dims.push_back(d);
        st.push_back(ist[a]);
        src.push_back(a);
      }
    }
    if (dims.empty()) {
      dims.push_back(1);
      st.push_back(1);
    }
    const char* in = static_cast<const char*>(x.data);
    char* out = static_cast<char*>(c.out(0).data);
    if (es == 4 && dims.size() >= 2 && st[dims.size() - 2] == 1 && st.back() != 1) {
      run_2d(c, dims, st, reinterpret_cast<const uint32_t*>(in), reinterpret_cast<uint32_t*>(out));
      return OkStatus();
    }
    const int64_t inner = dims.back(), inner_st = st.back();
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
        char* o = out + row * inner * es;
        const char* s = in + off * static_cast<int64_t>(es);
        if (inner_st == 1) {
          std::memcpy(o, s, inner * es);
        } else {
          gather(s, inner_st, o, inner, es);
        }
      }
    });
    return OkStatus();
  }

 private:
  static void run_2d(const RunContext& c, const std::vector<int64_t>& dims,
                     const std::vector<int64_t>& st, const uint32_t* in, uint32_t* out) {
    const size_t r = dims.size();
    const size_t P = static_cast<size_t>(dims[r - 2]), Q = static_cast<size_t>(dims[r - 1]);
    const size_t lds = static_cast<size_t>(st[r - 1]);
    size_t outer = 1;
    for (size_t i = 0; i + 2 < r; ++i) outer *= static_cast<size_t>(dims[i]);
    const kernels::Transpose32Fn fn = kernels::select_eltwise_f32().transpose32;
    // Work items: (outer index, chunk of P); chunks of >= 64 columns and ~16K elements.
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
        fn(in + off + p0, lds, Q, p1 - p0, out + o * P * Q + p0 * Q, Q);
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
};

}  // namespace

void register_transpose_ops(OpRegistry& r) { r.add("Transpose", make_factory<TransposeOp>()); }

}  // namespace qrt::rt::ops
