import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';

export type Level = 'ok' | 'warn' | 'bad' | 'idle';

/** A status in a colour and, always, a word (colour alone says nothing to many readers). */
export function Badge({ level, children }: { level: Level; children: ComponentChildren }) {
  const mark = level === 'ok' ? '●' : level === 'warn' ? '▲' : level === 'bad' ? '■' : '○';
  return (
    <span class={`badge badge-${level}`}>
      <span aria-hidden="true">{mark} </span>
      {children}
    </span>
  );
}

export function levelOfState(state: string | undefined | null): Level {
  switch (state) {
    case 'ready':
    case 'valid':
    case 'running':
      return 'ok';
    case 'degraded':
    case 'stale':
    case 'expiring':
    case 'not-ready':
      return 'warn';
    case 'stopped':
    case 'offline':
      return 'idle';
    default:
      return 'bad';
  }
}

export function Notice({ kind, children }: { kind: 'info' | 'ok' | 'warn' | 'error'; children: ComponentChildren }) {
  return (
    <div class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function Panel({ title, id, children, actions }: { title: string; id?: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const headingId = `${id ?? title.toLowerCase().replace(/\W+/g, '-')}-heading`;
  return (
    <section class="panel" aria-labelledby={headingId}>
      <div class="panel-head">
        <h2 id={headingId}>{title}</h2>
        {actions ? <div class="panel-actions">{actions}</div> : null}
      </div>
      <div class="panel-body">{children}</div>
    </section>
  );
}

/** A labelled field with its help and its validation message right under it. */
export function Field({ id, label, help, error, children }: { id: string; label: string; help?: ComponentChildren; error?: string | undefined; children: ComponentChildren }) {
  return (
    <div class={`field${error ? ' field-error' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {help ? <p class="help" id={`${id}-help`}>{help}</p> : null}
      {error ? (
        <p class="error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function describedBy(id: string, help: boolean, error: string | undefined): string | undefined {
  const ids = [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return ids || undefined;
}

export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** Runs `load` now and every `intervalMs` while the component is shown (what the overview panels show is live). */
export function usePolling(load: () => Promise<void>, intervalMs = 5000): void {
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), intervalMs);
    return () => clearInterval(timer);
  }, []);
}
