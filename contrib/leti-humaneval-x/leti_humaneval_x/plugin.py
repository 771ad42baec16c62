"""Registers the environments `javascript` and `cpp` and the tasks `humaneval-js` and `humaneval-cpp`."""

from leti_core import hookimpl


@hookimpl
def leti_register_tasks(register):
    register("humaneval-js", "leti_humaneval_x.tasks:HumanEvalJS", "HumanEval-X in JavaScript (164 problems)")
    register("humaneval-cpp", "leti_humaneval_x.tasks:HumanEvalCpp", "HumanEval-X in C++ (164 problems)")


@hookimpl
def leti_register_environments(register):
    register(
        "javascript",
        "leti_humaneval_x.javascript:JavaScriptEnvironment",
        "runs programs with Node.js; a failed console.assert fails; the stack is the feedback",
    )
    register(
        "cpp",
        "leti_humaneval_x.cpp:CppEnvironment",
        "compiles with g++, then runs; the compiler's diagnostics or the failed assert are the feedback",
    )
