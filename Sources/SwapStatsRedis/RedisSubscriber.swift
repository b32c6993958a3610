import Foundation
public import Logging
public import RedisClient
import Synchronization
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One pub/sub connection per instance, on a thread of its own: the `swapstats:upd:{token}`
/// channels of the tokens someone here follows, subscribed on demand and
/// reference-counted. Each message goes to `onMessage(token, body)`. A lost connection is
/// re-established (with the client's backoff) and every wanted channel subscribed again.
public final class RedisSubscriber: Sendable {
    private let url: RedisURL
    private let logger: Logger
    private let onMessage: @Sendable (String, [UInt8]) -> Void
    private let state = Mutex<State>(State())
    private let started = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    private struct State {
        var wanted: [String: Int] = [:]
        /// Changes the thread has not sent yet: token → subscribe (true) or not.
        var changes: [String: Bool] = [:]
    }

    public init(url: RedisURL, logger: Logger, onMessage: @escaping @Sendable (String, [UInt8]) -> Void) {
        self.url = url
        self.logger = logger
        self.onMessage = onMessage
    }

    /// Starts the thread (once); channels watched before are subscribed then.
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in run() }
        thread.name = "swapstats-redis-subscriber"
        thread.start()
    }

    /// One more follower of `token`.
    public func watch(_ token: String) {
        state.withLock { s in
            s.wanted[token, default: 0] += 1
            if s.wanted[token] == 1 { s.changes[token] = true }
        }
    }

    /// One follower of `token` fewer.
    public func unwatch(_ token: String) {
        state.withLock { s in
            guard let n = s.wanted[token] else { return }
            if n > 1 {
                s.wanted[token] = n - 1
            } else {
                s.wanted[token] = nil
                s.changes[token] = false
            }
        }
    }

    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        guard started.load(ordering: .acquiring) else { return }
        done.wait()
    }

    private func run() {
        let redis = RedisConnection(url: url, commandTimeout: 5)
        var fresh = true
        while !stopped.load(ordering: .acquiring) {
            do {
                let fd = try redis.socket()
                if fresh {
                    // A new connection: every wanted channel again.
                    let all = state.withLock { s in
                        s.changes = [:]
                        return Array(s.wanted.keys)
                    }
                    if !all.isEmpty { try redis.send([[b("SUBSCRIBE")] + all.map(RedisKeys.updates)]) }
                    fresh = false
                }
                let changes = state.withLock { s in
                    defer { s.changes = [:] }
                    return s.changes
                }
                let on = changes.filter(\.value).map(\.key)
                let off = changes.filter { !$0.value }.map(\.key)
                var commands: [[[UInt8]]] = []
                if !on.isEmpty { commands.append([b("SUBSCRIBE")] + on.map(RedisKeys.updates)) }
                if !off.isEmpty { commands.append([b("UNSUBSCRIBE")] + off.map(RedisKeys.updates)) }
                if !commands.isEmpty { try redis.send(commands) }
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 50) > 0 else { continue }
                for reply in try redis.readAvailable() {
                    guard case .array(let parts) = reply, parts.count == 3, parts[0].text == "message",
                        let channel = parts[1].text, case .string(let body) = parts[2],
                        let token = RedisKeys.token(ofUpdates: channel)
                    else { continue }
                    onMessage(token, body)
                }
            } catch {
                fresh = true
                if case .backingOff = error {} else { logger.warning("redis subscriber: \(error)") }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        redis.close()
        done.signal()
    }
}

extension RedisKeys {
    /// The token of a `swapstats:upd:{token}` channel.
    public static func token(ofUpdates channel: String) -> String? {
        guard channel.hasPrefix("swapstats:upd:{"), channel.hasSuffix("}") else { return nil }
        return String(channel.dropFirst(15).dropLast())
    }
}
