// Shape op group through the Op interface: Reshape Flatten Squeeze Unsqueeze Transpose Concat
// Split Slice Gather Expand Tile Shape Range ConstantOfShape; u8 pass-through and error paths.
#include <numeric>

#include "ops/float_op_direct_util.h"

using namespace qrt_test::ops;

namespace {
Val iota_f32(Shape s) {
  std::vector<float> v(numel(s));
  std::iota(v.begin(), v.end(), 0.f);
  return f32(std::move(s), v);
}
Val iota_u8(Shape s) {
  std::vector<uint8_t> v(numel(s));
  std::iota(v.begin(), v.end(), 0);
  return with_quant(u8(std::move(s), v), 0.5f, 3);
}
OpOptions quant_out(float scale, int32_t zp, size_t n = 1) {
  OpOptions o;
  o.num_outputs = n;
  QuantParams q;
  q.scales = {scale};
  q.zero_points = {zp};
  o.out_quant.assign(n, q);
  return o;
}
}  // namespace

QRT_TEST(ShapeOps, Reshape) {
  Val x = iota_f32({2, 3, 4});
  struct C { std::vector<int64_t> shape; Shape want; int64_t allowzero; };
  for (const C& c : std::vector<C>{{{4, 6}, {4, 6}, 0}, {{-1}, {24}, 0}, {{0, -1}, {2, 12}, 0},
                                   {{0, 0, 2, 2}, {2, 3, 2, 2}, 0}, {{2, -1, 2}, {2, 6, 2}, 0},
                                   {{24, 1}, {24, 1}, 0}}) {
    OpRun r = run_op("Reshape", {x, ints(c.shape)}, {attr_i("allowzero", c.allowzero)});
    QRT_ASSERT_OK(r);
    QRT_EXPECT(r.out[0].shape == c.want) << qrt::rt::shape_str(r.out[0].shape);
    QRT_EXPECT(r.out[0].as<float>() == x.as<float>());
  }
  OpRun r = run_op("Reshape", {f32({0, 3}, {}), ints({0, 5})}, {attr_i("allowzero", 1)});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({0, 5})) << r.message();
  r = run_op("Reshape", {f32({}, {7}), ints({1, 1})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({1, 1}));
  r = run_op("Reshape", {f32({1}, {7}), ints({})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({}));
  r = run_op("Reshape", {iota_u8({2, 2}), ints({4})}, {}, quant_out(0.5f, 3));
  QRT_EXPECT(r.ok() && r.out[0].dtype == DType::kU8 && r.out[0].as<uint8_t>().size() == 4);
  // Errors.
  r = run_op("Reshape", {x, ints({5, 5})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "infer") << r.message();
  QRT_EXPECT(r.status.message().find("n0") != std::string::npos);
  r = run_op("Reshape", {x, ints({-1, -1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
  r = run_op("Reshape", {x, ints({0, -1})}, {attr_i("allowzero", 1)});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
  r = run_op("Reshape", {x, i64({2}, {4, 6})});  // not known at plan time
  QRT_EXPECT(r.code() == StatusCode::kUnsupported) << r.message();
  QRT_EXPECT(r.status.message().find("plan time") != std::string::npos);
  r = run_op("Reshape", {x, known(f32({1}, {24}))});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "f32 shape input";
  r = run_op("Reshape", {iota_u8({2, 2}), ints({4})}, {}, quant_out(0.25f, 3));
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "quant records disagree";
}

QRT_TEST(ShapeOps, FlattenSqueezeUnsqueeze) {
  Val x = iota_f32({2, 3, 4});
  const std::vector<std::pair<int64_t, Shape>> flat = {
      {0, {1, 24}}, {1, {2, 12}}, {2, {6, 4}}, {3, {24, 1}}, {-1, {6, 4}}, {-3, {1, 24}}};
  for (const auto& [axis, want] : flat) {
    OpRun r = run_op("Flatten", {x}, {attr_i("axis", axis)});
    QRT_EXPECT(r.ok() && r.out[0].shape == want) << axis;
  }
  QRT_EXPECT(run_op("Flatten", {x}, {attr_i("axis", 4)}).code() == StatusCode::kInvalidArgument);
  Val y = iota_f32({1, 3, 1, 2});
  OpRun r = run_op("Squeeze", {y});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({3, 2}));
  r = run_op("Squeeze", {y, ints({-2})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({1, 3, 2}));
  r = run_op("Squeeze", {y}, {attr_is("axes", {0})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({3, 1, 2}));
  r = run_op("Squeeze", {y, ints({1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
  r = run_op("Unsqueeze", {iota_f32({3, 2}), ints({0, -1})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({1, 3, 2, 1}));
  r = run_op("Unsqueeze", {f32({}, {5}), ints({0})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({1}) && r.out[0].as<float>()[0] == 5.f);
  r = run_op("Unsqueeze", {iota_f32({3}), ints({1})}, {}, {});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({3, 1}));
  r = run_op("Unsqueeze", {iota_f32({3}), ints({0, 0})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
  r = run_op("Unsqueeze", {iota_f32({3}), ints({3})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
  r = run_op("Unsqueeze", {iota_f32({3})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "create");
}

QRT_TEST(ShapeOps, TransposeAgainstReference) {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{2, 3}, {1, 0}},         {{2, 3, 4}, {0, 2, 1}},  {{2, 3, 4}, {2, 0, 1}},
      {{2, 3, 4, 5}, {0, 2, 3, 1}}, {{2, 3, 4, 5}, {0, 3, 1, 2}}, {{1, 3, 1, 5}, {3, 2, 1, 0}},
      {{4}, {0}},               {{}, {}},                {{2, 0, 3}, {2, 1, 0}},
      {{70, 90}, {1, 0}},       {{2, 3, 4}, {}},
  };
  for (const auto& [s, perm] : cases)
    for (int es : {1, 4}) {
      Val x = es == 1 ? iota_u8(s) : iota_f32(s);
      if (es == 1) {
        std::vector<uint8_t> v(numel(s));
        for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i * 7);
        x = with_quant(u8(s, v), 0.5f, 3);
      }
      std::vector<int64_t> p = perm;
      std::vector<AttrDef> attrs;
      if (perm.empty() && !s.empty()) {
        for (size_t i = 0; i < s.size(); ++i) p.push_back(s.size() - 1 - i);
      } else {
        attrs.push_back(attr_is("perm", perm));
      }
      OpOptions o = es == 1 ? quant_out(0.5f, 3) : OpOptions{};
      o.threads = 2;
      OpRun r = run_op("Transpose", {x}, attrs, o);
      QRT_ASSERT_OK(r);
      Shape os;
      for (int64_t a : p) os.push_back(s[a]);
      QRT_EXPECT(r.out[0].shape == os);
      // Reference gather.
      std::vector<int64_t> ist(s.size());
      int64_t acc = 1;
      for (size_t i = s.size(); i-- > 0;) { ist[i] = acc; acc *= s[i]; }
      bool ok = true;
      for (size_t f = 0; f < numel(os) && ok; ++f) {
        size_t rem = f, src = 0;
        for (size_t i = os.size(); i-- > 0;) {
          src += (rem % os[i]) * ist[p[i]];
          rem /= os[i];
        }
        ok = std::memcmp(&r.out[0].bytes[f * es], &x.bytes[src * es], es) == 0;
      }
      QRT_EXPECT(ok) << qrt::rt::shape_str(s) << qrt::rt::shape_str(perm);
    }
  QRT_EXPECT(run_op("Transpose", {iota_f32({2, 3})}, {attr_is("perm", {0, 0})}).code() ==
             StatusCode::kInvalidArgument);
  QRT_EXPECT(run_op("Transpose", {iota_f32({2, 3})}, {attr_is("perm", {0})}).code() ==
             StatusCode::kInvalidArgument);
}

QRT_TEST(ShapeOps, ConcatAndSplit) {
  OpRun r = run_op("Concat", {iota_f32({2, 2}), f32({2, 1}, {9, 8}), f32({2, 0}, {})}, {attr_i("axis", -1)});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].shape == Shape({2, 3}));
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({0, 1, 9, 2, 3, 8}));
  r = run_op("Concat", {i64({1}, {1}), i64({2}, {2, 3})}, {attr_i("axis", 0)});
  QRT_EXPECT(r.ok() && r.out[0].as<int64_t>() == std::vector<int64_t>({1, 2, 3}));
  // u8 with matching records: bytes copied; with differing records: requantized.
  r = run_op("Concat", {iota_u8({2}), iota_u8({1})}, {attr_i("axis", 0)}, quant_out(0.5f, 3));
  QRT_EXPECT(r.ok() && r.out[0].as<uint8_t>() == std::vector<uint8_t>({0, 1, 0}));
  Val other = with_quant(u8({2}, {10, 250}), 1.0f, 0);  // reals 10, 250 -> q = 2*r + 3
  r = run_op("Concat", {iota_u8({2}), other}, {attr_i("axis", 0)}, quant_out(0.5f, 3));
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].as<uint8_t>() == std::vector<uint8_t>({0, 1, 23, 255}));
  r = run_op("Concat", {iota_f32({2, 2}), iota_f32({3, 3})}, {attr_i("axis", 0)});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
  r = run_op("Concat", {iota_f32({2}), i64({1}, {1})}, {attr_i("axis", 0)});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
  r = run_op("Concat", {iota_f32({2})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "create") << "axis required";

  Val x = iota_f32({2, 5});
  OpOptions o2;
  o2.num_outputs = 2;
  r = run_op("Split", {x, ints({2, 3})}, {attr_i("axis", 1)}, o2);
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].shape == Shape({2, 2}) && r.out[1].shape == Shape({2, 3}));
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({0, 1, 5, 6}));
  QRT_EXPECT(r.out[1].as<float>() == std::vector<float>({2, 3, 4, 7, 8, 9}));
  OpOptions o3;
  o3.num_outputs = 3;
  r = run_op("Split", {iota_f32({7})}, {attr_i("num_outputs", 3)}, o3);
  QRT_EXPECT(r.ok() && r.out[2].shape == Shape({1}) && r.out[2].as<float>()[0] == 6.f) << r.message();
  r = run_op("Split", {iota_f32({6})}, {}, o3);
  QRT_EXPECT(r.ok() && r.out[1].as<float>() == std::vector<float>({2, 3}));
  r = run_op("Split", {iota_f32({7})}, {}, o3);
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
  r = run_op("Split", {x, ints({2, 2})}, {attr_i("axis", 1)}, o2);
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
}

QRT_TEST(ShapeOps, SliceSemantics) {
  Val x = iota_f32({3, 4});
  struct C { std::vector<int64_t> st, en, ax, sp; Shape want_shape; std::vector<float> want; };
  const int64_t BIG = INT64_MAX, SMALL = INT64_MIN;
  const std::vector<C> cases = {
      {{1}, {3}, {0}, {}, {2, 4}, {4, 5, 6, 7, 8, 9, 10, 11}},
      {{0, 1}, {BIG, -1}, {}, {}, {3, 2}, {1, 2, 5, 6, 9, 10}},
      {{-1}, {SMALL}, {1}, {-1}, {3, 4}, {3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8}},
      {{0}, {BIG}, {-1}, {2}, {3, 2}, {0, 2, 4, 6, 8, 10}},
      {{2}, {0}, {0}, {-2}, {1, 4}, {8, 9, 10, 11}},
      {{5}, {10}, {1}, {}, {3, 0}, {}},
      {{-100}, {100}, {0}, {}, {3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
      {{3}, {1}, {0}, {1}, {0, 4}, {}},
      {{1, 3}, {2, 0}, {0, 1}, {1, -1}, {1, 3}, {7, 6, 5}},
  };
  for (const C& c : cases) {
    std::vector<Val> ins = {x, ints(c.st), ints(c.en)};
    if (!c.ax.empty()) ins.push_back(ints(c.ax));
    if (!c.sp.empty()) {
      if (c.ax.empty()) ins.push_back(none());
      ins.push_back(ints(c.sp));
    }
    OpRun r = run_op("Slice", ins);
    QRT_ASSERT_OK(r);
    QRT_EXPECT(r.out[0].shape == c.want_shape) << qrt::rt::shape_str(r.out[0].shape);
    QRT_EXPECT(r.out[0].as<float>() == c.want);
  }
  OpRun r = run_op("Slice", {x}, {attr_is("starts", {1}), attr_is("ends", {2}), attr_is("axes", {1})});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({1, 5, 9}));
  r = run_op("Slice", {iota_u8({4}), ints({1}), ints({3})}, {}, quant_out(0.5f, 3));
  QRT_EXPECT(r.ok() && r.out[0].as<uint8_t>() == std::vector<uint8_t>({1, 2}));
  r = run_op("Slice", {x, ints({0}), ints({1}), ints({0}), ints({0})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "step 0";
  r = run_op("Slice", {x, ints({0}), ints({1}), ints({2})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "axis out of range";
  r = run_op("Slice", {x, ints({0, 0}), ints({1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "length mismatch";
  r = run_op("Slice", {x, i64({1}, {0}), ints({1})});
  QRT_EXPECT(r.code() == StatusCode::kUnsupported) << r.message();
}

QRT_TEST(ShapeOps, GatherIndices) {
  Val x = iota_f32({3, 2});
  OpRun r = run_op("Gather", {x, i64({2}, {2, -3})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].shape == Shape({2, 2}) && r.out[0].as<float>() == std::vector<float>({4, 5, 0, 1}));
  r = run_op("Gather", {x, i32({2, 1}, {1, 0})}, {attr_i("axis", -1)});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({3, 2, 1}));
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({1, 0, 3, 2, 5, 4}));
  r = run_op("Gather", {i64({4}, {10, 20, 30, 40}), known(i64({}, {-1}))});  // shape arithmetic
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({}) && r.out[0].as<int64_t>()[0] == 40);
  r = run_op("Gather", {x, i64({0}, {})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({0, 2}));
  r = run_op("Gather", {iota_u8({4}), i64({1}, {3})}, {}, quant_out(0.5f, 3));
  QRT_EXPECT(r.ok() && r.out[0].as<uint8_t>()[0] == 3);
  // Out of range: a run-time error when indices are activations, infer-time when known.
  r = run_op("Gather", {x, i64({2}, {0, 3})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "run") << r.message();
  QRT_EXPECT(r.status.message().find("index 3 is out of range") != std::string::npos) << r.message();
  r = run_op("Gather", {x, i64({1}, {-4})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "run");
  r = run_op("Gather", {x, known(i64({1}, {7}))});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument && r.stage == "infer");
  r = run_op("Gather", {x, f32({1}, {0})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
  r = run_op("Gather", {x, i64({1}, {0})}, {attr_i("axis", 2)});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
}

QRT_TEST(ShapeOps, ExpandTile) {
  OpRun r = run_op("Expand", {f32({3, 1}, {1, 2, 3}), ints({2, 1, 2})}, {}, {});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].shape == Shape({2, 3, 2}));
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
  r = run_op("Expand", {f32({3}, {1, 2, 3}), ints({1})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({3}));
  r = run_op("Expand", {i64({}, {4}), ints({2, 0})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({2, 0}));
  r = run_op("Expand", {f32({3}, {1, 2, 3}), ints({2})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << r.message();
  r = run_op("Tile", {f32({2, 2}, {1, 2, 3, 4}), ints({2, 3})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].shape == Shape({4, 6}));
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4,
                                                         1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}));
  r = run_op("Tile", {f32({2}, {1, 2}), ints({0})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({0}));
  r = run_op("Tile", {f32({2}, {1, 2}), ints({1, 1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
}

QRT_TEST(ShapeOps, ShapeRangeConstantOfShape) {
  Val x = iota_f32({2, 3, 4});
  OpRun r = run_op("Shape", {x});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].dtype == DType::kS64 && r.out[0].as<int64_t>() == std::vector<int64_t>({2, 3, 4}));
  QRT_EXPECT(r.planned[0].as<int64_t>() == std::vector<int64_t>({2, 3, 4})) << "published at plan time";
  r = run_op("Shape", {x}, {attr_i("start", -2)});
  QRT_EXPECT(r.ok() && r.out[0].as<int64_t>() == std::vector<int64_t>({3, 4}));
  r = run_op("Shape", {x}, {attr_i("start", 1), attr_i("end", -1)});
  QRT_EXPECT(r.ok() && r.out[0].as<int64_t>() == std::vector<int64_t>({3}));
  r = run_op("Shape", {x}, {attr_i("start", 5)});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({0}));
  r = run_op("Shape", {f32({}, {1})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({0}));

  r = run_op("Range", {known(f32({}, {1})), known(f32({}, {2})), known(f32({}, {0.25f}))});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({1, 1.25f, 1.5f, 1.75f}));
  r = run_op("Range", {known(i64({}, {10})), known(i64({}, {4})), known(i64({}, {-3}))});
  QRT_EXPECT(r.ok() && r.out[0].as<int64_t>() == std::vector<int64_t>({10, 7}));
  r = run_op("Range", {known(i64({}, {0})), known(i64({}, {4})), known(i64({}, {-1}))});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({0}));
  r = run_op("Range", {known(i64({}, {0})), i64({}, {4}), known(i64({}, {1}))});
  QRT_EXPECT(r.code() == StatusCode::kUnsupported) << r.message();
  r = run_op("Range", {known(i64({}, {0})), known(i64({}, {4})), known(i64({}, {0}))});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);

  r = run_op("ConstantOfShape", {ints({2, 3})});
  QRT_EXPECT(r.ok() && r.out[0].dtype == DType::kF32 && r.out[0].as<float>() == std::vector<float>(6, 0.f));
  r = run_op("ConstantOfShape", {ints({2})}, {attr_i("value", 7)});
  QRT_EXPECT(r.ok() && r.out[0].dtype == DType::kS64 && r.out[0].as<int64_t>() == std::vector<int64_t>({7, 7}));
  r = run_op("ConstantOfShape", {ints({})}, {attr_f("value", 1.5f)});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({}) && r.out[0].as<float>()[0] == 1.5f);
  OpOptions o;
  o.out_dtype = {DType::kS32};
  r = run_op("ConstantOfShape", {ints({3})}, {attr_i("value", -2)}, o);
  QRT_EXPECT(r.ok() && r.out[0].as<int32_t>() == std::vector<int32_t>({-2, -2, -2}));
  r = run_op("ConstantOfShape", {ints({-1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
}

// Pad: every mode on a small matrix (values checked by hand), cropping, axes, zero-size axes,
// the plan-time requirements and the errors; GatherElements: bounds and shapes; Size.
QRT_TEST(ShapeOps, PadGatherElementsSize) {
  Val x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  OpRun r = run_op("Pad", {x, ints({0, 1, 1, 2})});  // constant 0: rows +1 after, cols +1 before, +2 after
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].shape == Shape({3, 6}));
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0}));
  r = run_op("Pad", {x, ints({0, 2, 0, 2})}, {attr_s("mode", "reflect")});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4}))
      << r.message();
  r = run_op("Pad", {x, ints({1, 1, 0, 1})}, {attr_s("mode", "edge")});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() ==
                           std::vector<float>({1, 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6})) << r.message();
  r = run_op("Pad", {x, ints({0, 4, 0, 0})}, {attr_s("mode", "wrap")});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() ==
                           std::vector<float>({3, 1, 2, 3, 1, 2, 3, 6, 4, 5, 6, 4, 5, 6})) << r.message();
  r = run_op("Pad", {x, ints({0, -1, 0, -1}), f32({}, {9})});  // cropping both ends of axis 1
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({2, 1}) && r.out[0].as<float>() == std::vector<float>({2, 5}));
  r = run_op("Pad", {x, ints({1, 1}), none(), ints({-2})}, {});  // axes: only axis 0
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({4, 3})) << r.message();
  r = run_op("Pad", {f32({0, 2}, {}), ints({1, 0, 0, 0}), f32({}, {2.5f})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({1, 2}) && r.out[0].as<float>() == std::vector<float>({2.5f, 2.5f}));
  r = run_op("Pad", {f32({0, 2}, {}), ints({1, 0, 0, 0})}, {attr_s("mode", "edge")});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "edge of an empty axis";
  r = run_op("Pad", {x, ints({0, 3, 0, 0})}, {attr_s("mode", "reflect")});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "reflect pad >= size";
  r = run_op("Pad", {x, ints({0, -4, 0, 0})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "negative size";
  r = run_op("Pad", {x, ints({0, 1, 0})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "odd pads";
  r = run_op("Pad", {x, i64({4}, {0, 1, 0, 1})});  // pads not known at plan time
  QRT_EXPECT(r.code() == StatusCode::kUnsupported) << r.message();
  r = run_op("Pad", {x, ints({0, 1, 0, 1})}, {attr_s("mode", "symmetric")});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument);
  r = run_op("Pad", {with_quant(u8({2}, {1, 2}), 0.5f, 3), ints({1, 0})});
  QRT_EXPECT(r.code() == StatusCode::kUnsupported) << "quantized data";

  Val d = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  r = run_op("GatherElements", {d, i64({2, 2}, {1, 0, -1, 1})}, {attr_i("axis", 0)});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({4, 2, 4, 5})) << r.message();
  r = run_op("GatherElements", {d, i32({2, 1}, {2, -3})}, {attr_i("axis", 1)});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({3, 4})) << r.message();
  r = run_op("GatherElements", {d, i64({1, 2}, {2, 0})}, {attr_i("axis", 0)});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "index 2 of 2";
  r = run_op("GatherElements", {d, i64({1, 4}, {0, 0, 0, 0})}, {attr_i("axis", 0)});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "indices wider than data off the axis";
  r = run_op("GatherElements", {d, i64({6}, {0, 0, 0, 0, 0, 0})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "rank";
  r = run_op("GatherElements", {d, i64({0, 3}, {})}, {attr_i("axis", 0)});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({0, 3}));

  r = run_op("Size", {f32({2, 0, 3}, {})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({}) && r.out[0].as<int64_t>()[0] == 0);
  r = run_op("Size", {x});
  QRT_EXPECT(r.ok() && r.out[0].as<int64_t>()[0] == 6);
}

namespace {
Val fk(const std::vector<float>& v) { return known(f32({static_cast<int64_t>(v.size())}, v)); }
}  // namespace

QRT_TEST(ShapeOps, ResizeEdgeCases) {
  Val x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Val e = fk({});
  // Nearest 2x (asymmetric, floor): each pixel repeated; an NHWC-style call (last axis kept).
  OpRun r = run_op("Resize", {x, e, fk({1, 1, 2, 2})},
                   {attr_s("coordinate_transformation_mode", "asymmetric"), attr_s("nearest_mode", "floor")});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].shape == Shape({1, 1, 4, 4}));
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  r = run_op("Resize", {f32({1, 2, 1, 2}, {1, 2, 3, 4}), e, fk({1, 2, 2, 1})}, {attr_s("mode", "linear")});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({1, 4, 2, 2})) << r.message();
  // half_pixel linear, 2 -> 4 along the last axis: taps at -0.25, 0.25, 0.75, 1.25 (edge-clamped).
  r = run_op("Resize", {f32({2}, {0, 4}), e, fk({2})}, {attr_s("mode", "linear")});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({0, 1, 3, 4})) << r.message();
  // Quantized nearest keeps the input's parameters; linear refuses non-f32 data.
  r = run_op("Resize", {with_quant(u8({1, 2}, {7, 9}), 0.5f, 3), e, fk({1, 2})});
  QRT_EXPECT(r.ok() && r.out[0].as<uint8_t>() == std::vector<uint8_t>({7, 7, 9, 9})) << r.message();
  r = run_op("Resize", {i64({2}, {1, 2}), e, fk({2})}, {attr_s("mode", "linear")});
  QRT_EXPECT(r.code() == StatusCode::kUnsupported) << "linear on s64";
  // Exactly one of scales / sizes; scales positive; plan-time values; known attribute values.
  r = run_op("Resize", {x, e, fk({1, 1, 2, 2}), ints({1, 1, 4, 4})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "both scales and sizes";
  r = run_op("Resize", {x, e, e});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "neither";
  r = run_op("Resize", {x, e, fk({1, 1, 0, 2})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "zero scale";
  r = run_op("Resize", {x, e, fk({1, 1, 2})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "scales of the wrong length";
  r = run_op("Resize", {x, e, f32({4}, {1, 1, 2, 2})});
  QRT_EXPECT(r.code() == StatusCode::kUnsupported) << "scales not known at plan time";
  r = run_op("Resize", {x, e, fk({1, 1, 1e9f, 1})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "a scale making a giant axis";
  r = run_op("Resize", {x, e, none(), ints({1, 1, int64_t(1) << 40, 4})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "a giant size";
  r = run_op("Resize", {f32({1, 1, 2, 4}, std::vector<float>(8, 1.f)), e, none(), ints({int64_t(1) << 28, 1})},
             {attr_is("axes", {2, 3}), attr_s("keep_aspect_ratio_policy", "not_smaller")});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "not_smaller growing the other axis past the cap";
  r = run_op("Resize", {x, e, none(), ints({1, 1, -1, 4})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "negative size";
  r = run_op("Resize", {x, e, fk({1, 1, 2, 2})}, {attr_s("mode", "area")});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "unknown mode";
  r = run_op("Resize", {x, e, fk({1, 1, 2, 2})}, {attr_s("coordinate_transformation_mode", "tf_crop_and_resize")});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "tf_crop_and_resize without roi";
  r = run_op("Resize", {x, e, none(), ints({4, 4})}, {attr_is("axes", {2, -2})});
  QRT_EXPECT(r.code() == StatusCode::kInvalidArgument) << "repeated axis";
  // tf_crop_and_resize: a crop reaching past the image gives extrapolation_value there.
  r = run_op("Resize", {f32({3}, {0, 1, 2}), fk({0.5f, 1.5f}), none(), ints({3})},
             {attr_s("mode", "linear"), attr_s("coordinate_transformation_mode", "tf_crop_and_resize"),
              attr_f("extrapolation_value", -7)});
  QRT_EXPECT(r.ok() && r.out[0].as<float>() == std::vector<float>({1, 2, -7})) << r.message();
  // Downsampling to an empty axis is a valid (empty) result.
  r = run_op("Resize", {x, e, fk({1, 1, 0.25f, 1})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({1, 1, 0, 2})) << r.message();
}

QRT_TEST(ShapeOps, SpaceDepthInstanceNormEdgeCases) {
  std::vector<float> v(16);
  std::iota(v.begin(), v.end(), 0.f);
  Val x = f32({1, 4, 2, 2}, v);
  OpRun r = run_op("DepthToSpace", {x}, {attr_i("blocksize", 2)});  // DCR
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].shape == Shape({1, 1, 4, 4}));
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15}));
  OpRun back = run_op("SpaceToDepth", {f32({1, 1, 4, 4}, r.out[0].as<float>())}, {attr_i("blocksize", 2)});
  QRT_EXPECT(back.ok() && back.out[0].as<float>() == v) << "SpaceToDepth inverts DepthToSpace (DCR)";
  r = run_op("DepthToSpace", {x}, {attr_i("blocksize", 2), attr_s("mode", "CRD")});
  back = run_op("SpaceToDepth", {f32({1, 1, 4, 4}, r.out[0].as<float>())}, {attr_i("blocksize", 2), attr_s("mode", "CRD")});
  QRT_EXPECT(r.ok() && back.ok() && back.out[0].as<float>() == v) << "CRD round trip";
  QRT_EXPECT(run_op("DepthToSpace", {x}).code() == StatusCode::kInvalidArgument) << "blocksize missing";
  QRT_EXPECT(run_op("DepthToSpace", {x}, {attr_i("blocksize", 0)}).code() == StatusCode::kInvalidArgument);
  QRT_EXPECT(run_op("DepthToSpace", {x}, {attr_i("blocksize", 3)}).code() == StatusCode::kInvalidArgument)
      << "4 channels, blocksize^2 = 9";
  QRT_EXPECT(run_op("SpaceToDepth", {x}, {attr_i("blocksize", 3)}).code() == StatusCode::kInvalidArgument)
      << "2x2 spatial, blocksize 3";
  QRT_EXPECT(run_op("DepthToSpace", {f32({4, 2, 2}, {})}, {attr_i("blocksize", 2)}).code() ==
             StatusCode::kInvalidArgument) << "rank 3";
  QRT_EXPECT(run_op("DepthToSpace", {x}, {attr_i("blocksize", 2), attr_s("mode", "RCD")}).code() ==
             StatusCode::kInvalidArgument);

  // InstanceNormalization: per (n, c) statistics; a constant plane normalises to B.
  Val xi = f32({1, 2, 3}, {1, 2, 3, 5, 5, 5});
  r = run_op("InstanceNormalization", {xi, f32({2}, {2, 1}), f32({2}, {0.5f, -1})}, {attr_f("epsilon", 1e-7f)});
  QRT_ASSERT_OK(r);
  const float s = std::sqrt(1.5f);
  QRT_EXPECT(close(r.out[0].as<float>()[0], 0.5f - 2 * s, 1e-6f, 1e-6f) &&
             close(r.out[0].as<float>()[2], 0.5f + 2 * s, 1e-6f, 1e-6f) && r.out[0].as<float>()[4] == -1.f);
  QRT_EXPECT(run_op("InstanceNormalization", {f32({2, 3}, {}), f32({3}, {}), f32({3}, {})}).code() ==
             StatusCode::kInvalidArgument) << "rank 2";
  QRT_EXPECT(run_op("InstanceNormalization", {xi, f32({3}, {1, 1, 1}), f32({2}, {0, 0})}).code() ==
             StatusCode::kInvalidArgument) << "scale of the wrong length";
  r = run_op("InstanceNormalization", {f32({1, 2, 0}, {}), f32({2}, {1, 1}), f32({2}, {0, 0})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({1, 2, 0})) << "empty spatial dims";
}

QRT_TEST(ShapeOps, ConvTransposeEdgeCases) {
  // 1 x 1 x 2 x 2 input, all-ones 1 -> 1 kernel 2 x 2, stride 2: each input pixel becomes a block.
  Val x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Val w = known(f32({1, 1, 2, 2}, {1, 1, 1, 1}));
  OpRun r = run_op("ConvTranspose", {x, w, f32({1}, {0.5f})}, {attr_is("strides", {2, 2})});
  QRT_ASSERT_OK(r);
  QRT_EXPECT(r.out[0].shape == Shape({1, 1, 4, 4}));
  QRT_EXPECT(r.out[0].as<float>() == std::vector<float>({1.5f, 1.5f, 2.5f, 2.5f, 1.5f, 1.5f, 2.5f, 2.5f,
                                                         3.5f, 3.5f, 4.5f, 4.5f, 3.5f, 3.5f, 4.5f, 4.5f}));
  // output_shape above what the windows cover: the extra row / column only get the bias.
  r = run_op("ConvTranspose", {x, w, f32({1}, {0.5f})}, {attr_is("strides", {2, 2}), attr_is("output_shape", {5, 4})});
  QRT_EXPECT(r.ok() && r.out[0].shape == Shape({1, 1, 5, 4}) && r.out[0].as<float>()[16] == 0.5f) << r.message();
  QRT_EXPECT(run_op("ConvTranspose", {x, f32({1, 1, 2, 2}, {1, 1, 1, 1})}).code() == StatusCode::kUnsupported)
      << "weights not constant";
  QRT_EXPECT(run_op("ConvTranspose", {x, known(f32({1, 1, 1, 1, 1}, {1}))}).code() == StatusCode::kUnsupported)
      << "3-D";
  QRT_EXPECT(run_op("ConvTranspose", {f32({1, 2, 2, 2}, std::vector<float>(8, 1.f)), w}).code() ==
             StatusCode::kInvalidArgument) << "channels differ from W";
  QRT_EXPECT(run_op("ConvTranspose", {x, w}, {attr_i("group", 2)}).code() == StatusCode::kInvalidArgument)
      << "group does not divide the channels";
  QRT_EXPECT(run_op("ConvTranspose", {x, w}, {attr_is("output_padding", {2, 0})}).code() ==
             StatusCode::kInvalidArgument) << "output_padding >= stride and dilation";
  QRT_EXPECT(run_op("ConvTranspose", {x, w}, {attr_is("pads", {2, 2, 2, 2})}).code() ==
             StatusCode::kInvalidArgument) << "pads leaving no output";
  QRT_EXPECT(run_op("ConvTranspose", {x, w}, {attr_is("kernel_shape", {3, 3})}).code() ==
             StatusCode::kInvalidArgument) << "kernel_shape differs from W";
  QRT_EXPECT(run_op("ConvTranspose", {x, w, f32({2}, {0, 0})}).code() == StatusCode::kInvalidArgument) << "bias size";
  QRT_EXPECT(run_op("ConvTranspose", {x, w}, {attr_is("strides", {0, 1})}).code() == StatusCode::kInvalidArgument);
}
