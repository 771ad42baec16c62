// The program's side of a judged run: program.js runs as a CommonJS module would, then this
// answers the judge's requests (look up a name, call a function, read a property) on fd 4, with
// replies on fd 3, until the judge closes the channel. The tests never enter this process.
const REQUESTS = 4, REPLIES = 3;
const objects = [];
const ids = new Map();

function reference(value) {
  let id = ids.get(value);
  if (id === undefined) {
    id = objects.length;
    objects.push(value);
    ids.set(value, id);
  }
  let name = "";
  try {
    name = typeof value === "function" ? value.name : (value && value.constructor && value.constructor.name) || "";
  } catch (error) {}
  return { $: typeof value === "function" ? "f" : "r", id, name: typeof name === "string" ? name : "" };
}

const plain = (value) => encode(value, reference);
const fromJudge = (data) => decode(data, (ref) => objects[ref.id]);

function describe(error) {
  if (error instanceof Error || (error && typeof error.stack === "string")) {
    return { name: String(error.name), message: String(error.message), stack: String(error.stack) };
  }
  return { name: "Error", message: String(error), stack: `Uncaught ${String(error)}` };
}

function answer(request) {
  const target = objects[request.id];
  if (request.op === "call" || request.op === "new") {
    const args = request.args.map(fromJudge);
    const result = request.op === "new" ? Reflect.construct(target, args) : Reflect.apply(target, undefined, args);
    // arrays and plain objects the function changed in place go back, so the judge sees them
    const back = args.map((arg) => (Array.isArray(arg) || (arg && Object.getPrototypeOf(arg) === Object.prototype) ? plain(arg) : null));
    return { ok: plain(result), back };
  }
  if (request.op === "get") return { ok: plain(target[request.key]) };
  if (request.op === "keys") return { ok: Object.keys(target) };
  throw new TypeError(`unknown request ${request.op}`);
}

let lookup = null;
let ready;
try {
  const source = fs.readFileSync(PROGRAM_PATH, "utf8");
  // the module's own scope, with a way to look its names up (after the program: its lines stay)
  const body = vm.compileFunction(`${source}\n;return (leti_name) => eval(leti_name);\n`, MODULE_PARAMETERS,
    { filename: PROGRAM_PATH });
  const exported = {};
  lookup = body.call(exported, exported, require, { exports: exported }, PROGRAM_PATH, process.cwd());
  ready = { ready: true };
} catch (error) {
  ready = { error: describe(error) };
}
send(REPLIES, ready);
while (lookup !== null) {
  const request = receive(REQUESTS);
  if (request === null) break;
  let reply;
  try {
    if (request.op === "name") {
      let value, found = true;
      try {
        value = lookup(request.name);
      } catch (error) {
        found = false;
      }
      reply = found ? { ok: plain(value) } : { absent: true };
    } else {
      reply = answer(request);
    }
  } catch (error) {
    reply = { throw: describe(error) };
  }
  send(REPLIES, reply);
}
process.exit(0);
