"""The code each dvc.yaml stage runs, from the static import graph.

Usage::

    python scripts/stage_deps.py            # print each stage's code deps
    python scripts/stage_deps.py --check    # exit 1 if dvc.yaml lists other code deps
    python scripts/stage_deps.py --write    # rewrite the code deps in dvc.yaml

A stage's command names its entry: ``hqseg CMD ...`` the click command's callback (and
the callbacks of the groups above it), ``python -m MOD`` the module MOD. From there the
closure follows every ``import`` of the project's packages (``hqseg``, ``pipelines``)
found by ``ast``, including the ones inside functions (the CLI imports heavy modules
lazily). Two rules keep one command from depending on its siblings' code:

* a module of ``hqseg.cli`` other than ``hqseg/cli/__init__.py`` contributes its
  module-level imports, and the function-level imports only of the functions the
  stage's callback reaches by name inside that module;
* every other module contributes all its imports, wherever they are.

Importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py``: they count too.
A folder is listed instead of its files when the stage needs every ``.py`` under it.
Code deps are the entries of a stage's ``deps`` under ``hqseg/`` or ``pipelines/``;
``--write`` replaces them (after the data deps) and leaves every other line as it is.
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hqseg", "pipelines")
CLI = "hqseg.cli"
#: DVC glue modules that call ``hqseg.cli.main`` with a fixed command (see each module's
#: ``command_line``). A glue module that imports hqseg.cli and is not listed is an error.
GLUE = {"pipelines.download": ("download",), "pipelines.build": ("build",)}


def module_file(name: str) -> Path | None:
    """``hqseg.a.b`` -> ``ROOT/hqseg/a/b.py`` or ``.../b/__init__.py``; None if neither."""
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> set[str]:
    """Project modules an import statement in ``module`` loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            is_pkg = module_file(module).name == "__init__.py"
            parts = module.split(".")[: len(module.split(".")) - node.level + is_pkg]
            base = ".".join(parts + ([base] if base else []))
        names = [base] + [f"{base}.{alias.name}" for alias in node.names]
    out = set()
    for name in names:
        if name.split(".")[0] in PACKAGES and module_file(name) is not None:
            parts = name.split(".")
            out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


@cache
def _parse(module: str) -> tuple[frozenset, dict, dict]:
    """(module-level imports, {function: its imports}, {function: same-module functions
    it names}) of ``module``; nested functions count as part of their top function."""
    tree = ast.parse(module_file(module).read_text())
    funcs = {
        n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    top: set[str] = set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    top |= _targets(sub, module)
    lazy, calls = {}, {}
    for name, fn in funcs.items():
        nodes = list(ast.walk(fn))
        lazy[name] = frozenset().union(
            *(_targets(n, module) for n in nodes if isinstance(n, ast.Import | ast.ImportFrom))
        )
        calls[name] = {n.id for n in nodes if isinstance(n, ast.Name) and n.id in funcs}
    return frozenset(top), lazy, calls


def _reached(module: str, entry: str) -> set[str]:
    """Function-level imports of ``entry`` and of the functions it names, transitively."""
    _, lazy, calls = _parse(module)
    seen, todo, out = set(), [entry], set()
    while todo:
        name = todo.pop()
        if name not in seen and name in lazy:
            seen.add(name)
            out |= lazy[name]
            todo.extend(calls[name])
    return out


def closure(modules: set[str], entries: set[tuple[str, str]] = frozenset()) -> set[str]:
    """Project modules run by importing ``modules`` and calling ``entries`` ((module,
    function) pairs), as files relative to ROOT."""
    todo = set(modules) | {m for m, _ in entries}
    for module, function in entries:
        todo |= _reached(module, function)
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        top, lazy, _ = _parse(module)
        partial = module.startswith(CLI + ".")
        todo |= top if partial else top.union(*lazy.values())
        todo |= {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    return {module_file(m).relative_to(ROOT).as_posix() for m in seen}


def command_entries(args: list[str]) -> set[tuple[str, str]]:
    """(module, function) of the click callbacks ``hqseg ARGS`` runs (groups included)."""
    import click

    from hqseg.cli import main

    command, out, ctx = main, set(), click.Context(main)
    for arg in args:
        callback = command.callback
        out.add((callback.__module__, callback.__name__))
        if not isinstance(command, click.Group):
            break
        command = command.get_command(ctx, arg)
        if command is None:
            raise SystemExit(f"hqseg has no command {arg!r}")
    else:
        out.add((command.callback.__module__, command.callback.__name__))
    return out


def stage_code(cmd: str) -> set[str]:
    """The code files (relative to ROOT) the stage command ``cmd`` runs."""
    tokens = shlex.split(cmd)
    while tokens and re.fullmatch(r"\w+=\S*", tokens[0]):
        tokens.pop(0)
    if tokens[0] == "hqseg":
        return closure({CLI}, command_entries(tokens[1:]))
    if tokens[:2] == ["python", "-m"]:
        if tokens[2] not in GLUE and CLI in _parse(tokens[2])[0]:
            raise SystemExit(f"{tokens[2]} runs an hqseg command: name it in GLUE ({__file__})")
        glue = command_entries(list(GLUE.get(tokens[2], ())))
        return closure({tokens[2]}, glue)
    raise SystemExit(f"cannot tell the code of stage command {cmd!r}")


def compress(files: set[str]) -> list[str]:
    """``files`` with every folder whose ``.py`` files are all in it listed as the folder."""
    out = set(files)
    folders = {p for f in files for p in Path(f).parents if p.parts}
    folders = sorted(folders, key=lambda p: -len(p.parts))
    for folder in folders:
        if folder.as_posix() in PACKAGES:
            continue
        inside = {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*.py")}
        if inside and inside <= files:
            prefix = folder.as_posix() + "/"
            out = {f for f in out if not f.startswith(prefix)} | {folder.as_posix()}
    return sorted(out)


def stages() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _body(stage: dict) -> dict:
    return stage.get("do", stage)


def is_code(dep) -> bool:
    return isinstance(dep, str) and dep.split("/")[0] in PACKAGES


def wanted() -> dict[str, list[str]]:
    """{stage: its code deps} for every stage of dvc.yaml."""
    return {name: compress(stage_code(_body(s)["cmd"])) for name, s in stages().items()}


def listed() -> dict[str, list[str]]:
    """{stage: the code deps dvc.yaml lists now}."""
    return {
        name: sorted(d for d in _body(s).get("deps", []) if is_code(d))
        for name, s in stages().items()
    }


def rewrite(text: str, want: dict[str, list[str]]) -> str:
    """dvc.yaml ``text`` with each stage's code deps replaced by ``want[stage]``."""
    lines, out, stage, i = text.splitlines(keepends=True), [], None, 0
    while i < len(lines):
        line = lines[i]
        if m := re.match(r"^  (\w+):", line):
            stage = m.group(1)
        out.append(line)
        i += 1
        if stage in want and re.match(r"^\s+deps:\s*$", line):
            items = []
            while i < len(lines) and re.match(r"^\s+- ", lines[i]):
                items.append(lines[i])
                i += 1
            indent = re.match(r"^(\s+)- ", items[0]).group(1)
            out += [x for x in items if not is_code(x.strip()[2:])]
            out += [f"{indent}- {dep}\n" for dep in want[stage]]
    return "".join(out)


def main(argv: list[str]) -> int:
    want = wanted()
    if "--write" in argv:
        from hqseg.utils.atomic import write_text

        path = ROOT / "dvc.yaml"
        write_text(path, rewrite(path.read_text(), want))
        return 0
    if "--check" in argv:
        have = listed()
        wrong = [name for name in want if want[name] != have.get(name)]
        for name in wrong:
            print(f"{name}: dvc.yaml lists {have.get(name)}, the imports say {want[name]}")
        if wrong:
            print("run: python scripts/stage_deps.py --write")
        return 1 if wrong else 0
    for name, deps in want.items():
        print(f"{name}: {' '.join(deps)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
