// Covers the vmon executable writing into a pipe its reader closes early (`vmon --help | head -1`):
// it exits 0 without an EPIPE stack trace.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';

describe('vmon in a pipe', () => {
  it('exits cleanly when the reader stops after the first chunk', async () => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/vmon.mjs'), '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Close our end before vmon writes: its first write meets a closed pipe.
    child.stdout.destroy();
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(stderr).not.toMatch(/EPIPE/);
    expect(code).toBe(0);
  }, 30_000);
});
