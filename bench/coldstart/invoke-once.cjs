// Runs in a fresh `node` per sample (no tsx, no loader): the closest this machine gets to a
// Lambda cold start. It requires the packaged bundle, then invokes its handler twice with one
// event (cold, then warm) and prints one result line for bench/coldstart/run.ts.
//   node invoke-once.cjs <bundle.cjs> <event.json>
const startedMs = performance.now(); // since the process began: node's own boot time
const { readFileSync } = require('node:fs');

const [bundlePath, eventPath] = process.argv.slice(2);
const beforeImport = performance.now();
const { handler } = require(bundlePath);
const importMs = performance.now() - beforeImport;
const event = JSON.parse(readFileSync(eventPath, 'utf8'));

let invocation = 0;
function context() {
  invocation += 1;
  const deadline = Date.now() + 900_000;
  return {
    functionName: 'coldstart',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:coldstart',
    memoryLimitInMB: '256',
    awsRequestId: `coldstart-${invocation}`,
    logGroupName: '/aws/lambda/coldstart',
    logStreamName: 'coldstart',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

async function invoke() {
  const start = performance.now();
  try {
    await handler(structuredClone(event), context());
    return { ms: performance.now() - start, outcome: 'ok' };
  } catch (error) {
    return { ms: performance.now() - start, outcome: error?.name ?? 'error' };
  }
}

(async () => {
  const first = await invoke();
  const warm = await invoke();
  process.stdout.write(
    `\nCOLDSTART_RESULT ${JSON.stringify({ bootMs: startedMs, importMs, first, warm })}\n`,
  );
  // Clients keep sockets alive; a Lambda would be frozen here, so end the sample now.
  process.exit(0);
})();
