// LSTM, GRU and RNN through the Op interface against straightforward loops in double written here
// from the ONNX definitions (gate orders iofc / zrh, peepholes, clip, linear_before_reset,
// input_forget, sequence_lens as ONNX Runtime: the reverse direction starts at a sequence's last
// valid step, outputs past its length are zero); and the errors for bad shapes and attributes.
#include <cmath>
#include <functional>
#include <tuple>

#include "kernels/gemm_f32.h"
#include "ops/float_op_direct_util.h"

using namespace qrt_test::ops;

namespace {

struct RnnSpec {
  std::string op = "LSTM";
  int64_t T = 5, B = 3, I = 4, H = 6;
  std::string dir = "forward";
  int64_t layout = 0;
  bool bias = true, init_h = false, init_c = false, peep = false, input_forget = false;
  std::vector<int32_t> lens;  // empty: no sequence_lens input
  int64_t lbr = 0;
  float clip = 0.f;           // 0: no clip attribute
  std::string acts;           // "" : defaults
};

int64_t gates_of(const std::string& op) { return op == "LSTM" ? 4 : op == "GRU" ? 3 : 1; }

double act(const std::string& a, double x) {
  if (a == "Sigmoid") return 1.0 / (1.0 + std::exp(-x));
  if (a == "Tanh") return std::tanh(x);
  return x > 0 ? x : 0.0;  // Relu
}

std::vector<std::string> split_acts(const RnnSpec& s, int64_t D) {
  std::vector<std::string> v;
  if (s.acts.empty()) {
    v = s.op == "LSTM" ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
        : s.op == "GRU" ? std::vector<std::string>{"Sigmoid", "Tanh"}
                        : std::vector<std::string>{"Tanh"};
  } else {
    size_t p = 0;
    while (true) {
      size_t e = s.acts.find(',', p);
      v.push_back(s.acts.substr(p, e == std::string::npos ? e : e - p));
      if (e == std::string::npos) break;
      p = e + 1;
    }
  }
  const size_t per = s.op == "LSTM" ? 3 : s.op == "GRU" ? 2 : 1;
  if (v.size() == per && D == 2) {
    const std::vector<std::string> one = v;
    v.insert(v.end(), one.begin(), one.end());
  }
  return v;
}

struct Inputs {
  Val X, W, R, B, lens, h0, c0, P;
};

Inputs make_inputs(const RnnSpec& s, uint32_t seed) {
  const int64_t D = s.dir == "bidirectional" ? 2 : 1, G = gates_of(s.op);
  Inputs in;
  in.X = rand_f32(s.layout ? Shape{s.B, s.T, s.I} : Shape{s.T, s.B, s.I}, seed, -1.5f, 1.5f);
  in.W = known(rand_f32({D, G * s.H, s.I}, seed + 1, -0.6f, 0.6f));
  in.R = known(rand_f32({D, G * s.H, s.H}, seed + 2, -0.6f, 0.6f));
  in.B = s.bias ? known(rand_f32({D, 2 * G * s.H}, seed + 3, -0.5f, 0.5f)) : none();
  in.lens = s.lens.empty() ? none() : i32({s.B}, s.lens);
  const Shape st = s.layout ? Shape{s.B, D, s.H} : Shape{D, s.B, s.H};
  in.h0 = s.init_h ? rand_f32(st, seed + 4, -1.f, 1.f) : none();
  in.c0 = s.init_c ? rand_f32(st, seed + 5, -1.f, 1.f) : none();
  in.P = s.peep ? known(rand_f32({D, 3 * s.H}, seed + 6, -0.5f, 0.5f)) : none();
  return in;
}

// Y, Y_h, Y_c (Y_c empty unless LSTM) in double, then rounded.
std::vector<std::vector<float>> reference(const RnnSpec& s, const Inputs& in) {
  const int64_t T = s.T, Bn = s.B, I = s.I, H = s.H, G = gates_of(s.op);
  const int64_t D = s.dir == "bidirectional" ? 2 : 1;
  const auto X = in.X.as<float>(), W = in.W.as<float>(), R = in.R.as<float>();
  const auto Bv = in.B.absent ? std::vector<float>(D * 2 * G * H, 0.f) : in.B.as<float>();
  const auto P = in.P.absent ? std::vector<float>(D * 3 * H, 0.f) : in.P.as<float>();
  const auto h0 = in.h0.absent ? std::vector<float>() : in.h0.as<float>();
  const auto c0 = in.c0.absent ? std::vector<float>() : in.c0.as<float>();
  const std::vector<std::string> acts = split_acts(s, D);
  const size_t per = acts.size() / D;
  auto xat = [&](int64_t t, int64_t b, int64_t k) {
    return double(X[(s.layout ? b * T + t : t * Bn + b) * I + k]);
  };
  auto st_at = [&](int64_t d, int64_t b) { return (s.layout ? b * D + d : d * Bn + b) * H; };
  auto y_at = [&](int64_t t, int64_t d, int64_t b) {
    return (s.layout ? (b * T + t) * D + d : (t * D + d) * Bn + b) * H;
  };
  auto clip = [&](double v) { return s.clip > 0 ? std::min(std::max(v, -double(s.clip)), double(s.clip)) : v; };
  std::vector<float> Y(T * D * Bn * H, 0.f), Yh(D * Bn * H), Yc(D * Bn * H);
  for (int64_t d = 0; d < D; ++d) {
    const bool rev = s.dir == "reverse" || d == 1;
    const std::string &f = acts[d * per], &g = acts[d * per + (per > 1 ? 1 : 0)],
                      &hh = acts[d * per + (per > 2 ? 2 : 0)];
    const float* Wd = W.data() + d * G * H * I;
    const float* Rd = R.data() + d * G * H * H;
    const float* Wb = Bv.data() + d * 2 * G * H;
    const float* Rb = Wb + G * H;
    const float* Pd = P.data() + d * 3 * H;
    for (int64_t b = 0; b < Bn; ++b) {
      std::vector<double> h(H, 0.0), c(H, 0.0);
      for (int64_t j = 0; j < H; ++j) {
        if (!h0.empty()) h[j] = h0[st_at(d, b) + j];
        if (!c0.empty()) c[j] = c0[st_at(d, b) + j];
      }
      const int64_t len = s.lens.empty() ? T : s.lens[b];
      for (int64_t step = 0; step < len; ++step) {
        const int64_t t = rev ? len - 1 - step : step;
        // xw[row] = x·W[row] + Wb[row]; hr[row] = h·R[row] + Rb[row]
        auto xw = [&](int64_t row) {
          double a = Wb[row];
          for (int64_t k = 0; k < I; ++k) a += xat(t, b, k) * Wd[row * I + k];
          return a;
        };
        auto dot_r = [&](const std::vector<double>& v, int64_t row) {
          double a = 0;
          for (int64_t k = 0; k < H; ++k) a += v[k] * Rd[row * H + k];
          return a;
        };
        std::vector<double> nh(H);
        if (s.op == "LSTM") {
          std::vector<double> nc(H);
          for (int64_t j = 0; j < H; ++j) {
            auto pre = [&](int64_t gate) { return xw(gate * H + j) + dot_r(h, gate * H + j) + Rb[gate * H + j]; };
            const double i = act(f, clip(pre(0) + Pd[j] * c[j]));
            const double fg = s.input_forget ? 1.0 - i : act(f, clip(pre(2) + Pd[2 * H + j] * c[j]));
            const double cc = act(g, clip(pre(3)));
            nc[j] = fg * c[j] + i * cc;
            const double o = act(f, clip(pre(1) + Pd[H + j] * nc[j]));
            nh[j] = o * act(hh, nc[j]);
          }
          c = nc;
        } else if (s.op == "GRU") {
          std::vector<double> z(H), r(H), rh(H);
          for (int64_t j = 0; j < H; ++j) {
            z[j] = act(f, clip(xw(j) + dot_r(h, j) + Rb[j]));
            r[j] = act(f, clip(xw(H + j) + dot_r(h, H + j) + Rb[H + j]));
            rh[j] = r[j] * h[j];
          }
          for (int64_t j = 0; j < H; ++j) {
            const int64_t row = 2 * H + j;
            const double pre = s.lbr ? xw(row) + r[j] * (dot_r(h, row) + Rb[row])
                                     : xw(row) + dot_r(rh, row) + Rb[row];
            nh[j] = (1 - z[j]) * act(g, clip(pre)) + z[j] * h[j];
          }
        } else {
          for (int64_t j = 0; j < H; ++j) nh[j] = act(f, clip(xw(j) + dot_r(h, j) + Rb[j]));
        }
        h = nh;
        for (int64_t j = 0; j < H; ++j) Y[y_at(t, d, b) + j] = static_cast<float>(h[j]);
      }
      for (int64_t j = 0; j < H; ++j) {
        Yh[st_at(d, b) + j] = static_cast<float>(h[j]);
        Yc[st_at(d, b) + j] = static_cast<float>(c[j]);
      }
    }
  }
  return {Y, Yh, Yc};
}

std::vector<AttrDef> attrs_of(const RnnSpec& s) {
  std::vector<AttrDef> a = {attr_i("hidden_size", s.H), attr_s("direction", s.dir), attr_i("layout", s.layout)};
  if (s.op == "GRU") a.push_back(attr_i("linear_before_reset", s.lbr));
  if (s.op == "LSTM" && s.input_forget) a.push_back(attr_i("input_forget", 1));
  if (s.clip > 0) a.push_back(attr_f("clip", s.clip));
  if (!s.acts.empty()) a.push_back(attr_s("activations", s.acts));
  return a;
}

std::vector<Val> input_list(const RnnSpec& s, const Inputs& in) {
  std::vector<Val> v = {in.X, in.W, in.R, in.B, in.lens, in.h0};
  if (s.op == "LSTM") {
    v.push_back(in.c0);
    v.push_back(in.P);
  }
  return v;
}

// W or R stored as f16 / bf16 (what the fp16 / bf16 conversion modes write) and the same values
// as f32: the op must compute on exactly the rounded weights.
std::pair<Val, Val> lowp(const Val& v, DType t) {
  const std::vector<float> x = v.as<float>();
  std::vector<uint16_t> h(x.size());
  std::vector<float> back(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    h[i] = t == DType::kF16 ? qrt::kernels::f32_to_f16(x[i]) : qrt::kernels::f32_to_bf16(x[i]);
    back[i] = t == DType::kF16 ? qrt::kernels::f16_to_f32(h[i]) : qrt::kernels::bf16_to_f32(h[i]);
  }
  return {known(make_val(t, v.shape, h)), known(f32(v.shape, back))};
}

// W or R as s8 with one symmetric scale per row of G·H shared by the directions (what the int8
// modes write), and its dequantized values as f32.
std::pair<Val, Val> s8_rows(const Val& v, int qmax = 127) {
  const std::vector<float> x = v.as<float>();
  const int64_t D = v.shape[0], N = v.shape[1], K = v.shape[2];
  std::vector<float> sc(static_cast<size_t>(N), 0.f), back(x.size());
  std::vector<int8_t> q(x.size());
  for (int64_t d = 0; d < D; ++d)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) sc[n] = std::max(sc[n], std::fabs(x[(d * N + n) * K + k]) / qmax);
  for (float& f : sc) f = f > 0.f ? f : 1.f;
  for (size_t i = 0; i < x.size(); ++i) {
    const float s = sc[(i / K) % N];
    const float m = static_cast<float>(qmax);
    q[i] = static_cast<int8_t>(std::lrint(std::min(std::max(x[i] / s, -m), m)));
    back[i] = q[i] * s;
  }
  Val qv = known(make_val(DType::kS8, v.shape, q));
  qv.quant.axis = 1;
  qv.quant.scales = sc;
  qv.quant.zero_points.assign(sc.size(), 0);
  return {qv, known(f32(v.shape, back))};
}

// wdt kS8: the op quantizes X and each step's state to u8 (8-bit activations), so it is compared
// with the f32 recurrence on the dequantized weights within `tol` instead of f32's 2e-5.
// qmax 64: weights in [-64, 64], which the op runs on the narrow kernel where there is one.
void check(const RnnSpec& s, uint32_t seed, DType wdt = DType::kF32, float tol = 2e-5f, int qmax = 127) {
  Inputs in = make_inputs(s, seed);
  Inputs run_in = in;
  if (wdt == DType::kS8) {
    std::tie(run_in.W, in.W) = s8_rows(in.W, qmax);
    std::tie(run_in.R, in.R) = s8_rows(in.R, qmax);
  } else if (wdt != DType::kF32) {
    std::tie(run_in.W, in.W) = lowp(in.W, wdt);
    std::tie(run_in.R, in.R) = lowp(in.R, wdt);
  }
  const auto want = reference(s, in);
  const size_t nout = s.op == "LSTM" ? 3 : 2;
  for (int threads : {1, 2, 3}) {
    OpOptions o;
    o.threads = threads;
    o.num_outputs = nout;
    OpRun r = run_op(s.op, input_list(s, run_in), attrs_of(s), o);
    QRT_ASSERT_OK(r);
    const int64_t D = s.dir == "bidirectional" ? 2 : 1;
    const Shape ys = s.layout ? Shape{s.B, s.T, D, s.H} : Shape{s.T, D, s.B, s.H};
    const Shape hs = s.layout ? Shape{s.B, D, s.H} : Shape{D, s.B, s.H};
    QRT_EXPECT(r.out[0].shape == ys) << s.op << s.dir;
    QRT_EXPECT(r.out[1].shape == hs) << s.op << s.dir;
    for (size_t k = 0; k < nout; ++k) {
      const std::vector<float> got = r.out[k].as<float>();
      QRT_EXPECT_EQ(got.size(), want[k].size());
      size_t bad = 0, first = 0;
      for (size_t e = 0; e < got.size() && e < want[k].size(); ++e)
        if (!close(got[e], want[k][e], tol, tol) && bad++ == 0) first = e;
      QRT_EXPECT(bad == 0) << s.op << static_cast<int>(wdt) << s.dir << "layout" << s.layout << "T" << s.T << "B" << s.B << "I" << s.I
                           << "H" << s.H << "lens" << s.lens.size() << "lbr" << s.lbr << "clip" << s.clip
                           << "output" << k << "threads" << threads << ":" << bad << "bad, first at" << first
                           << "got" << (bad ? got[first] : 0.f) << "want" << (bad ? want[k][first] : 0.f);
    }
  }
}

}  // namespace

QRT_TEST(FloatRnn, LstmAgainstLoops) {
  uint32_t seed = 1000;
  for (const char* dir : {"forward", "reverse", "bidirectional"})
    for (int64_t layout : {0, 1}) {
      RnnSpec s;
      s.dir = dir;
      s.layout = layout;
      check(s, seed += 10);                      // defaults: bias only
      s.init_h = s.init_c = s.peep = true;
      s.lens = {5, 2, 0};
      check(s, seed += 10);                      // every optional input, a zero-length sequence
      s.clip = 0.7f;
      s.input_forget = true;
      check(s, seed += 10);
    }
  RnnSpec big;  // wider than the GEMM's tiles and vmath's vectors; tails on every side
  big.T = 9, big.B = 5, big.I = 37, big.H = 45, big.dir = "bidirectional", big.peep = true;
  big.lens = {9, 1, 4, 8, 3};
  check(big, 77);
  // One direction, a step product large enough to split its columns over the pool.
  RnnSpec wide;
  wide.T = 3, wide.B = 4, wide.I = 16, wide.H = 128, wide.init_h = wide.init_c = true;
  wide.lens = {3, 1, 2, 3};
  check(wide, 80);
  RnnSpec relu;
  relu.acts = "Sigmoid,Relu,Tanh,Sigmoid,Tanh,Relu";
  relu.dir = "bidirectional";
  check(relu, 78);
  RnnSpec nob;
  nob.bias = false;
  nob.T = 1, nob.B = 1;
  check(nob, 79);
}

QRT_TEST(FloatRnn, GruAgainstLoops) {
  uint32_t seed = 2000;
  for (const char* dir : {"forward", "reverse", "bidirectional"})
    for (int64_t layout : {0, 1})
      for (int64_t lbr : {0, 1}) {
        RnnSpec s;
        s.op = "GRU";
        s.dir = dir;
        s.layout = layout;
        s.lbr = lbr;
        check(s, seed += 10);
        s.init_h = true;
        s.lens = {1, 5, 3};
        s.clip = 0.5f;
        check(s, seed += 10);
      }
  RnnSpec big;
  big.op = "GRU";
  big.T = 7, big.B = 4, big.I = 29, big.H = 70, big.dir = "bidirectional", big.lbr = 1;
  big.lens = {7, 2, 6, 0};
  check(big, 91);
  big.lbr = 0;
  check(big, 92);
  RnnSpec wide;  // the z/r step product splits its columns over the pool
  wide.op = "GRU";
  wide.T = 3, wide.B = 4, wide.I = 8, wide.H = 192, wide.init_h = true;
  for (int64_t lbr : {0, 1}) {
    wide.lbr = lbr;
    check(wide, 93 + static_cast<uint32_t>(lbr));
  }
}

QRT_TEST(FloatRnn, RnnAgainstLoops) {
  uint32_t seed = 3000;
  for (const char* dir : {"forward", "reverse", "bidirectional"})
    for (int64_t layout : {0, 1}) {
      RnnSpec s;
      s.op = "RNN";
      s.dir = dir;
      s.layout = layout;
      check(s, seed += 10);
      s.init_h = true;
      s.lens = {4, 5, 1};
      s.acts = "Relu";
      check(s, seed += 10);
    }
}

QRT_TEST(FloatRnn, HalfPrecisionWeights) {
  // The f16 / bf16 GEMM kernels widen the weights exactly, so the tolerance is f32's.
  uint32_t seed = 4000;
  for (DType t : {DType::kF16, DType::kBF16})
    for (const char* op : {"LSTM", "GRU", "RNN"})
      for (const char* dir : {"forward", "bidirectional"}) {
        RnnSpec s;
        s.op = op;
        s.dir = dir;
        s.lbr = s.op == "GRU" ? 1 : 0;
        s.T = 6, s.B = 2, s.I = 19, s.H = 33, s.init_h = true;
        check(s, seed += 10, t);
      }
  // W and R of different dtypes are refused by name.
  RnnSpec s;
  Inputs in = make_inputs(s, 5);
  in.W = lowp(in.W, DType::kF16).first;
  OpOptions o;
  o.num_outputs = 3;
  OpRun r = run_op("LSTM", input_list(s, in), attrs_of(s), o);
  QRT_EXPECT(!r.status.ok() && r.status.message().find("W and R must have one dtype") != std::string::npos)
      << r.status.to_string();
}

QRT_TEST(FloatRnn, Int8Weights) {
  // s8 W and R: every product quantizes its input to u8 per call (X once, the state per step).
  // Against the f32 recurrence on the dequantized weights; the difference is the activations'
  // 8-bit rounding: measured max 0.044 for RNN (its ungated state carries the rounding from step
  // to step), under 0.03 for LSTM and GRU. (An exact model of the rounding is the converter's
  // evaluator, which tests/python compares with the runtime.)
  uint32_t seed = 5000;
  for (const char* op : {"LSTM", "GRU", "RNN"})
    for (const char* dir : {"forward", "reverse", "bidirectional"})
      for (int64_t lbr : {0, 1}) {
        if (lbr && std::string(op) != "GRU") continue;
        RnnSpec s;
        s.op = op;
        s.dir = dir;
        s.lbr = lbr;
        s.T = 7, s.B = 3, s.I = 21, s.H = 35, s.init_h = true;
        s.lens = {7, 4, 1};
        for (int qmax : {127, 64}) check(s, seed += 10, DType::kS8, std::string(op) == "RNN" ? 0.06f : 0.03f, qmax);
      }
  RnnSpec wide;  // a step product large enough to split its columns over the pool
  wide.T = 3, wide.B = 4, wide.I = 16, wide.H = 128;
  check(wide, 5500, DType::kS8, 0.03f);
  // A NaN in X cannot be given a u8 range: an error, not a silently wrong output.
  RnnSpec s;
  Inputs in = make_inputs(s, 7);
  std::tie(in.W, std::ignore) = s8_rows(in.W);
  std::tie(in.R, std::ignore) = s8_rows(in.R);
  std::vector<float> x = in.X.as<float>();
  x[3] = NAN;
  in.X = f32(in.X.shape, x);
  OpOptions o;
  o.num_outputs = 3;
  OpRun r = run_op("LSTM", input_list(s, in), attrs_of(s), o);
  QRT_EXPECT(!r.status.ok() && r.status.message().find("NaN or Inf") != std::string::npos) << r.status.to_string();
}

QRT_TEST(FloatRnn, EmptyDimensions) {
  // Zero batch, zero steps (Y_h = the initial state), zero input size (projection = bias).
  for (auto [T, B, I] : {std::tuple<int64_t, int64_t, int64_t>{0, 3, 4}, {5, 0, 4}, {4, 2, 0}}) {
    for (const char* op : {"LSTM", "GRU", "RNN"}) {
      RnnSpec s;
      s.op = op;
      s.T = T, s.B = B, s.I = I;
      s.dir = "bidirectional";
      s.init_h = true;
      s.init_c = s.op == "LSTM";
      check(s, 5000);
    }
  }
}

QRT_TEST(FloatRnn, Errors) {
  RnnSpec s;
  Inputs in = make_inputs(s, 1);
  OpOptions o;
  o.num_outputs = 2;
  auto expect = [&](const OpRun& r, StatusCode code, const char* stage, const std::string& text) {
    QRT_EXPECT(r.code() == code && r.stage == stage) << r.message();
    QRT_EXPECT(r.status.message().find(text) != std::string::npos) << r.message() << " lacks " << text;
  };
  // hidden_size that disagrees with R: the message names R and the shape it must have.
  auto a = attrs_of(s);
  a[0] = attr_i("hidden_size", 5);
  expect(run_op("LSTM", input_list(s, in), a, o), StatusCode::kInvalidArgument, "create", "R (input 2) must have shape [1, 20, 5]");
  // W of the wrong gate count.
  Inputs bad = in;
  bad.W = known(rand_f32({1, 18, s.I}, 3));
  expect(run_op("LSTM", input_list(s, bad), attrs_of(s), o), StatusCode::kInvalidArgument, "create", "W (input 1) must have shape [1, 24, input_size]");
  // Non-constant weights.
  bad = in;
  bad.R.known = false;
  expect(run_op("LSTM", input_list(s, bad), attrs_of(s), o), StatusCode::kUnsupported, "create", "R (input 2) must be a constant");
  // Direction count of W vs the attribute.
  a = attrs_of(s);
  a[1] = attr_s("direction", "bidirectional");
  expect(run_op("LSTM", input_list(s, in), a, o), StatusCode::kInvalidArgument, "create", "must have shape [2,");
  a[1] = attr_s("direction", "sideways");
  expect(run_op("LSTM", input_list(s, in), a, o), StatusCode::kInvalidArgument, "create", "sideways");
  // Activations outside Sigmoid/Tanh/Relu are refused by name; a wrong count is an error.
  a = attrs_of(s);
  a.push_back(attr_s("activations", "Sigmoid,HardSigmoid,Tanh"));
  expect(run_op("LSTM", input_list(s, in), a, o), StatusCode::kUnsupported, "create", "HardSigmoid");
  a.back() = attr_s("activations", "Sigmoid,Tanh");
  expect(run_op("LSTM", input_list(s, in), a, o), StatusCode::kInvalidArgument, "create", "expected 3");
  // X with the wrong input size or rank.
  bad = in;
  bad.X = rand_f32({s.T, s.B, s.I + 1}, 4);
  expect(run_op("LSTM", input_list(s, bad), attrs_of(s), o), StatusCode::kInvalidArgument, "infer", "W expects 4");
  bad.X = rand_f32({s.T, s.B}, 4);
  expect(run_op("LSTM", input_list(s, bad), attrs_of(s), o), StatusCode::kInvalidArgument, "infer", "rank 3");
  // Optional inputs of the wrong shape or dtype.
  bad = in;
  bad.h0 = rand_f32({1, s.B + 1, s.H}, 5);
  expect(run_op("LSTM", input_list(s, bad), attrs_of(s), o), StatusCode::kInvalidArgument, "infer", "initial_h (input 5) must have shape [1, 3, 6]");
  bad = in;
  bad.B = known(rand_f32({1, 8 * s.H - 1}, 6));
  expect(run_op("LSTM", input_list(s, bad), attrs_of(s), o), StatusCode::kInvalidArgument, "infer", "B (input 3) must have shape [1, 48]");
  bad = in;
  bad.lens = i64({s.B}, {1, 2, 3});
  expect(run_op("LSTM", input_list(s, bad), attrs_of(s), o), StatusCode::kInvalidArgument, "infer", "input 4 must be s32");
  // A sequence length outside [0, T] is a run-time error (it depends on values).
  bad = in;
  bad.lens = i32({s.B}, {1, static_cast<int32_t>(s.T) + 1, 2});
  expect(run_op("LSTM", input_list(s, bad), attrs_of(s), o), StatusCode::kInvalidArgument, "run", "sequence_lens[1]");
  bad.lens = i32({s.B}, {-1, 2, 2});
  expect(run_op("LSTM", input_list(s, bad), attrs_of(s), o), StatusCode::kInvalidArgument, "run", "sequence_lens[0]");
  // Too many outputs for a GRU.
  RnnSpec g;
  g.op = "GRU";
  Inputs gi = make_inputs(g, 2);
  OpOptions o3;
  o3.num_outputs = 3;
  expect(run_op("GRU", input_list(g, gi), attrs_of(g), o3), StatusCode::kInvalidArgument, "create", "outputs");
  a = attrs_of(g);
  a[3] = attr_i("linear_before_reset", 2);
  expect(run_op("GRU", input_list(g, gi), a, o), StatusCode::kInvalidArgument, "create", "linear_before_reset");
}
