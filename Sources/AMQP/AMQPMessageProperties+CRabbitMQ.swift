import CRabbitMQ

extension AMQPMessageProperties {
    /// Copies the properties this wrapper understands out of librabbitmq's decoded properties.
    init(_ properties: amqp_basic_properties_t) {
        let flags = properties._flags
        func has(_ flag: amqp_flags_t) -> Bool { flags & flag != 0 }
        self.init(
            persistent: has(RACELAB_BASIC_DELIVERY_MODE_FLAG) && properties.delivery_mode == 2,
            contentType: has(RACELAB_BASIC_CONTENT_TYPE_FLAG) ? properties.content_type.string : nil,
            messageId: has(RACELAB_BASIC_MESSAGE_ID_FLAG) ? properties.message_id.string : nil,
            correlationId: has(RACELAB_BASIC_CORRELATION_ID_FLAG) ? properties.correlation_id.string : nil,
            timestamp: has(RACELAB_BASIC_TIMESTAMP_FLAG) ? properties.timestamp : nil,
            headers: has(RACELAB_BASIC_HEADERS_FLAG) ? properties.headers.fields : [:]
        )
    }

    /// The C form, with every string and table owned by `arena`.
    func cProperties(in arena: CArena) -> amqp_basic_properties_t {
        var properties = amqp_basic_properties_t()
        var flags: amqp_flags_t = 0
        if persistent {
            flags |= RACELAB_BASIC_DELIVERY_MODE_FLAG
            properties.delivery_mode = 2
        }
        if let contentType {
            flags |= RACELAB_BASIC_CONTENT_TYPE_FLAG
            properties.content_type = arena.bytes(contentType)
        }
        if let messageId {
            flags |= RACELAB_BASIC_MESSAGE_ID_FLAG
            properties.message_id = arena.bytes(messageId)
        }
        if let correlationId {
            flags |= RACELAB_BASIC_CORRELATION_ID_FLAG
            properties.correlation_id = arena.bytes(correlationId)
        }
        if let timestamp {
            flags |= RACELAB_BASIC_TIMESTAMP_FLAG
            properties.timestamp = timestamp
        }
        if !headers.isEmpty {
            flags |= RACELAB_BASIC_HEADERS_FLAG
            properties.headers = arena.table(headers)
        }
        properties._flags = flags
        return properties
    }
}
