"""The shape the code keeps: which package may import which, read from the source itself.

Dependencies point inward: the apps import the kernel and the domain; the kernel imports no
app and not the settings shell; only the shell (``plantcoord``) assembles the apps; the
scheduling core imports no Django. Module-level and function-level imports both count.
"""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("coordination", "exceptions", "workflows", "integrations")
PACKAGES = (*APPS, "kernel", "plantcoord")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def _sources(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("app", APPS)
def test_no_app_imports_the_settings_shell(app):
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources(app)
        for name in _imports(path)
        if _top(name) == "plantcoord"
    ]
    assert offenders == []


def test_the_kernel_imports_no_app_and_not_the_shell():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources("kernel")
        for name in _imports(path)
        if _top(name) in (*APPS, "plantcoord")
    ]
    assert offenders == []


def test_the_scheduling_core_imports_no_django():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources("coordination/scheduling")
        for name in _imports(path)
        if _top(name) in ("django", "rest_framework", *PACKAGES)
        and not name.startswith("coordination.scheduling")
    ]
    assert offenders == []


def test_no_import_cycle_between_workflows_modules():
    graph = defaultdict(set)
    modules = {_module_name(p) for p in _sources("workflows")}
    for path in _sources("workflows"):
        for name in _imports(path):
            target = next((m for m in sorted(modules, key=len, reverse=True) if name == m), None)
            if target and target != _module_name(path):
                graph[_module_name(path)].add(target)

    def cycle_from(start, node, seen):
        for nxt in graph[node]:
            if nxt == start:
                return [*seen, nxt]
            if nxt not in seen:
                found = cycle_from(start, nxt, [*seen, nxt])
                if found:
                    return found
        return None

    cycles = [c for m in modules if (c := cycle_from(m, m, [m]))]
    assert cycles == []


def test_one_router_class_and_one_observer_registry():
    routers, registries = [], []
    for package in PACKAGES:
        for path in _sources(package):
            text = path.read_text()
            tree = ast.parse(text)
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    bases = {ast.unparse(b) for b in node.bases}
                    if bases & {"SimpleRouter", "DefaultRouter", "routers.SimpleRouter"}:
                        routers.append(f"{path.relative_to(ROOT)}:{node.name}")
                    if node.name == "Registry":
                        registries.append(f"{path.relative_to(ROOT)}:{node.name}")
            for node in tree.body:  # a hand-written registry: a module-level list of observers
                if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(
                    node.value, ast.List
                ):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names = [t.id for t in targets if isinstance(t, ast.Name)]
                    if any("observer" in n for n in names):
                        registries.append(f"{path.relative_to(ROOT)}:{names[0]}")
            if "SimpleRouter(" in text or "DefaultRouter(" in text:
                routers.append(f"{path.relative_to(ROOT)} builds a DRF router directly")
    assert routers == ["kernel/api.py:Router"]
    assert registries == ["kernel/observers.py:Registry"]
