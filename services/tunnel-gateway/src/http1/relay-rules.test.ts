import { errorResponse, isTimeoutAnswer, resendable, resendWindowMs, upgradeOutcome, upstreamGoneAction, withinResendWindow, type UpstreamGoneAction, type UpstreamGoneFacts } from './relay-rules.js';

describe('resendable (RFC 9110 §9.2.2: idempotent, and no body that streamed through)', () => {
  it.each([
    { method: 'GET', body: 'none', expected: true },
    { method: 'HEAD', body: 'none', expected: true },
    { method: 'OPTIONS', body: 'none', expected: true },
    { method: 'DELETE', body: 'none', expected: true },
    { method: 'PROPFIND', body: 'none', expected: true },
    { method: 'POST', body: 'none', expected: false },
    { method: 'PATCH', body: 'none', expected: false },
    { method: 'MKCOL', body: 'none', expected: false },
    { method: 'PUT', body: 'length', expected: false },
    { method: 'GET', body: 'chunked', expected: false },
  ] as const)('$method with body $body → $expected', ({ method, body, expected }) => {
    const framing = body === 'length' ? { kind: 'length' as const, length: 3 } : { kind: body };
    expect(resendable({ method, body: framing })).toBe(expected);
  });
});

describe('withinResendWindow', () => {
  it.each([
    { desc: 'all waiting requests held, none being sent, just now', held: 2, waiting: 2, requestOpen: false, elapsedMs: 5, expected: true },
    { desc: 'at the edge of the window', held: 1, waiting: 1, requestOpen: false, elapsedMs: resendWindowMs, expected: true },
    { desc: 'past the window: the upstream may have worked on them', held: 1, waiting: 1, requestOpen: false, elapsedMs: resendWindowMs + 1, expected: false },
    { desc: 'nothing held', held: 0, waiting: 0, requestOpen: false, elapsedMs: 0, expected: false },
    { desc: 'a waiting request that cannot go again', held: 1, waiting: 2, requestOpen: false, elapsedMs: 0, expected: false },
    { desc: 'a body still being sent', held: 1, waiting: 1, requestOpen: true, elapsedMs: 0, expected: false },
  ])('$desc → $expected', ({ held, waiting, requestOpen, elapsedMs, expected }) => {
    expect(withinResendWindow(held, waiting, requestOpen, elapsedMs)).toBe(expected);
  });
});

describe('isTimeoutAnswer (a 408 sent as a kept connection times out)', () => {
  it.each([
    { chunk: 'HTTP/1.1 408 Request Timeout\r\n', expected: true },
    { chunk: 'HTTP/1.0 408 Request Timeout\r\n', expected: true },
    { chunk: 'HTTP/1.1 408', expected: true },
    { chunk: 'HTTP/1.1 40', expected: false },
    { chunk: 'HTTP/1.1 200 OK\r\n', expected: false },
    { chunk: 'HTTP/1.1 409 Conflict\r\n', expected: false },
    { chunk: 'HTTP/2 408 x\r\n', expected: false },
  ])('$chunk → $expected', ({ chunk, expected }) => {
    expect(isTimeoutAnswer(Buffer.from(chunk, 'latin1'))).toBe(expected);
  });
});

describe('upgradeOutcome (RFC 9110 §15.2.2)', () => {
  it.each([
    { upgrade: true, status: 101, expected: 'switch' },
    { upgrade: true, status: 200, expected: 'refused' },
    { upgrade: true, status: 401, expected: 'refused' },
    { upgrade: false, status: 200, expected: 'none' },
    { upgrade: false, status: 404, expected: 'none' },
  ])('upgrade=$upgrade, $status → $expected', ({ upgrade, status, expected }) => {
    expect(upgradeOutcome(upgrade, status)).toBe(expected);
  });
});

describe('upstreamGoneAction', () => {
  const idle: UpstreamGoneFacts = {
    resend: false,
    tunnel: false,
    error: false,
    endsAtClose: false,
    midResponse: false,
    headHeld: false,
    closeAnnounced: false,
    waiting: 0,
    refusalPending: false,
    clientEnded: false,
    requestOpen: false,
  };
  it.each<{ desc: string; facts: Partial<UpstreamGoneFacts>; expected: UpstreamGoneAction }>([
    { desc: 'idle connection closed by its keep-alive timeout: let go, the client stays', facts: {}, expected: 'let-go' },
    { desc: 'requests crossed the close of a kept connection: sent again', facts: { resend: true, waiting: 1 }, expected: 'resend' },
    { desc: 'resending wins even over an error', facts: { resend: true, waiting: 1, error: true }, expected: 'resend' },
    { desc: 'a tunnel: the close ends it', facts: { tunnel: true }, expected: 'end' },
    { desc: 'a tunnel that failed: still just ended', facts: { tunnel: true, error: true }, expected: 'end' },
    { desc: 'a response delimited by the close: complete', facts: { endsAtClose: true, midResponse: true, waiting: 1 }, expected: 'end' },
    { desc: 'a response delimited by the close, cut by an error', facts: { endsAtClose: true, midResponse: true, waiting: 1, error: true }, expected: 'cut' },
    { desc: 'a response with a length broken off', facts: { midResponse: true, waiting: 1 }, expected: 'cut' },
    { desc: 'only a held head came: nothing forwarded, so a 502', facts: { midResponse: true, headHeld: true, waiting: 1 }, expected: 'answer-502' },
    { desc: 'announced close with requests pipelined behind: finished, the client retries', facts: { closeAnnounced: true, waiting: 2 }, expected: 'finish' },
    { desc: 'requests unanswered: 502', facts: { waiting: 1 }, expected: 'answer-502' },
    { desc: 'requests unanswered after an error: 502', facts: { waiting: 1, error: true }, expected: 'answer-502' },
    { desc: 'a refusal pending: sent, then the end', facts: { refusalPending: true }, expected: 'finish' },
    { desc: 'the client already ended: the end', facts: { clientEnded: true }, expected: 'finish' },
    { desc: 'answered before the whole body (401 to an upload): the end', facts: { requestOpen: true }, expected: 'finish' },
  ])('$desc', ({ facts, expected }) => {
    expect(upstreamGoneAction({ ...idle, ...facts })).toBe(expected);
  });
});

describe('errorResponse', () => {
  it('is a complete response that closes the connection, with printable ASCII only', () => {
    const response = errorResponse(400, 'bad byte \u0000 and é');
    const [head, body] = response.split('\r\n\r\n');
    expect(head).toBe(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body!.length}\r\nConnection: close`);
    expect(body).toBe('Bad Request: bad byte ? and ?.\n');
  });
});
