import Dispatch
import Logging
import RedisClient

/// Notices, once per check, that Redis no longer holds what this instance wrote, so the
/// publisher writes everything again:
/// - **new server**: `run_id` changed (a restart, a failover to another node), whatever it
///   loaded from disk may be older than what was written;
/// - **flushed**: this instance's marker key (`swapstats:alive:<instance>`, set on every
///   check with a TTL) is gone: `FLUSHALL`, `FLUSHDB`, or an empty server on the same id;
/// - **evicted**: `evicted_keys` grew (`maxmemory` with an eviction policy): any key may be
///   gone. At most once per `evictionGap`, so a Redis that keeps evicting is not rewritten
///   in a loop (it is logged, and needs more memory).
///
/// Nothing is reported on the first answer (there is nothing to compare with), nor while
/// Redis cannot be reached (the publisher's dirty set keeps every change meanwhile).
final class RedisWatch {
    enum Loss: String, CaseIterable, Sendable {
        case newServer = "new_server"
        case flushed
        case evicted
    }

    private let marker: [UInt8]
    private let markerTTL: Int
    private let evictionGap: UInt64
    private let logger: Logger
    private var runID: String?
    private var evictedKeys: Int64?
    private var markerSet = false
    private var lastEvictionLoss: UInt64 = 0
    private var lastEvictionLog: UInt64 = 0

    init(instance: String = randomInstance(), markerTTL: Int = 600, evictionGap: Double = 5, logger: Logger) {
        marker = RedisKeys.marker(instance)
        self.markerTTL = markerTTL
        self.evictionGap = UInt64(evictionGap * 1e9)
        self.logger = logger
    }

    /// Asks Redis (one pipelined round trip) and says what it lost since the last check.
    func check(_ redis: RedisConnection) -> Loss? {
        let replies: [RedisReply]
        do {
            replies = try redis.pipeline([
                [b("INFO"), b("server")], [b("INFO"), b("stats")],
                // Sets the marker and says whether it was there, in one step.
                [b("SET"), marker, b("1"), b("EX"), b("\(markerTTL)"), b("GET")],
            ])
        } catch {
            return nil
        }
        let server = Self.fields(replies[0])
        let stats = Self.fields(replies[1])
        let hadMarker = replies[2] != .null
        let markerKnown = markerSet && replies[2].errorCode == nil
        markerSet = replies[2].errorCode == nil
        let newRunID = server["run_id"]
        let newEvicted = stats["evicted_keys"].flatMap { Int64($0) }
        let oldRunID = runID
        let oldEvicted = evictedKeys
        runID = newRunID ?? runID
        evictedKeys = newEvicted ?? evictedKeys
        if let oldRunID, let newRunID, oldRunID != newRunID {
            logger.warning(
                "redis restarted or failed over (run_id \(oldRunID) -> \(newRunID)): writing every token again")
            return .newServer
        }
        if markerKnown && !hadMarker {
            logger.warning("redis lost this instance's keys (flushed or emptied): writing every token again")
            return .flushed
        }
        guard let oldEvicted, let newEvicted, newEvicted > oldEvicted else { return nil }
        let t = DispatchTime.now().uptimeNanoseconds
        if t &- lastEvictionLog > 60_000_000_000 {
            lastEvictionLog = t
            logger.warning(
                "redis evicted \(newEvicted - oldEvicted) keys (maxmemory): writing every token again; give it more memory"
            )
        }
        guard t &- lastEvictionLoss >= evictionGap else {
            // Too soon: compare with the old count again next time.
            evictedKeys = oldEvicted
            return nil
        }
        lastEvictionLoss = t
        return .evicted
    }

    /// `INFO` text as `name: value`.
    static func fields(_ reply: RedisReply) -> [String: String] {
        guard let text = reply.text else { return [:] }
        var out: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return out
    }
}

private func randomInstance() -> String {
    String(UInt64.random(in: .min ... .max), radix: 16)
}
