import BulkheadEvent

/// AWS CloudTrail records: the `{"Records":[...]}` files delivered to S3 (often .json.gz),
/// one record per line (CloudTrail Lake / EventBridge exports), or single records.
public struct CloudTrailFormat: JSONFormat {
    public let mapping = SourceMapping.load("cloudtrail")
    public init() {}

    static let eventSource = FieldPath("eventSource")
    static let eventName = FieldPath("eventName")
    static let eventVersion = FieldPath("eventVersion")
    static let awsRegion = FieldPath("awsRegion")

    public func sniff(_ r: EventView) -> Bool {
        r.has(Self.eventSource, prefix: "") && r.exists(Self.eventName) && (r.exists(Self.eventVersion) || r.exists(Self.awsRegion))
            && r.withText(r.first(Self.eventSource)!) { ByteSearch.contains($0, "amazonaws.com") }
    }
}
