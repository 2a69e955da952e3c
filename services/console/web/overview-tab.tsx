import { useState } from 'preact/hooks';
import { api, errorText } from './api.js';
import { LoginBansPanel } from './login-bans-panel.js';
import { expiryWords, rangeText } from './logic.js';
import { Badge, levelOfState, Notice, Panel, shortTime, usePolling } from './ui.js';

interface Replica {
  replica: string;
  state: string;
  reasons: string[];
  settingsVersion: number | null;
  certificateId: string | null;
  openConnections: number | null;
  controlSessions: number | null;
  lastSeen: string | null;
}

interface ListenerRow {
  id: string;
  protocol: string;
  tlsMode: string;
  ports: { from: number; to: number };
}

interface Overview {
  settings: { version: number; tunnelEnabled: boolean; publicAddress: string | null } | { error: string };
  portMap: { version: number; tunnelEnabled: boolean; listeners: ListenerRow[] } | { error: string };
  certificate: { active: { id: string; subject: string; notAfter: string; subjectAltNames?: string[]; expiry?: { daysLeft: number; state: string } } | null; summary: { daysLeft: number; state: string } | null } | { error: string };
  services: Array<{ name: string; state: string; detail: string }>;
  replicas: Replica[];
}

export function OverviewTab({ readOnly }: { readOnly: boolean }) {
  const [overview, setOverview] = useState<Overview | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState('');
  const load = async () => {
    const answer = await api<Overview>('GET', '/api/overview');
    if (answer.ok) {
      setOverview(answer.body);
      setError('');
    } else setError(errorText(answer.error));
  };
  usePolling(load);
  const switchTunnel = async (enabled: boolean) => {
    setBusy(true);
    setMessage('');
    const answer = await api<{ version: number }>('POST', '/api/tunnel', { enabled });
    setBusy(false);
    if (!answer.ok) setError(errorText(answer.error));
    else setMessage(enabled ? `Started: settings version ${answer.body.version} opens every public port.` : `Stopped: settings version ${answer.body.version} closes every public port.`);
    await load();
  };
  if (!overview) return error ? <Notice kind="error">{error}</Notice> : <p class="loading">Loading…</p>;

  const settings = 'error' in overview.settings ? null : overview.settings;
  const running = settings?.tunnelEnabled ?? false;
  const liveReplicas = overview.replicas.filter((replica) => replica.state === 'ready' || replica.state === 'degraded');
  const tunnelState = !settings ? 'unknown' : !running ? 'stopped' : liveReplicas.length > 0 ? 'running' : 'not-ready';
  const tunnelWords: Record<string, string> = { running: 'Running', stopped: 'Stopped', 'not-ready': 'Starting or failing — no gateway serves yet', unknown: 'Unknown (config-service unreachable)' };
  const certificate = 'error' in overview.certificate ? null : overview.certificate;
  const expiry = certificate?.summary ? expiryWords(certificate.summary.daysLeft, certificate.summary.state) : null;
  const host = settings?.publicAddress || location.hostname;
  // What clients use is what the gateways open: nothing while the tunnel is stopped.
  const listeners = 'error' in overview.portMap || !overview.portMap.tunnelEnabled ? [] : overview.portMap.listeners;
  const https = listeners.find((row) => row.protocol === 'http');
  const ftps = listeners.find((row) => row.protocol === 'ftp-control' && row.tlsMode === 'implicit');
  const explicit = listeners.find((row) => row.protocol === 'ftp-control' && row.tlsMode === 'explicit');
  const data = listeners.find((row) => row.protocol === 'ftp-data');

  return (
    <div class="grid">
      {error ? <Notice kind="error">{error}</Notice> : null}
      {message ? <Notice kind="ok">{message}</Notice> : null}
      <Panel
        title="Tunnel"
        id="tunnel"
        actions={
          <>
            <button type="button" class="primary" disabled={readOnly || busy || running} onClick={() => void switchTunnel(true)}>
              Start
            </button>
            <button type="button" class="danger" disabled={readOnly || busy || !running} onClick={() => void switchTunnel(false)}>
              Stop
            </button>
          </>
        }
      >
        <p class="big-status" data-testid="tunnel-state">
          <Badge level={levelOfState(tunnelState)}>{tunnelWords[tunnelState]}</Badge>
        </p>
        <p class="muted">
          Settings version {settings?.version ?? '—'}. Stop closes every public port on every gateway; open transfers are drained. Start opens them again.
        </p>
      </Panel>

      <Panel title="Certificate in use" id="cert-summary">
        {certificate?.active ? (
          <dl class="facts">
            <dt>Subject</dt>
            <dd>{certificate.active.subject}</dd>
            <dt>Names</dt>
            <dd>{(certificate.active.subjectAltNames ?? []).join(', ') || '—'}</dd>
            <dt>Valid until</dt>
            <dd>{shortTime(certificate.active.notAfter)}</dd>
            <dt>Days left</dt>
            <dd data-testid="days-left">{expiry ? <Badge level={expiry.level}>{expiry.text}</Badge> : '—'}</dd>
          </dl>
        ) : (
          <Notice kind="warn">{'error' in overview.certificate ? overview.certificate.error : 'No certificate is active: generate or load one on the Certificate tab.'}</Notice>
        )}
      </Panel>

      <Panel title="Services" id="services">
        <table>
          <caption class="sr-only">Health of every service</caption>
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">State</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {overview.services.map((service) => (
              <tr key={service.name}>
                <th scope="row">{service.name}</th>
                <td>
                  <Badge level={levelOfState(service.state)}>{service.state}</Badge>
                </td>
                <td class="detail">{service.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Panel>

      <Panel title="Gateway replicas" id="replicas">
        <table data-testid="replicas">
          <caption class="sr-only">What every gateway replica applied</caption>
          <thead>
            <tr>
              <th scope="col">Replica</th>
              <th scope="col">State</th>
              <th scope="col">Settings version</th>
              <th scope="col">Certificate</th>
              <th scope="col" class="num">Open connections</th>
              <th scope="col">Last heard</th>
            </tr>
          </thead>
          <tbody>
            {overview.replicas.length === 0 ? (
              <tr>
                <td colSpan={6}>No gateway replica is known.</td>
              </tr>
            ) : null}
            {overview.replicas.map((replica) => {
              const behind = settings && replica.settingsVersion !== null && replica.settingsVersion !== settings.version;
              const certMatches = certificate?.active && replica.certificateId === certificate.active.id;
              return (
                <tr key={replica.replica}>
                  <th scope="row">{replica.replica}</th>
                  <td>
                    <Badge level={levelOfState(replica.state)}>{replica.state}</Badge>
                    {replica.reasons.length > 0 ? <div class="detail">{replica.reasons.join('; ')}</div> : null}
                  </td>
                  <td>
                    {replica.settingsVersion ?? '—'}
                    {behind ? <span class="detail"> (current is {settings!.version})</span> : null}
                  </td>
                  <td>
                    <code title={replica.certificateId ?? ''}>{replica.certificateId ? replica.certificateId.slice(0, 24) : '—'}</code>
                    {replica.certificateId ? <span class="detail">{certMatches ? ' (active)' : ' (not the active one)'}</span> : null}
                  </td>
                  <td class="num">{replica.openConnections ?? '—'}</td>
                  <td>{shortTime(replica.lastSeen)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Panel>

      <Panel title="How clients connect" id="connect">
        {!https && !ftps ? <Notice kind="warn">No public port is open (the tunnel is stopped or nothing is enabled).</Notice> : null}
        <dl class="facts">
          {https ? (
            <>
              <dt>Web browsers</dt>
              <dd>
                <code>https://{host}:{rangeText(https.ports)}/</code>
              </dd>
            </>
          ) : null}
          {ftps ? (
            <>
              <dt>FTP, implicit TLS</dt>
              <dd>
                <code>ftps://{host}:{rangeText(ftps.ports)}</code> — passive data on {data ? rangeText(data.ports) : '—'}, encrypted too
              </dd>
            </>
          ) : null}
          <dt>FTP, explicit TLS (AUTH TLS)</dt>
          <dd>{explicit ? <code>ftp://{host}:{rangeText(explicit.ports)}</code> : 'not offered by these settings: clients use implicit TLS'}</dd>
        </dl>
        {ftps ? (
          <div class="howto">
            <h3>FileZilla</h3>
            <p>
              Site Manager → Protocol <b>FTP – File Transfer Protocol</b>, Encryption <b>Require implicit FTP over TLS</b>, Host <code>{host}</code>, Port <code>{rangeText(ftps.ports)}</code>, Logon type Normal.
            </p>
            <h3>WinSCP</h3>
            <p>
              File protocol <b>FTP</b>, Encryption <b>TLS/SSL Implicit encryption</b>, Host <code>{host}</code>, Port <code>{rangeText(ftps.ports)}</code>.
            </p>
            <h3>curl</h3>
            <pre>
              <code>
                curl --ssl-reqd --cacert stunnel.cert ftps://USER:PASSWORD@{host}:{rangeText(ftps.ports)}/{'\n'}
                {https ? `curl --cacert stunnel.cert https://${host}:${rangeText(https.ports)}/` : ''}
              </code>
            </pre>
            <h3>lftp</h3>
            <pre>
              <code>lftp -e 'set ssl:ca-file stunnel.cert; ls; bye' ftps://USER@{host}:{rangeText(ftps.ports)}</code>
            </pre>
            <p class="muted">
              Explicit TLS clients (FileZilla "Require explicit FTP over TLS", <code>curl --ssl-reqd ftp://</code>, lftp <code>set ftp:ssl-force true</code>) need an explicit port, which these settings do not open. A self-signed certificate must be given to clients:
              download <code>stunnel.cert</code> on the Certificate tab.
            </p>
          </div>
        ) : null}
      </Panel>
      <LoginBansPanel readOnly={readOnly} />
    </div>
  );
}
