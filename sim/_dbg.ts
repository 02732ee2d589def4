import { runSeed } from './run-seed.ts';

const r = await runSeed(Number(process.argv[2]), { keepTrace: true });
for (const e of r.trace)
  if (e.kind !== 'clock' && e.kind !== 'slot')
    console.log(new Date(e.t).toISOString().slice(11, 23), JSON.stringify(e).slice(0, 300));
