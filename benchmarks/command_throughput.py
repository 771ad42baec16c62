"""Programs of steps in the `local` sandbox against the same commands run bare, in one run.

    python benchmarks/command_throughput.py --data ../shared/data/humaneval-x [--workers 2]

Runs HumanEval-X's 164 canonical JavaScript solutions (and, with --cpp, the C++ ones: compile and
run) two ways on the same number of parallel workers: bare `node` (or g++ then the binary) in a
temporary folder, and the `local` sandbox with every layer it has here. Prints programs/s, the
sandbox's share of the bare speed, and the problems whose verdict differs (bare: every command
exits 0; note that bare node does not fail a `console.assert`, and the sandbox does).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "contrib" / "leti-humaneval-x"))


def bare(files: dict[str, str], argvs: list[list[str]]) -> bool:
    with tempfile.TemporaryDirectory(dir="/dev/shm") as folder:
        for name, text in files.items():
            Path(folder, name).write_text(text)
        for argv in argvs:  # descriptor 3 open (on /dev/null) for the line that marks the end of the tests
            done = subprocess.run(["/bin/sh", "-c", 'exec "$0" "$@" 3>/dev/null', *argv], cwd=folder,
                                  capture_output=True, timeout=60, env={**os.environ, "LETI_SANDBOX_NONCE": "x"})
            if done.returncode:
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the humaneval-x folder")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cpp", action="store_true", help="also C++ (compile dominated)")
    args = parser.parse_args()

    from leti_core.app import get_registry
    from leti_humaneval_x import cpp, javascript

    registry = get_registry()
    node, gxx = shutil.which("node"), shutil.which("g++")
    languages = [("javascript", "humaneval-js")] + ([("cpp", "humaneval-cpp")] if args.cpp else [])
    for environment_name, task_name in languages:
        problems = registry.task(task_name, data=args.data).load("all")
        if environment_name == "javascript":
            hook = (Path(javascript.__file__).with_name(javascript.ASSERT_HOOK)).read_text()
            jobs = [({javascript.PROGRAM: javascript.build_program(p, p.reference), javascript.ASSERT_HOOK: hook},
                     [[node, "--require", f"./{javascript.ASSERT_HOOK}", javascript.PROGRAM]]) for p in problems]
        else:
            jobs = [({cpp.SOURCE: cpp.build_program(p, p.reference)},
                     [[gxx, "-std=c++17", "-O1", "-w", "-o", cpp.BINARY, cpp.SOURCE], [f"./{cpp.BINARY}"]])
                    for p in problems]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            bare_passed = list(pool.map(lambda job: bare(*job), jobs))
        bare_rate = len(jobs) / (time.perf_counter() - started)
        with registry.environment(environment_name, sandbox_options={"workers": args.workers}) as environment:
            environment.execute(problems[:2], [p.reference for p in problems[:2]])  # start the executors
            started = time.perf_counter()
            results = environment.execute(problems, [p.reference for p in problems])
            sandboxed_rate = len(problems) / (time.perf_counter() - started)
            layers = environment.sandbox.isolation()
        passed = sum(result.passed for result in results)
        differ = [p.task_id for p, ok, result in zip(problems, bare_passed, results) if ok != result.passed]
        print(f"{environment_name}: bare {bare_rate:.1f} programs/s ({sum(bare_passed)}/{len(problems)} exit 0), "
              f"sandboxed {sandboxed_rate:.1f} programs/s ({passed}/{len(problems)} passed; "
              f"{sandboxed_rate / bare_rate:.2f}x of bare); verdicts that differ: {differ or 'none'}; {layers}",
              flush=True)


if __name__ == "__main__":
    main()
