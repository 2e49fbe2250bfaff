// Independent check of cip-host's cosign v3 bundle fixtures: each bundle that
// `cip-host sign|attest --bundle --bundle-out` writes is verified by sigstore-js
// (@sigstore/verify) against the trust root `cip-host testca` wrote, and every negative
// variant must be rejected. One line per bundle; exit 1 on any surprise.
//
// CIP_HOST: the cip-host binary (default: ../../target/release/cip-host).
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';

const here = fileURLToPath(new URL('.', import.meta.url));
const cipHost = resolve(process.env.CIP_HOST ?? join(here, '../../target/release/cip-host'));
const dir = mkdtempSync(join(tmpdir(), 'cip-bundle-agreement-'));
const run = (...args) => execFileSync(cipHost, args, { stdio: ['ignore', 'pipe', 'inherit'] });

const IDENTITY = 'signer@example.com';
const ISSUER = 'https://issuer.example.com';
const IMAGE_DIGEST = 'sha256:' + 'ab'.repeat(32);
const OTHER_DIGEST = 'sha256:' + 'cd'.repeat(32);
const IMAGE = `registry.invalid/team/app@${IMAGE_DIGEST}`;
const V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const V02 = 'application/vnd.dev.sigstore.bundle+json;version=0.2';

run('testca', '--out', join(dir, 'ca'));
run('keygen', '--out', join(dir, 'k'));
run('keygen', '--out', join(dir, 'k'), '--name', 'other');
writePredicate();

const config = JSON.parse(readFileSync(join(dir, 'ca/trust-config.json'), 'utf8'));
const trustedRoot = TrustedRoot.fromJSON(config.trustedRoot);

function keyEntry(name) {
  const spki = createPublicKey(readFileSync(join(dir, `k/${name}.pub`))).export({ type: 'spki', format: 'der' });
  const hint = createHash('sha256').update(spki).digest('base64');
  return [hint, { rawBytes: spki, keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: new Date(0) } }];
}
const trustedKeys = Object.fromEntries([keyEntry('cosign')]);
const otherKeys = Object.fromEntries([keyEntry('other')]);

function writePredicate() {
  execFileSync('sh', ['-c', `printf '{"buildType":"test"}' > ${join(dir, 'predicate.json')}`]);
}

const signer = {
  key: ['--key', join(dir, 'k/cosign.key')],
  keyless: [
    '--ca-key', join(dir, 'ca/ca.key'), '--ca-cert', join(dir, 'ca/ca.pem'),
    '--rekor-key', join(dir, 'ca/rekor.key'), '--identity', IDENTITY, '--issuer', ISSUER,
  ],
};

// [name, command, signer, extra flags, expectation]
// expectation: 'verified' | 'rejected' | a function(bundle, statement) returning an error or null
const cases = [
  ['sign key rekor-v2 tsa', 'sign', 'key', [], 'verified'],
  ['sign key rekor-v2 no-tsa', 'sign', 'key', ['--no-timestamp'], 'verified'],
  ['sign key rekor-v1 tsa', 'sign', 'key', ['--rekor-v1'], 'verified'],
  ['sign keyless rekor-v2 tsa', 'sign', 'keyless', [], 'verified'],
  ['sign keyless rekor-v1 tsa', 'sign', 'keyless', ['--rekor-v1'], 'verified'],
  ['sign keyless rekor-v1 no-tsa', 'sign', 'keyless', ['--rekor-v1', '--no-timestamp'], 'verified'],
  ['sign keyless annotations', 'sign', 'keyless', ['-a', 'env=prod'], 'verified'],
  ['attest key rekor-v2 tsa', 'attest', 'key', [], 'verified'],
  ['attest keyless rekor-v2 tsa', 'attest', 'keyless', [], 'verified'],
  ['attest key custom predicate', 'attest', 'key', ['--type', 'custom'], 'verified'],
  ['attest keyless rekor-v1 no-tsa', 'attest', 'keyless', ['--rekor-v1', '--no-timestamp'], 'verified'],
  ['NEG sign key tampered payload', 'sign', 'key', ['--tamper-payload'], 'rejected'],
  ['NEG sign keyless tampered payload', 'sign', 'keyless', ['--tamper-payload'], 'rejected'],
  ['NEG attest keyless tampered payload v1', 'attest', 'keyless', ['--tamper-payload', '--rekor-v1'], 'rejected'],
  ['NEG sign key other envelope log entry', 'sign', 'key', ['--log-entry-for-other-envelope'], 'rejected'],
  ['NEG sign keyless other envelope log entry', 'sign', 'keyless', ['--log-entry-for-other-envelope'], 'rejected'],
  ['NEG attest key other envelope log entry v1', 'attest', 'key', ['--log-entry-for-other-envelope', '--rekor-v1'], 'rejected'],
  ['NEG sign keyless rekor-v2 without tsa', 'sign', 'keyless', ['--no-timestamp'], 'rejected'],
  ['NEG sign key verified with another key', 'sign', 'key', [], 'rejected-other-key'],
  ['NEG sign keyless other identity', 'sign', 'keyless', [], 'rejected-other-identity'],
  ['NEG sign bundle v0.2', 'sign', 'key', ['--bundle-version', '0.2'], 'v0.2'],
  // Mutations of a sound bundle: each must break the part sigstore-js checks.
  ['NEG inclusion proof hash altered', 'sign', 'keyless', [], mutate((b) => flip(b.verificationMaterial.tlogEntries[0].inclusionProof.hashes, 1))],
  ['NEG inclusion proof one hash short', 'sign', 'keyless', [], mutate((b) => b.verificationMaterial.tlogEntries[0].inclusionProof.hashes.pop())],
  ['NEG checkpoint signature altered', 'sign', 'keyless', [], mutate((b) => alterCheckpoint(b, (line) => line.replace(/[A-Za-z0-9+/]{8}(=*)\n$/, 'AAAAAAAA$1\n')))],
  ['NEG checkpoint tree size altered', 'sign', 'keyless', [], mutate((b) => alterCheckpoint(b, (note) => note.replace(/\n(\d+)\n/, (m, n) => `\n${Number(n) + 1}\n`)))],
  ['NEG canonical body altered', 'sign', 'key', [], mutate((b) => { const e = b.verificationMaterial.tlogEntries[0]; e.canonicalizedBody = Buffer.from(Buffer.from(e.canonicalizedBody, 'base64').toString().replace('"0.0.2"', '"0.0.2" ')).toString('base64'); })],
  ['NEG TSA token signature altered', 'sign', 'keyless', [], mutate((b) => { const t = b.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0]; const der = Buffer.from(t.signedTimestamp, 'base64'); der[der.length - 3] ^= 1; t.signedTimestamp = der.toString('base64'); })],
  ['NEG rekor-v1 SET altered', 'sign', 'keyless', ['--rekor-v1', '--no-timestamp'], mutate((b) => { const e = b.verificationMaterial.tlogEntries[0]; e.integratedTime = String(Number(e.integratedTime) + 1); })],
  ['NEG sign subject of another image', 'sign', 'key', ['--subject-digest', OTHER_DIGEST], 'other-subject'],
  ['NEG attest subject of another image', 'attest', 'keyless', ['--subject-digest', OTHER_DIGEST], 'other-subject'],
];

function mutate(change) {
  return { mutate: change };
}
function flip(list, i) {
  const raw = Buffer.from(list[i], 'base64');
  raw[0] ^= 1;
  list[i] = raw.toString('base64');
}
// Applies `change` to the note text or (when it matches the signature line) the whole envelope.
function alterCheckpoint(bundle, change) {
  const proof = bundle.verificationMaterial.tlogEntries[0].inclusionProof;
  const before = proof.checkpoint.envelope;
  proof.checkpoint.envelope = change(before);
  if (proof.checkpoint.envelope === before) throw new Error('the checkpoint mutation changed nothing');
}

function verify(bundleJSON, kind, { keys = trustedKeys, identity = IDENTITY } = {}) {
  const bundle = bundleFromJSON(bundleJSON);
  const trust = toTrustMaterial(trustedRoot, keys);
  // The test CA issues no SCTs; cosign with --key uses no observer timestamps.
  const verifier = new Verifier(trust, {
    ctlogThreshold: 0,
    tlogThreshold: 1,
    timestampThreshold: kind === 'keyless' ? 1 : 0,
  });
  const escaped = identity.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const policy = kind === 'keyless'
    ? { subjectAlternativeName: `^${escaped}$`, extensions: { issuer: ISSUER } }
    : undefined;
  verifier.verify(toSignedEntity(bundle), policy);
}

function outcome(fn) {
  try {
    fn();
    return 'verified';
  } catch (e) {
    return `rejected (${e.code ?? e.name}: ${e.message})`;
  }
}

// The statement's shape per command (cosign-v3.md §1, §2).
function statementProblem(command, statement, subject) {
  const digest = statement.subject?.[0]?.digest?.sha256;
  if (`sha256:${digest}` !== subject) return `statement subject is ${digest}, expected ${subject}`;
  if (command === 'sign') {
    if (statement._type !== 'https://in-toto.io/Statement/v1') return `_type ${statement._type}`;
    if (statement.predicateType !== 'https://sigstore.dev/cosign/sign/v1') return `predicateType ${statement.predicateType}`;
  } else {
    if (statement._type !== 'https://in-toto.io/Statement/v0.1') return `_type ${statement._type}`;
    if (statement.subject?.[0]?.name !== 'registry.invalid/team/app') return `subject name ${statement.subject?.[0]?.name}`;
    if (statement.predicateType === 'https://cosign.sigstore.dev/attestation/v1') {
      const { Data, Timestamp } = statement.predicate ?? {};
      if (Data !== '{"buildType":"test"}' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(Timestamp)) return 'custom predicate is not {Data, Timestamp}';
    } else if (statement.predicate?.buildType !== 'test') return 'predicate not carried';
  }
  return null;
}

let passed = 0;
let failed = 0;
const started = Date.now();
for (const [name, command, kind, extra, expect] of cases) {
  const out = join(dir, `${name.replace(/\W+/g, '-')}.json`);
  const args = [command, ...signer[kind], '--bundle', '--testca', join(dir, 'ca'), '--bundle-out', out, ...extra];
  if (command === 'attest') {
    args.push('--predicate', join(dir, 'predicate.json'));
    if (!extra.includes('--type')) args.push('--type', 'slsaprovenance');
  }
  args.push(IMAGE);
  let line;
  let ok;
  try {
    run(...args);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    const statement = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString('utf8'));
    const result = outcome(() => verify(json, kind));
    if (typeof expect === 'object') {
      expect.mutate(json);
      const mutated = outcome(() => verify(json, kind));
      ok = result === 'verified' && mutated.startsWith('rejected');
      line = `before: ${result}; after: ${mutated}`;
    }
    switch (expect) {
      case 'verified': {
        const problem = json.mediaType === V03 ? statementProblem(command, statement, IMAGE_DIGEST) : `mediaType ${json.mediaType}`;
        ok = result === 'verified' && problem === null;
        line = problem ? `${result}; ${problem}` : result;
        break;
      }
      case 'rejected':
        ok = result.startsWith('rejected');
        line = result;
        break;
      case 'rejected-other-key':
        line = outcome(() => verify(json, kind, { keys: otherKeys }));
        ok = result === 'verified' && line.startsWith('rejected');
        break;
      case 'rejected-other-identity':
        line = outcome(() => verify(json, kind, { identity: 'someone-else@example.com' }));
        ok = result === 'verified' && line.startsWith('rejected');
        break;
      case 'v0.2':
        // cosign skips bundles below v0.3 (MinVersion); sigstore-js has no such floor.
        ok = json.mediaType === V02;
        line = `mediaType ${json.mediaType} (cosign needs v0.3); sigstore-js: ${result}`;
        break;
      case 'other-subject': {
        // The signature is sound; the subject is what a verifier must compare.
        const problem = statementProblem(command, statement, IMAGE_DIGEST);
        ok = result === 'verified' && problem !== null;
        line = `sigstore-js: ${result}; subject check: ${problem ?? 'matches (unexpected)'}`;
        break;
      }
    }
  } catch (e) {
    ok = false;
    line = `fixture failed: ${e.message}`;
  }
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${line}`);
  if (ok) passed++;
  else failed++;
}
// The registry half: the same fixtures pushed as cosign does, read back, then verified.
const haveRegistry = ['docker-registry', 'skopeo'].every((tool) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
if (haveRegistry || process.env.CI) {
  try {
    execFileSync('bash', [join(here, 'registry.bash'), dir, cipHost], { stdio: ['ignore', 'inherit', 'inherit'] });
    const pulled = readdirSync(dir).filter((f) => f.startsWith('registry-') && f.endsWith('.json') && f !== 'registry-predicate.json');
    if (pulled.length !== 3) throw new Error(`expected 3 pulled bundles, found ${pulled.length}`);
    for (const file of pulled) {
      const kind = file.includes('keyless') ? 'keyless' : 'key';
      const result = outcome(() => verify(JSON.parse(readFileSync(join(dir, file), 'utf8')), kind));
      const ok = result === 'verified';
      console.log(`${ok ? 'ok  ' : 'FAIL'} pulled ${file}: ${result}`);
      if (ok) passed++;
      else failed++;
    }
  } catch (e) {
    console.log(`FAIL registry round trip: ${e.message}`);
    failed++;
  }
} else {
  console.log('skip registry round trip: docker-registry or skopeo is not installed');
}
rmSync(dir, { recursive: true, force: true });
console.log(`bundle-agreement: ${cases.length} bundles and the registry round trip in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
