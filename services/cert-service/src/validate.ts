import type { KeyObject, X509Certificate } from 'node:crypto';
import type { CertificateFinding } from '@st/contracts';
import { certificateCoversName, describeKey, issuerOf, subjectOf } from './certificate-info.js';
import { finding } from './findings.js';

export interface LabelledCertificate {
  /** Where it came from, e.g. "certificate block 2 (CERTIFICATE, lines 21-40)". */
  label: string;
  certificate: X509Certificate;
}

export interface ValidationInput {
  /** In the order they were given. */
  certificates: LabelledCertificate[];
  key: KeyObject | null;
  /** Names clients will connect with; the leaf must cover each. */
  serverNames: string[];
  now: Date;
  /** Roots clients already trust: a chain that ends just below one of them needs nothing more. */
  trustedRoots?: readonly X509Certificate[];
  /** Said when no key was given, e.g. that no pending CSR key matched. */
  noKeyHint?: string;
}

export interface ValidationResult {
  ok: boolean;
  findings: CertificateFinding[];
  /** Leaf first, then each issuer in turn; empty when there was no certificate. */
  chain: X509Certificate[];
}

const dayMs = 24 * 60 * 60 * 1000;
/** A certificate issued moments ago on a machine whose clock runs a little ahead is not "not yet valid". */
export const clockToleranceMs = 5 * 60 * 1000;
export const expiresSoonDays = 30;
const serverAuthOid = '1.3.6.1.5.5.7.3.1';
const anyExtendedKeyUsageOid = '2.5.29.37.0';

function safely<T>(task: () => T, fallback: T): T {
  try {
    return task();
  } catch {
    return fallback;
  }
}

/** `child` names `parent` as its issuer and `parent`'s key verifies its signature. */
function signedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.issuer === parent.subject && safely(() => child.verify(parent.publicKey), false);
}

/** Subject equals issuer and the certificate's own key verifies it. */
export function isSelfSigned(certificate: X509Certificate): boolean {
  return signedBy(certificate, certificate);
}

function names(certificate: X509Certificate): string {
  return certificate.subjectAltName ?? `no subjectAltName, only ${subjectOf(certificate)}`;
}

/** Without a key: the certificate that issued none of the others, preferring a non-CA one. */
function guessLeaf(certificates: LabelledCertificate[]): LabelledCertificate {
  const issuesNothing = certificates.filter((candidate) =>
    certificates.every((other) => other === candidate || !signedBy(other.certificate, candidate.certificate)),
  );
  return issuesNothing.find((entry) => !entry.certificate.ca) ?? issuesNothing[0] ?? certificates[0]!;
}

/**
 * Checks a certificate, its chain and its key the way a TLS client would, and
 * says what is wrong in the operator's terms. Pure: the time and the trusted
 * roots come in as arguments.
 */
export function validateMaterial(input: ValidationInput): ValidationResult {
  const findings: CertificateFinding[] = [];
  // The same certificate twice (a chain file that repeats the leaf) is not a problem worth a word.
  const seen = new Set<string>();
  const given = input.certificates.filter((entry) => !seen.has(entry.certificate.fingerprint256) && seen.add(entry.certificate.fingerprint256));
  if (given.length === 0) {
    return { ok: false, findings: [finding('NO_CERTIFICATE', 'no certificate was given')], chain: [] };
  }

  // 1. The leaf: the certificate the key belongs to.
  let leaf: LabelledCertificate;
  if (input.key) {
    const key = input.key;
    const matching = given.find((entry) => safely(() => entry.certificate.checkPrivateKey(key), false));
    if (matching) leaf = matching;
    else {
      leaf = guessLeaf(given);
      findings.push(
        finding(
          'KEY_MISMATCH',
          `the private key (${describeKey(key)}) does not belong to ${given.length === 1 ? 'the certificate' : 'any of the certificates'}: ` +
            `${subjectOf(leaf.certificate)} has a different ${describeKey(leaf.certificate.publicKey)} public key. Load the key that was made with its CSR`,
        ),
      );
    }
  } else {
    leaf = guessLeaf(given);
    findings.push(finding('NO_KEY', `no private key for ${subjectOf(leaf.certificate)}${input.noKeyHint ? `: ${input.noKeyHint}` : ''}`));
  }

  // 2. The chain: follow issuers among the given certificates.
  const chain: LabelledCertificate[] = [leaf];
  const remaining = new Set(given.filter((entry) => entry !== leaf));
  const wrongIssuers = new Set<LabelledCertificate>();
  for (let current = leaf; !isSelfSigned(current.certificate); ) {
    const namesake = [...remaining].filter((entry) => current.certificate.issuer === entry.certificate.subject);
    const signer = namesake.find((entry) => signedBy(current.certificate, entry.certificate));
    if (!signer) {
      for (const impostor of namesake) {
        wrongIssuers.add(impostor);
        findings.push(
          finding(
            'INTERMEDIATE_NOT_ISSUER',
            `${impostor.label} (${subjectOf(impostor.certificate)}) has the name of the issuer of ${subjectOf(current.certificate)} but did not sign it: ` +
              'it is another intermediate of that authority (another generation or key); download the one that issued this certificate',
          ),
        );
      }
      break;
    }
    chain.push(signer);
    remaining.delete(signer);
    current = signer;
  }
  for (const stray of remaining) {
    if (wrongIssuers.has(stray)) continue;
    findings.push(
      finding(
        'INTERMEDIATE_NOT_ISSUER',
        `${stray.label} (${subjectOf(stray.certificate)}) is not part of the chain of ${subjectOf(leaf.certificate)}: it signed none of its certificates`,
      ),
    );
  }

  // 3. Where the chain ends.
  const last = chain[chain.length - 1]!.certificate;
  if (chain.length === 1 && isSelfSigned(leaf.certificate)) {
    findings.push(
      finding('SELF_SIGNED', 'the certificate is self-signed: clients refuse it unless they are given this certificate to trust (browsers show a warning)'),
    );
  } else if (chain.length === 1 && wrongIssuers.size === 0) {
    // Only a leaf alone is judged incomplete: above an intermediate the missing issuer is normally the
    // root, which servers do not send (clients have it, or were given it for a private authority).
    const trusted = (input.trustedRoots ?? []).some((root) => signedBy(last, root));
    if (!trusted) {
      // Certificates were given beside the leaf, just not its issuer: say that, not that none was given.
      const missing = remaining.size > 0 ? `the certificate that issued ${subjectOf(last)} is not among the ${remaining.size + 1} given` : 'no intermediate certificate was given';
      findings.push(
        finding(
          'INTERMEDIATE_MISSING',
          `${missing}: ${subjectOf(last)} was issued by ${issuerOf(last)}, which is not a well-known root; ` +
            "add the authority's intermediate certificate(s), or clients that do not already have them will refuse the chain",
        ),
      );
    }
  }

  // 4. Order: stored and served leaf first, each certificate followed by its issuer.
  const givenOrder = given.filter((entry) => chain.includes(entry));
  if (givenOrder.some((entry, index) => entry !== chain[index])) {
    findings.push(
      finding(
        'CHAIN_REORDERED',
        `the certificates were not in order (leaf first, then each issuer); they were reordered to: ${chain.map((entry) => subjectOf(entry.certificate)).join(' → ')}`,
      ),
    );
  }

  // 5. Validity of every certificate that will be served.
  const now = input.now.getTime();
  for (const entry of chain) {
    const which = entry === leaf ? 'the certificate' : `${entry.label} (${subjectOf(entry.certificate)})`;
    const notBefore = new Date(entry.certificate.validFrom);
    const notAfter = new Date(entry.certificate.validTo);
    if (now + clockToleranceMs < notBefore.getTime()) findings.push(finding('NOT_YET_VALID', `${which} is not valid before ${notBefore.toISOString()}`));
    else if (now > notAfter.getTime()) findings.push(finding('EXPIRED', `${which} expired on ${notAfter.toISOString()}`));
    else if (entry === leaf && notAfter.getTime() - now <= expiresSoonDays * dayMs) {
      const days = Math.floor((notAfter.getTime() - now) / dayMs);
      findings.push(finding('EXPIRES_SOON', `the certificate expires in ${days} day${days === 1 ? '' : 's'} (${notAfter.toISOString()})`));
    }
  }

  // 6. Names, key strength and purpose of the leaf.
  for (const name of input.serverNames) {
    if (!certificateCoversName(leaf.certificate.toString(), name)) {
      findings.push(
        finding(
          'NAME_NOT_COVERED',
          `the certificate does not cover ${name} (it names ${names(leaf.certificate)}): clients connecting to ${name} will refuse it. ` +
            'Use a certificate for that name, or give the name clients really use as serverName',
        ),
      );
    }
  }
  const publicKey = leaf.certificate.publicKey;
  const unsupported = unsupportedKeyReason(publicKey);
  if (unsupported) findings.push(finding('KEY_TYPE_UNSUPPORTED', `the certificate's key is ${describeKey(publicKey)}: ${unsupported}; use an RSA (2048 bits or more) or ECDSA P-256/P-384 key`));
  if (publicKey.asymmetricKeyType === 'rsa' && (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    findings.push(
      finding('KEY_TOO_SMALL', `the certificate's key is ${describeKey(publicKey)} bits: TLS clients refuse RSA keys below 2048 bits; make a new key and CSR`),
    );
  }
  const usages = leaf.certificate.keyUsage;
  if (usages && usages.length > 0 && !usages.includes(serverAuthOid) && !usages.includes(anyExtendedKeyUsageOid)) {
    findings.push(finding('NOT_FOR_SERVER_AUTH', `the certificate's extended key usage (${usages.join(', ')}) does not allow TLS server authentication`));
  }

  return { ok: !findings.some((item) => item.severity === 'error'), findings, chain: chain.map((entry) => entry.certificate) };
}

/**
 * Keys the gateway's TLS (ECDHE with RSA or ECDSA signatures, TLS 1.2 and 1.3)
 * can be served with to every common client; null when fine. Anything else
 * would make every handshake fail once activated.
 */
function unsupportedKeyReason(key: KeyObject): string | null {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return null;
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'prime256v1' || curve === 'secp384r1' ? null : 'browsers and most TLS libraries only take ECDSA certificates on P-256 or P-384';
    }
    case 'rsa-pss':
      return 'an RSA-PSS-only key cannot sign TLS 1.2 handshakes, so TLS 1.2 clients could not connect';
    case 'dsa':
      return 'DSA keys are not allowed in TLS 1.3 and no forward-secret TLS 1.2 suite the gateway offers uses them';
    case 'ed25519':
    case 'ed448':
      return 'browsers and most FTP clients do not accept EdDSA server certificates';
    default:
      return 'the gateway\'s TLS suites cannot use this kind of key';
  }
}
