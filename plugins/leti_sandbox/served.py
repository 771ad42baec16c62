"""The program's side of a judged run (standard library only).

The program runs as ``__main__``; then its top-level names go to the judge, and it answers the
judge's requests (call this, get that attribute, iterate, compare two of your objects) until the
judge closes the channel. Everything it sends back is plain data (``plain.py``): a value of a
type the program made stays here, and the judge gets a reference to it. Nothing here decides a
verdict, and this process holds nothing the judge keeps secret: the tests never enter it.
"""

import importlib
import linecache
import operator
import os
import sys

try:
    from . import harness, plain
except ImportError:  # loaded by path inside the executor, which loaded these first
    harness, plain = sys.modules["leti_sandbox_harness"], sys.modules["leti_sandbox_plain"]

MAX_DEPTH = 200
MODULE = type(sys)
# Subclasses of plain types cross as their plain value (a str subclass as its text, a dict
# subclass as a dict); the conversion runs the program's code, but all it can yield is plain data.
BASES = (
    (str, str.__str__),
    (int, int.__int__),
    (float, float.__float__),
    (bytes, bytes),
    (complex, complex),
    (tuple, tuple),
    (list, list),
    (dict, dict),
    (set, set),
    (frozenset, frozenset),
)
OPERATIONS = {
    "iter": iter,
    "next": next,
    "len": len,
    "bool": bool,
    "repr": repr,
    "str": str,
    "float": float,
    "int": int,
    "index": operator.index,
    "neg": operator.neg,
    "pos": operator.pos,
    "abs": abs,
    "round": round,
    "getitem": operator.getitem,
    "setitem": operator.setitem,
    "delitem": operator.delitem,
    "contains": operator.contains,
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
}


class Server:
    """The program's objects the judge holds references to, and the answers to its requests."""

    def __init__(self, requests, replies, lines):
        self.requests, self.replies, self.lines = requests, replies, lines
        self.extra_depth = 0  # frames between a call from the judge and where the program's module ran
        self.value_types = None  # standard types the judge rebuilds by value, looked up once the program ran
        self.objects = []  # reference id -> object (kept alive while the judge may use it)
        self.ids = {}  # id(object) -> reference id

    def ref(self, value):
        key = id(value)
        number = self.ids.get(key)
        if number is None:
            number = self.ids[key] = len(self.objects)
            self.objects.append(value)
        if type(value) is MODULE:
            return (plain.REF, "module", getattr(value, "__name__", ""), number)
        return (plain.REF, "obj", number, _type_name(value))

    def plain(self, value, depth=0):
        kind = type(value)
        if kind in plain.SCALARS:
            return value
        if self.value_types is None:
            self.value_types = _value_types()
        if depth > MAX_DEPTH:
            return self.ref(value)
        depth += 1
        if kind is list:
            return [self.plain(item, depth) for item in value]
        if kind is tuple:
            return tuple([self.plain(item, depth) for item in value])
        if kind is dict:
            return {self.plain(key, depth): self.plain(item, depth) for key, item in value.items()}
        if kind is set or kind is frozenset:
            return kind([self.plain(item, depth) for item in value])
        kind_name = self.value_types.get(kind)
        if kind_name is not None or (isinstance(value, tuple) and _is_namedtuple(kind)):
            try:
                return (plain.REF, "value", kind_name or "namedtuple", self.plain(_payload(kind_name, value), depth))
            except BaseException:
                return self.ref(value)
        for base, convert in BASES:
            if isinstance(value, base):
                try:
                    converted = convert(value)
                except BaseException:
                    break
                if type(converted) is base:
                    return self.plain(converted, depth)
                break
        return self.ref(value)

    def resolve(self, value):
        """Arguments from the judge: plain data, with references back to our own objects."""
        kind = type(value)
        if kind is tuple and len(value) == 3 and value[0] == plain.REF:
            return self.objects[value[2]]
        if kind is tuple and len(value) == 4 and value[0] == plain.REF and value[1] == "global":
            found = importlib.import_module(value[2])
            for part in value[3].split("."):
                found = getattr(found, part)
            return found
        if kind is list:
            return [self.resolve(item) for item in value]
        if kind is tuple:
            return tuple([self.resolve(item) for item in value])
        if kind is dict:
            return {self.resolve(key): self.resolve(item) for key, item in value.items()}
        if kind is set or kind is frozenset:
            return kind([self.resolve(item) for item in value])
        return value

    def answer(self, request):
        what = request[0]
        target = self.objects[request[1]]
        if what == "call":
            args, kwargs = self.resolve(request[2]), self.resolve(request[3])
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(limit + self.extra_depth)  # as deep as when called from the program's module
            try:
                result = target(*args, **kwargs)
            finally:
                sys.setrecursionlimit(limit)
            # arguments the function may have changed in place go back, so the judge sees them
            back = [self.plain(arg) if type(arg) in (list, dict, set) else None for arg in args]
            return ("ok", self.plain(result), back)
        if what == "getattr":
            return ("ok", self.plain(getattr(target, request[2])), None)
        if what == "setattr":
            setattr(target, request[2], self.resolve(request[3]))
            return ("ok", None, None)
        result = OPERATIONS[what](target, *self.resolve(request[2]))
        return ("ok", self.plain(result), None)

    def serve(self, module_depth):
        self.extra_depth = _depth() + 1 - module_depth  # answer() is one frame below serve()
        while True:
            try:
                request = plain.receive(self.requests)
            except plain.Closed:
                return
            try:
                reply = self.answer(request)
            except StopIteration:
                reply = ("stop",)
            except BaseException as error:
                reply = ("raise", _describe(error, self.lines))
            plain.send(self.replies, reply)


def _is_namedtuple(kind):
    fields = getattr(kind, "_fields", None)
    return type(fields) is tuple and all(type(field) is str for field in fields)


def _payload(kind_name, value):
    """What the judge rebuilds a value of a standard type from, with its own copy of the type."""
    if kind_name is None:  # a namedtuple
        return (_type_name(value), tuple(type(value)._fields), tuple(value))
    if kind_name == "deque":
        return (list(value), value.maxlen)
    if kind_name == "defaultdict":
        factory = value.default_factory
        return (factory.__name__ if factory in (int, list, set, dict, str, float, tuple) else None, dict(value))
    if kind_name == "Counter":
        return dict(value)
    if kind_name == "OrderedDict":
        return list(value.items())
    if kind_name == "Decimal":
        return str(value)
    return (value.numerator, value.denominator)  # Fraction


def _value_types():
    import collections

    types = {
        collections.deque: "deque",
        collections.defaultdict: "defaultdict",
        collections.Counter: "Counter",
        collections.OrderedDict: "OrderedDict",
    }
    for module, name in (("decimal", "Decimal"), ("fractions", "Fraction")):
        found = sys.modules.get(module)  # only when the program imported it
        if found is not None:
            types[getattr(found, name)] = name
    return types


def _depth():
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _type_name(value):
    try:
        name = type(value).__name__
    except BaseException:
        name = ""
    return name if type(name) is str and name.isidentifier() else "object"


def _describe(error, lines):
    try:
        return harness._describe(error, lines)
    except BaseException:
        return {"type": "Exception", "message": "", "frames": []}


def execute(source, requests, replies):
    """Run ``source`` as ``__main__``, send its names (or how it failed), serve; never returns."""
    lines = source.splitlines(True)
    linecache.cache[harness.FILENAME] = (len(source), None, lines, harness.FILENAME)
    server = Server(requests, replies, lines)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        code = compile(source, harness.FILENAME, "exec", dont_inherit=True)
        sys.argv = [harness.FILENAME]
        module_depth = _depth() + 1  # the program's module frame
        exec(code, namespace)
        names = {name: server.plain(value) for name, value in list(namespace.items()) if not name.startswith("__")}
        message = ("ready", names)
    except BaseException as error:  # SystemExit and KeyboardInterrupt are failures too
        message = ("error", _describe(error, lines))
    try:
        plain.send(replies, message)
        if message[0] == "ready":
            server.serve(module_depth)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(0)  # skip atexit handlers and threads the program left behind
