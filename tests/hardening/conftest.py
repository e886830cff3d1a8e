"""Hardening tests: real ``novelcrew serve`` processes under faults (full disk, SIGTERM).

Their crews (``hardcrews``) load through ``NOVELCREW_PLUGIN_MODULES``; helpers live in
``hardening_helpers``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
