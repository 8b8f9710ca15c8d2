"""Graph passes run by the converter, in order (see ``run_all``)."""

from __future__ import annotations

from qrt.ir import Graph
from qrt.passes import (activation, batchnorm, cleanup, dense, einsum, fold_constants, gelu,
                        layernorm, layout, pad, qdq)


def run_all(g: Graph, *, nhwc: bool = True) -> None:
    """The standard pipeline: fold, simplify, fuse, then move convolutional regions to NHWC."""
    qdq.run(g)
    einsum.run(g)
    fold_constants.run(g)
    cleanup.run(g)
    pad.run(g)
    dense.run(g)
    batchnorm.run(g)
    gelu.run(g)
    layernorm.run(g)
    activation.run(g)
    if nhwc:
        layout.run(g)
    cleanup.run(g)
    fold_constants.run(g)
    g.prune()
    g.toposort()


__all__ = ["run_all"]
