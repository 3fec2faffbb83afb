#!/usr/bin/env node
// In-repo launcher of vmon: loads the TypeScript entry through tsx, so no build step is needed
// (tests and the bench spawn it). The installed package's `vmon` bin is the compiled dist/bin/vmon.js.
import { register } from 'tsx/esm/api';

register();
await import('./vmon.ts');
