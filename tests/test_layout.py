"""The house rules of the package layout (README, "Where things live"), checked on the source.

- each module lists its public names in ``__all__``, and every name listed exists;
- no import cycle between itc_lab's modules (counting imports at module level);
- ``itc_lab.analysis`` (numbers) imports nothing from ``charts`` or ``views`` (drawing);
- no module imports another module's ``_private`` name;
- each shared helper is defined once (no two modules define the same private helper body).
"""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

import itc_lab
from itc_lab._compat import MOVED

PACKAGE = Path(itc_lab.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path, *, top_level_only: bool) -> list[tuple[str, list[str]]]:
    """(module imported, names imported) for each ``from X import ...`` inside itc_lab."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports do not run
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "itc_lab":
                continue
            names = [a.name for a in node.names]
            submodules = [n for n in names if f"{target}.{n}" in MODULES]
            found.append((target, [n for n in names if n not in submodules]))
            found.extend((f"{target}.{n}", []) for n in submodules)
    return found


def test_every_module_lists_its_public_names():
    for name in MODULES:
        module = importlib.import_module(name)
        declared = getattr(module, "__all__", None)
        assert declared is not None, f"{name} has no __all__"
        assert all(hasattr(module, n) for n in declared), name
        own = {n for n, v in vars(module).items() if not n.startswith("_") and (
            callable(v) and getattr(v, "__module__", None) == name)}
        assert own <= set(declared), f"{name} does not list {sorted(own - set(declared))}"


def test_no_import_cycle():
    graph = {name: {t for t, _ in _imports(name, path, top_level_only=True) if t in MODULES}
             for name, path in MODULES.items()}

    def parents(module: str) -> set[str]:  # importing a.b.c runs a/__init__ and a/b/__init__
        parts = module.split(".")
        return {".".join(parts[:i]) for i in range(1, len(parts))}

    for name in graph:  # a package's __init__ is not a cycle of its own submodules
        graph[name] |= parents(name) - {name} - {p for p in parents(name) if name.startswith(p)}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if nxt == node or node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt):], nxt] if nxt in stack else [node, nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_numbers_never_import_drawing():
    for name, path in MODULES.items():
        if not name.startswith("itc_lab.analysis"):
            continue
        for target, _ in _imports(name, path, top_level_only=False):
            assert not target.startswith(("itc_lab.charts", "itc_lab.views")), (name, target)
        source = path.read_text(encoding="utf-8")
        assert "import altair" not in source and "import anywidget" not in source, name


def test_no_module_imports_another_modules_private_name():
    for name, path in MODULES.items():
        for target, names in _imports(name, path, top_level_only=False):
            if target == "itc_lab._checks" or target == name:
                continue
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{name} imports {private} from {target}"


def test_each_private_helper_is_defined_once():
    bodies: dict[str, str] = {}
    for name, path in MODULES.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("_"):
                body = ast.dump(ast.Module(body=node.body, type_ignores=[]))
                if len(node.body) > 1 or "Raise" in body:
                    where = f"{name}.{node.name}"
                    assert body not in bodies, f"{where} repeats {bodies.get(body)}"
                    bodies[body] = where


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_paths_still_import_with_a_warning(old):
    with pytest.warns(DeprecationWarning, match="moved to"):
        module = importlib.reload(importlib.import_module(old)) if old in __import__(
            "sys").modules else importlib.import_module(old)
    assert module.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in module.__all__:
            assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="moved to"):
        module.no_such_name  # noqa: B018
