/// Sigma logsource: what kind of telemetry a record is, or a rule is written for.
public struct LogSource: Sendable, Hashable, CustomStringConvertible {
    public var product: String?
    public var service: String?
    public var category: String?
    public var definition: String?

    public init(product: String? = nil, service: String? = nil, category: String? = nil, definition: String? = nil) {
        self.product = product?.lowercased()
        self.service = service?.lowercased()
        self.category = category?.lowercased()
        self.definition = definition
    }

    public var description: String {
        [product.map { "product=\($0)" }, service.map { "service=\($0)" }, category.map { "category=\($0)" }]
            .compactMap { $0 }.joined(separator: " ")
    }

    /// A rule's logsource applies to a record's when every attribute the rule names matches.
    public func applies(to record: LogSource) -> Bool {
        if let product, product != record.product { return false }
        if let service, service != record.service { return false }
        if let category, category != record.category { return false }
        return true
    }
}

