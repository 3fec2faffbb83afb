// Covers every shell block (```bash/sh/shell/console) in README.md and docs/*.md: each one runs as
// written, in page order, from the repo root, with only PATH, HOME and TMPDIR in its environment (a
// variable the command needs must be set by the block, i.e. the docs tell the user to set it), and
// leaves `git status` as it found it; blocks marked `<!-- docs-test: local-stack -->` run while
// `npm run local` runs (one stack per page, started as the docs say); blocks the test does not run
// carry `<!-- docs-test: needs-aws: <reason> -->` or `<!-- docs-test: not-run: <reason> -->`; a
// `<!-- docs-expect: text -->` line after a block's closing fence says what its output must contain.
// The convention: docs/cli.md#documented-commands-are-tested.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';

const SHELL_INFO = new Set(['bash', 'sh', 'shell', 'console']);
const MARKER = /^<!--\s*docs-test:\s*([a-z-]+)(?::\s*(.*?))?\s*-->$/;
const EXPECT = /^<!--\s*docs-expect:\s*(.*?)\s*-->$/;
const STACK_FILE = join(PROJECT_ROOT, '.local', 'stack.json');

type Mode = 'run' | 'local-stack' | 'needs-aws' | 'not-run';
interface Block {
  page: string;
  line: number;
  mode: Mode;
  reason?: string;
  code: string;
  /** `<!-- docs-expect: text -->` lines right after the closing fence: the output must contain each */
  expects: string[];
  /** a marker that is malformed, or a marked block that is not a shell block */
  fault?: string;
}

/** The shell blocks of one page, with the marker on the line above each (and markers above nothing). */
function shellBlocks(page: string, text: string): Block[] {
  const lines = text.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]!);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith(fence[1]!)) end++;
    const marker = i > 0 ? MARKER.exec(lines[i - 1]!.trim()) : null;
    const isShell = SHELL_INFO.has(fence[2]!.toLowerCase());
    if (isShell || marker) {
      const expects: string[] = [];
      for (let k = end + 1; k < lines.length; k++) {
        const e = EXPECT.exec(lines[k]!.trim());
        if (!e) break;
        expects.push(e[1]!);
      }
      const block: Block = { page, line: i + 1, mode: 'run', code: lines.slice(i + 1, end).join('\n'), expects };
      if (marker) {
        const [, mode, reason] = marker;
        if (!['local-stack', 'needs-aws', 'not-run'].includes(mode!)) block.fault = `unknown mode ${mode}`;
        else block.mode = mode as Mode;
        if ((mode === 'needs-aws' || mode === 'not-run') && !reason?.trim()) block.fault = `${mode} without a reason`;
        if (reason) block.reason = reason;
        if (!isShell) block.fault = `marker above a \`${fence[2] || 'plain'}\` block (only shell blocks are run)`;
      }
      out.push(block);
    }
    i = end;
  }
  for (let i = 0; i < lines.length; i++)
    if (MARKER.test(lines[i]!.trim()) && !/^(`{3,}|~{3,})/.test(lines[i + 1] ?? ''))
      out.push({
        page,
        line: i + 1,
        mode: 'not-run',
        code: '',
        expects: [],
        fault: 'marker not directly above a fence',
      });
  return out;
}

const PAGES = [
  'README.md',
  ...readdirSync(join(PROJECT_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const BLOCKS = PAGES.flatMap((p) => shellBlocks(p, readFileSync(join(PROJECT_ROOT, p), 'utf8')));

/** The user's PATH: without the node_modules/.bin an npm script or npx would put in front. */
const userPath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((d) => !d.includes(`node_modules${'/'}.bin`))
  .join(delimiter);
const ENV = {
  PATH: userPath,
  HOME: process.env.HOME ?? '/tmp',
  TMPDIR: process.env.TMPDIR ?? '/tmp',
};

const gitStatus = () =>
  spawnSync('git', ['status', '--porcelain'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).stdout.trim();

function runBlock(code: string, timeoutMs = 120_000) {
  return spawnSync('bash', ['-euo', 'pipefail', '-c', code], {
    cwd: PROJECT_ROOT,
    env: ENV,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
}

/** `npm run local` as a user starts it, until .local/stack.json is written. */
async function startLocal(): Promise<ChildProcess> {
  if (existsSync(STACK_FILE))
    throw new Error(`${STACK_FILE} exists: is an npm run local already running in this checkout? Stop it first`);
  const child = spawn('npm', ['run', '-s', 'local'], { cwd: PROJECT_ROOT, env: ENV, detached: true, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const deadline = Date.now() + 60_000;
  while (!existsSync(STACK_FILE)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`npm run local did not write ${STACK_FILE}:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return child;
}

async function stopLocal(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid, 'SIGTERM'); // the group we started: npm, tsx and moto
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  // local.ts removes the stack file as it stops, which may be after npm has exited: wait for it, so the
  // next page's stack does not lose its file to this one's clean-up.
  const deadline = Date.now() + 15_000;
  while (existsSync(STACK_FILE) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

describe('docs shell blocks', () => {
  it('finds the shell blocks and every one is run or marked with its reason', () => {
    expect(BLOCKS.length).toBeGreaterThan(10);
    expect(BLOCKS.filter((b) => b.fault).map((b) => `${b.page}:${b.line} ${b.fault}`)).toEqual([]);
    // A block that runs is copied as is: no placeholders to fill in.
    const placeholders = BLOCKS.filter(
      (b) => (b.mode === 'run' || b.mode === 'local-stack') && /<[a-zA-Z]+>/.test(b.code),
    );
    expect(placeholders.map((b) => `${b.page}:${b.line}`)).toEqual([]);
    const notRun = BLOCKS.filter((b) => b.mode === 'needs-aws' || b.mode === 'not-run');
    console.log(
      `docs blocks: ${BLOCKS.length - notRun.length} run, ${notRun.length} not run:\n${notRun.map((b) => `  ${b.page}:${b.line} ${b.mode}: ${b.reason}`).join('\n')}`,
    );
  });

  it('parses markers, and refuses a marker without a reason or above no shell fence', () => {
    const page = [
      '<!-- docs-test: needs-aws: deploys -->',
      '```bash',
      'cdk deploy',
      '```',
      '<!-- docs-test: not-run -->',
      '```sh',
      'x',
      '```',
      '<!-- docs-test: local-stack -->',
      '```json',
      '{}',
      '```',
      '```text',
      'output',
      '```',
      '```bash',
      'echo hi',
      '```',
      '<!-- docs-expect: hi -->',
    ].join('\n');
    const blocks = shellBlocks('p.md', page);
    expect(blocks.at(-1)?.expects).toEqual(['hi']);
    expect(blocks.map((b) => [b.line, b.mode, b.reason ?? null, b.fault ?? null])).toEqual([
      [2, 'needs-aws', 'deploys', null],
      [6, 'not-run', null, 'not-run without a reason'],
      [10, 'local-stack', null, 'marker above a `json` block (only shell blocks are run)'],
      [16, 'run', null, null],
    ]);
  });

  for (const page of PAGES) {
    const runnable = BLOCKS.filter(
      (b) => b.page === page && !b.fault && (b.mode === 'run' || b.mode === 'local-stack'),
    );
    if (!runnable.length) continue;
    describe(page, () => {
      let local: ChildProcess | undefined;
      beforeAll(async () => {
        if (runnable.some((b) => b.mode === 'local-stack')) local = await startLocal();
      }, 90_000);
      afterAll(() => stopLocal(local), 20_000);
      for (const block of runnable)
        it(`${page}:${block.line} runs as written${block.mode === 'local-stack' ? ' (npm run local running)' : ''}`, () => {
          const before = gitStatus();
          const r = runBlock(block.code);
          expect(r.error, String(r.error)).toBeUndefined();
          expect(r.status, `${block.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(0);
          expect(gitStatus(), 'the block changed the working tree').toBe(before);
          for (const text of block.expects) expect(r.stdout, `docs-expect after ${page}:${block.line}`).toContain(text);
        }, 150_000);
    });
  }
});
