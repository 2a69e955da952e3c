import { execFile } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type KeyKind = 'rsa' | 'ecdsa';

export interface CertificateFiles {
  kind: KeyKind;
  certFile: string;
  keyFile: string;
  /** For the report: "RSA-2048" or "ECDSA P-256". */
  label: string;
}

/**
 * A self-signed certificate for 127.0.0.1 (IP SAN, so curl verifies it with
 * --cacert; openssl's default v3_ca extensions make it its own trust anchor).
 */
export async function makeSelfSigned(dir: string, kind: KeyKind): Promise<CertificateFiles> {
  const certFile = join(dir, `${kind}-cert.pem`);
  const keyFile = join(dir, `${kind}-key.pem`);
  const keyArgs = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  await run('openssl', [
    'req', '-x509', ...keyArgs, '-sha256', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1/O=Secure Transfers benchmark',
    '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', keyFile, '-out', certFile,
  ]);
  await chmod(keyFile, 0o600);
  return { kind, certFile, keyFile, label: kind === 'rsa' ? 'RSA-2048' : 'ECDSA P-256' };
}
