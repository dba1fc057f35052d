#!/bin/sh
# `npm run test:cfn-engine`: the CloudFormation engine's own checks, run with the tools of .venv/moto
# (the environment the engine runs in; made by `node scripts/dev/bootstrap.mjs`, which npm test runs
# first). Every check runs, even after one fails; the exit status says whether all passed.
cd "$(dirname "$0")" || exit 1
bin=../../../.venv/moto/bin
if [ ! -x "$bin/pytest" ]; then
  echo "cfn-engine: $bin/pytest is missing: run node scripts/dev/bootstrap.mjs" >&2
  exit 1
fi
# No bytecode next to the sources; no configuration file of a running `npm start` reaches the tests.
export PYTHONDONTWRITEBYTECODE=1
unset KUBECFN_EMBEDDED_CONFIG
status=0
"$bin/ruff" check --quiet . || status=1
"$bin/ruff" format --check --quiet . || status=1
"$bin/mypy" || status=1
"$bin/pytest" -q || status=1
exit $status
