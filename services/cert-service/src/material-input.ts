import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import type { CertificateFinding, LoadCertificateRequest } from '@st/contracts';
import { finding } from './findings.js';
import { describeBlock, looksLikePem, parsePem, type PemBlock } from './pem.js';
import type { LabelledCertificate } from './validate.js';

export interface LabelledKey {
  label: string;
  key: KeyObject;
}

/** What a load request contains, decoded but not yet judged. */
export interface DecodedMaterial {
  certificates: LabelledCertificate[];
  key: LabelledKey | null;
  /** Parse and decryption problems; non-empty means the load is rejected. */
  findings: CertificateFinding[];
}

const certificateLabels = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);
const keyLabels = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY']);
const base64Text = /^[A-Za-z0-9+/]+={0,2}$/;

function reason(error: unknown): string {
  return (error as Error).message.replace(/^error:[0-9A-F]+:/, '');
}

function nodeCode(error: unknown): string {
  return String((error as NodeJS.ErrnoException).code ?? '');
}

/** Turns OpenSSL's key errors into what the operator must do; the key's bytes never reach a message. */
function keyProblem(where: string, error: unknown, passphraseGiven: boolean): CertificateFinding {
  const code = nodeCode(error);
  const message = reason(error);
  if (code === 'ERR_MISSING_PASSPHRASE' || (/passphrase|interrupted or cancelled/i.test(message) && !passphraseGiven)) {
    return finding('KEY_PASSPHRASE_REQUIRED', `${where}: the private key is encrypted; give its passphrase as keyPassphrase`);
  }
  if (passphraseGiven && /bad decrypt|wrong|decrypt/i.test(message + code)) {
    return finding('KEY_PASSPHRASE_WRONG', `${where}: the passphrase does not decrypt the private key`);
  }
  return finding('PARSE_ERROR', `${where}: not a readable private key (${message})`);
}

function readKey(where: string, source: string | Buffer, type: 'pkcs8' | 'pkcs1' | 'sec1' | null, passphrase: string | undefined): LabelledKey | CertificateFinding {
  try {
    const key =
      typeof source === 'string'
        ? createPrivateKey({ key: source, format: 'pem', ...(passphrase !== undefined ? { passphrase } : {}) })
        : createPrivateKey({ key: source, format: 'der', type: type ?? 'pkcs8', ...(passphrase !== undefined ? { passphrase } : {}) });
    return { label: where, key };
  } catch (error) {
    return keyProblem(where, error, passphrase !== undefined);
  }
}

function readCertificate(where: string, der: Buffer): LabelledCertificate | CertificateFinding {
  try {
    return { label: where, certificate: new X509Certificate(der) };
  } catch (error) {
    return finding('PARSE_ERROR', `${where}: not a valid X.509 certificate (${reason(error)})`);
  }
}

function isFinding(value: object): value is CertificateFinding {
  return 'severity' in value;
}

class Collector {
  readonly certificates: LabelledCertificate[] = [];
  readonly keys: LabelledKey[] = [];
  readonly findings: CertificateFinding[] = [];

  add(result: LabelledCertificate | LabelledKey | CertificateFinding): void {
    if (isFinding(result)) this.findings.push(result);
    else if ('certificate' in result) this.certificates.push(result);
    else this.keys.push(result);
  }
}

function blockWhere(field: string, block: PemBlock): string {
  return `${field} ${describeBlock(block)}`;
}

/** A PEM text may hold certificates and a key in any order (stunnel's combined .pem does). */
function decodePemText(field: string, text: string, passphrase: string | undefined, out: Collector): void {
  const { blocks, problems } = parsePem(text);
  for (const problem of problems) out.add(finding('PARSE_ERROR', `${field}: ${problem}`));
  if (blocks.length === 0 && problems.length === 0) out.add(finding('PARSE_ERROR', `${field}: no PEM block found`));
  for (const block of blocks) {
    const where = blockWhere(field, block);
    if (certificateLabels.has(block.label)) out.add(readCertificate(where, block.der));
    else if (keyLabels.has(block.label)) out.add(readKey(where, block.text, null, passphrase));
    else if (block.label === 'CERTIFICATE REQUEST' || block.label === 'NEW CERTIFICATE REQUEST') {
      out.add(finding('PARSE_ERROR', `${where}: this is a CSR, not a certificate; load the certificate the authority returned for it`));
    } else out.add(finding('PARSE_ERROR', `${where}: a ${block.label} is neither a certificate nor a private key`));
  }
}

function decodeBase64(field: string, text: string): Buffer | CertificateFinding {
  const compact = text.replace(/\s+/g, '');
  if (!base64Text.test(compact)) {
    return finding('PARSE_ERROR', `${field}: neither PEM (no "-----BEGIN" line) nor base64-encoded DER`);
  }
  return Buffer.from(compact, 'base64');
}

function decodeField(field: string, text: string, kind: 'certificate' | 'key', passphrase: string | undefined, out: Collector): void {
  if (looksLikePem(text)) return decodePemText(field, text, passphrase, out);
  const der = decodeBase64(field, text);
  if (isFinding(der)) return out.add(der);
  if (kind === 'certificate') {
    const read = readCertificate(`${field} (DER)`, der);
    if (isFinding(read)) return out.add(finding('PARSE_ERROR', `${field}: neither PEM (no "-----BEGIN" line) nor a base64-encoded DER certificate`));
    return out.add(read);
  }
  // DER keys carry no label: PKCS#8 (plain or encrypted) first, then the traditional RSA and EC forms.
  const attempts = (['pkcs8', 'pkcs1', 'sec1'] as const).map((type) => readKey(`${field} (DER)`, der, type, type === 'pkcs8' ? passphrase : undefined));
  out.add(attempts.find((attempt) => !isFinding(attempt)) ?? attempts[0]!);
}

function forgeDer(object: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(object).getBytes(), 'binary');
}

/** PKCS#12 through node-forge (legacy 3DES/RC2 and modern AES files); certificates and key come back as DER for Node to read. */
function decodePkcs12(text: string, password: string | undefined, out: Collector): void {
  const der = decodeBase64('pkcs12', text);
  if (isFinding(der)) return out.add(der);
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der.toString('binary'), false), false, password ?? '');
  } catch (error) {
    const message = (error as Error).message;
    if (/MAC could not be verified|Invalid password|wrong password|decrypt/i.test(message)) {
      return out.add(finding('PKCS12_PASSWORD_WRONG', `pkcs12: ${password ? 'the password is wrong' : 'the file is protected: give its password as pkcs12Password'} (or the file is damaged)`));
    }
    return out.add(finding('PARSE_ERROR', `pkcs12: not a readable PKCS#12 file (${message})`));
  }
  let certificateCount = 0;
  for (const contents of p12.safeContents) {
    for (const bag of contents.safeBags) {
      // forge leaves the ASN.1 of what it cannot model itself (ECDSA keys and certificates) in bag.asn1.
      const raw = (bag as { asn1?: forge.asn1.Asn1 }).asn1;
      if (bag.type === forge.pki.oids.certBag) {
        certificateCount++;
        const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : raw;
        if (asn1) out.add(readCertificate(`pkcs12 certificate ${certificateCount}`, forgeDer(asn1)));
      } else if (bag.type === forge.pki.oids.keyBag || bag.type === forge.pki.oids.pkcs8ShroudedKeyBag) {
        const asn1 = bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key as forge.pki.rsa.PrivateKey)) : raw;
        if (asn1) out.add(readKey('pkcs12 key', forgeDer(asn1), 'pkcs8', undefined));
      }
    }
  }
}

/**
 * Reads every certificate and key a load request carries: PEM (a chain in one
 * text, any order, keys among them), base64 DER, or PKCS#12. Nothing is judged
 * here beyond "can it be read"; validateMaterial does the rest.
 */
export function decodeMaterial(request: LoadCertificateRequest): DecodedMaterial {
  const out = new Collector();
  if (request.pkcs12 !== undefined) decodePkcs12(request.pkcs12, request.pkcs12Password, out);
  if (request.certificate !== undefined) decodeField('certificate', request.certificate, 'certificate', request.keyPassphrase, out);
  const chain = request.chain === undefined ? [] : Array.isArray(request.chain) ? request.chain : [request.chain];
  chain.forEach((text, index) => decodeField(chain.length === 1 ? 'chain' : `chain[${index}]`, text, 'certificate', request.keyPassphrase, out));
  if (request.key !== undefined) decodeField('key', request.key, 'key', request.keyPassphrase, out);

  // Two copies of one key (in the PKCS#12 and given again) are one key.
  const distinct = out.keys.filter((entry, index) => out.keys.findIndex((other) => other.key.equals(entry.key)) === index);
  if (distinct.length > 1) {
    out.findings.push(finding('MULTIPLE_KEYS', `more than one private key was given (${distinct.map((entry) => entry.label).join(', ')}); give only the certificate's own key`));
  }
  return { certificates: out.certificates, key: distinct.length === 1 ? distinct[0]! : null, findings: out.findings };
}
