"""The stub lists the whole compiled API, and everything public has a docstring."""

import ast
import pathlib

import gridbatch as gb

STUB = pathlib.Path(__file__).resolve().parents[1] / "gridbatch" / "__init__.pyi"


def test_stub_names_every_public_name():
    tree = ast.parse(STUB.read_text())
    named = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            named.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            named.add(node.target.id)
    missing = sorted(set(gb.__all__) - named)
    assert not missing, f"not in __init__.pyi: {missing}"


def test_everything_public_has_a_docstring():
    undocumented = []
    for name in gb.__all__:
        obj = getattr(gb, name)
        if isinstance(obj, int):
            continue
        if not (obj.__doc__ or "").strip():
            undocumented.append(name)
        if isinstance(obj, type):
            for attr, value in vars(obj).items():
                if attr.startswith("_") or (attr == "value" and hasattr(obj, "__members__")):
                    continue
                if isinstance(value, (property, staticmethod)) or callable(value):
                    doc = getattr(value, "__doc__", None) or ""
                    if not doc.strip():
                        undocumented.append(f"{name}.{attr}")
    assert not undocumented, f"no docstring: {undocumented}"
