// Covers the commented example policy in docs/detectors-and-policies.md: with its comments stripped it
// is a valid policy, and it is exactly the built-in default that `vmon policy default` prints (so the
// docs' example cannot drift from the code).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, parsePolicy } from '../../lib/core/policy.js';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';

const page = readFileSync(join(PROJECT_ROOT, 'docs/detectors-and-policies.md'), 'utf8');

describe('the commented example policy in the docs', () => {
  it('is the built-in default once its comments are stripped', () => {
    const block = /### The default policy, commented[\s\S]*?```jsonc\n([\s\S]*?)\n```/.exec(page)?.[1];
    expect(block).toBeDefined();
    // Comments start at `//` outside strings; no string in the example holds `//`.
    const json = block!.replace(/\s*\/\/.*$/gm, '');
    const parsed = JSON.parse(json);
    expect(parsed).toEqual(JSON.parse(JSON.stringify(DEFAULT_POLICY)));
    expect(parsePolicy(parsed)).toEqual(DEFAULT_POLICY);
  });
});
