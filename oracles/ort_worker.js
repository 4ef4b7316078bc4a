// ONNX Runtime worker for onnxfuzz: runs models from framed stdin requests, answers on stdout.
//
// The wire format is specified in oracles/worker_protocol.h. stdout carries protocol frames
// only; anything for humans goes to stderr, which the parent keeps as crash evidence.
// Usage: node ort_worker.js --opt all|extended|basic|disabled [--module DIR]
// DIR is the onnxruntime-node package to load (default: the project's pinned one). It is loaded
// with require(): releases before 1.16 have no ES-module entry.
'use strict';

const path = require('path');

let ort;
let ortVersion;

const REQUEST_RUN = 1;
const REQUEST_VERSION = 2;
const REQUEST_DTYPES = 3;
const RESPONSE_OK = 0;
const RESPONSE_ERROR = 1;
const MAX_FRAME_BYTES = 2 ** 30;

// ONNX TensorProto element type codes <-> onnxruntime-node tensor types: every dtype of the
// onnxfuzz dtype table (generators/dtype.h) is in exactly one of these two tables, and the
// worker reports both on a dtypes request (tests compare that report with the table).
// float16 travels as its IEEE bits in a Uint16Array, which ort.Tensor accepts whether or not
// the runtime has Float16Array; int64/uint64 as BigInt64Array/BigUint64Array.
const ELEM_TYPES = {
  1: { name: 'float32', array: Float32Array },
  2: { name: 'uint8', array: Uint8Array },
  3: { name: 'int8', array: Int8Array },
  4: { name: 'uint16', array: Uint16Array },
  5: { name: 'int16', array: Int16Array },
  6: { name: 'int32', array: Int32Array },
  7: { name: 'int64', array: BigInt64Array },
  9: { name: 'bool', array: Uint8Array },
  10: { name: 'float16', array: Uint16Array },
  11: { name: 'float64', array: Float64Array },
  12: { name: 'uint32', array: Uint32Array },
  13: { name: 'uint64', array: BigUint64Array },
};
const NOT_CARRIED = {
  16: "onnxruntime-common's Tensor.Type has no 'bfloat16' (checked up to 1.30.0): a bfloat16 "
    + 'graph input cannot be fed nor an output fetched, and onnxruntime-node 1.30.0 throws '
    + "'Unsupported data type: 16' uncaught from session creation, killing the worker",
};
const ELEM_CODE_BY_NAME = Object.fromEntries(
  Object.entries(ELEM_TYPES).map(([code, t]) => [t.name, Number(code)]));

// Older releases lack some tensor types (1.14.0's Tensor has no float16): a type the loaded
// release's Tensor refuses moves from ELEM_TYPES to NOT_CARRIED, with its own words.
function dropUnsupportedTypes() {
  for (const [code, type] of Object.entries(ELEM_TYPES)) {
    try {
      new ort.Tensor(type.name, new type.array(0), [0]);
    } catch (err) {
      NOT_CARRIED[code] = `onnxruntime-node ${ortVersion}'s Tensor refuses '${type.name}': `
        + (err && err.message ? err.message : String(err));
      delete ELEM_TYPES[code];
    }
  }
}

function dtypesAnswer() {
  return JSON.stringify({
    carried: Object.keys(ELEM_TYPES).map(Number),
    not_carried: Object.entries(NOT_CARRIED)
      .map(([code, reason]) => ({ elem_type: Number(code), reason })),
  });
}

const OPT_LEVELS = ['disabled', 'basic', 'extended', 'all'];

function parseArgs(argv) {
  let opt = 'all';
  let module = 'onnxruntime-node';
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--opt' && i + 1 < argv.length) {
      opt = argv[++i];
    } else if (argv[i] === '--module' && i + 1 < argv.length) {
      module = path.resolve(argv[++i]);
    } else {
      throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!OPT_LEVELS.includes(opt)) throw new Error(`--opt must be one of ${OPT_LEVELS}, not ${opt}`);
  return { opt, module };
}

// A bounds-checked reader over one request payload.
class Reader {
  constructor(buf) {
    this.buf = buf;
    this.pos = 0;
  }
  need(n, what) {
    if (this.buf.length - this.pos < n) throw new Error(`truncated request: ${what}`);
  }
  u32(what) {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(what) {
    this.need(4, what);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i64(what) {
    this.need(8, what);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(n, what) {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

function readTensor(r) {
  const name = r.bytes(r.u32('name length'), 'name').toString('utf8');
  const code = r.i32('elem_type');
  const type = ELEM_TYPES[code];
  if (!type) throw new Error(`input '${name}': unsupported elem_type ${code}`);
  const rank = r.u32('rank');
  if (rank > 64) throw new Error(`input '${name}': rank ${rank} too large`);
  const dims = [];
  for (let i = 0; i < rank; ++i) dims.push(Number(r.i64('dims')));
  const byteLength = r.i64('byte_length');
  if (byteLength < 0n || byteLength > BigInt(r.buf.length)) {
    throw new Error(`input '${name}': bad byte_length ${byteLength}`);
  }
  const raw = r.bytes(Number(byteLength), 'data');
  if (raw.length % type.array.BYTES_PER_ELEMENT !== 0) {
    throw new Error(`input '${name}': ${raw.length} bytes is not a whole number of ${type.name}`);
  }
  // Copy into a fresh buffer: typed arrays need alignment the frame offset cannot promise.
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  const data = new type.array(copy.buffer, 0, raw.length / type.array.BYTES_PER_ELEMENT);
  return { name, tensor: new ort.Tensor(type.name, data, dims) };
}

function u32(v) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

function textResponse(status, text) {
  const t = Buffer.from(String(text), 'utf8');
  return Buffer.concat([u32(status), u32(t.length), t]);
}

function tensorRecord(name, tensor) {
  const code = ELEM_CODE_BY_NAME[tensor.type];
  if (code === undefined) throw new Error(`output '${name}': unsupported type ${tensor.type}`);
  const nameBytes = Buffer.from(name, 'utf8');
  const header = Buffer.alloc(4 + nameBytes.length + 4 + 4 + 8 * tensor.dims.length + 8);
  let pos = 0;
  pos = header.writeUInt32LE(nameBytes.length, pos);
  pos += nameBytes.copy(header, pos);
  pos = header.writeInt32LE(code, pos);
  pos = header.writeUInt32LE(tensor.dims.length, pos);
  for (const d of tensor.dims) pos = header.writeBigInt64LE(BigInt(d), pos);
  const data = tensor.data;
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  header.writeBigUInt64LE(BigInt(raw.length), pos);
  return [header, raw];
}

async function run(request, opt) {
  const r = new Reader(request);
  const model = r.bytes(r.u32('model length'), 'model');
  const count = r.u32('input count');
  const feeds = {};
  for (let i = 0; i < count; ++i) {
    const { name, tensor } = readTensor(r);
    feeds[name] = tensor;
  }
  if (r.pos !== request.length) throw new Error(`${request.length - r.pos} trailing request bytes`);

  // One thread and sequential execution: results must not depend on scheduling, and the
  // fuzzer runs several workers side by side.
  const session = await ort.InferenceSession.create(new Uint8Array(model), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opt,
    logSeverityLevel: 3,
  });
  try {
    const results = await session.run(feeds);
    const parts = [u32(RESPONSE_OK), u32(session.outputNames.length)];
    for (const name of session.outputNames) {
      const tensor = results[name];
      if (tensor === undefined) throw new Error(`output '${name}' missing from the run results`);
      parts.push(...tensorRecord(name, tensor));
    }
    return parts;
  } finally {
    // A failing release must not hide the run's own error.
    // Releases before 1.16 have no release(); their sessions are freed by the GC.
    if (typeof session.release === 'function') {
      await session.release().catch((err) => process.stderr.write(`ort_worker: release: ${err}\n`));
    }
  }
}

async function handle(request, opt) {
  try {
    if (request.length < 4) throw new Error('truncated request: kind');
    const kind = request.readUInt32LE(0);
    if (kind === REQUEST_VERSION) return [textResponse(RESPONSE_OK, `onnxruntime-node ${ortVersion}`)];
    if (kind === REQUEST_DTYPES) return [textResponse(RESPONSE_OK, dtypesAnswer())];
    if (kind === REQUEST_RUN) return await run(request.subarray(4), opt);
    throw new Error(`unknown request kind ${kind}`);
  } catch (err) {
    const message = err && err.message ? err.message : String(err);
    return [textResponse(RESPONSE_ERROR, message)];
  }
}

// Writes all parts of one frame, waiting for 'drain' when the pipe is full so large outputs
// are neither buffered without bound nor interleaved.
async function writeFrame(parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  if (length > MAX_FRAME_BYTES) {
    parts = [textResponse(RESPONSE_ERROR, `response of ${length} bytes exceeds the frame limit`)];
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  for (const part of [u32(total), ...parts]) {
    if (!process.stdout.write(part)) {
      await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
  }
}

async function main() {
  let opt;
  let module;
  try {
    ({ opt, module } = parseArgs(process.argv.slice(2)));
  } catch (err) {
    process.stderr.write(`ort_worker: ${err.message}\n`);
    process.exit(2);
  }
  ort = require(module);
  ortVersion = require(path.join(module, 'package.json')).version;
  // Warnings go to stderr, which is kept as crash evidence; only errors are worth its space.
  if (ort.env) ort.env.logLevel = 'error';
  dropUnsupportedTypes();

  // Frames are cut out of a list of stdin chunks; a frame may span many chunks.
  let chunks = [];
  let buffered = 0;
  let busy = false;
  let ended = false;

  function takeFrame() {
    if (buffered < 4) return null;
    let all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
    chunks = [all];
    const length = all.readUInt32LE(0);
    if (length > MAX_FRAME_BYTES) {
      process.stderr.write(`ort_worker: request frame of ${length} bytes exceeds the limit\n`);
      process.exit(3);
    }
    if (buffered < 4 + length) return null;
    const payload = all.subarray(4, 4 + length);
    const rest = all.subarray(4 + length);
    chunks = rest.length > 0 ? [rest] : [];
    buffered = rest.length;
    return payload;
  }

  async function pump() {
    if (busy) return;
    busy = true;
    try {
      for (let frame = takeFrame(); frame !== null; frame = takeFrame()) {
        await writeFrame(await handle(frame, opt));
      }
    } finally {
      busy = false;
    }
    if (ended) process.exit(0);
  }

  process.stdin.on('data', (chunk) => {
    chunks.push(chunk);
    buffered += chunk.length;
    // Concatenating on every chunk of a large request would be quadratic; wait for the
    // whole frame when its length is already known.
    if (chunks.length > 1 && buffered >= 4) {
      const first = chunks[0].length >= 4 ? chunks[0] : Buffer.concat(chunks, buffered);
      if (buffered < 4 + first.readUInt32LE(0)) return;
    }
    pump().catch((err) => {
      process.stderr.write(`ort_worker: ${err && err.stack ? err.stack : err}\n`);
      process.exit(4);
    });
  });
  process.stdin.on('end', () => {
    ended = true;
    if (!busy) process.exit(0);
  });
}

main();
