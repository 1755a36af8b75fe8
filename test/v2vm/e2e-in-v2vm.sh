# Run a subset of podd's e2e tests inside the cgroup v2 VM (suite.sh calls it):
#   go test -c -o bin/e2e.test ./test/e2e
#   E2E_RUN='TestR22|...' V2VM_PASSENV=E2E_RUN run-in-v2vm.sh test/v2vm/e2e-in-v2vm.sh
# E2E_TEST (default bin/e2e.test), E2E_PARALLEL (default 2); every WaitFor
# deadline is multiplied by PODD_TEST_TIMEOUT_SCALE (default 6: TCG is 8-10x
# slower than the host, and the tests' deadlines have room).
set -u
export PODD_TEST_ROOT=1 PODD_BIN_DIR=$V2VM_CWD/bin
export PODD_TEST_TIMEOUT_SCALE=${PODD_TEST_TIMEOUT_SCALE:-6}
E2E_TEST=${E2E_TEST:-$V2VM_CWD/bin/e2e.test}
cd test/e2e
s=$(date +%s)
"$E2E_TEST" -test.v -test.count=1 -test.timeout 20m -test.parallel "${E2E_PARALLEL:-2}" -test.run "${E2E_RUN:?E2E_RUN names the tests}" 2>&1
rc=$?
echo "e2e rc=$rc in $(( $(date +%s) - s )) s"
exit $rc
