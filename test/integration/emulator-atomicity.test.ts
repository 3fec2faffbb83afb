// Covers the local emulator's contract that every other test's evidence rests on: on the moto server
// the local stack runs (lib/local/atomic_moto_server.py), a conditional write has exactly one winner
// and SQS loses no message and hands none to two receivers at once. The server runs with a 10 µs
// thread switch interval (moto's own is 5 ms) so request threads interleave at nearly every step:
// with that stress, stock moto gives several two-winner contests per 1,000 (`npm run race-probe`
// prints both side by side), so these assertions would catch it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type MotoServer } from '../../lib/local/moto-server.js';
import { conditionalWriteContest, queueDeleteContest } from '../../lib/local/race-probe.js';

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto({ switchIntervalS: 0.00001 });
});
afterAll(async () => {
  await moto?.stop();
});

describe('local emulator atomicity', () => {
  it('1,000 contests of 4 writers at one version, 25 items at once: exactly one winner in each', async () => {
    const r = await conditionalWriteContest(moto.endpoint, { rounds: 1_000, itemsAtOnce: 25, writers: 4 });
    expect(r).toEqual({ contests: 1_000, multiWinner: 0, noWinner: 0, conflicts: 3_000 });
  }, 180_000);

  it('SQS: 3,000 messages sent while 6 receivers receive and delete: none lost, none received twice', async () => {
    const r = await queueDeleteContest(moto.endpoint, { messages: 3_000, receivers: 6 });
    expect(r).toEqual({ sent: 3_000, lost: 0, doubleReceived: 0, serverErrors: 0 });
  }, 180_000);
});
