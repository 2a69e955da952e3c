import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs openssl (a tool we did not write) with optional stdin; returns stdout. */
export function openssl(args: string[], input?: string | Buffer): string {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

export function opensslBinary(args: string[], input?: string | Buffer): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export interface IssueOptions {
  /** A CSR to sign; without one, a key is made (RSA of `rsaBits`, or an EC key). */
  csrPem?: string;
  subject?: string;
  sans?: string[];
  /** Days from now; negative start offsets come from `startDaysAgo`. */
  days?: number;
  extendedKeyUsage?: string;
  rsaBits?: number;
  signer?: 'intermediate' | 'intermediate-b' | 'root';
}

/**
 * A test certificate authority made with openssl: a root, an intermediate it
 * signed, and "intermediate-b" with the same name but another key (the classic
 * "wrong intermediate").
 */
export class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'test-ca-'));
  readonly rootPem: string;
  readonly intermediatePem: string;
  readonly intermediateBPem: string;

  constructor() {
    const path = (name: string) => join(this.dir, name);
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path('root.key'), '-out', path('root.pem'), '-subj', '/O=Test Authority/CN=Test Root CA', '-days', '60',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    writeFileSync(path('ca.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    for (const name of ['intermediate', 'intermediate-b']) {
      openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', path(`${name}.key`), '-out', path(`${name}.csr`), '-subj', '/O=Test Authority/CN=Test Intermediate CA']);
      openssl(['x509', '-req', '-in', path(`${name}.csr`), '-CA', path('root.pem'), '-CAkey', path('root.key'), '-set_serial', `0x${randomBytes(8).toString('hex')}`,
        '-days', '50', '-extfile', path('ca.ext'), '-out', path(`${name}.pem`)]);
    }
    this.rootPem = readFileSync(path('root.pem'), 'utf8');
    this.intermediatePem = readFileSync(path('intermediate.pem'), 'utf8');
    this.intermediateBPem = readFileSync(path('intermediate-b.pem'), 'utf8');
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Writes a file into the CA's directory and returns its path, for openssl arguments. */
  write(name: string, content: string | Buffer): string {
    writeFileSync(this.path(name), content);
    return this.path(name);
  }

  /** Signs a CSR (or a fresh key's CSR) as a TLS server certificate. */
  issue(options: IssueOptions): { certificatePem: string; privateKeyPem?: string } {
    const tag = randomBytes(6).toString('hex');
    let privateKeyPem: string | undefined;
    let csrPem = options.csrPem;
    if (!csrPem) {
      const keyArgs = options.rsaBits ? ['-newkey', `rsa:${options.rsaBits}`] : ['-newkey', 'rsa:2048'];
      openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', this.path(`${tag}.key`), '-out', this.path(`${tag}.csr`), '-subj', options.subject ?? '/CN=files.example.test']);
      privateKeyPem = readFileSync(this.path(`${tag}.key`), 'utf8');
      csrPem = readFileSync(this.path(`${tag}.csr`), 'utf8');
    }
    writeFileSync(this.path(`${tag}.csr`), csrPem);
    const sans = options.sans ?? ['DNS:files.example.test'];
    writeFileSync(
      this.path(`${tag}.ext`),
      `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=${options.extendedKeyUsage ?? 'serverAuth'}\n` +
        `subjectAltName=${sans.join(',')}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`,
    );
    const signer = options.signer ?? 'intermediate';
    openssl(['x509', '-req', '-in', this.path(`${tag}.csr`), '-CA', this.path(`${signer === 'root' ? 'root' : signer}.pem`), '-CAkey', this.path(`${signer === 'root' ? 'root' : signer}.key`),
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', String(options.days ?? 40), '-extfile', this.path(`${tag}.ext`), '-out', this.path(`${tag}.pem`)]);
    return { certificatePem: readFileSync(this.path(`${tag}.pem`), 'utf8'), ...(privateKeyPem ? { privateKeyPem } : {}) };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
