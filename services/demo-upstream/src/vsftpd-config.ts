import { isIPv4, isIPv6 } from 'node:net';

export interface PortRange {
  from: number;
  to: number;
}

export interface VsftpdConfigInput {
  host: string;
  port: number;
  passiveRange: PortRange;
  rootDir: string;
  /** Only this virtual user may log in (vsftpd's userlist in allow mode). */
  userListFile: string;
  /** The PAM service that knows the virtual user (and nothing else). */
  pamService: string;
  /** The system account, without shell or password, that virtual users act as on files. */
  guestAccount: string;
  xferLogFile: string;
  vsftpdLogFile: string;
  /** An empty directory, not writable by the FTP user, for vsftpd's unprivileged helper. */
  secureChrootDir: string;
  /** Address advertised in 227 replies; when absent vsftpd uses the local address of the control connection. */
  pasvAddress?: string;
  /**
   * Accept passive data connections from an IP other than the control connection's.
   * The TLS gateway runs several replicas: the data connection may reach vsftpd from
   * a different replica than the control connection, and the gateway already checks
   * the real client's IP against its lease. Without this vsftpd answers "425 Security:
   * Bad IP connecting." to such transfers.
   */
  pasvPromiscuous: boolean;
  banner?: string;
}

export type ConfigValue = string | number | boolean;

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** The settings as ordered name/value pairs; every name exists in vsftpd 3.0.3 (Debian build). */
export function vsftpdSettings(input: VsftpdConfigInput): Array<[string, ConfigValue]> {
  const { host, port, passiveRange } = input;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid FTP port ${port}`);
  if (
    !Number.isInteger(passiveRange.from) ||
    !Number.isInteger(passiveRange.to) ||
    passiveRange.from < 1024 ||
    passiveRange.to > 65535 ||
    passiveRange.from > passiveRange.to
  ) {
    throw new Error(`invalid passive range ${passiveRange.from}-${passiveRange.to}`);
  }
  const ipv6 = isIPv6(host);
  if (!ipv6 && !isIPv4(host) && !isWildcard(host)) throw new Error(`vsftpd needs a numeric listen address, got "${host}"`);

  const listen: Array<[string, ConfigValue]> = ipv6
    ? [['listen', false], ['listen_ipv6', true], ...(isWildcard(host) ? [] : [['listen_address6', host] as [string, ConfigValue]])]
    : [['listen', true], ['listen_ipv6', false], ...(isWildcard(host) ? [] : [['listen_address', host] as [string, ConfigValue]])];
  const pasvAddress = input.pasvAddress ?? (isWildcard(host) || ipv6 ? undefined : host);

  return [
    // Standalone, in the foreground, so that we own the process and its exit.
    ...listen,
    ['listen_port', port],
    ['background', false],
    ['run_as_launching_user', false],
    ['one_process_model', false],
    // The sandboxes use namespaces and seccomp filters that containers and newer
    // kernels/glibc refuse ("500 OOPS: child died"); this server only runs on loopback or a private network.
    ['seccomp_sandbox', false],
    ['isolate', false],
    ['isolate_network', false],
    ['secure_chroot_dir', input.secureChrootDir],
    ['nopriv_user', 'nobody'],
    ['ftpd_banner', input.banner ?? 'Secure Transfers demo upstream (vsftpd)'],
    // Who may log in: virtual users of this instance's own PAM service, none of the machine's accounts.
    ['anonymous_enable', false],
    ['local_enable', true],
    ['pam_service_name', input.pamService],
    ['guest_enable', true],
    ['guest_username', input.guestAccount],
    // Virtual users get the local-user settings below (write, umask, local_root), not the anonymous ones.
    ['virtual_use_local_privs', true],
    ['userlist_enable', true],
    ['userlist_deny', false],
    ['userlist_file', input.userListFile],
    // pam_pwdfile already pauses about 2 s after a wrong password; vsftpd's own delay would add to it.
    ['delay_failed_login', 0],
    ['max_login_fails', 3],
    // What they may do.
    ['write_enable', true],
    ['local_umask', '022'],
    ['file_open_mode', '0666'],
    ['local_root', input.rootDir],
    ['chroot_local_user', false],
    ['dirlist_enable', true],
    ['download_enable', true],
    ['dirmessage_enable', false],
    ['hide_ids', false],
    ['use_localtime', false],
    ['utf8_filesystem', true],
    // Data connections.
    ['pasv_enable', true],
    ['pasv_min_port', passiveRange.from],
    ['pasv_max_port', passiveRange.to],
    ...(pasvAddress ? [['pasv_address', pasvAddress] as [string, ConfigValue]] : []),
    ['pasv_promiscuous', input.pasvPromiscuous],
    ['port_enable', true],
    ['connect_from_port_20', false],
    ['async_abor_enable', false],
    // Limits: the gateway tests open 50 sessions at once, all from one IP.
    ['max_clients', 200],
    ['max_per_ip', 100],
    ['idle_session_timeout', 300],
    ['data_connection_timeout', 120],
    ['accept_timeout', 60],
    ['connect_timeout', 60],
    // Logs: the vsftpd log carries every command and reply (PASS is masked by vsftpd).
    ['syslog_enable', false],
    ['xferlog_enable', true],
    ['xferlog_std_format', false],
    ['dual_log_enable', true],
    ['xferlog_file', input.xferLogFile],
    ['vsftpd_log_file', input.vsftpdLogFile],
    ['log_ftp_protocol', true],
    // No TLS here: that is the gateway's job.
    ['ssl_enable', false],
  ];
}

function formatValue(value: ConfigValue): string {
  if (typeof value === 'boolean') return value ? 'YES' : 'NO';
  return String(value);
}

export function renderVsftpdConfig(input: VsftpdConfigInput): string {
  const lines = vsftpdSettings(input).map(([name, value]) => {
    const text = formatValue(value);
    // vsftpd reads the rest of the line verbatim: a newline would smuggle in another setting.
    if (/[\r\n]/.test(text)) throw new Error(`vsftpd setting ${name} contains a line break`);
    return `${name}=${text}`;
  });
  return `# Written by @st/demo-upstream; regenerated on every start.\n${lines.join('\n')}\n`;
}
