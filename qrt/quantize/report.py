"""ConversionReport: what the converter did, per node, and how much accuracy it cost."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class NodeReport:
    name: str
    op: str
    mode: str  # "int8", "int8-dynamic", "int8-weight", "fp16", "bf16", "f32"
    dtypes: dict[str, str]  # input / weight / bias / output dtypes
    float_reason: str | None = None
    sqnr_db: float | None = None  # output vs the float model (simulated), when measured


@dataclass
class ConversionReport:
    output_path: str | None
    mode: str
    method: str | None
    per_channel: bool
    nodes: list[NodeReport] = field(default_factory=list)
    file_bytes: int | None = None
    source_sha256: str = ""
    calibration_batches: int = 0
    # End-to-end SQNR (dB) of each graph output vs onnxruntime on the float model.
    output_sqnr_db: dict[str, float] = field(default_factory=dict)
    sqnr_source: str | None = None  # "qrt runtime" or "reference evaluator"
    notes: list[str] = field(default_factory=list)

    @property
    def quantized(self) -> list[NodeReport]:
        return [n for n in self.nodes if n.mode not in ("f32",)]

    @property
    def kept_float(self) -> list[NodeReport]:
        return [n for n in self.nodes if n.float_reason]

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def __str__(self) -> str:
        lines = [f"qrt conversion: mode={self.mode} method={self.method} "
                 f"per_channel={self.per_channel} -> {self.output_path} "
                 f"({self.file_bytes if self.file_bytes is not None else '?'} bytes)"]
        width = max([len(n.name) for n in self.nodes] + [10])
        for n in self.nodes:
            s = f"  {n.name:<{width}} {n.op:<18} {n.mode:<13}"
            if n.sqnr_db is not None:
                s += f" SQNR {n.sqnr_db:6.1f} dB"
            if n.float_reason:
                s += f"  [float: {n.float_reason}]"
            lines.append(s)
        for k, v in self.output_sqnr_db.items():
            lines.append(f"  output {k}: SQNR {v:.1f} dB vs float ({self.sqnr_source})")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)
