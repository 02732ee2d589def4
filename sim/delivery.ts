import { DetailType, FUNCTIONS, functionsFor } from '../shared/domain/events.ts';
import type { LifeboatEvent } from '../shared/domain/ports.ts';
import type { SeedContext } from './seed-context.ts';
import type { Invocation } from './world.ts';

/** EventBridge and Lambda's async invoke, as the simulation delivers events to functions. */

/**
 * The functions a published event invokes, and in which regions: the event catalog's routes
 * (as deployed) plus the operator, who acts on the failure alerts. The sim's failback answers
 * "Region Recovered" for every instance in one call, so it never fans out "Failback Requested".
 */
export const routesOf = (detailType: string): { fn: string; regions: 'own' | 'every' }[] => [
  ...functionsFor(detailType).map((r) => ({ fn: FUNCTIONS[r.fn].short, regions: r.regions })),
  ...(detailType === DetailType.RecoveryFailed || detailType === DetailType.FailbackFailed
    ? [{ fn: 'operator', regions: 'own' as const }]
    : []),
];

const LAMBDA_ATTEMPTS = 3; // Lambda async invoke: the first try and two retries
const DELIVERY_MAX_AGE_MS = 600_000;

/** Runs one function on one invocation (the handlers of functions.ts). */
export type Dispatch = (fn: string, inv: Invocation, envelope: unknown) => Promise<unknown>;

/** The bus of one seed: routes published events to functions, with EventBridge's manners. */
export class EventDelivery {
  private dispatch: Dispatch = async () => {
    throw new Error('sim: the functions are not wired to the bus yet');
  };

  constructor(private readonly ctx: SeedContext) {}

  /** The functions the bus invokes (they publish on it too, hence set after construction). */
  wire(dispatch: Dispatch): void {
    this.dispatch = dispatch;
  }

  /** Publishes events: at-least-once, delayed, sometimes duplicated or held back. */
  readonly deliver = (from: string, published: readonly LifeboatEvent[]): void => {
    const { seed, sched, regions, scenario, deliveryRng } = this.ctx;
    for (const event of published) {
      this.ctx.stats.events += 1;
      const envelope = {
        version: '0',
        id: `${seed}-ev-${this.ctx.stats.events}`,
        'detail-type': event.detailType,
        source: 'lifeboat',
        account: '123456789012',
        time: new Date(sched.now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: from,
        resources: [],
        detail: event.detail,
      };
      const targets = routesOf(event.detailType).flatMap(({ fn, regions: reach }) =>
        (reach === 'every' ? regions : [from]).map((region) => ({ fn, region })),
      );
      for (const target of targets) {
        const copies = deliveryRng.chance(scenario.duplicate) ? 2 : 1;
        for (let c = 0; c < copies; c += 1) {
          const delay = deliveryRng.chance(scenario.straggle)
            ? deliveryRng.int(10_000, 90_000)
            : deliveryRng.int(20, 2000);
          const sentAt = sched.now;
          sched.schedule(sched.now + delay, () =>
            this.invoke(target.fn, target.region, envelope, 1, sentAt),
          );
        }
      }
    }
  };

  /** One delivery to one function: Lambda async invoke, with its two retries. */
  readonly invoke = async (
    fn: string,
    region: string,
    envelope: unknown,
    attempt: number,
    sentAt: number,
  ): Promise<void> => {
    const { world, sched } = this.ctx;
    if (world.regionDown.has(region)) {
      // EventBridge keeps retrying a target it cannot reach, up to the event's maximum age.
      if (sched.now - sentAt < DELIVERY_MAX_AGE_MS)
        sched.schedule(
          sched.now + 60_000,
          () => void this.invoke(fn, region, envelope, attempt, sentAt),
        );
      return;
    }
    const inv = world.invocation(fn, region);
    let failed = false;
    try {
      await this.dispatch(fn, inv, envelope);
    } catch (error) {
      failed = true;
      if (process.env.SIM_DEBUG) console.error(fn, region, (error as Error).message);
    }
    // A crash caught by the code under test still killed the process: Lambda retries it.
    if (!failed && !inv.dead) return;
    if (attempt < LAMBDA_ATTEMPTS) {
      sched.schedule(
        sched.now + 60_000 * attempt,
        () => void this.invoke(fn, region, envelope, attempt + 1, sentAt),
      );
    } else this.ctx.stats.exhaustedDeliveries += 1;
  };
}
