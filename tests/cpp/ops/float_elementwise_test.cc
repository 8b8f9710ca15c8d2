// Broadcasting elementwise ops (Add Sub Mul Div Pow Min Max Equal Where) through the Op interface:
// random shapes against a naive numpy-style reference, degenerate shapes, dtypes, error paths.
#include <cmath>
#include <functional>

#include "ops/float_op_direct_util.h"

using namespace qrt_test::ops;

namespace {

// Naive reference: index every output element into each operand with numpy rules.
Shape bshape(const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape o(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    o[i] = da == 1 ? db : da;
  }
  return o;
}
size_t bindex(const Shape& out, size_t flat, const Shape& in) {
  size_t idx = 0, mul = 1;
  for (size_t i = out.size(); i-- > 0;) {
    size_t coord = flat % out[i];
    flat /= out[i];
    size_t k = i + in.size();
    if (k < out.size()) continue;
    k -= out.size();
    size_t d = static_cast<size_t>(in[k]);
    idx += (d == 1 ? 0 : coord) * mul;
    mul *= d;
  }
  return idx;
}
std::vector<float> ref_binary(const Val& a, const Val& b, const std::function<float(float, float)>& f) {
  Shape o = bshape(a.shape, b.shape);
  std::vector<float> av = a.as<float>(), bv = b.as<float>(), r(numel(o));
  for (size_t i = 0; i < r.size(); ++i) r[i] = f(av[bindex(o, i, a.shape)], bv[bindex(o, i, b.shape)]);
  return r;
}

const std::vector<std::pair<Shape, Shape>> kShapes = {
    {{2, 3}, {2, 3}},       {{2, 3}, {3}},          {{3}, {2, 3}},        {{2, 1, 4}, {3, 1}},
    {{1}, {5, 1, 7}},       {{}, {4, 5}},           {{4, 5}, {}},         {{}, {}},
    {{2, 3, 4, 5}, {1, 3, 1, 1}}, {{1, 3, 1, 5}, {2, 1, 4, 1}}, {{0, 3}, {3}}, {{2, 0, 3}, {1, 1}},
    {{7, 1}, {1, 1}},       {{64, 300}, {300}},     {{64, 1}, {64, 300}},
};

}  // namespace

QRT_TEST(FloatOps, BinaryBroadcastAgainstReference) {
  struct B { const char* op; std::function<float(float, float)> f; };
  const std::vector<B> ops = {
      {"Add", [](float x, float y) { return x + y; }},
      {"Sub", [](float x, float y) { return x - y; }},
      {"Mul", [](float x, float y) { return x * y; }},
      {"Div", [](float x, float y) { return x / y; }},
      {"Min", [](float x, float y) { return std::min(x, y); }},
      {"Max", [](float x, float y) { return std::max(x, y); }},
      {"Pow", [](float x, float y) { return std::pow(std::fabs(x), y); }},
  };
  uint32_t seed = 1;
  for (const B& b : ops)
    for (const auto& [sa, sb] : kShapes)
      for (int threads : {1, 3}) {
        Val a = rand_f32(sa, seed++), bv = rand_f32(sb, seed++, 0.5f, 2.f);
        if (std::string(b.op) == "Pow") {
          std::vector<float> v = a.as<float>();
          for (float& x : v) x = std::fabs(x);
          a = f32(sa, v);
        }
        OpOptions o;
        o.threads = threads;
        OpRun r = run_op(b.op, {a, bv}, {}, o);
        QRT_ASSERT_OK(r);
        QRT_EXPECT(r.out[0].shape == bshape(sa, sb)) << b.op;
        QRT_EXPECT_CLOSE_VEC(r.out[0].as<float>(), ref_binary(a, bv, b.f), 1e-6f, 1e-6f);
      }
}

QRT_TEST(FloatOps, IntegerShapeArithmetic) {
  OpRun r = run_op("Mul", {i64({3}, {2, 3, 4}), i64({}, {-5})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].as<int64_t>() == std::vector<int64_t>({-10, -15, -20}));
  r = run_op("Div", {i64({3}, {7, -7, 9}), i64({}, {2})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].as<int64_t>() == std::vector<int64_t>({3, -3, 4}));  // truncation
  r = run_op("Sub", {i32({2}, {1, 2}), i32({2}, {5, 5})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].dtype == DType::kS32);
  QRT_EXPECT(r.out[0].as<int32_t>() == std::vector<int32_t>({-4, -3}));
  r = run_op("Add", {i64({2}, {INT64_MAX, 1}), i64({2}, {0, 1})});
  QRT_EXPECT(r.ok() && r.out[0].as<int64_t>()[1] == 2);
  r = run_op("Div", {i64({2}, {1, 2}), i64({2}, {1, 0})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
  QRT_EXPECT(r.status.message().find("division by zero") != std::string::npos) << r.message();
  r = run_op("Div", {i64({1}, {INT64_MIN}), i64({1}, {-1})});
  QRT_EXPECT(r.ok() && r.out[0].as<int64_t>()[0] == INT64_MIN);
}

QRT_TEST(FloatOps, VariadicMinMaxAndNaN) {
  OpRun r = run_op("Max", {f32({3}, {1, 5, 2}), f32({1}, {3}), f32({2, 1}, {0, 10})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].shape == Shape({2, 3}));
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({3, 5, 3, 10, 10, 10}));
  r = run_op("Min", {f32({2}, {1, -1})});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({1, -1}));
  r = run_op("Min", {f32({2}, {NAN, 1}), f32({2}, {0, 2})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(std::isnan(r.out[0].as<float>()[0]));
  QRT_EXPECT(r.out[0].as<float>()[1] == 1.f);
}

QRT_TEST(FloatOps, PowIntegerExponent) {
  OpRun r = run_op("Pow", {f32({2, 2}, {1, 2, 3, 4}), i64({2}, {2, 3})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({1, 8, 9, 64}));
}

QRT_TEST(FloatOps, EqualAndWhere) {
  OpRun r = run_op("Equal", {i64({2, 2}, {1, 2, 3, 4}), i64({2}, {1, 4})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].dtype == DType::kBool);
  QRT_EXPECT(r.out[0].as<uint8_t>() == std::vector<uint8_t>({1, 0, 0, 1}));
  r = run_op("Equal", {f32({2}, {1.f, NAN}), f32({2}, {1.f, NAN})});
  QRT_EXPECT(r.ok() && r.out[0].as<uint8_t>() == std::vector<uint8_t>({1, 0}));
  r = run_op("Where", {boolv({2, 1}, {1, 0}), f32({3}, {1, 2, 3}), f32({}, {-1})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].shape == Shape({2, 3}));
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({1, 2, 3, -1, -1, -1}));
  r = run_op("Where", {boolv({3}, {0, 1, 0}), i64({3}, {1, 2, 3}), i64({1}, {9})});
  QRT_EXPECT(r.ok() && r.out[0].as<int64_t>() == std::vector<int64_t>({9, 2, 9}));
  r = run_op("Where", {f32({1}, {1}), f32({1}, {1}), f32({1}, {1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
}

QRT_TEST(FloatOps, QuantizedAddRequantizes) {
  QuantParams q;
  q.scales = {0.5f};
  q.zero_points = {10};
  OpOptions o;
  o.out_quant = {q};
  // a: 0.1*(q-0), b: 0.2*(q-128); out 0.5*(q-10)
  OpRun r = run_op("Add", {with_quant(u8({3}, {0, 50, 255}), 0.1f, 0),
                           with_quant(u8({1}, {138}), 0.2f, 128)}, {}, o);
  QRT_ASSERT_OK(r);
  // reals: 0+2=2 -> 14; 5+2=7 -> 24; 25.5+2=27.5 -> 55+10=65
  QRT_EXPECT(r.out[0].as<uint8_t>() == std::vector<uint8_t>({14, 24, 65}));
  r = run_op("Add", {u8({1}, {1}), u8({1}, {1})});
  QRT_EXPECT(r.code() == StatusCode::kUnsupported) << "raw u8 arithmetic" << r.message();
  r = run_op("Add", {with_quant(u8({1}, {1}), 0.5f, 0), u8({1}, {1})}, {}, o);
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "missing quant params" << r.message();
}

QRT_TEST(FloatOps, PReluBroadcastsTheSlopeToX) {
  // The slope broadcasts to X one way: per channel ([C, 1, 1] against NCHW, [C] against NHWC),
  // scalar, and X's own shape. Negative x scale by the slope, NaN stays NaN.
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3, 4, 5}, {3, 1, 1}}, {{2, 4, 5, 3}, {3}}, {{7}, {1}}, {{2, 3}, {2, 3}}, {{0, 3}, {3}}};
  uint32_t seed = 100;
  for (const auto& [sx, ss] : shapes)
    for (int threads : {1, 3}) {
      Val x = rand_f32(sx, seed++), sl = rand_f32(ss, seed++, -1.f, 1.f);
      OpOptions o;
      o.threads = threads;
      OpRun r = run_op("PRelu", {x, sl}, {}, o);
      QRT_ASSERT_OK(r);
      QRT_EXPECT(r.out[0].shape == sx);
      QRT_EXPECT_CLOSE_VEC(r.out[0].as<float>(),
                           ref_binary(x, sl, [](float v, float k) { return v < 0 ? k * v : v; }), 0.f, 0.f);
    }
  OpRun r = run_op("PRelu", {f32({2}, {std::nanf(""), -2.f}), f32({1}, {0.5f})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(std::isnan(r.out[0].as<float>()[0]) && r.out[0].as<float>()[1] == -1.f);
  // X must not grow: a slope of higher rank or a larger dimension is an error naming both shapes.
  r = run_op("PRelu", {f32({3}, std::vector<float>(3)), f32({2, 3}, std::vector<float>(6))});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "infer") << r.message();
  QRT_EXPECT(r.status.message().find("[2, 3]") != std::string::npos) << r.message();
  r = run_op("PRelu", {i64({1}, {1}), i64({1}, {1})});
  QRT_EXPECT(r.code() == StatusCode::kUnsupported || r.code() == StatusCode::kInvalidArgument) << r.message();
}

QRT_TEST(FloatOps, BinaryErrors) {
  OpRun r = run_op("Add", {f32({2, 3}, std::vector<float>(6)), f32({2}, {0, 0})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "infer") << r.message();
  QRT_EXPECT(r.status.message().find("[2, 3]") != std::string::npos) << r.message();
  r = run_op("Add", {f32({1}, {0}), i64({1}, {0})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "dtype mismatch";
  r = run_op("Sub", {f32({1}, {0})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "create");
  r = run_op("Pow", {i64({1}, {2}), i64({1}, {2})});
  QRT_EXPECT(r.code() == StatusCode::kUnsupported) << r.message();
}
