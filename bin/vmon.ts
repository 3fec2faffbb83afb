// vmon entry point: wiring only (the commands live in lib/cli).
import { runCli } from '../lib/cli/program.js';

const abort = new AbortController();
// Ctrl-C stops a following command (events tail) cleanly; a second one exits at once.
process.once('SIGINT', () => { abort.abort(); process.once('SIGINT', () => process.exit(130)); });
process.once('SIGTERM', () => abort.abort());
process.exitCode = await runCli(process.argv.slice(2), undefined, { signal: abort.signal });
