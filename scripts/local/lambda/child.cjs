// One Lambda invocation in a fresh Node process: loads the handler's file from the task root (init
// errors are reported like Lambda's Runtime.ImportModuleError / Runtime.HandlerNotFound), builds a
// context whose deadline is real, calls the handler, and reports the outcome on stdout's last line.
// The parent kills the process at the deadline.
'use strict';
const { existsSync } = require('node:fs');
const { resolve } = require('node:path');
const [taskRoot, file, exportName, timeoutMs, functionName, requestId, memoryMb, functionArn] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutMs);
const report = (outcome) =>
  process.stdout.write(`\n__KUBECFN_LAMBDA_RESULT__${JSON.stringify(outcome)}\n`, () => process.exit(0));

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', async () => {
  const event = JSON.parse(input);
  const base = resolve(taskRoot, file);
  const path = ['.js', '.cjs', '.mjs'].map((ext) => base + ext).find((p) => existsSync(p));
  if (!path) {
    return report({ errorType: 'Runtime.ImportModuleError', errorMessage: `Error: Cannot find module '${file}'` });
  }
  let mod;
  try {
    mod = path.endsWith('.mjs') ? await import(path) : require(path);
  } catch (error) {
    return report({ errorType: 'Runtime.ImportModuleError', errorMessage: String(error && error.message) });
  }
  if (typeof (mod && mod[exportName]) !== 'function') {
    return report({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: `${file}.${exportName} is undefined or not exported`,
    });
  }
  const context = {
    awsRequestId: requestId,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: memoryMb,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${requestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await mod[exportName](event, context);
    report({ result: result === undefined ? null : result });
  } catch (error) {
    report({ errorType: (error && error.name) || 'Error', errorMessage: String(error && error.message) });
  }
});
