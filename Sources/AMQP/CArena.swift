import CRabbitMQ

/// Owns C copies of the strings and tables passed to one librabbitmq call, and frees them afterwards.
///
/// Use only through ``withCArena(_:)``: librabbitmq reads (never keeps) these pointers during the call,
/// so the arena must outlive the call and nothing more.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    fileprivate init() {}

    deinit {
        for allocation in allocations {
            allocation.deallocate()
        }
    }

    /// A NUL-terminated copy of `text`, for C functions taking `const char *`.
    func cString(_ text: String) -> UnsafePointer<CChar> {
        let utf8 = Array(text.utf8CString)
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        pointer.initialize(from: utf8, count: utf8.count)
        allocations.append(UnsafeMutableRawPointer(pointer))
        return UnsafePointer(pointer)
    }

    /// An `amqp_bytes_t` over a copy of `text`'s UTF-8 (no terminator; AMQP strings carry their length).
    func bytes(_ text: String) -> amqp_bytes_t {
        bytes(Array(text.utf8))
    }

    /// An `amqp_bytes_t` over a copy of `data`.
    func bytes(_ data: [UInt8]) -> amqp_bytes_t {
        guard !data.isEmpty else { return amqp_empty_bytes }
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: data.count, alignment: 1)
        data.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: data.count) }  // non-empty: has a base address
        allocations.append(pointer)
        return amqp_bytes_t(len: data.count, bytes: pointer)
    }

    /// An `amqp_table_t` holding `fields`, in key order so the wire bytes are deterministic.
    func table(_ fields: [String: AMQPFieldValue]) -> amqp_table_t {
        guard !fields.isEmpty else { return amqp_empty_table }
        let entries = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: fields.count)
        allocations.append(UnsafeMutableRawPointer(entries))
        for (index, key) in fields.keys.sorted().enumerated() {
            // The key comes from the dictionary's own keys.
            let value = fields[key]!
            (entries + index).initialize(to: amqp_table_entry_t(key: bytes(key), value: fieldValue(value)))
        }
        return amqp_table_t(num_entries: Int32(fields.count), entries: entries)
    }

    /// Client properties for `connection.start-ok`: the `connection_name` shown in the management UI and
    /// the `consumer_cancel_notify` capability, so the broker tells a consumer when its queue goes away,
    /// and `connection.blocked`, so it says when a resource alarm stops it reading our publishes.
    /// librabbitmq merges these with its own defaults (product, version, other capabilities).
    func clientProperties(connectionName: String?) -> amqp_table_t {
        let capabilities = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: 2)
        allocations.append(UnsafeMutableRawPointer(capabilities))
        capabilities.initialize(to: amqp_table_entry_t(key: bytes("consumer_cancel_notify"), value: fieldValue(.bool(true))))
        (capabilities + 1).initialize(to: amqp_table_entry_t(key: bytes("connection.blocked"), value: fieldValue(.bool(true))))
        var capabilitiesValue = amqp_field_value_t()
        capabilitiesValue.kind = UInt8(AMQP_FIELD_KIND_TABLE.rawValue)
        capabilitiesValue.value.table = amqp_table_t(num_entries: 2, entries: capabilities)

        let entries = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: 2)
        allocations.append(UnsafeMutableRawPointer(entries))
        entries.initialize(to: amqp_table_entry_t(key: bytes("capabilities"), value: capabilitiesValue))
        guard let connectionName else {
            return amqp_table_t(num_entries: 1, entries: entries)
        }
        (entries + 1).initialize(to: amqp_table_entry_t(key: bytes("connection_name"), value: fieldValue(.string(connectionName))))
        return amqp_table_t(num_entries: 2, entries: entries)
    }

    private func fieldValue(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        switch value {
        case .string(let text):
            field.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
            field.value.bytes = bytes(text)
        case .int64(let number):
            field.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
            field.value.i64 = number
        case .int32(let number):
            field.kind = UInt8(AMQP_FIELD_KIND_I32.rawValue)
            field.value.i32 = number
        case .bool(let flag):
            field.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
            field.value.boolean = flag ? 1 : 0
        }
        return field
    }
}

/// Runs `body` with a fresh arena whose C memory is freed when `body` returns or throws.
func withCArena<Result>(_ body: (CArena) throws -> Result) rethrows -> Result {
    let arena = CArena()
    return try withExtendedLifetime(arena) { try body(arena) }
}
