# Loaded by Python at start-up because scripts/local/aws/embedded-aws.ts puts this directory on
# PYTHONPATH. When KUBECFN_EMBEDDED_CONFIG is set (only `npm start` and the e2e tests set it), the
# moto server in this process gets kubecfn's embedded CloudFormation engine in place of moto's own
# (see kubecfn_embedded/__init__.py). Without the variable, nothing happens.
import os

if os.environ.get("KUBECFN_EMBEDDED_CONFIG"):
    import kubecfn_embedded

    kubecfn_embedded.install()
