/// Publisher-confirm bookkeeping for one channel: which sequence numbers the broker has settled.
///
/// The broker settles publishes with `basic.ack`/`basic.nack`; `multiple` settles every tag up to the
/// given one. Settlements usually arrive in order, so the state is a watermark (`settledThrough`) plus
/// the few tags settled above it.
struct ConfirmTracker {
    /// Sequence number of the last publish (publishes are numbered 1, 2, 3…).
    private(set) var published: UInt64 = 0
    /// Every tag up to and including this one is settled.
    private var settledThrough: UInt64 = 0
    /// Tags above `settledThrough` settled one by one.
    private var settledAbove: Set<UInt64> = []
    /// Publishes the broker nacked and nobody has reported yet.
    var unreportedNacks = 0

    /// Publishes not yet acked or nacked.
    var unconfirmed: Int { Int(published - settledThrough) - settledAbove.count }

    /// Numbers the next publish.
    mutating func nextSequenceNumber() -> UInt64 {
        published += 1
        return published
    }

    /// Records a `basic.ack` (`nacked == false`) or `basic.nack` from the broker.
    mutating func settle(_ tag: UInt64, multiple: Bool, nacked: Bool) {
        let tag = min(tag, published)
        guard tag > settledThrough else { return }
        var newlySettled = 0
        if multiple {
            let alreadySettled = settledAbove.filter { $0 <= tag }
            newlySettled = Int(tag - settledThrough) - alreadySettled.count
            settledAbove.subtract(alreadySettled)
            settledThrough = tag
        } else if settledAbove.insert(tag).inserted {
            newlySettled = 1
        }
        while settledAbove.remove(settledThrough + 1) != nil {
            settledThrough += 1
        }
        if nacked {
            unreportedNacks += newlySettled
        }
    }

    /// Starts over after the channel was reopened: outstanding publishes can no longer be confirmed
    /// (the channel-close error reports them) and numbering restarts at 1.
    mutating func restartAfterChannelLoss() {
        unreportedNacks = 0
        published = 0
        settledThrough = 0
        settledAbove = []
    }
}
