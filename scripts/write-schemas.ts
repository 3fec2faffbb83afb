// Writes schemas/*.json from lib/core/event-schemas.ts (npm run schemas).
import { writeFileSync, mkdirSync } from 'node:fs';
import { EVENT_SCHEMAS, jsonSchemaFor } from '../lib/core/event-schemas.js';

mkdirSync('schemas', { recursive: true });
for (const name of Object.keys(EVENT_SCHEMAS)) {
  writeFileSync(`schemas/${name}.json`, `${JSON.stringify(jsonSchemaFor(name), null, 2)}\n`);
  console.log(`schemas/${name}.json`);
}
