import Logging
import RedisClient
import SwapStatsRedis
import SwapStatsTestSupport
import Synchronization
import Testing

@Suite(.serialized, .timeLimit(.minutes(2)))
struct RedisSubscriberTests {
    private func subscribers(_ redis: RedisConnection, _ token: String) -> Int64? {
        guard case .array(let parts)? = try? redis.command(["PUBSUB", "NUMSUB", "swapstats:upd:{\(token)}"]),
            parts.count == 2, case .integer(let n) = parts[1]
        else { return nil }
        return n
    }

    @Test func channelsFollowWatchersAndComeBackAfterARestart() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        let got = Mutex<[(String, [UInt8])]>([])
        let subscriber = RedisSubscriber(url: url, logger: Logger(label: "test")) { token, body in
            got.withLock { $0.append((token, body)) }
        }
        subscriber.start()
        defer { subscriber.stop() }
        let redis = RedisConnection(url: url)
        subscriber.watch("0xa")
        subscriber.watch("0xa")
        subscriber.watch("0xb")
        #expect(waitUntil(seconds: 10) { subscribers(redis, "0xa") == 1 && subscribers(redis, "0xb") == 1 })
        _ = try redis.command(["PUBLISH", "swapstats:upd:{0xa}", "body-a"])
        _ = try redis.command(["PUBLISH", "swapstats:upd:{0xc}", "nobody"])
        #expect(waitUntil(seconds: 10) { got.withLock { $0.count } == 1 })
        #expect(got.withLock { $0.first.map { $0.0 == "0xa" && $0.1 == Array("body-a".utf8) } } == true)
        // Reference-counted: one of two watchers leaving keeps the channel.
        subscriber.unwatch("0xa")
        subscriber.unwatch("0xb")
        #expect(waitUntil(seconds: 10) { subscribers(redis, "0xb") == 0 })
        #expect(subscribers(redis, "0xa") == 1)
        // A restarted server gets every wanted channel again.
        server.stop()
        try server.start()
        #expect(waitUntil(seconds: 20) { subscribers(redis, "0xa") == 1 })
        _ = try redis.command(["PUBLISH", "swapstats:upd:{0xa}", "again"])
        #expect(waitUntil(seconds: 10) { got.withLock { $0.last?.1 } == Array("again".utf8) })
    }
}
