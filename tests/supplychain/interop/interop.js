// An independent reader and writer of cosign's formats, for cdgate's interop tests.
//
// Written against the formats, not cdgate's code: scrypt from node:crypto,
// nacl secretbox from tweetnacl, ECDSA from node:crypto, and Sigstore bundle
// verification from sigstore-js (@sigstore/bundle + @sigstore/verify).
// Usage: node interop.js COMMAND ARGS...; prints JSON; exits 1 when a check fails.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const nacl = require('tweetnacl');

function pemBody(text, label) {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`);
  const m = text.match(re);
  if (!m) throw new Error(`no ${label} block`);
  return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
}

function decryptCosignKey(path, password) {
  const text = fs.readFileSync(path, 'utf8');
  let body;
  try { body = pemBody(text, 'ENCRYPTED SIGSTORE PRIVATE KEY'); } catch (e) { body = pemBody(text, 'ENCRYPTED COSIGN PRIVATE KEY'); }
  const doc = JSON.parse(body.toString('utf8'));
  if (doc.kdf.name !== 'scrypt' || doc.cipher.name !== 'nacl/secretbox') throw new Error('unexpected kdf/cipher');
  const { N, r, p } = doc.kdf.params;
  const boxKey = crypto.scryptSync(Buffer.from(password, 'utf8'), Buffer.from(doc.kdf.salt, 'base64'), 32, { N, r, p, maxmem: 256 * 1024 * 1024 });
  const plain = nacl.secretbox.open(
    new Uint8Array(Buffer.from(doc.ciphertext, 'base64')),
    new Uint8Array(Buffer.from(doc.cipher.nonce, 'base64')),
    new Uint8Array(boxKey),
  );
  if (!plain) throw new Error('decryption failed');
  return crypto.createPrivateKey({ key: Buffer.from(plain), format: 'der', type: 'pkcs8' });
}

function writeCosignKey(outPrefix, password) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const salt = crypto.randomBytes(32);
  const nonce = crypto.randomBytes(24);
  const params = { N: 32768, r: 8, p: 1 };
  const boxKey = crypto.scryptSync(Buffer.from(password, 'utf8'), salt, 32, { ...params, maxmem: 256 * 1024 * 1024 });
  const sealed = nacl.secretbox(new Uint8Array(der), new Uint8Array(nonce), new Uint8Array(boxKey));
  const doc = {
    kdf: { name: 'scrypt', params, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(sealed).toString('base64'),
  };
  const b64 = Buffer.from(JSON.stringify(doc)).toString('base64').match(/.{1,64}/g).join('\n');
  fs.writeFileSync(`${outPrefix}.key`, `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${b64}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`, { mode: 0o600 });
  fs.writeFileSync(`${outPrefix}.pub`, publicKey.export({ format: 'pem', type: 'spki' }));
  return {};
}

function pae(type, payload) {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `), payload]);
}

function verifyBundle(pubPath, bundlePath, artifactPath) {
  const { bundleFromJSON } = require('@sigstore/bundle');
  const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const der = crypto.createPublicKey(fs.readFileSync(pubPath)).export({ format: 'der', type: 'spki' });
  const hint = bundle.verificationMaterial.content.publicKey.hint;
  const trust = toTrustMaterial({ certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] }, { [hint]: { rawBytes: der } });
  const artifact = artifactPath ? fs.readFileSync(artifactPath) : undefined;
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundle, artifact));
  return { mediaType: bundle.mediaType, content: bundle.content.$case };
}

const commands = {
  // sign MESSAGE with a cosign key file; print the base64 signature
  'sign-with-key': (keyPath, password, messagePath) => {
    const key = decryptCosignKey(keyPath, password);
    const sig = crypto.sign('sha256', fs.readFileSync(messagePath), key);
    return { signature: sig.toString('base64'), publicKey: crypto.createPublicKey(key).export({ format: 'pem', type: 'spki' }) };
  },
  'write-key': writeCosignKey,
  'verify-blob': (pubPath, sigPath, blobPath) => {
    const ok = crypto.verify('sha256', fs.readFileSync(blobPath), crypto.createPublicKey(fs.readFileSync(pubPath)), Buffer.from(fs.readFileSync(sigPath, 'utf8').trim(), 'base64'));
    if (!ok) throw new Error('signature does not verify');
    return { verified: true };
  },
  'verify-bundle': verifyBundle,
  'verify-dsse': (pubPath, envelopePath) => {
    const env = JSON.parse(fs.readFileSync(envelopePath, 'utf8'));
    const payload = Buffer.from(env.payload, 'base64');
    const key = crypto.createPublicKey(fs.readFileSync(pubPath));
    const ok = env.signatures.some((s) => crypto.verify('sha256', pae(env.payloadType, payload), key, Buffer.from(s.sig, 'base64')));
    if (!ok) throw new Error('envelope does not verify');
    return { verified: true, statement: JSON.parse(payload.toString('utf8')) };
  },
};

const [command, ...args] = process.argv.slice(2);
try {
  if (!commands[command]) throw new Error(`unknown command ${command}`);
  process.stdout.write(JSON.stringify(commands[command](...args)) + '\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ error: String(err && err.message ? err.message : err) }) + '\n');
  process.exit(1);
}
