import CRabbitMQ

extension amqp_bytes_t {
    /// The bytes as a Swift array (a copy; the C buffer may be recycled afterwards).
    var array: [UInt8] {
        guard len > 0, let bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }

    /// The bytes decoded as UTF-8, invalid sequences repaired (a copy).
    var string: String {
        guard len > 0, let bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }
}

extension amqp_table_t {
    /// The entries this wrapper understands, copied out (see ``AMQPFieldValue`` for what is kept).
    var fields: [String: AMQPFieldValue] {
        guard num_entries > 0, let entries else { return [:] }
        var result: [String: AMQPFieldValue] = [:]
        for entry in UnsafeBufferPointer(start: entries, count: Int(num_entries)) {
            if let value = entry.value.decoded {
                result[entry.key.string] = value
            }
        }
        return result
    }
}

extension amqp_field_value_t {
    /// Best-effort decoding; nil for kinds with no ``AMQPFieldValue`` counterpart.
    var decoded: AMQPFieldValue? {
        switch UInt32(kind) {
        case AMQP_FIELD_KIND_UTF8.rawValue, AMQP_FIELD_KIND_BYTES.rawValue: .string(value.bytes.string)
        case AMQP_FIELD_KIND_BOOLEAN.rawValue: .bool(value.boolean != 0)
        case AMQP_FIELD_KIND_I8.rawValue: .int64(Int64(value.i8))
        case AMQP_FIELD_KIND_U8.rawValue: .int64(Int64(value.u8))
        case AMQP_FIELD_KIND_I16.rawValue: .int64(Int64(value.i16))
        case AMQP_FIELD_KIND_U16.rawValue: .int64(Int64(value.u16))
        case AMQP_FIELD_KIND_I32.rawValue: .int32(value.i32)
        case AMQP_FIELD_KIND_U32.rawValue: .int64(Int64(value.u32))
        case AMQP_FIELD_KIND_I64.rawValue: .int64(value.i64)
        case AMQP_FIELD_KIND_U64.rawValue, AMQP_FIELD_KIND_TIMESTAMP.rawValue:
            value.u64 <= UInt64(Int64.max) ? .int64(Int64(value.u64)) : nil
        default: nil
        }
    }
}
