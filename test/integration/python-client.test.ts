// Covers the Python client package (clients/python) against the local stack: moto, the stack's
// resources and the real ingest and model-lifecycle handlers polling their queues, as `npm run local`
// runs them. (1) Its pytest suite through the project venv: the unit tests (tests/: shared validation
// cases, publisher and lifecycle helpers on in-process moto) and stack_tests/ against this stack
// (events sent are applied, refused ones dead-lettered with the package's reasons, lifecycle events
// applied); the stream counts it sent are then read back here through the state codec. (2) What a
// user does: `pip install clients/python` into a new plain venv (pip fetches hatchling and boto3
// from the package index, so this needs the network), then the README's five-line example, whose
// event the handler applies. Lint and type check (ruff, mypy) run in .ci/run.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';
import {
  readCamera,
  startLocalAws,
  startMonitorHandlers,
  useFunctionEnv,
  waitFor,
  type LocalAws,
} from '../support/local-aws.js';

const CLIENT = join(PROJECT_ROOT, 'clients', 'python');
const VENV_PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');

let aws: LocalAws;
let mappings: LocalEventSourceMapping[] = [];
let tmp: string;
let stackFile: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vmon-py-client-'));
  aws = await startLocalAws();
  useFunctionEnv(aws.stack);
  mappings = await startMonitorHandlers(aws);
  stackFile = join(tmp, 'stack.json');
  writeFileSync(stackFile, JSON.stringify(aws.stack));
});
afterAll(async () => {
  await Promise.allSettled(mappings.map((m) => m.stop()));
  await aws?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The environment a producer on the fleet has: boto3's default chain pointed at the local stack. */
const producerEnv = () => ({
  ...process.env,
  AWS_ENDPOINT_URL: aws.stack.endpoint,
  AWS_DEFAULT_REGION: aws.stack.region,
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}
/** Runs a program without blocking: the handlers polling the local queues live in this process. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout: number },
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...opts, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ status, stdout, stderr: err && status === null ? `${stderr}\n${err.message}` : stderr });
    });
  });
}

/** The README block that follows the heading `heading`, with its fence language. */
function readmeBlock(heading: string, lang: string): string {
  const readme = readFileSync(join(CLIENT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(`## ${heading}`));
  const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(section);
  if (!m) throw new Error(`no ${lang} block under "## ${heading}" in clients/python/README.md`);
  return m[1]!;
}

describe('Python client package', () => {
  it('passes its pytest suite, units and against the local stack', async () => {
    const applied = join(tmp, 'applied.json');
    const junit = process.env.CI ? ['--junitxml', join(PROJECT_ROOT, '.ci', 'pytest.xml')] : [];
    const r = await run(
      VENV_PYTHON,
      ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests', 'stack_tests', ...junit],
      {
        cwd: CLIENT,
        timeout: 240_000,
        env: { ...producerEnv(), VMON_STACK_FILE: stackFile, VMON_APPLIED_FILE: applied },
      },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/\d+ passed/);
    expect(r.stdout).not.toMatch(/failed|error|skipped/i);

    // The stream counts the suite sent, read back as the functions read them.
    const expected = JSON.parse(readFileSync(applied, 'utf8')) as Record<string, Record<string, number>>;
    expect(Object.keys(expected)).toHaveLength(3);
    for (const [camera, streams] of Object.entries(expected)) {
      const { state } = await readCamera(aws, camera);
      expect(Object.fromEntries(Object.entries(state.streams).map(([k, v]) => [k, v.length]))).toEqual(streams);
    }
  }, 300_000);

  it("installs with `pip install clients/python` in a plain venv and the README's example is applied", async () => {
    const install = readmeBlock('Install', 'bash').trim();
    expect(install).toBe('pip install clients/python');
    const venv = join(tmp, 'venv');
    const made = await run('python3', ['-m', 'venv', venv], { timeout: 60_000 });
    expect(made.status, made.stderr).toBe(0);
    const started = Date.now();
    // As the README says, from the repository root, with the venv's own pip.
    const pip = await run(join(venv, 'bin', 'pip'), ['install', '--quiet', 'clients/python'], {
      cwd: PROJECT_ROOT,
      timeout: 240_000,
      env: producerEnv(),
    });
    expect(pip.status, `${pip.stdout}\n${pip.stderr}`).toBe(0);
    console.log(`pip install clients/python: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(existsSync(join(CLIENT, 'build'))).toBe(false); // the build left nothing in the tree

    const fiveLines = readmeBlock('Five-line example', 'python');
    expect(fiveLines.trimEnd().split('\n')).toHaveLength(5);
    const script = join(tmp, 'example.py');
    writeFileSync(script, fiveLines);
    const example = await run(join(venv, 'bin', 'python'), [script], {
      cwd: tmp, // not the repo: the installed package, not the source tree, is imported
      timeout: 60_000,
      env: { ...producerEnv(), INGEST_QUEUE_URL: aws.stack.ingestQueueUrl },
    });
    expect(example.status, example.stderr).toBe(0);
    const where = await run(join(venv, 'bin', 'python'), ['-c', 'import visutility_monitor as v; print(v.__file__)'], {
      cwd: tmp,
      timeout: 30_000,
    });
    expect(where.stdout).toContain(join(venv, 'lib'));

    const camera = await waitFor(
      () => readCamera(aws, 'cam-17'),
      (c) => c.version > 0,
    );
    expect(Object.keys(camera.state.streams)).toEqual(['Rgb.DriftScore']);
    expect(camera.state.streams['Rgb.DriftScore']).toHaveLength(1);
  }, 300_000);
});
