// Container health check: exit 0 when the URL answers 2xx within 4 s, else 1
// with the reason on stderr (docker inspect shows it). The images have no curl.
const url = process.argv[2];
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (!response.ok) {
    process.stderr.write(`${url}: ${response.status} ${(await response.text()).slice(0, 500)}\n`);
    process.exit(1);
  }
} catch (error) {
  process.stderr.write(`${url}: ${error.cause?.message ?? error.message}\n`);
  process.exit(1);
}
