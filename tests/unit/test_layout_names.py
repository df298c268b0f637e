"""Every name of the deploy layout is spelled in module_utils/layout.py and nowhere else in the collection.

A layout literal is a string constant of the collection's Python that builds a path into the layout:
an argument of os.path.join that is a layout name (or starts with one and a slash), a constant that starts
with `<name>/`, or one holding a name only the layout has (`venv/bin`, `.trial-`, `deploy.lock`, the
record and marker files). Prose inside a message (`... inside shared/ and the release`) is not a path and
is not checked; docstrings and DOCUMENTATION/EXAMPLES/RETURN are documentation, not code."""

import ast
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "collections" / "ansible_collections" / "hknweb" / "deploy" / "plugins"
LAYOUT = PLUGINS / "module_utils" / "layout.py"

# Names that are path parts of the layout (and the constants that spell them in layout.py).
PARTS = ("releases", "current", "shared", "repo", "venvs", "tools", "venv", "bin", "REVISION")
# Names nothing but the layout has: found anywhere in a constant, they are a layout literal.
UNIQUE = ("venv/bin", ".trial-", "deploy.lock", "revisions.log", ".deploy-intent", ".deploy-complete", ".deploy-bad",
          ".deploy-unfinished")

# Constants that look like layout literals and are something else, as (file, text): each with its reason.
ALLOWED = {
    # (none today)
}


def _documentation(tree):
    """ids of the constants that are documentation: docstrings and DOCUMENTATION/EXAMPLES/RETURN."""
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in ("DOCUMENTATION", "EXAMPLES", "RETURN")
                                                for t in node.targets):
            skip.add(id(node.value))
    return skip


def _is_join(call):
    func = call.func
    return isinstance(func, ast.Attribute) and func.attr == "join" and isinstance(func.value, ast.Attribute) \
        and func.value.attr == "path"


def literals(path):
    """(line, text) of every layout literal in one file."""
    tree = ast.parse(path.read_text(), str(path))
    skip, found = _documentation(tree), []
    joined = {id(a) for node in ast.walk(tree) if isinstance(node, ast.Call) and _is_join(node) for a in node.args}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in skip:
            continue
        text = node.value
        part = text.split("/", 1)[0]
        if (id(node) in joined and part in PARTS) or any(text.startswith(p + "/") for p in PARTS) \
                or any(u in text for u in UNIQUE):
            found.append((node.lineno, text))
    return found


def test_no_file_but_layout_spells_a_layout_name():
    found = []
    for path in sorted(PLUGINS.rglob("*.py")):
        if path == LAYOUT:
            continue
        rel = str(path.relative_to(PLUGINS))
        found += ["%s:%d: %r" % (rel, line, text) for line, text in literals(path) if (rel, text) not in ALLOWED]
    assert found == []


def test_the_check_sees_a_layout_literal(tmp_path):
    # The check itself must fail on the shapes it is meant to catch.
    sample = tmp_path / "sample.py"
    sample.write_text('import os\n'
                      'a = os.path.join(deploy, "shared", name)\n'
                      'b = os.path.join(release, "venv", "bin", "python")\n'
                      'c = "releases/%s exists" % name\n'
                      'd = ".trial-%d.sock" % pid\n'
                      'e = result["releases"]\n')
    assert [line for line, _ in literals(sample)] == [2, 3, 3, 4, 5]


def test_layout_spells_each_name_it_owns():
    text = LAYOUT.read_text()
    for name in PARTS + UNIQUE:
        assert '"%s' % name.split("/")[0] in text, name
