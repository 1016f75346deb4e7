#!/bin/bash
# PID 1 of the lab "node" PID namespace (see lab/run): starts the hostPID pod given as
# arguments, then stays as the node's init until the pod ends. Runs in the host's network,
# UTS and IPC namespaces and in a private mount namespace with its own /proc.
run=$1; shift
"$@" &
wait
