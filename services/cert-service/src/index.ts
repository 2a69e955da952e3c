export { createCertService, buildCertApp, type CertService, type CertServiceConfig, type StartedService } from './service.js';
export {
  generateSelfSigned,
  normaliseSheet,
  randomSerialNumber,
  defaultValidityDays,
  type CertificateSheet,
  type KeyAndCertificate,
} from './self-signed.js';
export {
  describeCertificate,
  summarizeCertificate,
  checkKeyMatchesCertificate,
  certificateCoversName,
  parseCertificate,
  parsePrivateKey,
  type CertificateInfo,
} from './certificate-info.js';
export { parseServerName, ipAddressBytes, type ServerName } from './server-name.js';
export {
  createFileCertificateStore,
  newCertificateId,
  storePaths,
  type CertificateStore,
  type StoredCertificate,
  type CertificateOrigin,
  type FileStoreOptions,
} from './store.js';
export { CertificateError, certificateErrorCodes, type CertificateErrorCode } from './errors.js';
