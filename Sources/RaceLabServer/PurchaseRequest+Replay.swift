import RaceLabCore
import RaceLabPipeline

/// A `POST /purchases` named by an id the server knows is a replay only when it asks for the same purchase.
extension PurchaseRequest {
    /// The first field (by its JSON name) in which `other` asks for something else, or nil when both ask for
    /// the same purchase. The publish time and the strategy file's version are the server's, not the
    /// client's, so they do not count.
    func firstDifference(from other: PurchaseRequest) -> String? {
        if itemId != other.itemId { return "itemId" }
        if buyerId != other.buyerId { return "buyerId" }
        if quantity != other.quantity { return "quantity" }
        if strategy != other.strategy { return "strategy" }
        if thinkMs != other.thinkMs { return "thinkMs" }
        if isolation != other.isolation { return "isolation" }
        if runId != other.runId { return "runId" }
        if gated != other.gated { return "gated" }
        return nil
    }
}
