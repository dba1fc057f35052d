// One Lambda invocation in a fresh Node process: loads the package's index.js (init errors are
// reported like Lambda's Runtime.ImportModuleError), builds a context whose deadline is real, calls
// `handler`, and reports the outcome on stdout's last line. The parent kills the process at the deadline.
'use strict';
const { resolve } = require('node:path');
const [dir, timeoutMs, functionName, requestId] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutMs);
const report = (outcome) =>
  process.stdout.write(`\n__KUBECFN_LAMBDA_RESULT__${JSON.stringify(outcome)}\n`, () => process.exit(0));

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', async () => {
  const event = JSON.parse(input);
  let mod;
  try {
    mod = require(resolve(dir, 'index.js'));
  } catch (error) {
    return report({ errorType: 'Runtime.ImportModuleError', errorMessage: String(error && error.message) });
  }
  const context = {
    awsRequestId: requestId,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${requestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await mod.handler(event, context);
    report({ result: result === undefined ? null : result });
  } catch (error) {
    report({ errorType: (error && error.name) || 'Error', errorMessage: String(error && error.message) });
  }
});
