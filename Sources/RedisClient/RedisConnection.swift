import CHiredis
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One hiredis context, owned by one thread (hiredis contexts are not thread-safe; this
/// class is deliberately not `Sendable`). Commands are argv arrays of bytes, never
/// formatted strings; ``pipeline(_:)`` sends many before reading their replies.
///
/// A broken or missing connection is re-established by the next call, with exponential
/// backoff and jitter between attempts (`minBackoff` doubling to `maxBackoff`); while backing
/// off, calls fail at once with ``RedisError/backingOff(seconds:)`` instead of blocking.
/// Connect and command timeouts bound every blocking call.
public final class RedisConnection {
    public let url: RedisURL
    private let connectTimeout: Double
    private let commandTimeout: Double
    private let minBackoff: Double
    private let maxBackoff: Double
    private var context: UnsafeMutablePointer<redisContext>?
    private var backoff: Double = 0
    private var nextAttempt: Double = 0

    /// Does not connect yet: the first call does.
    /// - Parameters: timeouts and backoff bounds in seconds.
    public init(
        url: RedisURL, connectTimeout: Double = 1, commandTimeout: Double = 2, minBackoff: Double = 0.05,
        maxBackoff: Double = 5
    ) {
        self.url = url
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.minBackoff = minBackoff
        self.maxBackoff = maxBackoff
    }

    deinit { if let context { redisFree(context) } }

    /// Whether a connection is open now (it may still turn out broken).
    public var isConnected: Bool { context != nil }

    /// Sends one command and returns its reply (an error reply is a `.error` value, not a throw).
    /// - Throws: ``RedisError`` when there is no connection or it broke.
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try pipeline([arguments.map { Array($0.utf8) }])[0]
    }

    /// Sends one command of raw byte arguments.
    public func command(bytes arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try pipeline([arguments])[0]
    }

    /// Sends every command, then reads their replies in order (one round trip).
    /// - Throws: ``RedisError``; the connection is then dropped and the next call reconnects.
    public func pipeline(_ commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        let c = try connected()
        for arguments in commands {
            let status = withArgv(arguments) { argc, argv, lengths in
                redisAppendCommandArgv(c, argc, argv, lengths)
            }
            guard status == REDIS_OK else { throw fail(c) }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(c, &raw) == REDIS_OK, let raw else { throw fail(c) }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.copy(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    /// Reads the next reply the server pushes (pub/sub messages after `SUBSCRIBE`), waiting
    /// up to the command timeout.
    /// - Throws: ``RedisError/io(_:)`` on a timeout or a broken connection (then dropped).
    public func nextReply() throws(RedisError) -> RedisReply {
        let c = try connected()
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(c, &raw) == REDIS_OK, let raw else { throw fail(c) }
        defer { freeReplyObject(raw) }
        return Self.copy(raw.assumingMemoryBound(to: redisReply.self))
    }

    // MARK: Pub/sub without blocking reads

    /// Connects if needed; the socket to `poll` for readability (pub/sub loops).
    /// - Throws: ``RedisError`` when there is no connection.
    public func socket() throws(RedisError) -> Int32 { try connected().pointee.fd }

    /// Writes commands without reading their replies (`SUBSCRIBE`, `UNSUBSCRIBE`): the replies
    /// arrive with the messages, through ``readAvailable()``.
    public func send(_ commands: [[[UInt8]]]) throws(RedisError) {
        let c = try connected()
        for arguments in commands {
            let status = withArgv(arguments) { argc, argv, lengths in redisAppendCommandArgv(c, argc, argv, lengths) }
            guard status == REDIS_OK else { throw fail(c) }
        }
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(c, &done) == REDIS_OK else { throw fail(c) }
        }
    }

    /// Reads what the socket has (call when `poll` says it is readable) and returns every
    /// complete reply in it.
    public func readAvailable() throws(RedisError) -> [RedisReply] {
        let c = try connected()
        guard redisBufferRead(c) == REDIS_OK else { throw fail(c) }
        var replies: [RedisReply] = []
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReplyFromReader(c, &raw) == REDIS_OK else { throw fail(c) }
            guard let raw else { break }
            replies.append(Self.copy(raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
        return replies
    }

    /// Closes the connection (the next call reconnects, without backoff).
    public func close() {
        if let context { redisFree(context) }
        context = nil
        backoff = 0
        nextAttempt = 0
    }

    private func connected() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        if let context { return context }
        let now = monotonicSeconds()
        if now < nextAttempt { throw .backingOff(seconds: ((nextAttempt - now) * 1000).rounded() / 1000) }
        do {
            let c = try open()
            context = c
            backoff = 0
            return c
        } catch {
            // Exponential backoff with full jitter.
            backoff = backoff == 0 ? minBackoff : min(maxBackoff, backoff * 2)
            nextAttempt = now + Double.random(in: backoff / 2...backoff)
            throw error
        }
    }

    private func open() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        guard let c = redisConnectWithTimeout(url.host, Int32(url.port), timeval(seconds: connectTimeout)) else {
            throw .connect("cannot allocate a context")
        }
        if c.pointee.err != 0 {
            let message = Self.errorText(c)
            redisFree(c)
            throw .connect("\(url.host):\(url.port): \(message)")
        }
        redisSetTimeout(c, timeval(seconds: commandTimeout))
        context = c
        defer { context = nil }
        var login: [[String]] = []
        if let password = url.password { login.append(["AUTH"] + (url.user.map { [$0] } ?? []) + [password]) }
        if url.database != 0 { login.append(["SELECT", "\(url.database)"]) }
        if !login.isEmpty {
            let replies = try pipeline(login.map { $0.map { Array($0.utf8) } })
            for case .error(let message) in replies {
                redisFree(c)
                throw .login(message)
            }
        }
        return c
    }

    /// Drops a broken context and describes what broke.
    private func fail(_ c: UnsafeMutablePointer<redisContext>) -> RedisError {
        let message = Self.errorText(c)
        redisFree(c)
        context = nil
        nextAttempt = 0
        return .io(message)
    }

    private static func errorText(_ c: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: c.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func copy(_ r: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let reply = r.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            return .string(Array(UnsafeRawBufferPointer(start: reply.str, count: Int(reply.len))))
        case REDIS_REPLY_STATUS:
            return .status(
                String(decoding: UnsafeRawBufferPointer(start: reply.str, count: Int(reply.len)), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(
                String(decoding: UnsafeRawBufferPointer(start: reply.str, count: Int(reply.len)), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(reply.integer)
        case REDIS_REPLY_ARRAY:
            return .array((0..<Int(reply.elements)).map { copy(reply.element[$0]!) })
        default: return .null
        }
    }
}

/// Calls `body` with C argv arrays pointing into `arguments` (valid only during the call).
private func withArgv<R>(
    _ arguments: [[UInt8]], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
) -> R {
    var pointers: [UnsafePointer<CChar>?] = []
    var lengths: [Int] = []
    pointers.reserveCapacity(arguments.count)
    lengths.reserveCapacity(arguments.count)
    // Keep one contiguous copy so every pointer stays valid for the call.
    var joined: [UInt8] = []
    joined.reserveCapacity(arguments.reduce(0) { $0 + $1.count } + 1)
    var offsets: [Int] = []
    for a in arguments {
        offsets.append(joined.count)
        joined += a
        lengths.append(a.count)
    }
    joined.append(0)
    return joined.withUnsafeBufferPointer { base in
        base.baseAddress!.withMemoryRebound(to: CChar.self, capacity: joined.count) { chars in
            for o in offsets { pointers.append(chars + o) }
            return pointers.withUnsafeMutableBufferPointer { p in
                lengths.withUnsafeBufferPointer { l in body(Int32(arguments.count), p.baseAddress!, l.baseAddress!) }
            }
        }
    }
}

private func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

extension timeval {
    fileprivate init(seconds: Double) {
        self.init(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
    }
}
