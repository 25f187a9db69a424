"""The layers import one way: blueprints and cli -> services -> exports -> models -> common.

Every module of the app is parsed (not imported) and each import, top-level or inside a
function, is checked against the layer it points to. Below the web layer nothing reads
the request: services, exports, models and helpers are called alike by views, commands,
the demo (and the JSON API to come).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("common", "models", "exports", "services", "web", "blueprints", "cli", "demo")
ROOT_MODULES = ("app", "config", "wsgi", "gunicorn.conf")

# What each layer may import, besides itself and the standard and third-party libraries.
ALLOWED: dict[str, set[str]] = {
    "common": set(),
    "config": {"common"},
    "models": {"common"},
    "exports": {"common", "models"},
    "services": {"common", "models", "exports"},
    "web": {"common", "config", "models", "exports", "services"},
    "blueprints": {"common", "models", "exports", "services", "web"},
    "demo": {"common", "models", "exports", "services"},
    "cli": {"common", "models", "exports", "services", "demo"},
    "app": set(PACKAGES) | {"config"},
    "wsgi": {"app"},
    "gunicorn.conf": set(),
}
# Request-bound names that only the web layer and blueprints may touch.
REQUEST_BOUND = {
    "flask": {
        "request",
        "session",
        "has_request_context",
        "after_this_request",
        "redirect",
        "url_for",
        "flash",
    },
    "flask_login": {"current_user", "login_required", "login_user", "logout_user"},
}
BELOW_WEB = ("common", "config", "models", "exports", "services", "demo")


def app_modules() -> list[tuple[str, Path]]:
    """(module name, path) of every Python module of the app (not tests, bench or migrations)."""
    found = []
    for name in ROOT_MODULES:
        path = ROOT / (name + ".py")
        if path.exists():
            found.append((name, path))
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append((".".join(parts), path))
    return found


def layer_of(module: str) -> str | None:
    """The layer a project module belongs to, None for a library."""
    if module in ROOT_MODULES:
        return module
    top = module.split(".")[0]
    return top if top in PACKAGES else None


def imports_of(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names) for every import in the file, nested ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # inside its own package, so its own layer
                continue
            out.append((node.lineno, node.module or "", [a.name for a in node.names]))
    return out


def violations() -> list[str]:
    found = []
    for module, path in app_modules():
        layer = layer_of(module)
        where = path.relative_to(ROOT)
        for line, target, names in imports_of(path):
            targets = [target] + [f"{target}.{n}" for n in names]
            for t in targets:
                other = layer_of(t)
                if other is None or other == layer:
                    continue
                if other not in ALLOWED[layer]:
                    found.append(f"{where}:{line}: {layer} imports {t} ({other})")
                break
            if layer == "blueprints" and layer_of(target) == "blueprints":
                mine, theirs = module.split(".")[:2], target.split(".")[:2]
                if mine != theirs:
                    found.append(f"{where}:{line}: blueprint {mine[1]} imports blueprint {theirs[1]}")
            if layer in BELOW_WEB:
                root = target.split(".")[0]
                bound = REQUEST_BOUND.get(root, set())
                touched = sorted(set(names) & bound) or ([target] if target == "flask.request" else [])
                if touched:
                    found.append(f"{where}:{line}: {layer} uses request-bound {', '.join(touched)}")
    return found


def test_imports_point_down_the_layers():
    assert violations() == []


def test_only_the_app_imports_blueprints():
    offenders = [
        v for v in violations() if "(blueprints)" in v and not v.split(":")[0].startswith("blueprints")
    ]
    assert offenders == []


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """A service importing a blueprint, or reading the request, is reported."""
    (tmp_path / "services").mkdir()
    bad = tmp_path / "services" / "bad.py"
    bad.write_text("from blueprints.units import bp\nfrom flask import request\n", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    for package in PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
    found = violations()
    assert any("services imports blueprints.units" in v for v in found)
    assert any("request-bound request" in v for v in found)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_says_what_it_holds(package):
    """Each package's __init__ opens with a docstring: the tree explains itself."""
    init = ROOT / package / "__init__.py"
    assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{package}/__init__.py"


def test_the_root_holds_a_handful_of_python_files():
    loose = sorted(p.name for p in ROOT.glob("*.py"))
    assert loose == ["app.py", "config.py", "gunicorn.conf.py", "wsgi.py"]


# Calls that end a transaction (begin_write commits the read one) or stage changes in the session.
TRANSACTION_CALLS = {"commit", "rollback", "begin_write"}
SESSION_CHANGES = {"add", "add_all", "delete", "flush", "merge"}


def transaction_calls(path: Path) -> list[str]:
    """Where a module commits, rolls back or stages changes in the session itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        on_session = isinstance(func, ast.Attribute) and (
            (isinstance(func.value, ast.Attribute) and func.value.attr == "session")
            or (isinstance(func.value, ast.Name) and func.value.id == "session")
        )
        if name in TRANSACTION_CALLS or (on_session and name in SESSION_CHANGES):
            found.append((node.lineno, f"{path.relative_to(ROOT)}:{node.lineno}: {name}()"))
    return [where for _, where in sorted(found)]


def test_views_finish_requests_only_through_flow():
    """No view commits, rolls back or touches the session: services change, web/flow.py commits."""
    offenders = [
        call
        for module, path in app_modules()
        if layer_of(module) == "blueprints"
        for call in transaction_calls(path)
    ]
    assert offenders == []


def test_the_checker_sees_a_view_committing(tmp_path, monkeypatch):
    """A view's own commit, rollback or session.add is reported."""
    (tmp_path / "blueprints").mkdir()
    bad = tmp_path / "blueprints" / "bad.py"
    bad.write_text(
        "def view():\n    db.session.add(x)\n    try:\n        db.session.commit()\n"
        "    except Exception:\n        db.session.rollback()\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert [c.split(": ")[1] for c in transaction_calls(bad)] == ["add()", "commit()", "rollback()"]
