import { runSeed } from './run-seed.ts';

const from = Number(process.argv[2] ?? 0),
  n = Number(process.argv[3] ?? 10);
const t0 = performance.now();
for (let s = from; s < from + n; s++) {
  const t = performance.now();
  const r = await runSeed(s);
  console.log(
    s,
    r.scenario,
    'steps',
    r.steps,
    'runs',
    r.runs,
    'stuck',
    r.silentlyStuck,
    'exh',
    r.exhaustedDeliveries,
    (performance.now() - t).toFixed(0) + 'ms',
  );
  for (const v of r.violations)
    console.log('   VIOLATION', v.invariant, new Date(v.t).toISOString(), v.message);
}
console.log('total', (performance.now() - t0).toFixed(0));
