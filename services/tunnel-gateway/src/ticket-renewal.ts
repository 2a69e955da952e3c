import { randomBytes } from 'node:crypto';
import type { SecureContext } from 'node:tls';

/**
 * What OpenSSL is told by a session-ticket key callback when it opens a
 * ticket: 0 = not ours (a full handshake follows), 1 = resume, 2 = resume and
 * issue a new ticket. Node's built-in ticket keys always answer 1.
 */
const notOurs = 0;
const useKeys = 1;
const resumeAndRenew = 2;

/**
 * Random IVs for ticket encryption, cut from a block filled 256 at a time: a
 * randomBytes call per ticket showed as 4 % of the gateway's JavaScript time
 * at a thousand handshakes a second. Node copies the IV before the callback
 * returns; each slice is handed out once.
 */
const ivSize = 16;
const ivsPerBlock = 256;
let ivBlock = Buffer.alloc(0);
let ivOffset = 0;

function nextIv(): Buffer {
  if (ivOffset === ivBlock.length) {
    ivBlock = randomBytes(ivSize * ivsPerBlock);
    ivOffset = 0;
  }
  const iv = ivBlock.subarray(ivOffset, ivOffset + ivSize);
  ivOffset += ivSize;
  return iv;
}

/** The internal half of a Node SecureContext this module uses (the hook Node's own resumption tests use). */
interface NativeContext {
  enableTicketKeyCallback?: () => void;
  onticketkeycallback?: (name: Buffer, iv: Buffer, encrypting: boolean) => unknown[];
}

/**
 * Makes `context` issue a new session ticket on every resumed handshake.
 *
 * Why: a TLS 1.3 ticket is meant to be used once (RFC 8446 §C.4), and
 * OpenSSL-based clients (curl, wrk, browsers' HTTP stacks alike) drop a
 * session once it was resumed. OpenSSL servers send a new ticket after a
 * resumed handshake only when the key callback asks for renewal, and Node's
 * built-in ticket keys never do: such a client resumed only every other
 * connection, the rest paid a full handshake (measured: 50 % resumed under
 * `wrk -H 'Connection: close'`, 99 % with renewal, a third less CPU per
 * connection). TLS 1.2 clients reuse tickets; renewing costs them a ticket
 * encryption (~30 µs) and gives them a ticket of the same context's keys.
 *
 * `ticketKeys` are the 48 bytes given to the context as `ticketKeys` (name,
 * HMAC-SHA256 key, AES-128-CBC key, 16 bytes each): Node's callback uses the
 * same ticket format, so tickets stay interchangeable with processes that
 * use the built-in handling. Returns false (and changes nothing) on a Node
 * without the hook.
 */
export function renewTicketsOnResumption(context: SecureContext, ticketKeys: Buffer): boolean {
  const native = (context as unknown as { context?: NativeContext }).context;
  if (typeof native?.enableTicketKeyCallback !== 'function') return false;
  if (ticketKeys.length !== 48) throw new Error('TLS ticket keys must be 48 bytes');
  const name = Buffer.from(ticketKeys.subarray(0, 16));
  const hmacKey = Buffer.from(ticketKeys.subarray(16, 32));
  const aesKey = Buffer.from(ticketKeys.subarray(32, 48));
  native.onticketkeycallback = (ticketName, _iv, encrypting) => {
    if (encrypting) return [useKeys, hmacKey, aesKey, name, nextIv()];
    // Node wants keys in every answer, also when the ticket is not opened.
    return [ticketName.equals(name) ? resumeAndRenew : notOurs, hmacKey, aesKey];
  };
  native.enableTicketKeyCallback();
  return true;
}
