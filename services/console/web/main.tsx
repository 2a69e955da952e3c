import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, setCsrfToken, whenSignedOut } from './api.js';
import { CertificateTab } from './certificate-tab.js';
import { LogTab } from './log-tab.js';
import { OverviewTab } from './overview-tab.js';
import { SettingsTab } from './settings-tab.js';
import { Field, Notice } from './ui.js';

export interface SessionInfo {
  role: 'admin' | 'operator';
  who: string;
  csrfToken: string;
}

const tabs = [
  { id: 'run', label: 'Install & Run' },
  { id: 'certificate', label: 'Certificate' },
  { id: 'ports', label: 'Ports & Settings' },
  { id: 'log', label: 'Log' },
] as const;
type TabId = (typeof tabs)[number]['id'];

function tabFromHash(): TabId {
  const id = location.hash.replace(/^#/, '');
  return (tabs.find((tab) => tab.id === id)?.id ?? 'run') as TabId;
}

function SignIn({ onSignedIn }: { onSignedIn(session: SessionInfo): void }) {
  const [secret, setSecret] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    const answer = await api<SessionInfo>('POST', '/api/session', { secret, name });
    setBusy(false);
    if (!answer.ok) return setError(errorText(answer.error));
    setSecret('');
    onSignedIn(answer.body);
  };
  return (
    <main class="signin" aria-labelledby="signin-title">
      <form class="panel signin-box" onSubmit={submit}>
        <h1 id="signin-title">Secure Transfers — SSL Setup</h1>
        <p class="lead">Sign in with the admin token (changes) or the operator token (read-only), or a console password if one is set.</p>
        <Field id="signin-name" label="Your name (shown in the change log)">
          <input id="signin-name" name="name" autocomplete="username" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        <Field id="signin-secret" label="Token or password" error={error || undefined} help={<>Where to find it: <code>.data/secrets/admin-token</code> or <code>operator-token</code> (Quick start), or the compose secrets.</>}>
          <input id="signin-secret" name="secret" type="password" autocomplete="current-password" required value={secret} onInput={(e) => setSecret((e.target as HTMLInputElement).value)} aria-invalid={error ? 'true' : undefined} />
        </Field>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function Console({ session, onSignOut }: { session: SessionInfo; onSignOut(): void }) {
  const [tab, setTab] = useState<TabId>(tabFromHash());
  const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});
  useEffect(() => {
    const onHash = () => setTab(tabFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const select = (id: TabId, focus = false) => {
    history.replaceState(null, '', `#${id}`);
    setTab(id);
    if (focus) tabRefs.current[id]?.focus();
  };
  // WAI-ARIA tabs: arrows move between tabs, Home/End jump to the ends.
  const onKeyDown = (event: KeyboardEvent) => {
    const index = tabs.findIndex((item) => item.id === tab);
    const next = event.key === 'ArrowRight' ? index + 1 : event.key === 'ArrowLeft' ? index - 1 : event.key === 'Home' ? 0 : event.key === 'End' ? tabs.length - 1 : null;
    if (next === null) return;
    event.preventDefault();
    select(tabs[(next + tabs.length) % tabs.length]!.id, true);
  };
  const readOnly = session.role !== 'admin';
  return (
    <>
      <header class="topbar">
        <div class="brand">
          <svg class="logo" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
            <rect x="4" y="10" width="16" height="11" rx="2" fill="#ffbf47" />
            <path d="M8 10V7a4 4 0 0 1 8 0v3" fill="none" stroke="#ffbf47" stroke-width="2.2" />
          </svg>
          <div>
            <div class="title">Secure Transfers</div>
            <div class="subtitle">SSL Setup</div>
          </div>
        </div>
        <div class="who">
          <span class={`role role-${session.role}`}>{session.role === 'admin' ? 'Admin' : 'Operator — read-only'}</span>
          <span class="who-name">{session.who}</span>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <nav class="tabs" role="tablist" aria-label="SSL Setup" onKeyDown={onKeyDown}>
        {tabs.map((item) => (
          <button
            type="button"
            role="tab"
            id={`tab-${item.id}`}
            key={item.id}
            ref={(el) => {
              tabRefs.current[item.id] = el;
            }}
            aria-selected={tab === item.id}
            aria-controls={`panel-${item.id}`}
            tabIndex={tab === item.id ? 0 : -1}
            onClick={() => select(item.id)}
          >
            {item.label}
          </button>
        ))}
      </nav>
      {readOnly ? (
        <div class="readonly-banner" role="note">
          Signed in as operator: you see everything; every change control is disabled. Sign in with the admin token to change settings or certificates.
        </div>
      ) : null}
      <main class="content">
        <div id={`panel-${tab}`} role="tabpanel" aria-labelledby={`tab-${tab}`} tabIndex={0}>
        {tab === 'run' ? <OverviewTab readOnly={readOnly} /> : null}
        {tab === 'certificate' ? <CertificateTab readOnly={readOnly} /> : null}
        {tab === 'ports' ? <SettingsTab readOnly={readOnly} /> : null}
        {tab === 'log' ? <LogTab /> : null}
        </div>
      </main>
    </>
  );
}

function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [notice, setNotice] = useState('');
  useEffect(() => {
    whenSignedOut(() => {
      setSession(null);
      setNotice('Your session ended; sign in again.');
    });
    void api<SessionInfo>('GET', '/api/session').then((answer) => {
      if (answer.ok) setCsrfToken(answer.body.csrfToken);
      setSession(answer.ok ? answer.body : null);
    });
  }, []);
  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null)
    return (
      <>
        {notice ? <Notice kind="info">{notice}</Notice> : null}
        <SignIn
          onSignedIn={(info) => {
            setCsrfToken(info.csrfToken);
            setNotice('');
            setSession(info);
          }}
        />
      </>
    );
  return (
    <Console
      session={session}
      onSignOut={async () => {
        await api('DELETE', '/api/session');
        setCsrfToken('');
        setSession(null);
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
