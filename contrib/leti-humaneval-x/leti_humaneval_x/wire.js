// The wire between a JavaScript judge and the program it judges (prepended to served.js and
// judge.js, which run as `node -e`): length-prefixed JSON on blocking pipes, and values as plain
// data. A value of a type the program made stays in the program's process: the other side gets
// a reference ({$: "f"} for a function, {$: "r"} for anything else).
"use strict";
const fs = require("fs");
const vm = require("vm");

function readExact(fd, size) {
  const buffer = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    let count;
    try {
      count = fs.readSync(fd, buffer, got, size - got, null);
    } catch (error) {
      if (error.code === "EAGAIN") continue;
      return null;
    }
    if (count === 0) return null;
    got += count;
  }
  return buffer;
}

function receive(fd) {
  const header = readExact(fd, 4);
  if (header === null) return null;
  const body = readExact(fd, header.readUInt32BE(0));
  if (body === null) return null;
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    return null;
  }
}

function send(fd, message) {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  const data = Buffer.alloc(4 + body.length);
  data.writeUInt32BE(body.length, 0);
  body.copy(data, 4);
  let sent = 0;
  while (sent < data.length) sent += fs.writeSync(fd, data, sent, data.length - sent);
}

// What both sides call a plain value; `reference(value)` makes the rest.
function encode(value, reference, depth = 0) {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") {
    return Number.isFinite(value) && !Object.is(value, -0) ? value : { $: "n", v: Object.is(value, -0) ? "-0" : String(value) };
  }
  if (value === undefined) return { $: "u" };
  if (typeof value === "bigint") return { $: "b", v: value.toString() };
  if (depth < 200 && typeof value === "object") {
    if (Array.isArray(value)) return { $: "a", v: Array.from(value, (item) => encode(item, reference, depth + 1)) };
    const prototype = Object.getPrototypeOf(value);
    if (prototype === Object.prototype || prototype === null) {
      const fields = {};
      for (const key of Object.keys(value)) fields[key] = encode(value[key], reference, depth + 1);
      return { $: "o", v: fields };
    }
    if (value instanceof Map) {
      return { $: "m", v: Array.from(value, ([key, item]) => [encode(key, reference, depth + 1), encode(item, reference, depth + 1)]) };
    }
    if (value instanceof Set) return { $: "s", v: Array.from(value, (item) => encode(item, reference, depth + 1)) };
    if (value instanceof Date) return { $: "d", v: value.getTime() };
  }
  return reference(value);
}

function decode(data, dereference) {
  if (data === null || typeof data !== "object") return data;
  switch (data.$) {
    case "u": return undefined;
    case "n": return data.v === "-0" ? -0 : Number(data.v);
    case "b": return BigInt(data.v);
    case "a": return data.v.map((item) => decode(item, dereference));
    case "o": {
      const value = {};
      for (const key of Object.keys(data.v)) value[key] = decode(data.v[key], dereference);
      return value;
    }
    case "m": return new Map(data.v.map(([key, item]) => [decode(key, dereference), decode(item, dereference)]));
    case "s": return new Set(data.v.map((item) => decode(item, dereference)));
    case "d": return new Date(data.v);
    case "f": case "r": return dereference(data);
    default: throw new TypeError("not a value on the wire");
  }
}

// A failed console.assert throws (node's own only prints a line): the test ends with its stack.
class AssertionError extends Error {
  constructor(message) {
    super(message);
    this.name = "AssertionError";
  }
}
console.assert = function assert(condition, ...data) {
  if (!condition) {
    const error = new AssertionError(data.length ? data.map(String).join(" ") : "Assertion failed");
    Error.captureStackTrace(error, assert);
    throw error;
  }
};

const MODULE_PARAMETERS = ["exports", "require", "module", "__filename", "__dirname"];
const PROGRAM_PATH = require("path").join(process.cwd(), "program.js");
