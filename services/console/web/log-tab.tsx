import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText } from './api.js';
import { handshakeAdvice, logQuery } from './logic.js';
import { Badge, Notice, Panel, type Level } from './ui.js';

type LogRecord = Record<string, unknown> & { time: string; level: string; service: string; msg: string; recordId?: string };

interface Summary {
  total: number;
  services: Array<{ service: string; total: number; levels: Record<string, number> }>;
  recentErrors: LogRecord[];
}

const emptyFilters = { service: '', replica: '', level: '', session: '', conn: '', client: '', text: '', from: '', to: '' };
type Filters = typeof emptyFilters;
const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const shown = 300;

function levelBadge(level: string): Level {
  return level === 'error' || level === 'fatal' ? 'bad' : level === 'warn' ? 'warn' : level === 'info' ? 'ok' : 'idle';
}

/** The log-service filters: a client address is searched as text (records carry it in their fields). */
function queryFor(filters: Filters): Record<string, string> {
  const { client, text, ...rest } = filters;
  return { ...rest, text: [text, client ? `"${client}"` : ''].filter(Boolean).join(' ') };
}

const hiddenFields = new Set(['time', 'level', 'service', 'replica', 'msg', 'recordId', 'session', 'conn', 'seq']);

function RecordDetails({ record }: { record: LogRecord }) {
  const reason = typeof record.reason === 'string' ? record.reason : null;
  const handshake = /handshake/i.test(record.msg) && reason;
  const rest = Object.entries(record).filter(([name]) => !hiddenFields.has(name));
  return (
    <>
      {handshake ? (
        <div class="explain" data-testid="handshake-explained">
          <b>Why:</b> {reason}. <b>What to do:</b> {handshakeAdvice(reason)}
        </div>
      ) : null}
      {rest.length > 0 ? (
        <div class="fields">
          {rest.map(([name, value]) => (
            <span key={name} class="kv">
              <span class="k">{name}</span>=<span class="v">{typeof value === 'string' ? value : JSON.stringify(value)}</span>
            </span>
          ))}
        </div>
      ) : null}
    </>
  );
}

export function LogTab() {
  const [filters, setFilters] = useState<Filters>(emptyFilters);
  const [applied, setApplied] = useState<Filters>(emptyFilters);
  const [records, setRecords] = useState<LogRecord[]>([]);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [follow, setFollow] = useState(false);
  const [followState, setFollowState] = useState('');
  const [error, setError] = useState('');
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const source = useRef<EventSource | null>(null);

  const query = async (use: Filters, cursor?: string) => {
    const answer = await api<{ records: LogRecord[]; nextCursor: string | null }>('GET', `/api/logs?${logQuery(queryFor(use), { limit: '100', ...(cursor ? { cursor } : {}) })}`);
    if (!answer.ok) return setError(errorText(answer.error));
    setError('');
    setRecords((old) => (cursor ? [...old, ...answer.body.records] : answer.body.records));
    setNextCursor(answer.body.nextCursor);
  };
  const loadSummary = async () => {
    const answer = await api<Summary>('GET', '/api/logs/summary?from=24h&errors=5');
    if (answer.ok) setSummary(answer.body);
  };
  useEffect(() => {
    void query(applied);
    void loadSummary();
  }, [applied]);

  // Live follow: new records on top as log-service stores them (EventSource reconnects by itself, resuming after the last id).
  useEffect(() => {
    source.current?.close();
    source.current = null;
    if (!follow) {
      setFollowState('');
      return;
    }
    const { from: _from, to: _to, ...live } = queryFor(applied);
    const events = new EventSource(`/api/logs/follow?${logQuery(live)}`);
    source.current = events;
    setFollowState('connecting');
    events.onopen = () => setFollowState('live');
    events.onerror = () => setFollowState('reconnecting');
    events.addEventListener('record', (event) => {
      const record = JSON.parse((event as MessageEvent<string>).data) as LogRecord;
      setRecords((old) => (old.some((item) => item.recordId && item.recordId === record.recordId) ? old : [record, ...old].slice(0, shown)));
    });
    return () => events.close();
  }, [follow, applied]);

  const set = (field: keyof Filters) => (event: Event) => setFilters({ ...filters, [field]: (event.target as HTMLInputElement | HTMLSelectElement).value });
  const showSession = (session: string) => {
    const next = { ...emptyFilters, session };
    setFilters(next);
    setApplied(next);
  };
  const showConn = (conn: string) => {
    const next = { ...emptyFilters, conn };
    setFilters(next);
    setApplied(next);
  };
  const text = (field: keyof Filters, label: string, placeholder = '') => (
    <div class="field">
      <label for={`log-${field}`}>{label}</label>
      <input id={`log-${field}`} name={field} value={filters[field]} placeholder={placeholder} onInput={set(field)} />
    </div>
  );

  return (
    <div class="grid log-grid">
      <Panel title="Filters" id="log-filters">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setApplied({ ...filters });
          }}
        >
          <div class="form-grid">
            <div class="field">
              <label for="log-service">Service</label>
              <select id="log-service" value={filters.service} onChange={set('service')}>
                <option value="">any</option>
                {['tunnel-gateway', 'config-service', 'cert-service', 'log-service', 'console'].map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            </div>
            {text('replica', 'Replica')}
            <div class="field">
              <label for="log-level">Level at least</label>
              <select id="log-level" value={filters.level} onChange={set('level')}>
                <option value="">any</option>
                {levels.map((level) => (
                  <option key={level} value={level}>
                    {level}
                  </option>
                ))}
              </select>
            </div>
            {text('session', 'Session')}
            {text('conn', 'Connection')}
            {text('client', 'Client address', '203.0.113.7')}
            {text('text', 'Text', 'handshake')}
            {text('from', 'From', '1h, or 2030-01-01T10:00:00Z')}
            {text('to', 'To')}
          </div>
          <div class="actions">
            <button type="submit" class="primary">
              Show
            </button>
            <button
              type="button"
              onClick={() => {
                setFilters(emptyFilters);
                setApplied(emptyFilters);
              }}
            >
              Clear filters
            </button>
            <label class="inline" for="log-follow">
              <input id="log-follow" type="checkbox" checked={follow} onChange={(e) => setFollow((e.target as HTMLInputElement).checked)} /> Live follow
            </label>
            {follow ? (
              <span data-testid="follow-state">
                <Badge level={followState === 'live' ? 'ok' : 'warn'}>{followState === 'live' ? 'Following live' : followState === 'connecting' ? 'Connecting' : 'Reconnecting'}</Badge>
              </span>
            ) : null}
          </div>
        </form>
      </Panel>

      <Panel title="Last 24 hours" id="log-summary">
        {summary ? (
          <>
            <table>
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  {['info', 'warn', 'error'].map((level) => (
                    <th scope="col" class="num" key={level}>
                      {level}
                    </th>
                  ))}
                  <th scope="col" class="num">
                    all
                  </th>
                </tr>
              </thead>
              <tbody>
                {summary.services.map((row) => (
                  <tr key={row.service}>
                    <th scope="row">{row.service}</th>
                    {['info', 'warn', 'error'].map((level) => (
                      <td class="num" key={level}>
                        {row.levels[level] ?? 0}
                      </td>
                    ))}
                    <td class="num">{row.total}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h3>Latest errors</h3>
            {summary.recentErrors.length === 0 ? (
              <p class="muted">None.</p>
            ) : (
              <ul class="errors">
                {summary.recentErrors.map((record, index) => (
                  <li key={index}>
                    <span class="time">{record.time.slice(11, 19)}</span> <b>{record.service}</b> {record.msg}
                  </li>
                ))}
              </ul>
            )}
          </>
        ) : (
          <p class="muted">Loading…</p>
        )}
      </Panel>

      <Panel title={applied.session ? `Session ${applied.session}: control and data connections` : 'Records, newest first'} id="log-records">
        {error ? <Notice kind="error">{error}</Notice> : null}
        <table class="records" data-testid="log-records">
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Level</th>
              <th scope="col">Service</th>
              <th scope="col">Session / connection</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {records.length === 0 ? (
              <tr>
                <td colSpan={5}>No record matches.</td>
              </tr>
            ) : null}
            {records.map((record, index) => (
              <tr key={record.recordId ?? index} class={`level-${record.level}`}>
                <td class="time">{String(record.time).replace('T', ' ').slice(0, 23)}</td>
                <td>
                  <Badge level={levelBadge(record.level)}>{record.level}</Badge>
                </td>
                <td>
                  {record.service}
                  {record.replica ? <div class="detail">{String(record.replica)}</div> : null}
                </td>
                <td>
                  {typeof record.session === 'string' ? (
                    <button type="button" class="link" data-session={record.session} onClick={() => showSession(record.session as string)} title="Show every record of this session">
                      {record.session}
                    </button>
                  ) : null}
                  {typeof record.conn === 'string' ? (
                    <button type="button" class="link detail" onClick={() => showConn(record.conn as string)} title="Show this connection">
                      {record.conn}
                    </button>
                  ) : null}
                </td>
                <td class="message">
                  <span class="msg">{record.msg}</span>
                  <RecordDetails record={record} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {nextCursor && !follow ? (
          <div class="actions">
            <button type="button" onClick={() => void query(applied, nextCursor)}>
              Older records
            </button>
          </div>
        ) : null}
      </Panel>
    </div>
  );
}
