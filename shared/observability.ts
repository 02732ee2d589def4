import { Logger } from '@aws-lambda-powertools/logger';

/** The one structured logger; Powertools adds the Lambda context when a handler injects it. */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lifeboat',
});
