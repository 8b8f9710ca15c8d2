"""ONNX's own node conformance cases (onnx.backend.test) for every qrt ONNX-semantics operator.

Each case whose graph uses a qrt operator is written as a .qmodel with the same nodes and run on
the runtime; outputs must match ONNX's expected outputs within the case's tolerance (rtol/atol
of the case, 1e-3/1e-7 by default). Cases that need something qrt does not implement (another
operator in an expanded function body, float64/string tensors, an attribute or opset form the
runtime refuses with UnsupportedError) are skipped with the reason; every other case must pass.
"""

from __future__ import annotations

import pytest

pytest.importorskip("onnx")
qrt = pytest.importorskip("qrt")

from onnx_node_util import backend_cases, evaluate_case  # noqa: E402

CASES = backend_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_onnx_node_case(case):
    status, msg = evaluate_case(case)
    if status == "skip":
        pytest.skip(msg)
    assert status == "pass", msg
