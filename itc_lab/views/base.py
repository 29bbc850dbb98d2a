"""What every view shares: the front-end folder, ES-module bundling and the text fallback."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

__all__ = [
    "FRONTEND",
    "TextFallback",
    "bundle_esm",
    "frontend_dir",
]



def frontend_dir() -> Path:
    """The folder with the widgets' JS and CSS: the installed package, else the source tree."""
    candidates: list[Path] = []
    try:
        spec = importlib.util.find_spec("itc_lab._frontend")
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        candidates.extend(Path(p) for p in spec.submodule_search_locations or ())
        if spec.origin:
            candidates.append(Path(spec.origin).parent)
    source_tree = Path(__file__).resolve().parents[2] / "widgets"
    candidates.append(source_tree)
    for folder in candidates:
        if (folder / "token_view.js").is_file():
            return folder
    return source_tree

FRONTEND = frontend_dir()


class TextFallback:
    """Mixin: keep the widget view in the mimebundle, but make ``text/plain`` a summary."""

    def _text_summary(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._text_summary()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, None)
        data = dict(data or {})
        data["text/plain"] = self._text_summary()
        return (data, meta) if meta is not None else data

def _inline_module(source: str, names: str, file: str) -> str:
    """``const {names} = (() => {module body; return {exports};})();`` for an ``import``."""
    exported = re.findall(
        r"^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)",
        source, flags=re.M)
    body = re.sub(r"^export\s+default\b[^\n]*$", "", source, flags=re.M)
    body = re.sub(r"^export\s+(?=(?:async\s+)?(?:function|const|let|class)\b)", "", body,
                  flags=re.M)
    if re.search(r"^\s*(?:export|import)\b", body, flags=re.M):
        msg = f"Cannot inline {file}: only `export function/const/let/class` lines are handled."
        raise RuntimeError(msg)
    wanted = []
    for item in names.split(","):
        parts = item.split()
        if not parts:
            continue
        if parts[0] not in exported or len(parts) not in (1, 3):
            msg = f"{file} does not export {item.strip()!r} (exports: {exported})."
            raise RuntimeError(msg)
        wanted.append(parts[0] if len(parts) == 1 else f"{parts[0]}: {parts[2]}")
    return (f"// ---- inlined from {file} ----\nconst {{ {', '.join(wanted)} }} = (() => {{\n"
            f"{body}\nreturn {{ {', '.join(exported)} }};\n}})();\n// ---- end of {file} ----")

def bundle_esm(name: str, folder: Path | None = None) -> str:
    """The ES module ``name`` of the front-end with its ``import {…} from "./x.js"`` lines
    replaced by scoped copies of those files.

    An anywidget module is loaded from a ``blob:`` URL, so it cannot import its sibling files;
    this is how ``trace_view.js`` reuses the helpers of ``token_view.js`` in the notebook.
    """
    folder = folder or FRONTEND
    source = (folder / name).read_text(encoding="utf-8")

    def inline(m: re.Match[str]) -> str:
        file = m.group("file")
        return _inline_module((folder / file).read_text(encoding="utf-8"), m.group("names"), file)

    return re.sub(
        r"^import\s*\{(?P<names>[^}]*)\}\s*from\s*[\"']\./(?P<file>[\w.-]+\.js)[\"'];?[ \t]*$",
        inline, source, flags=re.M)
