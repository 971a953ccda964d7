extension PurchaseRequest {
    /// Bounds a request must respect before any strategy touches the database.
    public static let quantityRange = 1...1_000
    public static let thinkRange = 0...60_000

    /// Why the request cannot be served, naming the field; `nil` when it is well formed.
    public var validationProblem: String? {
        if itemId <= 0 { return "field itemId: must be positive, got \(itemId)" }
        if buyerId <= 0 { return "field buyerId: must be positive, got \(buyerId)" }
        if !Self.quantityRange.contains(quantity) {
            return "field quantity: must be in \(Self.quantityRange.lowerBound)...\(Self.quantityRange.upperBound), got \(quantity)"
        }
        if !Self.thinkRange.contains(thinkMs) {
            return "field thinkMs: must be in \(Self.thinkRange.lowerBound)...\(Self.thinkRange.upperBound), got \(thinkMs)"
        }
        return nil
    }

    /// Whether `text` has the form of a strategy version: 16 lowercase hexadecimal digits.
    static func isVersion(_ text: String) -> Bool {
        text.utf8.count == 16
            && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }
}
