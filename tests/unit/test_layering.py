"""The package's layering, checked from the source tree as it is (modules are found by walking mediagrid/).

(a) Every module under mediagrid/ imports without Holoscan: only mediagrid.runtime.bootstrap may import it, and
    only when called (apps and operators, which need it, live outside mediagrid/).
(b) No module imports a package from a higher layer of :data:`LAYERS`, and packages on one layer do not import
    each other unless :data:`SIBLING_EXCEPTIONS` says why. Imports inside functions and under TYPE_CHECKING
    count: they are dependencies all the same.

A new top-level package or module under mediagrid/ fails (b) until it is given a layer here.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "mediagrid"
BOOTSTRAP = "mediagrid.runtime.bootstrap"  # the one door to Holoscan: imports it when called, never at import

# Lowest first. A name is a top-level package or module of mediagrid (``mediagrid.<name>``); "mediagrid" is the
# package's own __init__. operators and apps live outside mediagrid/ (installed as mediagrid.operators and
# mediagrid.apps) and are not checked here, but are placed so that a module under mediagrid/ importing them is.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("mediagrid", "errors", "logs", "schemas"),  # no mediagrid imports at all (schemas: JSON files only)
    ("runtime",),                                 # clock, device/backend, run control, processes, Holoscan import
    ("config",),                                  # config files: loading, schema, checks, models
    ("scheduler",),                               # deadlines, EDF, estimators, batching
    ("metrics",),                                 # recorder and summary: records scheduler outcomes
    ("kafka",),                                   # brokers, sessions, topics
    ("media",),                                   # frames, codecs, compositor, clips
    ("broadcast",),                               # live feeds in, SCTE-35 cues, HLS / MPEG-TS out, player page
    ("ads", "overlay", "recsys", "speech", "grid", "scenarios"),  # the use cases and the grid, side by side
    ("report",),                                  # reads run directories the layers above write
    ("run_context",),                             # what the runner hands an app: backend, recorder, control
    ("operators",),                               # Holoscan operators (outside mediagrid/)
    ("apps",),                                    # Holoscan apps (outside mediagrid/)
    ("runner", "demo"),                           # run one app / the demo that runs several
    ("cli",),                                     # the `mediagrid` command
)

# (importing package, imported package) on one layer, with the reason it is allowed. None today.
SIBLING_EXCEPTIONS: dict[tuple[str, str], str] = {}

LAYER_OF = {name: index for index, names in enumerate(LAYERS) for name in names}


def module_files() -> dict[str, Path]:
    """Every module under mediagrid/, by dotted name (a package by its __init__)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def top_name(module: str) -> str:
    """``mediagrid.kafka.topics`` -> ``kafka``; ``mediagrid`` -> ``mediagrid``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imported_modules(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every mediagrid module ``path`` imports, anywhere in the file."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "mediagrid":  # from mediagrid import kafka: the names are the modules
                found += [(node.lineno, f"mediagrid.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return [(line, name) for line, name in found if name == "mediagrid" or name.startswith("mediagrid.")]


def layering_problems() -> list[str]:
    problems, unplaced = [], set()
    for module, path in module_files().items():
        mine = top_name(module)
        if mine not in LAYER_OF:
            if mine not in unplaced:
                unplaced.add(mine)
                problems.append(f"mediagrid.{mine}: has no layer in LAYERS (tests/unit/test_layering.py)")
            continue
        where = path.relative_to(REPO)
        for line, target in imported_modules(module, path):
            theirs = top_name(target)
            if theirs == mine or theirs == "mediagrid":
                continue
            if theirs not in LAYER_OF:
                problems.append(f"{where}:{line}: {module} -> {target}: package '{theirs}' has no layer in LAYERS")
            elif LAYER_OF[theirs] > LAYER_OF[mine]:
                problems.append(f"{where}:{line}: {module} -> {target}: '{mine}' (layer {LAYER_OF[mine]}) imports "
                                f"'{theirs}' from the higher layer {LAYER_OF[theirs]}")
            elif LAYER_OF[theirs] == LAYER_OF[mine] and (mine, theirs) not in SIBLING_EXCEPTIONS:
                problems.append(f"{where}:{line}: {module} -> {target}: '{mine}' imports its sibling '{theirs}' "
                                f"(layer {LAYER_OF[mine]}); move the shared code down or list an exception")
    return problems


def test_no_module_imports_a_higher_layer_or_a_sibling():
    problems = layering_problems()
    assert not problems, f"{len(problems)} layering problem(s):\n" + "\n".join(problems)


def test_layer_table_is_consistent():
    names = [name for layer in LAYERS for name in layer]
    assert len(names) == len(set(names)), "a name is on two layers"
    assert set(SIBLING_EXCEPTIONS) <= {(a, b) for layer in LAYERS for a in layer for b in layer if a != b}
    assert all(reason.strip() for reason in SIBLING_EXCEPTIONS.values())


def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(textwrap.dedent("""
        import os
        from . import sibling
        from ..kafka import topics
        from mediagrid import report
        def late():
            import mediagrid.cli
            from mediagrid.metrics.recorder import OutcomeRecorder
    """))
    assert [name for _, name in imported_modules("mediagrid.runtime.mod", source)] == [
        "mediagrid.runtime", "mediagrid.kafka", "mediagrid.report", "mediagrid.cli", "mediagrid.metrics.recorder"]


BLOCKED_IMPORT = textwrap.dedent("""
    import importlib, json, sys, traceback

    class NoHoloscan:
        def find_spec(self, name, path=None, target=None):
            if name == "holoscan" or name.startswith("holoscan."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by test_layering)", name=name)
            return None

    sys.meta_path.insert(0, NoHoloscan())
    failures = {}
    for module in json.loads(sys.stdin.read()):
        try:
            importlib.import_module(module)
        except BaseException as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            where = next((f"{f.filename}:{f.lineno}" for f in reversed(frames) if "/mediagrid/" in f.filename), "")
            failures[module] = f"{type(exc).__name__}: {exc}" + (f" (at {where})" if where else "")
    leaked = sorted(name for name in sys.modules if name == "holoscan" or name.startswith("holoscan."))
    print(json.dumps({"failures": failures, "holoscan_modules": leaked}))
""")


def test_every_module_imports_without_holoscan():
    modules = [name for name in module_files() if name != BOOTSTRAP]
    done = subprocess.run([sys.executable, "-c", BLOCKED_IMPORT], input=json.dumps(modules), cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    failures = result["failures"]
    assert not failures, (f"{len(failures)} of {len(modules)} modules fail to import without Holoscan:\n"
                          + "\n".join(f"  {module}: {why}" for module, why in sorted(failures.items())))
    assert not result["holoscan_modules"]
