import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration files each start their own moto and wait on real timeouts (lifecycle loops, long
    // polls); two files at once on two cores made them race for CPU, and four different tests timed
    // out in turn. One file at a time: slower (about 5 min), and the timings the tests assume hold.
    maxWorkers: 1,
    // In CI a JSON report lets .ci/run print "N passed, N failed".
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: process.env.CI ? { json: '.ci/vitest.json' } : undefined,
  },
});
