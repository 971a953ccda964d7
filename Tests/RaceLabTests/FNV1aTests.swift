import ContentHash
import Testing

/// The stable hash behind a strategy file's version and the sandbox's /tmp folder: FNV-1a (64 bits) as
/// published, so a version written by one build is the version another build computes.
@Suite struct FNV1aTests {
    /// The published vectors, and one whose hash starts with two zeros (checked against an independent
    /// implementation): the 16 digits are padded, not shortened.
    @Test(arguments: [
        ("", "cbf29ce484222325"), ("a", "af63dc4c8601ec8c"), ("foobar", "85944171f73967e8"), ("buyer 1300", "00d0ed9c50784b68"),
    ])
    func matchesTheKnownHashes(text: String, hash: String) {
        #expect(FNV1a.hex64(text) == hash)
    }
}
