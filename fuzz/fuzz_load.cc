// libFuzzer target: any byte sequence given to the .qmodel loader must end in a FormatError or a
// valid model, never a crash, hang, sanitizer report or unbounded allocation.
//
// Per input:
//  1. read_file_info and read_model on the raw bytes, checksums verified (the production path).
//  2. read_model with checksums NOT verified, so mutations reach the parser behind the CRCs.
//  3. The same bytes with every checksum recomputed (refresh_checksums), then:
//     - read_model must agree with step 2 (checksums are the only difference);
//     - a model that loads must write again (write_model accepts exactly what the reader
//       accepts), and reading the written bytes must give the same model;
//     - when the runtime is compiled in: Model::load_from_buffer, Session::create and one run()
//       on zero-filled inputs with every dynamic dimension set to 1 (inputs capped at 256 KiB).
//       Set QRT_FUZZ_FORMAT_ONLY=1 to fuzz the format alone.
// Build: cmake -DQRT_FUZZ=ON with clang (fuzz/run_fuzz.sh does it all).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "format/model_def.h"
#include "format/testing.h"

#if __has_include("qrt/qrt.h") && !defined(QRT_FUZZ_NO_RUNTIME)
#include "qrt/qrt.h"
#define QRT_FUZZ_RUNTIME 1
#endif

using namespace qrt::format;

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "qrt_fuzz_load: invariant violated: %s: %s\n", what, detail.c_str());
  std::abort();
}

void check_error(const qrt::Status& st, const char* what) {
  if (st.ok()) return;
  if (st.code() != qrt::StatusCode::kFormatError) fail(what, "not a FormatError: " + st.to_string());
  if (st.message().empty()) fail(what, "empty message");
}

bool same_model(const ModelDef& a, const ModelDef& b) {
  if (a.tensors.size() != b.tensors.size() || a.nodes.size() != b.nodes.size() ||
      a.inputs != b.inputs || a.outputs != b.outputs || a.metadata != b.metadata)
    return false;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const TensorDef &x = a.tensors[i], &y = b.tensors[i];
    if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape ||
        x.dim_names != y.dim_names || x.is_constant != y.is_constant || x.nbytes != y.nbytes ||
        x.layout != y.layout || x.layout_nr != y.layout_nr ||
        x.quant.axis != y.quant.axis || x.quant.zero_points != y.quant.zero_points ||
        x.quant.scales.size() != y.quant.scales.size())
      return false;
    if (x.nbytes && std::memcmp(x.data, y.data, x.nbytes) != 0) return false;
    if (!x.quant.scales.empty() &&
        std::memcmp(x.quant.scales.data(), y.quant.scales.data(), 4 * x.quant.scales.size()))
      return false;
  }
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const NodeDef &x = a.nodes[i], &y = b.nodes[i];
    if (x.op_type != y.op_type || x.op_version != y.op_version || x.name != y.name ||
        x.inputs != y.inputs || x.outputs != y.outputs || x.attrs.size() != y.attrs.size())
      return false;
    for (size_t k = 0; k < x.attrs.size(); ++k) {
      const AttrDef &p = x.attrs[k], &q = y.attrs[k];
      if (p.name != q.name || p.type != q.type) return false;
      switch (p.type) {
        case AttrType::kInt: if (p.i != q.i) return false; break;
        case AttrType::kFloat: if (std::memcmp(&p.f, &q.f, 4)) return false; break;
        case AttrType::kString: if (p.s != q.s) return false; break;
        case AttrType::kInts: if (p.ints != q.ints) return false; break;
        case AttrType::kFloats:
          if (p.floats.size() != q.floats.size() ||
              (!p.floats.empty() && std::memcmp(p.floats.data(), q.floats.data(), 4 * p.floats.size())))
            return false;
          break;
      }
    }
  }
  return true;
}

#if QRT_FUZZ_RUNTIME
bool runtime_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("QRT_FUZZ_FORMAT_ONLY");
    return !(e && *e && std::string(e) != "0");
  }();
  return on;
}

bool verbose() {
  static const bool on = std::getenv("QRT_FUZZ_VERBOSE") != nullptr;
  return on;
}

void run_runtime(const std::vector<uint8_t>& file) {
  auto model = qrt::Model::load_from_buffer(file.data(), file.size());
  if (verbose() && !model.ok()) std::fprintf(stderr, "load: %s\n", model.status().to_string().c_str());
  if (!model.ok()) return;  // unsupported ops, bad shapes: errors are fine
  // The input bound below cannot see what padding, broadcasting or expansion make of small
  // inputs (fuzz/regressions/timeout-padded-empty-input-arena: [13814, 0, 6, 3] padded to a 64 MB
  // convolution output, 22 s under ASan); the arena limit refuses such plans before they run.
  qrt::SessionOptions so;
  so.max_arena_bytes = 16u << 20;
  auto session = qrt::Session::create(model.value(), so);
  if (verbose() && !session.ok()) std::fprintf(stderr, "session: %s\n", session.status().to_string().c_str());
  if (!session.ok()) return;
  constexpr uint64_t kMaxInputBytes = 256u << 10;  // bounds the work of one run
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<std::pair<std::string, qrt::TensorView>> inputs;
  uint64_t total = 0;
  for (const qrt::TensorInfo& info : model.value()->inputs()) {
    qrt::TensorView v;
    v.dtype = info.dtype;
    uint64_t numel = 1, span = 1;
    for (int64_t d : info.shape) {
      const int64_t dim = d < 0 ? 1 : d;
      v.shape.push_back(dim);
      // The bound also counts the non-zero dims of an empty tensor: padding can turn
      // [15862, 0, 6, 3] into an 18 M-element convolution output (fuzz/regressions/
      // timeout-empty-input-padded-conv: 13 s under ASan, honest work, not a hang).
      const uint64_t u = dim == 0 ? 1 : static_cast<uint64_t>(dim);
      if (span > kMaxInputBytes / u) return;
      span *= u;
      numel *= static_cast<uint64_t>(dim);
    }
    const uint64_t bytes = numel * qrt::element_size(info.dtype);
    total += bytes;
    if (bytes > kMaxInputBytes || total > kMaxInputBytes) return;
    buffers.emplace_back(static_cast<size_t>(bytes) + 1, 0);
    v.data = buffers.back().data();
    inputs.emplace_back(info.name, std::move(v));
  }
  auto out = session.value()->run(inputs);
  if (verbose()) std::fprintf(stderr, "run: %s\n", out.ok() ? "ok" : out.status().to_string().c_str());
}
#endif

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The loader is given an exact-size heap copy so that ASan sees any read past the end.
  std::vector<uint8_t> buf(data, data + size);
  const uint8_t* p = buf.empty() ? nullptr : buf.data();

  auto info = read_file_info(p, buf.size());
  check_error(info.status(), "read_file_info");
  auto checked = read_model(p, buf.size());
  check_error(checked.status(), "read_model (checksums on)");

  ReadOptions lax;
  lax.verify_checksums = false;
  lax.verify_weights = false;
  auto unchecked = read_model(p, buf.size(), lax);
  check_error(unchecked.status(), "read_model (checksums off)");
  if (checked.ok() && !unchecked.ok()) fail("checksums", "a verified read passed but an unverified one failed");

  refresh_checksums(&buf);
  p = buf.empty() ? nullptr : buf.data();
  ReadOptions strict;  // checksums on, and the weights blob's too
  auto fixed = read_model(p, buf.size(), strict);
  check_error(fixed.status(), "read_model (checksums refreshed)");
  if (fixed.ok() != unchecked.ok())
    fail("refresh", "refreshed-checksum read disagrees with the unverified read: " +
                        fixed.status().to_string() + " vs " + unchecked.status().to_string());
  if (!fixed.ok()) return 0;
  // verify_weights adds the weights checksum (refreshed: passes) and, for packed tensors, that
  // their column sums and padding agree with the weights — the only reason it may refuse now.
  strict.verify_weights = true;
  auto verified = read_model(p, buf.size(), strict);
  check_error(verified.status(), "read_model (verify_weights)");
  if (!verified.ok() && verified.status().message().find("(c4/") == std::string::npos)
    fail("verify_weights", "refused a refreshed file for another reason: " + verified.status().to_string());

  std::vector<uint8_t> again;
  qrt::Status w = write_model(fixed.value(), &again);
  if (!w.ok()) fail("write_model", "a model that reads does not write: " + w.to_string());
  ReadOptions rr;
  rr.verify_weights = verified.ok();
  auto reread = read_model(again.data(), again.size(), rr);
  if (!reread.ok()) fail("re-read", reread.status().to_string());
  if (!same_model(fixed.value(), reread.value())) fail("round trip", "models differ");

#if QRT_FUZZ_RUNTIME
  if (runtime_enabled()) run_runtime(buf);
#endif
  return 0;
}
