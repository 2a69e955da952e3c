import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from './api.js';
import { expiryWords } from './logic.js';
import { Badge, describedBy, Field, levelOfState, Notice, Panel, shortTime } from './ui.js';

interface Finding {
  code: string;
  severity: 'error' | 'warning';
  message: string;
}

interface StoredCertificate {
  id: string;
  subject: string;
  subjectAltNames: string[];
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  fingerprintSha1: string;
  keyType: string;
  chain: string[];
  origin: string;
  warnings: Finding[];
  createdAt: string;
  expiry?: { daysLeft: number; state: string };
}

interface PendingRequest {
  id: string;
  serverName: string;
  subject: string;
  keyType: string;
  createdAt: string;
}

const keyTypes = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384'];

const sheetFields = [
  { name: 'serverName', label: 'Server name (required)', help: 'The domain name or IP address people type to reach this server. Browsers and FTP clients compare it with the address they connected to: if it differs, they warn or refuse. This is the one field that must be right.' },
  { name: 'altNames', label: 'Other names (optional)', help: 'More names or addresses the same server answers to, separated by commas, e.g. ftp.example.com, 203.0.113.10.' },
  { name: 'organisation', label: 'Organisation', help: 'Your company or organisation, as clients see it in the certificate details.' },
  { name: 'organisationalUnit', label: 'Unit', help: 'Department, e.g. IT.' },
  { name: 'city', label: 'City', help: '' },
  { name: 'state', label: 'State or province', help: '' },
  { name: 'country', label: 'Country (two letters)', help: 'ISO code such as GB, US, DE.' },
  { name: 'email', label: 'Contact email', help: '' },
] as const;

type Sheet = Record<(typeof sheetFields)[number]['name'], string> & { keyType: string; validityDays: string };

const emptySheet: Sheet = { serverName: '', altNames: '', organisation: '', organisationalUnit: '', city: '', state: '', country: '', email: '', keyType: 'rsa-2048', validityDays: '825' };

/** The sheet as cert-service expects it: empty fields left out. */
function sheetBody(sheet: Sheet, withValidity: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const { name } of sheetFields) {
    const value = sheet[name].trim();
    if (value === '') continue;
    body[name] = name === 'altNames' ? value.split(/[\s,]+/).filter(Boolean) : value;
  }
  body.keyType = sheet.keyType;
  if (withValidity && sheet.validityDays.trim() !== '') body.validityDays = Number(sheet.validityDays);
  return body;
}

/** cert-service's refusals by sheet field: `details.problems` lines are "field: message"; a bad server name has its own code. */
function fieldErrors(error: { code: string; message: string; details?: unknown } | undefined): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!error) return errors;
  if (/SERVER_NAME/.test(error.code)) errors.serverName = error.message;
  const problems = (error.details as { problems?: string[] } | undefined)?.problems ?? [];
  for (const line of problems) {
    const colon = line.indexOf(': ');
    const field = (colon > 0 ? line.slice(0, colon) : 'body').split('.')[0] ?? 'body';
    const message = colon > 0 ? line.slice(colon + 2) : line;
    errors[field] = errors[field] ? `${errors[field]}; ${message}` : message;
  }
  return errors;
}

function SheetForm({ idPrefix, sheet, setSheet, errors, withValidity, disabled }: { idPrefix: string; sheet: Sheet; setSheet(sheet: Sheet): void; errors: Record<string, string>; withValidity: boolean; disabled: boolean }) {
  return (
    <div class="form-grid">
      {sheetFields.map((field) => {
        const id = `${idPrefix}-${field.name}`;
        return (
          <Field key={id} id={id} label={field.label} help={field.help || undefined} error={errors[field.name]}>
            <input
              id={id}
              name={field.name}
              value={sheet[field.name]}
              disabled={disabled}
              required={field.name === 'serverName'}
              aria-invalid={errors[field.name] ? 'true' : undefined}
              aria-describedby={describedBy(id, Boolean(field.help), errors[field.name])}
              onInput={(e) => setSheet({ ...sheet, [field.name]: (e.target as HTMLInputElement).value })}
            />
          </Field>
        );
      })}
      <Field id={`${idPrefix}-keyType`} label="Key type" help="RSA 2048 works with every client; ECDSA P-256 is smaller and faster where clients support it." error={errors.keyType}>
        <select id={`${idPrefix}-keyType`} value={sheet.keyType} disabled={disabled} onChange={(e) => setSheet({ ...sheet, keyType: (e.target as HTMLSelectElement).value })}>
          {keyTypes.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
      </Field>
      {withValidity ? (
        <Field id={`${idPrefix}-validityDays`} label="Valid for (days)" help="1 to 3650; browsers accept at most 825 days for certificates they trust." error={errors.validityDays}>
          <input id={`${idPrefix}-validityDays`} inputMode="numeric" value={sheet.validityDays} disabled={disabled} onInput={(e) => setSheet({ ...sheet, validityDays: (e.target as HTMLInputElement).value })} />
        </Field>
      ) : null}
    </div>
  );
}

function Findings({ findings }: { findings: Finding[] }) {
  if (findings.length === 0) return null;
  return (
    <ul class="findings">
      {findings.map((finding, index) => (
        <li key={index} class={`finding finding-${finding.severity}`}>
          <Badge level={finding.severity === 'error' ? 'bad' : 'warn'}>{finding.severity === 'error' ? 'Error' : 'Warning'}</Badge> <code>{finding.code}</code> {finding.message}
        </li>
      ))}
    </ul>
  );
}

function readFile(file: File, binary: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(reader.error);
    reader.onload = () => {
      if (!binary) return resolve(String(reader.result));
      const bytes = new Uint8Array(reader.result as ArrayBuffer);
      let text = '';
      for (const byte of bytes) text += String.fromCharCode(byte);
      resolve(btoa(text));
    };
    if (binary) reader.readAsArrayBuffer(file);
    else reader.readAsText(file);
  });
}

function LoadForm({ readOnly, onStored }: { readOnly: boolean; onStored(message: string): void }) {
  const [material, setMaterial] = useState({ certificate: '', key: '', chain: '', keyPassphrase: '', pkcs12: '', pkcs12Name: '', pkcs12Password: '', serverName: '' });
  const [verdict, setVerdict] = useState<{ ok: boolean; errors: Finding[]; warnings: Finding[]; leaf?: { subject?: string } } | null>(null);
  const [error, setError] = useState('');
  const [activate, setActivate] = useState(true);
  const body = () => {
    const out: Record<string, unknown> = {};
    if (material.pkcs12) {
      out.pkcs12 = material.pkcs12;
      if (material.pkcs12Password) out.pkcs12Password = material.pkcs12Password;
    } else out.certificate = material.certificate;
    if (material.key.trim()) out.key = material.key;
    if (material.keyPassphrase) out.keyPassphrase = material.keyPassphrase;
    if (material.chain.trim()) out.chain = material.chain;
    if (material.serverName.trim()) out.serverName = material.serverName.trim();
    return out;
  };
  const check = async () => {
    setError('');
    const answer = await api<{ ok: boolean; errors: Finding[]; warnings: Finding[] }>('POST', '/api/cert/certificates/validate', body());
    if (answer.ok) setVerdict(answer.body);
    else {
      setVerdict(null);
      setError(errorText(answer.error));
    }
  };
  const store = async () => {
    setError('');
    const answer = await api<{ certificate: StoredCertificate; warnings: Finding[] }>('POST', '/api/cert/certificates', { ...body(), activate });
    if (answer.ok) {
      setVerdict(null);
      setMaterial({ certificate: '', key: '', chain: '', keyPassphrase: '', pkcs12: '', pkcs12Name: '', pkcs12Password: '', serverName: '' });
      onStored(`Stored ${answer.body.certificate.subject}${activate ? ' and made it active: new connections get it now' : ''}.`);
    } else {
      const details = answer.error?.details as { errors?: Finding[]; warnings?: Finding[] } | undefined;
      if (details?.errors) setVerdict({ ok: false, errors: details.errors, warnings: details.warnings ?? [] });
      setError(errorText(answer.error));
    }
  };
  const pick = (field: 'certificate' | 'key' | 'chain') => async (event: Event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) setMaterial({ ...material, [field]: await readFile(file, false) });
  };
  const pickPkcs12 = async (event: Event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) setMaterial({ ...material, pkcs12: await readFile(file, true), pkcs12Name: file.name });
  };
  const update = (field: keyof typeof material) => (event: Event) => {
    setVerdict(null);
    setMaterial({ ...material, [field]: (event.target as HTMLInputElement | HTMLTextAreaElement).value });
  };
  const areas = [
    { field: 'certificate', label: 'Certificate (PEM)', help: 'Your certificate; the authority\'s intermediate certificates may follow it (or come first: the order is fixed for you).' },
    { field: 'key', label: 'Private key (PEM)', help: 'Leave empty for a certificate issued for a CSR made here: its key is already stored.' },
    { field: 'chain', label: 'Authority chain (PEM, optional)', help: 'Intermediate certificates from the authority.' },
  ] as const;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void store();
      }}
    >
      <div class="form-grid two">
        {areas.map((area) => (
          <Field key={area.field} id={`load-${area.field}`} label={area.label} help={area.help}>
            <textarea id={`load-${area.field}`} rows={6} spellcheck={false} disabled={readOnly} value={material[area.field]} onInput={update(area.field)} placeholder="-----BEGIN …-----" />
            <label class="file-pick">
              <span>Choose a file for {area.label.split(' (')[0]!.toLowerCase()}</span>
              <input type="file" disabled={readOnly} onChange={pick(area.field)} accept=".pem,.crt,.cer,.cert,.key,.txt" />
            </label>
          </Field>
        ))}
        <div>
          <Field id="load-keyPassphrase" label="Key passphrase (if the key is encrypted)">
            <input id="load-keyPassphrase" type="password" autocomplete="off" disabled={readOnly} value={material.keyPassphrase} onInput={update('keyPassphrase')} />
          </Field>
          <Field id="load-pkcs12" label="Or a PKCS#12 file (.p12 / .pfx)" help={material.pkcs12Name ? `Chosen: ${material.pkcs12Name}` : 'Certificate, key and chain in one file.'}>
            <input id="load-pkcs12" type="file" accept=".p12,.pfx" disabled={readOnly} onChange={pickPkcs12} />
          </Field>
          <Field id="load-pkcs12Password" label="PKCS#12 password">
            <input id="load-pkcs12Password" type="password" autocomplete="off" disabled={readOnly} value={material.pkcs12Password} onInput={update('pkcs12Password')} />
          </Field>
          <Field id="load-serverName" label="Server name clients use (optional)" help="Checked against the certificate's names; default: the CSR's server name.">
            <input id="load-serverName" disabled={readOnly} value={material.serverName} onInput={update('serverName')} />
          </Field>
        </div>
      </div>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {verdict ? (
        <div class="verdict" data-testid="verdict" aria-live="polite">
          <h3>
            Verdict: {verdict.ok ? <Badge level={verdict.warnings.length ? 'warn' : 'ok'}>{verdict.warnings.length ? 'Can be stored, with warnings' : 'Can be stored'}</Badge> : <Badge level="bad">Cannot be stored</Badge>}
          </h3>
          <Findings findings={[...verdict.errors, ...verdict.warnings]} />
        </div>
      ) : null}
      <div class="actions">
        <button type="button" disabled={readOnly} onClick={() => void check()}>
          Check
        </button>
        <label class="inline">
          <input type="checkbox" checked={activate} disabled={readOnly} onChange={(e) => setActivate((e.target as HTMLInputElement).checked)} /> Make it active after storing
        </label>
        <button type="submit" class="primary" disabled={readOnly || !verdict?.ok}>
          Save certificate
        </button>
      </div>
      <p class="muted">Check first: nothing is stored until the verdict allows it and you save.</p>
    </form>
  );
}

export function CertificateTab({ readOnly }: { readOnly: boolean }) {
  const [list, setList] = useState<{ activeId: string | null; alongside: { id: string } | null; certificates: StoredCertificate[] } | null>(null);
  const [requests, setRequests] = useState<PendingRequest[]>([]);
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const [mode, setMode] = useState<'none' | 'generate' | 'csr' | 'load'>('none');
  const [sheet, setSheet] = useState<Sheet>(emptySheet);
  const [sheetErrors, setSheetErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [csr, setCsr] = useState<{ id: string; pem: string } | null>(null);

  const load = async () => {
    const [certs, pending] = await Promise.all([api<{ activeId: string | null; alongside: { id: string } | null; certificates: StoredCertificate[] }>('GET', '/api/cert/certificates'), api<{ requests: PendingRequest[] }>('GET', '/api/cert/requests')]);
    if (certs.ok) setList(certs.body);
    else setError(errorText(certs.error));
    if (pending.ok) setRequests(pending.body.requests);
  };
  useEffect(() => {
    void load();
  }, []);
  const done = async (text: string) => {
    setMessage(text);
    setError('');
    setMode('none');
    await load();
  };
  const generate = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setSheetErrors({});
    const answer = await api<{ certificate: StoredCertificate }>('POST', '/api/cert/certificates/self-signed', { ...sheetBody(sheet, true), activate: true });
    setBusy(false);
    if (answer.ok) return done(`Generated a self-signed certificate for ${sheet.serverName} and made it active: new connections get it now. Give clients its stunnel.cert so they trust it.`);
    setSheetErrors(fieldErrors(answer.error));
    setError(errorText(answer.error));
  };
  const createCsr = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setSheetErrors({});
    const answer = await api<{ request: PendingRequest; csrPem: string }>('POST', '/api/cert/requests', sheetBody(sheet, false));
    setBusy(false);
    if (!answer.ok) {
      setSheetErrors(fieldErrors(answer.error));
      return setError(errorText(answer.error));
    }
    setCsr({ id: answer.body.request.id, pem: answer.body.csrPem });
    await done(`Created a key and a CSR for ${answer.body.request.serverName}. Send the CSR to your certificate authority, then load what it returns with "Load".`);
  };
  const act = async (method: string, path: string, text: string) => {
    const answer = await api(method, path);
    if (answer.ok) await done(text);
    else setError(errorText(answer.error));
  };
  const active = list?.certificates.find((item) => item.id === list.activeId) ?? null;
  const expiry = active?.expiry ? expiryWords(active.expiry.daysLeft, active.expiry.state) : null;

  return (
    <div class="grid">
      {message ? <Notice kind="ok">{message}</Notice> : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      <Panel
        title="Active certificate"
        id="active-certificate"
        actions={
          active ? (
            <>
              <a class="button" href="/api/cert/certificates/active/stunnel.cert" download="stunnel.cert">
                Export stunnel.cert
              </a>
              {readOnly ? null : (
                <a class="button" href="/api/cert/certificates/active/stunnel.cert.key" download="stunnel.cert.key">
                  Export stunnel.cert.key
                </a>
              )}
            </>
          ) : null
        }
      >
        {active ? (
          <dl class="facts" data-testid="active-certificate">
            <dt>Subject</dt>
            <dd>{active.subject}</dd>
            <dt>Names (SAN)</dt>
            <dd>{active.subjectAltNames.join(', ') || '—'}</dd>
            <dt>Issuer</dt>
            <dd>{active.issuer}</dd>
            <dt>Valid</dt>
            <dd>
              {shortTime(active.notBefore)} to {shortTime(active.notAfter)} {expiry ? <Badge level={expiry.level}>{expiry.text}</Badge> : null}
            </dd>
            <dt>Key type</dt>
            <dd>{active.keyType}</dd>
            <dt>SHA-256 fingerprint</dt>
            <dd>
              <code class="wrap">{active.fingerprintSha256}</code>
            </dd>
            <dt>SHA-1 fingerprint</dt>
            <dd>
              <code class="wrap">{active.fingerprintSha1}</code>
            </dd>
            <dt>Chain</dt>
            <dd>{active.chain.length ? <ol class="chain">{active.chain.map((subject, index) => <li key={index}>{subject}</li>)}</ol> : 'none (self-signed, or the authority\'s root signs it directly)'}</dd>
            <dt>Origin</dt>
            <dd>{active.origin}</dd>
          </dl>
        ) : (
          <Notice kind="warn">No certificate is active.</Notice>
        )}
      </Panel>

      <Panel
        title="Get a certificate"
        id="get-certificate"
        actions={
          <>
            <button type="button" aria-pressed={mode === 'generate'} disabled={readOnly} onClick={() => setMode(mode === 'generate' ? 'none' : 'generate')}>
              Auto-generate…
            </button>
            <button type="button" aria-pressed={mode === 'csr'} disabled={readOnly} onClick={() => setMode(mode === 'csr' ? 'none' : 'csr')}>
              Create CSR…
            </button>
            <button type="button" aria-pressed={mode === 'load'} disabled={readOnly} onClick={() => setMode(mode === 'load' ? 'none' : 'load')}>
              Load…
            </button>
          </>
        }
      >
        {mode === 'none' ? (
          <p class="muted">
            <b>Auto-generate</b> makes a self-signed certificate at once (clients must be given it to trust it). <b>Create CSR</b> makes a key and a request to send to a certificate authority. <b>Load</b> stores what an
            authority returned, or a certificate and key made elsewhere.
          </p>
        ) : null}
        {mode === 'generate' || mode === 'csr' ? (
          <form onSubmit={mode === 'generate' ? generate : createCsr} aria-label={mode === 'generate' ? 'Information sheet for a self-signed certificate' : 'Information sheet for a certificate signing request'}>
            <h3>{mode === 'generate' ? 'Information sheet — self-signed certificate' : 'Information sheet — certificate signing request'}</h3>
            <p class="muted">The information is written into the certificate and shown to users who open its details. Only the server name must be exact.</p>
            <SheetForm idPrefix={mode} sheet={sheet} setSheet={setSheet} errors={sheetErrors} withValidity={mode === 'generate'} disabled={readOnly || busy} />
            <div class="actions">
              <button type="submit" class="primary" disabled={readOnly || busy}>
                {busy ? 'Working…' : mode === 'generate' ? 'Generate and activate' : 'Create key and CSR'}
              </button>
            </div>
          </form>
        ) : null}
        {mode === 'load' ? <LoadForm readOnly={readOnly} onStored={(text) => void done(text)} /> : null}
        {csr ? (
          <div class="csr">
            <p>
              <a class="button primary" href={`/api/cert/requests/${encodeURIComponent(csr.id)}/csr`} download>
                Download the CSR
              </a>
            </p>
            <pre class="pem">{csr.pem}</pre>
          </div>
        ) : null}
      </Panel>

      <Panel title="Pending requests (CSRs)" id="requests">
        {requests.length === 0 ? (
          <p class="muted">None. A CSR made here waits here, with its key, until its certificate is loaded.</p>
        ) : (
          <table data-testid="requests">
            <thead>
              <tr>
                <th scope="col">Server name</th>
                <th scope="col">Subject</th>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {requests.map((request) => (
                <tr key={request.id}>
                  <th scope="row">{request.serverName}</th>
                  <td>{request.subject}</td>
                  <td>{request.keyType}</td>
                  <td>{shortTime(request.createdAt)}</td>
                  <td class="row-actions">
                    <a class="button" href={`/api/cert/requests/${encodeURIComponent(request.id)}/csr`} download>
                      Download CSR
                    </a>
                    <button type="button" class="danger" disabled={readOnly} onClick={() => void act('DELETE', `/api/cert/requests/${encodeURIComponent(request.id)}`, `Deleted the request for ${request.serverName} and its key.`)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Panel>

      <Panel title="Versions" id="versions">
        <table data-testid="certificate-versions">
          <thead>
            <tr>
              <th scope="col">Subject</th>
              <th scope="col">Origin</th>
              <th scope="col">Valid until</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(list?.certificates ?? []).map((item) => {
              const isActive = item.id === list?.activeId;
              const isAlongside = item.id === list?.alongside?.id;
              const activeKind = list?.certificates.find((entry) => entry.id === list.activeId)?.keyType.split(' ')[0];
              // Only a key of the other kind (ECDSA beside RSA, or RSA beside ECDSA) can be served beside the active one.
              const canGoAlongside = !isActive && !isAlongside && activeKind !== undefined && item.keyType.split(' ')[0] !== activeKind;
              const words = item.expiry ? expiryWords(item.expiry.daysLeft, item.expiry.state) : null;
              return (
                <tr key={item.id} class={isActive || isAlongside ? 'current' : ''}>
                  <th scope="row">
                    {item.subject}
                    <div class="detail">{item.subjectAltNames.join(', ')}</div>
                  </th>
                  <td>{item.origin}</td>
                  <td>{shortTime(item.notAfter)}</td>
                  <td>
                    {isActive ? (
                      <Badge level="ok">Active</Badge>
                    ) : isAlongside ? (
                      <Badge level="ok">Active alongside</Badge>
                    ) : (
                      <Badge level={words?.level === 'bad' ? 'bad' : 'idle'}>{words?.level === 'bad' ? 'Expired or invalid' : 'Stored'}</Badge>
                    )}
                    <div class="detail">{item.keyType}</div>
                  </td>
                  <td class="row-actions">
                    <button type="button" disabled={readOnly || isActive} onClick={() => void act('POST', `/api/cert/certificates/${encodeURIComponent(item.id)}/activate`, `Activated ${item.subject}: new connections get it now; open ones keep theirs.`)} aria-label={`Activate ${item.subject} (${item.id})`}>
                      {isActive ? 'Active' : 'Activate'}
                    </button>
                    {canGoAlongside ? (
                      <button type="button" disabled={readOnly} onClick={() => void act('POST', `/api/cert/certificates/${encodeURIComponent(item.id)}/activate-alongside`, `Serving ${item.subject} (${item.keyType}) alongside the active certificate: each client gets the one its TLS library prefers.`)} aria-label={`Serve ${item.subject} (${item.id}) alongside the active certificate`}>
                        Serve alongside
                      </button>
                    ) : null}
                    {isAlongside ? (
                      <button type="button" disabled={readOnly} onClick={() => void act('POST', `/api/cert/certificates/${encodeURIComponent(item.id)}/deactivate`, `Stopped serving ${item.subject} alongside the active certificate.`)} aria-label={`Stop serving ${item.subject} (${item.id}) alongside`}>
                        Stop serving
                      </button>
                    ) : null}
                    <button type="button" class="danger" disabled={readOnly || isActive || isAlongside} onClick={() => void act('DELETE', `/api/cert/certificates/${encodeURIComponent(item.id)}`, `Deleted ${item.subject}.`)} aria-label={`Delete ${item.subject} (${item.id})`}>
                      Delete
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <p class="muted">To roll back, activate an earlier version. The active one cannot be deleted. An ECDSA certificate can be served alongside an RSA one (or the reverse): clients that take ECDSA get it, the others the RSA one.</p>
      </Panel>
    </div>
  );
}

export { levelOfState };
