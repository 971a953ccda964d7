/// The 64-bit FNV-1a hash as 16 hex digits: a stable content key for names (a sandbox's /tmp folder,
/// a strategy file's version, a result store's report folder), not a security measure.
package enum FNV1a {
    package static func hex64(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
