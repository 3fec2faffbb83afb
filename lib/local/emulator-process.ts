// A local emulator process (moto server, DynamoDB Local) we started and must stop: it is killed
// if this process exits first, and `ready` polls until it answers or fails with its last output.
import type { ChildProcess } from 'node:child_process';

export interface EmulatorProcess {
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Polls `probe` until it returns true; throws with the process's last output if it exits or times out. */
  ready(name: string, probe: () => Promise<boolean>, timeoutMs: number, everyMs?: number): Promise<void>;
}

export function superviseEmulator(child: ChildProcess): EmulatorProcess {
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // Don't leave the emulator behind if this process exits without calling stop().
  const onExit = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
  };
  return {
    stop,
    async ready(name, probe, timeoutMs, everyMs = 100) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) {
          await stop();
          throw new Error(`${name} exited with code ${child.exitCode}: ${output}`);
        }
        try {
          if (await probe()) return;
        } catch {
          /* not up yet */
        }
        await new Promise((r) => setTimeout(r, everyMs));
      }
      await stop();
      throw new Error(`${name} did not answer within ${timeoutMs} ms: ${output}`);
    },
  };
}
