"""Calibration: readers, streaming-histogram observers, and the collection loop."""

from qrt.calibrate.histogram import StreamingHistogram
from qrt.calibrate.observers import METHODS, Observer
from qrt.calibrate.reader import CalibrationReader, NpzReader

__all__ = ["CalibrationReader", "METHODS", "NpzReader", "Observer", "StreamingHistogram"]
