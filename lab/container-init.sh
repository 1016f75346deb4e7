#!/bin/bash
# PID 1 (or, for the hostPID pod, the first process) of one lab "container".
# Runs inside the container's network, mount and UTS namespaces (and PID namespace,
# except for the hostPID pod), started by lab/run through `ip netns exec ... unshare`.
#   $1 name  $2 audit loginuid (auid) for the container  $3 lab dir  $4 run dir
# Sets the container's loginuid first, so that every process started in it carries the
# auid that lab/out/containers.json maps to the pod (the lab's stand-in for a container
# id, which kernel audit records do not have). Then mounts private tmpfs over /root,
# /var/log, /tmp and /run/lab so the emulation can delete "its" logs and history
# without touching the host's, and executes commands it reads from its FIFO, one at a
# time, like a container runtime's exec, writing the exit status to the done FIFO.
set -u
name=$1 auid=$2 lab=$3 run=$4
echo "$auid" > /proc/self/loginuid || { echo "cannot set loginuid" >&2; exit 1; }
hostname "$name"
mount --make-rprivate /
for d in /root /var/log /tmp /run/lab; do mkdir -p "$d"; mount -t tmpfs -o size=16m "lab-$name" "$d"; done
mkdir -p /var/log/app /root/.ssh
export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LAB="$lab"
cd /root

echo ready > "$run/$name.done"
while :; do
  IFS= read -r line < "$run/$name.cmd" || continue
  [ "$line" = "__exit__" ] && exit 0
  bash -c "$line" >> "$run/$name.log" 2>&1 < /dev/null
  echo "$?" > "$run/$name.done"
done
