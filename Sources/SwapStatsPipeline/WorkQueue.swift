import Foundation

/// A FIFO between the consumer thread and one shard thread. Data items count against a
/// bound (backpressure); control items (adopt, release, stop) never wait.
///
/// `@unchecked Sendable` is sound: every access to `items` holds `condition`.
public final class WorkQueue<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item?] = []
    /// Control items that go before everything queued (questions from readers).
    private var urgent: [Item] = []
    private var head = 0
    private var dataCount = 0
    private var blocked = 0

    public init() {}

    /// Data items waiting.
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return dataCount
    }

    /// Appends a data item, waiting while `limit` or more are queued.
    public func push(_ item: Item, waitingBelow limit: Int) {
        condition.lock()
        while dataCount >= limit {
            blocked += 1
            condition.wait()
            blocked -= 1
        }
        append(item, data: true)
        condition.unlock()
    }

    /// Pushers waiting for room now.
    var waitingPushers: Int {
        condition.lock()
        defer { condition.unlock() }
        return blocked
    }

    /// Appends a data item unless `limit` or more are queued.
    /// - Returns: whether it was queued.
    public func tryPush(_ item: Item, below limit: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard dataCount < limit else { return false }
        append(item, data: true)
        return true
    }

    /// Appends a control item at once.
    public func pushControl(_ item: Item) {
        condition.lock()
        append(item, data: false)
        condition.unlock()
    }

    /// Puts a control item ahead of everything queued.
    public func pushUrgent(_ item: Item) {
        condition.lock()
        urgent.append(item)
        condition.broadcast()
        condition.unlock()
    }

    private func append(_ item: Item, data: Bool) {
        items.append(item)
        if data { dataCount += 1 }
        condition.broadcast()
    }

    /// Takes the oldest item, waiting up to `timeout` seconds; nil when none came.
    /// `isData` says how to account for it.
    public func pop(timeout: Double, isData: (Item) -> Bool) -> Item? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while head == items.count && urgent.isEmpty {
            if !condition.wait(until: deadline) && head == items.count && urgent.isEmpty { return nil }
        }
        if !urgent.isEmpty { return urgent.removeFirst() }
        let item = items[head].take()!
        head += 1
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        if isData(item) {
            dataCount -= 1
            condition.broadcast()
        }
        return item
    }
}
