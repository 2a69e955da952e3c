import { parseRequestHead, rewriteRequestHead } from './request-head.js';
import { HttpSyntaxError } from './syntax.js';

/** Builds a head from lines joined with CRLF, as parseRequestHead receives it (without the final empty line). */
const head = (...lines: string[]) => lines.join('\r\n');

describe('parseRequestHead accepts', () => {
  it.each([
    { desc: 'a GET without a body', text: head('GET /a?b=c HTTP/1.1', 'Host: files'), expected: { method: 'GET', target: '/a?b=c', version: '1.1', body: { kind: 'none' }, host: 'files', last: false, upgrade: false } },
    { desc: 'a Content-Length body', text: head('PUT /up HTTP/1.1', 'Host: h', 'Content-Length: 12'), expected: { body: { kind: 'length', length: 12 } } },
    { desc: 'a GET with Content-Length 0', text: head('GET / HTTP/1.1', 'Host: h', 'Content-Length: 0'), expected: { method: 'GET', body: { kind: 'none' } } },
    { desc: 'Content-Length 0 as no body', text: head('POST / HTTP/1.1', 'Host: h', 'Content-Length: 0'), expected: { body: { kind: 'none' } } },
    { desc: 'identical repeated Content-Length', text: head('PUT / HTTP/1.1', 'Host: h', 'Content-Length: 5', 'content-length: 5, 5'), expected: { body: { kind: 'length', length: 5 } } },
    { desc: 'chunked, any case', text: head('POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: Chunked'), expected: { body: { kind: 'chunked' } } },
    { desc: 'another coding before a final chunked', text: head('POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'), expected: { body: { kind: 'chunked' } } },
    { desc: 'HTTP/1.0 without Host, closing by default', text: head('GET / HTTP/1.0'), expected: { version: '1.0', host: null, last: true } },
    { desc: 'HTTP/1.0 keep-alive', text: head('GET / HTTP/1.0', 'Connection: Keep-Alive'), expected: { last: false } },
    { desc: 'Connection: close ends the connection', text: head('GET / HTTP/1.1', 'Host: h', 'Connection: foo, close'), expected: { last: true } },
    { desc: 'NTLM authorization binds the connection', text: head('GET / HTTP/1.1', 'Host: h', 'Authorization: NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw=='), expected: { connectionBoundAuth: true } },
    { desc: 'Negotiate, any case, binds the connection', text: head('GET / HTTP/1.1', 'Host: h', 'Proxy-Authorization: negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAu'), expected: { connectionBoundAuth: true } },
    { desc: 'Basic and Bearer authorize the request only', text: head('GET / HTTP/1.1', 'Host: h', 'Authorization: Basic dTpw', 'X-Note: NTLM'), expected: { connectionBoundAuth: false } },
    { desc: 'a WebSocket upgrade', text: head('GET /ws HTTP/1.1', 'Host: h', 'Connection: keep-alive, Upgrade', 'Upgrade: websocket'), expected: { upgrade: true } },
    { desc: 'Upgrade without Connection: upgrade is no upgrade', text: head('GET /ws HTTP/1.1', 'Host: h', 'Upgrade: websocket'), expected: { upgrade: false } },
    { desc: 'OWS around a value and an empty value', text: head('GET / HTTP/1.1', 'Host: \th ', 'X-Empty:'), expected: { host: 'h', fields: [{ name: 'Host', key: 'host', value: 'h' }, { name: 'X-Empty', key: 'x-empty', value: '' }] } },
    { desc: 'an absolute-form target and obs-text in a value', text: head('GET http://h/x HTTP/1.1', 'Host: h', 'X-Name: caf\xe9'), expected: { target: 'http://h/x' } },
  ])('$desc', ({ text, expected }) => {
    expect(parseRequestHead(text)).toMatchObject(expected);
  });
});

describe('parseRequestHead refuses', () => {
  const many = Array.from({ length: 101 }, (_, i) => `X-${i}: v`);
  it.each([
    { desc: 'both Transfer-Encoding and Content-Length', text: head('POST / HTTP/1.1', 'Host: h', 'Content-Length: 3', 'Transfer-Encoding: chunked'), status: 400, message: /both Transfer-Encoding and Content-Length/ },
    { desc: 'a Transfer-Encoding not ending in chunked', text: head('POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: chunked, gzip'), status: 400, message: /single "chunked"/ },
    { desc: 'chunked twice', text: head('POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'), status: 400, message: /single "chunked"/ },
    { desc: 'an unknown Transfer-Encoding alone', text: head('POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: xchunked'), status: 400, message: /single "chunked"/ },
    { desc: 'an empty Transfer-Encoding', text: head('POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: '), status: 400, message: /single "chunked"/ },
    { desc: 'Transfer-Encoding in HTTP/1.0', text: head('POST / HTTP/1.0', 'Transfer-Encoding: chunked'), status: 400, message: /HTTP\/1.0/ },
    { desc: 'differing Content-Length lines', text: head('PUT / HTTP/1.1', 'Host: h', 'Content-Length: 5', 'Content-Length: 6'), status: 400, message: /differing/ },
    { desc: 'differing Content-Length in one line', text: head('PUT / HTTP/1.1', 'Host: h', 'Content-Length: 5, 6'), status: 400, message: /differing/ },
    { desc: 'a signed Content-Length', text: head('PUT / HTTP/1.1', 'Host: h', 'Content-Length: +5'), status: 400, message: /invalid Content-Length/ },
    { desc: 'a hex Content-Length', text: head('PUT / HTTP/1.1', 'Host: h', 'Content-Length: 0x10'), status: 400, message: /invalid Content-Length/ },
    { desc: 'an absurdly long Content-Length', text: head('PUT / HTTP/1.1', 'Host: h', 'Content-Length: 1234567890123456'), status: 400, message: /invalid Content-Length/ },
    { desc: 'obs-fold', text: head('GET / HTTP/1.1', 'Host: h', 'X-A: one', ' two'), status: 400, message: /obs-fold/ },
    { desc: 'whitespace before the colon', text: head('POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding : chunked'), status: 400, message: /whitespace between a field name and its colon/ },
    { desc: 'a tab before the colon', text: head('GET / HTTP/1.1', 'Host\t: h'), status: 400, message: /whitespace between/ },
    { desc: 'a field without a colon', text: head('GET / HTTP/1.1', 'Host: h', 'nonsense'), status: 400, message: /without a name and a colon/ },
    { desc: 'an empty field name', text: head('GET / HTTP/1.1', 'Host: h', ': v'), status: 400, message: /without a name/ },
    { desc: 'a non-token field name', text: head('GET / HTTP/1.1', 'Host: h', 'X(A): v'), status: 400, message: /invalid field name/ },
    { desc: 'a bare LF inside the head', text: 'GET / HTTP/1.1\r\nHost: h\nX-A: v', status: 400, message: /bare LF/ },
    { desc: 'a CR inside a value', text: head('GET / HTTP/1.1', 'Host: h', 'X-A: a\rb'), status: 400, message: /CR that does not end a line/ },
    { desc: 'a NUL inside a value', text: head('GET / HTTP/1.1', 'Host: h', 'X-A: a\0b'), status: 400, message: /NUL/ },
    { desc: 'a control character inside a value', text: head('GET / HTTP/1.1', 'Host: h', 'X-A: a\x01b'), status: 400, message: /invalid character/ },
    { desc: 'a non-token method', text: head('G@T / HTTP/1.1', 'Host: h'), status: 400, message: /invalid method/ },
    { desc: 'two spaces in the request line', text: head('GET  / HTTP/1.1', 'Host: h'), status: 400, message: /request line/ },
    { desc: 'a missing version', text: head('GET /', 'Host: h'), status: 400, message: /request line/ },
    { desc: 'a malformed version', text: head('GET / HTTP/1.1.1', 'Host: h'), status: 400, message: /invalid HTTP version/ },
    { desc: 'a lower-case version', text: head('GET / http/1.1', 'Host: h'), status: 400, message: /invalid HTTP version/ },
    { desc: 'HTTP/2.0', text: head('GET / HTTP/2.0', 'Host: h'), status: 505, message: /not supported/ },
    { desc: 'HTTP/1.2', text: head('GET / HTTP/1.2', 'Host: h'), status: 505, message: /not supported/ },
    { desc: 'HTTP/0.9 style', text: head('GET / HTTP/0.9'), status: 505, message: /not supported/ },
    { desc: 'CONNECT', text: head('CONNECT files:443 HTTP/1.1', 'Host: files:443'), status: 405, message: /CONNECT/ },
    { desc: 'a DEL in the target', text: head('GET /a\x7fb HTTP/1.1', 'Host: h'), status: 400, message: /request target/ },
    { desc: 'HTTP/1.1 without Host', text: head('GET / HTTP/1.1'), status: 400, message: /without a Host/ },
    { desc: 'two Host headers', text: head('GET / HTTP/1.1', 'Host: a', 'Host: b'), status: 400, message: /more than one Host/ },
    { desc: 'a lower-case method (some servers read "head" as HEAD)', text: head('head /f HTTP/1.1', 'Host: h'), status: 400, message: /not upper case/ },
    { desc: 'a lower-case CONNECT', text: head('connect files:443 HTTP/1.1', 'Host: h'), status: 400, message: /not upper case/ },
    { desc: 'a GET with a body (an upstream ignoring it would read a hidden request)', text: head('GET /a HTTP/1.1', 'Host: h', 'Content-Length: 40'), status: 400, message: /GET request with a body/ },
    { desc: 'a chunked HEAD', text: head('HEAD /a HTTP/1.1', 'Host: h', 'Transfer-Encoding: chunked'), status: 400, message: /HEAD request with a body/ },
    { desc: 'a DELETE with a body', text: head('DELETE /a HTTP/1.1', 'Host: h', 'Content-Length: 3'), status: 400, message: /DELETE request with a body/ },
    { desc: 'too many fields', text: head('GET / HTTP/1.1', 'Host: h', ...many), status: 431, message: /more than 100 header fields/ },
  ])('$desc', ({ text, status, message }) => {
    let thrown: unknown;
    try {
      parseRequestHead(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HttpSyntaxError);
    expect((thrown as HttpSyntaxError).status).toBe(status);
    expect((thrown as HttpSyntaxError).message).toMatch(message);
  });
});

describe('rewriteRequestHead', () => {
  const forwarded = { clientAddress: '192.0.2.7', port: 443 };
  it.each([
    {
      desc: 'adds our forwarding headers after the client fields',
      text: head('GET /x HTTP/1.1', 'Host: files.example', 'Accept: */*'),
      expected: 'GET /x HTTP/1.1\r\nHost: files.example\r\nAccept: */*\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: files.example\r\nX-Forwarded-Port: 443\r\n\r\n',
    },
    {
      desc: 'drops forged forwarding headers of every kind',
      text: head('GET / HTTP/1.1', 'Host: h', 'X-Forwarded-For: 6.6.6.6', 'x-forwarded-proto: http', 'X-Forwarded-Host: evil', 'X-Forwarded-Port: 1', 'Forwarded: for=6.6.6.6', 'X-Real-IP: 6.6.6.6'),
      expected: 'GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\nX-Forwarded-Port: 443\r\n\r\n',
    },
    {
      desc: 'drops forwarding headers spelt with underscores (CGI servers read them as the same variable) and other client-IP claims',
      text: head('GET / HTTP/1.1', 'Host: h', 'X_Forwarded_For: 6.6.6.6', 'X-Client-IP: 6.6.6.6', 'True-Client-IP: 6.6.6.6', 'X-Forwarded-Server: evil', 'X-Forwarded-Prefix: /evil'),
      expected: 'GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\nX-Forwarded-Port: 443\r\n\r\n',
    },
    {
      desc: 'takes forwarding headers out of Connection, so the next hop cannot be told to delete ours',
      text: head('GET / HTTP/1.1', 'Host: h', 'Connection: X-Forwarded-For, keep-alive, x_real_ip'),
      expected: 'GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\nX-Forwarded-Port: 443\r\n\r\n',
    },
    {
      desc: 'drops a Connection header that named only forwarding headers',
      text: head('GET / HTTP/1.1', 'Host: h', 'Connection: X-Forwarded-For'),
      expected: 'GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\nX-Forwarded-Port: 443\r\n\r\n',
    },
    {
      desc: 'keeps one Content-Length of identical duplicates',
      text: head('PUT / HTTP/1.1', 'Host: h', 'Content-Length: 5', 'Content-Length: 5, 5'),
      expected: 'PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\nX-Forwarded-Port: 443\r\n\r\n',
    },
    {
      desc: 'has no X-Forwarded-Host for an HTTP/1.0 request without Host',
      text: head('GET / HTTP/1.0'),
      expected: 'GET / HTTP/1.0\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\n\r\n',
    },
  ])('$desc', ({ text, expected }) => {
    expect(rewriteRequestHead(parseRequestHead(text), forwarded)).toBe(expected);
  });

  it('says http to the upstream for requests the plain HTTP port passes through, whatever the client claimed', () => {
    const text = head('GET /a?b=1 HTTP/1.1', 'Host: h', 'X-Forwarded-Proto: https');
    expect(rewriteRequestHead(parseRequestHead(text), { clientAddress: '192.0.2.7', port: 80, scheme: 'http' })).toBe(
      'GET /a?b=1 HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\nX-Forwarded-Port: 80\r\n\r\n',
    );
  });

  const ours = 'X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\nX-Forwarded-Port: 443\r\n\r\n';
  it.each([
    { desc: 'HTTP/1.0 without Connection asks for keep-alive', text: head('GET / HTTP/1.0', 'Host: h'), expected: `GET / HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n${ours}` },
    { desc: 'HTTP/1.0 with Connection: close asks for keep-alive instead', text: head('GET / HTTP/1.0', 'Host: h', 'Connection: close, X-Trace'), expected: `GET / HTTP/1.0\r\nHost: h\r\nConnection: X-Trace, keep-alive\r\n${ours}` },
    { desc: 'HTTP/1.1 Connection: close loses its close option', text: head('GET / HTTP/1.1', 'Host: h', 'Connection: Close'), expected: `GET / HTTP/1.1\r\nHost: h\r\n${ours}` },
    { desc: 'HTTP/1.1 keeps its other options', text: head('GET / HTTP/1.1', 'Host: h', 'Connection: X-Trace, close'), expected: `GET / HTTP/1.1\r\nHost: h\r\nConnection: X-Trace\r\n${ours}` },
    { desc: 'a request that keeps its connection anyway is unchanged', text: head('GET / HTTP/1.0', 'Host: h', 'Connection: keep-alive'), expected: `GET / HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n${ours}` },
  ])('keeping the upstream connection: $desc', ({ text, expected }) => {
    expect(rewriteRequestHead(parseRequestHead(text), forwarded, true)).toBe(expected);
    // Without keepUpstream a closing request stays closing.
    expect(parseRequestHead(rewriteRequestHead(parseRequestHead(text), forwarded).slice(0, -4)).last).toBe(parseRequestHead(text).last);
  });
});
