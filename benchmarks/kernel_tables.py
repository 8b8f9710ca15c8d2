#!/usr/bin/env python3
"""Writes the int8 kernel tables of issue #4 into docs/BENCHMARKS.md, below the
``<!-- kernel benchmarks below -->`` marker (scoreboard.py owns everything above it).

Input: the JSON files of the two kernel benchmarks, run in the same session:

    python benchmarks/int8_kernels_vs_ort.py --qrt-bench build-bench/qrt_bench --rounds 3 --json gemm.json
    python benchmarks/int8_conv_vs_ort.py --threads 1,2 --rounds 3 --json conv.json
    python benchmarks/kernel_tables.py --gemm gemm.json --conv conv.json [--note "machine state"]

The goal lines are computed from the figures, not written by hand.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
MARKER = "<!-- kernel benchmarks below -->"


def gemm_section(g: dict) -> list[str]:
    rows = g["rows"]
    peaks = g.get("peaks_gops", {})
    L = ["### int8 GEMM beside ONNX Runtime MatMulInteger (and PyTorch dynamic Linear)", ""]
    L.append(f"qrt kernel `{g.get('kernel')}`; one-core peaks measured by the benchmark: "
             + ", ".join(f"{k} {v:.0f} GOPS" for k, v in peaks.items())
             + f"; ORT per-call overhead (Identity model) {g.get('ort_overhead_us', 0):.1f} µs. "
             "qrt's figure includes its requantizing epilogue (u8 out); MatMulInteger returns int32. "
             "`dyn` = f32 in, dynamic u8 quantization, GEMM, f32 out (ORT DynamicQuantizeMatMul, "
             "torch dynamic Linear). Ratios > 1: qrt is faster.")
    L.append("")
    L.append("| threads | K x N | M | qrt µs | % peak | ORT µs | ORT / qrt | qrt dyn µs | ORT DQMM / qrt dyn | torch dyn / qrt dyn |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        def f(k, fmt="{:.2f}"):
            v = r.get(k)
            return fmt.format(v) if isinstance(v, (int, float)) else ""
        L.append(f"| {r['threads']} | {r['K']}x{r['N']} | {r['M']} | {f('qrt_us', '{:.1f}')} | "
                 f"{f('qrt_pct_peak', '{:.1f}')} | {f('ort_us', '{:.1f}')} | {f('ort_over_qrt')} | "
                 f"{f('qrt_dynamic_us', '{:.1f}')} | {f('ort_dqmm_over_qrt_dynamic')} | {f('torch_over_qrt_dynamic')} |")
    L.append("")
    one = {(r["K"], r["N"], r["M"]): r for r in rows if r["threads"] == 1}
    two = {(r["K"], r["N"], r["M"]): r for r in rows if r["threads"] == 2}
    m1 = [(k, r["ort_over_qrt"]) for k, r in one.items() if k[2] == 1]
    met1 = sum(v >= 1.5 for _, v in m1)
    L.append(f"- M = 1, ≥ 1.5× ORT MatMulInteger (1 thread): {met1} of {len(m1)} shapes ("
             + ", ".join(f"{k[0]}x{k[1]} {v:.2f}×" for k, v in m1) + ").")
    sc = [(k, one[k]["qrt_us"] / two[k]["qrt_us"]) for k in one if k[2] == 128 and k in two]
    met2 = sum(v >= 1.9 for _, v in sc)
    L.append(f"- 2 threads ≥ 1.9× 1 thread at M = 128: {met2} of {len(sc)} shapes ("
             + ", ".join(f"{k[0]}x{k[1]} {v:.3f}×" for k, v in sc) + ").")
    amx = "amx" in str(g.get("kernel"))
    if amx and "zmm_vnni" in peaks:
        vn = peaks["zmm_vnni"]
        L.append(f"- GEMM against the measured `vpdpbusd` peak ({vn:.0f} GOPS): the selected AMX kernel runs "
                 + ", ".join(f"M={k[2]} {k[0]}x{k[1]} {r['qrt_gops'] / vn * 100:.0f} %"
                             for k, r in one.items() if k[2] in (16, 128))
                 + " of it; the VNNI kernel itself is measured in docs/KERNELS_INT8.md.")
    return L


def conv_section(c: dict) -> list[str]:
    rows = c["rows"]
    by: dict = {}
    for r in rows:
        by.setdefault((r["shape"], json.dumps(r["nets"], sort_keys=True)), {})[r["threads"]] = r
    L = ["### int8 convolutions of ResNet-18 and MobileNetV2 beside ONNX Runtime QLinearConv", ""]
    L.append("ORT best = the faster of NCHW QLinearConv and the NHWC contrib form; µs, best of batches "
             "over the rounds; `x N` = occurrences in the network. Ratios > 1: qrt is faster.")
    L.append("")
    L.append("| shape | in nets | qrt 1T | ORT 1T | ORT / qrt 1T | qrt 2T | ORT 2T | ORT / qrt 2T | qrt kernel |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    worst: dict = {}
    faster: dict = {}
    total: dict = {}
    for (shape, nets), t in by.items():
        cells = []
        for th in (1, 2):
            r = t.get(th)
            if r is None:
                cells += ["", "", ""]
                continue
            ort = min(v for v in (r["ort_nchw_us"], r["ort_nhwc_us"]) if v)
            ratio = ort / r["qrt_us"]
            worst[th] = min(worst.get(th, ratio), ratio)
            faster[th] = faster.get(th, 0) + (ratio > 1)
            total[th] = total.get(th, 0) + 1
            cells += [f"{r['qrt_us']:.1f}", f"{ort:.1f}", f"{ratio:.2f}"]
        ns = ", ".join(f"{k} x{v}" for k, v in json.loads(nets).items())
        kern = next(iter(t.values()))["kernel"]
        L.append(f"| {shape} | {ns} | " + " | ".join(cells) + f" | {kern} |")
    L.append("")
    for th, w in sorted(worst.items()):
        L.append(f"- {th} thread(s): qrt faster than ORT on {faster[th]} of {total[th]} shapes; "
                 f"smallest ratio {w:.2f}×.")
    return L


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gemm", required=True)
    ap.add_argument("--conv", required=True)
    ap.add_argument("--note", default="")
    a = ap.parse_args()
    g = json.loads(Path(a.gemm).read_text())
    c = json.loads(Path(a.conv).read_text())
    L = ["", "## int8 kernels (issue #4)", ""]
    L.append(f"Generated by `benchmarks/kernel_tables.py` on {datetime.date.today().isoformat()} from the runs of")
    L.append("`python benchmarks/int8_kernels_vs_ort.py --qrt-bench build-bench/qrt_bench --rounds 3 --json gemm.json` and")
    L.append("`python benchmarks/int8_conv_vs_ort.py --threads 1,2 --rounds 3 --json conv.json` (same session, same machine"
             + (f"; {a.note}" if a.note else "") + ").")
    L.append("")
    L += gemm_section(g) + [""] + conv_section(c) + [""]
    text = DOC.read_text()
    head = text.split(MARKER)[0] if MARKER in text else text.rstrip() + "\n\n"
    DOC.write_text(head + MARKER + "\n" + "\n".join(L))
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
