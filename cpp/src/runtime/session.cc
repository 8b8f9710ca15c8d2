#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>

#include "cpu/features.h"
#include "plan/planner.h"
#include "runtime/model_impl.h"
#include "runtime/thread_pool.h"

namespace qrt {

class ThreadPool {
 public:
  explicit ThreadPool(int n) : pool(n) {}
  rt::ThreadPool pool;
};

std::shared_ptr<ThreadPool> make_thread_pool(int threads) {
  return std::make_shared<ThreadPool>(threads);
}

namespace {

using format::DType;

// Values folded at plan time (shape arithmetic, small constant subgraphs) are kept by the plan;
// anything larger is computed at run time like every other op.
constexpr size_t kMaxFoldBytes = 1 << 20;
// A single value larger than this is refused as out of memory before any allocation is tried.
constexpr uint64_t kMaxValueBytes = uint64_t(1) << 40;

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using AlignedPtr = std::unique_ptr<void, AlignedFree>;

// Where empty tensors (a zero dimension) point: never null, so that ops may hand them to memcpy
// and friends with a count of 0 (a null pointer there is undefined even for 0 bytes; the
// fuzzer found several such ops). Nothing is ever written through it: there are no elements.
alignas(64) uint8_t kEmptyBlock[64];

AlignedPtr aligned_alloc64(size_t bytes) {
  return AlignedPtr(bytes ? std::aligned_alloc(64, plan::align_up(bytes)) : nullptr);
}

// The activation arena. From 256 KiB it is its own mapping with MAP_POPULATE: the kernel zeroes
// and maps every page in one call instead of one fault per 4 KiB page on the first run (1 MiB:
// ~120 vs ~210 us on this VM), which is part of a model's open -> first result time. The plan
// is made once per input shape, so the arena is not re-populated per run.
class ArenaBlock {
 public:
  ArenaBlock() = default;
  ArenaBlock(const ArenaBlock&) = delete;
  ArenaBlock& operator=(const ArenaBlock&) = delete;
  ~ArenaBlock() { reset(); }
  bool allocate(size_t bytes) {
    reset();
    if (bytes == 0) return true;
    bytes = plan::align_up(bytes);
    if (bytes >= (256u << 10)) {
      void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
      if (p != MAP_FAILED) {
        p_ = p, n_ = bytes, mapped_ = true;
        return true;
      }
    }
    p_ = std::aligned_alloc(64, bytes);
    return p_ != nullptr;
  }
  void* get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  void reset() {
    if (mapped_) munmap(p_, n_);
    else std::free(p_);
    p_ = nullptr, n_ = 0, mapped_ = false;
  }
  void* p_ = nullptr;
  size_t n_ = 0;
  bool mapped_ = false;
};

enum class Kind { kConstant, kGraphInput, kFolded, kComputed };

struct Value {
  rt::ValueInfo info;
  rt::Tensor tensor;
  Kind kind = Kind::kComputed;
  AlignedPtr folded;
  int first = -1, last = -1;  // steps that write / last read it (kComputed)
  int buffer = -1;            // planner buffer index, -1 if not in the arena
  int output_slot = -1;       // graph output index written in place into the caller's buffer
  bool defined = false;
};

struct Step {
  size_t node = 0;
  std::vector<const rt::Tensor*> in;
  std::vector<rt::Tensor*> out;
  size_t scratch_bytes = 0;
  int scratch_buffer = -1;
  void* scratch = nullptr;
  std::shared_ptr<void> state;
};

struct Plan {
  std::vector<std::vector<int64_t>> key;
  std::vector<Value> values;
  std::vector<Step> steps;
  ArenaBlock arena;
  // What memory_plan() reports, kept raw: the report (a string per buffer) is built on request,
  // not on every first run of a shape.
  std::vector<plan::Buffer> buffers;
  std::vector<int> buffer_value;  // value index, or -1 - step for a step's scratch
  plan::Plan placement;
};

Status checked_bytes(const rt::ValueInfo& v, const std::string& name, uint64_t* out) {
  uint64_t n = format::dtype_size(v.dtype);
  if (n == 0) return Internal("value '" + name + "' has no dtype after inference");
  for (int64_t d : v.shape) {
    if (d < 0) return Internal("value '" + name + "' has a negative dimension after inference");
    if (d != 0 && n > kMaxValueBytes / static_cast<uint64_t>(d))
      return OutOfMemory("value '" + name + "' of shape " + rt::shape_str(v.shape) +
                         " would need more than 2^40 bytes");
    n *= static_cast<uint64_t>(d);
  }
  *out = n;
  return OkStatus();
}

}  // namespace

struct Session::Impl {
  std::shared_ptr<const Model> model;
  std::shared_ptr<ThreadPool> pool;
  size_t cache_size = 4;
  size_t max_arena_bytes = 0;  // 0: no limit
  std::list<std::unique_ptr<Plan>> plans;  // most recently used first
  Plan* current = nullptr;
  bool profile = false;
  std::vector<uint64_t> prof_calls;   // per node
  std::vector<double> prof_ms;

  Result<Plan*> plan_for(const std::vector<TensorView>& inputs);
  Result<std::unique_ptr<Plan>> build_plan(const std::vector<TensorView>& inputs);
  Status fold(Plan& p, const format::NodeDef& node, const rt::Op& op, rt::InferContext& ic);
};

Status Session::Impl::fold(Plan& p, const format::NodeDef& node, const rt::Op& op,
                           rt::InferContext& ic) {
  std::vector<rt::Tensor> ins(node.inputs.size());
  std::vector<const rt::Tensor*> in_ptrs(node.inputs.size(), nullptr);
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (node.inputs[i] < 0) continue;
    const Value& v = p.values[node.inputs[i]];
    ins[i] = {v.info.dtype, v.info.shape, const_cast<void*>(v.info.data), v.info.quant};
    in_ptrs[i] = &ins[i];
  }
  std::vector<rt::Tensor*> out_ptrs;
  for (int32_t o : node.outputs) {
    Value& v = p.values[o];
    const size_t bytes = v.info.numel() * format::dtype_size(v.info.dtype);
    v.folded = aligned_alloc64(std::max<size_t>(bytes, 1));
    if (!v.folded)
      return OutOfMemory("cannot allocate " + std::to_string(bytes) + " bytes for the value of '" +
                         model->impl().def.tensors[o].name + "' folded at plan time");
    v.tensor = {v.info.dtype, v.info.shape, v.folded.get(), v.info.quant};
    out_ptrs.push_back(&v.tensor);
  }
  AlignedPtr scratch = aligned_alloc64(ic.scratch_bytes);
  if (ic.scratch_bytes && !scratch)
    return OutOfMemory("cannot allocate " + std::to_string(ic.scratch_bytes) + " bytes of scratch to fold '" +
                       node.name + "' at plan time");
  rt::RunContext rc;
  rc.node = &node;
  rc.inputs = in_ptrs.data();
  rc.num_inputs = in_ptrs.size();
  rc.outputs = out_ptrs.data();
  rc.num_outputs = out_ptrs.size();
  rc.scratch = scratch.get();
  rc.state = ic.state.get();
  rc.pool = &pool->pool;
  QRT_RETURN_IF_ERROR(op.run(rc));
  for (int32_t o : node.outputs) {
    Value& v = p.values[o];
    v.kind = Kind::kFolded;
    v.info.data = v.folded.get();
  }
  return OkStatus();
}

Result<std::unique_ptr<Plan>> Session::Impl::build_plan(const std::vector<TensorView>& inputs) {
  const Model::Impl& m = model->impl();
  const format::ModelDef& def = m.def;
  auto p = std::make_unique<Plan>();
  p->values.resize(def.tensors.size());
  for (size_t i = 0; i < def.tensors.size(); ++i) {
    const format::TensorDef& t = def.tensors[i];
    Value& v = p->values[i];
    v.info.dtype = t.dtype;
    v.info.quant = &t.quant;
    if (t.is_constant) {
      // An empty constant (e.g. no axes) is still a value known at plan time: never null.
      static const uint64_t kEmpty = 0;
      v.kind = Kind::kConstant;
      v.info.shape = t.shape;
      v.info.data = t.data ? static_cast<const void*>(t.data) : &kEmpty;
      v.tensor = {t.dtype, t.shape, t.data ? const_cast<uint8_t*>(t.data) : kEmptyBlock, &t.quant};
      v.defined = true;
    }
  }
  for (size_t i = 0; i < def.inputs.size(); ++i) {
    Value& v = p->values[def.inputs[i]];
    v.kind = Kind::kGraphInput;
    v.info.shape = inputs[i].shape;
    v.tensor = {v.info.dtype, v.info.shape, nullptr, v.info.quant};
    v.defined = true;
    p->key.push_back(inputs[i].shape);
  }

  // Shape inference in execution order, folding what is known at plan time.
  for (size_t n = 0; n < def.nodes.size(); ++n) {
    const format::NodeDef& node = def.nodes[n];
    const rt::Op& op = *m.ops[n];
    rt::InferContext ic{node, {}, {}, 0, nullptr, pool->pool.threads()};
    bool all_known = true;
    for (int32_t in : node.inputs) {
      if (in < 0) {
        ic.inputs.push_back(nullptr);
        continue;
      }
      const Value& v = p->values[in];
      if (!v.defined)
        return Internal(ic.where() + "input '" + def.tensors[in].name + "' is not defined yet");
      ic.inputs.push_back(&v.info);
      all_known = all_known && v.info.data != nullptr;
    }
    for (int32_t o : node.outputs) ic.outputs.push_back(&p->values[o].info);
    QRT_RETURN_IF_ERROR(op.infer(ic));
    uint64_t out_bytes = 0;
    for (int32_t o : node.outputs) {
      Value& v = p->values[o];
      const format::TensorDef& rec = def.tensors[o];
      if (rec.dtype != DType::kUndefined && v.info.dtype != rec.dtype)
        return FormatError(ic.where() + "output '" + rec.name + "' is declared " +
                           format::dtype_name(rec.dtype) + " but the operator produces " +
                           format::dtype_name(v.info.dtype));
      uint64_t b;
      QRT_RETURN_IF_ERROR(checked_bytes(v.info, rec.name, &b).with_context(ic.where()));
      out_bytes += b;
      v.defined = true;
    }
    if (all_known && op.foldable() && out_bytes <= kMaxFoldBytes) {
      QRT_RETURN_IF_ERROR(fold(*p, node, op, ic));
      continue;
    }
    Step s;
    s.node = n;
    s.scratch_bytes = ic.scratch_bytes;
    s.state = std::move(ic.state);
    p->steps.push_back(std::move(s));
  }

  // Liveness: [first write, last read] per computed value; graph outputs go straight into the
  // caller's buffers and never occupy the arena.
  const int num_steps = static_cast<int>(p->steps.size());
  for (int s = 0; s < num_steps; ++s) {
    const format::NodeDef& node = def.nodes[p->steps[s].node];
    for (int32_t in : node.inputs)
      if (in >= 0 && p->values[in].kind == Kind::kComputed) p->values[in].last = s;
    for (int32_t o : node.outputs) {
      p->values[o].first = s;
      p->values[o].last = std::max(p->values[o].last, s);
    }
  }
  for (size_t j = 0; j < def.outputs.size(); ++j) {
    Value& v = p->values[def.outputs[j]];
    if (v.kind == Kind::kComputed && v.output_slot < 0) v.output_slot = static_cast<int>(j);
  }
  std::vector<plan::Buffer> buffers;
  std::vector<int> buffer_value;
  for (size_t i = 0; i < p->values.size(); ++i) {
    Value& v = p->values[i];
    if (v.kind != Kind::kComputed || v.first < 0 || v.output_slot >= 0) continue;
    v.buffer = static_cast<int>(buffers.size());
    buffers.push_back({v.info.numel() * format::dtype_size(v.info.dtype), v.first, v.last});
    buffer_value.push_back(static_cast<int>(i));
  }
  for (int s = 0; s < num_steps; ++s) {
    Step& st = p->steps[s];
    if (st.scratch_bytes == 0) continue;
    st.scratch_buffer = static_cast<int>(buffers.size());
    buffers.push_back({st.scratch_bytes, s, s});
    buffer_value.push_back(-1 - s);
  }
  plan::Plan mp = plan::greedy_plan(buffers);
  std::string bad = plan::validate(buffers, mp);
  if (!bad.empty()) return Internal("memory plan is invalid: " + bad);
  if (max_arena_bytes && mp.arena_size > max_arena_bytes)
    return OutOfMemory("input shapes " + (p->key.empty() ? std::string("[]") : rt::shape_str(p->key[0])) +
                       " need an activation arena of " + std::to_string(mp.arena_size) +
                       " bytes, more than the session's max_arena_bytes (" + std::to_string(max_arena_bytes) + ")");
  if (!p->arena.allocate(mp.arena_size))
    return OutOfMemory("cannot allocate an activation arena of " + std::to_string(mp.arena_size) +
                       " bytes for input shapes " + (p->key.empty() ? "" : rt::shape_str(p->key[0])));
  auto* base = p->arena ? static_cast<uint8_t*>(p->arena.get()) : kEmptyBlock;  // no arena: all empty
  for (Value& v : p->values) {
    if (v.kind != Kind::kComputed) continue;
    v.tensor = {v.info.dtype, v.info.shape,
                v.buffer >= 0 ? base + mp.offsets[v.buffer] : kEmptyBlock, v.info.quant};
  }
  for (Step& st : p->steps) {
    const format::NodeDef& node = def.nodes[st.node];
    for (int32_t in : node.inputs)
      st.in.push_back(in < 0 ? nullptr : &p->values[in].tensor);
    for (int32_t o : node.outputs) st.out.push_back(&p->values[o].tensor);
    if (st.scratch_buffer >= 0) st.scratch = base + mp.offsets[st.scratch_buffer];
  }
  p->buffers = std::move(buffers);
  p->buffer_value = std::move(buffer_value);
  p->placement = std::move(mp);
  return p;
}

Result<Plan*> Session::Impl::plan_for(const std::vector<TensorView>& inputs) {
  for (auto it = plans.begin(); it != plans.end(); ++it) {
    const auto& key = (*it)->key;
    bool same = key.size() == inputs.size();
    for (size_t i = 0; same && i < key.size(); ++i) same = key[i] == inputs[i].shape;
    if (same) {
      plans.splice(plans.begin(), plans, it);
      return plans.front().get();
    }
  }
  auto built = build_plan(inputs);
  if (!built.ok()) return built.status();
  plans.push_front(std::move(built).value());
  while (plans.size() > cache_size) plans.pop_back();
  return plans.front().get();
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;
const Model& Session::model() const { return *impl_->model; }

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options) {
  QRT_RETURN_IF_ERROR(cpu::isa_env_status());
  if (!model) return InvalidArgument("Session::create: model is null");
  if (!options.pool && (options.threads < 1 || options.threads > 1024))
    return InvalidArgument("threads must be between 1 and 1024, got " +
                           std::to_string(options.threads));
  if (options.plan_cache_size < 1) return InvalidArgument("plan_cache_size must be >= 1");
  auto impl = std::make_unique<Impl>();
  impl->model = std::move(model);
  impl->pool = options.pool ? options.pool : make_thread_pool(options.threads);
  impl->cache_size = options.plan_cache_size;
  impl->max_arena_bytes = options.max_arena_bytes;
  impl->profile = options.profile;
  impl->prof_calls.assign(impl->model->impl().def.nodes.size(), 0);
  impl->prof_ms.assign(impl->model->impl().def.nodes.size(), 0.0);
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Status Session::run_with(const std::vector<TensorView>& inputs, const OutputAllocator& allocate) {
  const Model::Impl& m = impl_->model->impl();
  if (inputs.size() != m.inputs.size())
    return InvalidArgument("expected " + std::to_string(m.inputs.size()) + " inputs, got " +
                           std::to_string(inputs.size()));
  std::map<std::string, int64_t> named_dims;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorInfo& want = m.inputs[i];
    const TensorView& got = inputs[i];
    std::string where = "input '" + want.name + "': ";
    if (got.dtype != want.dtype)
      return InvalidArgument(where + "expected dtype " + element_type_name(want.dtype) + ", got " +
                             element_type_name(got.dtype));
    if (got.shape.size() != want.shape.size())
      return InvalidArgument(where + "expected rank " + std::to_string(want.shape.size()) +
                             " (shape " + rt::shape_str(want.shape) + "), got shape " +
                             rt::shape_str(got.shape));
    for (size_t d = 0; d < got.shape.size(); ++d) {
      if (got.shape[d] < 0)
        return InvalidArgument(where + "dimension " + std::to_string(d) + " is negative (" +
                               std::to_string(got.shape[d]) + ")");
      if (want.shape[d] >= 0 && got.shape[d] != want.shape[d])
        return InvalidArgument(where + "dimension " + std::to_string(d) + " must be " +
                               std::to_string(want.shape[d]) + ", got " +
                               std::to_string(got.shape[d]) + " (shape " + rt::shape_str(got.shape) + ")");
      if (d < want.dim_names.size() && !want.dim_names[d].empty()) {
        auto [it, fresh] = named_dims.emplace(want.dim_names[d], got.shape[d]);
        if (!fresh && it->second != got.shape[d])
          return InvalidArgument(where + "dimension '" + want.dim_names[d] + "' is " +
                                 std::to_string(got.shape[d]) + " here but " +
                                 std::to_string(it->second) + " in an earlier input");
      }
    }
    if (!got.data) return InvalidArgument(where + "data pointer is null");
  }
  auto pr = impl_->plan_for(inputs);
  if (!pr.ok()) return pr.status();
  Plan& p = *pr.value();
  impl_->current = &p;
  const format::ModelDef& def = m.def;
  for (size_t i = 0; i < inputs.size(); ++i)
    p.values[def.inputs[i]].tensor.data = const_cast<void*>(inputs[i].data);

  std::vector<void*> out_ptrs(def.outputs.size());
  for (size_t j = 0; j < def.outputs.size(); ++j) {
    Value& v = p.values[def.outputs[j]];
    out_ptrs[j] = allocate(j, static_cast<ElementType>(v.info.dtype), v.info.shape);
    size_t bytes = v.info.numel() * format::dtype_size(v.info.dtype);
    if (!out_ptrs[j] && bytes) return OutOfMemory("cannot allocate output '" + def.tensors[def.outputs[j]].name + "'");
    if (!out_ptrs[j]) out_ptrs[j] = kEmptyBlock;
    if (v.output_slot == static_cast<int>(j)) v.tensor.data = out_ptrs[j];
  }

  rt::ThreadPool* pool = &impl_->pool->pool;
  for (const Step& st : p.steps) {
    rt::RunContext rc;
    rc.node = &def.nodes[st.node];
    rc.inputs = st.in.data();
    rc.num_inputs = st.in.size();
    rc.outputs = st.out.data();
    rc.num_outputs = st.out.size();
    rc.scratch = st.scratch;
    rc.state = st.state.get();
    rc.pool = pool;
    std::chrono::steady_clock::time_point t0;
    if (impl_->profile) t0 = std::chrono::steady_clock::now();
    Status s = m.ops[st.node]->run(rc);
    if (impl_->profile) {
      impl_->prof_calls[st.node]++;
      impl_->prof_ms[st.node] +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    if (!s.ok())
      return s.with_context("node '" + rc.node->name + "' (" + rc.node->op_type + "): ");
  }
  for (size_t j = 0; j < def.outputs.size(); ++j) {
    const Value& v = p.values[def.outputs[j]];
    if (v.output_slot == static_cast<int>(j)) continue;
    size_t bytes = v.info.numel() * format::dtype_size(v.info.dtype);
    const void* src = v.info.data;  // constants and folded values
    if (v.kind == Kind::kGraphInput) src = v.tensor.data;
    if (v.kind == Kind::kComputed) src = v.output_slot >= 0 ? out_ptrs[v.output_slot] : v.tensor.data;
    if (bytes) std::memcpy(out_ptrs[j], src, bytes);
  }
  return OkStatus();
}

Result<std::vector<Tensor>> Session::run(
    const std::vector<std::pair<std::string, TensorView>>& named) {
  const Model::Impl& m = impl_->model->impl();
  std::vector<TensorView> inputs(m.inputs.size());
  std::vector<bool> seen(m.inputs.size(), false);
  for (const auto& [name, view] : named) {
    size_t i = 0;
    while (i < m.inputs.size() && m.inputs[i].name != name) ++i;
    if (i == m.inputs.size()) {
      std::string valid;
      for (const TensorInfo& t : m.inputs) valid += (valid.empty() ? "'" : ", '") + t.name + "'";
      return InvalidArgument("unknown input '" + name + "'; the model's inputs are " + valid);
    }
    if (seen[i]) return InvalidArgument("input '" + name + "' given twice");
    seen[i] = true;
    inputs[i] = view;
  }
  for (size_t i = 0; i < seen.size(); ++i)
    if (!seen[i]) return InvalidArgument("missing input '" + m.inputs[i].name + "'");
  std::vector<Tensor> outs(m.outputs.size());
  Status s = run_with(inputs, [&](size_t j, ElementType dt, const std::vector<int64_t>& shape) -> void* {
    size_t n = element_size(dt);
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    outs[j].dtype = dt;
    outs[j].shape = shape;
    outs[j].nbytes = n;
    outs[j].bytes = std::shared_ptr<uint8_t[]>(new (std::nothrow) uint8_t[n ? n : 1]);
    return outs[j].bytes.get();
  });
  if (!s.ok()) return s;
  return outs;
}

std::vector<ProfileEntry> Session::profile() const {
  std::vector<ProfileEntry> r;
  const Model::Impl& m = impl_->model->impl();
  for (size_t n = 0; n < m.def.nodes.size(); ++n) {
    if (!impl_->prof_calls[n]) continue;
    r.push_back({m.def.nodes[n].name, m.def.nodes[n].op_type, m.ops[n]->kernel_name(),
                 impl_->prof_calls[n], impl_->prof_ms[n]});
  }
  return r;
}

MemoryPlan Session::memory_plan() const {
  MemoryPlan rep;
  const Plan* p = impl_->current;
  if (!p) return rep;
  const format::ModelDef& def = impl_->model->impl().def;
  rep.arena_bytes = p->placement.arena_size;
  rep.naive_bytes = plan::naive_size(p->buffers);
  rep.lower_bound_bytes = plan::lower_bound(p->buffers);
  for (size_t b = 0; b < p->buffers.size(); ++b) {
    const int vi = p->buffer_value[b];
    std::string name = vi >= 0 ? def.tensors[vi].name
                               : "scratch of '" + def.nodes[p->steps[-1 - vi].node].name + "'";
    rep.entries.push_back({name, p->placement.offsets[b], p->buffers[b].size, p->buffers[b].first,
                           p->buffers[b].last});
  }
  return rep;
}

std::vector<KernelReportEntry> Session::kernel_report() const {
  std::vector<KernelReportEntry> r;
  const Model::Impl& m = impl_->model->impl();
  for (size_t n = 0; n < m.def.nodes.size(); ++n)
    r.push_back({m.def.nodes[n].name, m.def.nodes[n].op_type, m.ops[n]->kernel_name()});
  return r;
}

}  // namespace qrt
