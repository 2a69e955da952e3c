export { startVsftpd, ensureFtpUser, vsftpdBinary, type VsftpdOptions, type RunningVsftpd, type PortRange } from './vsftpd.js';
export type { EnsureFtpUserOptions } from './system-user.js';
export { lookupUser, removeFtpUser, type SystemUser } from './system-user.js';
export { renderVsftpdConfig, type VsftpdConfigInput } from './vsftpd-config.js';
export { createFileBrowser, type FileBrowserOptions, type ListingEntry } from './file-browser.js';
export { seedSampleDirectory, type SeedResult } from './sample-content.js';
