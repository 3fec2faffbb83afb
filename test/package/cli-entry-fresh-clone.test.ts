// Covers the README's CLI line in a fresh clone: `git clone` of this repository (its committed HEAD;
// uncommitted changes are not in the clone) into a temporary directory, then the command the README
// gives for the operator CLI, run by `sh` as a user would type it, with the system PATH (no
// node_modules/.bin of this checkout) and no npm_* variables. The README's set-up (`scripts/setup.sh`:
// `npm ci`) is NOT run in the clone: to save minutes and the network, its node_modules is a symlink
// to this checkout's installed one, which `npm ci` on the same package-lock.json would reproduce.
// Also: no page of the docs tells a user to run `npx` on vmon without `--no-install` (a bare
// `npx vmon` looks the name up in the public registry when the package is not installed).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: err && code === -1 ? `${stderr}\n${err.message}` : stderr });
    });
  });
}

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
/** The README names the operator CLI's command in backticks, followed by "(the operator CLI". */
const cliLine = /`([^`]+)` \(the operator CLI/.exec(readme)?.[1];

let tmp: string;
let clone: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'vmon-clone-'));
  clone = join(tmp, 'visutility-monitor');
  env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => !p.includes('node_modules'))
    .join(delimiter);
  const cloned = await run('git', ['clone', '--quiet', PROJECT_ROOT, clone], tmp, env, 60_000);
  expect(cloned.code, cloned.stderr).toBe(0);
  await symlink(realpathSync(join(PROJECT_ROOT, 'node_modules')), join(clone, 'node_modules'));
}, 90_000);
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("the README's CLI line in a fresh clone", () => {
  it('is a repo-local command', () => {
    expect(cliLine).toBe('npm run vmon -- --help');
  });

  it('prints the usage, exit 0', async () => {
    const r = await run('sh', ['-c', cliLine!], clone, env, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: vmon /m);
    expect(r.stdout).toContain('backtest');
  });
});

describe('docs never send a user to the registry for vmon', () => {
  const pages = [
    'README.md',
    ...readdirSync(join(PROJECT_ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
    'clients/python/README.md',
  ];
  it.each(pages)('%s', (page) => {
    const text = readFileSync(join(PROJECT_ROOT, page), 'utf8');
    const npxVmon = [...text.matchAll(/npx((?:\s+--?[\w-]+)*)\s+vmon\b/g)].map((m) => m[0]);
    expect(npxVmon.filter((m) => !/--no-install\b/.test(m))).toEqual([]);
  });
});
