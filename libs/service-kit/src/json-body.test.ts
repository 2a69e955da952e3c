import express from 'express';
import { allowedMethods, jsonBody, methodNotAllowed } from './json-body.js';
import { errorHandler, notFound } from './http-errors.js';
import { listenHttp, type RunningHttpServer } from './http-server.js';

describe('allowedMethods', () => {
  const routes = [
    { path: '/certificates', methods: ['get', 'post'] },
    { path: '/certificates/self-signed', methods: ['post'] },
    { path: '/certificates/:id', methods: ['get', 'delete'] },
    { path: '/certificates/:id/activate', methods: ['post'] },
  ];
  it.each([
    { path: '/certificates', expected: ['GET', 'HEAD', 'POST'] },
    { path: '/certificates/', expected: ['GET', 'HEAD', 'POST'] },
    { path: '/certificates/active', expected: ['DELETE', 'GET', 'HEAD'] },
    // Both patterns match: the self-signed route and the one with an id.
    { path: '/certificates/self-signed', expected: ['DELETE', 'GET', 'HEAD', 'POST'] },
    { path: '/certificates/abc/activate', expected: ['POST'] },
    { path: '/certificates/a/b/c', expected: [] },
    { path: '/nothing', expected: [] },
  ])('$path', ({ path, expected }) => {
    expect(allowedMethods(routes, path)).toEqual(expected);
  });
});

describe('jsonBody and methodNotAllowed', () => {
  let server: RunningHttpServer;
  beforeAll(async () => {
    const app = express();
    app.post('/things', jsonBody({ limit: 1024 }), (req, res) => {
      res.json({ got: req.body });
    });
    app.get('/things/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    app.use(methodNotAllowed(app));
    app.use(notFound);
    app.use(errorHandler);
    server = await listenHttp(app, '127.0.0.1', 0);
  });
  afterAll(() => server.close());

  const send = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });

  it.each([
    { desc: 'JSON with its type', headers: { 'content-type': 'application/json' }, status: 200 },
    { desc: 'JSON with a charset', headers: { 'content-type': 'application/json; charset=utf-8' }, status: 200 },
    { desc: 'JSON as text (fetch\'s default)', headers: {}, status: 415, message: 'send the body as JSON with Content-Type: application/json (this request has Content-Type: text/plain;charset=UTF-8)' },
    { desc: 'JSON as a form', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, message: 'send the body as JSON with Content-Type: application/json (this request has Content-Type: application/x-www-form-urlencoded)' },
  ])('$desc: $status', async ({ headers, status, message }) => {
    const response = await send('POST', '/things', '{"name":"x"}', headers);
    expect(response.status).toBe(status);
    const body = (await response.json()) as { got?: unknown; error?: { code: string; message: string } };
    if (status === 200) expect(body.got).toEqual({ name: 'x' });
    else expect(body.error).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', message });
  });

  it('JSON with no Content-Type at all: 415 saying so', async () => {
    const { request } = await import('node:http');
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.url}/things`, { method: 'POST', headers: { 'content-length': '12' } }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end('{"name":"x"}');
    });
    expect(answer.status).toBe(415);
    expect(JSON.parse(answer.body).error.message).toBe('send the body as JSON with Content-Type: application/json (this request has no Content-Type)');
  });

  it('a request without a body is not refused for its missing type', async () => {
    const response = await send('POST', '/things');
    expect(response.status).toBe(200);
  });

  it('a known path with another method: 405 with Allow; an unknown path: 404', async () => {
    const put = await send('PUT', '/things', '{}', { 'content-type': 'application/json' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('POST');
    expect(((await put.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
    const del = await send('DELETE', '/things/7');
    expect([del.status, del.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect((await send('GET', '/other')).status).toBe(404);
  });
});
