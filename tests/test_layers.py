"""Dependencies point one way: a package of a lower layer never imports one of a higher layer, at module level or
inside a function. The layers are drawn in README (Architecture); docs/architecture.md says why."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "trainingmgr"

# From the bottom up. A package may import its own layer and the layers below it, never one above.
LAYERS = (
    {"core"},
    {"accounts", "files", "organisation", "messaging"},
    {"catalogue", "resources", "companies"},
)


def layer_of(package: str) -> int:
    """The layer's rank; every package not listed sits above them all (sessions, enrolments, billing…)."""
    return next((rank for rank, names in enumerate(LAYERS) if package in names), len(LAYERS))


def imported_packages(path: Path, root: Path) -> list[tuple[str, int]]:
    """The first-level packages of ``root`` that the module at ``path`` imports, with the line of each import."""
    parts = path.relative_to(root).with_suffix("").parts
    here = parts[:-1]  # the package a relative import starts from (an __init__.py's too)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names = (node.module or "").split(".")
                if names[0] != root.name:
                    continue
                target = names[1:]
            else:
                base = list(here[: len(here) - (node.level - 1)])
                target = base + (node.module.split(".") if node.module else [])
            if target:
                found.append((target[0], node.lineno))
            else:  # "from .. import sessions": the names are the packages
                found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names = alias.name.split(".")
                if names[0] == root.name and len(names) > 1:
                    found.append((names[1], node.lineno))
    return found


def upward_imports(root: Path) -> list[str]:
    """Every import from a lower layer's package into a higher one's, as « file:line: a → b »."""
    packages = {p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.py"))}  # namespace ones too
    problems = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if len(parts) < 2 or parts[0] not in packages:
            continue
        source = parts[0]
        for target, line in imported_packages(path, root):
            if target in packages and target != source and layer_of(target) > layer_of(source):
                problems.append(f"{path.relative_to(root.parent)}:{line}: {source} → {target}")
    return problems


def test_lower_packages_never_import_higher_ones():
    assert upward_imports(PACKAGE) == []


def test_every_layered_package_exists():
    for names in LAYERS:
        for name in names:
            assert any((PACKAGE / name).glob("*.py")), name


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_check_sees_an_upward_import_at_module_level_and_inside_a_function(tmp_path):
    root = tmp_path / "trainingmgr"
    for package in ("core", "companies", "sessions"):
        _write(root, f"{package}/__init__.py", "")
    _write(root, "core/web.py", "from ..sessions import services\n")
    _write(root, "companies/space.py", "def page():\n    from trainingmgr.sessions.models import S\n")
    _write(root, "sessions/services.py", "from ..companies import models\nfrom ..core import web\n")
    assert upward_imports(root) == [
        "trainingmgr/companies/space.py:2: companies → sessions",
        "trainingmgr/core/web.py:1: core → sessions",
    ]


def test_the_check_resolves_relative_imports_within_a_subpackage(tmp_path):
    root = tmp_path / "trainingmgr"
    for package in ("messaging", "billing"):
        _write(root, f"{package}/__init__.py", "")
    _write(root, "messaging/mails/__init__.py", "")
    _write(root, "messaging/mails/body.py", "from ...billing import invoices\nfrom . import other\nfrom .. import models\n")
    assert upward_imports(root) == ["trainingmgr/messaging/mails/body.py:1: messaging → billing"]
