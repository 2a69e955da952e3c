export { startVsftpd, vsftpdBinary, type VsftpdOptions, type RunningVsftpd, type PortRange } from './vsftpd.js';
export { lookupUser, guestAccountName, pamServiceName, pamServiceDir, type SystemUser } from './ftp-account.js';
export { renderVsftpdConfig, type VsftpdConfigInput } from './vsftpd-config.js';
export { createFileBrowser, type FileBrowserOptions, type ListingEntry } from './file-browser.js';
export { seedSampleDirectory, type SeedResult } from './sample-content.js';
