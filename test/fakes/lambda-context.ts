import type { Context } from 'aws-lambda';

/** The Lambda context a handler of `functionName` gets; Powertools reads its fields for logs. */
export function lambdaContext(functionName: string, memoryLimitInMB = 512): Context {
  return {
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: String(memoryLimitInMB),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/25/[$LATEST]abc',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 600_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
