import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDetectOutageHandler } from '../../../../functions/detect-outage/handler.ts';
import { EmfMetrics } from '../../../../shared/adapters/emf-metrics.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../../shared/config/load.ts';
import { detectorSettings } from '../../../../shared/domain/detection/region-health.ts';
import { logger } from '../../../../shared/observability.ts';
import { InMemoryDocumentStore } from '../../../fakes/detection/document-store.ts';
import { emfLines } from '../../../fakes/emf.ts';
import { RecordingEventBus } from '../../../fakes/event-bus.ts';
import { lambdaContext } from '../../../fakes/lambda-context.ts';

const eventFile = (name: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`../../../../events/${name}`, import.meta.url)), 'utf8'),
  );

const context = lambdaContext('lifeboat-dev-detectOutage', 256);

beforeAll(() => {
  logger.setLogLevel('SILENT');
});

function deps(region: string) {
  const config = loadConfig(DEFAULT_CONFIG_PATH);
  return {
    config,
    region,
    settings: detectorSettings(config.detection, config.regions.length),
    store: new InMemoryDocumentStore(),
    bus: new RecordingEventBus(),
    metrics: new EmfMetrics(),
  };
}

describe('detectOutage metrics', () => {
  it('counts the observations it receives per vantage in its own region when probes arrive', async () => {
    const d = deps('eu-west-1');
    const event = eventFile('health-observed.json');
    const sent = (event.detail as { observations: unknown[] }).observations.length;
    const docs = await emfLines(() => buildDetectOutageHandler(() => d)(event, context));
    expect(docs.filter((doc) => 'ObservationsReceived' in doc)).toEqual([
      expect.objectContaining({
        ObservationsReceived: sent,
        vantage: 'us-west-2',
        region: 'eu-west-1',
        service: 'lifeboat',
      }),
    ]);
  });

  it('counts no observation when only a tick arrives, so a silent vantage shows as missing data', async () => {
    const d = deps('eu-west-1');
    const docs = await emfLines(() =>
      buildDetectOutageHandler(() => d)(eventFile('schedule.json'), context),
    );
    expect(docs.filter((doc) => 'ObservationsReceived' in doc)).toEqual([]);
  });
});
