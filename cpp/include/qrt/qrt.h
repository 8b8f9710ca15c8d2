// qrt/qrt.h — the C++ API of the qrt runtime.
//
//   #include <qrt/qrt.h>            // CMake: find_package(qrt) + target_link_libraries(app qrt::runtime)
//
//   auto model = qrt::Model::load("model.qmodel");          // Result<std::shared_ptr<const Model>>
//   if (!model.ok()) { std::cerr << model.status().to_string(); return 1; }
//   qrt::SessionOptions opts; opts.threads = 2;
//   auto session = qrt::Session::create(*model, opts);     // Result<std::unique_ptr<Session>>
//   std::vector<float> x(1 * 3 * 224 * 224);
//   auto out = (*session)->run({{"input", qrt::TensorView::of(x.data(), {1, 3, 224, 224})}});
//   // out.value()[0].data<float>() ...
//
// Threading and lifetime:
// - A Model is immutable after load: its graph, its packed weights and the memory map of the file.
//   Share one Model (by shared_ptr) between any number of threads and Sessions; processes that map
//   the same file share its pages through the OS page cache.
// - A Session holds per-caller state: execution plans (one per set of input shapes, cached with an
//   LRU bound so memory stays flat however many shapes arrive), the activation arena and scratch.
//   A Session is not thread-safe: use one per thread (they are cheap), or serialise calls.
// - Outputs returned by run() own their memory; they stay valid after the next run.
//
// Errors: every call that can fail on its input returns Status/Result (see qrt/status.h); the
// runtime never aborts on a bad file, bad shape or bad option.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "qrt/status.h"

namespace qrt {

// Element types; the values are those of the file format (docs/FORMAT.md).
enum class ElementType : uint8_t {
  kUndefined = 0, kF32 = 1, kF16 = 2, kBF16 = 3, kS8 = 4, kU8 = 5, kS32 = 6, kS64 = 7, kBool = 8,
};
const char* element_type_name(ElementType t);  // "f32", "u8", ...
size_t element_size(ElementType t);

// Describes a graph input or output. Dynamic dimensions are -1 in `shape` and may carry a name.
struct TensorInfo {
  std::string name;
  ElementType dtype = ElementType::kUndefined;
  std::vector<int64_t> shape;
  std::vector<std::string> dim_names;  // empty or one per dimension ("" when unnamed)
};

// A caller-owned input: contiguous, row-major, little-endian. Not copied unless the runtime must.
struct TensorView {
  ElementType dtype = ElementType::kUndefined;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  template <typename T>
  static TensorView of(const T* p, std::vector<int64_t> shape);
};

// An output that owns its bytes.
struct Tensor {
  ElementType dtype = ElementType::kUndefined;
  std::vector<int64_t> shape;
  std::shared_ptr<uint8_t[]> bytes;
  size_t nbytes = 0;
  template <typename T>
  const T* data() const { return reinterpret_cast<const T*>(bytes.get()); }
};

struct LoadOptions {
  // Verify the checksum of the weights blob at load (touches every page of the file; off by
  // default because structural sections are always verified and weights cannot cause
  // out-of-bounds access).
  bool verify_weights = false;
  // Threads that create operators and pack weights in parallel (0: up to 4, by the CPU count).
  // Unless it is 1, a file whose weights are used in place (format 1.1 packed layouts) also gets
  // a short-lived thread that maps those pages while load() returns and the first run starts,
  // so that run does not stop for their page faults; it ends by itself (detached, holding its
  // own reference to the mapping).
  int threads = 0;
  // Fuse operators at load where the result is bit-identical and memory or time is saved: an
  // int8 depthwise convolution with the 1x1 int8 convolutions before and/or after it (an
  // inverted-residual block's expansion and projection) runs in strips of rows, so neither the
  // expanded tensor nor the depthwise output exists whole; an f32 Transpose feeding a
  // QuantizeLinear to u8 (a CNN's NCHW input) quantizes tile by tile as it transposes, so the
  // transposed f32 tensor is never written. In both, only when the intermediate has no other
  // reader and is not a graph output. Fused nodes appear once in
  // Session::kernel_report() and the profile, named "<first> + <second>". False keeps one op per
  // node of the file.
  bool fuse_ops = true;
};

class Model {
 public:
  // Memory-maps `path` read-only, validates the whole file, creates every operator and packs
  // weights for the kernels this CPU runs — or, for weights the file stores already packed for
  // them (format 1.1), uses those bytes in place from the mapping. kNotFound for a missing path;
  // kFormatError for a bad file; kUnsupported for an operator or op version this runtime lacks.
  // While a Model lives, its file must not be truncated or rewritten in place (the pages of
  // in-place weights and large tables are read at run time; a truncated mapping faults with
  // SIGBUS, as with any mmap): replace model files by rename, or use load_from_buffer.
  static Result<std::shared_ptr<const Model>> load(const std::string& path,
                                                   const LoadOptions& options = {});
  // Same from memory (an embedded model). The bytes are copied into an aligned buffer.
  static Result<std::shared_ptr<const Model>> load_from_buffer(const void* data, size_t size,
                                                               const LoadOptions& options = {});

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  const std::vector<std::pair<std::string, std::string>>& metadata() const;
  // Bytes of the file image; of weights packed at load (memory of the Model's own); and of
  // weights the file stores already packed for this CPU's kernel, used in place from the file
  // image (format 1.1 packed layouts: no packing at load, pages shared through the page cache).
  size_t file_bytes() const;
  size_t packed_bytes() const;
  size_t in_place_weight_bytes() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }
  explicit Model(std::unique_ptr<Impl> impl);
  ~Model();

 private:
  std::unique_ptr<Impl> impl_;
};

class ThreadPool;  // opaque; share one between sessions to cap a process's total threads

struct SessionOptions {
  int threads = 1;                      // intra-op parallelism including the caller (>= 1)
  std::shared_ptr<ThreadPool> pool;     // optional shared pool; overrides `threads`
  size_t plan_cache_size = 4;           // plans kept for distinct input-shape sets (LRU, >= 1)
  bool profile = false;                 // time every node of every run (see Session::profile())
  // Largest activation arena a plan may allocate, in bytes; 0: no limit. A run whose input shapes
  // would need more fails with OutOfMemory before anything is allocated or computed: a bound on
  // the memory (and roughly the work) one run of an untrusted model can take, whatever its
  // shapes, padding or broadcasting make of small inputs. Graph outputs (allocated by the
  // caller) and values folded at plan time (at most 1 MB each) are not counted.
  size_t max_arena_bytes = 0;
};

std::shared_ptr<ThreadPool> make_thread_pool(int threads);

// One row of the memory plan: where a value lives in the arena and when.
struct MemoryPlanEntry {
  std::string tensor;
  size_t offset = 0, bytes = 0;
  int first_step = 0, last_step = 0;
};
struct MemoryPlan {
  size_t arena_bytes = 0;       // what the planner allocated
  size_t naive_bytes = 0;       // sum of all intermediate buffers (no reuse)
  size_t lower_bound_bytes = 0; // the most bytes live at any one step
  std::vector<MemoryPlanEntry> entries;
};

struct KernelReportEntry {
  std::string node, op, kernel;
};

// Accumulated wall time per node since the session was created (SessionOptions::profile).
struct ProfileEntry {
  std::string node, op, kernel;
  uint64_t calls = 0;
  double total_ms = 0;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options = {});
  ~Session();

  // Inputs by name; every graph input must be given. Outputs in graph-output order.
  Result<std::vector<Tensor>> run(const std::vector<std::pair<std::string, TensorView>>& inputs);

  // Lower-level form for bindings: inputs in graph-input order; `allocate(i, dtype, shape)` returns
  // the buffer output i is written to (e.g. a fresh numpy array), or nullptr to fail the run.
  using OutputAllocator =
      std::function<void*(size_t index, ElementType dtype, const std::vector<int64_t>& shape)>;
  Status run_with(const std::vector<TensorView>& inputs, const OutputAllocator& allocate);

  // The plan for the most recent input shapes (empty before the first run).
  MemoryPlan memory_plan() const;
  std::vector<KernelReportEntry> kernel_report() const;
  // Per-node timings in execution order (empty unless SessionOptions::profile); nodes folded at
  // plan time never appear.
  std::vector<ProfileEntry> profile() const;
  const Model& model() const;

  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- implementation details of the inline templates ----
template <typename T> struct ElementTypeOf;
template <> struct ElementTypeOf<float> { static constexpr ElementType value = ElementType::kF32; };
template <> struct ElementTypeOf<uint8_t> { static constexpr ElementType value = ElementType::kU8; };
template <> struct ElementTypeOf<int8_t> { static constexpr ElementType value = ElementType::kS8; };
template <> struct ElementTypeOf<int32_t> { static constexpr ElementType value = ElementType::kS32; };
template <> struct ElementTypeOf<int64_t> { static constexpr ElementType value = ElementType::kS64; };
template <> struct ElementTypeOf<bool> { static constexpr ElementType value = ElementType::kBool; };

template <typename T>
TensorView TensorView::of(const T* p, std::vector<int64_t> shape) {
  TensorView v;
  v.dtype = ElementTypeOf<T>::value;
  v.shape = std::move(shape);
  v.data = p;
  return v;
}

// Version of the runtime and the newest .qmodel format it reads.
const char* version();

}  // namespace qrt
