import RedisClient

/// Fencing of snapshot writes by partition ownership (decision 0005).
///
/// Each partition has an owner key, `swapstats:owner:{topic}:{partition}`, holding the
/// epoch of its newest owner. An instance *claims* a partition before its first write for
/// it: the claim script sets the key to `max(old + 1, Redis's clock in µs)` and returns it.
/// Every write of a token (snapshot, message, rankings) then goes through the write script
/// with that epoch, which refuses it when the key holds a newer one: a former owner's write
/// that arrives after the new owner's claim never lands.
///
/// Epochs come from Redis's own clock, so they keep increasing across a `FLUSHALL` or an
/// empty restart (the owner key is lost with everything else; the next write sets it again).
enum RedisFence {
    /// `KEYS[1]` owner key → the new epoch (an integer).
    static let claimScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
        local epoch = math.max(cur + 1, now)
        redis.call('SET', KEYS[1], string.format('%.0f', epoch))
        return epoch
        """

    /// `KEYS`: owner key, snapshot key, then the ranking keys. `ARGV`: epoch, body (empty:
    /// the token is removed), TTL in ms, update channel (empty: no message), token, `1` to
    /// write rankings, then one score per ranking key (empty: remove the token from it).
    /// Returns 1 when written, 0 when fenced off. A refused command (say `WRONGTYPE` on a
    /// ranking someone made a list) does not stop the others; the first such error is the
    /// script's reply.
    static let writeScript = """
        local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
        local epoch = tonumber(ARGV[1])
        if epoch < cur then return 0 end
        if epoch > cur then redis.call('SET', KEYS[1], ARGV[1]) end
        local failed = nil
        local function run(...)
          local r = redis.pcall(...)
          if type(r) == 'table' and r.err and not failed then failed = r end
        end
        if ARGV[2] == '' then run('DEL', KEYS[2]) else run('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
        if ARGV[4] ~= '' then run('PUBLISH', ARGV[4], ARGV[2]) end
        if ARGV[6] == '1' then
          for i = 3, #KEYS do
            local score = ARGV[i + 4]
            if score == '' then run('ZREM', KEYS[i], ARGV[5]) else run('ZADD', KEYS[i], score, ARGV[5]) end
          end
        end
        if failed then return failed end
        return 1
        """

    /// The SHA1 digests Redis knows the scripts by, after `SCRIPT LOAD` of both.
    struct Loaded {
        let claim: [UInt8]
        let write: [UInt8]

        /// Loads both scripts (one round trip). Scripts are lost with a restart: load again
        /// after a `NOSCRIPT` reply.
        static func load(_ redis: RedisConnection) throws(RedisError) -> Loaded? {
            let replies = try redis.pipeline([
                [b("SCRIPT"), b("LOAD"), b(claimScript)], [b("SCRIPT"), b("LOAD"), b(writeScript)],
            ])
            guard case .string(let claim) = replies[0], case .string(let write) = replies[1] else { return nil }
            return Loaded(claim: claim, write: write)
        }
    }
}

extension RedisKeys {
    /// Holds the epoch of the newest owner of a partition (see ``RedisFence``).
    public static func owner(topic: String, partition: Int32) -> [UInt8] {
        Array("swapstats:owner:{\(topic)}:\(partition)".utf8)
    }
}
