"""The ``qrt`` command line: convert | inspect | run | bench | demo | cpu."""

from __future__ import annotations

import argparse
import json
import sys
import time


def _cmd_convert(a: argparse.Namespace) -> int:
    from qrt.convert import convert

    report = convert(
        a.model,
        a.output,
        mode=a.mode,
        calibration=a.calib,
        method=a.method,
        per_channel=not a.per_tensor,
        exclude=a.exclude or None,
        allow_float_fallback=a.allow_float_fallback,
        weight_layout=a.weight_layout,
        weight_bits=a.weight_bits,
    )
    print(report if isinstance(report, str) else getattr(report, "summary", lambda: report)())
    return 0


def _cmd_inspect(a: argparse.Namespace) -> int:
    from qrt.inspect import inspect

    print(inspect(a.model, as_json=a.json, plan=not a.no_plan, dynamic_dim=a.dynamic_dim))
    return 0


def _load_inputs(sess, paths: list[str]) -> dict:
    import numpy as np

    feeds = {}
    inputs = sess.get_inputs()
    for i, p in enumerate(paths):
        if "=" in p:
            name, path = p.split("=", 1)
        else:
            if i >= len(inputs):
                raise SystemExit(f"qrt: more --input files than model inputs ({len(inputs)})")
            name, path = inputs[i].name, p
        if path.endswith(".npz"):
            with np.load(path) as z:
                feeds.update({k: z[k] for k in z.files})
        else:
            feeds[name] = np.load(path)
    return feeds


def _random_inputs(sess, dim: int) -> dict:
    import numpy as np

    rng = np.random.default_rng(0)
    feeds = {}
    for arg in sess.get_inputs():
        shape = [d if isinstance(d, int) else dim for d in arg.shape]
        if arg.numpy_dtype.startswith("float"):
            feeds[arg.name] = rng.standard_normal(shape).astype(arg.numpy_dtype)
        else:
            feeds[arg.name] = rng.integers(0, 2, size=shape).astype(arg.numpy_dtype)
    return feeds


def _cmd_run(a: argparse.Namespace) -> int:
    import numpy as np

    from qrt.runtime import InferenceSession

    sess = InferenceSession(a.model, threads=a.threads)
    feeds = _load_inputs(sess, a.input) if a.input else _random_inputs(sess, a.dynamic_dim)
    outs = sess.run(None, feeds)
    for arg, o in zip(sess.get_outputs(), outs):
        print(f"{arg.name}: {o.dtype} {list(o.shape)}")
        print(np.array2string(o, threshold=20, precision=5))
    if a.output:
        if len(outs) == 1 and a.output.endswith(".npy"):
            np.save(a.output, outs[0])
        else:
            np.savez(a.output, **{arg.name: o for arg, o in zip(sess.get_outputs(), outs)})
    return 0


def _cmd_bench(a: argparse.Namespace) -> int:
    import numpy as np

    from qrt.runtime import InferenceSession

    t0 = time.perf_counter()
    sess = InferenceSession(a.model, threads=a.threads, profile=a.profile)
    feeds = _load_inputs(sess, a.input) if a.input else _random_inputs(sess, a.dynamic_dim)
    sess.run(None, feeds)
    load_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(a.warmup):
        sess.run(None, feeds)
    times = []
    for _ in range(a.runs):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    t = np.array(times)
    plan = sess.memory_plan()
    result = {
        "model": a.model,
        "threads": a.threads,
        "runs": a.runs,
        "load_and_first_run_ms": load_ms,
        "median_ms": float(np.median(t)),
        "p90_ms": float(np.percentile(t, 90)),
        "min_ms": float(t.min()),
        "arena_bytes": plan["arena_bytes"],
        "kernels": sorted({k["kernel"] for k in sess.kernel_report() if k["kernel"]}),
    }
    if a.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{a.model}: median {result['median_ms']:.3f} ms, p90 {result['p90_ms']:.3f} ms, "
              f"min {result['min_ms']:.3f} ms over {a.runs} runs, {a.threads} thread(s)")
        print(f"load + first run {load_ms:.2f} ms; arena {plan['arena_bytes']} bytes")
        print("kernels: " + ", ".join(result["kernels"]))
    if a.profile:
        prof = sorted(sess.profile(), key=lambda e: -e["total_ms"])
        total = sum(e["total_ms"] for e in prof) or 1.0
        print(f"\n{'node':40s} {'op':16s} {'kernel':34s} {'ms/run':>8s} {'share':>6s}")
        for e in prof[:25]:
            print(f"{e['node'][:40]:40s} {e['op'][:16]:16s} {e['kernel'][:34]:34s} "
                  f"{e['total_ms'] / e['calls']:8.4f} {100 * e['total_ms'] / total:5.1f}%")
    return 0


def _cmd_demo(a: argparse.Namespace) -> int:
    from qrt.demo import run_demo

    run_demo()
    return 0


def _cmd_cpu(a: argparse.Namespace) -> int:
    from qrt.runtime import cpu_info

    print(json.dumps(cpu_info(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qrt", description="Quantize models to .qmodel and run them on CPUs.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="convert an ONNX model to .qmodel")
    c.add_argument("model")
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--mode", default="int8",
                   choices=["int8", "int8-dynamic", "int8-weight", "fp16", "bf16", "fp32"])
    c.add_argument("--calib", help="calibration samples (.npz, one array per input, batch on axis 0)")
    c.add_argument("--method", default="minmax", choices=["minmax", "percentile", "entropy", "mse"])
    c.add_argument("--per-tensor", action="store_true", help="per-tensor instead of per-channel weights")
    c.add_argument("--weight-bits", type=int, choices=(8, 7), default=8,
                   help="7: int8 weights in [-64, 64] (faster exact kernels on x86 CPUs without VNNI)")
    c.add_argument("--exclude", action="append", help="node name or op type to keep in float (repeatable)")
    c.add_argument("--allow-float-fallback", action="store_true",
                   help="keep nodes qrt cannot quantize in float instead of failing")
    c.add_argument("--weight-layout", default="auto",
                   choices=["auto", "plain", "c4/8", "c4/16", "c4/32", "c4/64"],
                   help="how int8 GEMM weights are stored: auto (packed for this machine's kernel, "
                        "used in place at load), plain (row-major), or another machine's layout")
    c.set_defaults(fn=_cmd_convert)

    i = sub.add_parser("inspect", help="describe a .qmodel file")
    i.add_argument("model")
    i.add_argument("--json", action="store_true")
    i.add_argument("--no-plan", action="store_true",
                   help="only read the file; do not open it in the runtime for the memory plan and kernels")
    i.add_argument("--dynamic-dim", type=int, default=1, help="size of dynamic dims for the memory plan")
    i.set_defaults(fn=_cmd_inspect)

    for name, fn, hlp in (("run", _cmd_run, "run a .qmodel once"), ("bench", _cmd_bench, "time a .qmodel")):
        r = sub.add_parser(name, help=hlp)
        r.add_argument("model")
        r.add_argument("--input", action="append", default=[],
                       help="input .npy (in input order, or NAME=path) or one .npz; random if omitted")
        r.add_argument("--threads", type=int, default=1)
        r.add_argument("--dynamic-dim", type=int, default=1, help="size used for dynamic dims of random inputs")
        if name == "run":
            r.add_argument("--output", help="write outputs to .npy (one output) or .npz")
        else:
            r.add_argument("--warmup", type=int, default=10)
            r.add_argument("--runs", type=int, default=100)
            r.add_argument("--json", action="store_true")
            r.add_argument("--profile", action="store_true", help="print the slowest nodes")
        r.set_defaults(fn=fn)

    d = sub.add_parser("demo", help="quantize the shipped digits model and compare it with float")
    d.set_defaults(fn=_cmd_demo)
    u = sub.add_parser("cpu", help="CPU features and the kernels qrt selects")
    u.set_defaults(fn=_cmd_cpu)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from qrt.errors import QrtError

    try:
        return args.fn(args)
    except (QrtError, FileNotFoundError) as e:
        print(f"qrt {args.command}: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `qrt inspect m.qmodel | head`: the reader left; not an error of ours
        try:
            sys.stdout = None  # nothing more to flush into the closed pipe at exit
        finally:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
