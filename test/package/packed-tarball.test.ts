// Covers the installable package (docs/package.md): `npm pack` of this project (prepack builds dist/),
// the tarball's contents (compiled JavaScript and .d.ts only, no TypeScript sources or tests), and
// the tarball installed into a fresh plain Node 24 project: `import { MetricPublisher } from
// 'visutility-monitor'` in an .mjs file, the `vmon` bin running without tsx (--help, and a backtest
// with and without the optional echarts peer), the @aws-sdk/client-sqs peer installed and none of
// aws-cdk-lib, constructs, powertools or tsx pulled in; `npx --no-install vmon` as docs/package.md
// says, and the built dist/bin/vmon.js left executable in the repo.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';
import { series, toJsonl } from '../integration/cli-support.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let tmp: string;
let app: string;
/** PATH whose `node` is the project's Node 24 (and nothing else of the project's node_modules/.bin). */
let env: NodeJS.ProcessEnv;
let packedFiles: string[];

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: err && code === -1 ? `${stderr}\n${err.message}` : stderr });
    });
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'vmon-pack-'));
  const nodeBin = join(tmp, 'node-bin');
  await mkdir(nodeBin);
  await symlink(realpathSync(join(PROJECT_ROOT, 'node_modules/.bin/node')), join(nodeBin, 'node'));
  const systemPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => !p.includes('node_modules'))
    .join(delimiter);
  env = { ...process.env, PATH: `${nodeBin}${delimiter}${systemPath}` };
  for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];

  const pack = await run('npm', ['pack', '--json', '--pack-destination', tmp], PROJECT_ROOT, 120_000);
  expect(pack.code, pack.stderr).toBe(0);
  const report = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { files: { path: string }[] }[];
  packedFiles = report[0]!.files.map((f) => f.path).sort();
  const tarball = (await readdir(tmp)).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();

  app = join(tmp, 'producer');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'producer', private: true, type: 'module' }));
  const install = await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', join(tmp, tarball!)],
    app,
    150_000,
  );
  expect(install.code, install.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the compiled entry, its .d.ts and the vmon bin, and no sources or tests', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining(['package.json', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/bin/vmon.js']),
    );
    const unexpected = packedFiles.filter(
      (f) => !(/^dist\/(lib|bin)\/.+\.(js|d\.ts)$/.test(f) || ['package.json', 'README.md', 'LICENSE'].includes(f)),
    );
    expect(unexpected).toEqual([]);
  });
});

describe('installed into a plain Node 24 project', () => {
  it('exports MetricPublisher as a class to an ES module', async () => {
    await writeFile(
      join(app, 'check.mjs'),
      [
        "import { MetricPublisher, validateEvent } from 'visutility-monitor';",
        'const source = Function.prototype.toString.call(MetricPublisher);',
        'console.log(JSON.stringify({ isClass: /^class\\b/.test(source), validateEvent: typeof validateEvent, node: process.versions.node }));',
      ].join('\n'),
    );
    const r = await run('node', ['check.mjs'], app, 30_000);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { isClass: boolean; validateEvent: string; node: string };
    expect(out).toMatchObject({ isClass: true, validateEvent: 'function' });
    expect(out.node.split('.')[0]).toBe('24');
  });

  it('runs the vmon bin without tsx: --help prints the usage', async () => {
    const r = await run(join(app, 'node_modules/.bin/vmon'), ['--help'], app, 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: vmon /m);
    expect(r.stdout).toContain('backtest');
  });

  it('runs as docs/package.md says, `npx --no-install vmon --help`, which never asks the registry', async () => {
    const r = await run('npx', ['--no-install', 'vmon', '--help'], app, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: vmon /m);
  });

  it('leaves an executable dist/bin/vmon.js in the repo after the build (npx there ran it: "Permission denied")', () => {
    expect(statSync(join(PROJECT_ROOT, 'dist/bin/vmon.js')).mode & 0o111).toBe(0o111);
    expect(readFileSync(join(PROJECT_ROOT, 'dist/bin/vmon.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('backtests a file; the HTML report asks for the optional echarts peer when it is missing', async () => {
    const events = series('cam01', 'DriftScore', [0.2, 0.9, 0.1], Date.parse('2026-01-05T00:00:00Z'));
    await writeFile(join(app, 'events.jsonl'), toJsonl(events));
    const vmon = join(app, 'node_modules/.bin/vmon');
    const noReport = await run(
      vmon,
      ['backtest', 'events.jsonl', '--json', '--no-report', '--no-progress'],
      app,
      30_000,
    );
    expect(noReport.code, noReport.stderr).toBe(0);
    expect(JSON.parse(noReport.stdout)).toMatchObject({ report: null });
    const withReport = await run(vmon, ['backtest', 'events.jsonl', '--report', '--no-progress'], app, 30_000);
    expect(withReport.code).toBe(1);
    expect(withReport.stderr).toContain('npm install echarts');
  });

  it('pulls in the SQS client peer and none of the CDK, Lambda-only or dev packages', () => {
    const modules = join(app, 'node_modules');
    expect(existsSync(join(modules, 'visutility-monitor/dist/lib/index.js'))).toBe(true);
    // The one required peer (the producer hands its own SQSClient to MetricPublisher): npm installs it.
    expect(existsSync(join(modules, '@aws-sdk/client-sqs/package.json'))).toBe(true);
    const absent = ['aws-cdk-lib', 'constructs', 'cdk-nag', '@aws-lambda-powertools', 'tsx', 'echarts', 'typescript'];
    expect(absent.filter((m) => existsSync(join(modules, m)))).toEqual([]);
  });
});
