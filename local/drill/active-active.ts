import type { Weights } from '../../shared/domain/recovery/ports.ts';
import type { DrillSession } from './session.ts';

/** How long each phase may take before the drill gives up on it. */
const PHASE_TIMEOUT_MS = 40_000;

/**
 * `--scenario active-active`: a critical instance serves from its home region and the control
 * region with equal weights. Home fails for real; it must be drained to 0 with no restore (the
 * other region already serves). Home comes back; its share must return in steps (the canary
 * percentages) to the even split. Then a config change made at home must reach the other
 * active region through snapshot and restore: config stays in step.
 */
export async function playActiveActive(s: DrillSession, id: string, home: string): Promise<void> {
  const { world } = s;
  const instance = world.config.instances.find((i) => i.id === id);
  const other = instance?.activeRegions?.find((r) => r !== home);
  if (!instance || !other) {
    s.hold(`${id}: runs active-active in two regions`, false, 'no second active region');
    return;
  }
  const changes = (since: Date) =>
    world.weightChanges.filter((c) => c.instanceId === id && c.at >= since);
  const last = (since: Date): Weights | undefined => changes(since).at(-1)?.weights;

  const outageAt = new Date();
  s.outageAt = outageAt;
  await world.takeRegionDown(home);
  s.mark(
    'fault',
    `${home} stops answering: its S3 endpoint and every instance endpoint are closed`,
  );
  const drained = () => {
    const w = last(outageAt);
    return w !== undefined && (w[home] ?? 0) === 0 && (w[other] ?? 0) > 0;
  };
  await s.run(PHASE_TIMEOUT_MS, drained);
  const drainedAt = changes(outageAt).at(-1)?.at;
  const afterDrain = await s.readWeights(id, 'after drain');
  const entry = s.dns[id];
  if (entry) entry.afterRecovery = afterDrain;
  const restores = s.delivered('Recovery Planned', id).length;
  s.hold(
    `${id}: ${home} is drained with no restore`,
    drained() && restores === 0 && (afterDrain[home] ?? 0) === 0,
    `weights ${describe(afterDrain)}; ${restores} recovery run(s)`,
  );

  const homeBackAt = new Date();
  s.homeBackAt = homeBackAt;
  await world.bringRegionBack(home);
  s.mark('fault', `${home} answers again`);
  const returned = () => {
    const w = last(homeBackAt);
    return w !== undefined && (w[home] ?? 0) > 0 && w[home] === w[other];
  };
  await s.run(PHASE_TIMEOUT_MS, returned);
  const afterReturn = await s.readWeights(id, 'after return');
  if (entry) entry.afterFailback = afterReturn;
  const shares = changes(homeBackAt).map((c) => c.weights[home] ?? 0);
  const gradual =
    shares.length >= 2 && shares.every((share, i) => i === 0 || share >= (shares[i - 1] ?? 0));
  s.hold(
    `${id}: ${home} comes back gradually to the even split`,
    returned() && gradual,
    `${home}'s share in steps: ${shares.join(' → ') || 'none'}; now ${describe(afterReturn)}`,
  );

  // Config stays in step: a change made at home reaches the other active region.
  const key = 'apis/written-active-active.json';
  const write = await fetch(`${instance.endpoints[home]?.url}/admin/config/${key}`, {
    method: 'PUT',
    body: '{"activeActive":true}\n',
  }).catch(() => undefined);
  await world.snapshotAll(new Date());
  await world.pump.drain();
  for (const region of [home, other]) await world.runtime(id, region).reload();
  const homeDigest = world.runtime(id, home).configDigest;
  const otherDigest = world.runtime(id, other).configDigest;
  s.hold(
    `${id}: config stays in step between ${home} and ${other}`,
    write?.status === 200 && homeDigest !== null && homeDigest === otherDigest,
    `write at home: HTTP ${write?.status ?? 'unreachable'}; digests ${homeDigest?.slice(0, 12)}… / ${otherDigest?.slice(0, 12)}…`,
  );
  s.instancesOut.push({
    id,
    homeRegion: home,
    recoveredTo: null,
    // For a drained instance the "detection" is fault → drain, the moment traffic left home.
    detectionSeconds: drainedAt ? round((drainedAt.getTime() - outageAt.getTime()) / 1000) : null,
    rtoSeconds: null,
    rpoSeconds: null,
    writesDuringOutage: 0,
    writesLostAfterFailback: 0,
  });
}

const describe = (w: Weights) =>
  Object.entries(w)
    .map(([r, x]) => `${r}=${x}`)
    .join(' ');
const round = (x: number) => Math.round(x * 10) / 10;
