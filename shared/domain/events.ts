/**
 * The event catalog: every detail type lifeboat emits or consumes, and the one table of routes
 * (event → function) that every router reads — the stack's EventBridge rules
 * (deploy/lifeboat.cjs), the local world's rules (local/provision.ts), the simulator's delivery
 * (sim/run-seed.ts) and the chain's step handlers (shared/runtime/recovery-handler.ts).
 *
 * Each function entry names its handler and the domain code it runs, so the code for any event
 * is one hop from here. docs/architecture.md is checked against this file.
 *
 * Pure data with no imports: deploy/lifeboat.cjs loads it through tsx without the rest of the
 * code.
 */

/** The `source` of every event lifeboat publishes on its bus. */
export const EVENT_SOURCE = 'lifeboat';

/**
 * Detail types of the events lifeboat emits on its bus (source `lifeboat`). Consumers match on
 * these names in EventBridge rules; changing one is a breaking change.
 */
export const DetailType = {
  SnapshotCompleted: 'Snapshot Completed',
  SnapshotFailed: 'Snapshot Failed',
  RestoreTestPassed: 'Restore Test Passed',
  RestoreTestFailed: 'Restore Test Failed',
  HealthObserved: 'Health Observed',
  RegionOutageConfirmed: 'Region Outage Confirmed',
  RegionRecovered: 'Region Recovered',
  ZoneDegraded: 'Zone Degraded',
  ZoneRecovered: 'Zone Recovered',
  RecoveryPlanned: 'Recovery Planned',
  /** recovery.approval: required: the plan is recorded and the run waits for `lifeboat approve`. */
  RecoveryAwaitingApproval: 'Recovery Awaiting Approval',
  InstanceRestored: 'Instance Restored',
  InstanceVerified: 'Instance Verified',
  RecoveryCompleted: 'Recovery Completed',
  RecoveryFailed: 'Recovery Failed',
  /** One per instance, fanned out from "Region Recovered" so each failback has its own invocation. */
  FailbackRequested: 'Failback Requested',
  FailbackCompleted: 'Failback Completed',
  FailbackFailed: 'Failback Failed',
  /** A practice run restored, verified and removed its copy (shared/domain/recovery/practice.ts). */
  PracticeCompleted: 'Practice Completed',
  PracticeFailed: 'Practice Failed',
} as const;

/** One of lifeboat's own detail types. */
export type LifeboatDetailType = (typeof DetailType)[keyof typeof DetailType];

/** Events from AWS that lifeboat's functions consume (sources other than `lifeboat`). */
export const AwsEvent = {
  AlarmStateChange: { source: 'aws.cloudwatch', detailType: 'CloudWatch Alarm State Change' },
  HealthEvent: { source: 'aws.health', detailType: 'AWS Health Event' },
} as const;

/** Must stay the prefix of alarmNameFor() in shared/schemas/detection-events.ts. */
export const ALARM_PREFIX = 'lifeboat-health-';

/** What each recovery step announces when it is done (the step engine's table). */
export const RecoveryEvent = {
  plan: DetailType.RecoveryPlanned,
  restore: DetailType.InstanceRestored,
  verify: DetailType.InstanceVerified,
  shift: DetailType.RecoveryCompleted,
  failed: DetailType.RecoveryFailed,
} as const;

/** What a failback announces when it ends. */
export const FailbackEvent = {
  completed: DetailType.FailbackCompleted,
  failed: DetailType.FailbackFailed,
} as const;

/** A lifeboat function: where its entry point and its domain code are. */
export interface FunctionEntry {
  /** The Lambda entry point. */
  handler: string;
  /** The domain code the handler runs. */
  domain: string;
  /** The name the local world's queues and the simulator's handlers use. */
  short: string;
  /** The recovery step it runs, for the chain's step handlers. */
  step?: 'plan' | 'restore' | 'verify' | 'shift';
  /** What starts it besides the routes below. */
  schedule?: string;
  /** The detail types it publishes. */
  emits: readonly LifeboatDetailType[];
}

/** Every function of the stack, by its serverless.yml name. */
export const FUNCTIONS = {
  snapshot: {
    handler: 'functions/snapshot/handler.ts',
    domain: 'shared/domain/snapshot/run.ts',
    short: 'snapshot',
    schedule: 'the shortest instances[].snapshot.schedule',
    emits: [DetailType.SnapshotCompleted, DetailType.SnapshotFailed],
  },
  restoreTest: {
    handler: 'functions/restore-test/handler.ts',
    domain: 'shared/domain/snapshot/restore-test.ts',
    short: 'restore-test',
    schedule: "instances[].snapshot.restoreTest: one rule per instance, in its home region's stack",
    emits: [DetailType.RestoreTestPassed, DetailType.RestoreTestFailed],
  },
  practice: {
    handler: 'functions/practice/handler.ts',
    domain: 'shared/domain/recovery/practice.ts',
    short: 'practice',
    schedule: "instances[].practice.schedule: one rule per instance, in its home region's stack",
    emits: [DetailType.PracticeCompleted, DetailType.PracticeFailed],
  },
  probe: {
    handler: 'functions/probe/handler.ts',
    domain: 'shared/domain/detection/probe.ts',
    short: 'probe',
    schedule: 'rate(1 minute), one round per detection.intervalSeconds',
    emits: [DetailType.HealthObserved],
  },
  detectOutage: {
    handler: 'functions/detect-outage/handler.ts',
    domain: 'shared/domain/detection/detect.ts',
    short: 'detect',
    schedule: 'rate(1 minute) tick',
    emits: [
      DetailType.RegionOutageConfirmed,
      DetailType.RegionRecovered,
      DetailType.ZoneDegraded,
      DetailType.ZoneRecovered,
    ],
  },
  planRecovery: {
    handler: 'functions/plan-recovery/handler.ts',
    domain: 'shared/domain/recovery/steps/plan-recovery.ts',
    short: 'plan',
    step: 'plan',
    emits: [
      DetailType.RecoveryPlanned,
      DetailType.RecoveryAwaitingApproval,
      DetailType.RecoveryFailed,
    ],
  },
  restoreInstance: {
    handler: 'functions/restore-instance/handler.ts',
    domain: 'shared/domain/recovery/steps/restore-instance.ts',
    short: 'restore',
    step: 'restore',
    emits: [DetailType.InstanceRestored, DetailType.RecoveryFailed],
  },
  verifyInstance: {
    handler: 'functions/verify-instance/handler.ts',
    domain: 'shared/domain/recovery/steps/verify-instance.ts',
    short: 'verify',
    step: 'verify',
    emits: [DetailType.InstanceVerified, DetailType.RecoveryFailed],
  },
  shiftTraffic: {
    handler: 'functions/shift-traffic/handler.ts',
    domain: 'shared/domain/recovery/steps/shift-traffic.ts',
    short: 'shift',
    step: 'shift',
    emits: [DetailType.RecoveryCompleted, DetailType.RecoveryFailed],
  },
  failback: {
    handler: 'functions/failback/handler.ts',
    domain: 'shared/domain/recovery/steps/failback.ts',
    short: 'failback',
    emits: [DetailType.FailbackRequested, DetailType.FailbackCompleted, DetailType.FailbackFailed],
  },
  reconcile: {
    handler: 'functions/reconcile/handler.ts',
    domain: 'shared/domain/recovery/steps/reconcile.ts',
    short: 'reconcile',
    schedule: 'rate(5 minutes)',
    emits: [
      DetailType.RecoveryPlanned,
      DetailType.InstanceRestored,
      DetailType.InstanceVerified,
      DetailType.FailbackRequested,
      DetailType.RecoveryAwaitingApproval,
      DetailType.RecoveryFailed,
      DetailType.FailbackFailed,
    ],
  },
  notify: {
    handler: 'functions/notify/handler.ts',
    domain: 'shared/domain/notifications/format.ts',
    short: 'notify',
    // It publishes to the region's SNS topic, never on the bus.
    emits: [],
  },
} as const satisfies Record<string, FunctionEntry>;

/** A function of the stack, by its serverless.yml name. */
export type FunctionName = keyof typeof FUNCTIONS;

/** An EventBridge event pattern, as the rules carry it. */
export interface EventPattern {
  source: string[];
  'detail-type': string[];
  detail?: Record<string, unknown>;
}

/** One EventBridge rule: which events on which bus invoke which function. */
export interface Route {
  /** The deployed rule is `lifeboat-<stage>-<rule>`. */
  rule: string;
  fn: FunctionName;
  /** `lifeboat`: the lifeboat bus; `default`: the region's default bus, where AWS puts its events. */
  bus: 'lifeboat' | 'default';
  /**
   * `own`: the function runs in the region the event was published in. `every`: in every
   * configured region (the stack forwards the event to the other regions' lifeboat buses).
   */
  regions: 'own' | 'every';
  pattern: EventPattern;
}

const lifeboat = (detailType: LifeboatDetailType): EventPattern => ({
  source: [EVENT_SOURCE],
  'detail-type': [detailType],
});

/** State changes of the alarms on lifeboat's Route 53 health checks, and of no other alarm. */
const ALARM_PATTERN: EventPattern = {
  source: [AwsEvent.AlarmStateChange.source],
  'detail-type': [AwsEvent.AlarmStateChange.detailType],
  detail: { alarmName: [{ prefix: ALARM_PREFIX }] },
};

/**
 * The recovery chain: each function runs on the previous one's event, in the region that
 * published it (the region whose planRecovery won the claim).
 */
export const CHAIN_TRIGGERS = {
  planRecovery: DetailType.RegionOutageConfirmed,
  restoreInstance: DetailType.RecoveryPlanned,
  verifyInstance: DetailType.InstanceRestored,
  shiftTraffic: DetailType.InstanceVerified,
} as const;

/** A function of the recovery chain. */
export type ChainFunction = keyof typeof CHAIN_TRIGGERS;

/** The chain's functions after planning: each runs one step of the recorded run. */
export type StepFunction = Exclude<ChainFunction, 'planRecovery'>;

/** Every event route of the stack: the one table the stack, the local world and the simulator read. */
export const ROUTES: readonly Route[] = [
  {
    rule: 'detect-observed',
    fn: 'detectOutage',
    bus: 'lifeboat',
    regions: 'every',
    pattern: lifeboat(DetailType.HealthObserved),
  },
  // Alarms exist in us-east-1 only: CloudWatch puts their changes on its default bus, and
  // us-east-1 forwards them to every other region's lifeboat bus.
  {
    rule: 'detect-alarm',
    fn: 'detectOutage',
    bus: 'default',
    regions: 'every',
    pattern: ALARM_PATTERN,
  },
  {
    rule: 'detect-alarm-forwarded',
    fn: 'detectOutage',
    bus: 'lifeboat',
    regions: 'every',
    pattern: ALARM_PATTERN,
  },
  {
    rule: 'detect-health',
    fn: 'detectOutage',
    bus: 'default',
    regions: 'own',
    pattern: {
      source: [AwsEvent.HealthEvent.source],
      'detail-type': [AwsEvent.HealthEvent.detailType],
      detail: { eventTypeCategory: ['issue'] },
    },
  },
  ...Object.entries(CHAIN_TRIGGERS).map(
    ([fn, detailType]): Route => ({
      rule: FUNCTIONS[fn as ChainFunction].handler.split('/')[1] as string,
      fn: fn as ChainFunction,
      bus: 'lifeboat',
      regions: 'own',
      pattern: lifeboat(detailType),
    }),
  ),
  {
    rule: 'failback',
    fn: 'failback',
    bus: 'lifeboat',
    regions: 'own',
    pattern: lifeboat(DetailType.RegionRecovered),
  },
  // The failback function's own fan-out: one "Failback Requested" per instance.
  {
    rule: 'failback-instance',
    fn: 'failback',
    bus: 'lifeboat',
    regions: 'own',
    pattern: lifeboat(DetailType.FailbackRequested),
  },
];

/**
 * The events a person is told about (shared/domain/notifications/format.ts formats each one).
 * Kept out of ROUTES, which is the flow between functions: a notification drives nothing.
 */
export const NOTIFIED_EVENTS: readonly LifeboatDetailType[] = [
  DetailType.RegionOutageConfirmed,
  DetailType.ZoneDegraded,
  DetailType.RecoveryAwaitingApproval,
  DetailType.RecoveryPlanned,
  DetailType.RecoveryCompleted,
  DetailType.RecoveryFailed,
  DetailType.FailbackCompleted,
  DetailType.FailbackFailed,
  DetailType.SnapshotFailed,
  DetailType.RestoreTestFailed,
];

/**
 * The notify function's rule: every notified event on the region's lifeboat bus, published to
 * the region's SNS topic. EventBridge's SNS target cannot set a subject (its targets take no
 * SNS parameters), so a small function publishes what the domain formats.
 */
export const NOTIFY_ROUTE: Route = {
  rule: 'notify',
  fn: 'notify',
  bus: 'lifeboat',
  regions: 'own',
  pattern: { source: [EVENT_SOURCE], 'detail-type': [...NOTIFIED_EVENTS] },
};

/** The routes on the lifeboat bus that carry lifeboat's own events, by function. */
export function lifeboatRoutes(): Route[] {
  return ROUTES.filter((r) => r.bus === 'lifeboat' && r.pattern.source[0] === EVENT_SOURCE);
}

/** The functions a lifeboat event invokes (the routes whose pattern names its detail type). */
export function functionsFor(detailType: string): Route[] {
  return lifeboatRoutes().filter((r) => r.pattern['detail-type'].includes(detailType));
}

/** Payload of "Restore Test Passed" and "Restore Test Failed". */
export interface RestoreTestEventDetail {
  instanceId: string;
  /** The snapshot restored; absent when none could be chosen. */
  snapshotId?: string;
  /** The replica region whose backup bucket it came from. */
  region: string;
  durationMs: number;
  /** Bytes restored into the scratch location. */
  bytes: number;
  objects: number;
  /** Only on failure: what went wrong. */
  reason?: string;
}

/** Payload of "Snapshot Completed" and "Snapshot Failed". */
export interface SnapshotEventDetail {
  instanceId: string;
  snapshotId: string;
  configDigest?: string;
  regionsCommitted: string[];
  regionsFailed: { region: string; reason: string }[];
  quorum: number;
  bytesTotal: number;
  bytesUploaded: number;
  objectCount: number;
  durationMs: number;
  /** Only on failure: why the snapshot does not count. */
  reason?: string;
}
