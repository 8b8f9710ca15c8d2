"""Shared pytest setup: the tests import the *installed* qrt (--import-mode=importlib), and the
helper modules that sit beside them (qrt_testutil.py) are made importable here."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
