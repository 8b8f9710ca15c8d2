// MatMul (batch broadcasting, rank-1 operands), ReduceMean/Sum/L2 and Cast/Identity through the
// Op interface against naive references.
#include <cmath>

#include "ops/float_op_direct_util.h"

using namespace qrt_test::ops;

namespace {
// numpy matmul reference in double.
std::vector<float> ref_matmul(const Val& a, const Val& b, Shape* out_shape) {
  Shape sa = a.shape, sb = b.shape;
  bool av = sa.size() == 1, bv = sb.size() == 1;
  if (av) sa.insert(sa.begin(), 1);
  if (bv) sb.push_back(1);
  size_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  size_t r = std::max(ba.size(), bb.size());
  while (ba.size() < r) ba.insert(ba.begin(), 1);
  while (bb.size() < r) bb.insert(bb.begin(), 1);
  Shape bo(r);
  for (size_t i = 0; i < r; ++i) bo[i] = std::max(ba[i], bb[i]);
  size_t nb = numel(bo);
  std::vector<float> A = a.as<float>(), B = b.as<float>(), C(nb * M * N);
  for (size_t bi = 0; bi < nb; ++bi) {
    size_t ia = 0, ib = 0, rem = bi, ma = 1, mb = 1;
    for (size_t i = r; i-- > 0;) {
      size_t c = rem % bo[i];
      rem /= bo[i];
      ia += (ba[i] == 1 ? 0 : c) * ma;
      ib += (bb[i] == 1 ? 0 : c) * mb;
      ma *= ba[i];
      mb *= bb[i];
    }
    for (size_t m = 0; m < M; ++m)
      for (size_t n = 0; n < N; ++n) {
        double s = 0;
        for (size_t k = 0; k < K; ++k) s += double(A[ia * M * K + m * K + k]) * B[ib * K * N + k * N + n];
        C[bi * M * N + m * N + n] = static_cast<float>(s);
      }
  }
  *out_shape = bo;
  if (!av) out_shape->push_back(M);
  if (!bv) out_shape->push_back(N);
  return C;
}
}  // namespace

QRT_TEST(FloatOps, MatMulShapes) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 4}, {4, 5}},       {{4}, {4, 5}},         {{3, 4}, {4}},          {{4}, {4}},
      {{2, 3, 4}, {4, 5}},    {{4, 5}, {2, 5, 3}},   {{2, 1, 3, 4}, {5, 4, 6}}, {{1, 7}, {7, 1}},
      {{2, 3, 0}, {0, 4}},    {{0, 3}, {3, 2}},      {{3, 4}, {2, 4, 0}},    {{2, 64, 96}, {2, 96, 80}},
      {{1, 200, 33}, {33, 70}},
  };
  uint32_t seed = 300;
  for (const auto& [sa, sb] : cases)
    for (int threads : {1, 2, 4}) {
      Val a = rand_f32(sa, seed++), b = rand_f32(sb, seed++);
      OpOptions o;
      o.threads = threads;
      OpRun r = run_op("MatMul", {a, b}, {}, o);
      QRT_ASSERT_OK(r);
      Shape want_shape;
      std::vector<float> want = ref_matmul(a, b, &want_shape);
      QRT_EXPECT(r.out[0].shape == want_shape);
      size_t K = sa.back();
      QRT_EXPECT_CLOSE_VEC(r.out[0].as<float>(), want, 4e-6f * (K + 2), 1e-5f);
    }
  OpRun r = run_op("MatMul", {rand_f32({3, 4}, 1), rand_f32({5, 6}, 2)});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "infer") << r.message();
  QRT_EXPECT(r.status.message().find("K=4") != std::string::npos) << r.message();
  r = run_op("MatMul", {rand_f32({2, 3, 4}, 1), rand_f32({3, 4, 5}, 2)});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "batch mismatch";
  r = run_op("MatMul", {f32({}, {1}), f32({1}, {1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "scalar operand";
}

namespace {
// Reference reduction over `axes` (already normalised), double accumulation.
std::vector<float> ref_reduce(const Val& x, const std::vector<bool>& red, int kind) {
  const Shape& s = x.shape;
  Shape o;
  for (size_t i = 0; i < s.size(); ++i) o.push_back(red[i] ? 1 : s[i]);
  std::vector<double> acc(numel(o), 0.0);
  std::vector<float> v = x.as<float>();
  size_t count = 1;
  for (size_t i = 0; i < s.size(); ++i) if (red[i]) count *= s[i];
  for (size_t f = 0; f < v.size(); ++f) {
    size_t rem = f, oi = 0, mul = 1;
    for (size_t i = s.size(); i-- > 0;) {
      size_t c = rem % s[i];
      rem /= s[i];
      oi += (red[i] ? 0 : c) * mul;
      mul *= o[i];
    }
    acc[oi] += kind == 2 ? double(v[f]) * v[f] : v[f];
  }
  std::vector<float> out;
  for (double a : acc) out.push_back(static_cast<float>(kind == 0 ? a / count : kind == 2 ? std::sqrt(a) : a));
  return out;
}
}  // namespace

QRT_TEST(FloatOps, ReduceAxesKeepdims) {
  const char* names[] = {"ReduceMean", "ReduceSum", "ReduceL2"};
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{3, 4}, {1}},    {{3, 4}, {0}},       {{3, 4}, {-1, 0}}, {{2, 3, 4}, {1}},
      {{2, 3, 4}, {0, 2}}, {{2, 3, 4}, {}},  {{2, 1, 4}, {1}},  {{5}, {0}},
      {{2, 0, 3}, {1}}, {{2, 3, 1, 5}, {0, 3}}, {{64, 500}, {1}}, {{500, 64}, {0}},
  };
  uint32_t seed = 500;
  for (int kind = 0; kind < 3; ++kind)
    for (const auto& [s, axes] : cases)
      for (int keep : {0, 1})
        for (bool as_input : {false, true}) {
          Val x = rand_f32(s, seed++);
          std::vector<Val> ins = {x};
          std::vector<AttrDef> attrs = {attr_i("keepdims", keep)};
          if (as_input) {
            ins.push_back(ints(axes));
          } else if (!axes.empty()) {
            attrs.push_back(attr_is("axes", axes));
          }
          OpOptions o;
          o.threads = 2;
          OpRun r = run_op(names[kind], ins, attrs, o);
          QRT_ASSERT_OK(r);
          std::vector<bool> red(s.size(), axes.empty());
          for (int64_t a : axes) red[a < 0 ? a + s.size() : a] = true;
          Shape want_shape;
          for (size_t i = 0; i < s.size(); ++i)
            if (!red[i] || keep) want_shape.push_back(red[i] ? 1 : s[i]);
          QRT_EXPECT(r.out[0].shape == want_shape) << names[kind] << qrt::rt::shape_str(r.out[0].shape);
          QRT_EXPECT_CLOSE_VEC(r.out[0].as<float>(), ref_reduce(x, red, kind), 1e-5f, 1e-5f);
        }
}

QRT_TEST(FloatOps, ReduceEdgeCases) {
  Val x = f32({2, 2}, {1, 2, 3, 4});
  OpRun r = run_op("ReduceSum", {x, ints({})}, {attr_i("noop_with_empty_axes", 1)});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({2, 2}) && r.out[0].as<float>() == x.as<float>());
  r = run_op("ReduceSum", {x}, {attr_i("keepdims", 0)});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({}) && r.out[0].as<float>()[0] == 10.f);
  r = run_op("ReduceSum", {f32({2, 0}, {})}, {attr_is("axes", {1})});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({0, 0}));
  r = run_op("ReduceMean", {x}, {attr_is("axes", {2})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
  r = run_op("ReduceMean", {x}, {attr_is("axes", {1, -1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "repeated axis";
  r = run_op("ReduceMean", {x, i64({1}, {1})});  // axes not known at plan time
  QRT_EXPECT(r.code() == StatusCode::kUnsupported && r.status.message().find("plan time") != std::string::npos)
      << r.message();
}

QRT_TEST(FloatOps, CastBetweenDtypes) {
  Val x = f32({6}, {-1.7f, -0.2f, 0.f, 2.5f, 300.f, NAN});
  OpOptions o;
  OpRun r = run_op("Cast", {x}, {attr_i("to", 7)});  // ONNX INT64
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].dtype == DType::kS64);
  QRT_EXPECT(r.out[0].as<int64_t>() == std::vector<int64_t>({-1, 0, 0, 2, 300, 0}));
  r = run_op("Cast", {x}, {attr_i("to", 2)});  // UINT8 saturates
  QRT_EXPECT(r.ok() && r.out[0].as<uint8_t>() == std::vector<uint8_t>({0, 0, 0, 2, 255, 0}));
  r = run_op("Cast", {x}, {attr_s("to", "bool")});
  QRT_EXPECT(r.ok() && r.out[0].as<uint8_t>() == std::vector<uint8_t>({1, 1, 0, 1, 1, 1}));
  r = run_op("Cast", {f32({3}, {1.f, 65504.f, 1e6f})}, {attr_i("to", 10)});  // FLOAT16
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].as<uint16_t>() == std::vector<uint16_t>({0x3c00, 0x7bff, 0x7c00}));
  OpRun back = run_op("Cast", {[&] { Val v = r.out[0]; return v; }()}, {attr_i("to", 1)});
  QRT_ASSERT_OK(back);
  QRT_EXPECT(back.out[0].as<float>()[1] == 65504.f && std::isinf(back.out[0].as<float>()[2]));
  r = run_op("Cast", {f32({2}, {1.f, -2.5f})}, {attr_i("to", 16)});  // BFLOAT16
  QRT_EXPECT(r.ok() && r.out[0].as<uint16_t>() == std::vector<uint16_t>({0x3f80, 0xc020}));
  r = run_op("Cast", {i64({3}, {INT64_MAX, -5, 1LL << 40})}, {attr_i("to", 6)});  // INT32 saturates
  QRT_EXPECT(r.ok() && r.out[0].as<int32_t>() == std::vector<int32_t>({INT32_MAX, -5, INT32_MAX}));
  r = run_op("Cast", {i32({2}, {7, -1})}, {attr_i("to", 1)});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({7, -1}));
  o.out_dtype = {DType::kS32};
  r = run_op("Cast", {x}, {}, o);  // target from the output record
  QRT_EXPECT(r.ok() && r.out[0].dtype == DType::kS32);
  r = run_op("Cast", {x}, {attr_i("to", 11)});  // DOUBLE
  QRT_EXPECT(r.code() == StatusCode::kUnsupported) << r.message();
  r = run_op("Cast", {x});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
  r = run_op("Identity", {u8({2}, {1, 2})});
  QRT_EXPECT(r.ok() && r.out[0].as<uint8_t>() == std::vector<uint8_t>({1, 2}));
}

// ReduceMax / ReduceMin: NaN propagates, an empty reduced set gives -inf / +inf; the innermost-
// kept (vector) form and the contiguous form agree with a direct loop.
QRT_TEST(FloatOps, ReduceMaxMinEdgeCases) {
  Val x = f32({2, 3}, {1, NAN, -2, 4, 5, -6});
  OpRun r = run_op("ReduceMax", {x}, {attr_is("axes", {1}), attr_i("keepdims", 0)});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(std::isnan(r.out[0].as<float>()[0]) && r.out[0].as<float>()[1] == 5.f);
  r = run_op("ReduceMin", {x}, {attr_is("axes", {0}), attr_i("keepdims", 0)});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].as<float>()[0] == 1.f && std::isnan(r.out[0].as<float>()[1]) &&
             r.out[0].as<float>()[2] == -6.f);
  r = run_op("ReduceMax", {f32({2, 0}, {})}, {attr_is("axes", {1})});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({-INFINITY, -INFINITY})) << r.message();
  r = run_op("ReduceMin", {f32({0, 3}, {})}, {attr_is("axes", {0})});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({INFINITY, INFINITY, INFINITY})) << r.message();
  uint32_t seed = 900;
  for (const Shape& s : {Shape{64, 500}, Shape{500, 64}, Shape{3, 7, 5}})
    for (int64_t axis : {0, -1}) {
      Val v = rand_f32(s, seed++);
      OpRun mx = run_op("ReduceMax", {v}, {attr_is("axes", {axis})});
      QRT_ASSERT_OK(mx);
      const std::vector<float> a = v.as<float>();
      const size_t n0 = s[0], rest = a.size() / n0;
      std::vector<float> want;
      if (axis == 0) {
        want.assign(rest, -INFINITY);
        for (size_t i = 0; i < n0; ++i)
          for (size_t j = 0; j < rest; ++j) want[j] = std::max(want[j], a[i * rest + j]);
      } else {
        const size_t last = s.back(), rows = a.size() / last;
        want.assign(rows, -INFINITY);
        for (size_t i = 0; i < rows; ++i)
          for (size_t j = 0; j < last; ++j) want[i] = std::max(want[i], a[i * last + j]);
      }
      QRT_EXPECT(mx.out[0].as<float>() == want) << qrt::rt::shape_str(s) << " axis " << axis;
    }
}

// ArgMax / ArgMin: a NaN is the extreme (first one, or last with select_last_index), ties go to
// the first index unless select_last_index; an empty axis has no index to return.
QRT_TEST(FloatOps, ArgMaxMinNaNTiesEmpty) {
  Val x = f32({2, 4}, {1, NAN, 3, NAN, 2, 7, 7, -1});
  OpRun r = run_op("ArgMax", {x}, {attr_i("axis", 1), attr_i("keepdims", 0)});
  QRT_EXPECT(r.ok() && r.out[0].as<int64_t>() == std::vector<int64_t>({1, 1})) << r.message();
  r = run_op("ArgMax", {x}, {attr_i("axis", 1), attr_i("select_last_index", 1)});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({2, 1}) && r.out[0].as<int64_t>() == std::vector<int64_t>({3, 2}))
      << r.message();
  r = run_op("ArgMin", {x}, {attr_i("axis", 0), attr_i("keepdims", 0)});
  QRT_EXPECT(r.ok() && r.out[0].as<int64_t>() == std::vector<int64_t>({0, 0, 0, 0})) << r.message();
  r = run_op("ArgMin", {f32({2, 0}, {})}, {attr_i("axis", 1)});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
  r = run_op("ArgMax", {f32({0, 3}, {})}, {attr_i("axis", 1)});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({0, 1})) << r.message();
}

QRT_TEST(FloatOps, CumSumAndTopKSemanticsAndErrors) {
  // CumSum: exclusive / reverse along axis 1 of [2, 3].
  Val x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  OpRun r = run_op("CumSum", {x, ints({1})});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({1, 3, 6, 4, 9, 15})) << r.message();
  r = run_op("CumSum", {x, ints({-1})}, {attr_i("exclusive", 1), attr_i("reverse", 1)});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({5, 3, 0, 11, 6, 0})) << r.message();
  r = run_op("CumSum", {x, ints({0})}, {attr_i("reverse", 1)});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({5, 7, 9, 4, 5, 6})) << r.message();
  r = run_op("CumSum", {x, ints({2})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
  r = run_op("CumSum", {x, i64({1}, {1})});  // axis not known at plan time
  QRT_EXPECT(r.code() == StatusCode::kUnsupported && r.status.message().find("plan time") != std::string::npos)
      << r.message();
  // TopK: ties by ascending index, NaN above every number, both outputs.
  Val y = f32({1, 6}, {3, NAN, 5, 3, -1, 5});
  OpOptions two;
  two.num_outputs = 2;
  r = run_op("TopK", {y, ints({4})}, {}, two);
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[1].as<int64_t>() == std::vector<int64_t>({1, 2, 5, 0})) << "largest";
  QRT_EXPECT(r.out[0].shape == Shape({1, 4}) && r.out[0].as<float>()[2] == 5.f && r.out[0].as<float>()[3] == 3.f);
  r = run_op("TopK", {y, ints({3})}, {attr_i("largest", 0)}, two);
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[1].as<int64_t>() == std::vector<int64_t>({4, 0, 3})) << "smallest";
  r = run_op("TopK", {y, ints({0})}, {}, two);
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({1, 0})) << r.message();
  r = run_op("TopK", {y, ints({7})}, {}, two);
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.status.message().find("[0, 6]") != std::string::npos)
      << r.message();
  r = run_op("TopK", {y, i64({1}, {2})}, {}, two);  // K not known at plan time
  QRT_EXPECT(r.code() == StatusCode::kUnsupported) << r.message();
  r = run_op("TopK", {f32({}, {1.f}), ints({1})}, {}, two);
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
}
