import { plainConnectionRoute, plainHttpAnswer } from './plain-http-answer.js';

const token = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';

describe('plain HTTP port answers', () => {
  it.each([
    ['GET', `/.well-known/acme-challenge/${token}`, 'files.example.com', 443, { kind: 'challenge', token }],
    ['HEAD', `/.well-known/acme-challenge/${token}`, null, 443, { kind: 'challenge', token }],
    ['POST', `/.well-known/acme-challenge/${token}`, 'files.example.com', 443, { kind: 'refuse', status: 404, message: 'no such challenge' }],
    ['GET', '/.well-known/acme-challenge/../../etc/passwd', 'files.example.com', 443, { kind: 'refuse', status: 404, message: 'no such challenge' }],
    ['GET', '/.well-known/acme-challenge/short', 'files.example.com', 443, { kind: 'refuse', status: 404, message: 'no such challenge' }],
    ['GET', '/files/report.pdf?download=1&x=%20y', 'files.example.com', 443, { kind: 'redirect', location: 'https://files.example.com/files/report.pdf?download=1&x=%20y' }],
    ['POST', '/upload', 'files.example.com:80', 8443, { kind: 'redirect', location: 'https://files.example.com:8443/upload' }],
    ['GET', '/', '192.0.2.7:8080', 443, { kind: 'redirect', location: 'https://192.0.2.7/' }],
    ['GET', '/a', '[2001:db8::1]:80', 443, { kind: 'redirect', location: 'https://[2001:db8::1]/a' }],
    ['GET', '/', null, 443, { kind: 'refuse', status: 400, message: 'a request to this port needs a valid Host header: it is redirected to HTTPS on that host' }],
    ['GET', '/', 'evil.example/path', 443, { kind: 'refuse', status: 400, message: 'a request to this port needs a valid Host header: it is redirected to HTTPS on that host' }],
    ['GET', '/', 'a.example@b.example', 443, { kind: 'refuse', status: 400, message: 'a request to this port needs a valid Host header: it is redirected to HTTPS on that host' }],
    ['GET', 'http://files.example.com/', 'files.example.com', 443, { kind: 'refuse', status: 400, message: 'the request target must be a path' }],
  ])('%s %s (Host %s, HTTPS %d)', (method, target, host, port, answer) => {
    expect(plainHttpAnswer(method, target, host, port)).toEqual(answer);
  });
});

describe('plain connections passed to the file server (GATEWAY_HTTP=pass)', () => {
  it.each([
    { desc: 'an ACME validation', bytes: `GET /.well-known/acme-challenge/${token} HTTP/1.1\r\nHost: a\r\n\r\n`, route: 'answer' },
    { desc: 'a HEAD validation with HTTP/1.0', bytes: `HEAD /.well-known/acme-challenge/${token} HTTP/1.0\r\n`, route: 'answer' },
    { desc: 'a validation after empty lines', bytes: `\r\n\r\nGET /.well-known/acme-challenge/${token} HTTP/1.1\r\n`, route: 'answer' },
    { desc: 'a bare LF line end', bytes: `GET /.well-known/acme-challenge/${token} HTTP/1.1\n`, route: 'answer' },
    { desc: 'a page', bytes: 'GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n', route: 'pass' },
    { desc: 'an upload to the challenge path', bytes: `POST /.well-known/acme-challenge/${token} HTTP/1.1\r\n`, route: 'pass' },
    { desc: 'an absolute target', bytes: 'GET http://a/.well-known/acme-challenge/x HTTP/1.1\r\n', route: 'pass' },
    { desc: 'a line that is no request', bytes: 'hello\r\n', route: 'pass' },
    { desc: 'half a request line', bytes: 'GET /.well-known/acme-chall', route: 'need-more' },
    { desc: 'only empty lines so far', bytes: '\r\n', route: 'need-more' },
    { desc: 'nothing yet', bytes: '', route: 'need-more' },
    { desc: 'a line longer than is looked at', bytes: `GET /${'a'.repeat(9000)}`, route: 'pass' },
  ])('$desc: $route', ({ bytes, route }) => {
    expect(plainConnectionRoute(Buffer.from(bytes, 'latin1'))).toBe(route);
  });
});
