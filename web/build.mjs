// Builds dist/huoti-liveness.js (ESM, minified) and reports its gzipped size against the budget.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = 60 * 1024;
await build({
  entryPoints: ['src/huoti-liveness.ts'],
  outfile: 'dist/huoti-liveness.js',
  bundle: true,
  format: 'esm',
  minify: true,
  target: ['es2022'],
  legalComments: 'none',
  logLevel: 'warning',
});
const js = readFileSync('dist/huoti-liveness.js');
const gz = gzipSync(js, { level: 9 }).length;
console.log(`dist/huoti-liveness.js: ${js.length} bytes, ${gz} bytes gzipped (budget ${BUDGET})`);
if (gz > BUDGET) {
  console.error('over the size budget');
  process.exit(1);
}
