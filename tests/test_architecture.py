"""The shape of the service layer (docs/ARCHITECTURE.md, issue 22 item 2): the Explorer is a thin
composition root, and the front doors, scripts and tests use the services' public members only.

Checked on the source with ``ast`` (nothing imported):

* :class:`models.serve.explorer.Explorer` has at most :data:`MAX_EXPLORER_MEMBERS` public members
  (every public ``def``, property, cached property and class attribute of its body);
* no file of ``app.py``, ``callbacks/``, ``scripts/`` or ``tests/`` reads or writes a private
  member (``obj._name``) of an object that is not ``self``, ``cls``, ``super()`` or a module
  (``os._exit``, ``sys._getframe``, a module's own private function or global are a module's
  business), except the few of :data:`ALLOWED` (Dash's and Flask's internals, each with its
  reason: none of our own classes);
* none of them writes an object's ``__dict__`` (or ``vars(obj)``) to swap what a class computes.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPLORER = ROOT / "models" / "serve" / "explorer.py"
MAX_EXPLORER_MEMBERS = 15
FRONT = ["app.py", "callbacks", "scripts", "tests"]

# (file, private attribute) → why it is read there
ALLOWED = {
    ("callbacks/coverage.py", "_traverse"): "Dash components have no public way to walk their children",
    ("callbacks/http_guard.py", "_cached_json"): "Flask's request keeps its parsed JSON there (the body "
                                                 "guard parses it once)",
    ("callbacks/http_guard.py", "_config"): "Dash builds the page's config there (the guard hides the "
                                            "library versions it holds)",
}
DICT_METHODS = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}


def public_members(cls: ast.ClassDef) -> list[str]:
    """Public methods, properties and class attributes of a class body."""
    out = []
    for node in cls.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        else:
            names = []
        out += [n for n in names if not n.startswith("_")]
    return out


def front_files() -> list[Path]:
    out = []
    for entry in FRONT:
        p = ROOT / entry
        out += [p] if p.is_file() else sorted(p.rglob("*.py"))
    return out


def _is_module(name: str) -> bool:
    """``pkg.name`` is a module: a file of the repository, else what the import system finds."""
    parts = name.split(".")
    local = ROOT.joinpath(*parts)
    if (ROOT / parts[0]).exists() or (ROOT / f"{parts[0]}.py").exists():
        return local.with_suffix(".py").is_file() or (local / "__init__.py").is_file()
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def module_names(tree: ast.AST) -> tuple[set[str], dict[str, str]]:
    """Names bound to modules by ``import`` and names bound by ``from … import`` (name → full
    dotted name, resolved only when a private member is read through it)."""
    modules, imported = set(), {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                modules.add(a.asname or a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                imported[a.asname or a.name] = f"{node.module}.{a.name}"
    return modules, imported


def private_accesses(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    modules, imported = module_names(tree)
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            continue
        base = node.value
        if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super":
            continue
        if isinstance(base, ast.Name):
            if base.id in ("self", "cls") or base.id in modules:
                continue
            if base.id in imported and _is_module(imported[base.id]):
                continue
        out.append((node.lineno, node.attr))
    return out


def dict_writes(path: Path) -> list[int]:
    """Lines writing an object's ``__dict__`` (or ``vars(obj)``): item assignment or deletion, a
    mutating method, or the attribute itself assigned."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))

    def is_dict(node) -> bool:
        return ((isinstance(node, ast.Attribute) and node.attr == "__dict__")
                or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "vars" and node.args))

    out = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for t in targets:
            if is_dict(t) or (isinstance(t, ast.Subscript) and is_dict(t.value)):
                out.append(node.lineno)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in DICT_METHODS and is_dict(node.func.value)):
            out.append(node.lineno)
    return sorted(out)


def test_the_explorer_is_a_thin_composition_root():
    tree = ast.parse(EXPLORER.read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Explorer")
    members = public_members(cls)
    assert len(members) <= MAX_EXPLORER_MEMBERS, f"{len(members)} public members: {members}"
    assert "engine" in members and "search" in members


def test_no_private_member_is_reached_from_outside():
    found = []
    for path in front_files():
        rel = path.relative_to(ROOT).as_posix()
        found += [f"{rel}:{line}: ._{attr[1:]}" for line, attr in private_accesses(path)
                  if (rel, attr) not in ALLOWED]
    assert not found, "private members reached from outside their class:\n" + "\n".join(found)


def test_the_allowed_exceptions_are_still_needed():
    used = {(path.relative_to(ROOT).as_posix(), attr) for path in front_files()
            for _, attr in private_accesses(path)}
    assert not set(ALLOWED) - used, f"no longer needed: {sorted(set(ALLOWED) - used)}"


def test_no_dict_is_written_from_outside():
    found = [f"{path.relative_to(ROOT).as_posix()}:{line}" for path in front_files()
             for line in dict_writes(path)]
    assert not found, "__dict__ written (use a public way, e.g. engine.with_params):\n" + "\n".join(found)


def test_the_checks_see_what_they_look_for(tmp_path):
    f = tmp_path / "sample.py"
    f.write_text("import os\nimport sys as system\nfrom models.serve import ranking\n"
                 "from models.serve.explorer import Explorer\n"
                 "os._exit\nsystem._getframe()\nranking._jsonable(1)\nself._x\nsuper()._y\n"
                 "exp._encoder\nExplorer._require\nexp.__dict__['a'] = 1\nexp.__dict__.update(a=1)\n"
                 "vars(exp)['b'] = 2\nx = exp.__dict__.get('a')\n", encoding="utf-8")
    assert [a for _, a in private_accesses(f)] == ["_encoder", "_require"]
    assert dict_writes(f) == [12, 13, 14]
    tree = ast.parse("class E:\n    A = 1\n    _b = 2\n    def f(self): ...\n    @property\n"
                     "    def g(self): ...\n    def _h(self): ...\n")
    assert public_members(tree.body[0]) == ["A", "f", "g"]
