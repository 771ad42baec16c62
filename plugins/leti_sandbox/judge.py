"""The judge of a Python program: runs its tests in a process of its own (standard library only).

The program runs in another process (``served.py``) and never sees the tests. Here the test code
runs with the program's top-level names bound to references: calling one sends the arguments
over the channel and gets plain data back (``plain.py``), so every comparison a test makes is
between values this process built, with its own types. An object of a type the program made
stays in the program's process; comparing two of them runs the program's own code, and the
verdict is then marked "judged in process". Comparing one with a plain value never asks the
program: it is unequal, as for any two unrelated objects.

A failure's feedback is the one the paper's single-process program gives: the test line, the
program's own frames below it, the exception. The report goes to the executor on a descriptor
the program's process never had.
"""

import ast
import builtins
import importlib
import json
import linecache
import operator
import os
import sys

try:
    from . import harness, plain
except ImportError:  # loaded by path inside the executor, which loaded these first
    harness, plain = sys.modules["leti_sandbox_harness"], sys.modules["leti_sandbox_plain"]

FILENAME = harness.FILENAME
VALUE_CHARS = 80
APART, IN_PROCESS = "apart", "in process"
COMPARISONS = {
    "Eq": (operator.eq, "=="),
    "NotEq": (operator.ne, "!="),
    "Lt": (operator.lt, "<"),
    "LtE": (operator.le, "<="),
    "Gt": (operator.gt, ">"),
    "GtE": (operator.ge, ">="),
    "In": (lambda a, b: a in b, "in"),
    "NotIn": (lambda a, b: a not in b, "not in"),
    "Is": (operator.is_, "is"),
    "IsNot": (operator.is_not, "is not"),
}
COMPARE_NAME = "__leti_compare__"


class ProgramEnded(BaseException):
    """The program's process ended, or broke the channel, before answering (tests cannot catch it)."""


class Remote:
    """The channel to the program's process, and the references it gave."""

    def __init__(self, requests, replies):
        self.requests, self.replies = requests, replies
        self.handles = {}  # reference id -> Handle
        self.classes = {}  # type name -> Handle subclass
        self.judged = APART
        self.compared = None  # the last failed comparison of plain values, as text

    def receive(self):
        try:
            return plain.receive(self.replies)
        except plain.Closed:
            raise ProgramEnded() from None

    def request(self, *message):
        try:
            plain.send(self.requests, message)
        except plain.Closed:
            raise ProgramEnded() from None
        reply = self.receive()
        if type(reply) is not tuple or not reply:
            raise ProgramEnded()
        if reply[0] == "ok" and len(reply) == 3:
            return self.value(reply[1]), reply[2]
        if reply[0] == "stop":
            raise StopIteration
        if reply[0] == "raise" and len(reply) == 2:
            raise remote_exception(reply[1])
        raise ProgramEnded()

    def value(self, data, depth=0):
        """A value from the program: plain data rebuilt here, references as handles."""
        kind = type(data)
        if kind in plain.SCALARS:
            return data
        if depth > 10000 or kind not in plain.CONTAINERS:
            raise ProgramEnded()  # not plain data: the program wrote on the channel itself
        depth += 1
        if kind is tuple:
            if len(data) == 4 and data[0] == plain.REF:
                return self.reference(data)
            return tuple([self.value(item, depth) for item in data])
        if kind is list:
            return [self.value(item, depth) for item in data]
        if kind is dict:
            return {self.value(key, depth): self.value(item, depth) for key, item in data.items()}
        return kind([self.value(item, depth) for item in data])

    def reference(self, data):
        _, what, first, second = data
        if what == "value":
            return _rebuilt(first, self.value(second))
        if what == "module" and type(first) is str and all(part.isidentifier() for part in first.split(".")):
            try:
                return importlib.import_module(first)  # the judge's own copy of the module
            except BaseException:
                first, second = second, "module"
        if type(first) is not int or type(second) is not str:
            raise ProgramEnded()
        handle = self.handles.get(first)
        if handle is None:
            cls = self.classes.get(second)
            if cls is None:
                cls = self.classes[second] = type(second if second.isidentifier() else "object", (Handle,), {})
            handle = self.handles[first] = object.__new__(cls)
            object.__setattr__(handle, "_leti_id", first)
        return handle

    def data(self, value, depth=0):
        """A value for the program: plain data, and references to its own objects."""
        kind = type(value)
        if kind in plain.SCALARS:
            return value
        if isinstance(value, Handle):
            return (plain.REF, "obj", value._leti_id)
        if kind in plain.CONTAINERS and depth < 10000:
            depth += 1
            if kind is dict:
                return {self.data(key, depth): self.data(item, depth) for key, item in value.items()}
            return kind([self.data(item, depth) for item in value])
        named = _named(value)
        if named is not None:  # a class or function of a module (int, math.sqrt): the program finds its own
            return (plain.REF, "global", *named)
        raise TypeError(
            "the test gave the program a %s: only plain data and the program's own objects cross to it" % kind.__name__
        )

    def call(self, handle, args, kwargs):
        result, back = self.request("call", handle._leti_id, self.data(args), self.data(kwargs))
        if type(back) is list and len(back) == len(args):
            for original, changed in zip(args, back, strict=False):
                if changed is not None:
                    _update(original, self.value(changed))
        return result

    def operation(self, name, handle, *args):
        return self.request(name, handle._leti_id, self.data(args))[0]

    def compare(self, name, handle, other):
        if not isinstance(other, Handle):
            return NotImplemented  # never ask the program whether it equals a value of the test's
        self.judged = IN_PROCESS
        return self.operation(name, handle, other)


def _rebuilt(kind, payload):
    """A value of a standard type, rebuilt with the judge's own copy of the type."""
    import collections

    try:
        if kind == "namedtuple":
            name, fields, values = payload
            return collections.namedtuple(name, fields, rename=True)(*values)
        if kind == "deque":
            return collections.deque(*payload)
        if kind == "defaultdict":
            factory, items = payload
            factories = {"int": int, "list": list, "set": set, "dict": dict, "str": str, "float": float, "tuple": tuple}
            return collections.defaultdict(factories[factory] if factory else None, items)
        if kind in ("Counter", "OrderedDict"):
            return getattr(collections, kind)(payload)
        if kind == "Decimal":
            import decimal

            return decimal.Decimal(payload)
        if kind == "Fraction":
            import fractions

            return fractions.Fraction(*payload)
    except (TypeError, ValueError, KeyError, ArithmeticError):
        pass
    raise ProgramEnded()  # not what the program's side sends: it wrote on the channel itself


def _named(value):
    """(module, qualified name) when that names ``value`` in its module, else None."""
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if type(module) is not str or type(qualname) is not str or "<" in qualname:
        return None
    found = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return (module, qualname) if found is value else None


def _update(original, changed):
    """Apply in place what a call did to an argument the judge passed (a list, dict or set)."""
    kind = type(original)
    if kind is not type(changed) or original == changed:
        return
    if kind is list:
        original[:] = changed
    elif kind is dict or kind is set:
        original.clear()
        original.update(changed)


REMOTE = None  # the run's Remote (one judged program per process)


class Handle:
    """An object that lives in the program's process; what the test does with it is asked there."""

    __slots__ = ("_leti_id", "__weakref__")

    def __call__(self, *args, **kwargs):
        return REMOTE.call(self, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("_leti"):
            raise AttributeError(name)
        return REMOTE.request("getattr", self._leti_id, name)[0]

    def __setattr__(self, name, value):
        REMOTE.request("setattr", self._leti_id, name, REMOTE.data(value))

    def __iter__(self):
        return REMOTE.operation("iter", self)

    def __next__(self):
        return REMOTE.operation("next", self)

    def __len__(self):
        return REMOTE.operation("len", self)

    def __bool__(self):
        return REMOTE.operation("bool", self)

    def __repr__(self):
        try:
            text = REMOTE.operation("repr", self)
        except BaseException:
            text = None
        return text if type(text) is str else "<%s object>" % type(self).__name__

    def __str__(self):
        return REMOTE.operation("str", self)

    def __hash__(self):
        return hash((Handle, self._leti_id))

    def __getitem__(self, key):
        return REMOTE.operation("getitem", self, key)

    def __setitem__(self, key, value):
        REMOTE.operation("setitem", self, key, value)

    def __delitem__(self, key):
        REMOTE.operation("delitem", self, key)

    def __contains__(self, item):
        REMOTE.judged = IN_PROCESS  # the program answers a question about a value of the test's
        return REMOTE.operation("contains", self, item)


def _unary(name):
    return lambda self: REMOTE.operation(name, self)


def _binary(name):
    return lambda self, other: REMOTE.operation(name, self, other)


def _comparison(name):
    return lambda self, other: REMOTE.compare(name, self, other)


for _name in ("float", "int", "index", "neg", "pos", "abs"):
    setattr(Handle, "__%s__" % _name, _unary(_name))
for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow"):
    setattr(Handle, "__%s__" % _name, _binary(_name))
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):  # __hash__ stays the class's own: set after it
    setattr(Handle, "__%s__" % _name, _comparison(_name))
Handle.__round__ = lambda self, *digits: REMOTE.operation("round", self, *digits)


class RemoteError(Exception):
    """Stands for an exception of a type the judge does not have."""


def remote_exception(info):
    """An exception of the program's, rebuilt here (same type where the judge knows it), carrying
    the program's description and frames for the report."""
    if type(info) is not dict or type(info.get("type")) is not str:
        raise ProgramEnded()
    name = info["type"]
    message = info.get("message") if type(info.get("message")) is str else ""
    cls = getattr(builtins, name, None)
    error = None
    if isinstance(cls, type) and issubclass(cls, BaseException):
        try:
            error = cls(message) if message else cls()
        except BaseException:
            error = None
    if error is None:
        error = type(name if name.isidentifier() else "RemoteError", (RemoteError,), {})(message)
    error._leti_remote = info
    return error


def describe(error, lines):
    """The failure as the report carries it: the judge's frames on the test lines, then the
    program's own frames and exception when the error came from the program."""
    info = harness._describe(error, lines)
    remote = getattr(error, "_leti_remote", None)
    if remote is not None and remote.get("syntax_error"):
        return remote
    if remote is not None:
        frames = info.get("frames", []) + [frame for frame in remote.get("frames", []) if type(frame) is dict]
        info = {"type": remote["type"], "message": remote.get("message", ""), "frames": frames}
    return info


def clip(text):
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + " ..."


def _has_handle(value, depth=0):
    if isinstance(value, Handle):
        return True
    kind = type(value)
    if kind in plain.CONTAINERS and depth < 50:
        items = list(value.items()) if kind is dict else value
        for item in items:
            if _has_handle(item, depth + 1):
                return True
    return False


def compare(left, right, name):
    """An assert's single comparison, remembering the plain values when it fails."""
    operation, symbol = COMPARISONS[name]
    REMOTE.compared = None
    result = operation(left, right)
    if not result and not _has_handle(left) and not _has_handle(right):
        REMOTE.compared = "assert %s %s %s" % (clip(repr(left)), symbol, clip(repr(right)))
    return result


def _rewrite_asserts(tree):
    """``assert a == b`` -> ``assert __leti_compare__(a, b, "Eq")``, in place: same order, same lines."""
    for node in ast.walk(tree):
        if type(node) is not ast.Assert:
            continue
        test = node.test
        if type(test) is ast.Compare and len(test.ops) == 1 and type(test.ops[0]).__name__ in COMPARISONS:
            call = ast.Call(
                func=ast.Name(id=COMPARE_NAME, ctx=ast.Load()),
                args=[test.left, test.comparators[0], ast.Constant(type(test.ops[0]).__name__)],
                keywords=[],
            )
            node.test = ast.copy_location(call, test)
            for part in (call.func, call.args[2]):
                ast.copy_location(part, test)
    return tree


def test_code(source, tests):
    """The tests compiled at the lines they have in ``source + "\\n" + tests``."""
    padding = "\n" * (source + "\n").count("\n")
    tree = _rewrite_asserts(ast.parse(padding + tests, FILENAME))
    return compile(tree, FILENAME, "exec", dont_inherit=True)


def run(source, tests, requests, replies):
    """The report: ``completed``, ``judged``, and ``error`` (a failure) or ``ended`` (the
    program's process ended or broke the channel; the executor knows how)."""
    global REMOTE
    combined = source + "\n" + tests
    lines = combined.splitlines(True)
    linecache.cache[FILENAME] = (len(combined), None, lines, FILENAME)
    try:
        code = test_code(source, tests)
    except (SyntaxError, ValueError):
        code = None
    REMOTE = remote = Remote(requests, replies)
    try:
        ready = remote.receive()
        if type(ready) is not tuple or len(ready) != 2 or type(ready[1]) is not dict:
            raise ProgramEnded()
        if code is None or (ready[0] == "error" and ready[1].get("syntax_error")):
            try:  # what the single-process program would have said of its text
                compile(combined, FILENAME, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as error:
                return {"completed": False, "judged": APART, "error": harness._describe(error, lines)}
        if ready[0] == "error":
            remote_exception(ready[1])  # checks it
            return {"completed": False, "judged": APART, "error": ready[1]}
        if code is None:
            return {"internal": "the tests compile only together with the program"}
        namespace = {"__name__": "__main__", "__builtins__": builtins, COMPARE_NAME: compare}
        for name, value in ready[1].items():
            if type(name) is str and name.isidentifier():
                namespace[name] = remote.value(value)
        sys.argv = [FILENAME]
        exec(code, namespace)
    except ProgramEnded:
        return {"completed": False, "judged": remote.judged, "ended": True}
    except BaseException as error:
        report = {"completed": False, "judged": remote.judged, "error": describe(error, lines)}
        if isinstance(error, AssertionError) and remote.compared is not None:
            report["error"]["compared"] = remote.compared
        return report
    return {"completed": True, "judged": remote.judged}


def warm_up():
    """Parse, rewrite and compile a test here, in the process children fork from (as
    ``harness.warm_up`` does for programs): children inherit the parser's and compiler's state."""
    test_code("def f(x):\n    return x\n", "assert f(1) == 1\nassert f([1]) != [2]\n")
    plain.marshal.loads(plain.marshal.dumps(("ok", [1, (2.0, "3")], None)))


def execute(source, tests, requests, replies, report_fd):
    """Judge, write the report on ``report_fd``, close the channel; never returns."""
    try:
        report = run(source, tests, requests, replies)
    except BaseException as error:  # a fault of the judge's own, never a verdict
        report = {"internal": "%s: %s" % (type(error).__name__, error)}
    try:
        os.close(requests)  # the program's process sees the end and exits
        data = json.dumps(report).encode()
        while data:
            data = data[os.write(report_fd, data) :]
    finally:
        os._exit(0)
