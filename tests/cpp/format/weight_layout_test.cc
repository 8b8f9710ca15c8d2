// Packed weight layouts (format 1.1): the c4 spec against every kernel's packer, the reader's
// checks, the writer's version/flag/record choices, and models whose weights are stored packed
// giving the same bytes out as plain ones — used in place, repacked for another nr, unpacked for
// other readers, from a buffer and from a memory-mapped file.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <csignal>
#include <sys/wait.h>

#include "format/testing.h"
#include "format/weight_layout.h"
#include "harness.h"
#include "kernels/gemm_u8s8.h"
#include "ops/op_test_util.h"
#include "qrt/format.h"

using namespace qrt_test;
using qrt::TensorView;
namespace fmt = qrt::format;

// QRT_ASSERT with a message: stops the test (returns) after reporting.
#define QRT_ASSERT_MSG(cond, msg)  \
  do {                             \
    if (!(cond)) {                 \
      QRT_EXPECT(cond) << msg;     \
      return;                      \
    }                              \
  } while (0)

namespace {

std::vector<int8_t> random_s8(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(static_cast<int>(g() % 255) - 127);
  return v;
}

std::vector<uint8_t> packed_c4(size_t N, size_t K, uint32_t nr, const std::vector<int8_t>& w) {
  uint64_t bytes = 0;
  fmt::c4_packed_bytes(N, K, nr, &bytes);
  std::vector<uint8_t> p(bytes, 0xAB);  // pack_c4 must write every byte
  fmt::pack_c4(N, K, nr, w.data(), p.data());
  return p;
}

// Stores tensor `ti` of `mb` packed as c4/nr (its current data is plain s8).
void pack_tensor(ModelBuilder& mb, int ti, uint32_t nr, std::vector<std::shared_ptr<std::vector<uint8_t>>>* keep) {
  fmt::TensorDef& t = mb.def().tensors[ti];
  uint64_t N = 0, K = 0;
  QRT_ASSERT(fmt::c4_matrix_dims(t.shape, &N, &K));
  std::vector<int8_t> plain(reinterpret_cast<const int8_t*>(t.data), reinterpret_cast<const int8_t*>(t.data) + N * K);
  auto p = std::make_shared<std::vector<uint8_t>>(packed_c4(N, K, nr, plain));
  keep->push_back(p);
  t.data = p->data();
  t.nbytes = p->size();
  t.layout = fmt::WeightLayout::kC4;
  t.layout_nr = nr;
}

}  // namespace

QRT_TEST(WeightLayout, EveryKernelPacksTheC4LayoutOfItsNr) {
  // The runtime hands a packed file's bytes to the kernel whose nr matches; that is only right if
  // each SIMD variant's pack() produces exactly format::pack_c4 of its nr (plus zeroed slack).
  int checked = 0;
  for (const qrt::kernels::GemmU8S8Kernel* k : qrt::kernels::gemm_u8s8_variants()) {
    if (k->isa == qrt::cpu::Isa::kRef) continue;
    const uint32_t nr = static_cast<uint32_t>(k->nr);
    QRT_ASSERT_MSG(fmt::c4_nr_valid(nr), k->name << " nr " << nr);
    for (size_t N : {1, 7, 16, 17, 33, 64, 65, 100})
      for (size_t K : {1, 3, 4, 5, 63, 64, 65, 200}) {
        auto w = random_s8(N * K, static_cast<uint32_t>(N * 1000 + K));
        auto spec = packed_c4(N, K, nr, w);
        const size_t sz = k->packed_size(N, K);
        QRT_ASSERT_MSG(sz >= spec.size(), k->name);
        std::vector<uint8_t> buf(sz + 64, 0xCD);  // pack() wants 64-byte aligned memory
        uint8_t* got = buf.data() + (64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64;
        k->pack(N, K, w.data(), K, got);
        QRT_EXPECT(std::memcmp(got, spec.data(), spec.size()) == 0) << k->name << " N=" << N << " K=" << K;
        for (size_t i = spec.size(); i < sz; ++i) QRT_EXPECT_EQ(int(got[i]), 0);
        ++checked;
      }
  }
  if (checked == 0) QRT_SKIP("no SIMD int8 GEMM on this CPU / ISA cap");
}

QRT_TEST(WeightLayout, UnpackInvertsPackAndCheckFindsInconsistencies) {
  for (uint32_t nr : {8u, 16u, 32u, 64u})
    for (size_t N : {1, 9, 64, 70})
      for (size_t K : {1, 2, 5, 64, 67}) {
        auto w = random_s8(N * K, 3);
        auto p = packed_c4(N, K, nr, w);
        std::vector<int8_t> back(N * K);
        fmt::unpack_c4(N, K, nr, p.data(), back.data());
        QRT_EXPECT(back == w) << nr << " " << N << " " << K;
        QRT_EXPECT_EQ(fmt::check_c4(N, K, nr, p.data()), std::string());
        auto bad_sum = p;
        bad_sum[4 * (N - 1)] ^= 1;
        QRT_EXPECT(fmt::check_c4(N, K, nr, bad_sum.data()).find("column sum") != std::string::npos);
        if (N % nr || K % 4) {  // there is padding: a non-zero byte there is reported
          auto bad_pad = p;
          bad_pad.back() = 1;
          QRT_EXPECT(fmt::check_c4(N, K, nr, bad_pad.data()).find("padding") != std::string::npos)
              << nr << " " << N << " " << K;
        }
      }
  fmt::WeightLayout l;
  uint32_t nr = 0;
  QRT_EXPECT(fmt::parse_layout("c4/32", &l, &nr) && l == fmt::WeightLayout::kC4 && nr == 32);
  QRT_EXPECT(fmt::parse_layout("plain", &l, &nr) && l == fmt::WeightLayout::kPlain && nr == 0);
  QRT_EXPECT(!fmt::parse_layout("c4/12", &l, &nr));
  QRT_EXPECT_EQ(fmt::layout_name(fmt::WeightLayout::kC4, 64), std::string("c4/64"));
}

namespace {

// x [M, K] u8 -> Dense (static int8, s8 weights [N, K]) -> y u8; plus, when `shared`, the same
// weight tensor read by a Cast to f32 (a second, non-GEMM reader) as a second output.
ModelBuilder static_dense_model(size_t M, size_t N, size_t K, const std::vector<int8_t>& w, bool shared) {
  ModelBuilder mb;
  int xi = mb.input("x", DType::kU8, {int64_t(M), int64_t(K)}, per_tensor(0.02f, 100));
  fmt::QuantParams wq;
  wq.axis = 0;
  for (size_t i = 0; i < N; ++i) wq.scales.push_back(0.001f * float(1 + i % 7)), wq.zero_points.push_back(0);
  int wi = mb.constant<int8_t>("w", DType::kS8, {int64_t(N), int64_t(K)}, w, wq);
  std::vector<int32_t> bias(N);
  for (size_t i = 0; i < N; ++i) bias[i] = int32_t(i * 37 % 200) - 100;
  int bi = mb.constant<int32_t>("b", DType::kS32, {int64_t(N)}, bias);
  int yi = mb.value("y", DType::kU8, per_tensor(0.05f, 20));
  mb.node("Dense", {xi, wi, bi}, {yi});
  mb.output(yi);
  if (shared) {
    int ci = mb.value("w_i32", DType::kS32);
    mb.node("Cast", {wi}, {ci}).attrs.push_back(ModelBuilder::attr_int("to", 6));
    mb.output(ci);
  }
  return mb;
}

std::vector<std::vector<uint8_t>> outputs_bytes(const qrt::Result<std::vector<qrt::Tensor>>& r) {
  std::vector<std::vector<uint8_t>> v;
  for (const qrt::Tensor& t : r.value()) {
    const uint8_t* p = t.data<uint8_t>();
    v.emplace_back(p, p + t.nbytes);
  }
  return v;
}

}  // namespace

QRT_TEST(WeightLayout, PackedModelsGiveThePlainModelsBytes) {
  // Every nr: the one this CPU's kernel reads (in place) and the others (unpacked and repacked).
  // A Cast also reading the weights must see plain values. Odd shapes cover N and K tails.
  for (auto [M, N, K] : {std::tuple<size_t, size_t, size_t>{3, 37, 70}, {17, 70, 5}, {1, 130, 256}})
    for (bool shared : {false, true}) {
      auto w = random_s8(N * K, uint32_t(N + K));
      std::mt19937 g(5);
      std::vector<uint8_t> x(M * K);
      for (auto& v : x) v = uint8_t(g() % 256);
      std::vector<std::pair<std::string, TensorView>> in = {{"x", TensorView::of(x.data(), {int64_t(M), int64_t(K)})}};
      ModelBuilder plain = static_dense_model(M, N, K, w, shared);
      auto want = plain.run(in);
      QRT_ASSERT_MSG(want.ok(), want.status().to_string());
      for (uint32_t nr : {8u, 16u, 32u, 64u}) {
        ModelBuilder mb = static_dense_model(M, N, K, w, shared);
        std::vector<std::shared_ptr<std::vector<uint8_t>>> keep;
        pack_tensor(mb, 1, nr, &keep);
        auto model = mb.load();
        QRT_ASSERT_MSG(model.ok(), model.status().to_string());
        // This CPU's kernel reads c4/nr in place exactly when nr is its own (load_from_buffer:
        // the aligned copy is the image; the writer's 4 KiB tail covers AMX's over-read).
        const auto& k = qrt::kernels::select_gemm_u8s8();
        // (A weight shared with the Cast is unpacked once at load for both readers.)
        const bool native = k.isa != qrt::cpu::Isa::kRef && uint32_t(k.nr) == nr && !shared;
        QRT_EXPECT_EQ(model.value()->in_place_weight_bytes() > 0, native) << "nr " << nr;
        QRT_EXPECT_EQ(model.value()->packed_bytes() > 0, !native) << "nr " << nr;
        for (int threads : {1, 2}) {
          auto got = mb.run(in, threads);
          QRT_ASSERT_MSG(got.ok(), got.status().to_string());
          QRT_EXPECT(outputs_bytes(got) == outputs_bytes(want)) << "nr " << nr << " M" << M << " N" << N << " K" << K
                                                               << " shared " << shared;
        }
      }
    }
}

QRT_TEST(WeightLayout, PackedConvAndDynamicDenseFromAMappedFile) {
  // Conv2d (group 1, im2col GEMM) static int8 and an int8-dynamic Dense, written to a file and
  // memory-mapped (the path that keeps in-place pages and drops the rest), against plain.
  const int H = 9, W = 8, C = 6, O = 33, KH = 3, KW = 3, N = 21;
  auto wc = random_s8(size_t(O) * KH * KW * C, 11);
  auto wd = random_s8(size_t(N) * O, 12);
  auto build = [&](uint32_t nr, std::vector<std::shared_ptr<std::vector<uint8_t>>>* keep) {
    ModelBuilder mb;
    int xi = mb.input("x", DType::kU8, {1, H, W, C}, per_tensor(0.02f, 128));
    fmt::QuantParams wq;
    wq.axis = 0;
    for (int i = 0; i < O; ++i) wq.scales.push_back(0.002f + 0.0001f * i), wq.zero_points.push_back(0);
    int wi = mb.constant<int8_t>("wc", DType::kS8, {O, KH, KW, C}, wc, wq);
    int yi = mb.value("y", DType::kU8, per_tensor(0.04f, 3));
    auto& n = mb.node("Conv2d", {xi, wi}, {yi});
    n.attrs = {ModelBuilder::attr_ints("pads", {1, 1, 1, 1}), ModelBuilder::attr_str("activation", "relu")};
    int fi = mb.value("yf", DType::kF32);
    mb.node("DequantizeLinear", {yi}, {fi});
    fmt::QuantParams dq;
    dq.axis = 0;
    for (int i = 0; i < N; ++i) dq.scales.push_back(0.01f), dq.zero_points.push_back(0);
    int di = mb.constant<int8_t>("wd", DType::kS8, {N, O}, wd, dq);
    int zi = mb.value("z", DType::kF32);
    mb.node("Dense", {fi, di}, {zi});
    mb.output(zi);
    if (nr) {
      pack_tensor(mb, wi, nr, keep);
      pack_tensor(mb, di, nr, keep);
    }
    return mb;
  };
  std::mt19937 g(9);
  std::vector<uint8_t> x(size_t(H) * W * C);
  for (auto& v : x) v = uint8_t(g() % 256);
  std::vector<std::pair<std::string, TensorView>> in = {{"x", TensorView::of(x.data(), {1, H, W, C})}};
  std::vector<std::vector<uint8_t>> want;
  for (uint32_t nr : {0u, 8u, 16u, 32u, 64u}) {
    std::vector<std::shared_ptr<std::vector<uint8_t>>> keep;
    ModelBuilder mb = build(nr, &keep);
    std::vector<uint8_t> bytes;
    QRT_ASSERT(fmt::write_model(mb.def(), &bytes).ok());
    if (nr) {  // 1.1 only when something is packed
      QRT_EXPECT_EQ(int(bytes[10]), 1);
      QRT_EXPECT((bytes[12] | bytes[13] << 8 | bytes[14] << 16 | uint32_t(bytes[15]) << 24) == qrt::format::kHeaderPackedWeights);
    } else {
      QRT_EXPECT_EQ(int(bytes[10]), 0);
    }
    char path[] = "/tmp/qrt_layout_XXXXXX";
    int fd = mkstemp(path);
    QRT_ASSERT(fd >= 0);
    QRT_ASSERT(write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
    close(fd);
    auto model = qrt::Model::load(path);
    std::remove(path);
    QRT_ASSERT_MSG(model.ok(), model.status().to_string());
    const auto& k = qrt::kernels::select_gemm_u8s8();
    const bool native = nr && k.isa != qrt::cpu::Isa::kRef && uint32_t(k.nr) == nr;
    QRT_EXPECT_EQ(model.value()->in_place_weight_bytes() > 0, native) << "nr " << nr;
    auto sess = qrt::Session::create(model.value(), {});
    QRT_ASSERT(sess.ok());
    for (int rep = 0; rep < 2; ++rep) {  // the second run reads pages dropped or kept after load
      auto out = sess.value()->run(in);
      QRT_ASSERT_MSG(out.ok(), out.status().to_string());
      if (nr == 0 && rep == 0) want = outputs_bytes(out);
      else QRT_EXPECT(outputs_bytes(out) == want) << "nr " << nr << " run " << rep;
    }
  }
}

// Over 1 MiB of weights used in place from a mapped file: load() starts a detached thread that
// maps their pages (LoadOptions::threads != 1). Results must not depend on it; a Model destroyed
// while it may still run must stay safe (the thread holds the mapping), and so must a forked
// child that destroys its copy (a joined thread would hang there).
QRT_TEST(WeightLayout, LargeInPlaceWeightsPrefaultedWhileTheFirstRunStarts) {
  const auto& k = qrt::kernels::select_gemm_u8s8();
  if (k.isa == qrt::cpu::Isa::kRef) {
    QRT_SKIP("the reference GEMM reads no packed layout in place");
  }
  const size_t M = 4, N = 1000, K = 1100;  // 1.1 MB of s8 weights
  auto w = random_s8(N * K, 77);
  std::mt19937 g(3);
  std::vector<uint8_t> x(M * K);
  for (auto& v : x) v = uint8_t(g() % 256);
  std::vector<std::pair<std::string, TensorView>> in = {{"x", TensorView::of(x.data(), {int64_t(M), int64_t(K)})}};
  auto want = static_dense_model(M, N, K, w, false).run(in);
  QRT_ASSERT_MSG(want.ok(), want.status().to_string());
  ModelBuilder mb = static_dense_model(M, N, K, w, false);
  std::vector<std::shared_ptr<std::vector<uint8_t>>> keep;
  pack_tensor(mb, 1, uint32_t(k.nr), &keep);
  std::vector<uint8_t> bytes;
  QRT_ASSERT(fmt::write_model(mb.def(), &bytes).ok());
  char path[] = "/tmp/qrt_prefault_XXXXXX";
  int fd = mkstemp(path);
  QRT_ASSERT(fd >= 0);
  QRT_ASSERT(write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
  close(fd);
  for (int load_threads : {0, 1, 2}) {
    qrt::LoadOptions lo;
    lo.threads = load_threads;
    for (int rep = 0; rep < 8; ++rep) {  // destroyed at once, the prefault thread likely running
      auto m = qrt::Model::load(path, lo);
      QRT_ASSERT_MSG(m.ok(), m.status().to_string());
    }
    {
      auto m = qrt::Model::load(path, lo);
      QRT_ASSERT_MSG(m.ok(), m.status().to_string());
      std::shared_ptr<const qrt::Model> held = m.value();
      const pid_t pid = fork();
      QRT_ASSERT(pid >= 0);
      if (pid == 0) {
        held.reset();
        m = qrt::Status(qrt::StatusCode::kInternal, "dropped");
        _exit(0);
      }
      int st = 0;
      pid_t done = 0;
      for (int i = 0; i < 1000 && done == 0; ++i) {  // up to 10 s
        done = waitpid(pid, &st, WNOHANG);
        if (done == 0) usleep(10000);
      }
      if (done == 0) kill(pid, SIGKILL), waitpid(pid, &st, 0);
      QRT_EXPECT(done == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0) << "forked child did not exit";
    }
    auto model = qrt::Model::load(path, lo);
    QRT_ASSERT_MSG(model.ok(), model.status().to_string());
    QRT_EXPECT(model.value()->in_place_weight_bytes() >= N * K) << "load threads " << load_threads;
    auto sess = qrt::Session::create(model.value(), {});
    QRT_ASSERT(sess.ok());
    auto out = sess.value()->run(in);
    QRT_ASSERT_MSG(out.ok(), out.status().to_string());
    QRT_EXPECT(outputs_bytes(out) == outputs_bytes(want)) << "load threads " << load_threads;
  }
  std::remove(path);
}

QRT_TEST(WeightLayout, WriterRoundTripAndReaderRefusals) {
  auto w = random_s8(10 * 12, 1);
  ModelBuilder mb = static_dense_model(2, 10, 12, w, false);
  std::vector<std::shared_ptr<std::vector<uint8_t>>> keep;
  pack_tensor(mb, 1, 16, &keep);
  std::vector<uint8_t> file;
  QRT_ASSERT(fmt::write_model(mb.def(), &file).ok());
  auto r = fmt::read_model(file.data(), file.size());
  QRT_ASSERT_MSG(r.ok(), r.status().to_string());
  QRT_EXPECT_EQ(r->format_minor, 1u);
  const fmt::TensorDef& t = r->tensors[1];
  QRT_EXPECT(t.layout == fmt::WeightLayout::kC4 && t.layout_nr == 16);
  QRT_EXPECT(t.nbytes == keep[0]->size() && std::memcmp(t.data, keep[0]->data(), t.nbytes) == 0);
  QRT_EXPECT(r->tensors[2].layout == fmt::WeightLayout::kPlain && r->tensors[2].layout_nr == 0);
  std::vector<uint8_t> again;  // what reads, writes back byte-identically
  QRT_ASSERT(fmt::write_model(r.value(), &again).ok());
  QRT_EXPECT(again == file);
  fmt::ReadOptions vo;
  vo.verify_weights = true;
  QRT_EXPECT(fmt::read_model(file.data(), file.size(), vo).ok());

  // Semantic refusals, through the writer's validation (the reader runs the same checks).
  auto refuse = [&](auto edit, const std::string& needle) {
    fmt::ModelDef m = r.value();
    edit(m.tensors[1]);
    std::vector<uint8_t> out;
    qrt::Status s = fmt::write_model(m, &out);
    QRT_EXPECT(!s.ok() && s.message().find(needle) != std::string::npos) << needle << ": " << s.to_string();
  };
  refuse([](fmt::TensorDef& x) { x.layout_nr = 12; }, "nr 12");
  refuse([](fmt::TensorDef& x) { x.nbytes -= 1; }, "in c4/16");
  refuse([](fmt::TensorDef& x) { x.dtype = DType::kU8; }, "needs s8");
  refuse([](fmt::TensorDef& x) { x.shape = {120}; }, "rank >= 2");
  refuse([](fmt::TensorDef& x) { x.layout = static_cast<fmt::WeightLayout>(7); }, "unknown weight layout");
  refuse([](fmt::TensorDef& x) { x.layout = fmt::WeightLayout::kPlain; }, "unknown weight layout 0 / 16");
  refuse([](fmt::TensorDef& x) { x.layout = fmt::WeightLayout::kPlain; x.layout_nr = 0; }, "bytes, expected");

  // Byte-level refusals: find tensor #1's record (40-byte records) and edit it.
  auto corrupt = [&](auto edit, const std::string& needle) {
    std::vector<uint8_t> f = file;
    edit(f);
    fmt::refresh_checksums(&f);
    auto rr = fmt::read_model(f.data(), f.size());
    QRT_EXPECT(!rr.ok() && rr.status().message().find(needle) != std::string::npos)
        << needle << ": " << (rr.ok() ? std::string("read") : rr.status().to_string());
  };
  auto info = fmt::read_file_info(file.data(), file.size());
  QRT_ASSERT(info.ok());
  uint64_t toff = 0;
  for (const auto& s : info->sections)
    if (s.kind == uint32_t(qrt::format::SectionKind::kTensors)) toff = s.offset;
  QRT_ASSERT(toff);
  QRT_EXPECT_EQ(file[toff + 4], 40);  // record size
  // Tensor #0 (x: rank 2, per-tensor quant) spans 40 + 16 + 8 = 64 bytes: tensor #1 at +8+64.
  const size_t rec1 = toff + 8 + 64;
  QRT_EXPECT_EQ(int(file[rec1 + 32]), 1);  // layout c4
  corrupt([&](std::vector<uint8_t>& f) { f[12 + 2] = 0; }, "without the header's packed-weights flag");
  corrupt([&](std::vector<uint8_t>& f) { f[12 + 2] = 3; }, "unknown incompatible flags");
  corrupt([&](std::vector<uint8_t>& f) { f[rec1 + 32] = 9; }, "unknown weight layout 9");
  corrupt([&](std::vector<uint8_t>& f) { f[rec1 + 36] = 24; }, "nr 24");
  corrupt([&](std::vector<uint8_t>& f) { f[toff + 8 + 32] = 0; f[toff + 8 + 36] = 8; }, "plain layout with a layout parameter");
  // A wrong column sum reads (it only changes numbers) but verify_weights reports it.
  std::vector<uint8_t> f = file;
  f[uint64_t(r->tensors[1].data - file.data())] ^= 4;
  fmt::refresh_checksums(&f);
  QRT_EXPECT(fmt::read_model(f.data(), f.size()).ok());
  auto vr = fmt::read_model(f.data(), f.size(), vo);
  QRT_EXPECT(!vr.ok() && vr.status().message().find("column sum 0") != std::string::npos)
      << (vr.ok() ? std::string("read") : vr.status().to_string());
}
