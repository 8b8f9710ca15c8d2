// Unary activations, Softmax, LayerNormalization, BatchNormalization through the Op interface,
// against straightforward double-precision references.
#include <cmath>
#include <functional>

#include "ops/float_op_direct_util.h"

using namespace qrt_test::ops;

QRT_TEST(FloatOps, UnaryAgainstReference) {
  struct U { const char* op; std::vector<AttrDef> attrs; std::function<double(double)> f; float lo, hi; };
  const double s2 = std::sqrt(2.0);
  const std::vector<U> ops = {
      {"Sqrt", {}, [](double x) { return std::sqrt(x); }, 0.f, 4.f},
      {"Neg", {}, [](double x) { return -x; }, -4.f, 4.f},
      {"Exp", {}, [](double x) { return std::exp(x); }, -8.f, 8.f},
      {"Log", {}, [](double x) { return std::log(x); }, 0.01f, 8.f},
      {"Abs", {}, [](double x) { return std::fabs(x); }, -4.f, 4.f},
      {"Relu", {}, [](double x) { return x > 0 ? x : 0; }, -4.f, 4.f},
      {"LeakyRelu", {attr_f("alpha", 0.1f)}, [](double x) { return x >= 0 ? x : 0.1 * x; }, -4.f, 4.f},
      {"Sigmoid", {}, [](double x) { return 1 / (1 + std::exp(-x)); }, -30.f, 30.f},
      {"Tanh", {}, [](double x) { return std::tanh(x); }, -6.f, 6.f},
      {"Erf", {}, [](double x) { return std::erf(x); }, -4.f, 4.f},
      {"Gelu", {}, [s2](double x) { return 0.5 * x * (1 + std::erf(x / s2)); }, -6.f, 6.f},
      {"Gelu", {attr_s("approximate", "tanh")},
       [](double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }, -6.f, 6.f},
      {"Silu", {}, [](double x) { return x / (1 + std::exp(-x)); }, -20.f, 20.f},
      {"HardSigmoid", {}, [](double x) { return std::max(0.0, std::min(1.0, 0.2 * x + 0.5)); }, -4.f, 4.f},
      {"HardSigmoid", {attr_f("alpha", 0.5f), attr_f("beta", 0.25f)},
       [](double x) { return std::max(0.0, std::min(1.0, 0.5 * x + 0.25)); }, -4.f, 4.f},
      {"HardSwish", {}, [](double x) { return x * std::max(0.0, std::min(1.0, x / 6 + 0.5)); }, -5.f, 5.f},
  };
  uint32_t seed = 100;
  for (const U& u : ops)
    for (const Shape& s : {Shape{}, Shape{0}, Shape{7}, Shape{3, 50000}})
      for (int threads : {1, 2}) {
        Val x = rand_f32(s, seed++, u.lo, u.hi);
        OpOptions o;
        o.threads = threads;
        OpRun r = run_op(u.op, {x}, u.attrs, o);
        QRT_ASSERT_OK(r);
        QRT_EXPECT(r.out[0].shape == s) << u.op;
        std::vector<float> want;
        for (float v : x.as<float>()) want.push_back(static_cast<float>(u.f(v)));
        QRT_EXPECT_CLOSE_VEC(r.out[0].as<float>(), want, 1e-6f, 2e-6f);
      }
}

QRT_TEST(FloatOps, UnaryIntegerAndErrors) {
  OpRun r = run_op("Abs", {i64({3}, {-3, 0, INT64_MIN + 1})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].as<int64_t>() == std::vector<int64_t>({3, 0, INT64_MAX}));
  r = run_op("Neg", {i32({2}, {5, -7})});
  QRT_EXPECT(r.ok() && r.out[0].as<int32_t>() == std::vector<int32_t>({-5, 7}));
  r = run_op("Exp", {i64({1}, {1})});  // ONNX allows it, qrt does not implement it
  QRT_EXPECT(r.code() == StatusCode::kUnsupported && r.stage == "infer") << r.message();
  r = run_op("Gelu", {f32({1}, {1})}, {attr_s("approximate", "fast")});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "create") << r.message();
  r = run_op("Relu", {f32({1}, {1}), f32({1}, {1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "create");
  r = run_op("LeakyRelu", {f32({1}, {1})}, {attr_s("alpha", "x")});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "attribute of the wrong type";
}

QRT_TEST(FloatOps, ClipInputsAndAttributes) {
  Val x = f32({5}, {-3, -1, 0, 1, 3});
  OpRun r = run_op("Clip", {x, f32({}, {-1.5f}), f32({}, {2.f})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({-1.5f, -1, 0, 1, 2}));
  r = run_op("Clip", {x, none(), f32({}, {0.5f})});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({-3, -1, 0, 0.5f, 0.5f}));
  r = run_op("Clip", {x});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == x.as<float>());
  r = run_op("Clip", {x}, {attr_f("min", 0.f), attr_f("max", 6.f)});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({0, 0, 0, 1, 3}));
  r = run_op("Clip", {x, f32({}, {2.f}), f32({}, {1.f})});  // min > max: all max
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({1, 1, 1, 1, 1}));
  r = run_op("Clip", {x, f32({2}, {0, 1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
}

namespace {
std::vector<float> ref_softmax(const Val& x, int64_t axis) {
  const Shape& s = x.shape;
  if (axis < 0) axis += static_cast<int64_t>(s.size());
  size_t outer = 1, n = s[axis], inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[i];
  for (size_t i = axis + 1; i < s.size(); ++i) inner *= s[i];
  std::vector<float> v = x.as<float>(), y(v.size());
  for (size_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < inner; ++i) {
      double mx = -INFINITY, sum = 0;
      for (size_t k = 0; k < n; ++k) mx = std::max<double>(mx, v[(o * n + k) * inner + i]);
      for (size_t k = 0; k < n; ++k) sum += std::exp(v[(o * n + k) * inner + i] - mx);
      for (size_t k = 0; k < n; ++k)
        y[(o * n + k) * inner + i] = static_cast<float>(std::exp(v[(o * n + k) * inner + i] - mx) / sum);
    }
  return y;
}
}  // namespace

QRT_TEST(FloatOps, SoftmaxAxes) {
  uint32_t seed = 7;
  for (const Shape& s : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}, Shape{2, 0, 3}, Shape{64, 1000}})
    for (int64_t axis = -static_cast<int64_t>(s.size()); axis < static_cast<int64_t>(s.size()); ++axis)
      for (int threads : {1, 2}) {
        Val x = rand_f32(s, seed++, -20.f, 20.f);
        OpOptions o;
        o.threads = threads;
        OpRun r = run_op("Softmax", {x}, {attr_i("axis", axis)}, o);
        QRT_ASSERT_OK(r);
        QRT_EXPECT_CLOSE_VEC(r.out[0].as<float>(), ref_softmax(x, axis), 1e-7f, 1e-5f);
      }
  OpRun r = run_op("Softmax", {f32({2, 2}, {1, 2, 3, 4})}, {attr_i("axis", 2)});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
  r = run_op("Softmax", {f32({}, {1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
  r = run_op("Softmax", {f32({3}, {1000, 1000, -INFINITY})});  // large values: no overflow
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({0.5f, 0.5f, 0.f}));
}

QRT_TEST(FloatOps, LayerNormalization) {
  Val x = rand_f32({2, 3, 8}, 11, -3.f, 3.f);
  for (int64_t axis : {-1, 1, -2, 0}) {
    int64_t a = axis < 0 ? axis + 3 : axis;
    Shape ns(x.shape.begin() + a, x.shape.end());
    Val scale = rand_f32(ns, 12), bias = rand_f32(ns, 13);
    OpOptions o;
    o.num_outputs = 3;
    OpRun r = run_op("LayerNormalization", {x, scale, bias},
                     {attr_i("axis", axis), attr_f("epsilon", 1e-3f)}, o);
    QRT_ASSERT_OK(r);
    size_t n = numel(ns), rows = numel(x.shape) / n;
    std::vector<float> xv = x.as<float>(), sv = scale.as<float>(), bv = bias.as<float>(), want, mean, inv;
    for (size_t row = 0; row < rows; ++row) {
      double m = 0, v = 0;
      for (size_t i = 0; i < n; ++i) m += xv[row * n + i];
      m /= n;
      for (size_t i = 0; i < n; ++i) v += (xv[row * n + i] - m) * (xv[row * n + i] - m);
      v /= n;
      double is = 1 / std::sqrt(v + 1e-3);
      for (size_t i = 0; i < n; ++i) want.push_back(static_cast<float>((xv[row * n + i] - m) * is * sv[i] + bv[i]));
      mean.push_back(static_cast<float>(m));
      inv.push_back(static_cast<float>(is));
    }
    QRT_EXPECT_CLOSE_VEC(r.out[0].as<float>(), want, 1e-5f, 1e-5f);
    QRT_EXPECT_CLOSE_VEC(r.out[1].as<float>(), mean, 1e-6f, 1e-5f);
    QRT_EXPECT_CLOSE_VEC(r.out[2].as<float>(), inv, 1e-6f, 1e-5f);
    Shape stat = x.shape;
    for (size_t i = a; i < 3; ++i) stat[i] = 1;
    QRT_EXPECT(r.out[1].shape == stat);
  }
  // Broadcast scale, no bias.
  OpRun r = run_op("LayerNormalization", {f32({2, 2}, {1, 3, 5, 5}), f32({1}, {2})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT_CLOSE_VEC(r.out[0].as<float>(), std::vector<float>({-2, 2, 0, 0}), 1e-3f, 1e-3f);
  r = run_op("LayerNormalization", {f32({2, 2}, {1, 3, 5, 5}), f32({3}, {1, 1, 1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
  r = run_op("LayerNormalization", {f32({2, 2}, {1, 3, 5, 5}), f32({2}, {1, 1})}, {attr_i("axis", 2)});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
}

QRT_TEST(FloatOps, BatchNormalizationInference) {
  Val x = rand_f32({2, 3, 2, 2}, 21);
  Val sc = f32({3}, {1, 2, 0.5f}), b = f32({3}, {0, 1, -1}), m = f32({3}, {0.1f, -0.2f, 0.3f}),
      v = f32({3}, {1, 4, 0.25f});
  OpRun r = run_op("BatchNormalization", {x, sc, b, m, v}, {attr_f("epsilon", 1e-5f)});
  QRT_ASSERT_OK(r);
  std::vector<float> xv = x.as<float>(), want;
  for (size_t i = 0; i < xv.size(); ++i) {
    size_t c = (i / 4) % 3;
    want.push_back(static_cast<float>((xv[i] - m.as<float>()[c]) / std::sqrt(v.as<float>()[c] + 1e-5) *
                                      sc.as<float>()[c] + b.as<float>()[c]));
  }
  QRT_EXPECT_CLOSE_VEC(r.out[0].as<float>(), want, 1e-5f, 1e-5f);
  r = run_op("BatchNormalization", {f32({2, 3}, std::vector<float>(6, 1)), sc, b, m, v});
  QRT_EXPECT(r.ok());
  r = run_op("BatchNormalization", {x, f32({2}, {1, 1}), b, m, v});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
  r = run_op("BatchNormalization", {x, sc, b, m, v}, {attr_i("training_mode", 1)});
  QRT_EXPECT(r.code() == StatusCode::kUnsupported);
}
