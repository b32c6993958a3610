import NIOCore
import SwapStatsHTTP
import SwapStatsRedis
import Synchronization

/// Other instances' tokens for this instance's WebSocket subscribers: Redis pub/sub for
/// their updates, Redis snapshots for the first message.
struct RedisRemoteTokens: RemoteTokens {
    let subscriber: RedisSubscriber
    let reader: RedisReader

    func watch(_ token: String) { subscriber.watch(token) }
    func unwatch(_ token: String) { subscriber.unwatch(token) }
    func snapshot(_ token: String) async -> ByteBuffer? { await reader.snapshot(token).map { ByteBuffer(bytes: $0) } }
}

/// The board, for a callback made before the board exists.
final class BoardRef: Sendable {
    private let value = Mutex<StatsBoard?>(nil)
    var board: StatsBoard? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// Both values, or nil.
func bothOrNil<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
