"""The package's layout is a picture of the pipeline: layers that only import downwards, no import
circles, the composed config read at the edge only, few modules at the root.

Read from the source with ``ast`` (every import, at module level or inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "jpegai_fd"

# Lowest first. A module may import its own layer's siblings and anything below, never above.
LAYERS = [
    {"errors", "progress"},
    {"datasets", "encoders"},
    {"perturb", "cache"},
    {"features"},
    {"classifiers"},
    {"tuning"},
    {"scoring"},
    {"model"},
    {"extra_eval"},
    {"tracking"},
    {"report"},
    {"config", "components"},
    {"job"},
    {"cli", "extract", "__main__"},
]
# Where the composed config may be read: the edge, the Hydra callback, and instantiate() on plain dicts.
CONFIG_READERS = {
    "jpegai_fd.__main__",
    "jpegai_fd.extract",
    "jpegai_fd.cli.app",
    "jpegai_fd.config",
    "jpegai_fd.components",
    "jpegai_fd.model.detector",  # instantiate() of the saved model's plain encoder dict
}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """Every module name ``name`` imports, relative imports resolved."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()

    def owner(target: str) -> str | None:
        while target and target not in mods:
            target = target.rpartition(".")[0]
        return target or None

    return {
        m: {o for t in imports(m, p) if t.startswith("jpegai_fd") and (o := owner(t)) not in (None, m)}
        for m, p in mods.items()
    }


def layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return next((i for i, names in enumerate(LAYERS) if top in names), -1)


def test_no_import_runs_back_up_a_layer():
    back = [
        f"{a} -> {b}"
        for a, targets in graph().items()
        for b in targets
        if b != "jpegai_fd" and layer(a) >= 0 and layer(b) > layer(a)
    ]
    assert not back, back


def test_every_package_has_a_layer():
    unplaced = sorted({m for m in modules() if m != "jpegai_fd" and layer(m) < 0})
    assert not unplaced, unplaced


def test_no_import_circles():
    edges = graph()
    seen, on_path, cycles = set(), [], []

    def visit(m: str) -> None:
        if m in on_path:
            cycles.append(on_path[on_path.index(m) :] + [m])
            return
        if m in seen:
            return
        seen.add(m)
        on_path.append(m)
        for n in sorted(edges.get(m, ())):
            if not (n == "jpegai_fd" or m.startswith(n + ".")):  # a module may use its package's __init__
                visit(n)
        on_path.pop()

    for m in sorted(edges):
        visit(m)
    assert not cycles, cycles


def test_only_the_edge_reads_the_composed_config():
    readers = {m for m, p in modules().items() if any(t.split(".")[0] in ("omegaconf", "hydra") for t in imports(m, p))}
    assert readers <= CONFIG_READERS, sorted(readers - CONFIG_READERS)
    assert len(readers) <= 6


def test_few_modules_at_the_package_root():
    assert len(list(PACKAGE.glob("*.py"))) <= 8, sorted(p.name for p in PACKAGE.glob("*.py"))
