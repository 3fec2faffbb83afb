// `npm run race-probe`: the emulator-atomicity probes (lib/local/race-probe.ts) on stock moto and on the
// atomic entry point the local stack uses, side by side. Options: --rounds N (write contests, default
// 1000), --messages N (SQS, default 3000), --switch-interval S (default 1e-5; moto's own is 0.005).
import { parseArgs } from 'node:util';
import { startMoto } from '../lib/local/moto-server.js';
import { conditionalWriteContest, queueDeleteContest } from '../lib/local/race-probe.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1000' },
    messages: { type: 'string', default: '3000' },
    'switch-interval': { type: 'string', default: '0.00001' },
  },
});
const rows: Record<string, unknown>[] = [];
for (const stock of [true, false]) {
  const moto = await startMoto({ stock, switchIntervalS: Number(values['switch-interval']) });
  try {
    const writes = await conditionalWriteContest(moto.endpoint, {
      rounds: Number(values.rounds),
      itemsAtOnce: 25,
      writers: 4,
    });
    const queue = await queueDeleteContest(moto.endpoint, { messages: Number(values.messages), receivers: 6 });
    rows.push({ server: stock ? 'stock moto' : 'atomic (local stack)', ...writes, ...queue });
  } finally {
    await moto.stop();
  }
}
console.table(rows);
