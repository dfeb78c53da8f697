"""The layers of docs/ARCHITECTURE.md, checked on the source: imports only go down, front ends never import
each other, and no module grows past what can be read in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "voiceassist"

# module (or package prefix) -> layer. Lower layers never import higher ones.
VOCABULARY = 0  # shared vocabulary: events and the value types they carry, bus, worker, config, paths, logs
DOMAIN = 1  # audio, asr, emotion, mood, alerts, reply + speech output, storage, the model hub
PIPELINE = 2
SESSION = 3  # the session, and the analysis document built on it
FRONT = 4  # cli, ui, api
ENTRY = 5  # the voiceassist command: routes "app" to the window, the rest to the CLI

LAYERS: dict[str, int] = {
    "voiceassist": VOCABULARY,
    "voiceassist.events": VOCABULARY,
    "voiceassist.eventjson": VOCABULARY,
    "voiceassist.bus": VOCABULARY,
    "voiceassist.worker": VOCABULARY,
    "voiceassist.config": VOCABULARY,
    "voiceassist.config_file": VOCABULARY,
    "voiceassist.paths": VOCABULARY,
    "voiceassist.logs": VOCABULARY,
    "voiceassist.options": VOCABULARY,
    "voiceassist.lang": VOCABULARY,
    "voiceassist.commands": VOCABULARY,  # what a front end sends a Session
    # value types the events carry: they import nothing above numpy and the label table
    "voiceassist.audio.chunk": VOCABULARY,
    "voiceassist.emotion.labels": VOCABULARY,
    "voiceassist.emotion.estimate": VOCABULARY,
    "voiceassist.mood": VOCABULARY,
    "voiceassist.audio": DOMAIN,
    "voiceassist.asr": DOMAIN,
    "voiceassist.emotion": DOMAIN,
    "voiceassist.alerts": DOMAIN,
    "voiceassist.reply": DOMAIN,
    "voiceassist.responder": DOMAIN,
    "voiceassist.tts": DOMAIN,
    "voiceassist.voices": DOMAIN,
    "voiceassist.storage": DOMAIN,
    "voiceassist.privacy": DOMAIN,  # the data key, the privacy switches, data-wipe
    "voiceassist.models_manager": DOMAIN,
    "voiceassist.data": DOMAIN,  # the data-curation toolkit (uses the text-emotion backend)
    "voiceassist.train": DOMAIN,  # training and evaluating the text-emotion and reply models
    "voiceassist.review": DOMAIN,  # mood over days and weeks, the caregiver report, the weekly e-mail
    "voiceassist.textnorm": DOMAIN,  # the normalised text the text stages read (pure)
    "voiceassist.personal": DOMAIN,  # the per-person calibration profile learnt from corrections
    "voiceassist.pipeline": PIPELINE,
    "voiceassist.session": SESSION,
    "voiceassist.analysis": SESSION,
    "voiceassist.batch": SESSION,  # analyze-batch: many files through analysis
    "voiceassist.cli": FRONT,
    "voiceassist.ui": FRONT,
    "voiceassist.api": FRONT,
    "voiceassist.entry": ENTRY,
    "voiceassist.__main__": ENTRY,
}
FRONT_ENDS = ("voiceassist.cli", "voiceassist.ui", "voiceassist.api")
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    best = max((k for k in LAYERS if module == k or module.startswith(k + ".")), key=len)
    return LAYERS[best]


def front_end(module: str) -> str | None:
    return next((f for f in FRONT_ENDS if module == f or module.startswith(f + ".")), None)


def imports(path: Path) -> list[tuple[int, str]]:
    """Every voiceassist import in the file, lazy ones inside functions included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("voiceassist"):
            out.append((node.lineno, node.module))
            out += [
                (node.lineno, f"{node.module}.{a.name}")
                for a in node.names
                if (PKG.parent / Path(*f"{node.module}.{a.name}".split("."))).with_suffix(".py").exists()
            ]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("voiceassist")]
    return out


SOURCES = sorted(PKG.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_only_go_down(path: Path):
    me = module_name(path)
    mine = layer_of(me)
    for line, target in imports(path):
        if target == "voiceassist" or target.startswith(me + "."):
            continue  # the package's own version string / its own submodules
        assert layer_of(target) <= mine, f"{me}:{line} imports {target} (layer {layer_of(target)} > {mine})"
        a, b = front_end(me), front_end(target)
        assert a is None or b is None or a == b, f"{me}:{line}: front end {a} imports front end {b}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG)))
def test_modules_are_small_enough_to_read_in_one_sitting(path: Path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(PKG)} has {n} lines (at most {MAX_LINES})"


def test_every_module_has_a_layer():
    for path in SOURCES:
        me = module_name(path)
        placed = [k for k in LAYERS if k != "voiceassist" and (me == k or me.startswith(k + "."))]
        assert me == "voiceassist" or placed, f"{me} has no layer in LAYERS: add it (and to docs/ARCHITECTURE.md)"


def import_graph() -> dict[str, set[str]]:
    """module -> the voiceassist modules it imports (lazy imports inside functions included). ``from pkg
    import sub`` is an edge to ``pkg.sub`` alone when ``sub`` is a module (every import of a submodule runs
    its package's ``__init__``, so that edge says nothing); otherwise to ``pkg``."""
    known = {module_name(p) for p in SOURCES}
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        me = module_name(path)
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("voiceassist"):
                subs = [f"{node.module}.{a.name}" for a in node.names]
                mods = [m for m in subs if m in known]
                targets.update(mods)
                if len(mods) < len(subs):
                    targets.add(node.module)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name in known)
        graph[me] = {t for t in targets if t in known and t != me}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    """Not even through lazy imports: two modules that need each other are one module, or a third is missing."""
    # a package importing its own submodules is fine; a submodule importing its package back (and so the
    # package's other submodules) is what makes a circle
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
