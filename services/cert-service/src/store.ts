import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CertificateBundle, CertificateSummary } from '@st/contracts';
import { writeFileAtomic } from '@st/service-kit';
import { checkKeyMatchesCertificate, describeCertificate, summarizeCertificate } from './certificate-info.js';
import { CertificateError } from './errors.js';
import type { KeyAndCertificate } from './self-signed.js';

export const certificateOrigins = ['self-signed'] as const;
export type CertificateOrigin = (typeof certificateOrigins)[number];

/** A stored certificate as listed: the contract's summary plus where it came from. Never key material. */
export interface StoredCertificate extends CertificateSummary {
  origin: CertificateOrigin;
  subjectAltName: string | null;
  createdAt: string;
}

export interface CertificateStore {
  /** Stores key, certificate and metadata; the entry is not active yet. */
  save(material: KeyAndCertificate, origin: CertificateOrigin): Promise<StoredCertificate>;
  /** Points active.json at a complete, consistent entry. */
  activate(id: string): Promise<void>;
  activeId(): Promise<string | null>;
  loadActive(): Promise<CertificateBundle | null>;
  /** Complete entries, oldest first. */
  list(): Promise<StoredCertificate[]>;
}

/** One place builds every path, so the layout is written down once. */
export function storePaths(dataDir: string) {
  const certificates = join(dataDir, 'certificates');
  return {
    root: dataDir,
    certificates,
    active: join(dataDir, 'active.json'),
    entry: (id: string) => join(certificates, id),
    certificate: (id: string) => join(certificates, id, 'cert.pem'),
    key: (id: string) => join(certificates, id, 'key.pem'),
    meta: (id: string) => join(certificates, id, 'meta.json'),
  };
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Sortable by creation time; the random suffix keeps two saves in one millisecond apart. */
export function newCertificateId(now: Date = new Date()): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
}

/** Ids come back from files on disk; one that could escape the store directory is corruption. */
function checkId(id: unknown, source: string): string {
  if (typeof id !== 'string' || !idPattern.test(id)) {
    throw new CertificateError('STORE_CORRUPT', `${source} names an invalid certificate id ${JSON.stringify(id)}`);
  }
  return id;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CertificateError('STORE_CORRUPT', `${path} is not valid JSON: ${(error as Error).message}`);
  }
}

async function makePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/**
 * Certificates in a data directory:
 *   certificates/<id>/key.pem (0600), cert.pem, meta.json — meta.json written last marks a complete entry;
 *   active.json — `{ id, activatedAt }`, written only after the entry is complete.
 * Every file is written atomically, so a crash leaves the previous state readable.
 */
export interface FileStoreOptions {
  now?: () => Date;
  /** Told about an entry list() skips because it cannot be read; the other entries are still listed. */
  onUnreadableEntry?: (id: string, error: unknown) => void;
}

export function createFileCertificateStore(dataDir: string, options: FileStoreOptions = {}): CertificateStore {
  const paths = storePaths(dataDir);
  const now = options.now ?? (() => new Date());

  async function activeId(): Promise<string | null> {
    let active: unknown;
    try {
      active = await readJson(paths.active);
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    return checkId((active as { id?: unknown } | null)?.id, paths.active);
  }

  async function readMeta(id: string): Promise<StoredCertificate> {
    const meta = (await readJson(paths.meta(id))) as Partial<StoredCertificate> | null;
    if (!meta || typeof meta !== 'object' || meta.id !== id || typeof meta.fingerprintSha256 !== 'string') {
      throw new CertificateError('STORE_CORRUPT', `${paths.meta(id)} does not describe certificate ${id}`);
    }
    return meta as StoredCertificate;
  }

  /** Reads an entry and checks that its files belong together, so a bad entry is never served. */
  async function readEntry(id: string): Promise<{ meta: StoredCertificate; bundle: CertificateBundle }> {
    let meta: StoredCertificate;
    let certificatePem: string;
    let privateKeyPem: string;
    try {
      meta = await readMeta(id);
      certificatePem = await readFile(paths.certificate(id), 'utf8');
      privateKeyPem = await readFile(paths.key(id), 'utf8');
    } catch (error) {
      if (isMissing(error)) throw new CertificateError('UNKNOWN_CERTIFICATE', `certificate ${id} is missing or incomplete in ${paths.certificates}`);
      throw error;
    }
    const summary = summarizeCertificate(id, certificatePem);
    if (summary.fingerprintSha256 !== meta.fingerprintSha256) {
      throw new CertificateError('STORE_CORRUPT', `cert.pem of ${id} does not match its meta.json fingerprint`);
    }
    if (!checkKeyMatchesCertificate(certificatePem, privateKeyPem)) {
      throw new CertificateError('STORE_CORRUPT', `key.pem of ${id} does not belong to its certificate`);
    }
    return { meta, bundle: { ...summary, certificatePem, privateKeyPem } };
  }

  return {
    async save(material, origin) {
      if (!checkKeyMatchesCertificate(material.certificatePem, material.privateKeyPem)) {
        throw new CertificateError('KEY_MISMATCH', 'the private key does not belong to the certificate');
      }
      const info = describeCertificate(material.certificatePem);
      const createdAt = now();
      const id = newCertificateId(createdAt);
      const meta: StoredCertificate = {
        ...summarizeCertificate(id, material.certificatePem),
        origin,
        subjectAltName: info.subjectAltName,
        createdAt: createdAt.toISOString(),
      };
      await makePrivateDir(paths.root);
      await makePrivateDir(paths.certificates);
      await makePrivateDir(paths.entry(id));
      await writeFileAtomic(paths.key(id), material.privateKeyPem, 0o600);
      await writeFileAtomic(paths.certificate(id), material.certificatePem, 0o644);
      await writeFileAtomic(paths.meta(id), `${JSON.stringify(meta, null, 2)}\n`, 0o644);
      return meta;
    },

    async activate(id) {
      checkId(id, 'activate');
      await readEntry(id);
      await writeFileAtomic(paths.active, `${JSON.stringify({ id, activatedAt: now().toISOString() }, null, 2)}\n`, 0o644);
    },

    activeId,

    async loadActive() {
      const id = await activeId();
      if (id === null) return null;
      try {
        return (await readEntry(id)).bundle;
      } catch (error) {
        // active.json naming a missing entry is corruption, not "no certificate": never silently replace it.
        if (error instanceof CertificateError && error.code === 'UNKNOWN_CERTIFICATE') {
          throw new CertificateError('STORE_CORRUPT', `active.json names ${id}, but ${error.message}`);
        }
        throw error;
      }
    },

    async list() {
      let names: string[];
      try {
        names = await readdir(paths.certificates);
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
      const entries: StoredCertificate[] = [];
      for (const name of names.filter((candidate) => idPattern.test(candidate)).sort()) {
        try {
          entries.push(await readMeta(name));
        } catch (error) {
          // An entry without meta.json was interrupted before it was complete and was never active.
          if (!isMissing(error)) options.onUnreadableEntry?.(name, error);
        }
      }
      return entries;
    },
  };
}
