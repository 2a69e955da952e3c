import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText } from './api.js';
import { fieldFor, formFromSettings, relatedFields, mappingRows, patchFromForm, rangeText, valueText, type PortMapView, type SettingsDocument, type SettingsForm } from './logic.js';
import { Badge, describedBy, Field, Notice, Panel, shortTime } from './ui.js';

interface Change {
  field: string;
  from: unknown;
  to: unknown;
}
interface Problem {
  field: string;
  message: string;
}
interface VersionSummary {
  version: number;
  createdAt: string;
  source: string;
  comment: string | null;
  restoredFrom: number | null;
  changes: Change[];
}
interface Preview {
  outcome: string;
  changes: Change[];
  warnings: Problem[];
  portMap: PortMapView;
}

function MappingTable({ portMap, testId, caption }: { portMap: PortMapView | null; testId: string; caption: string }) {
  const rows = mappingRows(portMap);
  return (
    <table data-testid={testId}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">What</th>
          <th scope="col">File server (plain)</th>
          <th scope="col">Public (TLS)</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr>
            <td colSpan={3}>No listener.</td>
          </tr>
        ) : null}
        {rows.map((row, index) => (
          <tr key={index}>
            <th scope="row">{row.what}</th>
            <td class="num">{row.plain}</td>
            <td class="num">
              → <b>{row.secure}</b>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SettingsTab({ readOnly }: { readOnly: boolean }) {
  const [current, setCurrent] = useState<{ version: number; settings: SettingsDocument } | null>(null);
  const [currentMap, setCurrentMap] = useState<PortMapView | null>(null);
  const [form, setForm] = useState<SettingsForm | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problems, setProblems] = useState<Partial<Record<keyof SettingsForm, string>>>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [warnings, setWarnings] = useState<Problem[]>([]);
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const [comment, setComment] = useState('');
  const [versions, setVersions] = useState<VersionSummary[]>([]);
  const [firewallFormat, setFirewallFormat] = useState('nftables');
  const [firewall, setFirewall] = useState('');
  const [forward, setForward] = useState<Array<{ listenerId: string; protocol: string; ports: { from: number; to: number }; purpose: string }>>([]);
  const timer = useRef<number | undefined>(undefined);

  const load = async () => {
    const [settings, portMap, history, ports] = await Promise.all([
      api<{ version: number; settings: SettingsDocument }>('GET', '/api/config/settings'),
      api<PortMapView>('GET', '/api/config/portmap'),
      api<{ versions: VersionSummary[] }>('GET', '/api/config/settings/versions?limit=20'),
      api<{ ports: typeof forward }>('GET', '/api/config/render/ports'),
    ]);
    if (!settings.ok) return setError(errorText(settings.error));
    setCurrent(settings.body);
    setForm(formFromSettings(settings.body.settings));
    if (portMap.ok) setCurrentMap(portMap.body);
    if (history.ok) setVersions(history.body.versions);
    if (ports.ok) setForward(ports.body.ports);
    setPreview(null);
    setProblems({});
    setGeneral([]);
  };
  useEffect(() => {
    void load();
  }, []);
  useEffect(() => {
    void api<string>('GET', `/api/config/render/firewall?format=${firewallFormat}`, undefined, { accept: 'text/plain' }).then((answer) => setFirewall(answer.ok ? String(answer.body) : errorText(answer.error)));
  }, [firewallFormat, current?.version]);

  /** Asks config-service what the form would give (a dry run stores nothing), and puts each problem next to its field. */
  const runPreview = async (next: SettingsForm) => {
    const { patch, errors } = patchFromForm(next);
    const local: Partial<Record<keyof SettingsForm, string>> = {};
    for (const item of errors) local[item.field] = item.message;
    if (errors.length > 0) {
      setProblems(local);
      setPreview(null);
      return;
    }
    const answer = await api<Preview>('PATCH', '/api/config/settings?dryRun=true', patch);
    const fieldProblems: Partial<Record<keyof SettingsForm, string>> = {};
    const others: string[] = [];
    if (answer.ok) {
      setPreview(answer.body);
      setWarnings(answer.body.warnings ?? []);
    } else {
      setPreview(null);
      const details = answer.error?.details as { errors?: Problem[]; warnings?: Problem[] } | undefined;
      for (const item of details?.errors ?? []) {
        // A collision is shown at both fields: the one named and the one it collides with.
        const fields = [fieldFor(item.field), ...relatedFields(item.message).map(fieldFor)].filter((field): field is keyof SettingsForm => field !== undefined);
        for (const field of new Set(fields)) fieldProblems[field] = fieldProblems[field] ? `${fieldProblems[field]}; ${item.message}` : item.message;
        if (fields.length === 0) others.push(`${item.field}: ${item.message}`);
      }
      setWarnings(details?.warnings ?? []);
      if (!details?.errors) others.push(errorText(answer.error));
    }
    setProblems(fieldProblems);
    setGeneral(others);
  };
  const edit = (field: keyof SettingsForm, value: string | boolean) => {
    if (!form) return;
    const next = { ...form, [field]: value } as SettingsForm;
    setForm(next);
    setMessage('');
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void runPreview(next), 250);
  };
  const apply = async () => {
    if (!form || !current) return;
    const { patch } = patchFromForm(form);
    const answer = await api<{ outcome: string; version: number }>('PATCH', '/api/config/settings', patch, { 'if-match': `"${current.version}"`, ...(comment ? { 'x-change-comment': comment } : {}) });
    if (!answer.ok) {
      setError(answer.status === 412 ? 'Someone else changed the settings since this page loaded them. The form now shows the current settings: make your change again.' : errorText(answer.error));
      if (answer.status === 412) await load();
      return;
    }
    setError('');
    setComment('');
    setMessage(answer.body.outcome === 'unchanged' ? 'Nothing to apply: the form equals the current settings.' : `Applied as settings version ${answer.body.version}. Gateways open the new ports now; removed ones drain.`);
    await load();
  };
  const rollback = async (version: number) => {
    const answer = await api<{ version: number; outcome: string }>('POST', '/api/config/settings/rollback', { version, comment: `roll back to version ${version}` });
    if (!answer.ok) return setError(errorText(answer.error));
    setError('');
    setMessage(answer.body.outcome === 'unchanged' ? `Version ${version} equals the current settings: nothing changed.` : `Rolled back: version ${answer.body.version} has the settings of version ${version}.`);
    await load();
  };

  if (!form || !current) return error ? <Notice kind="error">{error}</Notice> : <p class="loading">Loading…</p>;

  const input = (field: keyof SettingsForm, label: string, help?: string, props: Record<string, unknown> = {}) => {
    const id = `settings-${field}`;
    return (
      <Field id={id} label={label} help={help} error={problems[field]}>
        <input
          id={id}
          name={field}
          value={String(form[field])}
          disabled={readOnly}
          aria-invalid={problems[field] ? 'true' : undefined}
          aria-describedby={describedBy(id, Boolean(help), problems[field])}
          onInput={(e) => edit(field, (e.target as HTMLInputElement).value)}
          {...props}
        />
      </Field>
    );
  };
  const check = (field: keyof SettingsForm, label: string) => (
    <label class="inline" for={`settings-${field}`}>
      <input id={`settings-${field}`} type="checkbox" checked={Boolean(form[field])} disabled={readOnly} onChange={(e) => edit(field, (e.target as HTMLInputElement).checked)} /> {label}
    </label>
  );
  const hasProblems = Object.keys(problems).length > 0 || general.length > 0;
  const changes = preview?.changes ?? [];

  return (
    <div class="grid">
      {message ? <Notice kind="ok">{message}</Notice> : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      <Panel title={`File server and public ports — settings version ${current.version}`} id="settings-form">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void apply();
          }}
        >
          <fieldset>
            <legend>File server (plain)</legend>
            <div class="form-grid">
              {input('upstreamHost', 'Host', 'IP address or name of the file server, as this gateway reaches it.')}
              <div>
                {check('webEnabled', 'Web (HTTP) enabled')}
                {input('webPort', 'Web port', undefined, { inputMode: 'numeric' })}
              </div>
              <div>
                {check('ftpEnabled', 'FTP enabled')}
                {input('ftpPort', 'FTP port', undefined, { inputMode: 'numeric' })}
              </div>
              {input('passiveFrom', 'Passive range: first port', 'The file server\'s passive mode ports, as set in its FTP settings.', { inputMode: 'numeric' })}
              {input('passiveTo', 'Passive range: last port', undefined, { inputMode: 'numeric' })}
            </div>
          </fieldset>
          <fieldset>
            <legend>Public side (TLS)</legend>
            <div class="form-grid">
              {input('publicAddress', 'Public address', 'The IPv4 address clients reach (announced in passive replies). Empty: the address each client connected to.')}
              {input('bindHost', 'Listen on', '0.0.0.0: every address of this machine.')}
              {input('httpsPort', 'HTTPS port', 'Usually 443.', { inputMode: 'numeric' })}
              {input('ftpsPort', 'FTPS port (implicit TLS)', 'Usually 990.', { inputMode: 'numeric' })}
              {input('explicitFtpsPort', 'FTPS port (explicit, AUTH TLS)', 'For clients that start in plain FTP and send AUTH TLS (FileZilla\'s default); classically 21. Empty: not offered.', { inputMode: 'numeric' })}
              <Field id="settings-passiveMode" label="Public passive ports">
                <select id="settings-passiveMode" disabled={readOnly} value={form.passiveMode} onChange={(e) => edit('passiveMode', (e.target as HTMLSelectElement).value)}>
                  <option value="offset">File server's passive ports plus an offset</option>
                  <option value="pool">A range of their own</option>
                </select>
              </Field>
              {form.passiveMode === 'offset'
                ? input('passiveOffset', 'Offset', 'The classic setup uses +1000: 3000–3008 become 4000–4008.', { inputMode: 'numeric' })
                : [input('poolFrom', 'Public passive range: first port', 'Any free ports; at least as many as the file server\'s range.', { inputMode: 'numeric' }), input('poolTo', 'Public passive range: last port', undefined, { inputMode: 'numeric' })]}
            </div>
          </fieldset>
          <fieldset>
            <legend>TLS</legend>
            <div class="form-grid">
              <Field id="settings-tlsMinVersion" label="Minimum TLS version">
                <select id="settings-tlsMinVersion" disabled={readOnly} value={form.tlsMinVersion} onChange={(e) => edit('tlsMinVersion', (e.target as HTMLSelectElement).value)}>
                  <option value="TLSv1.2">TLS 1.2 (every current client)</option>
                  <option value="TLSv1.3">TLS 1.3 only</option>
                </select>
              </Field>
              <div>
                {check('allowClearData', 'Allow clear data connections (PROT C)')}
                {check('requireSessionReuse', 'Data connections must resume the control TLS session')}
              </div>
            </div>
          </fieldset>
          {general.length > 0 ? (
            <Notice kind="error">
              <ul>
                {general.map((text, index) => (
                  <li key={index}>{text}</li>
                ))}
              </ul>
            </Notice>
          ) : null}
          {warnings.length > 0 ? (
            <Notice kind="warn">
              <ul>
                {warnings.map((item, index) => (
                  <li key={index}>
                    {item.field}: {item.message}
                  </li>
                ))}
              </ul>
            </Notice>
          ) : null}
          <div class="preview" aria-live="polite">
            <MappingTable portMap={currentMap} testId="current-ports" caption={`Now (version ${current.version})`} />
            <MappingTable portMap={preview?.portMap ?? null} testId="preview-ports" caption={preview ? 'After applying (preview)' : 'After applying: change a field to see it'} />
          </div>
          {preview ? (
            <div data-testid="preview-changes">
              <h3>What changes</h3>
              {changes.length === 0 ? (
                <p class="muted">Nothing: the form equals the current settings.</p>
              ) : (
                <ul class="changes">
                  {changes.map((change) => (
                    <li key={change.field}>
                      <code>{change.field}</code>: {valueText(change.from)} → <b>{valueText(change.to)}</b>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          ) : null}
          <div class="actions">
            <Field id="settings-comment" label="Reason for the change (kept in the history)">
              <input id="settings-comment" value={comment} disabled={readOnly} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
            </Field>
            <button type="submit" class="primary" disabled={readOnly || hasProblems || !preview || changes.length === 0}>
              Apply
            </button>
            <button type="button" disabled={readOnly} onClick={() => void load()}>
              Discard changes
            </button>
          </div>
        </form>
      </Panel>

      <Panel title="History" id="history">
        <table data-testid="history">
          <thead>
            <tr>
              <th scope="col" class="num">Version</th>
              <th scope="col">When</th>
              <th scope="col">How</th>
              <th scope="col">What changed</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((item) => (
              <tr key={item.version} class={item.version === current.version ? 'current' : ''}>
                <th scope="row" class="num">
                  {item.version}
                </th>
                <td>{shortTime(item.createdAt)}</td>
                <td>
                  {item.source}
                  {item.restoredFrom ? ` of ${item.restoredFrom}` : ''}
                  {item.comment ? <div class="detail">{item.comment}</div> : null}
                </td>
                <td>
                  {item.changes.length === 0 ? (
                    <span class="muted">first version</span>
                  ) : (
                    <ul class="changes">
                      {item.changes.map((change) => (
                        <li key={change.field}>
                          <code>{change.field}</code>: {valueText(change.from)} → {valueText(change.to)}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  {item.version === current.version ? (
                    <Badge level="ok">Current</Badge>
                  ) : (
                    <button type="button" disabled={readOnly} onClick={() => void rollback(item.version)} aria-label={`Roll back to version ${item.version}`}>
                      Roll back to this
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Panel>

      <Panel title="Ports to open or forward" id="forward">
        <p>On a router in front of this server, forward these TCP ports to it; on its own firewall, allow them.</p>
        <table>
          <thead>
            <tr>
              <th scope="col">Port(s)</th>
              <th scope="col">Protocol</th>
              <th scope="col">For</th>
            </tr>
          </thead>
          <tbody>
            {forward.map((row) => (
              <tr key={row.listenerId}>
                <th scope="row" class="num">
                  {rangeText(row.ports)}
                </th>
                <td>TCP</td>
                <td>{row.purpose}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div class="actions">
          <Field id="firewall-format" label="Firewall rules for">
            <select id="firewall-format" value={firewallFormat} onChange={(e) => setFirewallFormat((e.target as HTMLSelectElement).value)}>
              <option value="nftables">nftables</option>
              <option value="iptables">iptables</option>
              <option value="ufw">ufw</option>
            </select>
          </Field>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(firewall)}>
            Copy rules
          </button>
          <a class="button" href="/api/config/render/stunnel.conf" download="stunnel.conf">
            Download the equivalent stunnel.conf
          </a>
        </div>
        <pre class="rules" tabIndex={0} aria-label={`${firewallFormat} rules`}>
          {firewall}
        </pre>
      </Panel>
    </div>
  );
}
