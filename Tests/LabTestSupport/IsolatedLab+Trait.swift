import Testing

/// Provisions an ``IsolatedLab`` before the suite it is applied to runs (once, not per test).
package struct IsolatedLabTrait: SuiteTrait, TestScoping {
    package let lab: IsolatedLab
    package var isRecursive: Bool { false }

    package func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        if LiveServers.available { try await lab.provision() }
        try await function()
    }
}

extension Trait where Self == IsolatedLabTrait {
    /// Gives the suite `lab`: its database and vhost are made (if missing) before the suite's tests run.
    package static func isolated(_ lab: IsolatedLab) -> Self { IsolatedLabTrait(lab: lab) }
}
