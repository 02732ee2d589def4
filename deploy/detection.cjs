'use strict';

/**
 * Detection's resources for one region's stack: cross-region forwarding of "Health Observed"
 * and of the health-check alarms, and in us-east-1 the Route 53 health checks with their alarms.
 */

const crypto = require('node:crypto');
const { TAGS } = require('./cfn.cjs');
const {
  catalog,
  LifeboatDeployError,
  configuredRegion,
  deployStage,
  instances,
  naming,
  patternOf,
  pascal,
} = require('./config.cjs');

const { ALARM_PREFIX } = catalog;

/** Route 53 publishes health-check metrics only here, so health checks and alarms live here. */
const HEALTH_CHECK_REGION = 'us-east-1';
/** EventBridge allows at most 5 targets per rule. */
const MAX_TARGETS_PER_RULE = 5;
/**
 * Each (instance, endpoint region) pair adds two health checks, an alarm and an output; a
 * template holds at most 200 outputs and 500 resources, about 60 of which the functions, roles,
 * rules and buckets take.
 */
const MAX_HEALTH_CHECKS = 140;

/** Same name as shared/schemas/detection-events.ts alarmNameFor. */
function alarmNameFor(instanceId, region) {
  return `${ALARM_PREFIX}${instanceId}-${region}`;
}

function chunk(list, size) {
  const chunks = [];
  for (let i = 0; i < list.length; i += size) chunks.push(list.slice(i, i + size));
  return chunks;
}

function eventBusArn(region, name) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        `:events:${region}:`,
        { Ref: 'AWS::AccountId' },
        `:event-bus/${name}`,
      ],
    ],
  };
}

/**
 * Rules that forward `pattern` from one bus of this region to the lifeboat bus of each region
 * in `regions`, five targets to a rule.
 */
function forwardRules({ logicalPrefix, name, description, eventBus, pattern, regions, busName }) {
  const resources = {};
  chunk(regions, MAX_TARGETS_PER_RULE).forEach((group, i) => {
    resources[`${logicalPrefix}${i + 1}`] = {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: `${name}-${i + 1}`,
        Description: description,
        ...(eventBus ? { EventBusName: eventBus } : {}),
        EventPattern: pattern,
        State: 'ENABLED',
        // Event bus targets take no RetryPolicy: EventBridge retries them for up to 24 hours.
        Targets: group.map((region) => ({
          Id: `lifeboat-bus-${region}`,
          Arn: eventBusArn(region, busName),
          RoleArn: { 'Fn::GetAtt': ['EventForwardRole', 'Arn'] },
        })),
      },
    };
  });
  return resources;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** What a Route 53 health check needs to request the same `/health` the probe function does. */
/**
 * A Route 53 health check of `<url>/<path>`. Two per endpoint: `health` (liveness: the region
 * answers; its alarm feeds the detector) and `ready` (readiness: the instance serves its config
 * there; the DNS record is tied to it). Route 53 answers with every healthy zero-weight record
 * once the weighted ones fail, so a standby region must fail the record's check, or clients
 * would be spread over regions without the instance when weights cannot change (Route 53's
 * control plane is in us-east-1).
 */
function healthCheckConfig(url, where, detection, path = 'health') {
  let parsed;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new LifeboatDeployError(`${where} is not a URL: "${url}"`, { cause });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new LifeboatDeployError(`${where} must be an http(s) URL, not "${url}"`);
  }
  if (parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw new LifeboatDeployError(
      `${where} is "${url}"; the probes request <url>/health, so it may carry no query, ` +
        'fragment or credentials',
    );
  }
  const https = parsed.protocol === 'https:';
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const literalIp = IPV4.test(host) || host.includes(':');
  return {
    Type: https ? 'HTTPS' : 'HTTP',
    ...(literalIp ? { IPAddress: host } : { FullyQualifiedDomainName: host }),
    Port: parsed.port ? Number(parsed.port) : https ? 443 : 80,
    // The probe's path: the endpoint URL without trailing slashes, then /health.
    ResourcePath: `${parsed.pathname.replace(/\/+$/, '')}/${path}`,
    RequestInterval: detection.intervalSeconds < 30 ? 10 : 30,
    FailureThreshold: detection.failureThreshold,
    ...(https && !literalIp ? { EnableSNI: true } : {}),
  };
}

/** One Route 53 health check and one alarm on it per instance and endpoint region. */
function healthCheckResources(doc, file) {
  const { detection } = doc;
  // failureThreshold is 1 to 10, as Route 53 health checks take it: the schema checks that.
  const pairs = [];
  const ids = new Set();
  instances(doc).forEach((instance, i) => {
    if (!instance || typeof instance.id !== 'string') {
      throw new LifeboatDeployError(`${file}: instances[${i}].id is missing`);
    }
    if (ids.has(instance.id)) {
      throw new LifeboatDeployError(`${file}: instances[${i}].id "${instance.id}" is used twice`);
    }
    ids.add(instance.id);
    for (const [region, endpoint] of Object.entries(instance.endpoints ?? {})) {
      const where = `${file}: instances[${i}].endpoints.${region}.url`;
      pairs.push({ instanceId: instance.id, region, url: endpoint?.url, where });
    }
  });
  if (pairs.length > MAX_HEALTH_CHECKS) {
    throw new LifeboatDeployError(
      `${file} lists ${pairs.length} instance endpoints; one us-east-1 stack holds at most ` +
        `${MAX_HEALTH_CHECKS} health checks with their alarms and outputs`,
    );
  }
  // Logical ids must stay stable (DNS records attach the health checks by id), so a collision
  // of two names is settled by a hash of each name, never by the order in the config.
  const base = (p) => `${pascal(p.instanceId)}${pascal(p.region)}`;
  const counts = new Map();
  for (const p of pairs) counts.set(base(p), (counts.get(base(p)) ?? 0) + 1);
  const suffixOf = (p) =>
    counts.get(base(p)) > 1
      ? `${base(p)}${crypto.createHash('sha256').update(`${p.instanceId}/${p.region}`).digest('hex').slice(0, 8)}`
      : base(p);

  const Resources = {};
  const Outputs = {};
  for (const p of pairs) {
    if (typeof p.url !== 'string') throw new LifeboatDeployError(`${p.where} is missing`);
    const suffix = suffixOf(p);
    const check = `HealthCheck${suffix}`;
    const alarmName = alarmNameFor(p.instanceId, p.region);
    Resources[check] = {
      Type: 'AWS::Route53::HealthCheck',
      Properties: {
        HealthCheckConfig: healthCheckConfig(p.url, p.where, detection),
        HealthCheckTags: [{ Key: 'Name', Value: alarmName }, ...TAGS],
      },
    };
    Resources[`HealthAlarm${suffix}`] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: alarmName,
        AlarmDescription: `Route 53 health check of ${p.instanceId} in ${p.region}`,
        Namespace: 'AWS/Route53',
        MetricName: 'HealthCheckStatus',
        Dimensions: [{ Name: 'HealthCheckId', Value: { Ref: check } }],
        Statistic: 'Minimum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        Tags: TAGS,
      },
    };
    const ready = `ReadyCheck${suffix}`;
    Resources[ready] = {
      Type: 'AWS::Route53::HealthCheck',
      Properties: {
        HealthCheckConfig: healthCheckConfig(p.url, p.where, detection, 'ready'),
        HealthCheckTags: [
          { Key: 'Name', Value: `lifeboat-ready-${p.instanceId}-${p.region}` },
          ...TAGS,
        ],
      },
    };
    // The DNS records are tied to the readiness checks (config: dns.healthChecks).
    Outputs[`ReadyCheckId${suffix}`] = {
      Description: `Route 53 readiness check of ${p.instanceId} in ${p.region}: tie its DNS record to it`,
      Value: { Ref: ready },
    };
  }
  return { Resources, Outputs };
}

/**
 * The resources that depend on the config and the deploy region:
 *
 * - rules on this region's lifeboat bus forwarding the "Health Observed" events probed from
 *   here (`detail.vantage` = this region, so forwarded events are never forwarded again) to
 *   every other configured region's lifeboat bus, and the role EventBridge uses to put them;
 * - in us-east-1 only: a Route 53 health check and its alarm `lifeboat-health-<instance>-
 *   <region>` per instance and endpoint region, an output per health check, and rules on the
 *   default bus forwarding those alarms' state changes to every other region's lifeboat bus.
 */
/**
 * The resources that depend on the config and the deploy region (see lifeboat.cjs).
 */
async function detectionResources(ctx) {
  const { absolute, doc, region } = await configuredRegion(ctx);
  const stage = await deployStage(ctx);
  const busName = naming(doc).eventBusName;
  const others = doc.regions.map((r) => r.name).filter((name) => name !== region.name);
  const healthChecks =
    region.name === HEALTH_CHECK_REGION
      ? healthCheckResources(doc, absolute)
      : { Resources: {}, Outputs: {} };
  if (others.length === 0) return healthChecks;

  const forwardRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: `lifeboat event forwarding to the other regions (${stage}, ${region.name})`,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      },
      Policies: [
        {
          PolicyName: 'forward',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'PutOnOtherRegionsBuses',
                Effect: 'Allow',
                Action: 'events:PutEvents',
                Resource: others.map((name) => eventBusArn(name, busName)),
              },
            ],
          },
        },
      ],
      Tags: TAGS,
    },
  };
  const observations = forwardRules({
    logicalPrefix: 'ForwardObservationsRule',
    name: `lifeboat-${stage}-forward-observations`,
    description: `Sends the probes made from ${region.name} to the other regions' detectors`,
    eventBus: { 'Fn::GetAtt': ['LifeboatEventBus', 'Name'] },
    pattern: { ...patternOf('detect-observed'), detail: { vantage: [region.name] } },
    regions: others,
    busName,
  });
  const alarms =
    region.name === HEALTH_CHECK_REGION
      ? forwardRules({
          logicalPrefix: 'ForwardAlarmsRule',
          name: `lifeboat-${stage}-forward-alarms`,
          description:
            "Sends lifeboat's health-check alarm changes to the other regions' detectors",
          pattern: patternOf('detect-alarm'),
          regions: others,
          busName,
        })
      : {};
  return {
    Resources: {
      ...healthChecks.Resources,
      EventForwardRole: forwardRole,
      ...observations,
      ...alarms,
    },
    Outputs: healthChecks.Outputs,
  };
}

module.exports = { detectionResources };
