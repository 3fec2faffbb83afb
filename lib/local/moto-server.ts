// Starts moto server (the project venv's) on a free loopback port and stops it: nothing left behind.
// By default through lib/local/atomic_moto_server.py, which makes DynamoDB conditional writes and SQS
// receive/delete atomic as on AWS; `stock: true` runs moto as shipped (the race probe compares both),
// `switchIntervalS` makes its request threads interleave more often (how the probe stresses a race).
import { spawn, type ChildProcess } from 'node:child_process';
import { superviseEmulator } from './emulator-process.js';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export interface MotoServer {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export const ATOMIC_MOTO_ENTRY = join(PROJECT_ROOT, 'lib/local/atomic_moto_server.py');

export async function startMoto(
  opts: { port?: number; timeoutMs?: number; stock?: boolean; switchIntervalS?: number } = {},
): Promise<MotoServer> {
  const bin = join(PROJECT_ROOT, '.venv/bin/moto_server');
  if (!existsSync(bin))
    throw new Error(
      `moto server not found at ${bin}: run "npm run setup:py" (creates .venv from requirements-dev.txt)`,
    );
  const port = opts.port ?? (await freePort());
  const argv = [ATOMIC_MOTO_ENTRY, ...(opts.stock ? ['--stock'] : [])];
  if (opts.switchIntervalS !== undefined) argv.push('--switch-interval', String(opts.switchIntervalS));
  argv.push('-H', '127.0.0.1', '-p', String(port));
  const child: ChildProcess = spawn(join(PROJECT_ROOT, '.venv/bin/python'), argv, {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: false,
    // moto's Step Functions interpreter calls S3 and SQS (Map ItemReader, task integrations) on this port.
    env: { ...process.env, MOTO_PORT: String(port) },
  });
  const proc = superviseEmulator(child);
  const endpoint = `http://127.0.0.1:${port}`;
  await proc.ready(
    `moto server on ${endpoint}`,
    async () => (await fetch(`${endpoint}/moto-api/data.json`)).ok,
    opts.timeoutMs ?? 30_000,
  );
  return { endpoint, port, stop: proc.stop };
}
