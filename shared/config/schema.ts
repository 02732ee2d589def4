import { z } from 'zod';

/** `rate(N unit)` as EventBridge writes it; lifeboat turns it into seconds to decide when a snapshot is due. */
export const RATE_EXPRESSION = /^rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)$/;

const UNIT_SECONDS: Record<string, number> = {
  minute: 60,
  minutes: 60,
  hour: 3600,
  hours: 3600,
  day: 86_400,
  days: 86_400,
};

/** Seconds between two runs of a `rate(...)` expression. */
export function rateToSeconds(rate: string): number {
  const match = RATE_EXPRESSION.exec(rate);
  if (!match) throw new RangeError(`not a rate expression: ${rate}`);
  const [, count, unit] = match;
  return Number(count) * (UNIT_SECONDS[unit as string] ?? Number.NaN);
}

// S3 bucket naming rules, so a typo fails here rather than at deploy time.
const bucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'must be a valid S3 bucket name (3-63 chars, a-z 0-9 . -)',
  );

const regionName = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must look like an AWS region, e.g. us-east-1');

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const RegionSchema = z.strictObject({
  name: regionName,
  location: z.strictObject({
    lat: z.number().min(-90).max(90),
    lon: z.number().min(-180).max(180),
  }),
  /** How many instance slots the region can host in total, home instances included. */
  capacity: z.int().min(0),
  zones: z.array(z.string().min(1)).min(1),
  backupBucket: bucketName.optional(),
  instanceStoreBucket: bucketName.optional(),
  controlBucket: bucketName.optional(),
  /** Local worlds only: AWS endpoint for this region's API calls (e.g. a per-region proxy in front of moto). */
  endpointUrl: httpUrl.optional(),
});

const RetentionSchema = z.strictObject({
  /** Always keep this many of the newest committed snapshots. */
  last: z.int().min(1).default(1),
  daily: z.int().min(0).default(7),
  weekly: z.int().min(0).default(4),
  /** Unreferenced packs younger than this are left alone: an in-progress snapshot may own them. */
  gcGraceSeconds: z
    .int()
    .min(60)
    .default(6 * 3600),
});

const SnapshotSchema = z.strictObject({
  schedule: z
    .string()
    .regex(RATE_EXPRESSION, 'must be a rate expression such as "rate(1 day)" or "rate(5 minutes)"')
    .default('rate(1 day)'),
  /** How many replica regions must hold a snapshot before it counts as committed. Default: a majority. */
  quorum: z.int().min(1).optional(),
  retention: RetentionSchema.prefault({}),
  objectLock: z
    .strictObject({ mode: z.enum(['GOVERNANCE', 'COMPLIANCE']), days: z.int().min(1) })
    .optional(),
  /** Scheduled restore test (restore into a scratch prefix, check, delete); off when absent. */
  restoreTest: z
    .string()
    .regex(RATE_EXPRESSION, 'must be a rate expression such as "rate(7 days)"')
    .optional(),
});

const EndpointSchema = z.strictObject({
  url: httpUrl,
  /** Per-zone endpoints, so probes can tell a zone failure from a region failure. */
  zones: z.record(z.string(), httpUrl).default({}),
});

const DnsSchema = z.strictObject({
  hostedZoneId: z.string().min(1),
  recordName: z.string().min(1),
  routing: z.enum(['weighted', 'latency']).default('weighted'),
  /**
   * Route 53 health check per region (the `HealthCheckId…` outputs of the us-east-1 stack).
   * Each region's record is tied to its check, so Route 53's data plane fails over by itself
   * even when record changes cannot be made.
   */
  healthChecks: z.record(regionName, z.string().min(1)).optional(),
  ttl: z.int().min(1).max(86_400).default(30),
});

/** An ARN or id a region-bound reference takes in one region. */
const referenceValue = z.string().min(1).max(2048);

/** The API Gateway kind's own settings (see docs/apigateway.md). */
const ApiGatewaySchema = z.strictObject({
  /**
   * Region-bound references that differ per region (ACM certificates of domain names, Cognito
   * user pools, VPC links, log groups): a name → the value in each region. A restore replaces
   * the source region's value with the target's; one it cannot map stops the restore.
   */
  references: z
    .record(
      z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 chars of A-Z a-z 0-9 . _ -'),
      z.record(regionName, referenceValue),
    )
    .default({}),
  /**
   * Control-plane pacing: AWS's documented limits, or none (local emulators). Default: aws, none
   * with an endpoint override. Limits are per account, so the strictest any instance asks for applies.
   */
  pacing: z.enum(['aws', 'none']).optional(),
  /**
   * How long the instance's writers (deploy pipelines, consoles) take to honour a fence marker:
   * API Gateway cannot refuse their writes, so a deploy under way when the fence goes up still
   * lands. Failback reads nothing as final from, and moves no traffic to, a copy fenced less
   * than this long ago (docs/apigateway.md, "Fencing and failback").
   */
  fenceSettleSeconds: z.int().min(0).max(600).optional(),
});

/** What a recovery waits for before it changes anything (see docs/recovery.md, "Approval"). */
const RecoverySchema = z.strictObject({
  /**
   * `automatic`: a confirmed outage is recovered at once. `required`: the planner records the
   * plan, announces "Recovery Awaiting Approval", and the run waits for `lifeboat approve`.
   */
  approval: z.enum(['automatic', 'required']).default('automatic'),
  /** When nobody answers: after `seconds`, `onTimeout: proceed` as if approved, or `wait` (reminded once). */
  approvalTimeout: z
    .strictObject({
      seconds: z.int().min(60),
      onTimeout: z.enum(['proceed', 'wait']),
    })
    .optional(),
});

/** A practice run on a schedule: restore, verify, measure, remove; nothing routed to it. */
const PracticeSchema = z.strictObject({
  schedule: z.string().regex(RATE_EXPRESSION, 'must be a rate expression such as "rate(7 days)"'),
  /** The region to practise in; default: the one a recovery would choose now. */
  to: regionName.optional(),
});

/** The kinds of API-management instance lifeboat protects. */
export const INSTANCE_KINDS = ['object-store', 'apigateway'] as const;

const InstanceSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes'),
  /**
   * What the instance is: `object-store` (config as objects under a prefix of the region's
   * instance-store bucket, served by the reference runtime) or `apigateway` (Amazon API
   * Gateway REST APIs tagged `lifeboat:instance=<id>`, with their plans, keys and domains).
   */
  kind: z.enum(INSTANCE_KINDS).default('object-store'),
  apigateway: ApiGatewaySchema.optional(),
  homeRegion: regionName,
  /** Regions whose backup buckets receive every snapshot. */
  replicaRegions: z.array(regionName).min(1),
  /** Explicit failover order; when absent, regions are ranked by distance from home. */
  failoverOrder: z.array(regionName).optional(),
  /** Slots the instance takes in a region. */
  capacityUnits: z.int().min(1).default(1),
  /** Critical instances run active-active in every region of `activeRegions`. */
  critical: z.boolean().default(false),
  activeRegions: z.array(regionName).optional(),
  snapshot: SnapshotSchema.prefault({}),
  recovery: RecoverySchema.prefault({}),
  practice: PracticeSchema.optional(),
  dns: DnsSchema,
  endpoints: z.record(regionName, EndpointSchema),
});

const DetectionSchema = z.strictObject({
  /** Seconds between two probes of an endpoint (Route 53 health checks use 30, or 10 when fast). */
  intervalSeconds: z.number().positive().default(30),
  /** Consecutive failing intervals before a vantage counts as seeing a failure (Route 53: 3). */
  failureThreshold: z
    .int()
    .min(1)
    .max(10, 'must be at most 10 (the Route 53 health-check limit)')
    .default(3),
  /** Vantage regions that must agree; default min(3, number of regions − 1). */
  quorum: z.int().min(1).optional(),
  /** Sustained healthy time before a region counts as recovered. */
  recoverySeconds: z.number().positive().default(300),
  /** HTTP timeout of one probe. */
  probeTimeoutMs: z.int().min(100).max(60_000).default(2000),
  /** Let a CloudWatch alarm in ALARM for the whole window confirm an outage without the probe quorum. */
  alarmsCanConfirm: z.boolean().default(false),
  /** Let an open AWS Health issue confirm an outage without the probe quorum. */
  healthEventsCanConfirm: z.boolean().default(false),
});

const FailbackSchema = z.strictObject({
  /** Traffic shares the home region gets, step by step; must end at 100. */
  canaryPercents: z
    .array(z.int().min(1).max(100))
    .min(1)
    .refine((p) => p.every((v, i) => i === 0 || v > (p[i - 1] as number)) && p.at(-1) === 100, {
      message: 'must be strictly increasing and end at 100',
    })
    .default([10, 50, 100]),
  /** Time each canary step is watched before the next. */
  stepSeconds: z.number().min(0).default(60),
  /** Health checks of the home instance during each step; one failure rolls back. */
  healthChecksPerStep: z.int().min(1).max(100).default(3),
});

/** The protocols a notification subscription can use. */
export const NOTIFICATION_PROTOCOLS = ['email', 'https', 'sqs', 'lambda'] as const;

const arnOf = (service: string, resource: string, example: string) =>
  z
    .string()
    .regex(
      new RegExp(`^arn:aws[a-z-]*:${service}:[a-z]{2}(-[a-z]+)+-\\d:\\d{12}:${resource}$`),
      `must be ${service === 'sqs' ? 'an SQS queue' : 'a Lambda function'} ARN, e.g. ${example}`,
    );

/** One subscriber of every region's notification topic. */
const SubscriptionSchema = z.discriminatedUnion(
  'protocol',
  [
    z.strictObject({
      protocol: z.literal('email'),
      endpoint: z.email({ error: 'must be an email address' }),
    }),
    z.strictObject({
      protocol: z.literal('https'),
      endpoint: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
    }),
    z.strictObject({
      protocol: z.literal('sqs'),
      endpoint: arnOf('sqs', '[A-Za-z0-9_-]{1,80}', 'arn:aws:sqs:us-east-1:123456789012:alerts'),
    }),
    z.strictObject({
      protocol: z.literal('lambda'),
      endpoint: arnOf(
        'lambda',
        'function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?',
        'arn:aws:lambda:us-east-1:123456789012:function:pager',
      ),
    }),
  ],
  { error: `must be one of ${NOTIFICATION_PROTOCOLS.join(', ')}` },
);

/** Who is told about outages, recoveries, failbacks, failed snapshots and alarms (docs/operations.md). */
const NotificationsSchema = z.strictObject({
  /** Subscribed to the topic of every region's stack. */
  subscriptions: z.array(SubscriptionSchema).default([]),
});

/** The whole config file. */
export const ConfigSchema = z
  .strictObject({
    version: z.literal(1),
    naming: z
      .strictObject({
        bucketPrefix: z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]{1,30}$/, 'must be 2-31 chars of a-z 0-9 -'),
        eventBusName: z.string().regex(/^[A-Za-z0-9._-]{1,256}$/),
      })
      .prefault({ bucketPrefix: 'lifeboat', eventBusName: 'lifeboat' }),
    regions: z.array(RegionSchema).min(1),
    detection: DetectionSchema.prefault({}),
    failback: FailbackSchema.prefault({}),
    notifications: NotificationsSchema.prefault({}),
    instances: z.array(InstanceSchema),
  })
  .superRefine((config, ctx) => {
    const known = new Set<string>();
    config.regions.forEach((region, index) => {
      if (known.has(region.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['regions', index, 'name'],
          message: `duplicate region "${region.name}"`,
        });
      }
      known.add(region.name);
    });
    if (config.detection.probeTimeoutMs >= config.detection.intervalSeconds * 1000) {
      ctx.addIssue({
        code: 'custom',
        path: ['detection', 'probeTimeoutMs'],
        message: `must be shorter than the probe interval (${config.detection.intervalSeconds * 1000} ms)`,
      });
    }
    const quorum = config.detection.quorum;
    if (quorum !== undefined && quorum > config.regions.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['detection', 'quorum'],
        message: `is ${quorum} but only ${config.regions.length} region(s) can probe`,
      });
    }
    const unknown = (value: string) =>
      `unknown region "${value}" (configured: ${[...known].join(', ')})`;
    const seenIds = new Set<string>();
    config.instances.forEach((instance, i) => {
      const at = (...path: (string | number)[]) => ['instances', i, ...path];
      if (seenIds.has(instance.id)) {
        ctx.addIssue({
          code: 'custom',
          path: at('id'),
          message: `duplicate instance "${instance.id}"`,
        });
      }
      seenIds.add(instance.id);
      // Practice copies take `<id>--practice` (shared/domain/recovery/practice.ts).
      if (instance.id.endsWith('--practice')) {
        ctx.addIssue({
          code: 'custom',
          path: at('id'),
          message: 'may not end with "--practice" (the identity of practice copies)',
        });
      }
      if (!known.has(instance.homeRegion)) {
        ctx.addIssue({
          code: 'custom',
          path: at('homeRegion'),
          message: unknown(instance.homeRegion),
        });
      }
      instance.replicaRegions.forEach((r, j) => {
        if (!known.has(r))
          ctx.addIssue({ code: 'custom', path: at('replicaRegions', j), message: unknown(r) });
      });
      if (new Set(instance.replicaRegions).size !== instance.replicaRegions.length) {
        ctx.addIssue({
          code: 'custom',
          path: at('replicaRegions'),
          message: 'lists a region twice',
        });
      }
      instance.failoverOrder?.forEach((r, j) => {
        if (!known.has(r))
          ctx.addIssue({ code: 'custom', path: at('failoverOrder', j), message: unknown(r) });
      });
      instance.activeRegions?.forEach((r, j) => {
        if (!known.has(r))
          ctx.addIssue({ code: 'custom', path: at('activeRegions', j), message: unknown(r) });
      });
      for (const r of Object.keys(instance.dns.healthChecks ?? {})) {
        if (!known.has(r))
          ctx.addIssue({ code: 'custom', path: at('dns', 'healthChecks', r), message: unknown(r) });
      }
      for (const r of Object.keys(instance.endpoints)) {
        if (!known.has(r))
          ctx.addIssue({ code: 'custom', path: at('endpoints', r), message: unknown(r) });
      }
      if (instance.recovery.approvalTimeout && instance.recovery.approval !== 'required') {
        ctx.addIssue({
          code: 'custom',
          path: at('recovery', 'approvalTimeout'),
          message: 'applies only with recovery.approval: required',
        });
      }
      if (instance.practice?.to !== undefined) {
        const to = instance.practice.to;
        if (!known.has(to))
          ctx.addIssue({ code: 'custom', path: at('practice', 'to'), message: unknown(to) });
        else if (to === instance.homeRegion)
          ctx.addIssue({
            code: 'custom',
            path: at('practice', 'to'),
            message: `is the home region; a practice restores somewhere else`,
          });
      }
      if (instance.apigateway && instance.kind !== 'apigateway') {
        ctx.addIssue({
          code: 'custom',
          path: at('apigateway'),
          message: `is only for kind "apigateway" (this instance is "${instance.kind}")`,
        });
      }
      for (const [name, byRegion] of Object.entries(instance.apigateway?.references ?? {})) {
        for (const [r, value] of Object.entries(byRegion)) {
          if (!known.has(r)) {
            ctx.addIssue({
              code: 'custom',
              path: at('apigateway', 'references', name, r),
              message: unknown(r),
            });
            continue;
          }
          const arnRegion = /^arn:aws[a-z-]*:[a-z0-9-]+:([a-z0-9-]*):/.exec(value)?.[1];
          if (arnRegion && arnRegion !== r) {
            ctx.addIssue({
              code: 'custom',
              path: at('apigateway', 'references', name, r),
              message: `is an ARN of ${arnRegion}, not of ${r}`,
            });
          }
        }
      }
      const quorum = instance.snapshot.quorum;
      if (quorum !== undefined && quorum > instance.replicaRegions.length) {
        ctx.addIssue({
          code: 'custom',
          path: at('snapshot', 'quorum'),
          message: `is ${quorum} but only ${instance.replicaRegions.length} replica region(s) are listed`,
        });
      }
      if (instance.critical && (instance.activeRegions?.length ?? 0) < 2) {
        ctx.addIssue({
          code: 'custom',
          path: at('activeRegions'),
          message: 'a critical instance needs at least two active regions',
        });
      }
    });
  });

/** The validated config, defaults filled in. */
export type LifeboatConfig = z.output<typeof ConfigSchema>;
/** One region as configured. */
export type RegionConfig = LifeboatConfig['regions'][number];
/** One instance as configured. */
export type InstanceConfig = LifeboatConfig['instances'][number];
/** How outages are confirmed. */
export type DetectionPolicy = LifeboatConfig['detection'];
/** Retention policy of one instance's snapshots. */
export type RetentionPolicy = InstanceConfig['snapshot']['retention'];
/** One subscriber of the notification topics. */
export type NotificationSubscription = LifeboatConfig['notifications']['subscriptions'][number];
