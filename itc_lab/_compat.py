"""The module paths of itc-lab 0.1, kept for one release (see the README, "Where things live").

``import itc_lab.scaling`` and the like still work: each old path is a module whose names are
looked up, on first use, in the modules that now hold them, with a ``DeprecationWarning`` that
names the new path. Nothing here is imported until an old path is.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Sequence
from typing import Any

__all__ = [
    "MOVED",
    "install",
]

MOVED: dict[str, tuple[str, ...]] = {
    "itc_lab.widgets": ("itc_lab.views", "itc_lab.analysis.tokens", "itc_lab.analysis.steps",
                        "itc_lab.views.trace_view", "itc_lab.views.usage_view"),
    "itc_lab.trees": ("itc_lab.charts.search", "itc_lab.views.tree_view"),
    "itc_lab.diffs": ("itc_lab.analysis.diffs", "itc_lab.views.diff_view"),
    "itc_lab.verification": ("itc_lab.analysis.verification",),
    "itc_lab.verification_charts": ("itc_lab.charts.verification",),
    "itc_lab.scaling": ("itc_lab.analysis.scaling", "itc_lab.analysis.compute_optimal",
                        "itc_lab.charts.scaling", "itc_lab.charts.compute_optimal"),
    "itc_lab.routing": ("itc_lab.analysis.routing", "itc_lab.charts.routing"),
    "itc_lab.simulator": ("itc_lab.backends.simulated", "itc_lab.analysis.theory"),
    "itc_lab.production": ("itc_lab.backends.budgeted", "itc_lab.backends.caching",
                           "itc_lab.analysis.latency", "itc_lab.techniques.thinking"),
    "itc_lab.sweep": ("itc_lab.experiments.sweep",),
    "itc_lab.game24": ("itc_lab.datasets.game24",),
    "itc_lab.writing": ("itc_lab.datasets.writing",),
    "itc_lab.exercise_build": ("itc_lab.exercises.build",),
}
"""Old module path → the modules that now hold its public names, searched in order."""


def _lookup(old: str, targets: Sequence[str], name: str) -> Any:
    for target in targets:
        module = importlib.import_module(target)
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    msg = f"module {old!r} has no attribute {name!r} (it moved to {', '.join(targets)})"
    raise AttributeError(msg)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        old = module.__name__
        targets = MOVED[old]
        new = " and ".join(targets)
        warnings.warn(f"{old} moved to {new}; the old path goes away in itc-lab 0.3.",
                      DeprecationWarning, stacklevel=2)
        names: list[str] = []
        for target in targets:
            names += [n for n in getattr(importlib.import_module(target), "__all__", ())
                      if n not in names]
        module.__all__ = names  # type: ignore[attr-defined]
        module.__getattr__ = lambda name: _lookup(old, targets, name)  # type: ignore[method-assign]
        module.__dir__ = lambda: sorted(names)  # type: ignore[method-assign]


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, _Loader())
        return None


def install() -> None:
    """Make the old module paths importable (done once by ``import itc_lab``)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
