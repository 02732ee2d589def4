import {
  APIGatewayClient,
  GetApiKeysCommand,
  GetAuthorizersCommand,
  GetDeploymentsCommand,
  GetDomainNamesCommand,
  GetGatewayResponsesCommand,
  GetModelsCommand,
  GetRequestValidatorsCommand,
  GetResourcesCommand,
  GetRestApisCommand,
  GetStagesCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
} from '@aws-sdk/client-api-gateway';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ControlPlane } from '../../../../../shared/adapters/apigateway/control-plane.ts';
import { readInstance } from '../../../../../shared/adapters/apigateway/read-instance.ts';
import { INSTANCE_TAG } from '../../../../../shared/domain/apigateway/documents.ts';
import { UNPACED } from '../../../../../shared/domain/apigateway/pacing.ts';

const apiGateway = mockClient(APIGatewayClient);
const APIS = 20;
const PLANS = 30;

let inFlight = 0;
let peak = 0;

/** A listing that answers after a few milliseconds, counting how many are open at once. */
function slow<T>(answer: T) {
  return async () => {
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight -= 1;
    return answer;
  };
}

beforeEach(() => {
  apiGateway.reset();
  inFlight = 0;
  peak = 0;
  apiGateway.on(GetRestApisCommand).resolves({
    items: Array.from({ length: APIS }, (_, i) => ({
      id: `id${i}`,
      name: `api-${i}`,
      tags: { [INSTANCE_TAG]: 'shop' },
    })),
  });
  apiGateway.on(GetResourcesCommand).callsFake(slow({ items: [] }));
  apiGateway.on(GetModelsCommand).callsFake(slow({ items: [] }));
  apiGateway.on(GetRequestValidatorsCommand).callsFake(slow({ items: [] }));
  apiGateway.on(GetAuthorizersCommand).callsFake(slow({ items: [] }));
  apiGateway.on(GetGatewayResponsesCommand).callsFake(slow({ items: [] }));
  apiGateway.on(GetDeploymentsCommand).callsFake(slow({ items: [] }));
  apiGateway.on(GetStagesCommand).callsFake(slow({ item: [] }));
  apiGateway.on(GetUsagePlansCommand).resolves({
    items: Array.from({ length: PLANS }, (_, i) => ({
      id: `plan${i}`,
      name: `plan-${i}`,
      apiStages: [{ apiId: `id${i % APIS}`, stage: 'prod' }],
    })),
  });
  apiGateway.on(GetUsagePlanKeysCommand).callsFake(slow({ items: [] }));
  apiGateway.on(GetApiKeysCommand).resolves({ items: [] });
  apiGateway.on(GetDomainNamesCommand).resolves({ items: [] });
});

describe('readInstance', () => {
  it('keeps at most 4 APIs (28 listings) in flight when an instance has many APIs and plans', async () => {
    const plane = new ControlPlane(new APIGatewayClient({ region: 'us-east-1' }), 'us-east-1', {
      pacing: UNPACED,
    });
    const keyring = {
      current: () => Promise.reject(new Error('no keys here')),
      byId: () => Promise.reject(new Error('no keys here')),
    };
    const { instance } = await readInstance({ plane, instanceId: 'shop', references: {}, keyring });
    expect(instance.apis.map((a) => a.name).sort()).toEqual(
      Array.from({ length: APIS }, (_, i) => `api-${i}`).sort(),
    );
    expect(instance.usagePlans).toHaveLength(PLANS);
    expect(apiGateway.commandCalls(GetResourcesCommand)).toHaveLength(APIS);
    expect(apiGateway.commandCalls(GetUsagePlanKeysCommand)).toHaveLength(PLANS);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(28);
  });
});
