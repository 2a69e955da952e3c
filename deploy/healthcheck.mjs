// Container health check: exit 0 when the URL answers 2xx within 4 s, else 1
// with the reason on stderr (docker inspect shows it). The images have no curl.
// An https URL is the service's own port on loopback: its certificate is for
// the public name, so it is not verified here.
import { get as getHttp } from 'node:http';
import { get as getHttps } from 'node:https';

const url = new URL(process.argv[2]);
const get = url.protocol === 'https:' ? getHttps : getHttp;
const fail = (reason) => {
  process.stderr.write(`${url}: ${reason}\n`);
  process.exit(1);
};
const request = get(url, { rejectUnauthorized: false, timeout: 4000 }, (response) => {
  let body = '';
  response.setEncoding('utf8');
  response.on('data', (chunk) => (body += chunk.slice(0, 500)));
  response.on('end', () => {
    if (response.statusCode >= 200 && response.statusCode < 300) process.exit(0);
    fail(`${response.statusCode} ${body.slice(0, 500)}`);
  });
});
request.on('timeout', () => request.destroy(new Error('no answer within 4 s')));
request.on('error', (error) => fail(error.message));
