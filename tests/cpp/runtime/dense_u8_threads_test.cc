// Static int8 Dense (u8 x s8 -> u8, per-channel weight scales, s32 bias, ReLU) through writer ->
// loader -> session with 1, 2 and 3 threads, against loops written from the spec. The shapes make
// LinearWeights::compute take both of its int8 splits: rows (M >= 2 * threads * mr and N <= M)
// and columns (N > M, or few rows), with column tails inside a panel, one task per thread and
// (for >= 2^22 multiply-adds) several; and both sides of the "B not L2-resident" threshold.
#include <cmath>
#include <cstring>
#include <random>

#include "cpu/features.h"
#include "harness.h"
#include "kernels/quantize_u8.h"
#include "ops/op_test_util.h"

using namespace qrt_test;
using qrt::TensorView;

namespace {

struct Case { int M, K, N; };

// Runs one Dense through the session with `threads` threads; adds the outputs checked.
// (void: QRT_ASSERT returns from the function.)
void check_dense(const Case cs, int threads, int& checked) {
  {
    {
      const int M = cs.M, K = cs.K, N = cs.N;
      std::mt19937 g(static_cast<uint32_t>(M * 1000 + N));
      std::vector<uint8_t> x(size_t(M) * K);
      for (auto& v : x) v = uint8_t(g() % 256);
      std::vector<int8_t> w(size_t(N) * K);
      for (auto& v : w) v = int8_t(int(g() % 255) - 127);
      std::vector<int32_t> bias(N);
      std::vector<float> wsc(N);
      for (int n = 0; n < N; ++n) {
        bias[n] = int32_t(g() % 20001) - 10000;
        wsc[n] = 0.002f + 0.001f * float(g() % 10);
      }
      const float xs = 0.02f, ys = 0.3f;
      const int xz = 117, yz = 20;
      qrt::format::QuantParams wq;
      wq.axis = 0;
      wq.scales = wsc;
      wq.zero_points.assign(N, 0);
      ModelBuilder mb;
      int xi = mb.input("x", DType::kU8, {M, K}, per_tensor(xs, xz));
      int wi = mb.constant<int8_t>("w", DType::kS8, {N, K}, w, wq);
      qrt::format::QuantParams bq;
      int bi = mb.constant<int32_t>("b", DType::kS32, {N}, bias, bq);
      int yi = mb.value("y", DType::kU8, per_tensor(ys, yz));
      mb.node("Dense", {xi, wi, bi}, {yi}).attrs.push_back(ModelBuilder::attr_str("activation", "relu"));
      mb.output(yi);
      auto out = mb.run({{"x", TensorView::of(x.data(), {M, K})}}, threads);
      QRT_ASSERT(out.ok());
      QRT_EXPECT(out.value()[0].shape == std::vector<int64_t>({M, N}));
      const uint8_t* y = out.value()[0].data<uint8_t>();
      int bad = 0;
      for (int m = 0; m < M && bad < 3; ++m)
        for (int n = 0; n < N; ++n) {
          int32_t acc = bias[n];
          for (int k = 0; k < K; ++k) acc += (int(x[size_t(m) * K + k]) - xz) * w[size_t(n) * K + k];
          const float mult = float(double(xs) * wsc[n] / ys);
          float r = float(acc) * mult;
          r = std::min(std::max(r, 0.0f), float(255 - yz));  // ReLU: qmin = the zero point
          const int q = yz + int(std::nearbyint(r));
          if (int(y[size_t(m) * N + n]) != q && ++bad <= 3)
            QRT_EXPECT_EQ(int(y[size_t(m) * N + n]), q)
                << "M" << M << "K" << K << "N" << N << "threads" << threads << "at" << m << n;
          ++checked;
        }
    }
  }
}

}  // namespace

QRT_TEST(Runtime, DenseU8MatchesSpecLoopsAndThreads) {
  const Case cases[] = {{1, 70, 300}, {5, 33, 100}, {128, 70, 300}, {130, 64, 200},
                        {200, 70, 100}, {256, 40, 64}, {300, 19, 3},
                        // >= 2^22 multiply-adds: several tasks per thread (rows; columns)
                        {256, 512, 200}, {64, 520, 700}};
  int checked = 0;
  for (const Case cs : cases)
    for (int threads : {1, 2, 3}) check_dense(cs, threads, checked);
  std::printf("    %d outputs checked (9 shapes x threads 1, 2, 3)\n", checked);
}

// The int8 split's "packed B is not L2-resident" test uses the detected L2 (3/4 of it): with the
// L2 taken as 256 KiB, 128 x 256 x 800 (200 KiB of weights, N > M) splits columns, with 64 MiB it
// splits rows; and a real 1.6 MB weight at M = 128 (columns beside a 2 MiB or 1 MiB L2, rows only
// above ~2.2 MB of L2). Every side must equal the spec loops.
QRT_TEST(Runtime, DenseU8L2ThresholdBothSides) {
  int checked = 0;
  for (size_t l2 : {size_t(256) << 10, size_t(64) << 20}) {
    qrt::cpu::set_l2_cache_bytes(l2);
    for (int threads : {1, 2}) check_dense({128, 256, 800}, threads, checked);
  }
  qrt::cpu::set_l2_cache_bytes(0);
  for (int threads : {1, 2}) check_dense({128, 768, 2100}, threads, checked);
  std::printf("    %d outputs checked (L2 taken as 256 KiB / 64 MiB; a 1.6 MB weight)\n", checked);
}

// int8-dynamic Dense (f32 in, s8 per-channel weights, f32 bias, ReLU, f32 out) with 1, 2 and 3
// threads: the input's range, scale and zero point, its u8 bytes and so the outputs must not
// depend on how the rows were split (the range and the conversion run split across threads);
// every output equals the spec — choose_u8_params over the whole input, round(x / s) + z
// clamped, integer sums, (acc - z * colsum) * s * w_scale + bias, ReLU — up to float rounding of
// the last two steps. A NaN in the last row is an error at every thread count.
QRT_TEST(Runtime, DenseDynamicSameBytesAnyThreadsAndSpec) {
  const int M = 37, K = 45, N = 23;
  std::mt19937 g(5);
  std::normal_distribution<float> nd;
  std::vector<float> x(size_t(M) * K);
  for (auto& v : x) v = 3.f * nd(g);
  x[size_t(M - 1) * K + 7] = 11.5f;  // the maximum sits in the last row (the last task's)
  std::vector<int8_t> w(size_t(N) * K);
  for (auto& v : w) v = int8_t(int(g() % 255) - 127);
  std::vector<float> bias(N), wsc(N);
  for (int n = 0; n < N; ++n) bias[n] = nd(g), wsc[n] = 0.002f + 0.0005f * float(n % 7);
  auto run = [&](const std::vector<float>& in, int threads) {
    qrt::format::QuantParams wq;
    wq.axis = 0;
    wq.scales = wsc;
    wq.zero_points.assign(N, 0);
    ModelBuilder mb;
    int xi = mb.input("x", DType::kF32, {M, K});
    int wi = mb.constant<int8_t>("w", DType::kS8, {N, K}, w, wq);
    int bi = mb.constant_f32("b", {N}, bias);
    int yi = mb.value("y", DType::kF32);
    mb.node("Dense", {xi, wi, bi}, {yi}).attrs.push_back(ModelBuilder::attr_str("activation", "relu"));
    mb.output(yi);
    return mb.run({{"x", TensorView::of(in.data(), {M, K})}}, threads);
  };
  // The spec.
  float lo = 0.f, hi = 0.f;
  for (float v : x) lo = std::min(lo, v), hi = std::max(hi, v);
  float s;
  int32_t z;
  qrt::kernels::choose_u8_params(lo, hi, &s, &z);
  std::vector<int> xq(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    float v = x[i] / s;
    v = v > float(-z) ? v : float(-z);
    v = v < float(255 - z) ? v : float(255 - z);
    xq[i] = z + int(std::nearbyint(v));
  }
  std::vector<float> first;
  int checked = 0;
  for (int threads : {1, 2, 3}) {
    auto out = run(x, threads);
    QRT_ASSERT(out.ok());
    const float* y = out.value()[0].data<float>();
    std::vector<float> got(y, y + size_t(M) * N);
    if (first.empty()) {
      first = got;
    } else {
      QRT_EXPECT(std::memcmp(first.data(), got.data(), got.size() * 4) == 0) << "threads" << threads;
    }
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) {
        int64_t acc = 0;
        for (int k = 0; k < K; ++k) acc += int64_t(xq[size_t(m) * K + k] - z) * w[size_t(n) * K + k];
        const double want = std::max(0.0, double(acc) * double(s) * wsc[n] + bias[n]);
        QRT_EXPECT(std::fabs(got[size_t(m) * N + n] - want) <= 1e-5 * (1 + std::fabs(want)))
            << "threads" << threads << "at" << m << n << got[size_t(m) * N + n] << want;
        ++checked;
      }
  }
  std::vector<float> bad = x;
  bad[size_t(M - 1) * K + 3] = NAN;
  for (int threads : {1, 2, 3}) {
    auto out = run(bad, threads);
    QRT_EXPECT(!out.ok()) << "threads" << threads;
    if (!out.ok()) QRT_EXPECT(out.status().message().find("NaN") != std::string::npos) << out.status().message();
  }
  std::printf("    %d outputs checked (threads 1, 2, 3; NaN rejected at each)\n", checked);
}
