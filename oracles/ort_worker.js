// ONNX Runtime worker for onnxfuzz: runs models from framed stdin requests, answers on stdout.
//
// The wire format is specified in oracles/worker_protocol.h. stdout carries protocol frames
// only; anything for humans goes to stderr, which the parent keeps as crash evidence.
// Usage: node ort_worker.js [--backend node|web] --opt all|extended|basic|disabled [--module DIR]
//                           [--disable-optimizers NAME,...]
// --backend node (default) runs onnxruntime-node's native CPU build; --backend web runs
// onnxruntime-web's WebAssembly CPU build ('wasm' execution provider, one thread) in Node.
// DIR is the package to load (default: the project's pinned one of the backend). It is loaded
// with require(): releases before 1.16 have no ES-module entry.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

let ort;
let ortVersion;
let backend = 'node';
let disabledOptimizers = '';  // ORT graph transformers turned off by name (comma-separated)

const REQUEST_RUN = 1;
const REQUEST_VERSION = 2;
const REQUEST_DTYPES = 3;
const REQUEST_OPTIMIZE = 4;
// A run in a variant of this worker's session options (optimizer attribution): a JSON text
// {"level": "disabled"|..., "disable": ["NameA", "NameB"]} before the run payload.
const REQUEST_RUN_VARIANT = 5;
const RESPONSE_OK = 0;
const RESPONSE_ERROR = 1;
const MAX_FRAME_BYTES = 2 ** 30;
// Request frames up to this size are read into one buffer the worker keeps (see FrameReader).
const KEPT_FRAME_BYTES = 16 << 20;
// Frames up to this size are copied into one buffer and written at once (see writeFrame).
const SINGLE_WRITE_BYTES = 1 << 20;
let wasmTypesChecked = false;

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

// Protobuf encoding of the smallest model that carries one element type in and out
// (Identity, opset 17, shape [1]): the web backend's dtypes answer is measured with it.
function varint(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return Buffer.from(out);
}
function field(number, payload) {
  if (typeof payload === 'number') return Buffer.concat([varint(number << 3), varint(payload)]);
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}
function identityModel(elemType) {
  const valueInfo = (name) => Buffer.concat([
    field(1, name),
    field(2, field(1, Buffer.concat([field(1, elemType), field(2, field(1, field(1, 1)))]))),
  ]);
  const node = Buffer.concat([field(1, 'x'), field(2, 'y'), field(4, 'Identity')]);
  const graph = Buffer.concat([field(1, node), field(2, 'dtype_probe'), field(11, valueInfo('x')),
    field(12, valueInfo('y'))]);
  return Buffer.concat([field(1, 8), field(7, graph), field(8, Buffer.concat([field(1, ''),
    field(2, 17)]))]);
}

// The web build's wasm side maps JS tensor types to its own: a type whose Identity round trip
// fails there moves to NOT_CARRIED with the error, so the report is measured, not assumed.
async function dropUncarriedWasmTypes() {
  for (const [code, type] of Object.entries(ELEM_TYPES)) {
    try {
      const session = await ort.InferenceSession.create(identityModel(Number(code)),
        sessionOptions('disabled'));
      const x = new ort.Tensor(type.name, new type.array(1), [1]);
      const y = (await session.run({ x })).y;
      await session.release();
      if (!y || y.type !== type.name) throw new Error(`Identity returned ${y ? y.type : 'nothing'}`);
    } catch (err) {
      NOT_CARRIED[code] = `onnxruntime-web ${ortVersion} (wasm) cannot carry '${type.name}': `
        + (err && err.message ? err.message : String(err));
      delete ELEM_TYPES[code];
    }
  }
}

const OPT_LEVELS = ['disabled', 'basic', 'extended', 'all'];
const BACKENDS = {
  node: { package: 'onnxruntime-node' },
  web: { package: 'onnxruntime-web' },
};

function parseArgs(argv) {
  let opt = 'all';
  let module = null;
  let which = 'node';
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--opt' && i + 1 < argv.length) {
      opt = argv[++i];
    } else if (argv[i] === '--module' && i + 1 < argv.length) {
      module = path.resolve(argv[++i]);
    } else if (argv[i] === '--backend' && i + 1 < argv.length) {
      which = argv[++i];
    } else if (argv[i] === '--disable-optimizers' && i + 1 < argv.length) {
      disabledOptimizers = argv[++i];
    } else {
      throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!OPT_LEVELS.includes(opt)) throw new Error(`--opt must be one of ${OPT_LEVELS}, not ${opt}`);
  if (!BACKENDS[which]) {
    throw new Error(`--backend must be one of ${Object.keys(BACKENDS)}, not ${which}`);
  }
  if (module === null) module = path.join(__dirname, '..', 'node_modules', BACKENDS[which].package);
  return { opt, module, backend: which };
}

// The session options of a level and a list of disabled optimizers, made once (ORT reads them
// and keeps nothing of the object).
const sessionOptionsCache = new Map();
function sessionOptions(opt, alsoDisabled = '') {
  const key = `${opt}|${alsoDisabled}`;
  let options = sessionOptionsCache.get(key);
  if (options === undefined) {
    options = makeSessionOptions(opt, alsoDisabled);
    sessionOptionsCache.set(key, options);
  }
  return options;
}
// One thread and sequential execution: results must not depend on scheduling, and the
// fuzzer runs several workers side by side. The web build takes its thread count from
// ort.env.wasm.numThreads (set in main) and runs on its 'wasm' CPU provider only.
function makeSessionOptions(opt, alsoDisabled) {
  const options = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opt,
    logSeverityLevel: 3,
  };
  if (backend === 'web') options.executionProviders = ['wasm'];
  // ORT reads the names separated by ';' and ignores names it does not know; ours come
  // comma-separated.
  const disabled = [disabledOptimizers, alsoDisabled].join(',').split(',')
    .filter((name) => name !== '').join(';');
  if (disabled !== '') {
    options.extra = { optimization: { disable_specified_optimizers: disabled } };
  }
  return options;
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
  // Copied into a fresh buffer, aligned as a user's typed array is: a typed array needs its
  // element alignment, which the frame offset does not promise, and even an element-aligned view
  // of the request can change results: ORT's vectorized kernels may take other paths for
  // inputs off a 16-byte boundary (with views, 4 of 1,803 models of a campaign gave float
  // outputs that differ in their last bits on 1.30.0).
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  const data = new type.array(copy.buffer, 0, raw.length / type.array.BYTES_PER_ELEMENT);
  return { name, tensor: new ort.Tensor(type.name, data, dims) };
}

function u32(v) {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v);
  return b;
}

function textResponse(status, text) {
  return binaryResponse(status, Buffer.from(String(text), 'utf8'));
}

function binaryResponse(status, bytes) {
  return Buffer.concat([u32(status), u32(bytes.length), bytes]);
}

function tensorRecord(name, tensor) {
  const code = ELEM_CODE_BY_NAME[tensor.type];
  if (code === undefined) throw new Error(`output '${name}': unsupported type ${tensor.type}`);
  const nameBytes = Buffer.from(name, 'utf8');
  const header = Buffer.allocUnsafe(4 + nameBytes.length + 4 + 4 + 8 * tensor.dims.length + 8);
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

async function run(request, opt, alsoDisabled = '') {
  const r = new Reader(request);
  const model = r.bytes(r.u32('model length'), 'model');
  const count = r.u32('input count');
  const feeds = {};
  for (let i = 0; i < count; ++i) {
    const { name, tensor } = readTensor(r);
    feeds[name] = tensor;
  }
  if (r.pos !== request.length) throw new Error(`${request.length - r.pos} trailing request bytes`);

  // A view of the request: ORT reads the model from its offset within the buffer.
  const session = await ort.InferenceSession.create(model, sessionOptions(opt, alsoDisabled));
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

// Scratch directory for optimized models, made on first use and removed on exit.
let scratch = null;
let optimizedCount = 0;

// The model as ORT's graph optimizer at level `opt` rewrites it, written through the
// optimizedModelFilePath session option and answered as the serialized ModelProto.
async function optimize(request, opt) {
  if (backend !== 'node') throw new Error(`the ${backend} backend cannot write optimized models`);
  const r = new Reader(request);
  const model = r.bytes(r.u32('model length'), 'model');
  if (r.pos !== request.length) throw new Error(`${request.length - r.pos} trailing request bytes`);
  if (scratch === null) {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxfuzz-optimized-'));
    process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));
  }
  const file = path.join(scratch, `optimized-${optimizedCount++}.onnx`);
  try {
    const session = await ort.InferenceSession.create(new Uint8Array(model),
      { ...sessionOptions(opt), optimizedModelFilePath: file });
    if (typeof session.release === 'function') await session.release();
    return [binaryResponse(RESPONSE_OK, fs.readFileSync(file))];
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function versionText() {
  return backend === 'web' ? `onnxruntime-web ${ortVersion} (wasm)` : `onnxruntime-node ${ortVersion}`;
}

async function handle(request, opt) {
  try {
    if (request.length < 4) throw new Error('truncated request: kind');
    const kind = request.readUInt32LE(0);
    if (kind === REQUEST_VERSION) return [textResponse(RESPONSE_OK, versionText())];
    if (kind === REQUEST_DTYPES) {
      if (backend === 'web' && !wasmTypesChecked) {
        await dropUncarriedWasmTypes();
        wasmTypesChecked = true;
      }
      return [textResponse(RESPONSE_OK, dtypesAnswer())];
    }
    if (kind === REQUEST_RUN) return await run(request.subarray(4), opt);
    if (kind === REQUEST_OPTIMIZE) return await optimize(request.subarray(4), opt);
    if (kind === REQUEST_RUN_VARIANT) {
      const r = new Reader(request.subarray(4));
      const variant = JSON.parse(r.bytes(r.u32('variant length'), 'variant').toString('utf8'));
      const level = variant.level === undefined ? opt : variant.level;
      if (!OPT_LEVELS.includes(level)) throw new Error(`unknown optimization level ${level}`);
      return await run(request.subarray(4 + r.pos), level, (variant.disable || []).join(','));
    }
    throw new Error(`unknown request kind ${kind}`);
  } catch (err) {
    const message = err && err.message ? err.message : String(err);
    if (backend === 'web' && err instanceof WebAssembly.RuntimeError) {
      // A trap (out-of-bounds access, unreachable, abort()) is the wasm build's segfault or
      // abort, and leaves its one module instance in an unknown state: end the worker
      // unanswered, so that this model is the crash and the next one gets a fresh worker.
      process.stderr.write(`ort_worker: WebAssembly trap: ${err.stack || message}\n`);
      process.exit(70);
    }
    return [textResponse(RESPONSE_ERROR, message)];
  }
}

// Writes all parts of one frame with blocking writes on fd 1: a small frame in one write (one
// syscall, and the parent wakes once to read it), a large one part by part, never copied whole.
function writeFrame(parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  if (length > MAX_FRAME_BYTES) {
    parts = [textResponse(RESPONSE_ERROR, `response of ${length} bytes exceeds the frame limit`)];
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  if (total <= SINGLE_WRITE_BYTES) parts = [Buffer.concat([u32(total), ...parts], 4 + total)];
  else parts = [u32(total), ...parts];
  for (const part of parts) {
    let done = 0;
    while (done < part.length) {
      done += retrying(() => fs.writeSync(1, part, done, part.length - done));
    }
  }
}

async function main() {
  let opt;
  let module;
  try {
    ({ opt, module, backend } = parseArgs(process.argv.slice(2)));
  } catch (err) {
    process.stderr.write(`ort_worker: ${err.message}\n`);
    process.exit(2);
  }
  // onnxruntime-node 1.29.0 and later record telemetry on Linux (unless they see a CI service's
  // variable): each session creation is written to an SQLite database under $XDG_CACHE_HOME
  // (else ~/.cache)/Microsoft/DeveloperTools, with fsync, by a background thread. For a fuzzer
  // that creates a session per model this took 15-35% of the worker's time and a second core's
  // tenth, made parallel jobs contend for one file lock, and wrote the campaign to the user's
  // home. It changes no result; a user who wants it sets ORT_DISABLE_TELEMETRY=0 before
  // starting onnxfuzz.
  if (process.env.ORT_DISABLE_TELEMETRY === undefined) process.env.ORT_DISABLE_TELEMETRY = '1';
  ort = require(module);
  ortVersion = require(path.join(module, 'package.json')).version;
  // Warnings go to stderr, which is kept as crash evidence; only errors are worth its space.
  if (ort.env) ort.env.logLevel = 'error';
  if (backend === 'web') {
    // One wasm thread, in this thread (no proxy worker): like the native worker's single
    // intra-op thread, and the fuzzer runs several workers side by side.
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
  }
  dropUnsupportedTypes();

  // One request at a time, read and answered with blocking calls on fds 0 and 1: the worker
  // has nothing else to wait for, and the streams of process.stdin/stdout (events, chunk
  // buffers, a frame joined from chunks) cost it several percent of its time per model.
  // fd 0 stays as the parent made it (blocking) because process.stdin is never touched.
  const input = new FrameReader(0);
  for (let frame = input.next(); frame !== null; frame = input.next()) {
    writeFrame(await handle(frame, opt));
  }
  process.exit(0);
}

// A blocking fs call, again after EINTR, and after a millisecond's wait (no spinning) on
// EAGAIN: a descriptor that is non-blocking after all.
const pause = new Int32Array(new SharedArrayBuffer(4));
function retrying(call) {
  for (;;) {
    try {
      return call();
    } catch (err) {
      if (err.code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
      else if (err.code !== 'EINTR') throw err;
    }
  }
}

// Request frames read with fs.readSync into one buffer that grows to the largest frame. A
// payload is valid until the next call: the run copies what it keeps (inputs) and ORT has
// read the model by the time the session exists.
class FrameReader {
  constructor(fd) {
    this.fd = fd;
    this.buffer = Buffer.allocUnsafe(1 << 16);
  }
  // Fills buffer[0, n) from the descriptor; false at end of input before the first byte.
  fill(n) {
    let got = 0;
    while (got < n) {
      const count = retrying(() => fs.readSync(this.fd, this.buffer, got, n - got, null));
      if (count === 0) {
        if (got === 0) return false;
        process.stderr.write(`ort_worker: input ended inside a frame (${got} of ${n} bytes)\n`);
        process.exit(3);
      }
      got += count;
    }
    return true;
  }
  // The next request's payload, or null at the end of input.
  next() {
    if (!this.fill(4)) return null;
    const length = this.buffer.readUInt32LE(0);
    if (length > MAX_FRAME_BYTES) {
      process.stderr.write(`ort_worker: request frame of ${length} bytes exceeds the limit\n`);
      process.exit(3);
    }
    // A frame past KEPT_FRAME_BYTES gets a buffer of its own, dropped with it, so that one
    // large request does not stay in the worker's memory for the rest of its life.
    const kept = this.buffer;
    if (length > KEPT_FRAME_BYTES) {
      this.buffer = Buffer.allocUnsafe(length);
    } else if (this.buffer.length < length) {
      const grown = Math.max(length, 2 * this.buffer.length);
      this.buffer = Buffer.allocUnsafe(Math.min(KEPT_FRAME_BYTES, grown));
    }
    if (length > 0 && !this.fill(length)) {
      process.stderr.write('ort_worker: input ended after a frame header\n');
      process.exit(3);
    }
    const payload = this.buffer.subarray(0, length);
    if (length > KEPT_FRAME_BYTES) this.buffer = kept;
    return payload;
  }
}

main().catch((err) => {
  process.stderr.write(`ort_worker: ${err && err.stack ? err.stack : err}\n`);
  process.exit(4);
});
