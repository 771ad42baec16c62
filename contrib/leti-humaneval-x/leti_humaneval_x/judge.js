// The judge of a JavaScript program: runs its tests here, apart from the program's process.
// The tests arrive on stdin; the names they use that the program defines are bound to
// references, and calling one sends plain data to the program and gets plain data back. Every
// comparison the tests make is between values this process built. The report (JSON on fd 3)
// carries the uncaught error's stack as node would print it: the program's frames from its side,
// then the tests' frames from here.
const REPORT = 3, REQUESTS = 4, REPLIES = 5;
const ENDED = Symbol("the program's process ended");
const KEYWORDS = new Set(("break case catch class const continue debugger default delete do else export extends " +
  "false finally for function if import in instanceof let new null return super switch this throw true try typeof " +
  "var void while with yield await async of static get set undefined arguments eval").split(" "));
const handles = new Map();

function request(message) {
  try {
    send(REQUESTS, message);
  } catch (error) {
    throw ENDED;
  }
  const reply = receive(REPLIES);
  if (reply === null || typeof reply !== "object") throw ENDED;
  if (reply.throw) throw rebuilt(reply.throw);
  return reply;
}

function rebuilt(info) {
  if (!info || typeof info.stack !== "string") throw ENDED;
  const known = { Error, TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError };
  const error = new (known[info.name] || Error)(String(info.message));
  if (!known[info.name]) error.name = String(info.name);
  error.remoteStack = info.stack;
  return error;
}

function value(data) {
  try {
    return decode(data, handle);
  } catch (error) {
    throw ENDED;  // not what the program's side sends: it wrote on the channel itself
  }
}

function handle(ref) {
  if (typeof ref.id !== "number") throw ENDED;
  if (!handles.has(ref.id)) {
    const id = ref.id;
    const target = ref.$ === "f" ? function () {} : {};
    if (ref.$ === "f") Object.defineProperty(target, "name", { value: String(ref.name) });
    handles.set(id, new Proxy(target, {
      apply: (_, __, args) => call("call", id, args),
      construct: (_, args) => call("new", id, args),
      get: (_, key) => (typeof key === "string" ? value(request({ op: "get", id, key }).ok) : undefined),
      ownKeys: () => value({ $: "a", v: request({ op: "keys", id }).ok }).concat(ref.$ === "f" ? ["prototype"] : []),
      getOwnPropertyDescriptor: (_, key) => (typeof key === "string" && key !== "prototype"
        ? { value: value(request({ op: "get", id, key }).ok), writable: true, enumerable: true, configurable: true }
        : Reflect.getOwnPropertyDescriptor(target, key)),
    }));
  }
  return handles.get(ref.id);
}

function toProgram(item) {
  return encode(item, (other) => {
    for (const [id, proxy] of handles) if (proxy === other) return { $: typeof other === "function" ? "f" : "r", id };
    throw new TypeError(`the test gave the program a ${typeof other}: only plain data and the program's own objects cross to it`);
  });
}

function call(op, id, args) {
  const reply = request({ op, id, args: args.map(toProgram) });
  if (Array.isArray(reply.back)) {
    reply.back.forEach((changed, index) => {
      const original = args[index];
      if (changed === null || original === null || typeof original !== "object") return;
      const now = value(changed);
      if (Array.isArray(original) && Array.isArray(now)) original.splice(0, original.length, ...now);
      else if (!Array.isArray(original) && !Array.isArray(now) && now && typeof now === "object") {
        for (const key of Object.keys(original)) delete original[key];
        Object.assign(original, now);
      }
    });
  }
  return value(reply.ok);
}

function stackOf(error) {
  if (error && error.remoteStack !== undefined) {  // the program's frames, then where the tests called it
    const here = String(error.stack).split("\n").slice(1).join("\n");
    return `${error.remoteStack}\n${here}`;
  }
  return error && error.stack !== undefined ? String(error.stack) : `Uncaught ${String(error)}`;
}

function report(message) {
  const data = Buffer.from(JSON.stringify(message), "utf8");
  let sent = 0;
  while (sent < data.length) sent += fs.writeSync(REPORT, data, sent, data.length - sent);
}

function judge(job) {
  const combined = `${job.source}\n${job.tests}\n`;
  const first = receive(REPLIES);
  if (first === null || typeof first !== "object") return { completed: false, judged: "apart", ended: true };
  let tests = null;
  const bound = new Map();  // the names the tests use that the program defines
  try {
    if (first.ready) {
      for (const name of new Set(job.tests.match(/[A-Za-z_$][\w$]*/g) || [])) {
        if (KEYWORDS.has(name) || name in globalThis) continue;
        const reply = request({ op: "name", name });
        if (!reply.absent) bound.set(name, value(reply.ok));
      }
      tests = vm.compileFunction(job.tests, [...MODULE_PARAMETERS, ...bound.keys()],
        { filename: PROGRAM_PATH, lineOffset: job.source.split("\n").length });
    }
  } catch (error) {
    if (error === ENDED) return { completed: false, judged: "apart", ended: true };
  }
  if (tests === null) {  // the program (or the tests with it) does not compile: say it as node would
    try {
      vm.compileFunction(combined, MODULE_PARAMETERS, { filename: PROGRAM_PATH });
    } catch (error) {
      return { completed: false, judged: "apart", error: { type: error.name, message: error.message, text: String(error.stack) } };
    }
    if (first.error) {
      const error = rebuilt(first.error);
      return { completed: false, judged: "apart", error: { type: error.name, message: error.message, text: first.error.stack } };
    }
    return { internal: "the tests compile only together with the program" };
  }
  try {
    const exported = {};
    tests.call(exported, exported, require, { exports: exported }, PROGRAM_PATH, process.cwd(), ...bound.values());
  } catch (error) {
    if (error === ENDED) return { completed: false, judged: "apart", ended: true };
    return { completed: false, judged: "apart", error: { type: String(error && error.name), message: String(error && error.message), text: stackOf(error) } };
  }
  return { completed: true, judged: "apart" };
}

let outcome;
try {
  const job = JSON.parse(fs.readFileSync(0, "utf8"));
  outcome = judge(job);
} catch (error) {
  outcome = error === ENDED ? { completed: false, judged: "apart", ended: true } : { internal: String(error && error.stack) };
}
fs.closeSync(REQUESTS);
report(outcome);
process.exit(0);
