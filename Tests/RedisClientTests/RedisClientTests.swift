import Foundation
import RedisClient
import SwapStatsTestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(2)))
struct RedisClientTests {
    @Test(arguments: [
        ("redis://127.0.0.1:6380", RedisURL(host: "127.0.0.1", port: 6380)),
        ("redis://cache", RedisURL(host: "cache")),
        ("redis://:secret@h:1/2", RedisURL(host: "h", port: 1, password: "secret", database: 2)),
        ("redis://app:p%40ss@h:7000/0", RedisURL(host: "h", port: 7000, user: "app", password: "p@ss")),
    ])
    func urlsParse(text: String, want: RedisURL) {
        #expect(RedisURL(text) == want)
    }

    @Test(arguments: ["http://h:1", "redis://", "redis://h:0", "redis://h:70000", "redis://h:1/x", "redis://h:1/-1"])
    func badURLsAreRefused(text: String) {
        #expect(RedisURL(text) == nil)
    }

    @Test func commandsAndPipelinesRoundTripBytes() throws {
        let server = try RedisServer()
        let redis = RedisConnection(url: RedisURL(server.url)!)
        #expect(try redis.command(["PING"]) == .status("PONG"))
        let binary: [UInt8] = [0, 1, 2, 0xFF, 0x0D, 0x0A, 0x24]
        #expect(try redis.command(bytes: [Array("SET".utf8), Array("k".utf8), binary]) == .status("OK"))
        #expect(try redis.command(["GET", "k"]) == .string(binary))
        #expect(try redis.command(["GET", "missing"]) == .null)
        let replies = try redis.pipeline((0..<1_000).map { _ in [Array("INCR".utf8), Array("n".utf8)] })
        #expect(replies.count == 1_000 && replies.last == .integer(1_000))
        #expect(try redis.command(["LPUSH", "l", "a", "b"]) == .integer(2))
        #expect(
            try redis.command(["LRANGE", "l", "0", "-1"])
                == .array([.string(Array("b".utf8)), .string(Array("a".utf8))]))
        if case .error(let message) = try redis.command(["INCR", "k"]) {
            #expect(message.contains("not an integer"))
        } else {
            Issue.record("an error reply is a value")
        }
        #expect(redis.isConnected)
    }

    @Test func aclUsersAndDatabasesAreSelectedOnConnect() throws {
        let server = try RedisServer()
        let admin = RedisConnection(url: RedisURL(server.url)!)
        #expect(try admin.command(["ACL", "SETUSER", "app", "on", ">s3cret", "~*", "+@all"]) == .status("OK"))
        let app = RedisConnection(url: RedisURL("redis://app:s3cret@127.0.0.1:\(server.port)/3")!)
        #expect(try app.command(["SET", "where", "db3"]) == .status("OK"))
        #expect(try admin.command(["GET", "where"]) == .null)
        #expect(try admin.command(["SELECT", "3"]) == .status("OK"))
        #expect(try admin.command(["GET", "where"]) == .string(Array("db3".utf8)))
        let wrong = RedisConnection(url: RedisURL("redis://app:nope@127.0.0.1:\(server.port)")!)
        #expect {
            try wrong.command(["PING"])
        } throws: { error in
            if case .login = error as? RedisError { true } else { false }
        }
    }

    @Test func aRestartedServerIsReconnectedAfterBackoff() throws {
        let server = try RedisServer()
        let redis = RedisConnection(url: RedisURL(server.url)!, minBackoff: 0.05, maxBackoff: 0.2)
        #expect(try redis.command(["SET", "a", "1"]) == .status("OK"))
        server.stop()
        // The broken connection fails once; then attempts back off instead of blocking.
        #expect(throws: RedisError.self) { try redis.command(["GET", "a"]) }
        #expect(throws: RedisError.self) { try redis.command(["GET", "a"]) }
        var backedOff = false
        for _ in 0..<20 {
            do { _ = try redis.command(["PING"]) } catch {
                if case .backingOff = error { backedOff = true }
            }
        }
        #expect(backedOff)
        try server.start()
        // Within the backoff bound the connection comes back (the data did not: no persistence).
        #expect(waitUntil(seconds: 5) { (try? redis.command(["PING"])) == .status("PONG") })
        #expect(try redis.command(["GET", "a"]) == .null)
    }

    @Test func nothingListeningFailsWithinTheConnectTimeout() throws {
        let port = try freePort()
        let redis = RedisConnection(url: RedisURL(host: "127.0.0.1", port: port), connectTimeout: 0.5)
        let started = Date()
        #expect {
            try redis.command(["PING"])
        } throws: { error in
            if case .connect = error as? RedisError { true } else { false }
        }
        #expect(Date().timeIntervalSince(started) < 2)
    }
}
