import CRabbitMQ
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension AMQPConnection {
    /// Runs `body`, which must not use this connection, while a helper thread sends the broker a
    /// heartbeat frame every half interval on its behalf.
    ///
    /// Heartbeats are otherwise serviced only inside this connection's calls: a consumer blocked for
    /// longer than two intervals in something else (a database lock wait behind long think times)
    /// would be dropped by the broker, its prefetched requests requeued and served a second time.
    /// Blocks while `body` runs; the helper touches the connection only between the two lock
    /// handovers here, never while its owner thread does.
    public func keepingAlive<T>(_ body: () throws -> T) rethrows -> T {
        guard !destroyed, closedError == nil, amqp_get_heartbeat(state) > 0 else { return try body() }
        let keeper = heartbeatKeeper ?? HeartbeatKeeper(state: state, intervalSeconds: Int(amqp_get_heartbeat(state)))
        heartbeatKeeper = keeper
        keeper.arm()
        defer { keeper.disarm() }
        return try body()
    }
}

/// The helper thread behind ``AMQPConnection/keepingAlive(_:)``: one per connection, started on first
/// use, ended by ``retire()`` when the connection closes.
///
/// `@unchecked Sendable`: the C connection it holds is used only under `lock`, only while armed, and
/// the owner thread disarms (taking the lock, so waiting out a heartbeat in progress) before it uses
/// the connection again, and retires the keeper before it destroys the connection.
final class HeartbeatKeeper: @unchecked Sendable {
    private struct State {
        var armed = false
        var retired = false
        var lastBeat: UInt64 = 0
    }

    private let lock = Mutex(State())
    private let state: amqp_connection_state_t
    private let halfIntervalNanoseconds: UInt64

    init(state: amqp_connection_state_t, intervalSeconds: Int) {
        self.state = state
        self.halfIntervalNanoseconds = UInt64(max(1, intervalSeconds)) * 500_000_000
        let retained = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(
            &thread,
            nil,
            { context in
                #if canImport(Darwin)
                let keeper = Unmanaged<HeartbeatKeeper>.fromOpaque(context).takeRetainedValue()
                #else
                let keeper = Unmanaged<HeartbeatKeeper>.fromOpaque(context!).takeRetainedValue()
                #endif
                keeper.loop()
                return nil
            },
            retained
        )
        if started == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<HeartbeatKeeper>.fromOpaque(retained).release()
            lock.withLock { $0.retired = true }
        }
    }

    func arm() {
        lock.withLock {
            $0.armed = true
            $0.lastBeat = Self.now()
        }
    }

    func disarm() { lock.withLock { $0.armed = false } }

    /// Ends the thread's use of the connection for good (it exits at its next wake-up).
    func retire() { lock.withLock { $0.retired = true } }

    private func loop() {
        while true {
            usleep(200_000)
            let retired = lock.withLock { (current: inout State) -> Bool in
                guard !current.retired else { return true }
                let now = Self.now()
                if current.armed, now &- current.lastBeat >= halfIntervalNanoseconds {
                    var frame = amqp_frame_t()
                    frame.frame_type = UInt8(AMQP_FRAME_HEARTBEAT)
                    frame.channel = 0
                    // A failure shows at the owner's next call on the connection; nothing to do here.
                    _ = amqp_send_frame(state, &frame)
                    current.lastBeat = now
                }
                return false
            }
            if retired { return }
        }
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
