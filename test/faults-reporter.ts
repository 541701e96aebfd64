// Prints, after the whole suite, the fault-injection tally the fault scenarios computed, and a plain closing
// line of test counts. Each fault scenario stores { windowsLost, secretsLeaked, forgedHonoured } in its test's meta.
import type { Reporter, TestModule } from 'vitest/node';

declare module 'vitest' {
  interface TaskMeta {
    fault?: { windowsLost: number; secretsLeaked: number; forgedHonoured?: number };
  }
}

export default class FaultsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let scenarios = 0;
    let windowsLost = 0;
    let secretsLeaked = 0;
    let forgedHonoured = 0;
    let passed = 0;
    let failed = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        if (state === 'failed') failed++;
        const fault = test.meta().fault;
        if (!fault) continue;
        scenarios++;
        windowsLost += fault.windowsLost;
        secretsLeaked += fault.secretsLeaked;
        forgedHonoured += fault.forgedHonoured ?? 0;
      }
    }
    if (scenarios > 0) {
      console.log(
        `faults: ${scenarios} scenarios, ${windowsLost} windows lost, ${secretsLeaked} secrets leaked, ${forgedHonoured} forged entries honoured`,
      );
    }
    console.log(`tests: ${passed} passed, ${failed} failed`);
  }
}
