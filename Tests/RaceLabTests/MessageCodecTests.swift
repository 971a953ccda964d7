import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct MessageCodecTests {
    let codec = MessageCodec()

    @Test func purchaseRequestSurvivesARoundTrip() throws {
        let request = PurchaseRequest(
            runId: UUID(),
            itemId: 7,
            buyerId: 42,
            quantity: 2,
            strategy: .optimistic,
            thinkMs: 5,
            publishedAt: 1_700_000_000_000_000_000,
            gated: true
        )
        let decoded = try codec.decode(PurchaseRequest.self, from: try codec.encode(request))
        #expect(decoded == request)
    }

    @Test func outcomeMessageSurvivesARoundTrip() throws {
        let outcome = OutcomeMessage(
            requestId: UUID(),
            runId: UUID(),
            itemId: 3,
            strategy: .advisory,
            outcome: .gaveUp,
            retries: 9,
            worker: "h:1/2",
            finishedAt: 123,
            error: "boom"
        )
        #expect(try codec.decode(OutcomeMessage.self, from: try codec.encode(outcome)) == outcome)
    }

    @Test func strategyTravelsByItsName() throws {
        let json = String(decoding: try codec.encode(PurchaseRequest(runId: UUID(), itemId: 1, buyerId: 1, strategy: .pessimistic)), as: UTF8.self)
        #expect(json.contains(#""strategy":"pessimistic""#))
    }

    @Test(arguments: [
        (#"not JSON"#, "not valid JSON"),
        (#"[1,2]"#, "not a JSON object"),
        (
            #"{"requestId":"6B29FC40-CA47-1067-B31D-00DD010662DA","runId":"6B29FC40-CA47-1067-B31D-00DD010662DA","itemId":true,"buyerId":1,"strategy":"naive"}"#,
            "field itemId: expected an integer, got a boolean"
        ),
        (#"{"requestId":"6B29FC40-CA47-1067-B31D-00DD010662DA"}"#, "missing field"),
        (
            #"{"requestId":"6B29FC40-CA47-1067-B31D-00DD010662DA","runId":"6B29FC40-CA47-1067-B31D-00DD010662DA","itemId":"seven","buyerId":1,"quantity":1,"strategy":"naive","thinkMs":0,"publishedAt":0,"gated":false}"#,
            "field itemId"
        ),
        (
            #"{"requestId":"6B29FC40-CA47-1067-B31D-00DD010662DA","runId":"6B29FC40-CA47-1067-B31D-00DD010662DA","itemId":1,"buyerId":1,"quantity":1,"strategy":"fast est!","thinkMs":0,"publishedAt":0,"gated":false}"#,
            "field strategy: a strategy name is letters"
        ),
        (
            #"{"requestId":"6B29FC40-CA47-1067-B31D-00DD010662DA","runId":"6B29FC40-CA47-1067-B31D-00DD010662DA","itemId":1,"buyerId":1,"strategy":"naive","isolation":"snapshot"}"#,
            "field isolation: unknown level 'snapshot'"
        ),
        (
            #"{"requestId":"6B29FC40-CA47-1067-B31D-00DD010662DA","runId":"6B29FC40-CA47-1067-B31D-00DD010662DA","itemId":1,"buyerId":1,"strategy":"mine","strategyVersion":"xyz"}"#,
            "field strategyVersion: expected 16 hexadecimal digits"
        ),
        (
            #"{"requestId":"6B29FC40-CA47-1067-B31D-00DD010662DA","runId":"6B29FC40-CA47-1067-B31D-00DD010662DA","itemId":999999999999999999999,"buyerId":1,"quantity":1,"strategy":"naive","thinkMs":0,"publishedAt":0,"gated":false}"#,
            "field itemId: 999999999999999999999 is not a 64-bit integer"
        ),
    ])
    func malformedRequestsAreRejectedNamingTheProblem(body: String, expected: String) {
        #expect {
            _ = try PurchaseRequest(json: Array(body.utf8))
        } throws: { error in
            String(describing: error).contains(expected)
        }
    }

    @Test func theFieldReaderAcceptsWhatTheEncoderWrites() throws {
        let request = PurchaseRequest(
            runId: UUID(),
            itemId: 9,
            buyerId: 4,
            quantity: 3,
            strategy: .advisory,
            thinkMs: 7,
            publishedAt: 99,
            gated: true
        )
        #expect(try PurchaseRequest(json: try codec.encode(request)) == request)
    }

    @Test func optionalFieldsTakeTheirDefaults() throws {
        let body =
            #"{"requestId":"6B29FC40-CA47-1067-B31D-00DD010662DA","runId":"6B29FC40-CA47-1067-B31D-00DD010662DA","itemId":1,"buyerId":2,"strategy":"naive"}"#
        let request = try PurchaseRequest(json: Array(body.utf8))
        #expect(request.quantity == 1 && request.thinkMs == 0 && !request.gated)
    }

    @Test func validationNamesTheOffendingField() {
        var request = PurchaseRequest(runId: UUID(), itemId: 1, buyerId: 1, strategy: .naive)
        #expect(request.validationProblem == nil)
        request.itemId = -4
        #expect(request.validationProblem?.contains("itemId") == true)
        request.itemId = 1
        request.quantity = 0
        #expect(request.validationProblem?.contains("quantity") == true)
        request.quantity = 1
        request.thinkMs = 600_000
        #expect(request.validationProblem?.contains("thinkMs") == true)
    }
}
