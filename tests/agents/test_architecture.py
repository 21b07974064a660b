"""The agent stays a small program: at most 9 modules of at most 400 lines, without the
scheduler's web and database stack; the simulator plugs in its own parts and overrides no
private method of the agent."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
# 7 until issue 17: orders.py (commands, and group messages that start an emergency) is
# the eighth, taken out of station.py when group messages came; relay.py (issue 19: a live
# stream played for a span, with its fill) the ninth, beside output.py at the cap
MAX_MODULES = 9
MAX_LINES = 400
HEAVY = ("fastapi", "starlette", "sqlalchemy")


def agent_modules(package: Path) -> list[Path]:
    """The agent's modules: every file but an __init__ that holds only its docstring."""
    return [path for path in sorted(package.rglob("*.py"))
            if not (path.name == "__init__.py" and docstring_only(path))]


def docstring_only(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
               for node in body)


def modules_of(package: str) -> list[ModuleType]:
    root = importlib.import_module(package)
    return [root] + [importlib.import_module(info.name)
                     for info in pkgutil.walk_packages(root.__path__, f"{package}.")]


def private_overrides(simulator: str, agent: str) -> list[str]:
    """Name every _private method a simulator class defines over one of an agent class, and
    every __init__ over an agent class's that does not call super().__init__."""
    found = []
    for module in modules_of(simulator):
        for cls in vars(module).values():
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            agent_bases = [base for base in cls.__mro__[1:]
                           if base.__module__.split(".")[0] == agent
                           and not base.__module__.startswith(f"{simulator}.")]
            for name, member in vars(cls).items():
                if name == "__init__" and agent_bases and not calls_super_init(member):
                    found.append(f"{cls.__qualname__}.__init__ without super()")
                elif name.startswith("_") and not name.startswith("__") and any(
                        name in vars(base) for base in agent_bases):
                    found.append(f"{cls.__qualname__}.{name}")
    return found


def calls_super_init(method: object) -> bool:
    """Tell whether a method's code (not a comment) calls super().__init__."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(method)))  # type: ignore[arg-type]
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
               and node.func.attr == "__init__" and isinstance(node.func.value, ast.Call)
               and isinstance(node.func.value.func, ast.Name)
               and node.func.value.func.id == "super" for node in ast.walk(tree))


def test_the_agent_is_at_most_9_modules_of_at_most_400_lines() -> None:
    modules = agent_modules(ROOT / "agents")
    lines = {path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
             for path in modules}
    assert len(modules) <= MAX_MODULES, lines
    assert all(count <= MAX_LINES for count in lines.values()), lines


def modules_the_agent_loads() -> list[str]:
    """Import every agent module in a fresh process; return every module then loaded."""
    names = [f"agents.{path.stem}" for path in agent_modules(ROOT / "agents")]
    code = (f"import sys\nfor name in {names!r}:\n    __import__(name)\n"
            "print('\\n'.join(sorted(sys.modules)))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.split()


def test_the_agent_imports_neither_fastapi_nor_sqlalchemy() -> None:
    """Directly or through anything it imports."""
    loaded = [name for name in modules_the_agent_loads() if name.split(".")[0] in HEAVY]
    assert loaded == []


def test_the_agent_takes_only_the_decoder_and_the_checksum_from_media() -> None:
    """One decoder for both sides (media.decode), without the upload pipeline behind it."""
    loaded = [name for name in modules_the_agent_loads() if name.split(".")[0] == "media"]
    assert loaded == ["media", "media.checksum", "media.decode"]


def test_the_simulator_overrides_no_private_method_of_the_agent() -> None:
    assert private_overrides("simulate", "agents") == []


def test_the_check_sees_an_override_and_an_init_without_super(tmp_path: Path) -> None:
    """The check above fails on the shapes it forbids (the simulator's, before it moved)."""
    package = tmp_path / "fakesim"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "parts.py").write_text(
        "from agents.link import MqttLink\nfrom agents.store import SqliteStore\n\n"
        "class Sneaky(MqttLink):\n    def _connected(self) -> None: ...\n"
        "    def extra(self) -> None: ...\n\n"
        "class NoSuper(SqliteStore):\n    def __init__(self) -> None:\n"
        "        pass  # no super().__init__(): a comment does not count\n\n"
        "class Polite(SqliteStore):\n    def __init__(self) -> None:\n"
        "        super().__init__(None)  # type: ignore\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert sorted(private_overrides("fakesim", "agents")) == [
            "NoSuper.__init__ without super()", "Sneaky._connected"]
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] == "fakesim"]:
            del sys.modules[name]
