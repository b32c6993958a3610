/// One Redis reply, copied out of hiredis (no pointer outlives the call that made it).
public enum RedisReply: Sendable, Equatable {
    case string([UInt8])
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    case null
    /// An error reply (`-ERR …`): the command failed, the connection is fine.
    case error(String)

    /// The bulk string or status as text.
    public var text: String? {
        switch self {
        case .string(let b): String(decoding: b, as: UTF8.self)
        case .status(let s): s
        default: nil
        }
    }
}

/// Why a Redis call failed.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Could not connect (refused, unreachable, timed out); the next attempts back off
    /// (``backingOff(seconds:)`` until then).
    case connect(String)
    /// The connection broke or timed out mid-command; the next call reconnects.
    case io(String)
    /// The server refused the login or database selection.
    case login(String)
    /// Still backing off after a failure: no attempt was made.
    case backingOff(seconds: Double)

    public var description: String {
        switch self {
        case .connect(let m): "redis connect: \(m)"
        case .io(let m): "redis i/o: \(m)"
        case .login(let m): "redis login: \(m)"
        case .backingOff(let s): "redis unavailable, retrying in \(s) s"
        }
    }
}

extension RedisReply {
    /// The code of an error reply: its first word (`WRONGTYPE`, `LOADING`, `ERR`, …).
    public var errorCode: String? {
        guard case .error(let message) = self else { return nil }
        return String(message.prefix { $0 != " " })
    }

    /// Whether an error reply's command may succeed when sent again later: the server is
    /// loading its data, busy with a script, failing over or read-only for now. Other errors
    /// (`WRONGTYPE`, `NOPERM`, `OOM`, `ERR`, …) repeat until someone changes the server.
    public var isTransientError: Bool {
        guard let code = errorCode else { return false }
        return ["LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN", "READONLY"].contains(code)
    }
}
