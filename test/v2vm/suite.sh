# The cgroup v2 suite, run inside the VM by `make test-cgroupv2`
# (run-in-v2vm.sh test/v2vm/suite.sh): the podd checks on the v2 files
# (podd-v2-checks.sh), then the e2e subset named by E2E_RUN
# (e2e-in-v2vm.sh). Both run even if the first fails; exits non-zero if
# either did.
set -u
HERE=$V2VM_CWD/test/v2vm
modprobe -a overlay veth bridge br_netfilter nf_tables nft_compat nft_chain_nat xt_MASQUERADE xt_comment xt_mark xt_multiport xt_addrtype xt_conntrack 2>&1
# A heartbeat on the serial console (console.log; run-in-v2vm.sh prints its
# tail when the VM times out, and with V2VM_FROZEN takes its absence for a
# frozen guest): load, pressure and the busiest processes every
# 20 s, written by the guest kernel's console driver, not through 9p. Its
# absence after a point says the whole guest stopped.
( while sleep 20; do
	{ echo "=== heartbeat up $(cut -d' ' -f1 /proc/uptime)s load $(cut -d' ' -f1-3 /proc/loadavg)"
	  for f in /proc/pressure/*; do echo "${f##*/}: $(head -1 $f)"; done
	  ps -eo pid,stat,wchan:20,pcpu,etime,args --sort=-pcpu | sed -n 2,9p | cut -c1-140; } > /dev/ttyS0 2>&1
done ) &
HEARTBEAT=$!
trap 'kill $HEARTBEAT 2>/dev/null' EXIT
s=$(date +%s)
echo "##### podd checks"
bash "$HERE/podd-v2-checks.sh"; checks=$?
echo "##### podd checks: rc=$checks in $(( $(date +%s) - s )) s"
s2=$(date +%s)
echo "##### e2e subset: $E2E_RUN"
bash "$HERE/e2e-in-v2vm.sh"; e2e=$?
echo "##### e2e subset: rc=$e2e in $(( $(date +%s) - s2 )) s"
echo "##### cgroup v2 suite: checks rc=$checks, e2e rc=$e2e, $(( $(date +%s) - s )) s in the VM"
[ $checks = 0 ] && [ $e2e = 0 ]
