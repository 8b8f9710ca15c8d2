// qrt._core: the pybind11 module. Only binding code lives in cpp/bindings; the runtime it wraps
// is the same C++ API applications use (qrt/qrt.h).
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

#include "cpu/features.h"
#include "errors.h"
#include "kernels/attention_f32.h"
#include "kernels/dwconv_f32.h"
#include "kernels/dwconv_u8s8.h"
#include "kernels/eltwise_f32.h"
#include "kernels/gemm_f32.h"
#include "kernels/gemm_u8s8.h"
#include "kernels/im2col_u8.h"
#include "kernels/pool_u8.h"
#include "kernels/qelementwise_u8.h"
#include "kernels/quantize_u8.h"
#include "kernels/vmath.h"
#include "qrt/qrt.h"
#include "runtime/op.h"

namespace py = pybind11;

void register_format_bindings(py::module_& m);

namespace qrt::py_impl {

using qrt::binding::StatusError;
using qrt::binding::unwrap;

// The qrt.errors module, imported once and deliberately never released: a py::object with static
// storage would be destroyed after the interpreter has finalised.
py::handle g_errors;

void translate(const StatusError& e) {
  const char* cls = "InternalError";
  switch (e.status().code()) {
    case StatusCode::kInvalidArgument: cls = "InvalidArgumentError"; break;
    case StatusCode::kFormatError: cls = "FormatError"; break;
    case StatusCode::kUnsupported: cls = "UnsupportedError"; break;
    case StatusCode::kOutOfMemory: cls = "QrtMemoryError"; break;
    case StatusCode::kNotFound:
      PyErr_SetString(PyExc_FileNotFoundError, e.status().message().c_str());
      return;
    default: break;
  }
  py::object c = g_errors.attr(cls);
  PyErr_SetString(c.ptr(), e.status().message().c_str());
}

const char* numpy_dtype(ElementType t) {
  switch (t) {
    case ElementType::kF32: return "float32";
    case ElementType::kF16: return "float16";
    case ElementType::kBF16: return "uint16";
    case ElementType::kS8: return "int8";
    case ElementType::kU8: return "uint8";
    case ElementType::kS32: return "int32";
    case ElementType::kS64: return "int64";
    case ElementType::kBool: return "bool";
    default: return "void";
  }
}

py::dict tensor_info(const TensorInfo& t) {
  py::dict d;
  d["name"] = t.name;
  d["dtype"] = element_type_name(t.dtype);
  d["numpy_dtype"] = numpy_dtype(t.dtype);
  py::list shape;
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (t.shape[i] >= 0)
      shape.append(t.shape[i]);
    else if (i < t.dim_names.size() && !t.dim_names[i].empty())
      shape.append(t.dim_names[i]);
    else
      shape.append(py::none());
  }
  d["shape"] = shape;
  return d;
}

// numpy, imported by the qrt package before _core is used; never released (see g_errors).
py::handle numpy() {
  static py::handle np = py::module_::import("numpy").release();
  return np;
}

// Element type of a buffer-protocol item format (the struct module's codes, as numpy exports
// them; '<', '>', '=', '@', '!' prefixes). *native is false for the other byte order.
ElementType element_type_of_format(const char* f, Py_ssize_t itemsize, bool* native) {
  static const bool little = [] {
    const uint16_t one = 1;
    uint8_t b;
    std::memcpy(&b, &one, 1);
    return b == 1;
  }();
  *native = true;
  if (!f) f = "B";
  if (*f == '<' || *f == '>' || *f == '!' || *f == '=' || *f == '@') {
    if (*f == '<') *native = little;
    if (*f == '>' || *f == '!') *native = !little;
    ++f;
  }
  if (f[0] == 0 || f[1] != 0) return ElementType::kUndefined;
  switch (f[0]) {
    case 'f': return itemsize == 4 ? ElementType::kF32 : ElementType::kUndefined;
    case 'e': return itemsize == 2 ? ElementType::kF16 : ElementType::kUndefined;
    case 'b': return itemsize == 1 ? ElementType::kS8 : ElementType::kUndefined;
    case 'B': return itemsize == 1 ? ElementType::kU8 : ElementType::kUndefined;
    case '?': return itemsize == 1 ? ElementType::kBool : ElementType::kUndefined;
    case 'i': case 'l': case 'q':
      return itemsize == 4 ? ElementType::kS32 : itemsize == 8 ? ElementType::kS64 : ElementType::kUndefined;
    default: return ElementType::kUndefined;
  }
}

// A Py_buffer view released when it goes out of scope (with the GIL held: run() ends holding it).
struct Buffer {
  Py_buffer b{};
  bool held = false;
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(); }
  void release() {
    if (held) PyBuffer_Release(&b);
    held = false;
  }
  bool get(const py::object& o) {
    release();
    if (PyObject_GetBuffer(o.ptr(), &b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
      PyErr_Clear();
      return false;
    }
    held = true;
    return true;
  }
  // A C-contiguous, aligned, native-byte-order view of input `a` (copied by numpy when it is
  // none of those: never a wrong read). `a` is replaced by the copy, which the caller keeps.
  ElementType get_input(py::object& a) {
    bool native = true;
    ElementType et = ElementType::kUndefined;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!get(a)) {
        a = numpy().attr("ascontiguousarray")(a);
        continue;
      }
      et = element_type_of_format(b.format, b.itemsize, &native);
      const bool aligned = b.itemsize <= 0 || reinterpret_cast<uintptr_t>(b.buf) % static_cast<uintptr_t>(b.itemsize) == 0;
      if (et == ElementType::kUndefined || (native && aligned)) return et;
      release();
      py::object dt = a.attr("dtype");
      a = numpy().attr("array")(a, native ? dt : dt.attr("newbyteorder")("="));
    }
    if (!get(a)) throw StatusError(InvalidArgument("an input does not expose a contiguous buffer"));
    return element_type_of_format(b.format, b.itemsize, &native);
  }
};

// A loaded model plus one session: what qrt.InferenceSession wraps.
class PySession {
 public:
  PySession(std::shared_ptr<const Model> model, int threads, size_t cache, bool profile, size_t max_arena) {
    SessionOptions o;
    o.threads = threads;
    o.plan_cache_size = cache;
    o.profile = profile;
    o.max_arena_bytes = max_arena;
    session_ = unwrap(Session::create(model, o));
    model_ = std::move(model);
  }

  py::list inputs() const {
    py::list l;
    for (const auto& t : model_->inputs()) l.append(tensor_info(t));
    return l;
  }
  py::list outputs() const {
    py::list l;
    for (const auto& t : model_->outputs()) l.append(tensor_info(t));
    return l;
  }

  // feeds: list of numpy arrays in graph-input order (the Python wrapper resolves names).
  // Arrays cross through the buffer protocol, not pybind11's numpy API: that API's first use in a
  // process parses numpy's version string with a regex (~0.08 ms, measured), which would land in
  // every fresh process's first run.
  py::list run(const py::list& feeds) {
    const auto& mins = model_->inputs();
    if (feeds.size() != mins.size())
      throw StatusError(InvalidArgument("expected " + std::to_string(mins.size()) + " inputs"));
    std::vector<Buffer> bufs(mins.size());
    std::vector<TensorView> views;
    for (size_t i = 0; i < mins.size(); ++i) {
      py::object a = feeds[i];
      ElementType et = bufs[i].get_input(a);
      if (et != mins[i].dtype) {
        std::string got = py::str(py::getattr(a, "dtype", py::type::of(a)));
        throw StatusError(InvalidArgument("input '" + mins[i].name + "': expected dtype " +
                                          element_type_name(mins[i].dtype) + " (numpy " +
                                          numpy_dtype(mins[i].dtype) + "), got numpy " + got));
      }
      TensorView v;
      v.dtype = et;
      v.shape.assign(bufs[i].b.shape, bufs[i].b.shape + bufs[i].b.ndim);
      v.data = bufs[i].b.buf;
      views.push_back(v);
    }
    std::vector<py::object> outs(model_->outputs().size());
    std::exception_ptr alloc_error;
    Status st;
    {
      py::gil_scoped_release nogil;
      st = session_->run_with(views, [&](size_t j, ElementType dt, const std::vector<int64_t>& shape) -> void* {
        py::gil_scoped_acquire gil;
        try {
          py::tuple shp(shape.size());
          for (size_t k = 0; k < shape.size(); ++k) shp[k] = py::int_(shape[k]);
          outs[j] = numpy().attr("empty")(shp, numpy_dtype(dt));
          Buffer ob;
          if (PyObject_GetBuffer(outs[j].ptr(), &ob.b, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0)
            throw py::error_already_set();
          ob.held = true;
          return ob.b.buf;  // the array owns the memory; the view is released on return
        } catch (...) {
          alloc_error = std::current_exception();
          return nullptr;
        }
      });
    }
    if (alloc_error) std::rethrow_exception(alloc_error);
    qrt::binding::throw_if_error(st);
    py::list result;
    for (auto& o : outs) result.append(o);
    return result;
  }

  py::dict memory_plan() const {
    MemoryPlan p = session_->memory_plan();
    py::dict d;
    d["arena_bytes"] = p.arena_bytes;
    d["naive_bytes"] = p.naive_bytes;
    d["lower_bound_bytes"] = p.lower_bound_bytes;
    py::list rows;
    for (const auto& e : p.entries) {
      py::dict r;
      r["tensor"] = e.tensor;
      r["offset"] = e.offset;
      r["bytes"] = e.bytes;
      r["first_step"] = e.first_step;
      r["last_step"] = e.last_step;
      rows.append(r);
    }
    d["entries"] = rows;
    return d;
  }

  py::list kernel_report() const {
    py::list l;
    for (const auto& e : session_->kernel_report()) {
      py::dict d;
      d["node"] = e.node;
      d["op"] = e.op;
      d["kernel"] = e.kernel;
      l.append(d);
    }
    return l;
  }

  py::list profile() const {
    py::list l;
    for (const auto& e : session_->profile()) {
      py::dict d;
      d["node"] = e.node;
      d["op"] = e.op;
      d["kernel"] = e.kernel;
      d["calls"] = e.calls;
      d["total_ms"] = e.total_ms;
      l.append(d);
    }
    return l;
  }

  py::dict model_info() const {
    py::dict d;
    py::dict meta;
    for (const auto& [k, v] : model_->metadata()) meta[py::str(k)] = v;
    d["metadata"] = meta;
    d["file_bytes"] = model_->file_bytes();
    d["packed_bytes"] = model_->packed_bytes();
    d["in_place_weight_bytes"] = model_->in_place_weight_bytes();
    return d;
  }

 private:
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Session> session_;
};

// The layout this CPU's int8 GEMM (under the ISA cap) reads in place from a packed file.
std::string native_weight_layout() {
  const kernels::GemmU8S8Kernel& k = kernels::select_gemm_u8s8();
  return k.isa == cpu::Isa::kRef ? std::string("plain") : "c4/" + std::to_string(k.nr);
}

py::dict cpu_info() {
  const cpu::Features& f = cpu::features();
  py::dict d;
  d["vendor"] = f.vendor;
  d["brand"] = qrt::cpu::cpu_brand();
  py::dict feats;
#define QRT_FEAT(x) feats[#x] = f.x;
  QRT_FEAT(sse41) QRT_FEAT(sse42) QRT_FEAT(avx) QRT_FEAT(avx2) QRT_FEAT(fma) QRT_FEAT(f16c)
  QRT_FEAT(avx512f) QRT_FEAT(avx512bw) QRT_FEAT(avx512dq) QRT_FEAT(avx512vl) QRT_FEAT(avx512vnni)
  QRT_FEAT(avxvnni) QRT_FEAT(avx512bf16) QRT_FEAT(avx512fp16) QRT_FEAT(amx_int8) QRT_FEAT(os_avx)
  QRT_FEAT(os_avx512) QRT_FEAT(neon) QRT_FEAT(neondot)
#undef QRT_FEAT
  d["features"] = feats;
  d["l2_cache_bytes"] = qrt::cpu::detected_l2_bytes();  // per core, as detected (0: unknown; kernels then assume 1 MiB)
  d["l1d_cache_bytes"] = qrt::cpu::l1d_cache_bytes();   // per core, as used (unknown: 32 KiB)
  py::list avail;
  for (cpu::Isa i : cpu::arch_isas())
    if (cpu::isa_supported(i) && cpu::isa_compiled(i)) avail.append(cpu::isa_name(i));
  d["isa_available"] = avail;
  d["isa_cap"] = cpu::isa_name(cpu::isa_cap());
  py::dict kern;
  kern["gemm_u8s8"] = kernels::select_gemm_u8s8().name;
  d["weight_layout"] = native_weight_layout();
  kern["quantize_u8"] = kernels::select_quantize_u8().name;
  kern["gemm_f32"] = kernels::select_gemm_f32(format::DType::kF32).name;
  kern["gemm_f32f16"] = kernels::select_gemm_f32(format::DType::kF16).name;
  kern["gemm_f32bf16"] = kernels::select_gemm_f32(format::DType::kBF16).name;
  for (auto* k : kernels::gemm_f32_nn_variants())
    if (cpu::isa_enabled(k->isa)) {
      kern["gemm_f32_nn"] = k->name;
      break;
    }
  kern["dwconv_u8s8"] = kernels::select_dwconv_u8s8().name;
  kern["dwconv_f32"] = kernels::select_dwconv_f32().name;
  kern["im2col_u8"] = kernels::select_im2col_u8().name;
  kern["pool_u8"] = kernels::select_pool_u8().name;
  kern["qelementwise_u8"] = kernels::select_qelementwise_u8().name;
  kern["vmath"] = kernels::select_vmath().name;
  kern["eltwise_f32"] = kernels::select_eltwise_f32().name;
  kern["attention_f32"] = kernels::select_attention_f32().name;
  // Attention nodes with precision="bf16" (the int8 and bf16 modes set it) run this one.
  kern["attention_bf16"] = kernels::select_attention(true).name;
  d["kernels"] = kern;
  return d;
}

py::dict kernel_variants() {
  py::dict d;
  py::list g;
  for (auto* k : kernels::gemm_u8s8_variants()) g.append(py::make_tuple(k->name, cpu::isa_name(k->isa)));
  d["gemm_u8s8"] = g;
  py::list q;
  for (auto* k : kernels::quantize_u8_variants()) q.append(py::make_tuple(k->name, cpu::isa_name(k->isa)));
  d["quantize_u8"] = q;
  for (auto dt : {format::DType::kF32, format::DType::kF16, format::DType::kBF16}) {
    py::list l;
    for (auto* k : kernels::gemm_f32_variants(dt)) l.append(py::make_tuple(k->name, cpu::isa_name(k->isa)));
    d[(std::string("gemm_f32") + (dt == format::DType::kF32 ? "" : format::dtype_name(dt))).c_str()] = l;
  }
  return d;
}

}  // namespace qrt::py_impl

PYBIND11_MODULE(_core, m) {
  using namespace qrt::py_impl;
  m.doc() = "qrt runtime core (C++)";
  g_errors = py::module_::import("qrt.errors").release();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const qrt::binding::StatusError& e) {
      translate(e);
    }
  });
  m.attr("__version__") = qrt::version();
  m.def("cpu_info", &cpu_info, "Detected CPU features, the ISA cap and the kernel chosen per family.");
  m.def("kernel_variants", &kernel_variants, "Every compiled kernel variant this CPU can run, per family.");
  m.def("isa_env_error", [] {
    qrt::Status s = qrt::cpu::isa_env_status();
    return s.ok() ? std::string() : s.message();
  });
  m.def("set_isa_cap", [](const std::string& name) { qrt::binding::throw_if_error(qrt::cpu::set_isa_cap(name)); },
        "Caps kernel selection for models loaded afterwards (tests; QRT_ISA sets it per process).");
  m.def("operators", [] { return qrt::rt::OpRegistry::global().op_types(); });
  m.def("native_weight_layout", &native_weight_layout,
        "The packed weight layout ('c4/<nr>', or 'plain' for the reference kernel) that this CPU's "
        "int8 GEMM kernel uses in place when a .qmodel stores its weights that way.");

  py::class_<PySession>(m, "Session")
      .def(py::init([](const py::object& src, int threads, size_t cache, bool verify, bool profile, bool fuse,
                       size_t max_arena) {
             qrt::LoadOptions lo;
             lo.verify_weights = verify;
             lo.fuse_ops = fuse;
             std::shared_ptr<const qrt::Model> model;
             if (py::isinstance<py::bytes>(src) || py::isinstance<py::bytearray>(src) ||
                 py::isinstance<py::memoryview>(src)) {
               py::buffer_info b = py::buffer(src).request();
               py::gil_scoped_release nogil;
               model = unwrap(qrt::Model::load_from_buffer(b.ptr, static_cast<size_t>(b.size * b.itemsize), lo));
             } else {
               std::string path = py::str(src);
               py::gil_scoped_release nogil;
               model = unwrap(qrt::Model::load(path, lo));
             }
             return std::make_unique<PySession>(std::move(model), threads, cache, profile, max_arena);
           }),
           py::arg("source"), py::arg("threads") = 1, py::arg("plan_cache_size") = 4,
           py::arg("verify_weights") = false, py::arg("profile") = false, py::arg("fuse_ops") = true,
           py::arg("max_arena_bytes") = 0)
      .def("inputs", &PySession::inputs)
      .def("outputs", &PySession::outputs)
      .def("run", &PySession::run)
      .def("memory_plan", &PySession::memory_plan)
      .def("kernel_report", &PySession::kernel_report)
      .def("model_info", &PySession::model_info)
      .def("profile", &PySession::profile);

  register_format_bindings(m);
}
