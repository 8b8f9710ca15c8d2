"""``qrt inspect``: describe a .qmodel file — header, sections, operators, tensors, totals.

Everything comes from the C++ reader (``qrt._core.read_header`` / ``read_model``), so what is shown
is exactly what the runtime would load; a damaged file raises ``qrt.FormatError`` with the
reader's message.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any, Dict, List, Optional

_DTYPE_BYTES = {"f32": 4, "f16": 2, "bf16": 2, "s8": 1, "u8": 1, "s32": 4, "s64": 8, "bool": 1}


def _shape_str(shape: List[int], dim_names: Optional[List[str]] = None) -> str:
    dims = []
    for i, d in enumerate(shape):
        name = dim_names[i] if dim_names and i < len(dim_names) else ""
        if d < 0:
            dims.append(name or "?")
        else:
            dims.append(str(d))
    return "[" + ", ".join(dims) + "]"


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n} B"


def _quant_summary(q: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    if not q:
        return None
    scales = list(q["scales"])
    zps = list(q["zero_points"])
    out: Dict[str, Any] = {
        "axis": q["axis"],
        "kind": "per-tensor" if q["axis"] == -1 else f"per-axis({q['axis']})",
        "count": len(scales),
    }
    if len(scales) == 1:
        out["scale"] = scales[0]
        out["zero_point"] = zps[0]
    else:
        out["scale_min"] = min(scales)
        out["scale_max"] = max(scales)
        out["zero_points"] = "all 0" if all(z == 0 for z in zps) else f"{min(zps)}..{max(zps)}"
    return out


def _quant_text(s: Optional[Dict[str, Any]]) -> str:
    if not s:
        return ""
    if "scale" in s:
        return f"scale={s['scale']:.6g} zp={s['zero_point']}"
    return (f"{s['kind']} x{s['count']} scale=[{s['scale_min']:.4g}, {s['scale_max']:.4g}] "
            f"zp={s['zero_points']}")


def plan_summary(path: Any, dynamic_dim: int = 1) -> Dict[str, Any]:
    """Open the model in the runtime, run it once on generated inputs (dynamic dims =
    ``dynamic_dim``), and report the activation arena (bytes, naive sum, lower bound) and the
    kernel each node ran. A model the runtime refuses gives {"error": message}."""
    from qrt.cli import _random_inputs  # the inputs `qrt run` / `qrt bench` generate
    from qrt.errors import QrtError
    from qrt.runtime import InferenceSession

    try:
        sess = InferenceSession(path if not isinstance(path, os.PathLike) else os.fspath(path))
        feeds = _random_inputs(sess, dynamic_dim)
        shapes = {k: list(v.shape) for k, v in feeds.items()}
        sess.run(None, feeds)
        mp = sess.memory_plan()
        info = sess._sess.model_info()
        kernels: Counter = Counter()
        for r in sess.kernel_report():
            kernels[f"{r.get('op', '?')}: {r.get('kernel') or '-'}"] += 1
    except (QrtError, ValueError, NotImplementedError, MemoryError) as e:
        return {"error": f"{type(e).__name__}: {e}"}
    lb = mp["lower_bound_bytes"]
    return {
        "input_shapes": shapes,
        "arena_bytes": mp["arena_bytes"],
        "naive_bytes": mp["naive_bytes"],
        "lower_bound_bytes": lb,
        "arena_over_lower_bound": (mp["arena_bytes"] / lb) if lb else None,
        "buffers": len(mp["entries"]),
        "weights_packed_at_load_bytes": info.get("packed_bytes"),
        "weights_in_place_bytes": info.get("in_place_weight_bytes"),
        "kernels": dict(sorted(kernels.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def describe(path: Any, verify_weights: bool = False, plan: bool = False,
             dynamic_dim: int = 1) -> Dict[str, Any]:
    """The facts ``inspect`` prints, as a JSON-serialisable dict (``plan=True`` adds
    ``plan_summary``)."""
    from qrt import _core  # type: ignore[attr-defined]

    header = _core.read_header(path)
    model = _core.read_model(path, verify_weights=verify_weights)
    tensors = model["tensors"]
    produced = {o for n in model["nodes"] for o in n["outputs"]}

    trows = []
    by_dtype: Counter = Counter()
    const_bytes = 0
    n_const = 0
    for i, t in enumerate(tensors):
        const = t["data"] is not None
        nbytes = int(t["data"].nbytes) if const else None
        if const:
            n_const += 1
            const_bytes += nbytes
            by_dtype[t["dtype"]] += nbytes
        kind = ("constant" if const else "input" if i in model["inputs"]
                else "output" if i in model["outputs"] else "value" if i in produced else "unused")
        trows.append({
            "index": i,
            "name": t["name"],
            "kind": kind,
            "dtype": t["dtype"],
            "shape": list(t["shape"]),
            "dim_names": list(t.get("dim_names") or []),
            "bytes": nbytes,
            "quant": _quant_summary(t["quant"]),
            "layout": t.get("layout", "plain"),
        })

    ops = Counter(n["op"] for n in model["nodes"])
    weights = next((s for s in header["sections"] if s["kind"] == "weights"), None)
    structural = header["file_size"] - (weights["size"] if weights else 0)

    def io(idx: List[int]) -> List[Dict[str, Any]]:
        return [{"name": tensors[i]["name"], "dtype": tensors[i]["dtype"],
                 "shape": list(tensors[i]["shape"]),
                 "dim_names": list(tensors[i].get("dim_names") or [])} for i in idx]

    return {
        "file": os.fspath(path) if isinstance(path, (str, os.PathLike)) else None,
        "format_version": header["version"],
        "flags": header["flags"],
        "file_size": header["file_size"],
        "sections": header["sections"],
        "metadata": dict(model["metadata"]),
        "inputs": io(model["inputs"]),
        "outputs": io(model["outputs"]),
        "ops": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
        "nodes": [{"name": n["name"], "op": n["op"], "version": n["version"]}
                  for n in model["nodes"]],
        "tensors": trows,
        "totals": {
            "nodes": len(model["nodes"]),
            "tensors": len(tensors),
            "constants": n_const,
            "constant_bytes": const_bytes,
            "constant_bytes_by_dtype": dict(sorted(by_dtype.items())),
            "structural_bytes": structural,
            "file_over_constant_bytes": (header["file_size"] / const_bytes) if const_bytes else None,
        },
        "weights_verified": bool(verify_weights),
        **({"plan": plan_summary(path, dynamic_dim)} if plan else {}),
    }


def inspect(path: Any, as_json: bool = False, verify_weights: bool = False, plan: bool = True,
            dynamic_dim: int = 1) -> str:
    """Describes a .qmodel (a path or bytes) as text, or as JSON with ``as_json=True``.

    ``verify_weights`` also checks the weights blob's CRC-32C (reads the whole file); ``plan``
    opens the model in the runtime and reports its memory plan and kernels for one run with
    dynamic dims set to ``dynamic_dim``."""
    d = describe(path, verify_weights=verify_weights, plan=plan, dynamic_dim=dynamic_dim)
    if as_json:
        return json.dumps(d, indent=2, sort_keys=False)

    lines: List[str] = []
    add = lines.append
    title = d["file"] or "<bytes>"
    add(f"{title}: .qmodel format {d['format_version']}, {d['file_size']} bytes "
        f"({_fmt_bytes(d['file_size'])})" + (", weights checksum OK" if d["weights_verified"] else ""))
    if d["metadata"]:
        add("metadata:")
        for k, v in d["metadata"].items():
            add(f"  {k}: {v}")
    add("sections:")
    for s in d["sections"]:
        add(f"  {s['kind']:<9} offset {s['offset']:>10}  size {s['size']:>10}  "
            f"crc32c {s['checksum']:08x}{'  required' if s['required'] else ''}")
    add("inputs:")
    for t in d["inputs"]:
        add(f"  {t['name']}: {t['dtype']} {_shape_str(t['shape'], t['dim_names'])}")
    add("outputs:")
    for t in d["outputs"]:
        add(f"  {t['name']}: {t['dtype']} {_shape_str(t['shape'], t['dim_names'])}")
    add(f"ops ({d['totals']['nodes']} nodes):")
    for op, n in d["ops"].items():
        add(f"  {op:<24} {n}")
    add(f"tensors ({d['totals']['tensors']}, {d['totals']['constants']} constant):")
    w = max([len(t["name"]) for t in d["tensors"]] + [4])
    for t in d["tensors"]:
        size = _fmt_bytes(t["bytes"]) if t["bytes"] is not None else ""
        stored = f"  stored {t['layout']}" if t.get("layout", "plain") != "plain" else ""
        add((f"  {t['name']:<{w}}  {t['kind']:<8} {t['dtype']:<4} "
             f"{_shape_str(t['shape'], t['dim_names']):<20} {size:>10}  {_quant_text(t['quant'])}{stored}").rstrip())
    tot = d["totals"]
    add("totals:")
    add(f"  constant bytes: {tot['constant_bytes']} ({_fmt_bytes(tot['constant_bytes'])})"
        + "".join(f", {k} {_fmt_bytes(v)}" for k, v in tot["constant_bytes_by_dtype"].items()))
    add(f"  structure (everything but weights): {tot['structural_bytes']} bytes")
    if tot["file_over_constant_bytes"]:
        add(f"  file / constant bytes: {tot['file_over_constant_bytes']:.4f}")
    if "plan" in d:
        p = d["plan"]
        if "error" in p:
            add(f"memory plan: not available, the runtime refused the model: {p['error']}")
        else:
            shapes = ", ".join(f"{k}={'x'.join(map(str, v)) or 'scalar'}" for k, v in p["input_shapes"].items())
            ratio = f"{p['arena_over_lower_bound']:.3f}" if p["arena_over_lower_bound"] else "-"
            add(f"memory plan (inputs {shapes}; `--dynamic-dim N` sets dynamic dims):")
            add(f"  arena {p['arena_bytes']} bytes ({_fmt_bytes(p['arena_bytes'])}), "
                f"lower bound {p['lower_bound_bytes']} ({_fmt_bytes(p['lower_bound_bytes'])}), "
                f"arena / lower bound {ratio}, naive sum {p['naive_bytes']} "
                f"({_fmt_bytes(p['naive_bytes'])}), {p['buffers']} buffers")
            if p.get("weights_in_place_bytes") is not None:
                add(f"  weights: {_fmt_bytes(p['weights_in_place_bytes'])} used in place from the file "
                    f"(stored packed for this CPU's kernel), {_fmt_bytes(p['weights_packed_at_load_bytes'])} "
                    "packed at load")
            add("kernels (op: kernel variant, nodes):")
            for k, n in p["kernels"].items():
                add(f"  {k:<48} {n}")
    return "\n".join(lines)
