export { createCertService, buildCertApp, healthReport, type CertService, type CertServiceConfig, type CertServiceState, type StartedService } from './service.js';
export { CertManager, type CertManagerOptions, type ListedCertificate, type LoadOutcome, type ValidationReport } from './cert-manager.js';
export { generateSelfSigned, clockSkewMs, type KeyAndCertificate } from './self-signed.js';
export { generateCsr, type KeyAndRequest } from './csr.js';
export { normaliseSheet, parseAltName, defaultValidityDays, maxValidityDays, type CertificateSheet, type NormalisedSheet } from './sheet.js';
export { randomSerialNumber } from './x509-build.js';
export { generateKeyPairFor, type GeneratedKeyPair } from './key-pairs.js';
export {
  describeCertificate,
  summarizeCertificate,
  checkKeyMatchesCertificate,
  certificateCoversName,
  parseCertificate,
  parsePrivateKey,
  describeKey,
  publicKeySha256,
  subjectAltNames,
  type CertificateInfo,
} from './certificate-info.js';
export { parseServerName, ipAddressBytes, type ServerName } from './server-name.js';
export { parsePem, type PemBlock, type PemParseResult } from './pem.js';
export { decodeMaterial, type DecodedMaterial } from './material-input.js';
export { validateMaterial, isSelfSigned, type ValidationInput, type ValidationResult, type LabelledCertificate } from './validate.js';
export { findingCatalogue, type FindingCode } from './findings.js';
export { expiryStatus, expiryNotice, expiryWarningDays } from './expiry.js';
export { openStoreEncryption, sealerFromKey, type KeySealer } from './at-rest.js';
export {
  createFileCertificateStore,
  newCertificateId,
  storePaths,
  splitCertificates,
  type CertificateStore,
  type StoredCertificate,
  type PendingRequest,
  type CertificateOrigin,
  type FileStoreOptions,
  type SaveOptions,
} from './store.js';
export { CertificateError, certificateErrorCodes, certificateErrorStatus, type CertificateErrorCode } from './errors.js';
