import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../shared/config/load.ts';
import { LifeboatError, UsageError } from '../shared/errors.ts';
import { demoCommand } from './commands/demo.ts';
import { dnsVerb } from './commands/dns.ts';
import { drillCommand } from './commands/drill.ts';
import { localCommand, runningLocalEndpoint, useLocalEndpoint } from './commands/local.ts';
import {
  failbackVerb,
  failoverVerb,
  planVerb,
  resumeVerb,
  statusVerb,
} from './commands/recovery.ts';
import { gcVerb, listVerb, restoreVerb, snapshotVerb, verifyVerb } from './commands/snapshots.ts';

const USAGE = `lifeboat: disaster recovery for multi-region API-management instances

usage: lifeboat <verb> [options]

verbs:
  drill                      a full local DR drill with real faults and a report [--scenario S] [--regions N]
                             [--instances N] [--seed S] [--report FILE.json] [--html FILE.html]
                             scenarios: region-outage (default), zone-outage, flapping, partition, destroyed, multi
  dns precreate              create each instance's weighted records before any outage [--approve]
  demo                       snapshot round trip on a local multi-region world (starts its own moto_server)
  local up|down|status       start/stop a local AWS (moto_server) provisioned from the config
  snapshot [--instance ID]…  snapshot now (--due: only instances whose schedule is due)
  snapshots --instance ID    list committed snapshots per replica region [--region R]
  verify --instance ID       check a snapshot without restoring [--region R] [--snapshot S]
  restore --instance ID --to REGION [--from REGION] [--snapshot S] [--fallback]
  gc --instance ID           apply retention in every replica region [--dry-run]
  plan --region R            dry run: what a failure of R would do now [--instance ID]… [--json]
  failover --instance ID --from R   recover an instance out of R by hand [--approve]
  failback --instance ID     bring a recovered instance home by hand [--approve]
  status                     regions, capacity, runs, DNS weights, snapshots [--instance ID]… [--json]
  resume --run RUN_ID        show where a run stopped; continue it [--approve]

options:
  --config FILE              config file (default: LIFEBOAT_CONFIG or the embedded lifeboat.config.yml)
  --endpoint-url URL         AWS endpoint (e.g. a moto_server); default AWS_ENDPOINT_URL, then a running local world
  --apis N                   demo: API definitions to seed (default 100)
  --approve                  failover/failback/resume: execute (without it: show the plan, exit 3)
  --json                     plan/status: machine-readable output
  --from-region R            recovery verbs: region to act from (default: first configured one not failing)

exit codes: 0 ok, 1 operation failed, 2 usage, 3 approval needed (re-run with --approve)
`;

const RECOVERY_VERBS = {
  plan: planVerb,
  failover: failoverVerb,
  failback: failbackVerb,
  status: statusVerb,
  resume: resumeVerb,
} as const;

const VERBS_NEEDING_AWS = new Set([
  'dns',
  'snapshot',
  'snapshots',
  'verify',
  'restore',
  'gc',
  ...Object.keys(RECOVERY_VERBS),
]);

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      'endpoint-url': { type: 'string' },
      instance: { type: 'string', multiple: true },
      region: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      snapshot: { type: 'string' },
      fallback: { type: 'boolean' },
      due: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      apis: { type: 'string' },
      run: { type: 'string' },
      approve: { type: 'boolean' },
      json: { type: 'boolean' },
      'from-region': { type: 'string' },
      scenario: { type: 'string' },
      regions: { type: 'string' },
      instances: { type: 'string' },
      seed: { type: 'string' },
      report: { type: 'string' },
      html: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [verb, ...rest] = positionals;
  if (values.help || !verb) {
    console.log(USAGE);
    return verb || values.help ? 0 : 2;
  }
  if (Object.hasOwn(RECOVERY_VERBS, verb) && rest.length > 0) {
    throw new UsageError(`${verb}: unexpected argument "${rest[0]}"`);
  }
  const configPath = values.config ?? process.env.LIFEBOAT_CONFIG ?? DEFAULT_CONFIG_PATH;
  const config = loadConfig(configPath);
  if (values['endpoint-url']) {
    if (!/^https?:\/\/[^\s]+$/.test(values['endpoint-url'])) {
      throw new UsageError(`--endpoint-url: not an http(s) URL: ${values['endpoint-url']}`);
    }
    useLocalEndpoint(values['endpoint-url']);
  } else if (
    VERBS_NEEDING_AWS.has(verb) &&
    !process.env.AWS_ENDPOINT_URL &&
    !process.env.AWS_PROFILE
  ) {
    const endpoint = runningLocalEndpoint();
    console.error(`(using the local AWS at ${endpoint})`);
    useLocalEndpoint(endpoint);
  }
  switch (verb) {
    case 'drill':
      return drillCommand(config, {
        scenario: values.scenario,
        regions: values.regions,
        instances: values.instances,
        seed: values.seed,
        report: values.report,
        html: values.html,
        endpoint: values['endpoint-url'],
      });
    case 'dns':
      return dnsVerb(config, rest, { approve: values.approve });
    case 'demo': {
      const apis = Number(values.apis ?? 100);
      if (!Number.isInteger(apis) || apis < 1 || apis > 100_000) {
        throw new UsageError(
          `--apis: expected a whole number from 1 to 100000, got ${values.apis}`,
        );
      }
      return demoCommand(config, { apis });
    }
    case 'local':
      return localCommand(rest, config, configPath);
    case 'snapshot':
      return snapshotVerb(config, values);
    case 'snapshots':
      return listVerb(config, values);
    case 'verify':
      return verifyVerb(config, values);
    case 'restore':
      return restoreVerb(config, values);
    case 'gc':
      return gcVerb(config, values);
    case 'plan':
    case 'failover':
    case 'failback':
    case 'status':
    case 'resume':
      return RECOVERY_VERBS[verb](config, values);
    default:
      throw new UsageError(`unknown verb "${verb}"; run lifeboat --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (
      error instanceof LifeboatError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`lifeboat: ${(error as Error).message}`);
      process.exitCode = 2;
    } else {
      // The stack only: an SDK error's enumerable fields can echo the request's access key id
      // and session token (S3's SignatureDoesNotMatch body does), and console.error prints them.
      console.error(
        error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error),
      );
      process.exitCode = 1;
    }
  },
);
