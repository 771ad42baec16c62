"""The two rooms of leti_core: the plugin API (every module but app/) never imports the application."""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "leti_core"


def _package(path: Path) -> str:
    return ".".join(path.relative_to(CORE.parent).with_suffix("").parts[:-1])


def _imported(source: str, package: str) -> set[str]:
    """The modules ``source`` imports, relative ones resolved against ``package``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def test_no_api_module_imports_the_application():
    api = [path for path in CORE.rglob("*.py") if "app" not in path.relative_to(CORE).parts]
    assert len(api) > 15
    offenders = {
        str(path.relative_to(CORE)): sorted(
            name for name in _imported(path.read_text(), _package(path)) if name.startswith("leti_core.app")
        )
        for path in api
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_rule_sees_relative_and_absolute_imports_of_the_application():
    source = "from .app.run import LetiRun\nfrom . import app\nimport leti_core.app.launch\n"
    assert {"leti_core.app.run", "leti_core.app", "leti_core.app.launch"} <= _imported(source, "leti_core")
    assert {"leti_core.app.run"} <= _imported("from ..app.run import LetiRun\n", "leti_core.testing")
    assert not any(name.startswith("leti_core.app") for name in _imported("from .models import Problem\n", "leti_core"))


def test_importing_the_api_loads_no_application_module():
    code = "import sys, leti_core, leti_core.testing; print(sorted(m for m in sys.modules if m.startswith('leti_core.app')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
