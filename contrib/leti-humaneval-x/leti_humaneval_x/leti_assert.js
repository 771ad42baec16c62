// Loaded before every program (node --require): a failed console.assert throws, so it ends the
// program with its stack, as an assert does in Python. Node's own only prints a line.
"use strict";
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
