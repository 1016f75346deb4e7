extension TextFormat {
    public var id: String { mapping.id }
}

extension BinaryFormat {
    public var id: String { mapping.id }
}
