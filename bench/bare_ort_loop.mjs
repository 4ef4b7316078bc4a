// Bench: the bare ONNX Runtime loop that bounds the campaign's throughput with `ort`.
//
// Usage: node bench/bare_ort_loop.mjs MODELS_FILE [--module DIR] [--rounds R] [--copies N] [--json]
//
// MODELS_FILE is written by bench_throughput (bench/bench_throughput.cpp; `--keep DIR` keeps
// it as DIR/models.bin): every model, with its inputs, that a campaign sent to its `ort`
// execution, in order. Everything is read and turned into ort.Tensor feeds before the clock
// starts; the timed loop then does, per model, only what the worker's `ort` execution does
// with onnxruntime-node: InferenceSession.create(bytes, the worker's session options for
// `ort`), session.run(feeds) and session.release(). A rejection (create or run throws) counts
// as a model processed, as in the campaign. The campaign's models it did not send to `ort` (a
// dtype the worker cannot carry), and those that crashed or hung ORT (they would end this
// loop; the campaign restarts its worker), count as processed at no cost.
//
// File format (little-endian): u32 unsent (models not sent to ort), u32 count, then per model
//   u32 flags (bit 0: crashed or hung ORT, skip), u32 model_length, model bytes,
//   u32 input_count, per input: u32 name_length, name, i32 elem_type, u32 rank,
//   i64 dims[rank], u64 byte_length, raw row-major bytes
// (the tensor record of oracles/worker_protocol.h).
//
// Prints one line: models, seconds, models/s, rejections; with --json, a JSON object instead.
//
// --copies N runs N such loops at once, each in its own Node process started by this one, all
// released together once every copy has loaded the file: what the machine gives N independent
// ORT loops (the bound for `fuzz --jobs N`). The line then sums their models over the slowest
// copy's seconds.
import fs from 'node:fs';
import path from 'node:path';
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
let file = null;
let module = path.join(here, '..', 'node_modules', 'onnxruntime-node');
let rounds = 1;
let json = false;
let copies = 1;
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--module' && i + 1 < args.length) module = path.resolve(args[++i]);
  else if (args[i] === '--rounds' && i + 1 < args.length) rounds = Number(args[++i]);
  else if (args[i] === '--copies' && i + 1 < args.length) copies = Number(args[++i]);
  else if (args[i] === '--json') json = true;
  else if (file === null) file = args[i];
  else throw new Error(`unknown argument ${args[i]}`);
}
if (file === null) {
  process.stderr.write('usage: node bench/bare_ort_loop.mjs MODELS_FILE [--module DIR] [--rounds R] '
    + '[--copies N] [--json]\n');
  process.exit(2);
}
if (!Number.isInteger(copies) || copies < 1) throw new Error(`--copies must be a positive integer`);

// --copies N: this process only starts the N loops (each a copy of this script, told to wait
// for 'go' after loading), releases them at once and adds up what they report.
if (copies > 1) {
  const loopArgs = [file, '--module', module, '--rounds', String(rounds), '--json'];
  const children = Array.from({ length: copies }, () =>
    fork(fileURLToPath(import.meta.url), loopArgs, { env: { ...process.env, BARE_LOOP_WAIT: '1' },
      stdio: ['ignore', 'pipe', 'ignore', 'ipc'] }));
  const outputs = children.map((child) => new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk) => { text += chunk; });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(text)) : reject(
      new Error(`a copy exited with ${code}`))));
  }));
  await Promise.all(children.map((child) => new Promise((resolve) => child.once('message', resolve))));
  for (const child of children) child.send('go');
  const results = await Promise.all(outputs);
  const models = results.reduce((n, r) => n + r.models, 0);
  const seconds = Math.max(...results.map((r) => r.seconds));
  const result = { copies, models, seconds, models_per_s: models / seconds,
    per_copy: results.map((r) => r.models_per_s), onnxruntime: results[0].onnxruntime };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(`bare loop x${copies}: ${models} models in ${seconds.toFixed(2)} s = `
      + `${result.models_per_s.toFixed(1)} models/s (per copy: `
      + `${result.per_copy.map((r) => r.toFixed(1)).join(', ')}; onnxruntime-node `
      + `${result.onnxruntime})\n`);
  }
  process.exit(0);
}

// As oracles/ort_worker.js: no ORT telemetry (1.29.0 and later write every session creation
// to an SQLite file), unless the caller set ORT_DISABLE_TELEMETRY itself. The variable is read
// when the library initializes, so it is set before the module loads.
if (process.env.ORT_DISABLE_TELEMETRY === undefined) process.env.ORT_DISABLE_TELEMETRY = '1';
const ort = require(module);
ort.env.logLevel = 'error';  // as oracles/ort_worker.js

// oracles/ort_worker.js sessionOptions('all') for the `ort` execution (backend node, no
// disabled optimizers).
const sessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
};

const ELEM_TYPES = {
  1: ['float32', Float32Array], 2: ['uint8', Uint8Array], 3: ['int8', Int8Array],
  4: ['uint16', Uint16Array], 5: ['int16', Int16Array], 6: ['int32', Int32Array],
  7: ['int64', BigInt64Array], 9: ['bool', Uint8Array], 10: ['float16', Uint16Array],
  11: ['float64', Float64Array], 12: ['uint32', Uint32Array], 13: ['uint64', BigUint64Array],
};

function load(bytes) {
  let pos = 0;
  const u32 = () => { const v = bytes.readUInt32LE(pos); pos += 4; return v; };
  const i32 = () => { const v = bytes.readInt32LE(pos); pos += 4; return v; };
  const i64 = () => { const v = bytes.readBigInt64LE(pos); pos += 8; return v; };
  const take = (n) => { const v = bytes.subarray(pos, pos + n); pos += n; return v; };
  const models = [];
  const unsent = u32();
  const count = u32();
  for (let m = 0; m < count; ++m) {
    const flags = u32();
    const model = new Uint8Array(take(u32()));  // its own copy, as the worker's
    const feeds = {};
    const inputs = u32();
    for (let i = 0; i < inputs; ++i) {
      const name = take(u32()).toString('utf8');
      const code = i32();
      const rank = u32();
      const dims = [];
      for (let d = 0; d < rank; ++d) dims.push(Number(i64()));
      const raw = take(Number(i64()));
      const type = ELEM_TYPES[code];
      if (!type) throw new Error(`input '${name}': unsupported elem_type ${code}`);
      const copy = new Uint8Array(raw.length);
      copy.set(raw);
      feeds[name] = new ort.Tensor(type[0], new type[1](copy.buffer, 0,
        raw.length / type[1].BYTES_PER_ELEMENT), dims);
    }
    models.push({ skip: (flags & 1) !== 0, model, feeds });
  }
  if (pos !== bytes.length) throw new Error(`${bytes.length - pos} trailing bytes in ${file}`);
  return { unsent, models };
}

const { unsent, models } = load(fs.readFileSync(file));
if (process.env.BARE_LOOP_WAIT === '1') {
  // A copy of --copies: loaded; wait for the parent's go.
  await new Promise((resolve) => { process.once('message', resolve); process.send('ready'); });
  process.disconnect();
}
let processed = 0;
let rejected = 0;
const start = process.hrtime.bigint();
for (let round = 0; round < rounds; ++round) {
  processed += unsent;
  for (const { skip, model, feeds } of models) {
    ++processed;
    if (skip) continue;
    let session = null;
    try {
      session = await ort.InferenceSession.create(model, sessionOptions);
      await session.run(feeds);
    } catch {
      ++rejected;
    } finally {
      if (session !== null) await session.release().catch(() => {});
    }
  }
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const result = {
  models: processed,
  seconds,
  models_per_s: processed / seconds,
  rejected,
  skipped: (unsent + models.filter((m) => m.skip).length) * rounds,
  onnxruntime: require(path.join(module, 'package.json')).version,
};
if (json) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  process.stdout.write(`bare loop: ${result.models} models in ${seconds.toFixed(2)} s = `
    + `${result.models_per_s.toFixed(1)} models/s (${rejected} rejected, ${result.skipped} `
    + `skipped; onnxruntime-node ${result.onnxruntime})\n`);
}
