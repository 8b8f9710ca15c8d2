"""The CLI and the QRT_ISA environment variable, exercised in subprocesses as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from qrt_testutil import mlp_model


def _run(args, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    # Run away from the source tree so that `-m qrt` imports the installed package.
    kw["cwd"] = "/"
    return subprocess.run([sys.executable, "-m", "qrt", *args], capture_output=True, text=True, env=e, **kw)


def test_bad_qrt_isa_is_an_error_listing_valid_names(tmp_path):
    p = _run(["cpu"], env={"QRT_ISA": "avx9000"})
    assert p.returncode != 0
    assert "QRT_ISA='avx9000' is not a known ISA level; valid: ref" in p.stderr


def test_qrt_isa_ref_caps_every_family():
    p = _run(["cpu"], env={"QRT_ISA": "ref"})
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["isa_cap"] == "ref"
    assert all(name.endswith("_ref") for name in info["kernels"].values()), info["kernels"]


def test_run_and_bench_commands(tmp_path):
    data, _ = mlp_model()
    model = tmp_path / "mlp.qmodel"
    model.write_bytes(data)
    x = tmp_path / "x.npy"
    np.save(x, np.ones((2, 64), np.float32))
    out = tmp_path / "y.npy"
    p = _run(["run", str(model), "--input", str(x), "--output", str(out)])
    assert p.returncode == 0, p.stderr
    assert np.load(out).shape == (2, 10)
    p = _run(["bench", str(model), "--runs", "5", "--warmup", "1", "--json", "--dynamic-dim", "4"])
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["runs"] == 5 and r["median_ms"] > 0 and r["kernels"]


def test_cli_reports_missing_file_cleanly(tmp_path):
    p = _run(["run", str(tmp_path / "missing.qmodel")])
    assert p.returncode == 1
    assert "error:" in p.stderr and "Traceback" not in p.stderr
