// Bundles the console's web page (Preact, from node_modules: no CDN) into
// dist/public/, beside the compiled service. Run by `pnpm build`.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const out = join(root, 'dist', 'public');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(root, 'web', 'main.tsx')],
  bundle: true,
  outfile: join(out, 'app.js'),
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'linked',
  logLevel: 'warning',
});
await copyFile(join(root, 'web', 'index.html'), join(out, 'index.html'));
await copyFile(join(root, 'web', 'app.css'), join(out, 'app.css'));
