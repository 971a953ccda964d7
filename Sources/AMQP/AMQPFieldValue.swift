/// A value in an AMQP field table: queue arguments (`x-queue-type`, `x-delivery-limit`…) and message headers.
///
/// Decoding is best effort: strings and byte strings become ``string(_:)``, every integer kind that fits
/// becomes ``int64(_:)`` (except 32-bit signed, which stays ``int32(_:)``), timestamps become ``int64(_:)``.
/// Nested tables, arrays, floats and decimals are skipped.
public enum AMQPFieldValue: Sendable, Equatable {
    /// A UTF-8 long string (`S`).
    case string(String)
    /// A signed 64-bit integer (`l`).
    case int64(Int64)
    /// A signed 32-bit integer (`I`).
    case int32(Int32)
    /// A boolean (`t`).
    case bool(Bool)
}
