// Python access to the .qmodel reader and writer (the one implementation of the layout):
//   write_model(model: dict) -> bytes
//   read_model(data: bytes | str | os.PathLike, verify_weights: bool = False) -> dict
//   read_header(data: bytes | str | os.PathLike) -> dict
// The model dict schema (produced by the Python converter, returned by read_model):
//   {"tensors": [{"name": str, "dtype": "f32"|"f16"|"bf16"|"s8"|"u8"|"s32"|"s64"|"bool",
//                 "shape": [int, -1 = dynamic], "dim_names": [str] (optional),
//                 "data": numpy array | bytes | None (None = not a constant),
//                 "layout": "plain" | "c4/8" | "c4/16" | "c4/32" | "c4/64" (optional; packed
//                           layouts store s8 weights as an int8 GEMM reads them, format 1.1),
//                 "quant": None | {"axis": int (-1 = per tensor), "scales": [float],
//                                  "zero_points": [int]}}],
//    "nodes": [{"op": str, "version": int, "name": str, "inputs": [int, -1 = absent],
//               "outputs": [int], "attrs": {name: int | float | str | list[int] | list[float]}}],
//    "inputs": [int], "outputs": [int], "metadata": {str: str}}
// Attribute types: bool/int -> int, float -> float, str -> string, a list of ints (or an empty
// list) -> ints, a list containing a float -> floats. read_model returns constants as read-only
// numpy arrays of the tensor's dtype and shape (bf16 as uint16) that view the file image (a
// memory map for a path) without copying — except tensors stored packed, which come back as
// plain arrays unpacked into memory of their own, with "layout" saying how the file stores
// them; read_model also adds "format_version": "M.m".
// Errors are qrt::binding::StatusError (mapped to qrt.FormatError / InvalidArgumentError /
// FileNotFoundError by the module's translator).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "errors.h"
#include "format/mapped_file.h"
#include "format/model_def.h"
#include "format/weight_layout.h"
#include "qrt/format.h"

namespace pyb = pybind11;

namespace qrt::py_format {
namespace {

using format::AttrDef;
using format::AttrType;
using format::DType;
using format::ModelDef;
using format::NodeDef;
using format::TensorDef;

[[noreturn]] void bad(const std::string& msg) { throw qrt::binding::StatusError(InvalidArgument(msg)); }

pyb::object get(const pyb::dict& d, const char* key, const std::string& where, bool required) {
  if (d.contains(key)) return d[key];
  if (required) bad(where + ": missing key '" + key + "'");
  return pyb::none();
}

pyb::dict as_dict(const pyb::handle& h, const std::string& where) {
  if (!pyb::isinstance<pyb::dict>(h)) bad(where + ": expected a dict, got " + std::string(pyb::str(h.get_type().attr("__name__"))));
  return pyb::reinterpret_borrow<pyb::dict>(h);
}

pyb::list as_list(const pyb::handle& h, const std::string& where) {
  if (pyb::isinstance<pyb::list>(h) || pyb::isinstance<pyb::tuple>(h)) return pyb::list(pyb::reinterpret_borrow<pyb::object>(h));
  if (pyb::hasattr(h, "tolist") && !pyb::isinstance<pyb::str>(h)) return pyb::list(h.attr("tolist")());
  bad(where + ": expected a list, got " + std::string(pyb::str(h.get_type().attr("__name__"))));
}

std::string to_str(const pyb::handle& h, const std::string& where) {
  if (!pyb::isinstance<pyb::str>(h)) bad(where + ": expected a str");
  return h.cast<std::string>();
}

bool is_int_like(const pyb::handle& h) {
  if (pyb::isinstance<pyb::bool_>(h) || pyb::isinstance<pyb::int_>(h)) return true;
  if (pyb::isinstance<pyb::float_>(h) || pyb::isinstance<pyb::str>(h)) return false;
  return pyb::hasattr(h, "__index__");  // numpy integers
}
bool is_float_like(const pyb::handle& h) {
  if (pyb::isinstance<pyb::float_>(h)) return true;
  if (is_int_like(h) || pyb::isinstance<pyb::str>(h)) return false;
  const pyb::module_ np = pyb::module_::import("numpy");
  return pyb::isinstance(h, np.attr("floating"));
}

int64_t to_i64(const pyb::handle& h, const std::string& where) {
  if (!is_int_like(h)) bad(where + ": expected an int");
  try {
    return pyb::int_(h.attr("__index__")()).cast<int64_t>();
  } catch (const pyb::cast_error&) {
    bad(where + ": integer out of the int64 range");
  }
}

int32_t to_i32(const pyb::handle& h, const std::string& where) {
  const int64_t v = to_i64(h, where);
  if (v < INT32_MIN || v > INT32_MAX) bad(where + ": " + std::to_string(v) + " out of the int32 range");
  return static_cast<int32_t>(v);
}

float to_f32(const pyb::handle& h, const std::string& where) {
  if (!is_float_like(h) && !is_int_like(h)) bad(where + ": expected a number");
  return static_cast<float>(pyb::float_(pyb::reinterpret_borrow<pyb::object>(h)).cast<double>());
}

std::vector<int32_t> index_list(const pyb::handle& h, const std::string& where) {
  std::vector<int32_t> v;
  pyb::list l = as_list(h, where);
  for (size_t i = 0; i < l.size(); ++i) v.push_back(to_i32(l[i], where + "[" + std::to_string(i) + "]"));
  return v;
}

AttrDef to_attr(const std::string& name, const pyb::handle& v, const std::string& where) {
  AttrDef a;
  a.name = name;
  const std::string w = where + ": attribute '" + name + "'";
  if (is_int_like(v)) {
    a.type = AttrType::kInt;
    a.i = to_i64(v, w);
  } else if (is_float_like(v)) {
    a.type = AttrType::kFloat;
    a.f = to_f32(v, w);
  } else if (pyb::isinstance<pyb::str>(v)) {
    a.type = AttrType::kString;
    a.s = v.cast<std::string>();
  } else if (pyb::isinstance<pyb::list>(v) || pyb::isinstance<pyb::tuple>(v) ||
             pyb::isinstance<pyb::array>(v)) {
    pyb::list l = as_list(v, w);
    bool any_float = false;
    for (const pyb::handle& e : l) {
      if (is_float_like(e)) any_float = true;
      else if (!is_int_like(e)) bad(w + ": list elements must be ints or floats");
    }
    a.type = any_float ? AttrType::kFloats : AttrType::kInts;
    for (size_t i = 0; i < l.size(); ++i) {
      const std::string we = w + "[" + std::to_string(i) + "]";
      if (any_float) a.floats.push_back(to_f32(l[i], we));
      else a.ints.push_back(to_i64(l[i], we));
    }
  } else {
    bad(w + ": unsupported value type " + std::string(pyb::str(v.get_type().attr("__name__"))) +
        " (int, float, str, list of int, list of float)");
  }
  return a;
}

// Python objects whose buffers the ModelDef points into, kept alive while writing.
struct Keep {
  std::vector<pyb::object> objects;
  std::vector<std::unique_ptr<pyb::buffer_info>> buffers;
  std::vector<std::unique_ptr<std::vector<uint8_t>>> packed;  // bytes packed for "layout"
};

// "layout": "c4/<nr>" asks for the tensor's plain s8 data to be stored packed (format 1.1).
void set_layout(TensorDef* t, const pyb::handle& layout, const std::string& where, Keep* keep) {
  if (layout.is_none()) return;
  const std::string name = pyb::isinstance<pyb::str>(layout) ? layout.cast<std::string>() : "";
  format::WeightLayout wl;
  uint32_t nr = 0;
  if (!format::parse_layout(name, &wl, &nr))
    bad(where + ": unknown layout '" + name + "' (plain, c4/8, c4/16, c4/32, c4/64)");
  if (wl == format::WeightLayout::kPlain) return;
  uint64_t N = 0, K = 0, bytes = 0;
  if (!t->is_constant || t->dtype != DType::kS8 || !format::c4_matrix_dims(t->shape, &N, &K) ||
      !format::c4_packed_bytes(N, K, nr, &bytes))
    bad(where + ": layout '" + name + "' needs a constant s8 tensor of rank >= 2 with no zero dimension");
  if (t->nbytes != N * K)
    bad(where + ": data has " + std::to_string(t->nbytes) + " bytes, the shape needs " + std::to_string(N * K));
  auto buf = std::make_unique<std::vector<uint8_t>>(bytes);
  format::pack_c4(N, K, nr, reinterpret_cast<const int8_t*>(t->data), buf->data());
  t->data = buf->data();
  t->nbytes = bytes;
  t->layout = wl;
  t->layout_nr = nr;
  keep->packed.push_back(std::move(buf));
}

void set_data(TensorDef* t, const pyb::handle& data, const std::string& where, Keep* keep) {
  if (data.is_none()) return;
  t->is_constant = true;
  pyb::object obj;
  if (pyb::isinstance<pyb::bytes>(data) || pyb::isinstance<pyb::bytearray>(data) ||
      pyb::isinstance<pyb::memoryview>(data)) {
    obj = pyb::reinterpret_borrow<pyb::object>(data);
  } else if (pyb::isinstance<pyb::array>(data)) {
    pyb::array arr = pyb::reinterpret_borrow<pyb::array>(data);
    const pyb::dtype dt = arr.dtype();
    const char bo = dt.byteorder();
    if (bo == '>') bad(where + ": data is a big-endian array; use a little-endian dtype");
    const size_t want = format::dtype_size(t->dtype);
    if (static_cast<size_t>(dt.itemsize()) != want)
      bad(where + ": data has numpy dtype " + std::string(pyb::str(dt)) + " (" +
          std::to_string(dt.itemsize()) + " bytes per element) but dtype " +
          format::dtype_name(t->dtype) + " needs " + std::to_string(want));
    obj = pyb::module_::import("numpy").attr("ascontiguousarray")(arr);
  } else {
    bad(where + ": data must be a numpy array, bytes or None");
  }
  auto info = std::make_unique<pyb::buffer_info>(pyb::buffer(obj).request());
  t->data = static_cast<const uint8_t*>(info->ptr);
  t->nbytes = static_cast<uint64_t>(info->size) * static_cast<uint64_t>(info->itemsize);
  if (t->nbytes == 0) t->data = nullptr;
  keep->objects.push_back(obj);
  keep->buffers.push_back(std::move(info));
}

ModelDef to_model(const pyb::handle& model_h, Keep* keep) {
  ModelDef m;
  const pyb::dict model = as_dict(model_h, "model");
  pyb::list tensors = as_list(get(model, "tensors", "model", true), "model['tensors']");
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::string where = "tensors[" + std::to_string(i) + "]";
    const pyb::dict td = as_dict(tensors[i], where);
    TensorDef t;
    t.name = to_str(get(td, "name", where, true), where + "['name']");
    where += " '" + t.name + "'";
    const std::string dt = to_str(get(td, "dtype", where, true), where + "['dtype']");
    if (!format::parse_dtype(dt, &t.dtype))
      bad(where + ": unknown dtype '" + dt + "' (f32, f16, bf16, s8, u8, s32, s64, bool)");
    pyb::list shape = as_list(get(td, "shape", where, true), where + "['shape']");
    for (size_t d = 0; d < shape.size(); ++d)
      t.shape.push_back(to_i64(shape[d], where + "['shape'][" + std::to_string(d) + "]"));
    pyb::object dn = get(td, "dim_names", where, false);
    if (!dn.is_none()) {
      pyb::list l = as_list(dn, where + "['dim_names']");
      for (size_t d = 0; d < l.size(); ++d)
        t.dim_names.push_back(l[d].is_none() ? std::string()
                                             : to_str(l[d], where + "['dim_names'][" + std::to_string(d) + "]"));
      bool any = false;
      for (const std::string& s : t.dim_names) any |= !s.empty();
      if (!any) t.dim_names.clear();
    }
    set_data(&t, get(td, "data", where, false), where + "['data']", keep);
    set_layout(&t, get(td, "layout", where, false), where + "['layout']", keep);
    pyb::object q = get(td, "quant", where, false);
    if (!q.is_none()) {
      const std::string wq = where + "['quant']";
      const pyb::dict qd = as_dict(q, wq);
      pyb::object axis = get(qd, "axis", wq, false);
      t.quant.axis = axis.is_none() ? -1 : to_i32(axis, wq + "['axis']");
      pyb::list scales = as_list(get(qd, "scales", wq, true), wq + "['scales']");
      for (size_t k = 0; k < scales.size(); ++k)
        t.quant.scales.push_back(to_f32(scales[k], wq + "['scales'][" + std::to_string(k) + "]"));
      pyb::object zp = get(qd, "zero_points", wq, false);
      if (zp.is_none()) {
        t.quant.zero_points.assign(t.quant.scales.size(), 0);
      } else {
        t.quant.zero_points = index_list(zp, wq + "['zero_points']");
        if (t.quant.zero_points.empty()) t.quant.zero_points.assign(t.quant.scales.size(), 0);
      }
    }
    m.tensors.push_back(std::move(t));
  }
  pyb::list nodes = as_list(get(model, "nodes", "model", true), "model['nodes']");
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::string where = "nodes[" + std::to_string(i) + "]";
    const pyb::dict nd = as_dict(nodes[i], where);
    NodeDef n;
    n.op_type = to_str(get(nd, "op", where, true), where + "['op']");
    pyb::object name = get(nd, "name", where, false);
    n.name = name.is_none() ? std::string() : to_str(name, where + "['name']");
    where += " '" + n.name + "' (" + n.op_type + ")";
    pyb::object ver = get(nd, "version", where, false);
    const int64_t v = ver.is_none() ? 1 : to_i64(ver, where + "['version']");
    if (v < 1 || v > 65535) bad(where + ": version " + std::to_string(v) + " out of range [1, 65535]");
    n.op_version = static_cast<uint16_t>(v);
    n.inputs = index_list(get(nd, "inputs", where, true), where + "['inputs']");
    n.outputs = index_list(get(nd, "outputs", where, true), where + "['outputs']");
    pyb::object attrs = get(nd, "attrs", where, false);
    if (!attrs.is_none()) {
      for (auto kv : as_dict(attrs, where + "['attrs']"))
        n.attrs.push_back(to_attr(to_str(kv.first, where + " attribute name"), kv.second, where));
    }
    m.nodes.push_back(std::move(n));
  }
  m.inputs = index_list(get(model, "inputs", "model", true), "model['inputs']");
  m.outputs = index_list(get(model, "outputs", "model", true), "model['outputs']");
  pyb::object meta = get(model, "metadata", "model", false);
  if (!meta.is_none())
    for (auto kv : as_dict(meta, "model['metadata']"))
      m.metadata.emplace_back(to_str(kv.first, "metadata key"),
                              to_str(kv.second, "metadata['" + pyb::str(kv.first).cast<std::string>() + "']"));
  return m;
}

// The file image behind a read: bytes are copied into an aligned buffer, a path is mapped.
std::shared_ptr<format::MappedFile> open_image(const pyb::handle& src) {
  if (pyb::isinstance<pyb::bytes>(src) || pyb::isinstance<pyb::bytearray>(src) ||
      pyb::isinstance<pyb::memoryview>(src)) {
    pyb::buffer_info b = pyb::buffer(pyb::reinterpret_borrow<pyb::object>(src)).request();
    const size_t n = static_cast<size_t>(b.size) * static_cast<size_t>(b.itemsize);
    return qrt::binding::unwrap(format::MappedFile::copy_of(b.ptr, n));
  }
  pyb::object os = pyb::module_::import("os");
  if (!pyb::isinstance<pyb::str>(src) && !pyb::hasattr(src, "__fspath__"))
    bad("expected bytes or a path (str or os.PathLike), got " +
        std::string(pyb::str(src.get_type().attr("__name__"))));
  const std::string path = pyb::str(os.attr("fspath")(src)).cast<std::string>();
  std::shared_ptr<format::MappedFile> f;
  {
    pyb::gil_scoped_release nogil;
    auto r = format::MappedFile::open(path);
    if (!r.ok()) {
      pyb::gil_scoped_acquire gil;
      throw qrt::binding::StatusError(r.status());
    }
    f = r.value();
  }
  return f;
}

const char* numpy_dtype(DType t) {
  switch (t) {
    case DType::kF32: return "<f4";
    case DType::kF16: return "<f2";
    case DType::kBF16: return "<u2";
    case DType::kS8: return "i1";
    case DType::kU8: return "u1";
    case DType::kS32: return "<i4";
    case DType::kS64: return "<i8";
    case DType::kBool: return "?";
    default: return "u1";
  }
}

pyb::object attr_value(const AttrDef& a) {
  switch (a.type) {
    case AttrType::kInt: return pyb::int_(a.i);
    case AttrType::kFloat: return pyb::float_(a.f);
    case AttrType::kString: return pyb::str(a.s);
    case AttrType::kInts: return pyb::cast(a.ints);
    case AttrType::kFloats: {
      pyb::list l;
      for (float f : a.floats) l.append(pyb::float_(f));
      return std::move(l);
    }
  }
  return pyb::none();
}

pyb::dict to_dict(const ModelDef& m, const std::shared_ptr<format::MappedFile>& image) {
  // One capsule owns a reference to the image; every array is a read-only view based on it.
  auto* holder = new std::shared_ptr<format::MappedFile>(image);
  pyb::capsule base(holder, [](void* p) { delete static_cast<std::shared_ptr<format::MappedFile>*>(p); });
  pyb::list tensors;
  for (const TensorDef& t : m.tensors) {
    pyb::dict d;
    d["name"] = t.name;
    d["dtype"] = format::dtype_name(t.dtype);
    d["shape"] = pyb::cast(t.shape);
    d["dim_names"] = pyb::cast(t.dim_names);
    d["layout"] = format::layout_name(t.layout, t.layout_nr);
    if (t.is_constant && t.layout != format::WeightLayout::kPlain) {
      // Packed in the file: the plain array is unpacked into memory of its own.
      pyb::array_t<int8_t> arr(t.shape);
      uint64_t N = 0, K = 0;
      format::c4_matrix_dims(t.shape, &N, &K);
      format::unpack_c4(N, K, t.layout_nr, t.data, arr.mutable_data());
      pyb::detail::array_proxy(arr.ptr())->flags &= ~pyb::detail::npy_api::NPY_ARRAY_WRITEABLE_;
      d["data"] = arr;
    } else if (t.is_constant) {
      pyb::array arr(pyb::dtype(numpy_dtype(t.dtype)), t.shape, {},
                    t.nbytes ? static_cast<const void*>(t.data) : nullptr, base);
      pyb::detail::array_proxy(arr.ptr())->flags &= ~pyb::detail::npy_api::NPY_ARRAY_WRITEABLE_;
      d["data"] = arr;
    } else {
      d["data"] = pyb::none();
    }
    if (t.quant.empty()) {
      d["quant"] = pyb::none();
    } else {
      pyb::dict q;
      q["axis"] = t.quant.axis;
      pyb::list scales;
      for (float s : t.quant.scales) scales.append(pyb::float_(s));
      q["scales"] = scales;
      q["zero_points"] = pyb::cast(t.quant.zero_points);
      d["quant"] = q;
    }
    tensors.append(d);
  }
  pyb::list nodes;
  for (const NodeDef& n : m.nodes) {
    pyb::dict d;
    d["op"] = n.op_type;
    d["version"] = n.op_version;
    d["name"] = n.name;
    d["inputs"] = pyb::cast(n.inputs);
    d["outputs"] = pyb::cast(n.outputs);
    pyb::dict attrs;
    for (const AttrDef& a : n.attrs) attrs[pyb::str(a.name)] = attr_value(a);
    d["attrs"] = attrs;
    nodes.append(d);
  }
  pyb::dict meta;
  for (const auto& kv : m.metadata) meta[pyb::str(kv.first)] = pyb::str(kv.second);
  pyb::dict out;
  out["tensors"] = tensors;
  out["nodes"] = nodes;
  out["inputs"] = pyb::cast(m.inputs);
  out["outputs"] = pyb::cast(m.outputs);
  out["metadata"] = meta;
  out["format_version"] = std::to_string(m.format_major) + "." + std::to_string(m.format_minor);
  return out;
}

pyb::bytes write_model_py(const pyb::object& model) {
  Keep keep;
  ModelDef m = to_model(model, &keep);
  std::vector<uint8_t> out;
  Status st;
  {
    pyb::gil_scoped_release nogil;
    st = format::write_model(m, &out);
  }
  qrt::binding::throw_if_error(st);
  return pyb::bytes(reinterpret_cast<const char*>(out.data()), out.size());
}

pyb::dict read_model_py(const pyb::object& src, bool verify_weights) {
  std::shared_ptr<format::MappedFile> image = open_image(src);
  format::ReadOptions o;
  o.verify_weights = verify_weights;
  Result<ModelDef> r = Status();
  {
    pyb::gil_scoped_release nogil;
    r = format::read_model(image->data(), image->size(), o);
  }
  return to_dict(qrt::binding::unwrap(std::move(r)), image);
}

pyb::dict read_header_py(const pyb::object& src) {
  std::shared_ptr<format::MappedFile> image = open_image(src);
  format::FileInfo info = qrt::binding::unwrap(format::read_file_info(image->data(), image->size()));
  pyb::dict d;
  d["version"] = std::to_string(info.format_major) + "." + std::to_string(info.format_minor);
  d["version_major"] = info.format_major;
  d["version_minor"] = info.format_minor;
  d["flags"] = info.flags;
  d["file_size"] = info.file_size;
  d["section_table_offset"] = info.section_table_offset;
  pyb::list secs;
  for (const format::SectionInfo& s : info.sections) {
    pyb::dict e;
    e["kind"] = format::section_kind_name(s.kind);
    e["kind_id"] = s.kind;
    e["flags"] = s.flags;
    e["required"] = (s.flags & format::kSectionRequired) != 0;
    e["offset"] = s.offset;
    e["size"] = s.size;
    e["checksum"] = s.crc32c;
    secs.append(e);
  }
  d["sections"] = secs;
  return d;
}

// Benchmark hook (benchmarks/format_load.py): seconds for each of `repeats` opens of `path` —
// mmap + read_model (header, table, structural checksums, full validation) + unmap — timed in
// C++ so that building the Python dict is not counted.
std::vector<double> time_open(const std::string& path, int repeats, bool verify_weights) {
  std::vector<double> out;
  pyb::gil_scoped_release nogil;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    {
      auto f = format::MappedFile::open(path);
      if (!f.ok()) {
        pyb::gil_scoped_acquire gil;
        throw qrt::binding::StatusError(f.status());
      }
      format::ReadOptions o;
      o.verify_weights = verify_weights;
      auto m = format::read_model(f.value()->data(), f.value()->size(), o);
      if (!m.ok()) {
        pyb::gil_scoped_acquire gil;
        throw qrt::binding::StatusError(m.status());
      }
    }
    out.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return out;
}

}  // namespace
}  // namespace qrt::py_format

void register_format_bindings(pybind11::module_& m) {
  using namespace qrt::py_format;
  m.def("write_model", &write_model_py, pyb::arg("model"),
        "Serialises a model dict (see qrt/inspect.py and docs/FORMAT.md) to .qmodel bytes.");
  m.def("read_model", &read_model_py, pyb::arg("data"), pyb::arg("verify_weights") = false,
        "Reads and validates a .qmodel (bytes or path) into a model dict; constants are "
        "read-only numpy views of the file image.");
  m.def("read_header", &read_header_py, pyb::arg("data"),
        "The header and section table of a .qmodel (bytes or path).");
  m.def("_format_time_open", &time_open, pybind11::arg("path"), pybind11::arg("repeats") = 100,
        pybind11::arg("verify_weights") = false,
        "Benchmark: seconds per mmap + read_model + unmap of a .qmodel, timed in C++.");
  m.attr("FORMAT_VERSION") = std::to_string(qrt::format::kFormatMajor) + "." +
                             std::to_string(qrt::format::kFormatMinor);
}
