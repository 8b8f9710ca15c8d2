// MatMul with numpy semantics, f32 x f32 -> f32:
//   A [..., M, K] x B [..., K, N] -> [..., M, N]; batch dims broadcast; a rank-1 A is [1, K] with
//   M dropped from the output, a rank-1 B is [K, 1] with N dropped.
// Each (batch, row block) is one task on the pool; the product runs through
// kernels::gemm_f32_nn (unpacked activation x activation GEMM, best ISA for this CPU).
// Weight x activation products with constant weights are the converter's Dense op instead.
#include "kernels/gemm_f32.h"
#include "ops/broadcast.h"
#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

struct MatMulDims {
  Shape batch;                    // broadcast batch shape
  Shape a_batch, b_batch;         // each operand's batch dims
  int64_t m = 1, k = 1, n = 1;
  bool a_vec = false, b_vec = false;
};

Status matmul_dims(const std::string& where, const Shape& a, const Shape& b, MatMulDims* d) {
  if (a.empty() || b.empty())
    return InvalidArgument(where + "operands must have rank >= 1, got " + shape_str(a) + " and " +
                           shape_str(b));
  d->a_vec = a.size() == 1;
  d->b_vec = b.size() == 1;
  d->m = d->a_vec ? 1 : a[a.size() - 2];
  int64_t ka = a.back();
  int64_t kb = d->b_vec ? b[0] : b[b.size() - 2];
  d->n = d->b_vec ? 1 : b.back();
  if (ka != kb)
    return InvalidArgument(where + "inner dimensions differ: A " + shape_str(a) + " has K=" +
                           std::to_string(ka) + ", B " + shape_str(b) + " has K=" +
                           std::to_string(kb));
  d->k = ka;
  d->a_batch = d->a_vec ? Shape{} : Shape(a.begin(), a.end() - 2);
  d->b_batch = d->b_vec ? Shape{} : Shape(b.begin(), b.end() - 2);
  if (!broadcast_shape({&d->a_batch, &d->b_batch}, &d->batch))
    return InvalidArgument(where + "batch dimensions of " + shape_str(a) + " and " + shape_str(b) +
                           " are not broadcast-compatible");
  return OkStatus();
}

// Element offset of each output batch's A (or B) matrix, with broadcasting.
std::vector<size_t> batch_offsets(const Shape& batch, const Shape& own, size_t mat) {
  const size_t nb = shape_numel(batch);
  std::vector<size_t> offs(nb);
  std::vector<int64_t> st(batch.size(), 0);
  size_t acc = mat;
  for (size_t i = own.size(); i-- > 0;) {
    size_t bi = batch.size() - own.size() + i;
    st[bi] = own[i] == 1 ? 0 : static_cast<int64_t>(acc);
    acc *= static_cast<size_t>(own[i]);
  }
  for (size_t b = 0; b < nb; ++b) {
    size_t r = b, off = 0;
    for (size_t i = batch.size(); i-- > 0;) {
      off += (r % static_cast<size_t>(batch[i])) * static_cast<size_t>(st[i]);
      r /= static_cast<size_t>(batch[i]);
    }
    offs[b] = off;
  }
  return offs;
}

class MatMulOp : public Op {
 public:
  Status init(const CreateContext& c) { return check_arity(c, 2, 2, 1, 1); }

  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32}));
    QRT_RETURN_IF_ERROR(expect_dtype(c, 1, {DType::kF32}));
    MatMulDims d;
    QRT_RETURN_IF_ERROR(matmul_dims(c.where(), c.inputs[0]->shape, c.inputs[1]->shape, &d));
    Shape out = d.batch;
    if (!d.a_vec) out.push_back(d.m);
    if (!d.b_vec) out.push_back(d.n);
    c.outputs[0]->dtype = DType::kF32;
    c.outputs[0]->shape = out;
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    MatMulDims d;
    QRT_RETURN_IF_ERROR(matmul_dims("", c.in(0).shape, c.in(1).shape, &d));
    const size_t M = d.m, K = d.k, N = d.n;
    const size_t nb = shape_numel(d.batch);
    if (nb == 0 || M == 0 || N == 0) return OkStatus();
    std::vector<size_t> ao = batch_offsets(d.batch, d.a_batch, M * K);
    std::vector<size_t> bo = batch_offsets(d.batch, d.b_batch, K * N);
    const float* A = c.in(0).as<float>();
    const float* B = c.in(1).as<float>();
    float* C = c.out(0).as<float>();
    // Row blocks: enough tasks to feed the pool, each at least ~32K multiply-adds.
    const size_t threads = static_cast<size_t>(c.pool->threads());
    size_t mb = M;
    if (threads > 1 && nb < threads * 2) {
      size_t want = (threads * 2 + nb - 1) / nb;
      mb = std::max<size_t>((M + want - 1) / want, 1);
      size_t min_rows = std::max<size_t>(1, 32768 / std::max<size_t>(K * N, 1));
      mb = std::max(mb, std::min(min_rows, M));
    }
    const size_t row_blocks = (M + mb - 1) / mb;
    auto task = [&](size_t t) {
      size_t b = t / row_blocks, r0 = (t % row_blocks) * mb, r1 = std::min(M, r0 + mb);
      kernels::gemm_f32_nn(r1 - r0, N, K, A + ao[b] + r0 * K, K, B + bo[b], N,
                           C + b * M * N + r0 * N, N);
    };
    const size_t tasks = nb * row_blocks;
    if (threads == 1 || tasks == 1 || M * N * K < 16384) {
      for (size_t t = 0; t < tasks; ++t) task(t);
    } else {
      c.pool->parallel_for(tasks, task);
    }
    return OkStatus();
  }
  std::string kernel_name() const override { return "gemm_f32_nn"; }
};

}  // namespace

void register_matmul_ops(OpRegistry& r) { r.add("MatMul", make_factory<MatMulOp>()); }

}  // namespace qrt::rt::ops
