import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

/// The hot path's JSON must mean exactly what the general coders mean: same values accepted, the
/// rest left to them.
struct FlatJSONTests {
    let codec = MessageCodec()

    func request(strategy: StrategyName = .pessimistic, gated: Bool = true) -> PurchaseRequest {
        PurchaseRequest(
            runId: UUID(),
            itemId: 7,
            buyerId: 1234,
            quantity: 2,
            strategy: strategy,
            thinkMs: 5,
            publishedAt: 1_790_000_000_123_456_789,
            gated: gated
        )
    }

    @Test(arguments: StrategyName.builtIn)
    func aRequestRoundTripsAndTheGeneralDecoderAgrees(strategy: StrategyName) throws {
        let original = request(strategy: strategy)
        let bytes = try codec.encode(original)
        #expect(PurchaseRequest(flatJSON: bytes) == original)
        #expect(try PurchaseRequest(generalJSON: bytes) == original)
        #expect(try JSONDecoder().decode(PurchaseRequest.self, from: Data(bytes)) == original)
    }

    @Test(arguments: IsolationLevel.allCases)
    func theIsolationLevelAndAStrategyVersionTravelInTheRequest(level: IsolationLevel) throws {
        var original = request(strategy: StrategyName(rawValue: "mine")!)
        original.isolation = level
        original.strategyVersion = "0123456789abcdef"
        let bytes = try codec.encode(original)
        #expect(String(decoding: bytes, as: UTF8.self).contains(#""isolation":"\#(level.rawValue)""#))
        #expect(PurchaseRequest(flatJSON: bytes) == original)
        #expect(try PurchaseRequest(generalJSON: bytes) == original)
        #expect(try JSONDecoder().decode(PurchaseRequest.self, from: Data(bytes)) == original)
    }

    @Test func theFastReaderAgreesWithTheGeneralOneOnEverythingItAccepts() throws {
        let id = "0b5e1f6a-8d1c-4c1e-9a8f-3a1b2c3d4e5f"
        let run = "A0B5E1F6-8D1C-4C1E-9A8F-3A1B2C3D4E5F"
        let accepted = [
            #"{"requestId":"\#(id)","runId":"\#(run)","itemId":1,"buyerId":2,"strategy":"naive"}"#,
            #" { "strategy" : "batched" , "buyerId" : -9223372036854775808 , "itemId" : 9223372036854775807 , "runId" : "\#(run)" , "requestId" : "\#(id)" , "gated" : false } "#,
            #"{"requestId":"\#(id)","runId":"\#(run)","itemId":0,"buyerId":0,"strategy":"advisory","quantity":3,"thinkMs":0,"publishedAt":0,"gated":true,"extra":"ignored","more":null}"#,
            "{\n\t\"requestId\": \"\(id)\",\r\n\"runId\": \"\(run)\", \"itemId\": -1, \"buyerId\": 5, \"strategy\": \"optimistic\"}",
        ]
        for text in accepted {
            let bytes = Array(text.utf8)
            let fast = try #require(PurchaseRequest(flatJSON: bytes), "\(text)")
            #expect(try PurchaseRequest(generalJSON: bytes) == fast, "\(text)")
        }
    }

    @Test func theFastReaderLeavesEverythingElseToTheGeneralOne() throws {
        let id = "0b5e1f6a-8d1c-4c1e-9a8f-3a1b2c3d4e5f"
        let base = #""requestId":"\#(id)","runId":"\#(id)","buyerId":2,"strategy":"naive""#
        let declined = [
            "{\(base),\"itemId\":1.0}",  // a fraction: the general reader decides
            "{\(base),\"itemId\":1e2}",
            "{\(base),\"itemId\":01}",  // leading zero: not JSON
            "{\(base),\"itemId\":99999999999999999999}",  // beyond 64 bits
            "{\(base),\"itemId\":\"1\"}",  // a string where a number goes
            "{\(base),\"itemId\":1,\"itemId\":2}",  // a duplicate key
            "{\(base),\"itemId\":1,\"quantity\":null}",  // null: the general reader's default
            "{\(base),\"itemId\":1,\"note\":\"caf\u{e9}\"}",  // non-ASCII
            "{\(base),\"itemId\":1,\"note\":\"a\\\"b\"}",  // an escape
            "{\(base),\"itemId\":1,\"nested\":{}}",
            "{\(base),\"itemId\":1,\"list\":[]}",
            "{\(base),\"itemId\":1} x",  // trailing garbage
            "{\(base),\"itemId\":1",  // cut short
            "[{\(base),\"itemId\":1}]",
            "{\(base),\"itemId\":1,\"gated\":1}",
            "{\(base),\"itemId\":1,\"strategy\":\"NAIVE\"}",
            "",
            "tru",
        ]
        for text in declined {
            #expect(PurchaseRequest(flatJSON: Array(text.utf8)) == nil, "\(text)")
        }
        // …and the answer is the general reader's, accepted or worded.
        let defaulted = try PurchaseRequest(json: Array("{\(base),\"itemId\":1,\"quantity\":null}".utf8))
        #expect(defaulted.quantity == 1)
        #expect(throws: MessageDecodingError(reason: "field itemId: 1.0 is not a 64-bit integer")) {
            try PurchaseRequest(json: Array("{\(base),\"itemId\":1.0}".utf8))
        }
        #expect(throws: MessageDecodingError(reason: "field itemId: expected an integer, got a string")) {
            try PurchaseRequest(json: Array("{\(base),\"itemId\":\"1\"}".utf8))
        }
    }

    @Test func integersAtTheEdgesOf64Bits() {
        func item(_ literal: String) -> Int64? {
            let text =
                #"{"requestId":"0b5e1f6a-8d1c-4c1e-9a8f-3a1b2c3d4e5f","runId":"0b5e1f6a-8d1c-4c1e-9a8f-3a1b2c3d4e5f","buyerId":2,"strategy":"naive","itemId":\#(literal)}"#
            return PurchaseRequest(flatJSON: Array(text.utf8))?.itemId
        }
        #expect(item("9223372036854775807") == Int64.max)
        #expect(item("-9223372036854775808") == Int64.min)
        #expect(item("9223372036854775808") == nil)
        #expect(item("-9223372036854775809") == nil)
        #expect(item("-0") == 0)
        #expect(item("-") == nil)
    }

    @Test func uuidsParseInEitherCaseAndNothingElse() {
        let uuid = UUID()
        #expect(FlatJSON.uuid(uuid.uuidString) == uuid)
        #expect(FlatJSON.uuid(uuid.uuidString.lowercased()) == uuid)
        #expect(FlatJSON.uuid(String(uuid.uuidString.dropLast())) == nil)
        #expect(FlatJSON.uuid(uuid.uuidString.replacingOccurrences(of: "-", with: "_")) == nil)
        #expect(FlatJSON.uuid("G" + uuid.uuidString.dropFirst()) == nil)
    }

    @Test(arguments: ["host:1/2", "with \"quotes\" and \\ backslash", "new\nline\ttab\r", "caf\u{e9} \u{1F600}", "\u{01}\u{1F}ctl", ""])
    func outcomesWrittenByHandDecodeWithTheFoundationDecoder(worker: String) throws {
        let outcome = OutcomeMessage(
            requestId: UUID(),
            runId: UUID(),
            itemId: 3,
            strategy: .batched,
            outcome: .soldOut,
            retries: 4,
            worker: worker,
            finishedAt: UInt64.max,
            error: worker.isEmpty ? nil : "error: \(worker)"
        )
        let bytes = try codec.encode(outcome)
        #expect(try JSONDecoder().decode(OutcomeMessage.self, from: Data(bytes)) == outcome)
        #expect(try codec.decode(OutcomeMessage.self, from: bytes) == outcome)
        #expect(try codec.decodeOutcomes(from: bytes) == [outcome])
    }

    @Test func aBatchOfOutcomesIsOneArrayEitherReaderUnderstands() throws {
        let run = UUID()
        let outcomes = (0..<5).map { index in
            OutcomeMessage(
                requestId: UUID(),
                runId: run,
                itemId: Int64(index),
                strategy: .pessimistic,
                outcome: index % 2 == 0 ? .purchased : .soldOut,
                retries: 0,
                worker: "w/\(index)",
                finishedAt: UInt64(index) * 1_000
            )
        }
        let bytes = try codec.encode(outcomes)
        #expect(bytes.first == UInt8(ascii: "["))
        #expect(try codec.decodeOutcomes(from: bytes) == outcomes)
        #expect(try JSONDecoder().decode([OutcomeMessage].self, from: Data(bytes)) == outcomes)
        // What JSONEncoder writes (escaped slashes, another key order) reads the same.
        let foundation = JSONEncoder()
        #expect(try codec.decodeOutcomes(from: Array(try foundation.encode(outcomes))) == outcomes)
        #expect(try codec.decodeOutcomes(from: Array("[]".utf8)) == [])
        #expect(throws: MessageDecodingError.self) { try codec.decodeOutcomes(from: Array("[{}]".utf8)) }
    }
}
