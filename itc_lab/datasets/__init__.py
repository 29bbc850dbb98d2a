"""Problem sets with known answers, worked solutions and a card each. Introduced in lesson 01.

``load("arith", n=50, seed=0, difficulty=2)`` returns a :class:`Dataset` of :class:`Problem` s;
``problem.check(model_text)`` says whether a model's text contains the right answer, and
``dataset.exemplars(k, exclude=problem)`` picks few-shot examples that never include the problem
being asked. ``available()`` lists the names; ``register_dataset`` adds one.

One module per dataset family (``arith``, ``last_letters``, ``coin_flip``, ``game24``,
``writing``); each registers its datasets through ``register_dataset``, the same call an
outside package uses. The data files and cards live in the top-level ``datasets/`` folder of the
project (in an installed wheel: the ``itc_lab._datasets`` package); :func:`data_dir` finds it.
"""

from . import arith, coin_flip, game24, last_letters, writing
from .arith import evaluate
from .base import (
    DEFAULT_SIZE,
    Dataset,
    DatasetFactory,
    Problem,
    available,
    data_dir,
    load,
    register_dataset,
)

__all__ = [
    "DEFAULT_SIZE",
    "Dataset",
    "DatasetFactory",
    "Problem",
    "arith",
    "available",
    "coin_flip",
    "data_dir",
    "evaluate",
    "game24",
    "last_letters",
    "load",
    "register_dataset",
    "writing",
]
