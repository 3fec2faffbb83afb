#!/usr/bin/env node
// vmon entry point: wiring only (the commands live in lib/cli). Compiled to dist/bin/vmon.js, the
// package's `vmon` bin; in the repo, bin/vmon.mjs and `npm run vmon` run this file through tsx.
import { runCli } from '../lib/cli/program.js';

// Output piped into a reader that stops early (`vmon events tail | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    else throw err;
  });
}

const abort = new AbortController();
// Ctrl-C stops a following command (events tail) cleanly; a second one exits at once.
process.once('SIGINT', () => {
  abort.abort();
  process.once('SIGINT', () => process.exit(130));
});
process.once('SIGTERM', () => abort.abort());
process.exitCode = await runCli(process.argv.slice(2), undefined, { signal: abort.signal });
