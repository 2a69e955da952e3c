import { useState } from 'preact/hooks';
import { api, errorText } from './api.js';
import { Notice, Panel, shortTime, usePolling } from './ui.js';

interface LoginBan {
  address: string;
  bannedAt: string;
  bannedUntil: string;
  failures: number;
  users: string[];
  offence: number;
}

/** The login defender's bans: who is refused, until when, which user names it tried; an admin lifts a ban. */
export function LoginBansPanel({ readOnly }: { readOnly: boolean }) {
  const [bans, setBans] = useState<LoginBan[] | null>(null);
  const [error, setError] = useState('');
  const [message, setMessage] = useState('');
  const load = async () => {
    const answer = await api<{ bans: LoginBan[] }>('GET', '/api/config/login-bans');
    if (answer.ok) {
      setBans(answer.body.bans);
      setError('');
    } else setError(errorText(answer.error));
  };
  usePolling(load);
  const lift = async (address: string) => {
    setMessage('');
    const answer = await api('DELETE', `/api/config/login-bans/${encodeURIComponent(address)}`);
    if (answer.ok) setMessage(`Lifted the ban on ${address}: it may log in again, and its earlier failures are forgotten.`);
    else setError(errorText(answer.error));
    await load();
  };
  return (
    <Panel title="Login bans" id="login-bans">
      {error ? <Notice kind="error">{error}</Notice> : null}
      {message ? <Notice kind="ok">{message}</Notice> : null}
      <table data-testid="login-bans">
        <caption class="sr-only">Client addresses refused after repeated failed FTP logins</caption>
        <thead>
          <tr>
            <th scope="col">Address</th>
            <th scope="col">Refused until</th>
            <th scope="col" class="num">Failed logins</th>
            <th scope="col">User names tried</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {bans === null ? (
            <tr>
              <td colSpan={5}>{error ? '—' : 'Loading…'}</td>
            </tr>
          ) : bans.length === 0 ? (
            <tr>
              <td colSpan={5}>No address is banned.</td>
            </tr>
          ) : (
            bans.map((ban) => (
              <tr key={ban.address}>
                <th scope="row">{ban.address}</th>
                <td>
                  {shortTime(ban.bannedUntil)}
                  {ban.offence > 1 ? <div class="detail">ban number {ban.offence} (each lasts twice as long)</div> : null}
                </td>
                <td class="num">{ban.failures}</td>
                <td>{ban.users.map((user) => user || '(none)').join(', ')}</td>
                <td class="row-actions">
                  <button type="button" disabled={readOnly} onClick={() => void lift(ban.address)} aria-label={`Lift the ban on ${ban.address}`}>
                    Lift
                  </button>
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      <p class="muted">After repeated failed FTP logins from one address, the gateways refuse it for a while (settings: login defender). Passwords are never shown or logged.</p>
    </Panel>
  );
}
