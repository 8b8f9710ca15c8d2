#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <system_error>
#include <atomic>
#include <thread>

#include "format/mapped_file.h"
#include "format/weight_layout.h"
#include "kernels/gemm_u8s8.h"
#include "ops/dense_conv.h"
#include "ops/fusion.h"
#include "runtime/model_impl.h"

namespace qrt {

const char* version() { return "0.1.0"; }

const char* element_type_name(ElementType t) {
  return format::dtype_name(static_cast<format::DType>(t));
}
size_t element_size(ElementType t) { return format::dtype_size(static_cast<format::DType>(t)); }

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;
const std::vector<TensorInfo>& Model::inputs() const { return impl_->inputs; }
const std::vector<TensorInfo>& Model::outputs() const { return impl_->outputs; }
const std::vector<std::pair<std::string, std::string>>& Model::metadata() const {
  return impl_->def.metadata;
}
size_t Model::file_bytes() const { return impl_->file_bytes; }
size_t Model::packed_bytes() const { return impl_->packed_bytes; }
size_t Model::in_place_weight_bytes() const { return impl_->in_place_bytes; }

namespace {

TensorInfo info_of(const format::TensorDef& t) {
  TensorInfo i;
  i.name = t.name;
  i.dtype = static_cast<ElementType>(t.dtype);
  i.shape = t.shape;
  i.dim_names = t.dim_names;
  return i;
}

// Input k of node n is packed when the op is created and never read again: every input of
// Dense/Conv2d, W and R (inputs 1 and 2) of the recurrent layers (ops/float_rnn.cc).
bool packs(const format::NodeDef& n, size_t k) {
  if (n.op_type == "Dense" || n.op_type == "Conv2d") return true;
  return (k == 1 || k == 2) && (n.op_type == "LSTM" || n.op_type == "GRU" || n.op_type == "RNN");
}

// MADV_DONTNEED over the whole pages inside [p, p + n).
void drop_pages(const void* p, size_t n) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t b = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  uintptr_t e = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
}

// Maps the file pages in [p, p + n) into the page table (MADV_POPULATE_READ, Linux 5.14; else a
// read per page, which faults them in the same way).
void prefault_pages(const void* p, size_t n) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t b = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
  uintptr_t e = reinterpret_cast<uintptr_t>(p) + n;
#ifdef MADV_POPULATE_READ
  if (madvise(reinterpret_cast<void*>(b), e - b, MADV_POPULATE_READ) == 0) return;
#endif
  for (uintptr_t a = b; a < e; a += page) (void)*reinterpret_cast<const volatile uint8_t*>(a);
}

// Weights that Dense/Conv2d packed at load are never read again from the file image. For a
// memory-mapped file their pages are dropped right after packing (MADV_DONTNEED on a private,
// never-written file mapping just forgets the pages; a later read would fault them back in from
// the file), so resident memory holds one copy of the weights, not two, and the load's peak
// stays near the packed size. Anonymous buffers (load_from_buffer) are never dropped: there
// DONTNEED would zero them.
class PackedSourceDropper {
 public:
  PackedSourceDropper(const format::ModelDef& def, const uint8_t* base, size_t size, bool enabled)
      : def_(def), base_(reinterpret_cast<uintptr_t>(base)), size_(size), enabled_(enabled),
        other_use_(def.tensors.size(), 0), packed_use_(new std::atomic<int>[def.tensors.size()]) {
    for (size_t t = 0; t < def.tensors.size(); ++t) packed_use_[t].store(0);
    for (const format::NodeDef& n : def.nodes)
      for (size_t k = 0; k < n.inputs.size(); ++k)
        if (const int32_t i = n.inputs[k]; i >= 0) packs(n, k) ? void(packed_use_[i]++) : void(other_use_[i]++);
    for (int32_t o : def.outputs) other_use_[o]++;
  }
  // Called after node n's op was created (and packed what it needs); thread-safe.
  void after(const format::NodeDef& n) {
    if (!enabled_) return;
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (const int32_t i = n.inputs[k]; i >= 0 && packs(n, k) && --packed_use_[i] == 0 && other_use_[i] == 0)
        drop(def_.tensors[i]);
  }

 private:
  void drop(const format::TensorDef& t) {
    // Packed tensors may be in use in place (format 1.1); build() drops the ones that are not.
    if (!t.is_constant || !t.data || t.layout != format::WeightLayout::kPlain) return;
    const uintptr_t d = reinterpret_cast<uintptr_t>(t.data);
    if (d >= base_ && d + t.nbytes <= base_ + size_) drop_pages(t.data, t.nbytes);
  }
  const format::ModelDef& def_;
  uintptr_t base_;
  size_t size_;
  bool enabled_;
  std::vector<int> other_use_;
  std::unique_ptr<std::atomic<int>[]> packed_use_;
};

// For a memory-mapped file, the file image is released once the ops exist, so that resident
// memory is the packed weights plus what runs read, not the file. Why not rely on dropping
// weight ranges alone: Linux maps whole page-cache folios on a fault (up to 2 MB when the file
// was written or read ahead in large chunks), so one run-time read of a 1 KB bias next to a
// dropped weight brings the weight's pages back — measured on MiniLM int8: 20 of the 23 MB file
// resident after the first run. So constants that non-packing ops read (biases of float ops,
// LayerNorm parameters, shape constants, small tables) are copied into one anonymous block
// before the ops are created, and the whole mapping is dropped after packing. Tables of at
// least kMappedTableBytes stay in the mapping (only the rows a lookup reads are faulted in, at
// folio granularity; shared between processes through the page cache).
constexpr uint64_t kMappedTableBytes = 1u << 20;

// Tensors read at run time or by ops that do not pack them: inputs that packs() leaves out and
// graph outputs.
std::vector<char> read_outside_packing(const format::ModelDef& def) {
  std::vector<char> r(def.tensors.size(), 0);
  for (const format::NodeDef& n : def.nodes)
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (n.inputs[k] >= 0 && !packs(n, k)) r[n.inputs[k]] = 1;
  for (int32_t o : def.outputs) r[o] = 1;
  return r;
}

// The block for run_constants: from 256 KiB its own mapping with MAP_POPULATE (one call maps and
// zeroes every page instead of a zero-fill pass and a fault per 4 KiB page: MiniLM's position
// table makes it 0.8 MB), else the heap. Its bytes are all written by the copy below.
std::shared_ptr<void> constants_block(size_t bytes) {
  if (bytes >= (256u << 10)) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p != MAP_FAILED) return std::shared_ptr<void>(p, [bytes](void* q) { munmap(q, bytes); });
  }
  return std::shared_ptr<void>(std::aligned_alloc(64, bytes), [](void* q) { std::free(q); });
}

void copy_run_constants(Model::Impl& impl) {
  format::ModelDef& def = impl.def;
  const std::vector<char> read_at_run = read_outside_packing(def);
  uint64_t bytes = 0;
  for (size_t t = 0; t < def.tensors.size(); ++t) {
    const format::TensorDef& td = def.tensors[t];
    if (read_at_run[t] && td.is_constant && td.data && td.nbytes < kMappedTableBytes)
      bytes += (td.nbytes + 63) / 64 * 64;
  }
  if (bytes == 0) return;
  impl.run_constants = constants_block(bytes);
  if (!impl.run_constants) return;  // out of memory: the constants stay in the mapping
  auto* dst = static_cast<uint8_t*>(impl.run_constants.get());  // 64-byte aligned, as the format
  for (size_t t = 0; t < def.tensors.size(); ++t) {
    format::TensorDef& td = def.tensors[t];
    if (!(read_at_run[t] && td.is_constant && td.data && td.nbytes < kMappedTableBytes)) continue;
    const size_t padded = (td.nbytes + 63) / 64 * 64;
    std::memcpy(dst, td.data, td.nbytes);
    std::memset(dst + td.nbytes, 0, padded - td.nbytes);  // what kernels may over-read
    td.data = dst;
    dst += padded;
  }
}

// Packed tensors (format 1.1) are meant for Dense/Conv2d; any other reader — an op, or the graph
// output list — gets plain bytes, unpacked here once, so that no op ever sees a packed layout
// where it expects row-major elements (a file is free to share a weight with another op).
void unpack_other_uses(Model::Impl& impl) {
  format::ModelDef& def = impl.def;
  const std::vector<char> other = read_outside_packing(def);
  for (size_t t = 0; t < def.tensors.size(); ++t) {
    if (!other[t] || def.tensors[t].layout == format::WeightLayout::kPlain) continue;
    impl.unpacked.emplace_back();
    format::make_plain(&def.tensors[t], &impl.unpacked.back());
  }
}

// Is `t` stored in the layout this CPU's int8 GEMM reads (so Dense/Conv2d use it in place)?
bool native_packed(const format::TensorDef& t) {
  return t.data && rt::kernel_reads_layout(kernels::select_gemm_u8s8(), t);
}

// The byte ranges of packed tensors this CPU's int8 GEMM reads in place (same c4 nr), sorted.
std::vector<std::pair<uintptr_t, uintptr_t>> in_place_ranges(const format::ModelDef& def) {
  std::vector<std::pair<uintptr_t, uintptr_t>> r;
  for (const format::TensorDef& t : def.tensors)
    if (native_packed(t))
      r.emplace_back(reinterpret_cast<uintptr_t>(t.data), reinterpret_cast<uintptr_t>(t.data) + t.nbytes);
  std::sort(r.begin(), r.end());
  return r;
}

Result<std::shared_ptr<const Model>> build(std::shared_ptr<const void> storage, const uint8_t* data,
                                           size_t size, const LoadOptions& options,
                                           bool mapped = false) {
  auto impl = std::make_unique<Model::Impl>();
  impl->storage = std::move(storage);
  impl->file_bytes = size;
  format::ReadOptions ro;
  ro.verify_weights = options.verify_weights;
  QRT_ASSIGN_OR_RETURN(impl->def, format::read_model(data, size, ro));
  unpack_other_uses(*impl);
  if (mapped) copy_run_constants(*impl);
  const format::ModelDef& def = impl->def;

  // Every unsupported op type is reported at once, with its nodes, so a user sees the whole list.
  std::string unsupported;
  const rt::OpRegistry& reg = rt::OpRegistry::global();
  for (const format::NodeDef& n : def.nodes) {
    if (!reg.find(n.op_type, n.op_version)) {
      unsupported += "\n  " + n.op_type + " (version " + std::to_string(n.op_version) +
                     ", node '" + n.name + "')" +
                     (reg.has(n.op_type) ? ": this version is newer than the runtime" : "");
    }
  }
  if (!unsupported.empty())
    return Unsupported("model uses operators this runtime does not implement:" + unsupported);

  // Ops are created (weights validated and packed) in parallel: packing dominates load time and
  // nodes are independent. The first error in node order is reported, whatever the timing.
  const size_t num_nodes = def.nodes.size();
  impl->ops.resize(num_nodes);
  std::vector<Status> errors(num_nodes);
  PackedSourceDropper dropper(def, data, size, mapped);
  std::atomic<size_t> next{0};
  // Packed weights come from one slab (runtime/weight_slab.h). Its reservation is address space
  // only; 8x the weights' bytes + 64 MB covers every packed layout (the widest, int8 weight-only
  // widened to f32 and depthwise weights as dwords, are 4x), and a block that does not fit
  // falls back to the heap. Weights the file stores in this CPU's layout are used in place and
  // need neither slab space nor a creation thread (ResNet-18 int8: a thread would cost more than
  // creating every op on this one).
  uint64_t weight_bytes = 0;
  for (const format::NodeDef& n : def.nodes)
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (const int32_t i = n.inputs[k]; i >= 0 && packs(n, k) && def.tensors[i].is_constant &&
                                         !native_packed(def.tensors[i]))
        weight_bytes += def.tensors[i].nbytes;
  if (weight_bytes > 0)
    impl->slab = std::make_unique<rt::WeightSlab>(8 * weight_bytes + (64u << 20), weight_bytes >= (8u << 20));
  auto create_ops = [&] {
    rt::set_current_weight_slab(impl->slab.get());
    struct Reset {
      ~Reset() { rt::set_current_weight_slab(nullptr); }
    } reset;
    for (size_t i; (i = next.fetch_add(1)) < num_nodes;) {
      const format::NodeDef& n = def.nodes[i];
      rt::CreateContext cc{n, def, data + size};
      auto op = (*reg.find(n.op_type, n.op_version))(cc);
      if (!op.ok()) {
        errors[i] = op.status();
        continue;
      }
      impl->ops[i] = std::move(op).value();
      dropper.after(n);
    }
  };
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  size_t threads = options.threads > 0 ? static_cast<size_t>(options.threads) : std::min<size_t>(hw, 4);
  threads = std::min(threads, num_nodes / 4 + 1);
  // A thread costs ~0.1-0.2 ms to start (stack, a malloc arena of its own): more than packing a
  // small model takes, so models with under 2 MB of weights to pack are created on this thread.
  if (weight_bytes < (2u << 20)) threads = 1;
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(create_ops);
  create_ops();
  for (auto& w : workers) w.join();
  for (const Status& e : errors)
    if (!e.ok()) return e;
  if (mapped) {
    // Everything but the weights used in place: those pages are the packed weights now.
    const auto keep = in_place_ranges(def);
    uintptr_t from = reinterpret_cast<uintptr_t>(data);
    for (const auto& r : keep) {
      if (r.first > from) drop_pages(reinterpret_cast<const void*>(from), r.first - from);
      from = std::max(from, r.second);
    }
    const uintptr_t end = reinterpret_cast<uintptr_t>(data) + size;
    if (end > from) drop_pages(reinterpret_cast<const void*>(from), end - from);
    // Weights used in place are read from the mapping, so a fresh process's first run would stop
    // in its GEMMs for their page faults (one per 16 pages with fault-around: 0.4-0.5 ms of the
    // first run for ResNet-18's 11 MB or MiniLM's 10 MB, main-thread CPU time). A thread maps
    // them ahead, in file order, while this one returns and the first run starts. It is detached
    // and owns a reference to the mapping, so destroying the Model never waits for it (nor hangs
    // in a forked child, where a joinable thread's join would never return). Not for small models
    // (thread start ~50 us) or a 1-thread load.
    size_t bytes = 0;
    for (const auto& r : keep) bytes += r.second - r.first;
    if (bytes >= (1u << 20) && options.threads != 1 && hw > 1) {
      try {
        std::thread([keep, storage = impl->storage] {
          for (const auto& r : keep) prefault_pages(reinterpret_cast<const void*>(r.first), r.second - r.first);
        }).detach();
      } catch (const std::system_error&) {
        // No thread available: the first run faults the pages in itself.
      }
    }
  }
  if (options.fuse_ops) rt::fuse_ops(impl->def, impl->ops);
  for (const auto& op : impl->ops) {
    impl->packed_bytes += op->packed_bytes();
    impl->in_place_bytes += op->in_place_bytes();
  }
  for (int32_t i : def.inputs) impl->inputs.push_back(info_of(def.tensors[i]));
  for (int32_t i : def.outputs) impl->outputs.push_back(info_of(def.tensors[i]));
  return std::shared_ptr<const Model>(std::make_shared<Model>(std::move(impl)));
}

}  // namespace

Result<std::shared_ptr<const Model>> Model::load(const std::string& path,
                                                 const LoadOptions& options) {
  auto mf = format::MappedFile::open(path);
  if (!mf.ok()) return mf.status();
  std::shared_ptr<format::MappedFile> file = mf.value();
  auto r = build(file, file->data(), file->size(), options, file->is_mapped());
  if (!r.ok()) return r.status().with_context("'" + path + "': ");
  return r;
}

Result<std::shared_ptr<const Model>> Model::load_from_buffer(const void* data, size_t size,
                                                             const LoadOptions& options) {
  // Copied into a 64-byte aligned block so that weights keep the alignment the format promises.
  auto mf = format::MappedFile::copy_of(data, size);
  if (!mf.ok()) return mf.status();
  std::shared_ptr<format::MappedFile> file = mf.value();
  return build(file, file->data(), file->size(), options);
}

}  // namespace qrt
