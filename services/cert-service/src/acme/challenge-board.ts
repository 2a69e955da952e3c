/**
 * The challenge answers cert-service has published while an order waits for
 * the CA: HTTP-01 key authorizations by token, TLS-ALPN-01 certificates by
 * name. Gateways ask for them when the CA connects; an answer is withdrawn
 * once its challenge is decided, or after `ttlMs` at the latest.
 */
export interface AlpnAnswer {
  certificatePem: string;
  privateKeyPem: string;
}

interface Entry<T> {
  value: T;
  expiresAt: number;
}

export class ChallengeBoard {
  private readonly http = new Map<string, Entry<string>>();
  private readonly alpn = new Map<string, Entry<AlpnAnswer>>();

  constructor(
    private readonly ttlMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  publishHttp(token: string, keyAuthorization: string): void {
    this.http.set(token, { value: keyAuthorization, expiresAt: this.now() + this.ttlMs });
  }

  publishAlpn(name: string, answer: AlpnAnswer): void {
    this.alpn.set(name.toLowerCase(), { value: answer, expiresAt: this.now() + this.ttlMs });
  }

  withdrawHttp(token: string): void {
    this.http.delete(token);
  }

  withdrawAlpn(name: string): void {
    this.alpn.delete(name.toLowerCase());
  }

  httpAnswer(token: string): string | null {
    return this.live(this.http, token);
  }

  alpnAnswer(name: string): AlpnAnswer | null {
    return this.live(this.alpn, name.toLowerCase());
  }

  get pendingCount(): number {
    return this.http.size + this.alpn.size;
  }

  private live<T>(map: Map<string, Entry<T>>, key: string): T | null {
    const entry = map.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      map.delete(key);
      return null;
    }
    return entry.value;
  }
}
