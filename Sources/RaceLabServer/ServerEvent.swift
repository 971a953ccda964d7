import Foundation
import RaceLabCore
import RaceLabPipeline

/// One Server-Sent Event on `GET /events`.
enum ServerEvent: Sendable, Equatable {
    /// A worker settled a purchase: the outcome message as the worker published it.
    case outcome(OutcomeMessage)
    /// An item's stock after a purchase.
    case stock(itemId: Int64, stock: Int64)
    /// A comment line, sent every so often so a stream whose client went away fails its write and ends.
    case keepAlive

    /// The event in the `text/event-stream` wire format.
    var wireFormat: String {
        switch self {
        case .outcome(let message):
            let json = (try? MessageCodec().encode(message)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return "event: outcome\ndata: \(json)\n\n"
        case .stock(let itemId, let stock):
            return "event: stock\ndata: {\"itemId\":\(itemId),\"stock\":\(stock)}\n\n"
        case .keepAlive:
            return ": keep-alive\n\n"
        }
    }
}
