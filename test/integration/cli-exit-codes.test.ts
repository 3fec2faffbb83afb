// Covers every exit code vmon documents (read from its own --help text, so a new code without a
// case here fails), on a local stack on moto: 0 ok (help included), 1 an AWS call failed, 2 bad
// usage (an unknown command exits 2 with "unknown command" even with --help), 3 target unreachable,
// 4 not found. Also where `vmon backtest` writes its report: nowhere unless --report is given, and
// with --report alone under reports/, path printed; never silently into the working directory.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES_HELP } from '../../lib/cli/program.js';
import { freePort } from '../../lib/local/moto-server.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';
import { runVmon, series, spawnVmon, tempDir, toJsonl, writeStackFile } from './cli-support.js';

let aws: LocalAws;
let dir: string;
let stackFile: string;
let events: string;

beforeAll(async () => {
  aws = await startLocalAws();
  dir = await tempDir();
  stackFile = await writeStackFile(dir, aws.stack);
  events = join(dir, 'events.jsonl');
  await writeFile(
    events,
    toJsonl(series('cam01', 'DriftScore', [0.2, 0.9, 0.9, 0.9], Date.parse('2026-01-05T00:00:00Z'))),
  );
});
afterAll(async () => {
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const documented = [...EXIT_CODES_HELP.matchAll(/^ {2}(\d) {2}/gm)].map((m) => Number(m[1]));
const UNKNOWN =
  /^\n?error: unknown command '(frobnicate|nope|frob)' \(commands: [a-z, ]+\)\n\(add --help for usage\)\n$/;

/** One or more invocations per documented code; `args` may use the stack file and the event file. */
const CASES: { code: number; name: string; args: () => string[] | Promise<string[]>; stderr?: RegExp }[] = [
  { code: 0, name: 'vmon --help', args: () => ['--help'] },
  { code: 0, name: 'vmon help', args: () => ['help'] },
  { code: 0, name: 'vmon help dlq', args: () => ['help', 'dlq'] },
  { code: 0, name: 'vmon dlq --help', args: () => ['dlq', '--help'] },
  { code: 0, name: 'vmon backtest <file> (no report)', args: () => ['backtest', events] },
  {
    code: 1,
    name: 'an AWS call fails (the dead-letter queue of the stack file does not exist)',
    args: async () => {
      const broken = join(dir, 'no-queue.json');
      await writeFile(broken, JSON.stringify({ ...aws.stack, deadLetterQueueUrl: `${aws.stack.ingestQueueUrl}-gone` }));
      return ['--stack-file', broken, 'dlq', 'list'];
    },
    stderr: /^vmon: .*(NonExistentQueue|QueueDoesNotExist|does not exist)/,
  },
  { code: 2, name: 'unknown command', args: () => ['frobnicate'], stderr: UNKNOWN },
  { code: 2, name: 'unknown command with --help', args: () => ['frobnicate', '--help'], stderr: UNKNOWN },
  { code: 2, name: 'unknown command with -h', args: () => ['frobnicate', '-h'], stderr: UNKNOWN },
  { code: 2, name: 'help for an unknown command', args: () => ['help', 'frobnicate'], stderr: UNKNOWN },
  {
    code: 2,
    name: 'unknown subcommand with --help, after global options',
    args: () => ['--stack-file', stackFile, 'dlq', 'nope', '--help'],
    stderr: UNKNOWN,
  },
  { code: 2, name: 'unknown policy subcommand', args: () => ['policy', 'frob'], stderr: UNKNOWN },
  { code: 2, name: 'a command group without its subcommand', args: () => ['dlq'], stderr: /Usage: vmon dlq/ },
  { code: 2, name: 'unknown option', args: () => ['--bogus'], stderr: /unknown option '--bogus'/ },
  { code: 2, name: 'missing argument', args: () => ['state'], stderr: /missing required argument 'cameraId'/ },
  { code: 2, name: 'missing file', args: () => ['backtest', join(dir, 'nope.jsonl')], stderr: /file not found/ },
  {
    code: 3,
    name: 'no local stack running at the endpoint',
    args: async () => {
      const dead = join(dir, 'dead.json');
      await writeFile(dead, JSON.stringify({ ...aws.stack, endpoint: `http://127.0.0.1:${await freePort()}` }));
      return ['--stack-file', dead, 'dlq', 'list'];
    },
    stderr: /no local stack running at/,
  },
  {
    code: 4,
    name: 'no state for that camera',
    args: () => ['--stack-file', stackFile, 'state', 'cam-never-seen'],
    stderr: /no state for camera "cam-never-seen"/,
  },
  {
    code: 4,
    name: 'no policy at that scope',
    args: () => ['--stack-file', stackFile, 'policy', 'get', 'camera:cam-none'],
    stderr: /no policy at scope camera:cam-none/,
  },
];

describe('vmon exit codes', () => {
  it('the help text documents 0-4 and every documented code has a case here', () => {
    expect(documented).toEqual([0, 1, 2, 3, 4]);
    expect([...new Set(CASES.map((c) => c.code))].sort()).toEqual(documented);
  });

  it.each(CASES)('$code: $name', async ({ code, args, stderr }) => {
    const r = await runVmon(await args());
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code, ...(stderr ? { stderr } : {}) });
    if (code === 0) expect(r.stderr).toBe('');
    if (code !== 0) expect(r.stderr).not.toBe('');
  });

  it('the real executable exits 2 for an unknown command with --help (what a script sees)', async () => {
    const r = await spawnVmon(['frobnicate', '--help']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(UNKNOWN);
    expect(r.stdout).toBe('');
  });
});

describe('where vmon backtest writes its report', () => {
  it('writes nothing unless asked: the working directory is left as it was', async () => {
    const cwd = join(dir, 'work-none');
    await mkdir(cwd);
    const r = await spawnVmon(['backtest', events, '--no-progress'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/report:/);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('--report alone writes under reports/ and prints the path', async () => {
    const cwd = join(dir, 'work-default');
    await mkdir(cwd);
    const r = await spawnVmon(['backtest', events, '--report', '--no-progress'], { cwd });
    expect(r.code).toBe(0);
    const path = join(cwd, 'reports', 'backtest-events.html');
    expect(r.stdout).toContain(`report: ${path}\n`);
    expect(existsSync(path)).toBe(true);
    expect(await readdir(cwd)).toEqual(['reports']);
  });

  it('--report <path> writes exactly there, and --json names it', async () => {
    const path = join(dir, 'chosen', 'bt.html');
    const r = await runVmon(['backtest', events, '--report', path, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).report).toBe(path);
    expect(existsSync(path)).toBe(true);
    const none = await runVmon(['backtest', events, '--json']);
    expect(JSON.parse(none.stdout).report).toBeNull();
  });
});
