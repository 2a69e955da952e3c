import { randomBytes, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CertificatePair, CertificateFinding, CertificateOrigin, PendingRequest, StoredCertificate } from '@st/contracts';
import { writeFileAtomic } from '@st/service-kit';
import type { KeySealer } from './at-rest.js';
import { checkKeyMatchesCertificate, describeCertificate, describeKey, publicKeySha256, subjectAltNames, subjectOf, summarizeCertificate } from './certificate-info.js';
import type { KeyAndRequest } from './csr.js';
import { CertificateError } from './errors.js';
import type { KeyAndCertificate } from './self-signed.js';

export { certificateOrigins, type CertificateOrigin, type StoredCertificate, type PendingRequest } from '@st/contracts';

export interface SaveOptions {
  origin: CertificateOrigin;
  warnings?: CertificateFinding[];
  requestId?: string;
}

export interface CertificateStore {
  /** Stores key, certificate (leaf then chain) and metadata as a new version; not active yet. */
  save(material: KeyAndCertificate, options: CertificateOrigin | SaveOptions): Promise<StoredCertificate>;
  /** Points active.json at a complete, consistent entry. */
  activate(id: string): Promise<void>;
  activeId(): Promise<string | null>;
  loadActive(): Promise<CertificatePair | null>;
  /** Points alongside.json at a complete entry (served beside the active one); null: none. */
  setAlongside(id: string | null): Promise<void>;
  alongsideId(): Promise<string | null>;
  loadAlongside(): Promise<CertificatePair | null>;
  /** A complete, consistent entry with its key. */
  load(id: string): Promise<CertificatePair>;
  get(id: string): Promise<StoredCertificate>;
  /** Complete entries, oldest first. */
  list(): Promise<StoredCertificate[]>;
  /** Deletes an inactive entry. */
  remove(id: string): Promise<void>;

  /** Keeps a CSR's key as pending until its certificate comes back. */
  saveRequest(request: KeyAndRequest): Promise<PendingRequest>;
  listRequests(): Promise<PendingRequest[]>;
  getRequest(id: string): Promise<PendingRequest & { csrPem: string }>;
  requestKey(id: string): Promise<string>;
  removeRequest(id: string): Promise<void>;
}

/** One place builds every path, so the layout is written down once. */
export function storePaths(dataDir: string) {
  const certificates = join(dataDir, 'certificates');
  const requests = join(dataDir, 'requests');
  return {
    root: dataDir,
    certificates,
    requests,
    active: join(dataDir, 'active.json'),
    alongside: join(dataDir, 'alongside.json'),
    entry: (id: string) => join(certificates, id),
    certificate: (id: string) => join(certificates, id, 'cert.pem'),
    key: (id: string) => join(certificates, id, 'key.pem'),
    sealedKey: (id: string) => join(certificates, id, 'key.pem.enc'),
    meta: (id: string) => join(certificates, id, 'meta.json'),
    request: (id: string) => join(requests, id),
    requestCsr: (id: string) => join(requests, id, 'request.csr'),
    requestKey: (id: string) => join(requests, id, 'key.pem'),
    requestSealedKey: (id: string) => join(requests, id, 'key.pem.enc'),
    requestMeta: (id: string) => join(requests, id, 'meta.json'),
  };
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function isCertificateId(id: string): boolean {
  return idPattern.test(id);
}

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

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
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

/** Splits leaf-then-chain PEM into its certificates. */
export function splitCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/** The metadata of a certificate: everything an operator needs to tell versions apart, and no key material. */
export function certificateMetadata(id: string, certificatePem: string, options: SaveOptions, createdAt: Date): StoredCertificate {
  const [leaf, ...chain] = splitCertificates(certificatePem);
  if (!leaf) throw new CertificateError('INVALID_CERTIFICATE', 'no certificate to store');
  const info = describeCertificate(certificatePem);
  return {
    ...summarizeCertificate(id, certificatePem),
    origin: options.origin,
    subjectAltName: info.subjectAltName,
    subjectAltNames: subjectAltNames(leaf),
    issuer: info.issuer,
    serialNumber: info.serialNumber,
    fingerprintSha1: leaf.fingerprint,
    publicKeySha256: publicKeySha256(leaf.publicKey),
    keyType: describeKey(leaf.publicKey),
    chain: chain.map(subjectOf),
    warnings: options.warnings ?? [],
    ...(options.requestId ? { requestId: options.requestId } : {}),
    createdAt: createdAt.toISOString(),
  };
}

/**
 * Certificates in a data directory:
 *   certificates/<id>/key.pem (0600; key.pem.enc when encrypted at rest), cert.pem (leaf, then chain),
 *     meta.json — written last: it marks a complete entry;
 *   requests/<id>/key.pem(.enc), request.csr, meta.json — pending keys awaiting their certificate;
 *   active.json — `{ id, activatedAt }`, written only after the entry is complete;
 *   alongside.json — the same for a certificate of the other key kind served beside it (absent: none).
 * Every file is written atomically, so a crash leaves the previous state readable.
 */
export interface FileStoreOptions {
  now?: () => Date;
  /** Told about an entry list() skips because it cannot be read; the other entries are still listed. */
  onUnreadableEntry?: (id: string, error: unknown) => void;
  /** Encrypts keys at rest; without it keys are written as PEM, 0600. */
  sealer?: KeySealer | null;
}

export function createFileCertificateStore(dataDir: string, options: FileStoreOptions = {}): CertificateStore {
  const paths = storePaths(dataDir);
  const now = options.now ?? (() => new Date());
  const sealer = options.sealer ?? null;

  async function writeKey(plainPath: string, sealedPath: string, context: string, privateKeyPem: string): Promise<void> {
    if (sealer) await writeFileAtomic(sealedPath, sealer.seal(privateKeyPem, context), 0o600);
    else await writeFileAtomic(plainPath, privateKeyPem, 0o600);
  }

  /** Reads whichever form the key was written in; an encrypted one needs the store key. */
  async function readKey(plainPath: string, sealedPath: string, context: string): Promise<string> {
    let sealed: string | null = null;
    try {
      sealed = await readFile(sealedPath, 'utf8');
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    if (sealed === null) return readFile(plainPath, 'utf8');
    if (!sealer) throw new CertificateError('STORE_LOCKED', `${sealedPath} is encrypted; set CERT_STORE_KEY to read it`);
    return sealer.open(sealed, context);
  }

  async function pointerId(path: string): Promise<string | null> {
    let pointer: unknown;
    try {
      pointer = await readJson(path);
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    return checkId((pointer as { id?: unknown } | null)?.id, path);
  }
  const activeId = () => pointerId(paths.active);
  const alongsideId = () => pointerId(paths.alongside);

  /** The entry a pointer file names; a pointer naming a missing entry is corruption, not "no certificate". */
  async function loadPointed(path: string, id: string | null): Promise<CertificatePair | null> {
    if (id === null) return null;
    try {
      return (await readEntry(id)).bundle;
    } catch (error) {
      if (error instanceof CertificateError && error.code === 'UNKNOWN_CERTIFICATE') {
        throw new CertificateError('STORE_CORRUPT', `${basename(path)} names ${id}, but ${error.message}`);
      }
      throw error;
    }
  }

  async function readMeta(id: string): Promise<StoredCertificate> {
    const meta = (await readJson(paths.meta(id))) as Partial<StoredCertificate> | null;
    if (!meta || typeof meta !== 'object' || meta.id !== id || typeof meta.fingerprintSha256 !== 'string') {
      throw new CertificateError('STORE_CORRUPT', `${paths.meta(id)} does not describe certificate ${id}`);
    }
    if (typeof meta.publicKeySha256 === 'string') return meta as StoredCertificate;
    // Written by the first cut, before the richer metadata: fill it in from the certificate.
    const certificatePem = await readFile(paths.certificate(id), 'utf8');
    const origin = meta.origin ?? 'self-signed';
    return { ...certificateMetadata(id, certificatePem, { origin }, new Date(meta.createdAt ?? 0)), ...meta } as StoredCertificate;
  }

  /** Reads an entry and checks that its files belong together, so a bad entry is never served. */
  async function readEntry(id: string): Promise<{ meta: StoredCertificate; bundle: CertificatePair }> {
    let meta: StoredCertificate;
    let certificatePem: string;
    let privateKeyPem: string;
    try {
      meta = await readMeta(id);
      certificatePem = await readFile(paths.certificate(id), 'utf8');
      privateKeyPem = await readKey(paths.key(id), paths.sealedKey(id), `certificate ${id}`);
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

  async function get(id: string): Promise<StoredCertificate> {
    if (!idPattern.test(id)) throw new CertificateError('UNKNOWN_CERTIFICATE', `no certificate ${JSON.stringify(id)}`);
    try {
      return await readMeta(id);
    } catch (error) {
      if (isMissing(error)) throw new CertificateError('UNKNOWN_CERTIFICATE', `no certificate ${id}`);
      throw error;
    }
  }

  async function listIds(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir)).filter((name) => idPattern.test(name)).sort();
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  /** Renames first, so a crash half-way never leaves a half-deleted entry that still looks complete. */
  async function removeDir(dir: string, parent: string, id: string): Promise<void> {
    const doomed = join(parent, `.deleting-${id}-${randomBytes(4).toString('hex')}`);
    await rename(dir, doomed);
    await rm(doomed, { recursive: true, force: true });
  }

  async function readRequestMeta(id: string): Promise<PendingRequest> {
    if (!idPattern.test(id)) throw new CertificateError('UNKNOWN_REQUEST', `no pending request ${JSON.stringify(id)}`);
    try {
      const meta = (await readJson(paths.requestMeta(id))) as PendingRequest;
      if (meta?.id !== id) throw new CertificateError('STORE_CORRUPT', `${paths.requestMeta(id)} does not describe request ${id}`);
      return meta;
    } catch (error) {
      if (isMissing(error)) throw new CertificateError('UNKNOWN_REQUEST', `no pending request ${id}`);
      throw error;
    }
  }

  return {
    async save(material, saveOptions) {
      const settings: SaveOptions = typeof saveOptions === 'string' ? { origin: saveOptions } : saveOptions;
      if (!checkKeyMatchesCertificate(material.certificatePem, material.privateKeyPem)) {
        throw new CertificateError('KEY_MISMATCH', 'the private key does not belong to the certificate');
      }
      const createdAt = now();
      const id = newCertificateId(createdAt);
      const meta = certificateMetadata(id, material.certificatePem, settings, createdAt);
      await makePrivateDir(paths.root);
      await makePrivateDir(paths.certificates);
      await makePrivateDir(paths.entry(id));
      await writeKey(paths.key(id), paths.sealedKey(id), `certificate ${id}`, material.privateKeyPem);
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

    // active.json naming a missing entry is corruption, not "no certificate": never silently replace it.
    loadActive: async () => loadPointed(paths.active, await activeId()),

    async setAlongside(id) {
      if (id === null) {
        await rm(paths.alongside, { force: true });
        return;
      }
      checkId(id, 'activate alongside');
      await readEntry(id);
      await writeFileAtomic(paths.alongside, `${JSON.stringify({ id, activatedAt: now().toISOString() }, null, 2)}\n`, 0o644);
    },

    alongsideId,

    loadAlongside: async () => loadPointed(paths.alongside, await alongsideId()),

    async load(id) {
      await get(id);
      return (await readEntry(id)).bundle;
    },

    get,

    async list() {
      const entries: StoredCertificate[] = [];
      for (const id of await listIds(paths.certificates)) {
        try {
          entries.push(await readMeta(id));
        } catch (error) {
          // An entry without meta.json was interrupted before it was complete and was never active.
          if (!isMissing(error)) options.onUnreadableEntry?.(id, error);
        }
      }
      return entries;
    },

    async remove(id) {
      await get(id);
      if ((await activeId()) === id) throw new CertificateError('CERTIFICATE_ACTIVE', `certificate ${id} is active; activate another one before deleting it`);
      if ((await alongsideId()) === id) throw new CertificateError('CERTIFICATE_ACTIVE', `certificate ${id} is active alongside the active one; deactivate it before deleting it`);
      await removeDir(paths.entry(id), paths.certificates, id);
    },

    async saveRequest(request) {
      const createdAt = now();
      const id = newCertificateId(createdAt);
      const meta: PendingRequest = {
        id,
        serverName: request.serverName,
        subject: request.subject,
        subjectAltNames: request.subjectAltNames,
        keyType: request.keyType,
        publicKeySha256: request.publicKeySha256,
        createdAt: createdAt.toISOString(),
      };
      await makePrivateDir(paths.root);
      await makePrivateDir(paths.requests);
      await makePrivateDir(paths.request(id));
      await writeKey(paths.requestKey(id), paths.requestSealedKey(id), `request ${id}`, request.privateKeyPem);
      await writeFileAtomic(paths.requestCsr(id), request.csrPem, 0o644);
      await writeFileAtomic(paths.requestMeta(id), `${JSON.stringify(meta, null, 2)}\n`, 0o644);
      return meta;
    },

    async listRequests() {
      const requests: PendingRequest[] = [];
      for (const id of await listIds(paths.requests)) {
        try {
          requests.push(await readRequestMeta(id));
        } catch (error) {
          if (!(error instanceof CertificateError && error.code === 'UNKNOWN_REQUEST')) options.onUnreadableEntry?.(id, error);
        }
      }
      return requests;
    },

    async getRequest(id) {
      const meta = await readRequestMeta(id);
      return { ...meta, csrPem: await readFile(paths.requestCsr(id), 'utf8') };
    },

    async requestKey(id) {
      await readRequestMeta(id);
      return readKey(paths.requestKey(id), paths.requestSealedKey(id), `request ${id}`);
    },

    async removeRequest(id) {
      await readRequestMeta(id);
      if (await exists(paths.request(id))) await removeDir(paths.request(id), paths.requests, id);
    },
  };
}
