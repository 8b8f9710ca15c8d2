"""Calibration: streaming histograms vs brute-force numpy, observers, readers, and the compiled
loops (qrt._histogram) vs their numpy twin."""

from __future__ import annotations

import importlib
import io
import os
import shutil
import sys
import types

import numpy as np
import pytest


def _import_qrt():
    try:
        import qrt  # noqa: F401
    except ImportError:  # the converter needs no compiled code; stand in for qrt._core
        sys.modules.setdefault("qrt._core", types.ModuleType("qrt._core"))


_import_qrt()

from qrt.calibrate import _histogram_np  # noqa: E402
from qrt.calibrate import histogram as H  # noqa: E402
from qrt.calibrate.observers import Observer  # noqa: E402
from qrt.calibrate.progress import Progress  # noqa: E402
from qrt.calibrate.reader import NpzReader, as_reader  # noqa: E402

RNG = np.random.default_rng(1)


def batches(n=20, size=1000, growth=1.3):
    """Batches whose range keeps growing, so the histogram has to merge bins."""
    return [(RNG.standard_normal(size) * growth ** k + 0.3).astype(np.float32) for k in range(n)]


def test_streaming_histogram_equals_direct_binning_at_final_width():
    h = H.StreamingHistogram(256)
    data = batches()
    for b in data:
        h.update(b)
    allx = np.concatenate(data).astype(np.float64)
    k = np.floor(allx / h.width).astype(np.int64)
    direct = np.bincount(k - h.offset, minlength=h.counts.size)
    np.testing.assert_array_equal(h.counts, direct)
    assert h.counts.size <= 256 and h.counts.sum() == allx.size
    assert h.min == allx.min() and h.max == allx.max()
    # the data range still spans a useful number of bins
    assert (h.max - h.min) / h.width > 256 / 4


def test_histogram_memory_is_bounded_however_many_samples():
    h = H.StreamingHistogram(512)
    for k in range(200):
        h.update((RNG.standard_normal(500) * (1 + k)).astype(np.float32))
    assert h.counts.size <= 512 and h.total == 200 * 500


def test_all_zero_first_batches_are_kept():
    h = H.StreamingHistogram(64)
    h.update(np.zeros(10, np.float32))
    h.update(np.array([0.5, -0.25], np.float32))
    assert h.counts.sum() == 12 and h.counts[-h.offset] >= 10


def test_percentile_matches_numpy_within_one_bin():
    obs = Observer("percentile", percentile=99.0)
    data = batches(8)
    for b in data:
        obs.update(b)
    lo, hi = obs.range()
    allx = np.concatenate(data)
    w = obs.hist.width
    assert abs(hi - np.percentile(allx, 99.0)) <= w
    assert abs(lo - np.percentile(allx, 1.0)) <= w


def test_minmax_is_exact_and_batch_split_invariant():
    data = np.concatenate(batches(5))
    a, b = Observer("minmax"), Observer("minmax")
    a.update(data)
    for part in np.array_split(data, 7):
        b.update(part)
    assert a.range() == b.range() == (float(data.min()), float(data.max()))


def test_entropy_clips_outliers_and_keeps_the_bulk():
    x = np.abs(RNG.standard_normal(200_000)).astype(np.float32)
    x[:20] = 50.0  # rare outliers
    obs = Observer("entropy")
    obs.update(x)
    lo, hi = obs.range()
    assert lo == 0.0
    assert 2.5 < hi < 20.0, hi  # well below the outliers, above the bulk


def test_entropy_signed_data_is_symmetric_threshold_clipped_to_data():
    x = RNG.standard_normal(100_000).astype(np.float32)
    x[:5] = 40.0
    obs = Observer("entropy")
    obs.update(x)
    lo, hi = obs.range()
    assert 2 < hi < 10 and lo == pytest.approx(max(float(x.min()), -hi))


def _brute_mse(x, lo, hi):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    s = (hi - lo) / 255.0
    zp = min(max(np.rint(-lo / s), 0), 255)
    q = np.clip(np.rint(x / s) + zp, 0, 255)
    return float(np.mean((x - (q - zp) * s) ** 2))


def test_mse_range_is_no_worse_than_minmax_on_real_data():
    x = RNG.standard_t(3, 100_000).astype(np.float32)
    obs = Observer("mse")
    obs.update(x)
    lo, hi = obs.range()
    assert _brute_mse(x.astype(np.float64), lo, hi) < _brute_mse(x.astype(np.float64), x.min(), x.max())


def test_quantization_mse_matches_brute_force_on_bin_centers():
    h = H.StreamingHistogram(128)
    h.update(RNG.standard_normal(5000).astype(np.float32))
    los, his = np.array([-2.0, -1.0]), np.array([1.5, 3.0])
    err = _histogram_np.quantization_mse(h.counts.astype(np.float64), h.centers(), los, his)
    c = np.repeat(h.centers(), h.counts)
    for a, lo in enumerate(los):
        for b, hi in enumerate(his):
            assert err[a, b] == pytest.approx(_brute_mse(c, lo, hi), rel=1e-9)


def _compile_cython_module(tmp_path):
    """Builds qrt/_histogram.pyx into tmp_path (when the package build has not)."""
    pytest.importorskip("Cython")
    from Cython.Build import cythonize  # noqa: F401
    import pyximport

    src = os.path.join(os.path.dirname(H.__file__), "..", "_histogram.pyx")
    shutil.copy(src, tmp_path / "qrt_histogram_test.pyx")
    sys.path.insert(0, str(tmp_path))
    try:
        importer = pyximport.install(build_dir=str(tmp_path / "build"), language_level=3,
                                     setup_args={"include_dirs": np.get_include()})
        try:
            return importlib.import_module("qrt_histogram_test")
        finally:
            pyximport.uninstall(*importer)
    finally:
        sys.path.remove(str(tmp_path))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    try:
        from qrt import _histogram  # type: ignore[attr-defined]

        return _histogram
    except ImportError:
        return _compile_cython_module(tmp_path_factory.mktemp("cy"))


def test_compiled_and_numpy_histogram_add_agree(compiled):
    x = (RNG.standard_normal(10_001) * 3).astype(np.float32)
    x[:3] = [0.0, -0.0, 1e-30]
    for width, offset in ((0.01, -1300), (0.37, -40)):
        n = int(np.floor(x.max() / width)) - offset + 1
        a, b = np.zeros(n, np.int64), np.zeros(n, np.int64)
        compiled.histogram_add(a, x, width, offset)
        _histogram_np.histogram_add(b, x, width, offset)
        np.testing.assert_array_equal(a, b)


def test_compiled_and_numpy_searches_agree(compiled):
    h = np.abs(RNG.standard_normal(400_000)).astype(np.float32)
    hist = np.histogram(h, bins=700)[0].astype(np.float64)
    hist[650] = 3.0
    a = compiled.kl_divergences(hist, 128, 128, 1)
    b = _histogram_np.kl_divergences(hist, 128, 128, 1)
    np.testing.assert_allclose(a, b, rtol=1e-10)
    assert int(np.argmin(a)) == int(np.argmin(b))
    centers = (np.arange(hist.size) + 0.5) * 0.01
    los, his = np.array([0.0, -0.5]), np.linspace(1, 7, 25)
    ea = compiled.quantization_mse(hist, centers, los, his)
    eb = _histogram_np.quantization_mse(hist, centers, los, his)
    np.testing.assert_allclose(ea, eb, rtol=1e-10)
    assert np.argmin(ea) == np.argmin(eb)


def test_observers_give_the_same_ranges_with_either_backend(compiled):
    data = batches(6)
    results = []
    for backend in (compiled, _histogram_np):
        old = H.backend()
        H.use_backend(backend)
        try:
            rs = []
            for m in ("percentile", "entropy", "mse"):
                o = Observer(m)
                for b in data:
                    o.update(b)
                rs.append(o.range())
            results.append(rs)
        finally:
            H.use_backend(old)
    for (a_lo, a_hi), (b_lo, b_hi) in zip(*results):
        assert a_lo == pytest.approx(b_lo, rel=1e-12) and a_hi == pytest.approx(b_hi, rel=1e-12)


def test_npz_reader_batches_and_errors(tmp_path):
    p = tmp_path / "c.npz"
    np.savez(p, input=np.zeros((70, 3), np.float32))
    r = NpzReader(p, ["input"], batch_size=32)
    assert len(r) == 3 and [len(b["input"]) for b in r] == [32, 32, 6]
    np.savez(tmp_path / "two.npz", a=np.zeros(3), b=np.zeros(3))
    with pytest.raises(ValueError, match="do not match the model inputs"):
        NpzReader(tmp_path / "two.npz", ["input"])
    assert as_reader({"input": np.zeros(3)}, ["input"])[1] == 1
    with pytest.raises(ValueError):
        as_reader(None, ["input"])


def test_progress_bar_writes_plain_text():
    s = io.StringIO()
    p = Progress("calibrating", 4, stream=s)
    for _ in range(4):
        p.step()
    p.close()
    assert "4/4 batches" in s.getvalue() and s.getvalue().endswith("\n")
