import BulkheadEvent
import BulkheadSources
import Testing

@Suite struct Route53ResolverTests {
    let id = "route53_resolver"
    func line(_ i: Int) throws -> String { try JSONFixture.lines(id, "queries.jsonl")[i] }

    @Test func nxdomainAndPtr() throws {
        let d = try JSONFixture.read(try line(0), expect: id)
        #expect(d.rewritten && d.logsource == LogSource(product: "aws", service: "route53resolver", category: "dns"))
        #expect(JSONFixture.field(d.json, "query") == "does-not-exist.abc.com")
        #expect(JSONFixture.field(d.json, "QueryType") == "A")
        #expect(JSONFixture.field(d.json, "SourceIp") == "172.31.86.159")
        let ptr = try JSONFixture.read(try line(1), expect: id)
        #expect(JSONFixture.values(ptr.json, "answer") == ["ip-172-31-86-159.ec2.internal"])
        let e = JSONFixture.entity(d, format: id)
        #expect(e["cloud_account"] == "626345947581")
        #expect(e["cloud_region"] == "us-east-1")
    }

    @Test func instanceSourceWithAnswers() throws {
        let d = try JSONFixture.read(try line(2), expect: id)
        #expect(JSONFixture.field(d.json, "query") == "pool.minexmr.com")
        #expect(JSONFixture.field(d.json, "record_type") == "A")
        #expect(JSONFixture.values(d.json, "answer") == ["198.51.100.20", "198.51.100.21"])
        let e = JSONFixture.entity(d, format: id)
        #expect(e["cloud_instance"] == "i-0123456789abcdef0")
        #expect(e["source_ip"] == "10.0.1.25")
        let r = try JSONFixture.read(try line(3), expect: id)
        #expect(JSONFixture.field(r.json, "Protocol") == "tcp")
        #expect(JSONFixture.entity(r, format: id)["cloud_instance"] == nil)
    }

    @Test func malformed() throws { #expect(!JSONFixture.isValidJSON(try line(4))) }
}

@Suite struct AzureActivityTests {
    let id = "azure_activity"

    @Test func roleAssignmentWrite() throws {
        let lines = try JSONFixture.lines(id, "activity.jsonl")
        let d = try JSONFixture.read(lines[0], expect: id)
        #expect(d.rewritten && d.logsource == LogSource(product: "azure", service: "activitylogs"))
        #expect(JSONFixture.ruleField(d, "operationName", format: id) == "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE")
        let e = JSONFixture.entity(d, format: id)
        #expect(e["cloud_account"] == "11111111-2222-3333-4444-555555555555")
        #expect(e["user"] == "Mallory")
        #expect(e["source_ip"] == "203.0.113.77")
    }

    @Test func restShapeWithLocalizedValues() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "activity.jsonl")[1], expect: id)
        #expect(JSONFixture.ruleField(d, "operationName", format: id) == "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action")
        #expect(JSONFixture.ruleField(d, "status", format: id) == "Succeeded")
        let e = JSONFixture.entity(d, format: id)
        #expect(e["user"] == "alice@example.com")
        #expect(e["cloud_account"] == "11111111-2222-3333-4444-555555555555")
    }

    @Test func recordsWrapperElements() throws {
        let elements = try JSONFixture.elements(id, "wrapped.json", key: "records")
        #expect(elements.count == 2)
        for element in elements { _ = try JSONFixture.read(element, expect: id) }
    }

    @Test func malformed() throws {
        #expect(!JSONFixture.isValidJSON(try JSONFixture.lines(id, "activity.jsonl")[2]))
    }
}

@Suite struct GCPAuditTests {
    let id = "gcp_audit"

    @Test func serviceAccountKeyCreated() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "entries.jsonl")[0], expect: id)
        #expect(!d.rewritten && d.logsource == LogSource(product: "gcp", service: "gcp.audit"))
        #expect(JSONFixture.ruleField(d, "gcp.audit.method_name", format: id) == "google.iam.admin.v1.CreateServiceAccountKey")
        #expect(JSONFixture.ruleField(d, "gcp.audit.service_name", format: id) == "iam.googleapis.com")
        #expect(JSONFixture.ruleField(d, "gcp.audit.principal_email", format: id) == "mallory@example.com")
        let e = JSONFixture.entity(d, format: id)
        #expect(e["cloud_account"] == "acme-prod")
        #expect(e["user"] == "mallory@example.com")
        #expect(e["source_ip"] == "203.0.113.9")
    }

    @Test func computeDeleteDenied() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "entries.jsonl")[1], expect: id)
        #expect(JSONFixture.ruleField(d, "gcp.audit.status_code", format: id) == "7")
        let e = JSONFixture.entity(d, format: id)
        #expect(e["cloud_instance"] == "4444")
        #expect(e["cloud_region"] == "europe-west1-b")
    }

    @Test func malformed() throws {
        #expect(!JSONFixture.isValidJSON(try JSONFixture.lines(id, "entries.jsonl")[2]))
    }
}

@Suite struct KubernetesAuditWrapperTests {
    let id = "k8s_audit"
    func line(_ i: Int) throws -> String { try JSONFixture.lines(id, "wrapped.jsonl")[i] }

    @Test func plainEvent() throws {
        let d = try JSONFixture.read(try line(0), expect: id)
        #expect(!d.rewritten)
    }

    @Test func gkeNonResourceRequest() throws {
        let d = try JSONFixture.read(try line(1), expect: id)
        #expect(d.rewritten)
        #expect(JSONFixture.field(d.json, "apiVersion") == "audit.k8s.io/v1")
        #expect(JSONFixture.field(d.json, "verb") == "get")
        #expect(JSONFixture.field(d.json, "user.username") == "system:gke-master-healthcheck")
        #expect(JSONFixture.field(d.json, "requestURI") == "/readyz")
        #expect(JSONFixture.field(d.json, "responseStatus.code") == "200")
        #expect(JSONFixture.field(d.json, "auditID") == "1234abcd")
        #expect(JSONFixture.field(d.json, "annotations.\"authorization.k8s.io/decision\"") == "allow")
    }

    @Test func aksObjectLog() throws {
        let d = try JSONFixture.read(try line(2), expect: id)
        #expect(d.rewritten)
        #expect(JSONFixture.field(d.json, "kind") == "Event")
        #expect(JSONFixture.field(d.json, "objectRef.resource") == "leases")
        #expect(JSONFixture.field(d.json, "properties") == nil)
    }

    @Test func gkePodCreate() throws {
        let d = try JSONFixture.read(try line(3), expect: id)
        #expect(JSONFixture.field(d.json, "verb") == "create")
        #expect(JSONFixture.field(d.json, "objectRef.resource") == "pods")
        #expect(JSONFixture.field(d.json, "objectRef.namespace") == "prod")
        #expect(JSONFixture.field(d.json, "objectRef.name") == "miner")
        #expect(JSONFixture.field(d.json, "objectRef.apiGroup") == nil) // core group: omitted, as the API server does
        #expect(JSONFixture.field(d.json, "requestObject.spec.containers.securityContext.privileged") == "true")
        #expect(JSONFixture.field(d.json, "requestObject.spec.hostPID") == "true")
        #expect(JSONFixture.field(d.json, "responseObject.kind") == "Pod")
        #expect(JSONFixture.values(d.json, "sourceIPs") == ["203.0.113.5"])
        #expect(JSONFixture.field(d.json, "requestURI") == "/api/v1/namespaces/prod/pods/miner")
        #expect(JSONFixture.field(d.json, "requestReceivedTimestamp") == "2024-05-08T10:00:00.5Z")
        #expect(JSONFixture.field(d.json, "stage") == "ResponseComplete")
        let e = JSONFixture.entity(d, format: id)
        #expect(e["pod"] == "miner")
        #expect(e["image"] == "xmrig/xmrig:latest")
        #expect(e["user"] == "mallory@example.iam.gserviceaccount.com")
    }

    @Test func gkeExecDenied() throws {
        let d = try JSONFixture.read(try line(4), expect: id)
        #expect(JSONFixture.field(d.json, "verb") == "create")
        #expect(JSONFixture.field(d.json, "objectRef.subresource") == "exec")
        #expect(JSONFixture.field(d.json, "objectRef.name") == "api-7d9f")
        #expect(JSONFixture.field(d.json, "responseStatus.code") == "403")
        #expect(JSONFixture.entity(d, format: id)["service_account"] == "system:serviceaccount:prod:web")
    }

    @Test func gkeClusterScopedRBAC() throws {
        let d = try JSONFixture.read(try line(5), expect: id)
        #expect(JSONFixture.field(d.json, "objectRef.resource") == "clusterrolebindings")
        #expect(JSONFixture.field(d.json, "objectRef.apiGroup") == "rbac.authorization.k8s.io")
        #expect(JSONFixture.field(d.json, "objectRef.name") == "pwn")
        #expect(JSONFixture.field(d.json, "objectRef.namespace") == nil)
    }

    @Test func eksAndAksStringWrappers() throws {
        for i in [6, 7] {
            let d = try JSONFixture.read(try line(i), expect: id)
            #expect(d.rewritten)
            #expect(JSONFixture.field(d.json, "verb") == "list")
            #expect(JSONFixture.field(d.json, "objectRef.resource") == "secrets")
        }
    }
}
